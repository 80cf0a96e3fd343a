"""The full state of a replica group as a nested dict of numpy arrays, and its file format.

:class:`ReplicaStateMixin` gives :class:`~rpu_tf.training.replica_group.ReplicaGroup` its
``get_state`` / ``set_state`` / ``save`` / ``load`` / ``copy_from`` / ``restore`` and
``warm_start`` (every replica takes one model's weights): weights,
hyperparameters, optimizer slots and counters, global step, batch size, data-stream and
noise seeds and (float16) the loss scale, in the format ``rpu_tf.pbt`` stores (atomic
``.npz``). A state trained in one precision loads into a group of another (variables are
float32 in every precision); the precision it trained in is
:func:`rpu_tf.layout.run_state.state_precision`.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any, Mapping, Sequence

import numpy as np

from rpu_tf.data.ground_truth_data import GroundTruthData
from rpu_tf.models.vae import get_model_class
from rpu_tf.training.optimizers import AdamSpec
from rpu_tf.utils.state_files import load_state, save_state

STATE_FORMAT = 1


def _structure(model_config: Mapping[str, Any]) -> dict[str, Any]:
    """The parts of a model config that fix the variables' shapes (not values, names, seed)."""
    drop = {"name", "seed", "hyperparameters", "trainable", "dtype", "precision"}
    return {k: v for k, v in model_config.items() if k not in drop}


def read_state(path: str) -> dict[str, Any]:
    """Reads a state file written by ``ReplicaGroup.save`` (nested dict of arrays)."""
    return load_state(path)


