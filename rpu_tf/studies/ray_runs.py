"""A study's units of work as Ray tasks (``study.executor = "ray"``).

Every unit that is ready is submitted at once as a task holding its method's CPUs and GPU
fraction; Ray runs as many at a time as the cluster's free resources hold and queues the
rest. A task starts the unit's jobs as subprocesses on its node (thread pools sized for its
CPUs, GPU memory grown as needed where it shares a device) and returns their outcomes; the
driver alone writes the study's ``status.json``. A task whose node dies is retried on another
node (``max_retries``), resuming the run from its checkpoints, since the study directory is on
storage every node sees; a unit whose retries are spent is recorded as failed and the next
invocation of the study retries it.

The task's code (this module, :mod:`~rpu_tf.studies.work`, :mod:`~rpu_tf.studies.jobs`: no
TensorFlow) travels with it by value, so a Ray worker does not import ``rpu_tf.studies``
and with it TensorFlow (seconds and hundreds of MB per worker) only to start subprocesses.
"""

from __future__ import annotations

import logging
import sys
from typing import Any, Optional

from rpu_tf.studies import jobs, work
from rpu_tf.studies.jobs import SubprocessLauncher
from rpu_tf.studies.work import Launcher, Outcome, WorkUnit, execute

logger = logging.getLogger(__name__)

#: GPU fraction of a run whose method leaves ``gpus`` unset, on a cluster with GPUs.
DEFAULT_GPU_SHARE = 0.25


def _execute_unit(unit: WorkUnit, num_cpus: float, num_gpus: float, launcher: Optional[Launcher]) -> list[Outcome]:
    """The Ray task: does ``unit`` on this node with subprocesses sized for what it holds."""
    logging.basicConfig(level=logging.INFO)
    return execute(unit, launcher or SubprocessLauncher(num_cpus=num_cpus, shares_gpu=0 < num_gpus < 1))


def fits_a_node(nodes: list[dict], num_cpus: float, num_gpus: float) -> bool:
    """Whether some alive node of ``ray.nodes()`` can ever hold a task of this size."""
    return any(node.get("Alive", True) and node.get("Resources", {}).get("CPU", 0.0) >= num_cpus
               and node.get("Resources", {}).get("GPU", 0.0) >= num_gpus for node in nodes)


class RayStudyExecutor:
    """Runs units as Ray tasks on the cluster at ``address`` (None: a cluster on this machine).

    Args:
      address: ``ray.init``'s address (``"auto"``: the running cluster this machine is part of).
      max_retries: times a task is rerun when its node or worker dies.
      init_kwargs: further ``ray.init`` arguments (tests: ``num_cpus``, ``_temp_dir``).
      launcher: what a task runs each job with (picklable); None: a subprocess sized for the
        task's resources (tests pass jobs of known duration).
    """

    def __init__(self, address: Optional[str] = None, max_retries: int = 3,
                 init_kwargs: Optional[dict[str, Any]] = None, launcher: Optional[Launcher] = None):
        import ray
        from ray import cloudpickle

        self._ray = ray
        self._by_value = (jobs, work, sys.modules[__name__])
        for module in self._by_value:
            cloudpickle.register_pickle_by_value(module)
        self._own = not ray.is_initialized()
        if self._own:
            ray.init(address=address, **(init_kwargs or {}))
        self._gpu_default = DEFAULT_GPU_SHARE if ray.cluster_resources().get("GPU", 0.0) > 0 else 0.0
        self._task = ray.remote(_execute_unit)
        self._max_retries = int(max_retries)
        self._launcher = launcher
        self._in_flight: dict = {}
        resources = ray.cluster_resources()
        logger.info("Study on Ray: %g CPUs, %g GPUs on %d node(s).", resources.get("CPU", 0.0),
                    resources.get("GPU", 0.0), len([n for n in ray.nodes() if n.get("Alive")]))

    def has_room(self) -> bool:
        return True  # Ray queues tasks until the cluster has room

    def busy(self) -> bool:
        return bool(self._in_flight)

    def submit(self, unit: WorkUnit, num_cpus: float, num_gpus: Optional[float]) -> None:
        gpus = self._gpu_default if num_gpus is None else float(num_gpus)
        if not fits_a_node(self._ray.nodes(), num_cpus, gpus):
            raise ValueError(f"Study: {', '.join(r.key for r in unit.runs)} asks for {num_cpus:g} CPUs and "
                             f"{gpus:g} GPUs, more than any node of the cluster has; lower the method's "
                             "study_method.cpus / study_method.gpus.")
        ref = self._task.options(num_cpus=num_cpus, num_gpus=gpus, max_retries=self._max_retries).remote(
            unit, num_cpus, gpus, self._launcher)
        self._in_flight[ref] = unit

    def wait_any(self) -> list[Outcome]:
        ready, _ = self._ray.wait(list(self._in_flight), num_returns=1)
        unit = self._in_flight.pop(ready[0])
        try:
            return self._ray.get(ready[0])
        except Exception as error:  # noqa: BLE001 -- its node died too often: failed, retried next time
            logger.error("Study: the Ray task of %s failed: %s", ", ".join(r.key for r in unit.runs), error)
            return [Outcome(run.key, 1, 0.0, f"Ray task failed: {type(error).__name__}: {error}"[:500])
                    for run in unit.runs]

    def close(self) -> None:
        for ref in list(self._in_flight):
            self._ray.cancel(ref, force=True)
        self._in_flight.clear()
        if self._own:
            self._ray.shutdown()
        from ray import cloudpickle

        for module in self._by_value:
            cloudpickle.unregister_pickle_by_value(module)
