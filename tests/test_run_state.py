"""What a run directory holds (rpu_tf.layout.run_state): kind, status, precision, images, stages.

The run directories are written by the library's own writers (claims and checkpoints of a
single model, a toy PBT run, an rPU-VAE journal), without training a VAE.
"""

import json
import os

import numpy as np
import pytest

from rpu_tf.layout import paths, run_state
from rpu_tf.layout.pbt_files import read_generation_log
from rpu_tf.layout.results import update_result_directory
from rpu_tf.layout.run_state import UnsupportedRunError
from rpu_tf.pbt import StoppingRule
from tests.helpers.pbt_toy import make_pbt


def _finish_single_model(run_dir, results):
    """What a finished single model leaves: its SavedModel folder and its train results."""
    model = os.path.join(run_dir, paths.MODEL_DIR)
    os.makedirs(os.path.join(model, paths.SAVED_MODEL_DIR))
    update_result_directory(paths.results_dir(model), "train", dict(results), gin_text="model.training_steps = 4\n")


def test_a_single_model_run_from_claim_to_finish(tmp_path):
    from rpu_tf.training import checkpoints
    from rpu_tf.training.replica_group import ReplicaGroup
    from tests.helpers.training_helpers import BlobData, fc_model

    run = str(tmp_path / "run")
    assert run_state.single_model_status(run) == run_state.FRESH and run_state.run_kind(run) is None
    checkpoints.claim(run, "model.training_steps = 4\n")
    assert run_state.single_model_status(run) == run_state.UNFINISHED
    assert run_state.run_kind(run) == run_state.SINGLE_MODEL
    assert run_state.is_resumable(run) and not run_state.is_finished(run)
    assert run_state.trained_precision(run) is None and not run_state.training_begun(run)  # no state yet
    checkpoints.save(ReplicaGroup(fc_model(), BlobData(), num_replicas=1, batch_size=8), [run])
    assert run_state.training_begun(run)
    assert run_state.trained_precision(run) == "float32"  # the state's config says
    assert run_state.training_images(run) == 0  # a stopped single model: counted once it finishes
    _finish_single_model(run, {"precision": "mixed_bfloat16", "training_images": 32})
    assert run_state.trained_precision(run) == "mixed_bfloat16"  # the train results come first
    checkpoints.release(run)
    assert run_state.single_model_status(run) == run_state.FINISHED
    assert run_state.run_kind(run) == run_state.SINGLE_MODEL
    assert run_state.is_finished(run) and not run_state.is_resumable(run)
    assert run_state.training_images(run) == 32
    assert run_state.trained_precision(run) == "mixed_bfloat16"


def test_what_is_no_single_model_run(tmp_path):
    killed = tmp_path / "killed_while_claiming"
    (killed / paths.TRAINING_CHECKPOINT_DIR).mkdir(parents=True)
    assert run_state.single_model_status(str(killed)) == run_state.FRESH
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    model_only = tmp_path / "model_only"  # a model/ folder without claim or results
    (model_only / paths.MODEL_DIR).mkdir(parents=True)
    for folder in (foreign, model_only):
        assert run_state.single_model_status(str(folder)) == run_state.FOREIGN
        assert run_state.run_kind(str(folder)) is None and not run_state.is_resumable(str(folder))


def test_a_pbt_run_is_resumable_and_counts_every_members_images(tmp_path):
    run = str(tmp_path / "run")
    pbt_dir = os.path.join(run, paths.PBT_DIR)
    make_pbt(pbt_dir, population_size=2, generation_budget=4, stopping=StoppingRule(max_generations=2)).run()
    assert run_state.run_kind(run) == run_state.PBT_VAE and run_state.is_resumable(run)
    assert run_state.is_pbt_finished(pbt_dir) and not run_state.is_finished(run)  # nothing exported
    images = sum(r["num_steps"] * r["hyperparameters"]["batch_size"] for r in read_generation_log(pbt_dir))
    assert images > 0
    assert run_state.pbt_training_images(pbt_dir) == images  # one replica per member (no num_replicas)
    assert run_state.run_training_images(run) == {"pbt": images, "total": images}
    assert run_state.training_images(run) == images


