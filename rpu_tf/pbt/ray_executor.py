"""Ray executor: members train in Ray actors, states travel through Ray's object store.

Install with ``pip install rpu_tf[ray]``. Each actor builds one trainable (its model and
train step once) and runs member steps on it, as the local executor does in process; the
start state of a step is loaded by the controller and ``ray.put`` into the object store,
and the trained state comes back the same way. Actors get ``num_gpus_per_worker`` GPUs
(default: 1 when the cluster has GPUs, else 0). An actor that dies is restarted by Ray
(``max_restarts``) and its step is submitted again from the member's last checkpoint:
steps are deterministic, so the result is the same.

The controller starts a local Ray (``ray.init()``) unless ``address`` names an existing
cluster (e.g. ``"auto"`` or ``"ray://head:10001"``).
"""

from __future__ import annotations

import dataclasses
import logging
import time
from typing import Callable, Optional

import gin

from rpu_tf.pbt.executors import Executor
from rpu_tf.pbt.trainable import MemberTask, Trainable, run_member_step
from rpu_tf.utils.errors import RunFailedError


def _import_ray():
    try:
        import ray
    except ImportError as e:
        raise ImportError("the Ray executor needs Ray: pip install 'rpu_tf[ray]' (or pip install ray)") from e
    return ray


class _MemberWorker:
    """The body of a Ray actor: one trainable, many member steps."""

    def __init__(self, trainable_factory: Callable[[], Trainable]):
        self._factory = trainable_factory
        self._trainable = None

    def ready(self) -> bool:
        """Answers once the actor is up (after a restart: once it is back)."""
        return True

    def step(self, task: MemberTask, state):
        if self._trainable is None:
            self._trainable = self._factory()
        task = dataclasses.replace(task, start_state=state)
        return run_member_step(self._trainable, task)


@gin.configurable("ray_executor", denylist=["trainable_factory"])
class RayExecutor(Executor):
    """Runs member steps on ``num_workers`` Ray actors.

    Args:
      trainable_factory: builds a trainable inside each actor (must be picklable).
      num_workers: number of actors (default: the cluster's CPUs, or GPUs if it has any).
      num_cpus_per_worker, num_gpus_per_worker: actor resources (GPUs: None = 1 per actor
        when the cluster has GPUs, else 0).
      address: an existing cluster to join; None starts a local Ray.
      max_restarts: restarts of a dead actor; each lost step is resubmitted once the actor
        is back.
      restart_timeout_s: how long to wait for a restarted actor (seconds; its start-up
        imports TensorFlow and builds the member's model).
      init_kwargs: extra ``ray.init`` arguments (e.g. ``num_cpus``).
    """

    def __init__(self, trainable_factory: Callable[[], Trainable], num_workers: Optional[int] = None,
                 num_cpus_per_worker: float = 1.0, num_gpus_per_worker: Optional[float] = None,
                 address: Optional[str] = None, max_restarts: int = 3, init_kwargs: Optional[dict] = None,
                 restart_timeout_s: float = 600.0):
        self._factory = trainable_factory
        self.num_workers = num_workers
        self.num_cpus_per_worker = num_cpus_per_worker
        self.num_gpus_per_worker = num_gpus_per_worker
        self.address = address
        self.max_restarts = int(max_restarts)
        self.restart_timeout_s = float(restart_timeout_s)
        self.init_kwargs = dict(init_kwargs or {})
        self._actors = None
        self._factory_ref = None
        self._started_ray = False

    def _ensure_actors(self):
        ray = _import_ray()
        if not ray.is_initialized():
            kwargs = dict(include_dashboard=False, log_to_driver=False)
            kwargs.update(self.init_kwargs)
            ray.init(address=self.address, **kwargs)
            self._started_ray = True
        if self._actors is None:
            resources = ray.cluster_resources()
            gpus = self.num_gpus_per_worker
            if gpus is None:
                gpus = 1.0 if resources.get("GPU", 0) >= 1 else 0.0
            n = self.num_workers
            if n is None:
                n = int(resources.get("GPU", 0) // gpus) if gpus else int(resources.get("CPU", 1) // self.num_cpus_per_worker)
                n = max(1, n)
            actor_cls = ray.remote(num_cpus=self.num_cpus_per_worker, num_gpus=gpus,
                                   max_restarts=self.max_restarts, max_task_retries=0)(_MemberWorker)
            # The factory (data set included) goes into the object store once, and every actor
            # builds from that copy. The driver holds the reference for the whole run: Ray
            # rebuilds a restarted actor from its constructor arguments, and a factory that had
            # gone out of scope would make every restart fail.
            self._factory_ref = ray.put(self._factory)
            self._actors = [actor_cls.remote(self._factory_ref) for _ in range(n)]
            logging.info("Ray executor: %d actors (%.1f CPU, %.1f GPU each).", n, self.num_cpus_per_worker, gpus)
        return ray

    def run(self, tasks, load_state):
        ray = self._ensure_actors()
        pending = list(tasks)
        idle = list(range(len(self._actors)))
        running = {}  # future -> (actor index, task, attempts)
        attempts = {id(t): 0 for t in pending}

        def submit(actor_index, task):
            state = load_state(task)
            state_ref = ray.put(state) if state is not None else None
            future = self._actors[actor_index].step.remote(task, state_ref)
            running[future] = (actor_index, task)

        while pending or running:
            while pending and idle:
                submit(idle.pop(0), pending.pop(0))
            done, _ = ray.wait(list(running), num_returns=1)
            future = done[0]
            actor_index, task = running.pop(future)
            try:
                result = ray.get(future)
            except ray.exceptions.RayActorError as e:
                attempts[id(task)] += 1
                if attempts[id(task)] > self.max_restarts:
                    raise RunFailedError(f"PBT member {task.member_id}: its Ray actor died "
                                       f"{attempts[id(task)]} times; giving up.") from e
                logging.warning("PBT member %d: Ray actor died (%s); resubmitting its step from the "
                                "member's last checkpoint once the actor is back.", task.member_id, type(e).__name__)
                self._wait_until_back(ray, actor_index)
                pending.insert(0, task)
                idle.append(actor_index)
                continue
            idle.append(actor_index)
            yield result

    def _wait_until_back(self, ray, actor_index: int) -> None:
        """Blocks until Ray has restarted actor ``actor_index`` (a call made while it restarts
        fails at once with ActorUnavailableError); RunFailedError if it cannot come back."""
        unavailable = getattr(ray.exceptions, "ActorUnavailableError", ())
        deadline = time.monotonic() + self.restart_timeout_s
        while True:
            try:
                ray.get(self._actors[actor_index].ready.remote(), timeout=self.restart_timeout_s)
                return
            except unavailable:
                if time.monotonic() > deadline:
                    break
                time.sleep(0.5)
            except (ray.exceptions.RayActorError, ray.exceptions.GetTimeoutError) as e:
                raise RunFailedError(f"Ray actor {actor_index} died and could not be restarted "
                                     f"({type(e).__name__}); the run resumes from its checkpoints when "
                                     "started again.") from e
        raise RunFailedError(f"Ray actor {actor_index} was not back {self.restart_timeout_s:g} s after it died "
                             "(ray_executor.restart_timeout_s); the run resumes from its checkpoints when "
                             "started again.")

    def close(self) -> None:
        if self._actors is not None:
            ray = _import_ray()
            for actor in self._actors:
                ray.kill(actor)
            self._actors = self._factory_ref = None
            if self._started_ray:
                ray.shutdown()
                self._started_ray = False
