"""Where data files live: disentanglement_lib's layout under ``$DISENTANGLEMENT_LIB_DATA``."""

from __future__ import annotations

import os

DATA_ROOT_ENV = "DISENTANGLEMENT_LIB_DATA"


def data_root() -> str:
    """The data root: ``$DISENTANGLEMENT_LIB_DATA``, or the current folder like disentanglement_lib."""
    return os.environ.get(DATA_ROOT_ENV, ".")


def data_path(*parts: str) -> str:
    """A path below the data root."""
    return os.path.join(data_root(), *parts)


def require_file(path: str, dataset: str, source: str, expected: str, download_command: str = "") -> str:
    """Returns ``path`` if it exists, else raises a ``FileNotFoundError`` that says what to do.

    Args:
      path: the file or folder looked for.
      dataset: the data set's name, for the message.
      source: where the file can be downloaded.
      expected: its expected location relative to the data root.
      download_command: the command that downloads it, if there is one.
    """
    if os.path.exists(path):
        return path
    root = os.environ.get(DATA_ROOT_ENV)
    where = (f"${DATA_ROOT_ENV}={root}" if root is not None
             else f"${DATA_ROOT_ENV} is not set, so the current folder {os.getcwd()} was used")
    raise FileNotFoundError(
        f"{dataset}: data file not found: {path} ({where}). "
        + (f"`{download_command}` downloads it and checks its checksum, or download it " if download_command
           else "Download it ")
        + f"from {source} and put it at ${DATA_ROOT_ENV}/{expected}, or set ${DATA_ROOT_ENV} to the folder "
        "that holds it. "
        "The built-in procedural data set `sprites` needs no file."
    )
