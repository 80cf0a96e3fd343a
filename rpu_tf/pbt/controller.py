"""The PBT controller: synchronous generations, truncation selection, crash-safe resume.

Each generation every member trains ``generation_budget`` steps (or images), all are
scored, then the bottom ``ceil(cutoff * N)`` members copy a uniformly chosen top member's
state (weights and optimizer state) and hyperparameters (exploit) and perturb those
hyperparameters (explore). The run stops on the :class:`~rpu_tf.pbt.stopping.StoppingRule`.

The run directory's files are listed in :mod:`rpu_tf.layout.paths`; every file is written
atomically. Re-running on an interrupted directory resumes at the last finished member
step; all randomness is derived from ``seed``, the generation and the member id, so the
generation log equals that of an uninterrupted run.
"""

from __future__ import annotations

import dataclasses
import glob
import json
import logging
import math
import os
import shutil
import time
from typing import Callable, Optional, Sequence

import gin
import numpy as np

from rpu_tf import utils
from rpu_tf.layout import paths
from rpu_tf.pbt.executors import Executor
from rpu_tf.pbt.generation_log import repair_generation_log, write_generation_log
from rpu_tf.pbt.records import (ConfigMismatchError, PBTResult, derive_seed, dict_diff,
                               finite_or_none)
from rpu_tf.pbt.hyperparameters import PAPER_PERTURB_FACTORS, HyperparameterSpace
from rpu_tf.pbt.selection import check_cutoff, rank_members, truncation_plan
from rpu_tf.pbt.stopping import StoppingRule
from rpu_tf.pbt.trainable import MemberResult, MemberTask, State
from rpu_tf.utils import files, state_files
from rpu_tf.utils.errors import RunFailedError
from rpu_tf.utils.whole_numbers import whole_number

logger = logging.getLogger(__name__)

_TAG_INIT_HPARAMS, _TAG_INIT_WEIGHTS, _TAG_STEP, _TAG_EXPLOIT = 1, 2, 3, 4