class ReplicaStateMixin:
    """State round trips of a replica group (see the module docstring)."""

    def _config(self) -> dict[str, Any]:
        model_config = self.models[0].get_config()
        return {
            "format": STATE_FORMAT,
            "model": self.model_class.gin_name,
            "model_config": {k: v for k, v in model_config.items() if k not in ("name", "seed")},
            "num_replicas": self.num_replicas,
            "observation_shape": list(self.observation_shape),
            "optimizers": {k: dataclasses.asdict(v) for k, v in self.optimizer_specs.items()},
        }

    def get_state(self) -> dict[str, Any]:
        """The full state as a nested dict of numpy arrays (keys without '/').

        ``{"config": <json str>, "replicas": {"0": {"000": w, ...}, ...},
        "optimizers": {"vae": {"000": v, ...}}, "counters": {"step", "batch_size"
        [, "loss_scale", "loss_scale_good_steps"]}, "rng": {"noise_seeds": (K,), "data":
        {"0": {"key", "pos", "has_gauss", "cached_gaussian"}, ...}}}``. Weights include the
        model hyperparameters; optimizer variables include the learning rate.
        """
        data_rng = {}
        for k, (_, key, pos, has_gauss, cached) in enumerate(self._stream.get_state()):
            data_rng[str(k)] = {"key": np.asarray(key, np.uint32), "pos": np.int64(pos),
                                "has_gauss": np.int64(has_gauss),
                                "cached_gaussian": np.float64(cached)}
        counters = {"step": np.int64(self.step), "batch_size": np.int64(self._batch_size)}
        if self._loss_scale is not None:
            counters["loss_scale"] = np.float32(self._loss_scale.scale.numpy())
            counters["loss_scale_good_steps"] = np.int64(self._loss_scale.good_steps.numpy())
        return {
            "config": np.asarray(json.dumps(self._config(), sort_keys=True)),
            "replicas": {str(k): {f"{i:03d}": w for i, w in enumerate(m.get_weights())}
                         for k, m in enumerate(self.models)},
            "optimizers": {name: {f"{i:03d}": v.numpy() for i, v in enumerate(opt.variables)}
                           for name, opt in self.optimizers.items()},
            "counters": counters,
            "rng": {"noise_seeds": self._noise_seeds.numpy(), "data": data_rng},
        }

    def _check_compatible(self, config: Mapping[str, Any]) -> None:
        mine = self._config()
        problems = []
        if config.get("format") != STATE_FORMAT:
            problems.append(f"state format {config.get('format')} (expected {STATE_FORMAT})")
        for key in ("model", "num_replicas", "observation_shape"):
            if config.get(key) != mine[key]:
                problems.append(f"{key} {config.get(key)!r} (this group: {mine[key]!r})")
        theirs = _structure(config.get("model_config", {}))
        ours = _structure(mine["model_config"])
        if theirs != ours:
            problems.append(f"architecture {theirs} (this group: {ours})")
        if sorted(config.get("optimizers", {})) != sorted(mine["optimizers"]):
            problems.append(f"optimizers {sorted(config.get('optimizers', {}))}")
        if problems:
            raise ValueError("State does not fit this replica group: " + "; ".join(problems) + ".")

    def set_state(self, state: Mapping[str, Any]) -> None:
        """Takes on a state from :meth:`get_state` (of this or another compatible group)."""
        config = json.loads(str(np.asarray(state["config"])))
        self._check_compatible(config)
        for k, model in enumerate(self.models):
            weights = state["replicas"][str(k)]
            model.set_weights([np.asarray(weights[key]) for key in sorted(weights)])
        for name, optimizer in self.optimizers.items():
            values = state["optimizers"][name]
            keys = sorted(values)
            if len(keys) != len(optimizer.variables):
                raise ValueError(f"State has {len(keys)} {name} optimizer variables, this group "
                                 f"{len(optimizer.variables)}.")
            for variable, key in zip(optimizer.variables, keys):
                variable.assign(np.asarray(values[key]))
        counters = state["counters"]
        self._step.assign(int(np.asarray(counters["step"])))
        self._batch_size = self._check_batch_size(int(np.asarray(counters["batch_size"])))
        if self._loss_scale is not None:
            self._loss_scale.scale.assign(float(np.asarray(counters.get(
                "loss_scale", self._loss_scale.initial_scale))))
            self._loss_scale.good_steps.assign(int(np.asarray(counters.get("loss_scale_good_steps", 0))))
        self._noise_seeds.assign(np.asarray(state["rng"]["noise_seeds"], np.int64))
        data_rng = state["rng"]["data"]
        self._stream.set_state([
            ("MT19937", np.asarray(s["key"], np.uint32), int(np.asarray(s["pos"])),
             int(np.asarray(s["has_gauss"])), float(np.asarray(s["cached_gaussian"])))
            for s in (data_rng[str(k)] for k in range(self.num_replicas))])

    def copy_from(self, other) -> None:
        """Copies ``other``'s complete state (PBT exploit): weights, optimizer, counters, streams."""
        self.set_state(other.get_state())

    def save(self, path: str) -> None:
        """Writes the state to ``path`` (.npz) atomically (temp file, fsync, rename)."""
        save_state(path, self.get_state())

    def warm_start(self, weights: Sequence[np.ndarray]) -> None:
        """Every replica takes ``weights`` (one model's ``get_weights()``, e.g. a trained
        replica of the same architecture); the group's hyperparameters, optimizer state, step
        and streams stay as they are."""
        weights = [np.asarray(w) for w in weights]
        expected = [tuple(w.shape) for w in self.models[0].get_weights()]
        if [tuple(w.shape) for w in weights] != expected:
            raise ValueError(f"Warm-start weights do not fit this {self.model_class.__name__} group: "
                             f"{len(weights)} arrays, expected {len(expected)} with shapes {expected}. "
                             "Use the same architecture (encoder, decoder, num_latent, image size).")
        hyperparameters = self.models[0].hyperparameters()  # the weights carry the source's
        for model in self.models:
            model.set_weights(weights)
            model.set_hyperparameters(**hyperparameters)

    def load(self, path: str) -> None:
        """Restores a state written by :meth:`save`."""
        self.set_state(read_state(path))

    @classmethod
    def restore(cls, path: str, data: GroundTruthData, **options):
        """A new group built from the configuration stored in ``path``, with its state.

        ``options`` are the group's keyword arguments (``jit_compile``, ``precision``, ...);
        without ``precision`` the group computes in the default precision
        (:func:`~rpu_tf.training.precision.default_precision`).
        """
        state = read_state(path)
        config = json.loads(str(np.asarray(state["config"])))
        model_config = dict(config["model_config"])
        model_config.pop("precision", None)
        prototype = get_model_class(config["model"]).from_config(model_config)
        optimizers = {k: AdamSpec(**v) for k, v in config["optimizers"].items()}
        group = cls(prototype, data, num_replicas=config["num_replicas"],
                    optimizers=optimizers, **options)
        group.set_state(state)
        return group
