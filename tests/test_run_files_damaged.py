"""Damaged run files give one line naming the file, what is wrong and what to do, never a bare
JSON or UTF-8 error; what the run can rebuild (a PBT population or member result) it does."""

import json
import os
import shutil

import pytest

from rpu_tf.layout import paths
from rpu_tf.layout.pbt_files import read_generation_log
from rpu_tf.pbt import generation_log
from rpu_tf.utils.files import DamagedFileError, read_json
from tests.helpers.pbt_toy import make_pbt


@pytest.mark.parametrize("content, what", [(b'{"a": 1', "not valid JSON"), (b"\xff\xfe{}", "not UTF-8 text"),
                                           (b"", "not valid JSON")])
def test_a_damaged_json_file_names_itself(tmp_path, content, what):
    path = tmp_path / "pbt_config.json"
    path.write_bytes(content)
    with pytest.raises(DamagedFileError, match=rf"{path}: {what}.*damaged.*--overwrite"):
        read_json(str(path))


def _finished_toy(run_dir, generations=3):
    from rpu_tf.pbt import StoppingRule

    return make_pbt(run_dir, stopping=StoppingRule(max_generations=generations, convergence_window=3,
                                                   convergence_tolerance=1e-9))


@pytest.mark.parametrize("damage, where", [(lambda text: text[:-20], "line 18 is not valid JSON"),
                                           (lambda text: text + "garbage\n", "line 19 is not valid JSON"),
                                           (lambda text: text + "[1, 2]\n", "record 19 is not a generation record")])
def test_a_damaged_generation_log_names_itself_and_the_run_rebuilds_it(tmp_path, damage, where, caplog):
    run_dir = str(tmp_path / "pbt")
    _finished_toy(run_dir, 3).run()
    log = os.path.join(run_dir, paths.GENERATIONS_FILE)
    original = read_generation_log(run_dir)
    assert len(original) == 18  # 6 members x 3 generations
    with open(log, encoding="utf-8") as f:
        text = f.read()
    with open(log, "w", encoding="utf-8") as f:
        f.write(damage(text))
    with pytest.raises(DamagedFileError, match=rf"{log}: {where}"):
        read_generation_log(run_dir)  # readers (figures) name the file and line
    _finished_toy(run_dir, 3).run()  # the same command again: the finished run repairs its log
    assert _canonical(read_generation_log(run_dir)) == _canonical(original)
    aside = os.path.join(run_dir, generation_log.DAMAGED_LINES_FILE)
    assert open(aside, encoding="utf-8", errors="replace").read().strip() in text + "garbage [1, 2]"
    assert "damaged line(s)" in caplog.text
    assert ("rebuilt them from the member results" in caplog.text) == (len(damage(text)) < len(text))
    os.remove(os.path.join(run_dir, paths.PBT_RESULT_FILE))  # as if stopped in its last generation
    with open(log, "w", encoding="utf-8") as f:
        f.write(damage(text))
    _finished_toy(run_dir, 3).run()  # a resumed run rebuilds it as it goes
    assert _canonical(read_generation_log(run_dir)) == _canonical(original)


def _canonical(records):
    return sorted(json.dumps(r, sort_keys=True) for r in records)


def test_deleted_generation_records_are_rebuilt_or_listed_as_lost(tmp_path, caplog):
    run_dir = str(tmp_path / "pbt")
    _finished_toy(run_dir, 3).run()
    log = os.path.join(run_dir, paths.GENERATIONS_FILE)
    original = read_generation_log(run_dir)
    with open(log, "w", encoding="utf-8") as f:  # every line but the first deleted
        f.write(json.dumps(original[0]) + "\n")
    shutil.rmtree(paths.checkpoint_generation_dir(run_dir, 0))  # as pbt.keep_generations does in longer runs
    _finished_toy(run_dir, 3).run()
    repaired = read_generation_log(run_dir)
    lost_file = os.path.join(run_dir, generation_log.LOST_RECORDS_FILE)
    lost = read_json(lost_file)["lost"] if os.path.exists(lost_file) else []
    assert len(repaired) + len(lost) == 18 and _canonical(repaired) == _canonical(
        [r for r in original if [r["generation"], r["member_id"]] not in lost])
    assert sorted(lost) == sorted([0, r["member_id"]] for r in original[1:] if r["generation"] == 0)  # deleted
    assert "cannot be rebuilt" in caplog.text and lost_file in caplog.text


def test_a_damaged_pbt_config_stops_the_run_with_one_line_and_a_damaged_population_is_rebuilt(tmp_path, caplog):
    run_dir = str(tmp_path / "pbt")
    _finished_toy(run_dir, 2).run()
    config = os.path.join(run_dir, paths.PBT_CONFIG_FILE)
    good = open(config, "rb").read()
    open(config, "wb").write(good[: len(good) // 2])
    with pytest.raises(DamagedFileError, match=rf"{config}: not valid JSON"):
        _finished_toy(run_dir, 3).run()
    open(config, "wb").write(good)
    os.remove(os.path.join(run_dir, paths.PBT_RESULT_FILE))  # as if stopped in its last generation
    with open(paths.population_file(run_dir, 1), "w") as f:
        f.write("{")
    result = _finished_toy(run_dir, 2).run()  # falls back to the population before and goes on
    assert result.generations == 2
    assert "unreadable" in caplog.text
    assert [r["generation"] for r in read_generation_log(run_dir)].count(1) == 6
