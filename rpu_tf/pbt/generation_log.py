"""``generations.jsonl``, the record of every member step of a PBT run, kept whole.

The controller rewrites the log after each generation (:func:`write_generation_log`) and
checks a finished run's log when it is run again (:func:`repair_generation_log`). A line that
does not parse (a truncated last line, garbage) is moved to ``pbt/generations.damaged.jsonl``
as it was. Records missing from the log (deleted by hand, a bad copy, a damaged line) are
rebuilt from the member results still on disk (``checkpoints/gen_G/member_M.json``, which
``pbt.keep_generations`` keeps for the last few generations) and the population files, which
say which members each generation had and kept. Records that cannot be rebuilt, because their
results were deleted with older checkpoints, are never dropped silently: each rewrite warns
and lists them in ``pbt/lost_records.json``. Every repair is logged as a warning.
"""

from __future__ import annotations

import json
import logging
import os
from typing import Callable, Optional

from rpu_tf.layout import paths
from rpu_tf.pbt.selection import rank_members
from rpu_tf.utils import files

logger = logging.getLogger(__name__)

#: Lists the (generation, member) records of ``generations.jsonl`` that were lost and could
#: not be rebuilt: ``{"lost": [[generation, member_id], ...]}``.
LOST_RECORDS_FILE = "lost_records.json"

#: The lines of ``generations.jsonl`` that did not parse, moved aside as they were.
DAMAGED_LINES_FILE = "generations.damaged.jsonl"

#: ``read_result(generation, member_id)``: the member step's stored result, or None.
ResultReader = Callable[[int, int], Optional[dict]]


def _is_record(value) -> bool:
    return (isinstance(value, dict) and type(value.get("generation")) is int
            and type(value.get("member_id")) is int)


