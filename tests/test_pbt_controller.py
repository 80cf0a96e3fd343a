"""The generic PBT controller with a cheap member."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from rpu_tf.pbt import (
    ConfigMismatchError,
    Hyperparameter,
    HyperparameterSpace,
    StoppingRule,
    choice_init,
    load_state,
    read_generation_log,
    truncation_plan,
)
from tests.helpers.pbt_toy import make_pbt, toy_space

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _log_without_wall_time(run_dir):
    return [{k: v for k, v in r.items() if k != "wall_time"} for r in read_generation_log(run_dir)]


def test_exploit_copies_state_and_hyperparameters_then_explores(tmp_path):
    pbt = make_pbt(str(tmp_path), stopping=StoppingRule(max_generations=3))
    pbt.run()
    log = read_generation_log(str(tmp_path))
    for gen in (1, 2):
        pop = json.load(open(tmp_path / "population" / f"gen_{gen:05d}.json"))
        prev = {r["member_id"]: r for r in log if r["generation"] == gen - 1}
        copied = [m for m in pop["members"] if m["parent"] is not None]
        assert len(copied) >= 2  # ceil(0.2 * 6) = 2 copy each generation
        scores = sorted((r["score"] for r in prev.values() if r["score"] is not None), reverse=True)
        for m in copied:
            donor = prev[m["parent"]]
            # Donor is in the top ceil(0.2 N); the copier was in the bottom or failed.
            assert donor["score"] >= scores[1]
            assert prev[m["id"]]["score"] is None or prev[m["id"]]["score"] <= scores[-2]
            # State: exactly the donor's checkpoint of the generation before.
            assert m["start_checkpoint"].endswith(f"gen_{gen - 1:05d}/member_{m['parent']:04d}.npz")
            # Hyperparameters: the donor's times one of the perturbation factors, in bounds.
            for name, h in zip(("learning_rate", "beta", "batch_size"), toy_space().hyperparameters):
                new, old = m["hyperparameters"][name], donor["hyperparameters"][name]
                candidates = [h.clip(old * f) for f in (2.0, 1.2, 0.8, 0.5)]
                assert new in candidates and h.low <= new <= h.high
        # Members that did not copy continue from their own state with their hyperparameters.
        for m in pop["members"]:
            if m["parent"] is None:
                assert m["hyperparameters"] == prev[m["id"]]["hyperparameters"]
    # Records carry the lineage, the scores and the step counts.
    assert {r["parent"] for r in log if r["generation"] > 0} - {None}
    assert all(r["total_steps"] == 5 * (r["generation"] + 1) for r in log if r["failed"] is None)


def test_exploited_state_is_loaded_bit_for_bit(tmp_path):
    pbt = make_pbt(str(tmp_path), stopping=StoppingRule(max_generations=2))
    pbt.run()
    pop = json.load(open(tmp_path / "population" / "gen_00001.json"))
    m = next(m for m in pop["members"] if m["parent"] is not None)
    donor_state = load_state(pbt.checkpoint_path(0, m["parent"]))
    from rpu_tf.pbt import MemberTask

    task = MemberTask(m["id"], 1, m["hyperparameters"], 5, 0)
    loaded = pbt._load_start_state(task, pop)
    np.testing.assert_array_equal(loaded["params"]["w"], donor_state["params"]["w"])
    np.testing.assert_array_equal(loaded["opt"]["m"], donor_state["opt"]["m"])
    assert int(loaded["opt"]["steps"]) == 5


def test_failed_member_ranks_last_and_is_replaced(tmp_path, caplog):
    # Learning rate 0.95 diverges (FloatingPointError); force one such member.
    space = HyperparameterSpace([
        Hyperparameter("learning_rate", choice_init([0.95]), 1e-4, 0.95),
        Hyperparameter("beta", choice_init([1.0]), 1.0, 16.0),
        Hyperparameter("batch_size", choice_init([32]), 8, 1024, integer=True),
    ])
    pbt = make_pbt(str(tmp_path), stopping=StoppingRule(max_generations=2))
    pbt.space = toy_space()
    # Member 0 gets the diverging learning rate, the others a good one.
    init = pbt._initial_population()
    init["members"][0]["hyperparameters"] = space.sample(np.random.RandomState(0))
    for m in init["members"][1:]:
        m["hyperparameters"]["learning_rate"] = 0.1
    pbt._initial_population = lambda: init
    with caplog.at_level("WARNING"):
        pbt.run()
    log = read_generation_log(str(tmp_path))
    first = {r["member_id"]: r for r in log if r["generation"] == 0}
    assert first[0]["failed"].startswith("FloatingPointError") and first[0]["score"] is None
    second = {r["member_id"]: r for r in log if r["generation"] == 1}
    assert second[0]["parent"] is not None and second[0]["failed"] is None
    assert "member 0 failed in generation 0" in caplog.text


def test_larger_first_generation_is_cut_to_the_best(tmp_path):
    pbt = make_pbt(str(tmp_path), initial_population_factor=2, stopping=StoppingRule(max_generations=2))
    pbt.run()
    log = read_generation_log(str(tmp_path))
    first = [r for r in log if r["generation"] == 0]
    second = [r for r in log if r["generation"] == 1]
    assert len(first) == 12 and len(second) == 6
    kept = {r["member_id"] for r in first if r["kept"]}
    assert kept == {r["member_id"] for r in second}
    worst_kept = min(r["score"] for r in first if r["kept"])
    assert all(r["score"] is None or r["score"] <= worst_kept for r in first if not r["kept"])


def test_result_names_the_best_member_and_resume_is_a_no_op(tmp_path):
    pbt = make_pbt(str(tmp_path))
    result = pbt.run()
    log = read_generation_log(str(tmp_path))
    last = [r for r in log if r["generation"] == result.generations - 1]
    assert result.best_score == max(r["score"] for r in last if r["score"] is not None)
    assert os.path.exists(result.best_checkpoint)
    assert result.stop_reason in ("max_generations", "converged")
    again = make_pbt(str(tmp_path)).run()
    assert again == result


def test_a_moved_or_copied_run_reads_its_own_checkpoint(tmp_path):
    import shutil

    original = tmp_path / "original"
    result = make_pbt(str(original)).run()
    stored = json.load(open(original / "result.json"))
    assert not os.path.isabs(stored["best_checkpoint"])  # relative to the run directory
    copy, moved = tmp_path / "copy", tmp_path / "moved"
    shutil.copytree(original, copy)
    again = make_pbt(str(copy)).run()
    assert again.best_checkpoint == os.path.join(str(copy), stored["best_checkpoint"])
    assert np.array_equal(again.load_best_state()["params"]["w"], result.load_best_state()["params"]["w"])
    shutil.move(str(original), str(moved))  # the original is gone: the copy still loads
    assert make_pbt(str(copy)).run().load_best_state() is not None
    assert make_pbt(str(moved)).run().best_checkpoint.startswith(str(moved))
    # A result.json of an older rpu_tf (absolute path of the original) is read inside the copy.
    stored["best_checkpoint"] = os.path.join(str(original), stored["best_checkpoint"])
    json.dump(stored, open(copy / "result.json", "w"))
    assert make_pbt(str(copy)).run().best_checkpoint.startswith(str(copy))


def test_same_seed_same_log_and_other_seed_differs(tmp_path):
    make_pbt(str(tmp_path / "a")).run()
    make_pbt(str(tmp_path / "b")).run()
    make_pbt(str(tmp_path / "c"), seed=4).run()
    assert _log_without_wall_time(tmp_path / "a") == _log_without_wall_time(tmp_path / "b")
    assert _log_without_wall_time(tmp_path / "a") != _log_without_wall_time(tmp_path / "c")


#: Where the process dies on each restart: its n-th member step, or its n-th atomic file
#: replace (temp file written, rename not yet done), counted from that restart.
KILL_POINTS = [("train", 2), ("write", 3), ("train", 5), ("write", 1), ("write", 7), ("train", 1)]


def test_killed_at_fixed_points_then_resumed_gives_the_same_log(tmp_path):
    reference = tmp_path / "ref"
    make_pbt(str(reference)).run()
    run_dir = tmp_path / "killed"
    env = dict(os.environ, PYTHONPATH=ROOT)
    cmd = [sys.executable, os.path.join(ROOT, "tests", "helpers", "pbt_toy.py"), str(run_dir)]
    progress = []
    for kind, count in KILL_POINTS:
        killed = subprocess.run(cmd + [kind, str(count)], env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        assert killed.returncode == 137, (kind, count)
        progress.append(len(read_generation_log(run_dir)) if (run_dir / "generations.jsonl").exists() else 0)
    assert progress[-1] > progress[0]  # each restart resumed and went further
    subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    assert _log_without_wall_time(run_dir) == _log_without_wall_time(reference)
    assert json.load(open(run_dir / "result.json"))["best_score"] == json.load(open(reference / "result.json"))[
        "best_score"]


def test_corrupted_checkpoint_is_recomputed_from_the_generation_before(tmp_path, caplog):
    import shutil

    stop = StoppingRule(max_generations=3)
    reference = tmp_path / "ref"
    make_pbt(str(reference), stopping=stop).run()
    run_dir = tmp_path / "run"
    make_pbt(str(run_dir), stopping=stop).run()
    # Roll the run back to the start of generation 2 (as if killed there) and break a
    # checkpoint that generation 2 starts from.
    os.remove(run_dir / "result.json")
    for g in range(3, 7):
        if (run_dir / "population" / f"gen_{g:05d}.json").exists():
            os.remove(run_dir / "population" / f"gen_{g:05d}.json")
        shutil.rmtree(run_dir / "checkpoints" / f"gen_{g - 1:05d}", ignore_errors=True)
    start = json.load(open(run_dir / "population" / "gen_00002.json"))["members"][0]["start_checkpoint"]
    (run_dir / start).write_bytes(b"garbage")
    with caplog.at_level("WARNING"):
        make_pbt(str(run_dir), stopping=stop).run()
    assert "cannot be read" in caplog.text and "recomputing" in caplog.text
    assert _log_without_wall_time(run_dir) == _log_without_wall_time(reference)


def test_a_corrupt_best_checkpoint_of_a_finished_run_is_recomputed(tmp_path, caplog):
    stop = StoppingRule(max_generations=3)
    reference = make_pbt(str(tmp_path / "ref"), stopping=stop).run()
    run_dir = tmp_path / "run"
    first = make_pbt(str(run_dir), stopping=stop).run()
    with open(first.best_checkpoint, "r+b") as f:
        f.write(b"garbage")
    with caplog.at_level("WARNING"):
        again = make_pbt(str(run_dir), stopping=stop).run()
    assert "recomputing the best member's checkpoint" in caplog.text
    assert again.best_score == reference.best_score
    for key, value in again.load_best_state()["params"].items():
        np.testing.assert_array_equal(value, reference.load_best_state()["params"][key])


def test_resume_with_other_settings_is_refused_with_the_difference(tmp_path):
    make_pbt(str(tmp_path), stopping=StoppingRule(max_generations=1)).run()
    with pytest.raises(ConfigMismatchError) as err:
        make_pbt(str(tmp_path), cutoff=0.5, stopping=StoppingRule(max_generations=1)).run()
    assert "cutoff: stored 0.2, given 0.5" in str(err.value) and "--overwrite" in str(err.value)


def test_truncation_plan_ranks_nan_last():
    plan = truncation_plan([0, 1, 2, 3, 4], [0.5, float("nan"), 0.9, 0.1, 0.7], 0.2,
                           np.random.RandomState(0))
    assert plan == {1: 2}  # ceil(0.2*5)=1: the NaN member is the worst and copies the best
    plan = truncation_plan(list(range(10)), [float(i) for i in range(10)], 0.2, np.random.RandomState(0))
    assert set(plan) == {0, 1} and set(plan.values()) <= {8, 9}


def test_explore_stays_in_bounds_and_integers_stay_integers():
    space = toy_space()
    rs = np.random.RandomState(0)
    values = {"learning_rate": 0.9, "beta": 15.0, "batch_size": 1000}
    for _ in range(300):
        values = space.perturb(values, rs, resample_probability=0.1)
        assert 1e-4 <= values["learning_rate"] <= 0.95 and 1.0 <= values["beta"] <= 16.0
        assert isinstance(values["batch_size"], int) and 8 <= values["batch_size"] <= 1024


def test_stopping_rule():
    rule = StoppingRule(max_generations=20, convergence_window=3, convergence_tolerance=0.01)
    assert rule.check([0.1, 0.2, 0.3]) is None
    assert rule.check([0.1, 0.5, 0.501, 0.502, 0.503]) == "converged"
    assert rule.check([0.5, 0.501, 0.502, 0.52]) is None
    low = StoppingRule(min_score=0.3, min_score_generation=2)
    assert low.check([0.1]) is None and low.check([0.1, 0.2]) == "below_min_score"
    assert StoppingRule(max_generations=2).check([0.1, 0.9]) == "max_generations"


@pytest.mark.parametrize("kwargs, match", [
    ({"population_size": 1}, "population_size"),
    ({"cutoff": 0.0}, "cutoff"),
    ({"cutoff": 0.6}, "cutoff"),
    ({"perturb_factors": ()}, "perturb_factors"),
    ({"budget_unit": "epochs"}, "budget_unit"),
])
def test_bad_controller_settings(tmp_path, kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_pbt(str(tmp_path), **kwargs)


def test_bad_hyperparameters():
    with pytest.raises(ValueError, match="init function"):
        Hyperparameter("lr", None, 0.0, 1.0)
    with pytest.raises(ValueError, match="finite bounds"):
        Hyperparameter("lr", choice_init([0.1]), None, 1.0)
    with pytest.raises(ValueError, match="perturb_factors is empty"):
        toy_space().perturb({"learning_rate": 0.1, "beta": 1.0, "batch_size": 8}, np.random.RandomState(0), ())


def test_atomic_writes_get_the_usual_permissions(tmp_path):
    from rpu_tf.utils.files import atomic_write_bytes, atomic_write_dir

    old = os.umask(0o022)
    try:
        atomic_write_bytes(str(tmp_path / "f.json"), b"{}")
        atomic_write_dir(str(tmp_path / "d"), lambda d: open(os.path.join(d, "x"), "w").close())
    finally:
        os.umask(old)
    assert (tmp_path / "f.json").stat().st_mode & 0o777 == 0o644
    assert (tmp_path / "d").stat().st_mode & 0o777 == 0o755