def _pbt(folder, replicas, records):
    os.makedirs(folder)
    with open(os.path.join(folder, "pbt_config.json"), "w") as f:
        json.dump({"fingerprint": {"num_replicas": replicas}}, f)
    with open(os.path.join(folder, "generations.jsonl"), "w") as f:
        for steps, batch in records:
            f.write(json.dumps({"num_steps": steps, "hyperparameters": {"batch_size": batch}}) + "\n")


def test_every_replica_and_member_counts_at_its_own_batch_size(tmp_path):
    run = str(tmp_path)
    _pbt(os.path.join(run, "stages", "initial", "pbt"), 3, [(250, 64), (250, 32), (100, 64)])
    _pbt(os.path.join(run, "stages", "leaf1_meta1", "pbt"), 2, [(10, 8)])
    _pbt(os.path.join(run, "pbt"), 1, [(50, 64)])
    parts = run_state.run_training_images(run)
    assert parts == {"initial": 3 * (250 * 64 + 250 * 32 + 100 * 64), "leaf1_meta1": 2 * 80,
                     "final": 3200, "total": 3 * 30400 + 160 + 3200}


def test_a_single_pbt_run_and_an_untrained_one(tmp_path):
    _pbt(str(tmp_path / "pbt"), 5, [(4, 16)])
    assert run_state.run_training_images(str(tmp_path)) == {"pbt": 320, "total": 320}
    assert run_state.pbt_training_images(str(tmp_path / "missing")) == 0


def _member_state(pbt_dir: str, generation: int, member: int, precision=None, corrupt: bool = False) -> str:
    path = paths.checkpoint_file(pbt_dir, generation, member)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    if corrupt:  # a checkpoint cut off mid-write
        with open(path, "wb") as f:
            f.write(b"PK\x03\x04 not a whole zip")
        return path
    model_config = {"num_latent": 10} if precision is None else {"num_latent": 10, "precision": precision}
    np.savez(path, config=np.asarray(json.dumps({"format": 1, "model_config": model_config})))
    return path


def test_pbt_precision_reads_the_newest_readable_checkpoint(tmp_path):
    pbt_dir = str(tmp_path / "pbt")
    assert run_state.pbt_precision(pbt_dir) is None  # nothing trained
    _member_state(pbt_dir, 9, 0, "float32")
    assert run_state.pbt_precision(pbt_dir) == "float32"
    # generation 10 is newer than 9 (numbers, not names, are compared)
    _member_state(pbt_dir, 10, 0, "mixed_bfloat16")
    assert run_state.pbt_precision(pbt_dir) == "mixed_bfloat16"
    # a corrupt newest checkpoint is skipped: the next readable one still tells
    _member_state(pbt_dir, 11, 0, corrupt=True)
    assert run_state.pbt_precision(pbt_dir) == "mixed_bfloat16"
    _member_state(pbt_dir, 10, 1, corrupt=True)
    assert run_state.pbt_precision(pbt_dir) == "mixed_bfloat16"  # member 0 of generation 10 is readable
    assert run_state.trained_precision(str(tmp_path)) == "mixed_bfloat16"  # the run's own PBT says


def test_trained_precision_prefers_the_run_records_over_checkpoints(tmp_path):
    run_dir = str(tmp_path / "run")
    os.makedirs(run_dir)
    assert run_state.trained_precision(run_dir) is None
    with open(os.path.join(run_dir, paths.MANIFEST_FILE), "w") as f:
        json.dump({"precision": "float32"}, f)
    assert run_state.trained_precision(run_dir) == "float32"
    results = paths.train_results_file(run_dir)
    os.makedirs(os.path.dirname(results), exist_ok=True)
    with open(results, "w") as f:
        json.dump({"precision": "mixed_bfloat16"}, f)
    assert run_state.trained_precision(run_dir) == "mixed_bfloat16"  # the train results come first


def _stage(name, leaf_run):
    from rpu_tf.layout.rpu_files import StageRecord
    from rpu_tf.rpu.algorithm import StageOutcome

    record = StageRecord(name=name, leaf_run=leaf_run, meta_epoch=0 if leaf_run is None else 1, dataset_size=4,
                         best_score=0.5, generations=1, stop_reason="max_generations", active_latents=[0],
                         kl=[1.0, 0.0], kept_size=2, end_reason=None)
    return StageOutcome(record, np.arange(4), np.zeros((4, 1)), np.array([0, 1]))


