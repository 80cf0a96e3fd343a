"""Ray executor: members train in Ray actors, states travel through Ray's object store.

Install with ``pip install rpu_tf[ray]``. Each actor builds one trainable (its model and
train step once) and runs member steps on it, as the local executor does in process; the
start state of a step is loaded by the controller and ``ray.put`` into the object store,
and the trained state comes back the same way. Each actor holds ``num_cpus_per_member`` CPUs
and ``num_gpus_per_member`` GPUs (default: 1 when the cluster has GPUs, else 0; fractions
share a device) and sets its thread pools from its CPUs; ``max_concurrent_members`` bounds
the actors. A cluster's guide: ``docs/cluster.md``. An actor that dies is restarted by Ray
(``max_restarts``) and its step is submitted again from the member's last checkpoint:
steps are deterministic, so the result is the same.

The controller starts a local Ray (``ray.init()``) unless ``address`` names an existing
cluster (e.g. ``"auto"`` or ``"ray://head:10001"``).
"""

from __future__ import annotations

import dataclasses
import logging
import os
import time
from typing import Callable, Optional

import gin

from rpu_tf.pbt.executors import Executor
from rpu_tf.pbt.trainable import MemberTask, Trainable, run_member_step
from rpu_tf.utils.errors import RunFailedError

logger = logging.getLogger(__name__)


def _import_ray():
    try:
        import ray
    except ImportError as e:
        raise ImportError("the Ray executor needs Ray: pip install 'rpu_tf[ray]' (or pip install ray)") from e
    return ray


class _MemberWorker:
    """The body of a Ray actor: one trainable, many member steps.

    Before anything else the actor readies its process for the resources it holds: a
    factory with a ``configure_worker(num_cpus, num_gpus)`` method (VAE members: thread
    pools and GPU memory growth) is called with them.
    """

    def __init__(self, trainable_factory: Callable[[], Trainable], num_cpus: float = 1.0,
                 num_gpus: float = 0.0):
        configure = getattr(trainable_factory, "configure_worker", None)
        self._setup = configure(num_cpus, num_gpus) if callable(configure) else ""
        self._factory = trainable_factory
        self._trainable = None

    def ready(self) -> dict:
        """Answers once the actor is up (after a restart: once it is back): its process id
        and what it set up for its resources."""
        return {"pid": os.getpid(), "setup": self._setup}

    def step(self, task: MemberTask, state):
        if self._trainable is None:
            self._trainable = self._factory()
        task = dataclasses.replace(task, start_state=state)
        return run_member_step(self._trainable, task)


