"""examples/quickstart.ipynb: committed without outputs, installs nothing, and executed headless
(nbclient + ipykernel, the ``test`` extra) in a fresh folder it trains its small rPU-VAE,
shows every metaEpoch's traversals and prints the final scores, without an error output."""

import json
import os
import re

import nbformat
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NOTEBOOK = os.path.join(ROOT, "examples", "quickstart.ipynb")


def _read():
    return nbformat.read(NOTEBOOK, as_version=4)


def test_the_notebook_is_committed_clean_and_installs_nothing():
    notebook = _read()
    nbformat.validate(notebook)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code and all(not cell.outputs and cell.execution_count is None for cell in code), \
        "clear the outputs before committing (jupyter nbconvert --clear-output --inplace)"
    for cell in code:
        assert not re.search(r"^\s*[!%]", cell.source, re.M), f"no shell or magic lines: {cell.source[:80]}"
        assert "pip install" not in cell.source


@pytest.mark.slow
def test_the_notebook_runs_headless_and_shows_every_metaepoch(tmp_path, monkeypatch):
    from nbclient import NotebookClient

    monkeypatch.setenv("PYTHONPATH", ROOT)  # the kernel imports this checkout's rpu_tf
    notebook = _read()
    NotebookClient(notebook, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = [output for cell in notebook.cells if cell.cell_type == "code" for output in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    text = "".join(o.get("text", "") for o in outputs if o.output_type == "stream" and o.name == "stdout")
    summary = json.load(open(tmp_path / "runs" / "notebook_small" / "summary.json"))
    # every metaEpoch: a heading naming it, then its traversals as an image
    shown = []
    for cell in notebook.cells:
        for output in getattr(cell, "outputs", []):
            data = output.get("data", {})
            if "text/markdown" in data:
                shown.append(("heading", data["text/markdown"]))
            elif "image/png" in data:
                shown.append(("image", None))
    stages = [stage["name"] for stage in summary["stages"]]
    assert len(stages) == 2  # the initial metaEpoch and the leaf-run's
    headings = [i for i, (kind, content) in enumerate(shown) if kind == "heading" and content.startswith("### ")]
    assert [shown[i][1].split(":")[0][4:] for i in headings] == stages
    assert all(i + 1 < len(shown) and shown[i + 1][0] == "image" for i in headings)
    # the final scores, as summary.json holds them
    mig = float(re.search(r"^final MIG (\d\.\d{3})$", text, re.M).group(1))
    assert 0.0 <= mig <= 1.0
    assert mig == pytest.approx(summary["final"]["ground_truth"]["discrete_mig"], abs=5e-4)
    assert re.search(r"^final DCI disentanglement \d\.\d{3}, completeness \d\.\d{3}$", text, re.M)
