"""Exports a trained model as a Keras file and a TensorFlow SavedModel.

The SavedModel has disentanglement_lib's TF-Hub signatures (same names, inputs and outputs):

- ``gaussian_encoder``: ``images`` float32 ``(None,) + observation_shape`` in [0, 1]
  -> ``mean``, ``logvar`` ``(None, num_latent)``;
- ``decoder``: ``latent_vectors`` ``(None, num_latent)`` -> ``images``, the decoder's logits
  (apply a sigmoid for pixel intensities, as disentanglement_lib's consumers do);
- ``reconstructions``: ``images`` -> ``images``, logits of the decoded sample of q(z|x).

Models trained in 16-bit precision are exported as float32 models with the same weights
(:func:`~rpu_tf.models.vae.as_float32`): they run at full speed anywhere and match float32
evaluation. Load it with ``tf.saved_model.load(path).signatures["gaussian_encoder"](images=x)``; no
rpu_tf import needed; ``saved_model_cli run`` and TF Serving run every signature (the
SavedModel is written by ``keras.export.ExportArchive``). The Keras file
(``keras.saving.load_model``) needs ``import rpu_tf.models`` for the model classes.
"""

from __future__ import annotations

import contextlib
import logging
import os
import zipfile

import keras
import tensorflow as tf

from rpu_tf.models.vae import BaseVAE, as_float32
from rpu_tf.utils import checksums
from rpu_tf.utils.files import atomic_write_dir, damaged

SIGNATURES = ("gaussian_encoder", "decoder", "reconstructions", "representation")


def _export_archive(model: BaseVAE) -> keras.export.ExportArchive:
    """The model's variables plus the signature functions (``representation``: the mean of
    q(z|x), disentanglement_lib's "mean" postprocessing), as a Keras ``ExportArchive``: it
    tracks Keras 3 variables as SavedModel variables, so TF1-style loaders
    (``saved_model_cli run``, TF Serving) restore them; a plain ``tf.Module`` holding a Keras 3
    model saves signatures whose variables such loaders cannot find."""
    if model.observation_shape is None:
        raise ValueError("Build or train the model before exporting it.")
    images = tf.TensorSpec((None,) + tuple(model.observation_shape), tf.float32, name="images")
    latents = tf.TensorSpec((None, model.num_latent), tf.float32, name="latent_vectors")

    def gaussian_encoder(images):
        mean, logvar = model.encode(images)
        return {"mean": mean, "logvar": logvar}

    def decoder(latent_vectors):
        return {"images": model.decode(latent_vectors)}

    def reconstructions(images):
        mean, logvar = model.encode(images)
        return {"images": model.decode(model.sample_from_latent_distribution(mean, logvar))}

    def representation(images):
        return {"default": model.encode(images)[0]}

    endpoints = {"gaussian_encoder": (gaussian_encoder, images), "decoder": (decoder, latents),
                 "reconstructions": (reconstructions, images), "representation": (representation, images)}
    archive = keras.export.ExportArchive()
    archive.track(model)
    for name in SIGNATURES:
        fn, spec = endpoints[name]
        archive.add_endpoint(name, tf.function(fn), input_signature=[spec])
    return archive


@contextlib.contextmanager
def _quiet_saver_logs():
    """Silences TensorFlow's INFO chatter while saving (fingerprints, sharding, renames)."""
    from absl import logging as absl_logging

    tf_logger = logging.getLogger("tensorflow")
    old_verbosity, old_level = absl_logging.get_verbosity(), tf_logger.level
    absl_logging.set_verbosity(absl_logging.WARNING)
    tf_logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        absl_logging.set_verbosity(old_verbosity)
        tf_logger.setLevel(old_level)


def export_saved_model(model: BaseVAE, path: str) -> str:
    """Writes ``model`` as a SavedModel directory at ``path`` (atomically); returns ``path``."""
    archive = _export_archive(as_float32(model))
    with _quiet_saver_logs():
        atomic_write_dir(path, lambda tmp: archive.write_out(tmp, verbose=False))
    return path


def export_keras(model: BaseVAE, path: str) -> str:
    """Writes ``model`` as a ``.keras`` file at ``path`` (atomically, with its checksum record
    ``path.sha256``: :mod:`rpu_tf.utils.checksums`); returns ``path``."""
    if not path.endswith(".keras"):
        raise ValueError(f"Keras model files must end in .keras, got {path!r}.")
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    tmp = os.path.join(folder, "." + os.path.basename(path) + ".tmp.keras")
    checksums.forget(path)
    try:
        as_float32(model).save(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    checksums.record(path)
    return path


#: What to do about a damaged Keras file of a run's model.
RETRAIN_MODEL = ("Restore it from a copy of the run, or train the model again: the same rpu_train command with "
                 "--overwrite (an rPU-VAE run's final model: --redo_from=final).")


def load_keras(path: str, repair: str = RETRAIN_MODEL) -> BaseVAE:
    """Loads a ``.keras`` file written by :func:`export_keras`, in Keras' safe mode: a file
    that would run code when loaded (a ``Lambda`` layer's pickled function) is refused. A
    truncated or altered file (its zip archive, or its checksum record where it has one) is a
    :class:`~rpu_tf.utils.files.DamagedFileError` naming it and ``repair``."""
    import rpu_tf.models  # noqa: F401  (registers the model classes)

    if not os.path.isfile(path):
        raise FileNotFoundError(f"{path}: no such Keras model file. {repair}")
    checksums.verify(path, repair)
    if not zipfile.is_zipfile(path):
        raise damaged(path, "not a complete .keras (zip) archive", repair)
    try:
        return keras.saving.load_model(path, safe_mode=True)
    except (zipfile.BadZipFile, EOFError, OSError) as error:  # a member changed (CRC) or cut (h5 weights)
        raise damaged(path, f"its archive is broken ({error})", repair) from None
