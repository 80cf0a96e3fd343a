"""Generic population-based training (PBT): it knows members, scores and hyperparameters.

A :class:`Trainable` holds, trains and scores any member's state; the
:class:`PopulationBasedTraining` controller runs synchronous generations with truncation
selection (exploit) and multiplicative perturbation (explore), writes a crash-safe run
directory and resumes it. VAE specifics live in ``rpu_tf.training``.
"""

from rpu_tf.pbt.controller import (
    ConfigMismatchError,
    PBTResult,
    PopulationBasedTraining,
    derive_seed,
    read_generation_log,
)
from rpu_tf.pbt.executors import Executor, LocalExecutor, make_executor
from rpu_tf.pbt.hyperparameters import (
    PAPER_PERTURB_FACTORS,
    Hyperparameter,
    HyperparameterSpace,
    batch_size_choices,
    beta_choices,
    choice_init,
    learning_rate_choices,
    vae_hyperparameter_space,
)
from rpu_tf.pbt.selection import rank_members, truncation_plan
from rpu_tf.pbt.stopping import StoppingRule
from rpu_tf.pbt.storage import CorruptCheckpointError, load_state, save_state
from rpu_tf.pbt.trainable import MemberResult, MemberTask, Trainable, run_member_step

__all__ = [
    "PAPER_PERTURB_FACTORS", "ConfigMismatchError", "CorruptCheckpointError", "Executor", "Hyperparameter",
    "HyperparameterSpace", "LocalExecutor", "MemberResult", "MemberTask", "PBTResult",
    "PopulationBasedTraining", "StoppingRule", "Trainable", "batch_size_choices", "beta_choices",
    "choice_init", "derive_seed", "learning_rate_choices", "load_state", "make_executor", "rank_members",
    "read_generation_log", "run_member_step", "save_state", "truncation_plan", "vae_hyperparameter_space",
]
