"""Runs the toy PBT with the Ray executor (called by test_pbt_ray.py inside a network namespace).

Usage: python tests/helpers/pbt_ray_main.py RUN_DIR MARKER_FILE
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

from rpu_tf.pbt.ray_executor import RayExecutor  # noqa: E402
from tests.helpers.pbt_toy import CrashOnceTrainable, make_pbt  # noqa: E402


def main(run_dir: str, marker: str) -> None:
    executor = RayExecutor(lambda: CrashOnceTrainable(marker), max_concurrent_members=2, max_restarts=2,
                           init_kwargs={"num_cpus": 2, "_temp_dir": os.environ["RAY_TMPDIR"]})
    try:
        make_pbt(run_dir, executor=executor).run()
    finally:
        executor.close()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
