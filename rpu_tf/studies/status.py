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
