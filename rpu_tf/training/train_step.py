"""The compiled training and evaluation steps of a replica group (one ``tf.function`` each).

One step takes a ``(K, batch) + observation_shape`` float32 batch, computes the K replicas'
loss terms in one graph (as K independent sub-graphs that TensorFlow runs concurrently, or,
``batched``, with each layer run once for all K models: :mod:`rpu_tf.models.batched`), and
applies one update per optimizer to all K models' variables (Adam is elementwise, so this
equals K separate optimizers). In 16-bit precisions the networks compute in bfloat16 or
float16 while variables, gradients, optimizer state and loss terms stay float32; with float16
the objective is loss-scaled (:class:`~rpu_tf.training.precision.DynamicLossScale`).

With a :class:`~rpu_tf.training.supervision.Supervision` the step takes three more inputs
(labelled images ``(K, L) + observation_shape``, targets and mask ``(K, L, C)``) and adds
``weight * supervised_loss`` (reported as ``supervised_loss``) to each replica's ``loss``.

A step returns ``(terms, status)``: ``terms`` maps each loss term to its ``(K,)`` values and
``status`` is :data:`APPLIED`, :data:`NON_FINITE` (a loss term, or a gradient when gradients
are checked, was NaN/Inf: nothing was updated) or :data:`OVERFLOW` (float16 only: the scaled
gradients overflowed, the update was skipped and the loss scale halved).
"""

from __future__ import annotations

import dataclasses
from typing import Callable, Mapping, Optional, Sequence

import tensorflow as tf

from rpu_tf.models import batched
from rpu_tf.models.supervised_losses import supervised_loss
from rpu_tf.training.precision import DynamicLossScale
from rpu_tf.training.supervision import Supervision

APPLIED, NON_FINITE, OVERFLOW = 1, 0, 2


@dataclasses.dataclass
class StepParts:
    """What the compiled steps close over (all owned by the replica group).

    Attributes:
      models: the K replicas.
      optimizers: optimizer name -> Keras optimizer built for ``variables[name]``.
      objective_keys: optimizer name -> the loss-term key it minimises.
      variables: optimizer name -> the variables of all K replicas it updates.
      global_step: int64 variable, completed updates (incremented on :data:`APPLIED`).
      noise_seeds: ``(K,)`` int64 variable, the replicas' sampling-noise seeds.
      input_spec: the batch's ``tf.TensorSpec``.
      check_gradients: also treat non-finite gradients as a failed step.
      loss_scale: the float16 loss scale, else None.
      jit_compile: XLA-compile the steps.
      supervision: the supervised term of the train step, or None.
      batched: compute the K models' encoders and decoders as one batched network
        (:mod:`rpu_tf.models.batched`) instead of K sub-graphs; the same values.
    """

    models: Sequence
    optimizers: Mapping[str, object]
    objective_keys: Mapping[str, str]
    variables: Mapping[str, list]
    global_step: tf.Variable
    noise_seeds: tf.Variable
    input_spec: tf.TensorSpec
    check_gradients: bool = True
    loss_scale: Optional[DynamicLossScale] = None
    jit_compile: bool = False
    supervision: Optional[Supervision] = None
    batched: bool = False


def _batched_terms(models: Sequence, images: tf.Tensor, seeds: tf.Tensor, step: tf.Tensor) -> list:
    """Every model's loss terms with encoder and decoder run once for all K models
    (:mod:`rpu_tf.models.batched`); the same values as each model's ``loss_terms``."""
    num_models = len(models)
    means, log_vars = batched.encode(models, images)
    codes = list(zip(tf.unstack(means, num=num_models), tf.unstack(log_vars, num=num_models)))
    latents = [model.sample_latents(mean, log_var, seeds[k])
               for k, (model, (mean, log_var)) in enumerate(zip(models, codes))]
    logits = tf.unstack(batched.decode(models, tf.stack(latents)), num=num_models)
    xs = tf.unstack(images, num=num_models)
    return [model.terms_from_codes(xs[k], codes[k][0], codes[k][1], latents[k], logits[k],
                                   seed=seeds[k], step=step) for k, model in enumerate(models)]


def _replica_terms(parts: StepParts, images: tf.Tensor, seeds: tf.Tensor, step: tf.Tensor,
                   labelled: Sequence[tf.Tensor] = ()):
    """Loss terms of every replica; ``seeds`` is ``(K, 2)``; ``labelled``: ``(images, targets,
    mask)`` of the supervised term, or empty."""
    num_replicas = len(parts.models)
    xs = tf.unstack(images, num=num_replicas)
    if parts.batched:
        terms = _batched_terms(parts.models, images, seeds, step)
    else:
        terms = [model.loss_terms(x, seed=seeds[k], step=step)
                 for k, (model, x) in enumerate(zip(parts.models, xs))]
    if labelled:
        supervision = parts.supervision
        latents = list(supervision.labelled.latents)
        if parts.batched:
            labelled_means = tf.unstack(batched.encode(parts.models, labelled[0])[0], num=num_replicas)
        else:
            labelled_means = [model.encode(x)[0] for model, x in
                              zip(parts.models, tf.unstack(labelled[0], num=num_replicas))]
        for k, (z_mean, targets, mask) in enumerate(zip(labelled_means, *(tf.unstack(t, num=num_replicas)
                                                                           for t in labelled[1:]))):
            sup = supervised_loss(supervision.loss, tf.gather(z_mean, latents, axis=1), targets, mask)
            terms[k] = {**terms[k], "loss": terms[k]["loss"] + supervision.weight * sup, "supervised_loss": sup}
    return terms


