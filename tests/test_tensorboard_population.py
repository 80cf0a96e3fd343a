"""TensorBoard shows the population: event files written by the runs, read back by a real
TensorBoard server on 127.0.0.1 through its HTTP API (scalars, text, images, hparams)."""

import contextlib
import json
import os
import re
import subprocess
import sys
import threading
import urllib.parse
import urllib.request

import numpy as np
import pytest

from rpu_tf.pbt import read_generation_log

pytest.importorskip("tensorboard")
pytestmark = pytest.mark.usefixtures("clean_gin")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ALL_STATUSES = ["STATUS_UNKNOWN", "STATUS_SUCCESS", "STATUS_FAILURE", "STATUS_RUNNING"]


@contextlib.contextmanager
def tensorboard(logdir: str, timeout: float = 120.0):
    """``tensorboard --logdir LOGDIR --host 127.0.0.1 --port 0`` as a subprocess that loads
    everything before it serves; yields ``query(path, body=None)`` (a JSON body is POSTed)."""
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    process = subprocess.Popen(
        [sys.executable, "-m", "tensorboard.main", "--logdir", logdir, "--host", "127.0.0.1", "--port", "0",
         "--load_fast", "false", "--reload_task", "blocking", "--reload_interval", "0"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)
    try:
        url, seen = None, []
        for line in process.stderr:  # "TensorBoard 2.x at http://127.0.0.1:PORT/ (Press CTRL+C to quit)"
            seen.append(line)
            match = re.search(r"(http://127\.0\.0\.1:\d+/)", line)
            if match:
                url = match.group(1)
                break
        assert url, "TensorBoard did not start:\n" + "".join(seen[-20:])
        threading.Thread(target=process.stderr.read, daemon=True).start()  # a full pipe would stall it

        def query(path: str, body=None):
            data = None if body is None else json.dumps(body).encode()
            request = urllib.request.Request(url + path, data=data, headers={"Content-Type": "application/json"})
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return json.load(response)

        yield query
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def scalars(query, run: str, tag: str) -> list[tuple[int, float]]:
    """``[(step, value), ...]`` of one curve."""
    arguments = urllib.parse.urlencode({"run": run, "tag": tag})
    return [(int(step), float(value)) for _, step, value in query(f"data/plugin/scalars/scalars?{arguments}")]


def session_groups(query) -> dict[str, dict]:
    """``{session (run) name: {"hparams": ..., "metrics": {tag: value}}}`` of the HPARAMS tab."""
    answer = query("data/plugin/hparams/session_groups", {"experimentName": "", "allowedStatuses": ALL_STATUSES,
                                                          "startIndex": 0, "sliceSize": 1000})
    out = {}
    for group in answer.get("sessionGroups", []):
        for session in group["sessions"]:
            out[session["name"]] = {"hparams": group["hparams"], "metrics": {
                m["name"]["tag"]: m["value"] for m in session.get("metricValues", []) if not m["name"]["group"]}}
    return out


def test_a_session_start_reads_back_as_tensorboards_own():
    from tensorboard.plugins.hparams import metadata, summary_v2

    from rpu_tf.training.hparams_summary import session_start_content

    hparams = {"beta": 4.8, "batch_size": 64, "scorer": "UDRScore", "learning_rate": np.float32(1e-3), "warm": True}
    ours = metadata.parse_session_start_info_plugin_data(session_start_content(hparams, "group a", 12.5))
    theirs = metadata.parse_session_start_info_plugin_data(
        summary_v2.hparams_pb(hparams, trial_id="group a", start_time_secs=12.5).value[0].metadata.plugin_data.content)
    assert ours == theirs
    assert ours.hparams["scorer"].string_value == "UDRScore" and ours.hparams["batch_size"].number_value == 64.0


def test_a_resumed_run_continues_each_members_curve_at_its_own_step_count(tmp_path):
    """The board of a run resumed in generation 2 counts each member's steps from the log
    (not the donor's): member 1 trained 6 + 3 steps, then copies member 0 (which trained 12)."""
    from rpu_tf.pbt.trainable import MemberResult
    from rpu_tf.rpu.population_board import PopulationBoard
    from rpu_tf.training.summaries import read_scalars

    pbt_dir = tmp_path / "pbt"
    pbt_dir.mkdir()
    log = [{"generation": g, "member_id": m, "num_steps": n, "score": score, "parent": None,
            "hyperparameters": {"beta": 1.0}} for g, m, n, score in [(0, 0, 6, 0.5), (0, 1, 6, 0.2),
                                                                      (1, 0, 6, 0.6), (1, 1, 3, 0.1)]]
    (pbt_dir / "generations.jsonl").write_text("".join(json.dumps(r) + "\n" for r in log))
    board = PopulationBoard(str(tmp_path / "tensorboard"), str(pbt_dir))
    result = MemberResult(1, 2, None, 0.3, {}, {}, None, 1.0, 4, curve=[(1, {"loss": 5.0}), (4, {"loss": 4.0})])
    board.on_member_step(result, {"id": 1, "parent": 0, "hyperparameters": {"beta": 2.0, "batch_size": 32}})
    board.close()
    curves = read_scalars(str(tmp_path / "tensorboard" / "member_0001"))
    assert curves["steps/loss"] == [(10, 5.0), (13, 4.0)] and curves["pbt/copied_member"] == [(9, 0.0)]


def check_rpu_vae_board(run_dir: str) -> None:
    """What TensorBoard shows of a finished rPU-VAE run (the Done-when of issue 30, item 4):
    per-member step curves (more points than generations, continued at the member's own step
    count after exploit), an hparams session per PBT member of every stage, and each
    metaEpoch's traversals and reconstructions. tests/test_rpu_recursive.py calls it on its
    tiny run (one rPU-VAE run fewer in the suite)."""
    manifest = json.load(open(os.path.join(run_dir, "manifest.json")))
    folders = {name: os.path.join("stages", name) for name in manifest["stages"]}
    folders["final"] = "."
    logs = {stage: read_generation_log(os.path.join(run_dir, folder, "pbt")) for stage, folder in folders.items()}
    members = {(stage, m): os.path.normpath(os.path.join(folders[stage], "tensorboard", f"member_{m:04d}"))
               for stage, log in logs.items() for m in {r["member_id"] for r in log}}
    with tensorboard(run_dir) as query:
        tags = query("data/plugin/scalars/tags")
        curves = {key: scalars(query, run, "steps/loss") for key, run in members.items()}
        sessions = session_groups(query)
        images = query("data/plugin/images/tags")
        texts = query("data/plugin/text/tags")
    assert len(sessions) == len(members)  # one session per member of every population, nothing else
    exploits = 0
    for (stage, member), run in members.items():
        own = [r for r in logs[stage] if r["member_id"] == member]
        generations = 1 + max(r["generation"] for r in logs[stage])
        assert {"steps/loss", "steps/reconstruction_loss", "steps/kl_loss", "score"} <= set(tags[run]), run
        assert len(curves[stage, member]) > generations
        assert curves[stage, member][-1][0] == sum(r["num_steps"] for r in own)
        session = sessions[run]  # the member's last hyperparameters against its score
        assert session["hparams"]["learning_rate"] == pytest.approx(own[-1]["hyperparameters"]["learning_rate"])
        assert session["hparams"]["batch_size"] == own[-1]["hyperparameters"]["batch_size"]
        assert session["hparams"]["stage"] == stage
        assert session["metrics"]["score"] == pytest.approx(own[-1]["score"], rel=1e-6)
        if any(r["parent"] is not None for r in own):
            exploits += 1
            assert "pbt/copied_member" in tags[run] and "pbt/exploit" in texts[run]
    assert exploits >= len(folders)  # populations of 2: one member copies the other in every stage
    for stage in manifest["stages"]:
        figures = images[os.path.join("stages", stage, "tensorboard", "figures")]
        assert {"traversals", "reconstructions"} <= set(figures), stage


@pytest.mark.slow
def test_a_member_curve_has_a_single_models_resolution_and_continues_at_its_own_step_count(tmp_path):
    """A tiny PBT-VAE of 3 members, two trained together in one joint step and one alone:
    each member's steps/loss has more points than generations, at steps up to its own total,
    each generation's training from its first step on, whoever it copied."""
    from rpu_tf.pipelines.pbt_vae import pbt_vae_with_gin

    from test_pbt_members_together import SMALL, TINY  # one batch size: members go together

    run_dir = str(tmp_path / "pbt_run")
    pbt_vae_with_gin(run_dir, False, [SMALL],
                     TINY + ["training.progress = False", "local_executor.members_together = 2"])
    log = read_generation_log(os.path.join(run_dir, "pbt"))
    with tensorboard(run_dir) as query:
        curves = {m: scalars(query, f"tensorboard/member_{m:04d}", "steps/loss") for m in {r["member_id"] for r in log}}
        exploit = {m: scalars(query, f"tensorboard/member_{m:04d}", "pbt/copied_member")
                   for m in {r["member_id"] for r in log if r["parent"] is not None}}
        sessions = session_groups(query)
    generations = 1 + max(r["generation"] for r in log)
    for member, curve in curves.items():
        own = [r for r in log if r["member_id"] == member]
        steps = [step for step, _ in curve]
        assert len(steps) > generations and all(np.isfinite(v) for _, v in curve)
        assert steps == sorted(set(steps)) and steps[-1] == sum(r["num_steps"] for r in own)
        for record in own:  # every generation's training has its points, the first at its first step
            start = sum(r["num_steps"] for r in own if r["generation"] < record["generation"])
            assert start + 1 in steps and start + record["num_steps"] in steps
    for member, marks in exploit.items():
        own = [r for r in log if r["member_id"] == member]
        for record in (r for r in own if r["parent"] is not None):
            start = sum(r["num_steps"] for r in own if r["generation"] < record["generation"])
            assert (start, float(record["parent"])) in marks
    assert {name for name in sessions} == {f"tensorboard/member_{m:04d}" for m in curves}
    assert all(s["hparams"]["scorer"] == "MIGScore" for s in sessions.values())


@pytest.mark.slow
def test_models_trained_together_each_show_their_own_losses(tmp_path, caplog):
    from rpu_tf.pipelines.train_together import train_together_with_gin

    from test_training_together import CONFIG, TINY

    dirs = [str(tmp_path / name) for name in ("b1", "b8")]
    bindings = [TINY + ["beta_tc_vae.beta = 1.", "model.random_seed = 3"],
                TINY + ["beta_tc_vae.beta = 8.", "model.random_seed = 3"]]
    with caplog.at_level("INFO", logger="rpu_tf.training.train"):
        train_together_with_gin(dirs, False, CONFIG, bindings)
    with tensorboard(str(tmp_path)) as query:
        tags = query("data/plugin/scalars/tags")
        regularizers = {run: scalars(query, run, "train/regularizer") for run in ("b1/tensorboard", "b8/tensorboard")}
        betas = {run: scalars(query, run, "hyperparameters/beta") for run in regularizers}
    assert {"b1/tensorboard", "b8/tensorboard"} <= set(tags)
    assert betas == {"b1/tensorboard": [(0, 1.0)], "b8/tensorboard": [(0, 8.0)]}
    # The same seed, so the same start: the β-weighted terms differ by the model's β alone.
    assert [s for s, _ in regularizers["b1/tensorboard"]] == [1, 2, 3, 4]
    assert regularizers["b1/tensorboard"] != regularizers["b8/tensorboard"]
    lines = [r.getMessage() for r in caplog.records if "per run" in r.getMessage()]
    assert lines and all(dirs[0] in line and dirs[1] in line for line in lines)


def test_a_study_report_has_a_session_per_run(tmp_path):
    from rpu_tf.results.scores import Score
    from rpu_tf.studies import Method, Study
    from rpu_tf.studies.board import write_study_board
    from rpu_tf.studies.report import RunResult

    single = Method("b1", configs=("quickstart_single_model.gin",),
                    bindings=("beta_tc_vae.beta = 1.", "model.name = 'b'"), seed_binding="model.random_seed = {seed}")
    rpu = Method("rPU-VAE", kind="rpu_vae", configs=("quickstart.gin",), seed_binding="rpu_vae.seed = {seed}",
                 leaf_runs=(0, 1))
    study = Study("tiny", (0, 1), (single, rpu), ("mig",))

    def result(name, seed, mig, leaf_runs=None):
        return RunResult(name, name, seed, f"runs/{name}/seed{seed}", 1000, 10.0, leaf_runs,
                         (Score("sprites", name, "mig", mig), Score("sprites", name, "dci", mig / 2)))

    results = [result("b1", 0, 0.2), result("b1", 1, 0.3), result("rPU-VAE", 0, 0.5, 1)]
    logdir = write_study_board(study, results, str(tmp_path / "report"))
    write_study_board(study, results, str(tmp_path / "report"))  # a second report replaces the first
    with tensorboard(logdir) as query:
        sessions = session_groups(query)
    assert set(sessions) == {"b1/seed0", "b1/seed1", "rpu_vae/seed0"}
    assert sessions["b1/seed1"]["hparams"] == {"method": "b1", "group": "b1", "seed": 1.0, "beta_tc_vae.beta": 1.0,
                                               "model.name": "b"}
    assert sessions["b1/seed1"]["metrics"]["mig"] == pytest.approx(0.3)
    assert sessions["rpu_vae/seed0"]["hparams"]["leaf_runs"] == 1.0
    assert sessions["rpu_vae/seed0"]["metrics"]["dci"] == pytest.approx(0.25)
