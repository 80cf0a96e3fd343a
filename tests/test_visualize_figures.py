"""PBT trajectories, leaf-run plots, image helpers and the missing-plotting-library message."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
from PIL import Image, ImageSequence
from scipy import stats

from rpu_tf.cli import compare as compare_cli
from rpu_tf.cli import visualize as cli
from rpu_tf.evaluation.model_dirs import NotATrainedModelError
from rpu_tf.visualize import dependencies, images, traversals
from rpu_tf.visualize.leaf_runs import collect_leaf_run_scores, parse_leaf_run_spec, plot_leaf_runs
from rpu_tf.visualize.pbt import panels, plot_pbt_trajectories, read_generations
from rpu_tf.visualize.run import find_generation_logs, trajectory_name, visualize_run


def _frames(path):
    with Image.open(path) as image:
        return image.format, [np.asarray(f.convert("RGB"), dtype=np.float64)
                              for f in ImageSequence.Iterator(image)]


def _record(generation, member, parent, lr, beta, batch, score, failed=None, kept=True):
    return {"generation": generation, "member_id": member, "parent": parent,
            "hyperparameters": {"learning_rate": lr, "beta": beta, "batch_size": batch},
            "score": score, "failed": failed, "kept": kept, "details": {}, "num_steps": 10}


def _write_generations(path):
    records = [_record(0, m, None, 1e-4 * (m + 1), 1.0 + m, 64 * 2 ** m, 0.1 * m) for m in range(4)]
    records += [_record(1, 0, 3, 4e-4, 5.0, 512, 0.45), _record(1, 1, None, 2e-4, 2.0, 128, 0.2),
                _record(1, 2, None, 3e-4, 3.0, 256, None, failed="non-finite loss", kept=False),
                _record(1, 3, None, 4e-4, 4.0, 512, 0.5)]
    records += [_record(2, 0, None, 4e-4, 5.0, 512, 0.55), _record(2, 1, 0, 3e-4, 6.0, 1024, 0.5),
                _record(2, 3, None, 4e-4, 4.0, 512, 0.52)]
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.writelines(json.dumps(r, sort_keys=True) + "\n" for r in records)
    return records


def test_pbt_trajectories_figure(tmp_path):
    path = str(tmp_path / "pbt" / "generations.jsonl")
    _write_generations(path)
    records = read_generations(path)
    assert len(records) == 11 and records[4].parent == 3 and records[6].failed and not records[6].kept
    assert records[6].score is None
    assert panels(records) == ["learning_rate", "beta", "batch_size", "score"]
    out = plot_pbt_trajectories(records, str(tmp_path / "traj.png"), title="run")
    fmt, (pixels,) = _frames(out)
    assert fmt == "PNG" and pixels.std() > 0 and pixels.shape[0] > 4 * 100  # four panels


def test_generation_records_must_have_the_keys(tmp_path):
    path = tmp_path / "generations.jsonl"
    path.write_text(json.dumps({"generation": 0, "member_id": 1, "score": 0.1}) + "\n")
    with pytest.raises(ValueError, match=r"generations.jsonl:1 lacks the keys parent, hyperparameters, "
                                         r"failed, kept"):
        read_generations(str(path))
    path.write_text("\n")
    with pytest.raises(ValueError, match="holds no generation records"):
        read_generations(str(path))


def test_visualize_run_plots_every_pbt_log(tmp_path, caplog):
    run = tmp_path / "rpu"
    _write_generations(str(run / "stages" / "initial" / "pbt" / "generations.jsonl"))
    _write_generations(str(run / "generations.jsonl"))
    logs = find_generation_logs(str(run))
    assert [trajectory_name(p, str(run)) for p in logs] == ["run.png", "stages__initial__pbt.png"]
    written = visualize_run(str(run))
    assert written == [str(run / "visualizations" / "pbt" / n)
                       for n in ("run.png", "stages__initial__pbt.png")]
    assert find_generation_logs(str(run)) == logs  # its own output folder is not searched
    with pytest.raises(FileExistsError, match="--overwrite"):
        visualize_run(str(run))
    assert visualize_run(str(run), overwrite=True) == written
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(NotATrainedModelError, match=r"nothing to visualize: expected a trained model "
                                                    r"\(.*model/saved_model/ and .*train.gin"):
        visualize_run(str(empty))
    assert cli.main(["rpu_visualize", f"--model_dir={empty}"]) == 1
    assert "nothing to visualize" in caplog.text


def _evaluated_run(folder, dataset, mig, dci):
    for metric, key, value in (("mig", "discrete_mig", mig), ("dci", "disentanglement", dci)):
        path = os.path.join(folder, "metrics", "mean", metric, "results", "aggregate", "evaluation.json")
        os.makedirs(os.path.dirname(path))
        with open(path, "w", encoding="utf-8") as f:
            json.dump({"train_config.dataset.name": f"'{dataset}'", "train_config.model.name": "'rpu_vae'",
                       "postprocess_config.postprocess.name": "'mean'",
                       "evaluation_config.evaluation.evaluation_fn": f"@{metric}",
                       f"evaluation_results.{key}": value}, f)


def test_leaf_run_figure(tmp_path, caplog):
    specs = []
    for count in (0, 1, 3):
        for seed in range(3):
            folder = str(tmp_path / f"l{count}_s{seed}")
            _evaluated_run(folder, "dsprites_full", 0.2 + 0.1 * count + 0.01 * seed, 0.3 + 0.1 * count)
            specs.append(f"{count}:{folder}")
    scores = collect_leaf_run_scores([parse_leaf_run_spec(s) for s in specs])
    assert len(scores) == 18 and {s.method for s in scores} == {"0", "1", "3"}
    assert sorted(s.value for s in scores if s.metric == "mig" and s.method == "3") == \
        pytest.approx([0.5, 0.51, 0.52])
    out = plot_leaf_runs(scores, str(tmp_path / "leaf.png"))
    fmt, (pixels,) = _frames(out)
    assert fmt == "PNG" and pixels.std() > 0
    argv = ["rpu_visualize", f"--output_dir={tmp_path / 'figs'}"] + [f"--leaf_runs={s}" for s in specs]
    assert cli.main(argv) == 0
    assert _frames(str(tmp_path / "figs" / "leaf_runs.png"))[0] == "PNG"
    assert cli.main(argv) == 1 and "already exists" in caplog.text
    unevaluated = tmp_path / "unevaluated"
    unevaluated.mkdir()
    with pytest.raises(FileNotFoundError, match="has no evaluation results .* rpu_evaluate"):
        collect_leaf_run_scores([parse_leaf_run_spec(f"2:{unevaluated}")])
    with pytest.raises(ValueError, match="is not COUNT:RUN_DIR"):
        parse_leaf_run_spec(str(unevaluated))
    assert cli.main(["rpu_visualize", f"--leaf_runs={specs[0]}"]) == 2  # no --output_dir
    assert "need --output_dir" in caplog.text


def test_generations_flag_writes_trajectories(tmp_path):
    log = str(tmp_path / "g" / "generations.jsonl")
    _write_generations(log)
    assert cli.main(["rpu_visualize", f"--generations={log}", f"--output_dir={tmp_path / 'out'}"]) == 0
    fmt, (pixels,) = _frames(str(tmp_path / "out" / "pbt" / "trajectories.png"))
    assert fmt == "PNG" and pixels.std() > 0


def test_grid_and_gif_helpers(tmp_path):
    tiles = [np.full((2, 3, 1), i / 10.0) for i in range(10)]
    tiled = images.grid(tiles)  # floor(sqrt(10)) = 3 columns of 3 (dlib's layout)
    assert tiled.shape == (6, 9, 1)
    assert tiled[0, 0, 0] == 0.0 and tiled[2, 0, 0] == 0.1 and tiled[0, 3, 0] == 0.3
    padded = images.padded_grid([np.zeros((4, 4, 3))] * 5, padding_px=2)
    assert padded.shape == (4 * 2 + 2, 4 * 3 + 2 * 2, 3)  # 2 rows x 3 columns
    assert images.to_uint8_rgb(np.array([[[0.0], [1.2]]])).tolist() == [[[0, 0, 0], [255, 255, 255]]]
    frames = [np.full((8, 8, 1), v) for v in (0.0, 0.5, 1.0)]
    path = images.save_gif(frames, str(tmp_path / "a.gif"), fps=5)
    fmt, loaded = _frames(path)
    assert fmt == "GIF" and [f.mean() for f in loaded] == [0.0, pytest.approx(128, abs=1), 255.0]
    with Image.open(path) as gif:
        assert gif.info["duration"] == 200 and gif.info["loop"] == 0
    png = images.save_png(np.random.RandomState(0).uniform(size=(5, 6, 3)), str(tmp_path / "x" / "a.png"))
    assert _frames(png)[1][0].shape == (5, 6, 3)


def test_traversal_values_and_cycles():
    def decode(codes):  # image = the code's first two values as two pixels
        return np.asarray(codes)[:, None, :2, None]

    g = traversals.traversal_grid(decode, np.array([0.3, -0.2, 0.7]), values=np.array([-1.0, 0.0, 1.0]))
    assert g.shape == (3, 3 * 2, 1)  # rows: values; columns: 3 latents x 2 pixels
    assert g[:, 0, 0].tolist() == [-1.0, 0.0, 1.0] and g[:, 1, 0] == pytest.approx([-0.2] * 3)
    interval = traversals.cycle_interval(0.0, 8, -2.0, 2.0)
    assert interval[0] == 0.0 and interval.max() <= 2.0 and interval.min() >= -2.0
    assert np.allclose(interval, [0, 1, 2, 1, 0, -1, -2, -1])
    gaussian = traversals.cycle_gaussian(0.0, 8)
    assert gaussian[0] == pytest.approx(0.0, abs=1e-9)
    assert gaussian.max() == pytest.approx(stats.norm.ppf(0.999))
    assert np.allclose(gaussian, -gaussian[[0, 7, 6, 5, 4, 3, 2, 1]])  # symmetric cycle
    assert np.all(traversals.cycle_interval(1.0, 4, 1.0, 1.0) == 1.0)  # constant latent


def test_missing_plotting_library_says_how_to_install(monkeypatch, tmp_path, caplog):
    real_import = dependencies.importlib.import_module

    def no_matplotlib(name, *args):
        if name.startswith("matplotlib"):
            raise ImportError(f"No module named {name!r}")
        return real_import(name, *args)

    monkeypatch.setattr(dependencies.importlib, "import_module", no_matplotlib)
    with pytest.raises(dependencies.MissingDependencyError, match=r"pip install 'rpu_tf\[viz\]'"):
        dependencies.pyplot()
    results = tmp_path / "r.json"
    results.write_text(json.dumps({
        "train_config.dataset.name": {"0": "'d'"}, "train_config.model.name": {"0": "'beta_vae'"},
        "postprocess_config.postprocess.name": {"0": "'mean'"},
        "evaluation_config.evaluation.evaluation_fn": {"0": "@mig"},
        "evaluation_results.discrete_mig": {"0": 0.2}}))
    assert compare_cli.main(["rpu_compare", f"--results={results}",
                             f"--output_path={tmp_path / 'c.png'}"]) == 1
    assert "needs matplotlib" in caplog.text and "pip install 'rpu_tf[viz]'" in caplog.text