def logged_records(run_dir: str, before: int) -> tuple[list[dict], bool]:
    """The records of generations ``< before`` in the log (none if there is no log yet), and
    whether a damaged line was moved aside (to :data:`DAMAGED_LINES_FILE`, with a warning)."""
    path = os.path.join(run_dir, paths.GENERATIONS_FILE)
    if not os.path.exists(path):
        return [], False
    with open(path, "rb") as f:
        lines = f.read().split(b"\n")
    records, bad = [], []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            value = json.loads(line.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            value = None
        if _is_record(value):
            records.append(value)
        else:
            bad.append((number, line))
    if bad:
        aside = os.path.join(run_dir, DAMAGED_LINES_FILE)
        with open(aside, "ab") as f:
            f.write(b"".join(line + b"\n" for _, line in bad))
        logger.warning("PBT: %s had %d damaged line(s) (line %s); moved them as they were to %s and rebuilding "
                       "the records they held.", path, len(bad), ", ".join(str(n) for n, _ in bad[:6]), aside)
    return [r for r in records if r["generation"] < before], bool(bad)


def _population_ids(run_dir: str, generation: int) -> Optional[list[int]]:
    path = paths.population_file(run_dir, generation)
    if not os.path.exists(path):
        return None
    try:
        return [int(m["id"]) for m in files.read_json(path)["members"]]
    except (OSError, ValueError, KeyError, TypeError) as e:
        logger.warning("PBT: population file %s is unreadable (%s); the log's records of generation %d are "
                       "not checked.", path, e, generation)
        return None


def complete_records(run_dir: str, records: list[dict], generations: int, population_size: int,
                     read_result: ResultReader) -> tuple[list[dict], list[tuple[int, int]]]:
    """``records`` of generations ``0 .. generations - 1`` with every missing member step
    rebuilt where its stored result is still on disk, in generation order (the log's own
    order within a generation, rebuilt ones after). Also returns the (generation, member)
    pairs that are missing and cannot be rebuilt."""
    have = {(r["generation"], r["member_id"]) for r in records}
    rebuilt, lost = [], []
    for generation in range(generations):
        ids = _population_ids(run_dir, generation)
        if ids is None:
            continue
        missing = [m for m in ids if (generation, m) not in have]
        if not missing:
            continue
        found = {m: read_result(generation, m) for m in missing}
        kept_ids = _population_ids(run_dir, generation + 1)
        if kept_ids is None:  # the last generation: kept as the controller ranks (scores of all members)
            scores = {r["member_id"]: r.get("score") for r in records if r["generation"] == generation}
            scores.update({m: meta.get("score") for m, meta in found.items() if meta is not None})
            kept_ids = rank_members(list(scores), list(scores.values()))[:population_size]
        for member_id in missing:
            meta = found[member_id]
            if meta is None:
                lost.append((generation, member_id))
            else:
                rebuilt.append(dict(meta, kept=member_id in kept_ids))
    if rebuilt:
        logger.warning("PBT: %s lacked %d record(s) (%s); rebuilt them from the member results in %s.",
                       os.path.join(run_dir, paths.GENERATIONS_FILE), len(rebuilt),
                       _pairs([(r["generation"], r["member_id"]) for r in rebuilt]),
                       os.path.join(run_dir, paths.CHECKPOINTS_DIR))
    ordered = sorted(records + rebuilt, key=lambda r: r["generation"])  # stable: the log's order kept
    return ordered, lost


def write_generation_log(run_dir: str, generation: int, records: list[dict], kept: set, population_size: int,
                         read_result: ResultReader) -> None:
    """Rewrites ``generations.jsonl`` atomically: the earlier generations' records (missing
    ones rebuilt, see the module docstring) and then ``records`` of ``generation``, each with
    ``kept`` (whether the member stays in the population)."""
    earlier, _ = logged_records(run_dir, generation)
    earlier, lost = complete_records(run_dir, earlier, generation, population_size, read_result)
    if lost:
        _record_lost(run_dir, lost)
    _write(run_dir, earlier + [dict(r, kept=r["member_id"] in kept) for r in records])


def repair_generation_log(run_dir: str, generations: int, population_size: int, read_result: ResultReader) -> bool:
    """Checks the log of a finished run of ``generations`` generations and rewrites it when a
    line was damaged or a record is missing (see the module docstring). Returns whether it
    rewrote the log."""
    logged, damaged_lines = logged_records(run_dir, generations)
    records, lost = complete_records(run_dir, logged, generations, population_size, read_result)
    if lost:
        _record_lost(run_dir, lost)
    if not damaged_lines and len(records) == len(logged):
        return False
    _write(run_dir, records)
    return True


def _write(run_dir: str, records: list[dict]) -> None:
    text = "".join(json.dumps(r, sort_keys=True) + "\n" for r in records)
    files.atomic_write_bytes(os.path.join(run_dir, paths.GENERATIONS_FILE), text.encode())


def _record_lost(run_dir: str, lost: list[tuple[int, int]]) -> None:
    path = os.path.join(run_dir, LOST_RECORDS_FILE)
    known = set()
    if os.path.exists(path):
        try:
            known = {tuple(p) for p in files.read_json(path)["lost"]}
        except (OSError, ValueError, KeyError, TypeError):
            pass  # rewritten whole below
    everything = sorted(known | set(lost))
    files.atomic_write_json(path, {"lost": [list(p) for p in everything]})
    logger.warning("PBT: %s lacks %d record(s) that cannot be rebuilt (%s): their member results were deleted "
                   "with older checkpoints. Figures and TensorBoard miss them; they are listed in %s.",
                   os.path.join(run_dir, paths.GENERATIONS_FILE), len(lost), _pairs(lost), path)


def _pairs(pairs: list[tuple[int, int]], shown: int = 6) -> str:
    text = ", ".join(f"generation {g} member {m}" for g, m in pairs[:shown])
    return text + (f" and {len(pairs) - shown} more" if len(pairs) > shown else "")
