"""A study's ``status.json``: per run its state, wall seconds, training images, error, and
while it trains or is evaluated, the attempt in progress, whose time still counts when the
invocation running it is killed."""

from __future__ import annotations

import logging
import os

from rpu_tf.utils.files import atomic_write_json, read_json

logger = logging.getLogger(__name__)

STATUS_FILE = "status.json"
ATTEMPT = "attempt"  # status.json: {"started": epoch s, "log": path, "share": of the job's time}


class StudyStatus:
    """``status.json``: what is done, failed, how long it took and how many images it used."""

    def __init__(self, study_dir: str):
        self.path = os.path.join(study_dir, STATUS_FILE)
        self.entries: dict = read_json(self.path) if os.path.exists(self.path) else {}

    def get(self, key: str) -> dict:
        return self.entries.get(key, {})

    def update(self, key: str, **values) -> None:
        self.entries[key] = {**self.get(key), **values}
        atomic_write_json(self.path, self.entries)


def count_stopped_attempts(status: StudyStatus) -> None:
    """Adds to each run's wall seconds its share of an attempt that a killed invocation left
    in ``status.json``: from the attempt's start to the last write to its log (what the run
    did until it was stopped), then forgets the attempt."""
    for key, entry in list(status.entries.items()):
        attempt = entry.get(ATTEMPT)
        if not attempt:
            continue
        try:
            last = os.path.getmtime(attempt["log"])
        except OSError:
            last = float(attempt["started"])
        seconds = max(0.0, last - float(attempt["started"])) * float(attempt["share"])
        status.update(key, wall_seconds=float(entry.get("wall_seconds", 0.0)) + seconds, **{ATTEMPT: None})
        logger.warning("Study: %s was stopped in an earlier invocation; its %.0f s until then count in its "
                       "wall time.", key, seconds)


#: An attempt whose log was written within this many seconds counts as running.
RUNNING_IF_LOGGED_WITHIN_S = 900.0


def study_progress(study, study_dir: str, now: float | None = None) -> str:
    """A few lines on a study's progress (done / running / failed / to do, training images and
    run time so far) read from its ``status.json``; writes nothing."""
    import time

    from rpu_tf.studies.plan import plan_runs

    now = time.time() if now is None else now
    path = os.path.join(study_dir, STATUS_FILE)
    entries = read_json(path) if os.path.exists(path) else {}
    states: dict[str, list[str]] = {"done": [], "running": [], "failed": [], "to do": []}
    details = []
    for run in plan_runs(study, study_dir):
        entry = entries.get(run.key, {})
        attempt = entry.get(ATTEMPT)
        if entry.get("state") == "done":
            states["done"].append(run.key)
        elif attempt:
            try:
                last = os.path.getmtime(attempt["log"])
            except OSError:
                last = float(attempt["started"])
            if now - last <= RUNNING_IF_LOGGED_WITHIN_S:
                states["running"].append(run.key)
                details.append(f"  running: {run.key} for {(now - float(attempt['started'])) / 60:.0f} min "
                               f"(log {attempt['log']})")
            else:
                states["to do"].append(run.key)
                details.append(f"  stopped: {run.key} (its log is silent for {(now - last) / 60:.0f} min; "
                               "an invocation was killed? run the study again to resume it)")
        elif entry.get("state") == "failed":
            states["failed"].append(run.key)
            details.append(f"  failed: {run.key}: {entry.get('error', '')}")
        else:
            states["to do"].append(run.key)
    images = sum(int(e.get("training_images") or 0) for e in entries.values() if e.get("state") == "done")
    hours = sum(float(e.get("wall_seconds") or 0.0) for e in entries.values()) / 3600.0
    total = sum(len(v) for v in states.values())
    head = (f"Study {study.name} ({study_dir}): " + ", ".join(f"{len(v)} {k}" for k, v in states.items())
            + f" of {total} runs; {images:,} training images and {hours:.2f} h of run time so far.")
    return "\n".join([head] + details)