@gin.configurable("pbt", denylist=["run_dir", "executor", "space", "fingerprint"])
class PopulationBasedTraining:
    """Synchronous PBT over a population of members.

    Args:
      run_dir: folder of this run (created; resumed if it holds an unfinished run).
      executor: runs member steps (:class:`~rpu_tf.pbt.executors.LocalExecutor`, Ray, ...).
      space: the hyperparameters, their initial distributions and bounds.
      population_size: members after the first generation (paper: 56); at least 2.
      cutoff: fraction copied and copying per generation, in (0, 0.5] (paper: 0.2).
      perturb_factors: explore's multiplicative factors (paper: 2, 1.2, 0.8, 0.5).
      resample_probability: probability that explore redraws a value from its initial
        distribution instead of perturbing it (0 in the paper).
      generation_budget: training per member per generation, in ``budget_unit``.
      budget_unit: ``"steps"``, or ``"images"`` (steps = budget / the member's batch size).
      initial_population_factor: the first generation has ``factor * population_size``
        members and is cut to the best ``population_size`` after scoring (paper's code: 2).
      stopping: when to stop (generations, convergence, minimum score).
      seed: seeds every random decision of the run.
      keep_generations: checkpoint generations kept on disk (>= 2 so a corrupted
        checkpoint can be recomputed from the one before).
      fingerprint: JSON-able description of what is trained (model, data, score); a resume
        must match it.
    """

    def __init__(
        self,
        run_dir: str,
        executor: Executor,
        space: HyperparameterSpace,
        population_size: int = 56,
        cutoff: float = 0.2,
        perturb_factors: Sequence[float] = PAPER_PERTURB_FACTORS,
        resample_probability: float = 0.0,
        generation_budget: int = 1000,
        budget_unit: str = "steps",
        initial_population_factor: float = 1.0,
        stopping: Optional[StoppingRule] = None,
        seed: int = 0,
        keep_generations: int = 2,
        fingerprint: Optional[dict] = None,
    ):
        if int(population_size) != population_size or population_size < 2:
            raise ValueError(f"pbt.population_size must be an integer >= 2, got {population_size!r}.")
        check_cutoff(cutoff)
        if len(tuple(perturb_factors)) == 0 or any(f <= 0 for f in perturb_factors):
            raise ValueError(f"pbt.perturb_factors must be non-empty positive factors, got {perturb_factors!r}.")
        if not 0.0 <= resample_probability <= 1.0:
            raise ValueError(f"pbt.resample_probability must be in [0, 1], got {resample_probability}.")
        if budget_unit not in ("steps", "images"):
            raise ValueError(f"pbt.budget_unit must be 'steps' or 'images', got {budget_unit!r}.")
        if generation_budget < 1:
            raise ValueError(f"pbt.generation_budget must be >= 1, got {generation_budget}.")
        if budget_unit == "images" and "batch_size" not in space.names:
            raise ValueError("pbt.budget_unit='images' needs a 'batch_size' hyperparameter.")
        if initial_population_factor < 1:
            raise ValueError("pbt.initial_population_factor must be >= 1.")
        if keep_generations < 2:
            raise ValueError("pbt.keep_generations must be >= 2.")
        self.run_dir = run_dir
        self.executor = executor
        self.space = space
        self.population_size = int(population_size)
        self.cutoff = float(cutoff)
        self.perturb_factors = tuple(float(f) for f in perturb_factors)
        self.resample_probability = float(resample_probability)
        self.generation_budget = whole_number(generation_budget, "pbt.generation_budget", 1)
        self.budget_unit = budget_unit
        self.initial_population_factor = float(initial_population_factor)
        self.stopping = stopping or StoppingRule()
        self.seed = whole_number(seed, "pbt.seed")
        self.keep_generations = whole_number(keep_generations, "pbt.keep_generations", 2)
        self.fingerprint = fingerprint or {}
        self.on_generation: Optional[Callable[[int, list[dict]], None]] = None
        #: Called with each member step run here (not those a resume finds done) and the
        #: member it trained, after its result is saved (TensorBoard curves).
        self.on_member_step: Optional[Callable[[MemberResult, dict], None]] = None

    # --- paths (rpu_tf.layout.paths owns the names) ------------------------------------
    def _path(self, *parts: str) -> str:
        return os.path.join(self.run_dir, *parts)

    def _population_path(self, generation: int) -> str:
        return paths.population_file(self.run_dir, generation)

    def checkpoint_path(self, generation: int, member_id: int, ext: str = "npz") -> str:
        return paths.checkpoint_file(self.run_dir, generation, member_id, ext)

    # --- configuration ---------------------------------------------------------------------
    def config(self) -> dict:
        return {
            "population_size": self.population_size, "cutoff": self.cutoff,
            "perturb_factors": list(self.perturb_factors), "resample_probability": self.resample_probability,
            "generation_budget": self.generation_budget, "budget_unit": self.budget_unit,
            "initial_population_factor": self.initial_population_factor,
            "stopping": dataclasses.asdict(self.stopping), "seed": self.seed,
            "hyperparameters": self.space.describe(), "fingerprint": self.fingerprint,
        }

    def _check_or_write_config(self) -> None:
        path = self._path(paths.PBT_CONFIG_FILE)
        current = json.loads(json.dumps(self.config()))
        if os.path.exists(path):
            stored = files.read_json(path)
            if stored != current:
                diff = dict_diff(stored, current)
                raise ConfigMismatchError(
                    f"{self.run_dir} holds a PBT run with other settings:\n" + "\n".join(diff)
                    + "\nUse another directory, or --overwrite to start this one afresh."
                )
        else:
            files.atomic_write_json(path, current)

    # --- population state --------------------------------------------------------------------
    def _initial_population(self) -> dict:
        n = math.ceil(self.population_size * self.initial_population_factor)
        members = []
        for member_id in range(n):
            rs = np.random.RandomState(derive_seed(self.seed, _TAG_INIT_HPARAMS, member_id))
            members.append({
                "id": member_id, "hyperparameters": self.space.sample(rs), "parent": None,
                "start_checkpoint": None, "init_seed": derive_seed(self.seed, _TAG_INIT_WEIGHTS, member_id),
                "total_steps": 0,
            })
        return {"generation": 0, "members": members, "best_scores": [], "stop_reason": None}

    def _load_population(self) -> dict:
        """The newest readable population file, or the initial population."""
        for path in sorted(glob.glob(paths.population_glob(self.run_dir)), reverse=True):
            try:
                return files.read_json(path)
            except (OSError, ValueError) as e:
                logger.warning("PBT: population file %s is unreadable (%s); falling back to the one before.",
                               path, e)
        population = self._initial_population()
        files.atomic_write_json(self._population_path(0), population)
        return population

    # --- member steps -------------------------------------------------------------------------
    def _num_steps(self, hyperparameters: dict) -> int:
        if self.budget_unit == "steps":
            return self.generation_budget
        return max(1, int(round(self.generation_budget / hyperparameters["batch_size"])))

    def _task(self, generation: int, member: dict) -> MemberTask:
        return MemberTask(
            member_id=member["id"], generation=generation, hyperparameters=dict(member["hyperparameters"]),
            num_steps=self._num_steps(member["hyperparameters"]),
            seed=derive_seed(self.seed, _TAG_STEP, generation, member["id"]),
            init_seed=member["init_seed"] if member["start_checkpoint"] is None else None,
        )

    def _finished_result(self, generation: int, member_id: int) -> Optional[dict]:
        """The stored result of a member step if it is complete and its state loads."""
        meta_path = self.checkpoint_path(generation, member_id, "json")
        if not os.path.exists(meta_path):
            return None
        try:
            meta = files.read_json(meta_path)
        except (OSError, ValueError):
            logger.warning("PBT: result %s is unreadable; the member step runs again.", meta_path)
            return None
        if meta.get("failed") is None and not os.path.exists(self.checkpoint_path(generation, member_id)):
            logger.warning("PBT: checkpoint of member %d, generation %d is missing; it runs again.",
                           member_id, generation)
            return None
        return meta

    def _save_result(self, result: MemberResult, member: dict) -> dict:
        if result.state is not None:
            state_files.save_state(self.checkpoint_path(result.generation, result.member_id), result.state)
        meta = {
            "generation": result.generation, "member_id": result.member_id, "parent": member["parent"],
            "hyperparameters": member["hyperparameters"], "score": finite_or_none(result.score),
            "details": result.details, "metrics": {k: finite_or_none(v) for k, v in result.metrics.items()},
            "failed": result.failed,
            "num_steps": result.num_steps, "total_steps": member["total_steps"] + result.num_steps,
            "wall_time": result.wall_time,
        }
        files.atomic_write_json(self.checkpoint_path(result.generation, result.member_id, "json"), meta)
        return meta

    def _load_start_state(self, task: MemberTask, population: dict) -> Optional[State]:
        member = next(m for m in population["members"] if m["id"] == task.member_id)
        path = member["start_checkpoint"]
        if path is None:
            return None
        full = self._path(path)
        try:
            return state_files.load_state(full)
        except (state_files.CorruptCheckpointError, FileNotFoundError) as e:
            logger.warning("PBT: %s; recomputing it from the generation before.", e)
            self._recompute_checkpoint(path)
            return state_files.load_state(full)

    def _recompute_checkpoint(self, rel_path: str) -> None:
        """Re-runs the member step that wrote ``rel_path`` (deterministic) from its own start."""
        generation, member_id = paths.parse_checkpoint_file(rel_path)
        pop_path = self._population_path(generation)
        if not os.path.exists(pop_path):
            raise state_files.CorruptCheckpointError(
                f"checkpoint {rel_path} is unreadable and generation {generation}'s population file is gone; "
                "the run cannot resume: use --overwrite to start afresh.")
        population = files.read_json(pop_path)
        member = next(m for m in population["members"] if m["id"] == member_id)
        task = self._task(generation, member)
        for result in self.executor.run([task], lambda t: self._load_start_state(t, population)):
            self._save_result(result, member)

    # --- the run ----------------------------------------------------------------------------------
    def run(self) -> PBTResult:
        """Runs (or resumes) the population until a stopping criterion holds."""
        os.makedirs(self.run_dir, exist_ok=True)
        self._check_or_write_config()
        result_path = self._path(paths.PBT_RESULT_FILE)
        if os.path.exists(result_path):
            logger.info("PBT run in %s is already finished.", self.run_dir)
            result = PBTResult.from_json(files.read_json(result_path), self.run_dir)
            self._check_best_checkpoint(result)
            repair_generation_log(self.run_dir, result.generations, self.population_size, self._stored_result)
            return result
        population = self._load_population()
        while True:
            generation = population["generation"]
            records = self._run_generation(population)
            population, result = self._next_population(population, records)
            if result is not None:
                files.atomic_write_json(result_path, result.to_json(self.run_dir))
                logger.info("PBT finished after %d generations (%s): best member %d, score %.4f.",
                            result.generations, result.stop_reason, result.best_member_id, result.best_score)
                return result
            self._collect_garbage(generation + 1)

    def _check_best_checkpoint(self, result: PBTResult) -> None:
        """A finished run's best checkpoint that no longer loads is recomputed from the
        generation before, as intermediate ones are (the member step is deterministic)."""
        try:
            state_files.load_state(result.best_checkpoint)
        except (state_files.CorruptCheckpointError, FileNotFoundError) as e:
            logger.warning("PBT: %s; recomputing the best member's checkpoint from the generation before.", e)
            self._recompute_checkpoint(os.path.relpath(result.best_checkpoint, self.run_dir))

    def _run_generation(self, population: dict) -> list[dict]:
        generation = population["generation"]
        members = {m["id"]: m for m in population["members"]}
        records = {}
        todo = []
        for member in population["members"]:
            done = self._finished_result(generation, member["id"])
            if done is not None:
                records[member["id"]] = done
            else:
                todo.append(self._task(generation, member))
        if records:
            logger.info("PBT generation %d: %d member steps already finished, %d to run.",
                        generation, len(records), len(todo))
        start = time.perf_counter()
        progress = utils.progress(len(population["members"]), f"PBT generation {generation}", "members",
                                  initial=len(records))
        for result in self.executor.run(todo, lambda t: self._load_start_state(t, population)):
            records[result.member_id] = self._save_result(result, members[result.member_id])
            if self.on_member_step is not None:
                self.on_member_step(result, members[result.member_id])
            finite = [r["score"] for r in records.values() if r["score"] is not None]
            if finite:  # before the update, whose log line shows it (it lagged one member behind)
                progress.set_postfix(best=f"{max(finite):.4f}")
            progress.update(1)
        progress.close()
        ordered = [records[m["id"]] for m in population["members"]]
        scores = [r["score"] for r in ordered if r["score"] is not None]
        logger.info("PBT generation %d: best %.4f, median %.4f, %d failed, %.1fs.", generation,
                    max(scores) if scores else float("nan"), float(np.median(scores)) if scores else float("nan"),
                    sum(r["failed"] is not None for r in ordered), time.perf_counter() - start)
        return ordered

    def _next_population(self, population: dict, records: list[dict]):
        generation = population["generation"]
        ids = [r["member_id"] for r in records]
        scores = [math.nan if r["score"] is None else r["score"] for r in records]
        finite = [s for s in scores if math.isfinite(s)]
        if not finite:
            raise RunFailedError(
                f"PBT generation {generation}: every member failed (NaN/Inf loss or score); lower the "
                "learning-rate bounds or check the data. See the warnings above.")
        best_scores = population["best_scores"] + [max(finite)]
        ranked = rank_members(ids, scores)
        by_id = {r["member_id"]: r for r in records}
        keep_ids = ranked[:self.population_size]  # cut of a larger first generation
        keep_set = set(keep_ids)
        stop = self.stopping.check(best_scores)
        self._append_log(generation, records, keep_set)
        if stop is not None:
            best = by_id[ranked[0]]
            return population, PBTResult(
                stop_reason=stop, generations=generation + 1, best_member_id=best["member_id"],
                best_score=best["score"], best_details=best["details"],
                best_hyperparameters=best["hyperparameters"],
                best_checkpoint=self.checkpoint_path(generation, best["member_id"]),
                best_scores=best_scores)
        rs = np.random.RandomState(derive_seed(self.seed, _TAG_EXPLOIT, generation))
        kept = [m for m in population["members"] if m["id"] in keep_set]
        plan = truncation_plan([m["id"] for m in kept], [scores[ids.index(m["id"])] for m in kept],
                               self.cutoff, rs)
        members = []
        for member in kept:  # population order, so explore's draws have a fixed order
            mid = member["id"]
            donor = plan.get(mid)
            source = by_id[donor if donor is not None else mid]
            hparams = dict(source["hyperparameters"])
            if donor is not None:
                hparams = self.space.perturb(hparams, rs, self.perturb_factors, self.resample_probability)
            members.append({
                "id": mid, "hyperparameters": hparams, "parent": donor,
                "start_checkpoint": os.path.relpath(self.checkpoint_path(generation, source["member_id"]),
                                                    self.run_dir),
                "init_seed": member["init_seed"], "total_steps": source["total_steps"],
            })
            if donor is not None:
                logger.info("PBT exploit: member %d (score %s) copies member %d (score %.4f).", mid,
                            "failed" if by_id[mid]["score"] is None else f"{by_id[mid]['score']:.4f}", donor,
                            by_id[donor]["score"])
        new_population = {"generation": generation + 1, "members": members, "best_scores": best_scores,
                          "stop_reason": None}
        files.atomic_write_json(self._population_path(generation + 1), new_population)
        return new_population, None

    def _append_log(self, generation: int, records: list[dict], kept: set) -> None:
        """Rewrites ``generations.jsonl`` atomically with this generation's records last
        (records missing from the earlier ones rebuilt: :mod:`rpu_tf.pbt.generation_log`)."""
        write_generation_log(self.run_dir, generation, records, kept, self.population_size, self._stored_result)
        if self.on_generation is not None:
            self.on_generation(generation, records)

    def _stored_result(self, generation: int, member_id: int) -> Optional[dict]:
        """A member step's stored result (``member_M.json``) if it is still there and reads."""
        path = self.checkpoint_path(generation, member_id, "json")
        try:
            return files.read_json(path) if os.path.exists(path) else None
        except (OSError, ValueError):
            return None

    def _collect_garbage(self, generation: int) -> None:
        """Removes checkpoint folders older than ``keep_generations`` before ``generation``."""
        for g, folder in paths.checkpoint_generation_dirs(self.run_dir).items():
            if g < generation - self.keep_generations:
                shutil.rmtree(folder, ignore_errors=True)