def _stack_terms(terms) -> dict[str, tf.Tensor]:
    return {key: tf.stack([t[key] for t in terms]) for key in terms[0]}


def build_train_step(parts: StepParts) -> Callable:
    """``train_step(images) -> (terms, status)`` as one ``tf.function`` (see module doc)."""
    return tf.function(train_step_body(parts), input_signature=train_step_signature(parts),
                       jit_compile=parts.jit_compile)


def build_joint_train_step(all_parts: Sequence[StepParts]) -> Callable:
    """One ``tf.function`` that runs the train steps of several groups side by side:
    ``joint_step(*inputs of group 0, *inputs of group 1, ...) -> ((terms, status), ...)``.
    Each group's step is its own sub-graph (own optimizer, step counter and failure check), so
    each group's values are those of its own :func:`build_train_step`."""
    bodies = [train_step_body(parts) for parts in all_parts]
    signatures = [train_step_signature(parts) for parts in all_parts]
    bounds = [0]
    for signature in signatures:
        bounds.append(bounds[-1] + len(signature))

    def joint_step(*inputs):
        return tuple(body(*inputs[start:end]) for body, start, end in zip(bodies, bounds, bounds[1:]))

    return tf.function(joint_step, input_signature=[spec for signature in signatures for spec in signature],
                       jit_compile=all_parts[0].jit_compile)


def train_step_signature(parts: StepParts) -> list[tf.TensorSpec]:
    """The inputs of a group's train step: images, and with supervision labelled images,
    targets and mask."""
    signature = [parts.input_spec]
    if parts.supervision is not None:
        num_replicas, columns = len(parts.models), parts.supervision.labelled.num_columns
        signature += [tf.TensorSpec(parts.input_spec.shape, tf.float32, name="labelled_images"),
                      tf.TensorSpec((num_replicas, None, columns), tf.float32, name="targets"),
                      tf.TensorSpec((num_replicas, None, columns), tf.float32, name="mask")]
    return signature


def train_step_body(parts: StepParts) -> Callable:
    """The Python function of a group's train step (traced by the builders above)."""
    opt_names = list(parts.optimizers)
    num_replicas = len(parts.models)
    scaler = parts.loss_scale

    def train_step(images, *labelled):
        step = parts.global_step.read_value()
        seeds = tf.stack([parts.noise_seeds, tf.fill([num_replicas], step)], axis=1)
        with tf.GradientTape(persistent=len(opt_names) > 1) as tape:
            terms = _replica_terms(parts, images, seeds, step, labelled)
            objectives = {name: tf.add_n([t[parts.objective_keys[name]] for t in terms])
                          for name in opt_names}
            if scaler is not None:
                objectives = {name: scaler.scale_loss(v) for name, v in objectives.items()}
        grads = {name: tape.gradient(objectives[name], parts.variables[name]) for name in opt_names}
        if scaler is not None:
            grads = {name: scaler.unscale(g) for name, g in grads.items()}
        stacked = _stack_terms(terms)
        loss_ok = tf.reduce_all(tf.stack([tf.reduce_all(tf.math.is_finite(v)) for v in stacked.values()]))
        grads_ok = tf.constant(True)
        if parts.check_gradients or scaler is not None:
            grads_ok = tf.reduce_all(tf.stack(
                [tf.math.is_finite(tf.linalg.global_norm(g)) for g in grads.values()]))
        ok = tf.logical_and(loss_ok, grads_ok)

        def apply():
            for name in opt_names:
                parts.optimizers[name].apply_gradients(zip(grads[name], parts.variables[name]))
            parts.global_step.assign_add(1)
            return tf.constant(True)

        tf.cond(ok, apply, lambda: tf.constant(False))
        status = tf.where(ok, APPLIED, NON_FINITE)
        if scaler is not None:
            # Finite loss but overflowing scaled gradients: skip, halve the scale, go on.
            scaler.update(ok)
            status = tf.where(tf.logical_and(loss_ok, tf.logical_not(grads_ok)), OVERFLOW, status)
        return stacked, status

    return train_step


def build_eval_step(parts: StepParts) -> Callable:
    """``eval_step(images, seeds) -> terms`` without updating; ``seeds`` is ``(K, 2)`` int64."""

    def eval_step(images, seeds):
        return _stack_terms(_replica_terms(parts, images, seeds, parts.global_step.read_value()))

    return tf.function(eval_step, input_signature=[
        parts.input_spec, tf.TensorSpec((len(parts.models), 2), tf.int64, name="seeds")],
        jit_compile=parts.jit_compile)
