"""Aggregated results files: our writer/reader against pandas (dlib's writer) and bad input."""

from __future__ import annotations

import gzip
import json
import os

import pandas as pd
import pytest

from rpu_tf.cli import aggregate as cli
from rpu_tf.layout import results as layout
from rpu_tf.results.aggregate import (AggregatedFormatError, aggregate_results_to_json,
                                      find_result_files, load_aggregated_results, require_columns,
                                      rows_to_columns, write_aggregated_json)


def _result(folder, **values):
    path = os.path.join(folder, "results", "aggregate", "evaluation.json")
    os.makedirs(os.path.dirname(path))
    with open(path, "w", encoding="utf-8") as f:
        json.dump(values, f)
    return path


@pytest.fixture
def result_files(tmp_path):
    a = _result(str(tmp_path / "runs" / "a" / "metrics" / "mean" / "mig"),
                **{"evaluation_results.discrete_mig": 0.123456789012345,
                   "train_config.model.name": "'beta_vae'", "evaluation_results.lst": [1.5, 2.0]})
    b = _result(str(tmp_path / "runs" / "b" / "metrics" / "mean" / "dci"),
                **{"evaluation_results.disentanglement": 0.5, "train_config.model.name": "'rpu'",
                   "evaluation_results.bad": float("nan")})
    return [a, b]


def test_written_table_equals_pandas_table(result_files, tmp_path):
    output = str(tmp_path / "results.json")
    rows = aggregate_results_to_json([str(tmp_path / "runs" / "*" / "metrics" / "*" / "*" / "results" /
                                          "aggregate" / "evaluation.json")], output)
    assert [r["path"] for r in rows] == sorted(result_files)
    ours = pd.read_json(output, orient="columns")
    reference_path = str(tmp_path / "pandas.json")
    pd.DataFrame(rows).to_json(reference_path)  # what dlib's aggregate_results_to_json does
    reference = pd.read_json(reference_path, orient="columns")
    assert list(ours.columns) == list(reference.columns)  # first-appearance order
    pd.testing.assert_frame_equal(ours, reference, rtol=1e-9)
    # Full precision (pandas rounds to 10 decimals); NaN written as null.
    assert load_aggregated_results(output)[0]["evaluation_results.discrete_mig"] == 0.123456789012345
    with open(output) as f:
        text = f.read()
    assert "NaN" not in text and '"evaluation_results.bad":{"0":null,"1":null}' in text


def test_reader_loads_pandas_written_files(result_files, tmp_path):
    rows = [dict(json.load(open(p)), path=p) for p in result_files]
    path = str(tmp_path / "dlib_results.json")
    pd.DataFrame(rows).to_json(path)  # dlib's writer
    loaded = load_aggregated_results(path)
    assert len(loaded) == 2 and loaded[0]["path"] == result_files[0]
    assert loaded[0]["evaluation_results.discrete_mig"] == pytest.approx(0.123456789, abs=1e-9)
    assert loaded[0]["evaluation_results.disentanglement"] is None  # absent in that row
    assert loaded[0]["evaluation_results.lst"] == [1.5, 2.0]
    assert loaded[1]["train_config.model.name"] == "'rpu'"
    gz = path + ".gz"
    with gzip.open(gz, "wt", encoding="utf-8") as f, open(path) as g:
        f.write(g.read())
    assert load_aggregated_results(gz) == loaded


def test_rows_round_trip_with_many_rows(tmp_path):
    rows = [{"x": i, "only_even": i} if i % 2 == 0 else {"x": i} for i in range(12)]
    path = str(tmp_path / "r.json")
    write_aggregated_json(rows, path)
    loaded = load_aggregated_results(path)
    assert [r["x"] for r in loaded] == list(range(12))  # numeric row order, not "0", "1", "10"
    assert [r["only_even"] for r in loaded] == [i if i % 2 == 0 else None for i in range(12)]
    assert rows_to_columns([{"a": float("inf")}]) == {"a": {"0": None}}


def test_folder_patterns_and_no_match(result_files, tmp_path):
    assert find_result_files([str(tmp_path / "runs")]) == sorted(result_files)
    assert find_result_files([str(tmp_path / "runs"), result_files[0]]) == sorted(result_files)
    with pytest.raises(FileNotFoundError, match="No result files match .*nothing"):
        find_result_files([str(tmp_path / "runs"), str(tmp_path / "nothing" / "*.json")])


def test_format_errors_say_what_is_wrong(tmp_path):
    records = tmp_path / "records.json"
    records.write_text(json.dumps([{"a": 1}]))
    with pytest.raises(AggregatedFormatError, match='JSON list; an aggregated results file is a JSON object'):
        load_aggregated_results(str(records))
    single = tmp_path / "evaluation.json"
    single.write_text(json.dumps({"evaluation_results.discrete_mig": 0.3, "train_config.x": "'y'"}))
    with pytest.raises(AggregatedFormatError, match="single result file .* rpu_aggregate"):
        load_aggregated_results(str(single))
    broken = tmp_path / "broken.json"
    broken.write_text("{")
    with pytest.raises(AggregatedFormatError, match="not valid JSON"):
        load_aggregated_results(str(broken))
    rows = [{"train_config.dataset.name": "'x'", "path": "p"}]
    with pytest.raises(AggregatedFormatError) as error:
        require_columns(rows, ["train_config.dataset.name", "evaluation_results.discrete_mig"], "f.json",
                        {"the method": ["train_config.model.name", "train_config.model.model"]})
    message = str(error.value)
    assert "f.json lacks the keys: evaluation_results.discrete_mig, the method (one of " \
           "train_config.model.name, train_config.model.model)" in message
    assert "train_config.dataset.name" in message  # what it has instead


def test_cli_refuses_existing_output_and_reports_no_match(result_files, tmp_path, caplog):
    output = tmp_path / "results.json"
    argv = ["rpu_aggregate", f"--result_file_pattern={tmp_path / 'runs'}", f"--output_path={output}"]
    assert cli.main(argv) == 0
    before = output.read_text()
    assert cli.main(argv) == 1
    assert "already exists; pass --overwrite" in caplog.text
    assert output.read_text() == before
    assert cli.main(argv + ["--overwrite"]) == 0
    assert cli.main(["rpu_aggregate", f"--result_file_pattern={tmp_path / 'none*'}",
                     f"--output_path={tmp_path / 'x.json'}"]) == 1
    assert "No result files match" in caplog.text
    assert cli.main(["rpu_aggregate", "--no_such_flag"]) == 2


def test_read_gin_bindings_joins_wrapped_values(tmp_path):
    path = tmp_path / "train.gin"
    path.write_text(
        "# Parameters for images:\n# =====\n"
        "images.path = \\\n    '/very/long/path/to/the/data/set/images'\n"
        "sprites.shapes = \\\n    ('square',\n     'ellipse')\n"
        "sprites.num_scales = 6\n"
        "dataset.name = 'sprites'\n")
    bindings = layout.read_gin_bindings(str(path))
    assert bindings == {"images.path": "'/very/long/path/to/the/data/set/images'",
                        "sprites.shapes": "('square', 'ellipse')", "sprites.num_scales": "6",
                        "dataset.name": "'sprites'"}
    assert layout.gin_dict(str(path))["sprites.shapes"] == "\\"  # dlib's one-line reader