def test_an_rpu_vae_run_its_stages_precision_and_a_copy_of_its_first_stages(tmp_path):
    from rpu_tf.rpu.journal import StageJournal

    run, copy = str(tmp_path / "run"), str(tmp_path / "copy")
    journal = StageJournal(run)  # marks the folder as an rPU-VAE run
    assert run_state.run_kind(run) == run_state.RPU_VAE and run_state.is_resumable(run)
    assert run_state.stages_done(run) == [] and not run_state.training_begun(run)
    journal.check_precision("float32")
    assert run_state.trained_precision(run) == "float32"  # recorded before the first stage trains
    journal.save(_stage("initial", None))
    journal.save(_stage("leaf1_meta1", 1))
    assert run_state.stages_done(run) == ["initial", "leaf1_meta1"] and run_state.training_begun(run)
    journal.save_final({"best_score": 0.5})
    assert not run_state.is_finished(run)  # no model, no summary yet

    run_state.copy_stages(run, copy, leaf_runs=0)
    assert run_state.run_kind(copy) == run_state.RPU_VAE
    assert run_state.stages_done(copy) == ["initial"] and os.listdir(os.path.join(copy, "stages")) == ["initial"]
    assert run_state.trained_precision(copy) == "float32"  # the record travels with the stages
    manifest = json.load(open(os.path.join(copy, paths.MANIFEST_FILE)))
    assert manifest["final"] is None and manifest["leaf_runs"] == []
    with open(paths.stage_labels_file(run, "initial"), "rb") as a, open(paths.stage_labels_file(copy, "initial"),
                                                                         "rb") as b:
        assert a.read() == b.read()
    run_state.copy_stages(run, copy, leaf_runs=1)  # a run with a manifest is left as it is
    assert run_state.stages_done(copy) == ["initial"]


def test_a_model_to_evaluate_needs_its_saved_model_and_train_config(tmp_path):
    run = tmp_path / "run"
    model = run / paths.MODEL_DIR
    (model / paths.SAVED_MODEL_DIR).mkdir(parents=True)
    (model / paths.SAVED_MODEL_DIR / "saved_model.pb").write_bytes(b"")
    assert run_state.missing_model_files(str(model)) == [os.path.join("results", "gin", "train.gin")]
    assert not run_state.has_model(str(run))
    (model / "results" / "gin").mkdir(parents=True)
    (model / "results" / "gin" / "train.gin").write_text("model.training_steps = 1\n")
    assert run_state.has_model(str(run)) and run_state.has_model(str(model))


def test_run_directories_of_earlier_versions_are_refused(tmp_path):
    # states without a precision, train results without precision or images, an rPU-VAE
    # manifest of trained stages without a precision record: an earlier, unreleased rpu_tf wrote them
    pbt_dir = str(tmp_path / "pbt_run" / "pbt")
    path = _member_state(pbt_dir, 1, 0)
    for read in (lambda: run_state.read_state_precision(path), lambda: run_state.pbt_precision(pbt_dir),
                 lambda: run_state.trained_precision(os.path.dirname(pbt_dir))):
        with pytest.raises(UnsupportedRunError, match=r"member_0000.npz .*records no precision.*earlier, "
                                                      r"unreleased version of rpu_tf.*--overwrite"):
            read()
    single = str(tmp_path / "single")
    _finish_single_model(single, {"global_step": 4})
    with pytest.raises(UnsupportedRunError, match="train_results.json records no training precision"):
        run_state.trained_precision(single)
    with pytest.raises(UnsupportedRunError, match="train_results.json records no training_images"):
        run_state.training_images(single)
    rpu = tmp_path / "rpu"
    (rpu / "stages" / "initial" / "pbt").mkdir(parents=True)
    (rpu / paths.MANIFEST_FILE).write_text(json.dumps({"stages": {"initial": {"name": "initial"}}}))
    with pytest.raises(UnsupportedRunError, match="manifest.json records no training precision"):
        run_state.trained_precision(str(rpu))


