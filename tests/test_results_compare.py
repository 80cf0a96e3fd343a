"""rpu_compare: scores from aggregated results, summary tables, the Fig. 4 figure."""

from __future__ import annotations

import csv
import io
import json

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from rpu_tf.cli import compare as cli
from rpu_tf.results.aggregate import AggregatedFormatError, load_aggregated_results, write_aggregated_json
from rpu_tf.results.scores import (BASELINES, extract_scores, gin_value, method_of, summarise, to_csv,
                                    to_markdown)

SEEDS = 4


def _row(model, dataset, metric, value, representation="mean", seed=0, **extra):
    key = {"mig": "evaluation_results.discrete_mig", "dci": "evaluation_results.disentanglement"}[metric]
    row = {"train_config.dataset.name": f"'{dataset}'", "train_config.model.name": f"'{model}'",
           "train_config.model.random_seed": str(seed),
           "postprocess_config.postprocess.name": f"'{representation}'",
           "evaluation_config.evaluation.evaluation_fn": f"@{metric}",
           "evaluation_config.evaluation.name": f"'{metric}'", key: value,
           "path": f"zoo/{model}/{seed}/metrics/{representation}/{metric}/results/aggregate/evaluation.json"}
    row.update(extra)
    return row


def _value(model_index, seed, metric):
    return round(0.05 * model_index + 0.01 * seed + (0.2 if metric == "dci" else 0.0), 6)


@pytest.fixture
def files(tmp_path):
    baseline_rows = []
    for m, model in enumerate(BASELINES):
        for seed in range(SEEDS):
            for metric in ("mig", "dci"):
                baseline_rows.append(_row(model, "dsprites_full", metric, _value(m, seed, metric), seed=seed))
                baseline_rows.append(_row(model, "dsprites_full", metric, 0.99, "sampled", seed))
    baseline_rows.append(_row("beta_vae", "shapes3d", "mig", 0.1))
    rpu_rows = [_row("beta_tc_vae", "dsprites_full", metric, 0.6 + 0.02 * seed, seed=seed)
                for seed in range(5) for metric in ("mig", "dci")]
    baselines, rpu = tmp_path / "dlib_results.json", tmp_path / "rpu_results.json"
    pd.DataFrame(baseline_rows).to_json(baselines)  # as dlib_aggregate_results writes it
    write_aggregated_json(rpu_rows, str(rpu))  # as rpu_aggregate writes it
    return {"baselines": str(baselines), "rpu": str(rpu), "baseline_rows": baseline_rows,
            "rpu_rows": rpu_rows}


def test_extract_scores_filters_and_labels(files):
    scores = extract_scores(files["baseline_rows"], ("mig", "dci"), "mean")
    assert len(scores) == len(BASELINES) * SEEDS * 2 + 1
    assert {s.method for s in scores} == set(BASELINES)
    assert all(s.value != 0.99 for s in scores)  # sampled rows dropped
    assert len(extract_scores(files["baseline_rows"], ("mig",), None)) == len(BASELINES) * SEEDS * 2 + 1
    labelled = extract_scores(files["rpu_rows"], ("mig",), "mean", label="rPU-VAE")
    assert [s.method for s in labelled] == ["rPU-VAE"] * 5
    with pytest.raises(ValueError, match="Unknown metric.*known: beta_vae_sklearn, dci"):
        extract_scores(files["rpu_rows"], ("migg",))


def test_method_names_from_gin_values():
    assert gin_value("'beta_vae'") == "beta_vae" and gin_value("@mig") == "mig"
    assert gin_value("@beta_tc_vae()") == "beta_tc_vae" and gin_value("@rpu_tf.metrics.mig.mig") == "mig"
    assert method_of({"train_config.model.model": "@dip_vae()", "train_config.dip_vae.dip_type": "'ii'"}) \
        == "dip_vae_ii"
    assert method_of({"train_config.model.name": "'shared'", "train_config.model.model": "@vae()"}) == "vae"
    assert method_of({"train_config.model.name": float("nan")}) is None


