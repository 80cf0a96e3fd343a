"""``rpu_download_data``: downloads dSprites, 3dshapes, smallNORB and Cars3D into
disentanglement_lib's layout, checked against published checksums (disentanglement_lib's
``dlib_download_data``).

Examples::

    export DISENTANGLEMENT_LIB_DATA=/data/dlib
    rpu_download_data                         # all: cars3d, dsprites (26 MB), shapes3d (255 MB),
                                              # smallnorb (6 files, 263 MB, gunzipped to 897 MB)
    rpu_download_data --dataset=dsprites --dataset=smallnorb
    rpu_download_data --dataset=shapes3d --url=https://my.mirror/3dshapes.h5

A file already in place is checked, not downloaded again; a file that does not match its
checksum is never kept. MPI3D and the Scream picture have no published checksum to check
against: their loaders' errors name the URLs. Files and checksums: ``rpu_tf/data/download.py``.
"""

from __future__ import annotations

import logging
from typing import Sequence

from absl import flags

from rpu_tf.cli.failures import report_failures
from rpu_tf.cli.flag_parsing import parse_command_line, run_main
from rpu_tf.data import paths
from rpu_tf.data.download import DOWNLOADS, download

logger = logging.getLogger("rpu_download_data")


def define_flags(values: flags.FlagValues) -> None:
    flags.DEFINE_multi_enum("dataset", [], sorted(DOWNLOADS), "Data set(s) to download (default: all).",
                            flag_values=values)
    flags.DEFINE_string("data_dir", None, f"Data root (default: ${paths.DATA_ROOT_ENV}, else the current folder).",
                        flag_values=values)
    flags.DEFINE_string("url", None, "Download from here instead (a mirror or a file:// URL of the same file; "
                        "one --dataset of one file only). The checksum is the same.", flag_values=values)
    flags.DEFINE_float("timeout", 60.0, "Seconds without data before a download fails.", flag_values=values)


def main(argv: Sequence[str]) -> int:
    values = parse_command_line(argv, define_flags, __doc__, logger)
    if isinstance(values, int):
        return values
    names = values.dataset or sorted(DOWNLOADS)
    if values.url and (len(names) != 1 or len(DOWNLOADS[names[0]]) != 1):
        logger.error("--url is the address of one file: give exactly one --dataset of one file with it "
                     "(one of %s).", ", ".join(n for n in sorted(DOWNLOADS) if len(DOWNLOADS[n]) == 1))
        return 2

    def fetch() -> int:
        for name in names:
            for spec in DOWNLOADS[name]:
                path = download(spec, values.data_dir, values.url, timeout=values.timeout)
                logger.info("%s ready: %s (dataset.name = %s)", name, path, " / ".join(spec.used_by))
        return 0

    return report_failures(fetch, logger)


def run() -> None:
    """Console entry point."""
    run_main(main)


if __name__ == "__main__":
    run()