def _write(path, text="{}"):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def test_the_lock_file_alone_is_an_empty_run_directory(tmp_path):
    from rpu_tf.layout.lock import LOCK_FILE

    run = str(tmp_path / "run")
    assert run_state.run_entries(run) == set() and not run_state.needs_overwrite(run)  # missing
    _write(os.path.join(run, LOCK_FILE), "")
    assert run_state.run_entries(run) == set() and run_state.single_model_status(run) == run_state.FRESH
    assert not run_state.needs_overwrite(run)
    _write(os.path.join(run, "notes.txt"), "mine")
    assert run_state.run_entries(run) == {"notes.txt"} and run_state.needs_overwrite(run)


def test_a_study_does_not_overwrite_a_run_directory_holding_only_its_lock(tmp_path):
    from rpu_tf.layout.lock import LOCK_FILE
    from rpu_tf.studies.plan import plan_runs, train_job
    from rpu_tf.studies.spec import Method, Study

    method = Method("b1", configs=("quickstart_single_model.gin",), seed_binding="model.random_seed = {seed}",
                    budget_binding="model.training_steps = {units}", budget_unit_images=32)
    study = Study("s", (0,), (method,), (), budget_images=640)
    (run,) = plan_runs(study, str(tmp_path))
    _write(os.path.join(run.run_dir, LOCK_FILE), "")
    assert train_job(study, run, budget_images=640).overwrite is False


def test_a_single_models_claim_checkpoint_and_results_and_what_is_overwritten(tmp_path):
    run = str(tmp_path / "run")
    assert not (run_state.is_claimed(run) or run_state.has_training_state(run) or run_state.has_train_results(run))
    _write(paths.training_claim_file(run), "model.training_steps = 4\n")
    assert run_state.is_claimed(run) and not run_state.has_training_state(run)
    assert run_state.run_entries(run) == {paths.TRAINING_CHECKPOINT_DIR} and not run_state.needs_overwrite(run)
    _write(paths.training_state_file(run), "not a zip")  # written, readable or not
    assert run_state.has_training_state(run) and not run_state.has_train_results(run)
    finished = str(tmp_path / "finished")
    _finish_single_model(finished, {"global_step": 4, "precision": "float32", "training_images": 32})
    assert run_state.has_train_results(finished) and not run_state.is_claimed(finished)
    assert run_state.needs_overwrite(finished)  # a finished single model is trained afresh, not continued


def test_the_summary_of_an_rpu_vae_run(tmp_path):
    from rpu_tf.layout import rpu_files
    from rpu_tf.utils.files import DamagedFileError

    run = str(tmp_path / "run")
    assert run_state.read_summary(run) is None
    rpu_files.write_summary(run, {"total_images": 12})
    assert run_state.read_summary(run) == {"total_images": 12}
    _write(os.path.join(run, paths.SUMMARY_FILE), '{"total_')
    with pytest.raises(DamagedFileError, match="summary.json"):
        run_state.read_summary(run)


def test_an_export_needs_its_results_keras_file_and_saved_model(tmp_path):
    model = str(tmp_path / "run" / paths.MODEL_DIR)
    _write(paths.step_results_json(paths.results_dir(model), "train"))
    _write(os.path.join(model, paths.KERAS_FILE), "")
    assert not run_state.is_exported(model)  # no SavedModel folder
    os.makedirs(os.path.join(model, paths.SAVED_MODEL_DIR))
    assert run_state.is_exported(model)
    os.remove(os.path.join(model, paths.KERAS_FILE))
    assert not run_state.is_exported(model)


def test_evaluated_means_every_metric_for_every_representation(tmp_path):
    run = str(tmp_path / "run")

    def evaluate(representation, metric):
        _write(paths.step_aggregate_json(paths.results_dir(paths.metric_dir(run, representation, metric)), "evaluation"))

    assert run_state.is_evaluated(run, []) and not run_state.is_evaluated(run, ["mig"])
    evaluate("mean", "mig")
    assert run_state.is_evaluated(run, ["mig"]) and not run_state.is_evaluated(run, ["mig", "dci"])
    evaluate("mean", "dci")
    assert run_state.is_evaluated(run, ["mig", "dci"])
    assert not run_state.is_evaluated(run, ["mig", "dci"], ("mean", "sampled"))
    evaluate("sampled", "mig")
    evaluate("sampled", "dci")
    assert run_state.is_evaluated(run, ["mig", "dci"], ("mean", "sampled"))
