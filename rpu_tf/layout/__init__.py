"""The run directory: every path and file schema, relative to the folder it lives in.

The bottom of the package: no TensorFlow, no imports from the layers above. Everyone who
reads or writes a run directory asks this package for the names.

- :mod:`~rpu_tf.layout.paths`: the folder tree (model, results, metrics, PBT, rPU-VAE stages);
- :mod:`~rpu_tf.layout.results`: disentanglement_lib's result directories (gin, json, aggregate);
- :mod:`~rpu_tf.layout.rpu_files`: the manifest, a stage's ``labels.npz``, the summary;
- :mod:`~rpu_tf.layout.run_state`: what a run directory holds (kind, precision, finished,
  resumable, images trained, stages); every other module asks it;
- :mod:`~rpu_tf.layout.guard`: what happens to an existing output folder (resume, overwrite, refuse);
- :mod:`~rpu_tf.layout.lock`: one writer per run directory;
- :mod:`~rpu_tf.layout.names`: names read from run files are checked before they become paths,
  and paths are checked to stay inside the run directory;
- :mod:`~rpu_tf.layout.replace`: ``--overwrite`` / ``--redo_from`` replace only on success.
"""

from rpu_tf.layout import paths
from rpu_tf.layout.guard import prepare_directory
from rpu_tf.layout.lock import RunLockedError, run_lock
from rpu_tf.layout.results import read_gin_bindings, update_result_directory
from rpu_tf.layout.rpu_files import StageLabels, StageRecord

__all__ = ["RunLockedError", "StageLabels", "StageRecord", "paths", "prepare_directory", "read_gin_bindings",
           "run_lock", "update_result_directory"]
