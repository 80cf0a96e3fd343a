"""Generic population-based training (PBT): it knows members, scores and hyperparameters.

A :class:`Trainable` holds, trains and scores any member's state; the
:class:`PopulationBasedTraining` controller runs synchronous generations with truncation
selection (exploit) and multiplicative perturbation (explore), writes a crash-safe run
directory and resumes it. The caller supplies the :class:`HyperparameterSpace`; VAE members,
scorers and the VAE search space live in ``rpu_tf.rpu``.
"""

from rpu_tf.pbt.controller import PopulationBasedTraining
from rpu_tf.pbt.executor_registry import EXECUTORS, make_executor
from rpu_tf.pbt.executors import Executor, LocalExecutor
from rpu_tf.pbt.hyperparameters import PAPER_PERTURB_FACTORS, Hyperparameter, HyperparameterSpace, choice_init
from rpu_tf.layout.pbt_files import read_generation_log
from rpu_tf.pbt.records import ConfigMismatchError, PBTResult, derive_seed
from rpu_tf.pbt.selection import rank_members, truncation_plan
from rpu_tf.pbt.stopping import StoppingRule
from rpu_tf.pbt.trainable import MemberResult, MemberTask, Trainable, run_member_step
from rpu_tf.utils.state_files import CorruptCheckpointError, load_state, save_state

__all__ = [
    "EXECUTORS", "PAPER_PERTURB_FACTORS", "ConfigMismatchError", "CorruptCheckpointError", "Executor",
    "Hyperparameter", "HyperparameterSpace", "LocalExecutor", "MemberResult", "MemberTask", "PBTResult",
    "PopulationBasedTraining", "StoppingRule", "Trainable", "choice_init", "derive_seed", "load_state",
    "make_executor", "rank_members", "read_generation_log", "run_member_step", "save_state",
    "truncation_plan",
]
