"""The PBT-VAE pipeline: ``rpu_train`` runs it for ``pipeline.name = "pbt_vae"``.

``pbt_vae_with_gin(model_dir, overwrite, gin_config_files, gin_bindings)`` parses gin, readies
and locks the run directory, runs :func:`rpu_tf.rpu.pbt_vae.run_pbt_vae` (settings
``pbt_vae.*``, ``pbt.*``, ``pbt_stopping.*``) on ``dataset.name`` and clears gin. The run
directory holds the population in ``pbt/`` (resumable at its last finished member step) and
the best member's best replica in ``model/``, in ``rpu_train``'s layout.
"""

from __future__ import annotations

import os
from typing import Sequence

import gin

from rpu_tf.data import named_data
from rpu_tf.layout import paths
from rpu_tf.rpu.pbt_vae import PBTVAEResult, run_pbt_vae
from rpu_tf.training.gin_context import parsed_gin, run_context


def models_per_step() -> int:
    """How many models a PBT member's step trains, from the parsed gin config: its replicas
    (``pbt_vae.num_replicas``, unscoped; :func:`~rpu_tf.rpu.pbt_vae.run_pbt_vae`'s default 5) times the members
    trained together (``local_executor.members_together``). The thread pools of the process
    are sized for it (fixed before the first op; measured on a 2-core Xeon, 2 members x 3
    replicas: 5,821 images/s with 1 thread per op and 2 ops at a time, 3,905 with 2 and 2)."""
    def bound(name: str, default: int) -> int:
        try:
            return int(gin.query_parameter(name))
        except (ValueError, TypeError):
            return default
    return bound("pbt_vae.num_replicas", 5) * bound("local_executor.members_together", 1)


def pbt_vae_from_gin(model_dir: str, overwrite: bool = False) -> PBTVAEResult:
    """Readies and locks the run directory and runs :func:`~rpu_tf.rpu.pbt_vae.run_pbt_vae` on
    the config gin holds (parsed once by the caller: :func:`rpu_tf.pipelines.choice.run_pipeline`)."""
    with run_context(model_dir, overwrite, marker=paths.PBT_DIR, resumable=True, models_per_step=models_per_step):
        os.makedirs(model_dir, exist_ok=True)
        return run_pbt_vae(model_dir, named_data.get_named_ground_truth_data())


def pbt_vae_with_gin(model_dir: str, overwrite: bool = False, gin_config_files: Sequence[str] = (),
                     gin_bindings: Sequence[str] = ()) -> PBTVAEResult:
    """Parses gin, runs :func:`pbt_vae_from_gin`, clears gin."""
    with parsed_gin(gin_config_files, gin_bindings, pipeline="pbt_vae"):
        return pbt_vae_from_gin(model_dir, overwrite)
