"""The paper's Fig. 5 for one rPU-VAE run: its metaEpochs' traversal figures, one per panel,
each titled with what the metaEpoch learned (rpu_tf.visualize.run_stages)."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from rpu_tf.visualize.run_stages import plot_run_stages, stage_caption

plt = pytest.importorskip("matplotlib.pyplot")

INITIAL = {"name": "initial", "dataset_size": 11520, "best_score": 0.6381, "active_latents": [4, 5],
           "kept_size": 180, "factor_tracked": [{"latent": 4, "factor": "position_y"},
                                                {"latent": 5, "factor": "position_x"}]}
EMPTY_LEAF = {"name": "leaf1_meta1", "dataset_size": 180, "best_score": 0.378, "active_latents": [],
              "kept_size": None}
LEAF = {"name": "leaf2_meta1", "dataset_size": 180, "best_score": 0.4045, "active_latents": [9], "kept_size": 30,
        "factor_tracked": [{"latent": 9, "factor": "scale"}]}


def test_each_metaepoch_is_captioned_with_what_it_learned():
    assert stage_caption(INITIAL) == "initial: 11,520 images, UDR 0.64; z4 position_y, z5 position_x; kept 180"
    assert stage_caption(EMPTY_LEAF) == "leaf1_meta1: 180 images, UDR 0.38; no active latent"
    assert stage_caption(LEAF) == "leaf2_meta1: 180 images, UDR 0.40; z9 scale; kept 30"


def _run(tmp_path, stages, figures):
    run = tmp_path / "run"
    run.mkdir()
    (run / "summary.json").write_text(json.dumps({"stages": stages}))
    for name, shape in figures.items():
        folder = run / "stages" / name
        folder.mkdir(parents=True)
        plt.imsave(str(folder / "traversals.png"), np.random.RandomState(0).rand(*shape))
    return str(run)


def test_the_metaepochs_stack_one_below_the_other(tmp_path):
    run = _run(tmp_path, [INITIAL, EMPTY_LEAF, LEAF],
               {"initial": (40, 200), "leaf1_meta1": (40, 200), "leaf2_meta1": (40, 200)})
    path = plot_run_stages(run, str(tmp_path / "fig5.png"), "seed 0")
    image = plt.imread(path)
    assert image.shape[0] > image.shape[1] / 2  # three 5:1 panels above one another
    (tmp_path / "b").mkdir()
    one = plt.imread(plot_run_stages(_run(tmp_path / "b", [INITIAL], {"initial": (40, 200)}),
                                     str(tmp_path / "one.png"), "seed 0"))
    assert one.shape[1] == image.shape[1] and one.shape[0] < image.shape[0] / 2


def test_no_figure_without_a_summary_or_traversals(tmp_path):
    assert plot_run_stages(str(tmp_path), str(tmp_path / "fig5.png"), "t") is None
    run = _run(tmp_path, [INITIAL], {})
    assert plot_run_stages(run, str(tmp_path / "fig5.png"), "t") is None
    assert not os.path.exists(tmp_path / "fig5.png")
