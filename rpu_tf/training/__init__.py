"""Training: compiled train steps, replica groups, representation functions, export.

Importing this package registers the ``vae_optimizer``, ``discriminator_optimizer``,
``AdamOptimizer`` and ``training`` gin configurables. The pipelines that train from gin
configs are in :mod:`rpu_tf.pipelines`.
"""

from rpu_tf.utils.tf_startup import import_tensorflow_quietly

import_tensorflow_quietly()  # first: TensorFlow's C++ start-up notices filtered (rpu_tf.utils.tf_startup)

from rpu_tf.training.nonfinite import NonFiniteLossError
from rpu_tf.training.optimizers import AdamSpec
from rpu_tf.training.precision import PrecisionChangeError
from rpu_tf.training.replica_group import ReplicaGroup, read_state
from rpu_tf.training.representation import (
    encode,
    gaussian_kl_per_latent,
    group_representation_functions,
    group_udr_representation_functions,
    kl_per_latent,
    mean_representation_function,
    representation_function,
    sampled_representation_function,
    udr_representation_function,
)
from rpu_tf.training.runtime import (RuntimeOptions, auto_threads, configure_threads, configure_threads_for,
                                     configure_worker_process)

__all__ = [
    "AdamSpec", "NonFiniteLossError", "PrecisionChangeError", "ReplicaGroup", "RuntimeOptions",
    "auto_threads", "configure_threads", "configure_threads_for", "configure_worker_process", "encode", "gaussian_kl_per_latent", "group_representation_functions",
    "group_udr_representation_functions", "kl_per_latent", "mean_representation_function",
    "read_state", "representation_function", "sampled_representation_function",
    "udr_representation_function",
]