def test_summaries_are_median_iqr_n_in_paper_order(files):
    scores = (extract_scores(files["baseline_rows"], ("mig", "dci"), "mean")
              + extract_scores(files["rpu_rows"], ("mig", "dci"), "mean", label="rPU-VAE"))
    summaries = summarise(scores, ("mig", "dci"))
    dsprites_mig = [s for s in summaries if s.dataset == "dsprites_full" and s.metric == "mig"]
    assert [s.method for s in dsprites_mig] == list(BASELINES) + ["rPU-VAE"]
    factor = next(s for s in dsprites_mig if s.method == "factor_vae")
    values = [_value(BASELINES.index("factor_vae"), seed, "mig") for seed in range(SEEDS)]
    assert factor.n == SEEDS
    assert factor.median == pytest.approx(np.median(values))
    assert factor.iqr == pytest.approx(np.percentile(values, 75) - np.percentile(values, 25))
    rpu = next(s for s in dsprites_mig if s.method == "rPU-VAE")
    assert (rpu.n, rpu.median) == (5, pytest.approx(0.64))
    shapes = [s for s in summaries if s.dataset == "shapes3d"]
    assert [(s.method, s.metric, s.n) for s in shapes] == [("beta_vae", "mig", 1)]

    markdown = to_markdown(summaries)
    lines = markdown.splitlines()
    assert lines[0] == "| dataset | metric | method | n | median | IQR | Q1 | Q3 |"
    assert "| dsprites_full | MIG | rPU-VAE | 5 | 0.6400 | 0.0400 | 0.6200 | 0.6600 |" in lines
    assert "| dsprites_full | DCI Disentanglement | β-VAE | 4 |" in markdown
    table = list(csv.DictReader(io.StringIO(to_csv(summaries))))
    assert len(table) == len(summaries)
    row = next(r for r in table if r["method"] == "rPU-VAE" and r["metric"] == "MIG")
    assert (int(row["n"]), float(row["median"]), float(row["IQR"])) == (5, pytest.approx(0.64),
                                                                        pytest.approx(0.04))


def _image(path):
    with Image.open(path) as image:
        return image.format, np.asarray(image.convert("RGB"), dtype=np.float64)


def test_cli_writes_figure_and_tables(files, tmp_path, caplog):
    output = tmp_path / "figs" / "fig4.png"
    argv = ["rpu_compare", f"--results={files['baselines']}", f"--results=rPU-VAE={files['rpu']}",
            f"--output_path={output}", "--title=test"]
    assert cli.main(argv) == 0
    fmt, pixels = _image(output)
    assert fmt == "PNG" and pixels.std() > 0 and pixels.shape[0] > 200 and pixels.shape[1] > 400
    markdown = (tmp_path / "figs" / "fig4.md").read_text()
    assert "| dsprites_full | MIG | rPU-VAE | 5 | 0.6400 |" in markdown
    assert "| shapes3d | MIG | β-VAE | 1 | 0.1000 |" in markdown
    rows = list(csv.DictReader(open(tmp_path / "figs" / "fig4.csv", encoding="utf-8")))
    assert {r["method"] for r in rows} == {"β-VAE", "AnnealedVAE", "FactorVAE", "β-TCVAE", "DIP-VAE-I",
                                           "DIP-VAE-II", "rPU-VAE"}
    assert cli.main(argv) == 1  # outputs exist
    assert "already exist(s); pass --overwrite" in caplog.text
    assert cli.main(argv + ["--overwrite", "--datasets=shapes3d", "--metrics=mig"]) == 0
    assert (tmp_path / "figs" / "fig4.md").read_text().count("\n") == 3  # header, rule, one row


def test_cli_names_missing_keys(tmp_path, caplog):
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"score": {"0": 0.3}, "model": {"0": "x"}}))
    code = cli.main(["rpu_compare", f"--results={other}", f"--output_path={tmp_path / 'c.png'}"])
    assert code == 1
    assert "lacks the keys: train_config.dataset.name, evaluation_config.evaluation.evaluation_fn, " \
           "the method (one of train_config.model.name, train_config.model.model), the " \
           "representation (one of postprocess_config.postprocess.name" in caplog.text
    assert cli.main(["rpu_compare", f"--output_path={tmp_path / 'c.png'}"]) == 2
    assert not (tmp_path / "c.png").exists()


def test_parse_results_spec(tmp_path):
    assert cli.parse_results_spec("rPU-VAE=a/b.json") == ("rPU-VAE", "a/b.json")
    assert cli.parse_results_spec("a/b.json") == (None, "a/b.json")
    assert cli.parse_results_spec("dir=x/b.json".replace("dir", "a/d")) == (None, "a/d=x/b.json")
    weird = tmp_path / "x=y.json"
    weird.write_text("{}")
    assert cli.parse_results_spec(str(weird)) == (None, str(weird))
    with pytest.raises(AggregatedFormatError, match="lacks the keys"):
        extract_scores(load_aggregated_results(str(weird)), ("mig",))