def actors_that_fit(resources: dict, num_cpus_per_member: float, num_gpus_per_member: float) -> int:
    """How many member actors ``resources`` (Ray's ``cluster_resources()``) hold at once."""
    fits = [int(resources.get("CPU", 0) // num_cpus_per_member)] if num_cpus_per_member > 0 else []
    if num_gpus_per_member > 0:
        fits.append(int(resources.get("GPU", 0) // num_gpus_per_member))
    return min(fits) if fits else 1


@gin.configurable("ray_executor", denylist=["trainable_factory"])
class RayExecutor(Executor):
    """Runs member steps on Ray actors, one member at a time per actor.

    Args:
      trainable_factory: builds a trainable inside each actor (must be picklable).
      num_cpus_per_member: CPUs each member actor holds (fractions allowed). A VAE member's
        thread pools follow them (:func:`rpu_tf.training.configure_worker_process`).
      num_gpus_per_member: GPUs each actor holds; a fraction (e.g. 0.25) lets several members
        share one device (GPU memory then grows on demand). None: 1 when the cluster has
        GPUs, else 0.
      max_concurrent_members: at most this many actors, i.e. members training at once.
        None: as many as the cluster's resources hold (``actors_that_fit``). Actors start as
        steps need them, so never more than a generation's members.
      address: an existing cluster to join (``"auto"``, ``"ray://head:10001"``); None starts
        a local Ray.
      max_restarts: restarts of a dead actor; each lost step is resubmitted once the actor
        is back.
      restart_timeout_s: how long to wait for a restarted actor (seconds; its start-up
        imports TensorFlow and builds the member's model).
      init_kwargs: extra ``ray.init`` arguments (e.g. ``num_cpus``).
    """

    def __init__(self, trainable_factory: Callable[[], Trainable], num_cpus_per_member: float = 1.0,
                 num_gpus_per_member: Optional[float] = None, max_concurrent_members: Optional[int] = None,
                 address: Optional[str] = None, max_restarts: int = 3, init_kwargs: Optional[dict] = None,
                 restart_timeout_s: float = 600.0):
        if not num_cpus_per_member >= 0 or (num_gpus_per_member is not None and not num_gpus_per_member >= 0):
            raise ValueError(f"ray_executor.num_cpus_per_member ({num_cpus_per_member}) and num_gpus_per_member "
                             f"({num_gpus_per_member}) must be >= 0.")
        if max_concurrent_members is not None and int(max_concurrent_members) < 1:
            raise ValueError(f"ray_executor.max_concurrent_members must be at least 1 (or None), "
                             f"got {max_concurrent_members}.")
        self._factory = trainable_factory
        self.num_cpus_per_member = float(num_cpus_per_member)
        self.num_gpus_per_member = num_gpus_per_member
        self.max_concurrent_members = max_concurrent_members
        self.address = address
        self.max_restarts = int(max_restarts)
        self.restart_timeout_s = float(restart_timeout_s)
        self.init_kwargs = dict(init_kwargs or {})
        self._actors: Optional[list] = None
        self._actor_cls = None
        self._max_actors = 0
        self._gpus = 0.0
        self._factory_ref = None
        self._ready: dict = {}  # actor index -> its first ready() call, logged once answered
        self._started_ray = False

    def _ensure_ray(self):
        ray = _import_ray()
        if not ray.is_initialized():
            kwargs = dict(include_dashboard=False, log_to_driver=False)
            kwargs.update(self.init_kwargs)
            ray.init(address=self.address, **kwargs)
            self._started_ray = True
        if self._actors is None:
            resources = ray.cluster_resources()
            gpus = self.num_gpus_per_member
            if gpus is None:
                gpus = 1.0 if resources.get("GPU", 0) >= 1 else 0.0
            self._gpus = float(gpus)
            fit = actors_that_fit(resources, self.num_cpus_per_member, self._gpus)
            if self.max_concurrent_members is None:
                if fit < 1:
                    raise RunFailedError(
                        f"no member fits the Ray cluster: each needs {self.num_cpus_per_member:g} CPU(s) and "
                        f"{self._gpus:g} GPU(s) (ray_executor.num_cpus_per_member / num_gpus_per_member), the "
                        f"cluster has {resources.get('CPU', 0):g} CPU(s) and {resources.get('GPU', 0):g} GPU(s).")
                self._max_actors = fit
            else:
                self._max_actors = int(self.max_concurrent_members)
                if self._max_actors > fit:
                    logger.warning("ray_executor.max_concurrent_members = %d, but the cluster holds %d such "
                                   "actors now; the others wait for resources.", self._max_actors, fit)
            self._actor_cls = ray.remote(num_cpus=self.num_cpus_per_member, num_gpus=self._gpus,
                                         max_restarts=self.max_restarts, max_task_retries=0)(_MemberWorker)
            # The factory (data set included) goes into the object store once, and every actor
            # builds from that copy. The driver holds the reference for the whole run: Ray
            # rebuilds a restarted actor from its constructor arguments, and a factory that had
            # gone out of scope would make every restart fail.
            self._factory_ref = ray.put(self._factory)
            self._actors = []
            logger.info("Ray executor: up to %d member actors (%g CPU, %g GPU each).", self._max_actors,
                        self.num_cpus_per_member, self._gpus)
        return ray

    def _start_actor(self, ray) -> int:
        """Starts one more actor (without waiting for it: actors start in parallel); returns
        its index. What it set up is logged with its first result."""
        actor = self._actor_cls.remote(self._factory_ref, self.num_cpus_per_member, self._gpus)
        self._actors.append(actor)
        self._ready[len(self._actors) - 1] = actor.ready.remote()
        return len(self._actors) - 1

    def _log_ready(self, ray, index: int) -> None:
        if index in self._ready:
            info = ray.get(self._ready.pop(index))
            logger.info("Ray executor: actor %d (pid %s)%s.", index, info.get("pid"),
                        f": {info['setup']}" if info.get("setup") else "")

    def run(self, tasks, load_state):
        ray = self._ensure_ray()
        pending = list(tasks)
        idle = list(range(len(self._actors)))
        running = {}  # future -> (actor index, task)
        attempts = {id(t): 0 for t in pending}

        def submit(actor_index, task):
            state = load_state(task)
            state_ref = ray.put(state) if state is not None else None
            future = self._actors[actor_index].step.remote(task, state_ref)
            running[future] = (actor_index, task)

        while pending or running:
            while pending and (idle or len(self._actors) < self._max_actors):
                submit(idle.pop(0) if idle else self._start_actor(ray), pending.pop(0))
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
                logger.warning("PBT member %d: Ray actor died (%s); resubmitting its step from the "
                               "member's last checkpoint once the actor is back.", task.member_id, type(e).__name__)
                self._ready.pop(actor_index, None)
                self._wait_until_back(ray, actor_index)
                pending.insert(0, task)
                idle.append(actor_index)
                continue
            self._log_ready(ray, actor_index)
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
            self._actors = self._factory_ref = self._actor_cls = None
            if self._started_ray:
                ray.shutdown()
                self._started_ray = False
