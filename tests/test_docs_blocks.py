"""Every ```python block of README.md and docs/*.md runs as written, and the outcomes the text
states for it hold.

Each block runs alone in a fresh interpreter (``PYTHONPATH`` = this checkout), in a fresh
folder holding a link ``gin_configs`` to the checkout's: the docs' paths are relative to a
checkout's root, as their commands' are. A block that cannot run on a test machine is marked in
its doc by ``<!-- not run: REASON -->`` on the line before its fence; it is listed here and
skipped with that reason, never silently. A block that needs a run directory first gets it from
the command the doc names before the block (:data:`SETUPS`); what the doc says a block prints or
writes is checked by :data:`CHECKS`, with what the doc says of calling it again run after it in
the same interpreter (:data:`AFTER_BLOCK`). All are keyed by a line of the block, and every key
must match one block. A block with none just has to exit with status 0.
"""

from __future__ import annotations

import dataclasses
import glob
import importlib.util
import json
import os
import re
import shlex
import subprocess
import sys
from typing import Callable, Optional

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOCS = ["README.md", *sorted(os.path.relpath(p, ROOT) for p in glob.glob(os.path.join(ROOT, "docs", "*.md")))]
FENCE = re.compile(r"^```python\n(.*?)^```", re.S | re.M)
NOT_RUN = re.compile(r"<!--\s*not run:\s*(.*?)\s*-->\s*\n$")


@dataclasses.dataclass(frozen=True)
class Block:
    """One ```python block: its doc, number in the doc (from 1), code, the doc's text from the
    end of the previous fence to this one (where its setup and stated outcome are), and the
    reason it is not run, if it is marked so."""

    doc: str
    number: int
    code: str
    before: str
    after: str
    not_run: Optional[str]

    @property
    def name(self) -> str:
        return f"{self.doc}:{self.number}"


def doc_blocks() -> list[Block]:
    blocks = []
    for doc in DOCS:
        text = open(os.path.join(ROOT, doc), encoding="utf-8").read()
        matches = list(FENCE.finditer(text))
        for k, match in enumerate(matches):
            start = text.rfind("```", 0, match.start())  # the previous fence of any language
            before = text[text.find("\n", start) + 1 if start >= 0 else 0:match.start()]
            end = text.find("```", match.end())
            marker = NOT_RUN.search(before)
            blocks.append(Block(doc, k + 1, match.group(1), before, text[match.end():end if end >= 0 else None],
                                marker.group(1) if marker else None))
    return blocks


def run_block(block: Block, folder, timeout: float = 900) -> subprocess.CompletedProcess:
    """Runs ``block`` in ``folder`` (a fresh interpreter); fails with its stderr on error."""
    env = {**os.environ, "PYTHONPATH": ROOT, "TF_CPP_MIN_LOG_LEVEL": "2"}
    done = subprocess.run([sys.executable, "-c", block.code], cwd=folder, capture_output=True, text=True,
                          timeout=timeout, env=env)
    assert done.returncode == 0, f"{block.name} failed:\n{done.stderr[-4000:]}"
    return done


def _command(line: str) -> list[str]:
    """A doc's ``rpu_*`` command line, run with this checkout's ``bin/`` script."""
    words = shlex.split(line)
    return [sys.executable, os.path.join(ROOT, "bin", words[0]), *words[1:]]


# --- setups: what a block needs first, as its doc says -----------------------------------

#: (doc, a line of the block) -> the command the doc names before the block.
SETUPS = {
    ("docs/evaluation.md", "from rpu_tf.evaluation import evaluate_model, evaluate_with_gin, postprocess_with_gin"):
        'rpu_train --gin_config=gin_configs/quickstart_single_model.gin --model_dir=runs/btc '
        '--gin_bindings="model.training_steps = 100"',
}

# --- checks: what the doc states of a block's outcome -----------------------------------


def _check_readme_model(block: Block, done, folder, sentences: str) -> None:
    mig = float(re.search(r"^MIG (\d\.\d+)$", done.stdout, re.M).group(1))
    assert 0.0 <= mig <= 1.0


def _bfloat16_on_2_cores(precision: str) -> bool:
    """The machine of the README's stated small-run outcome: 2 cores, bfloat16 (AMX)."""
    return precision == "mixed_bfloat16" and os.cpu_count() == 2


def _check_readme_rpu(block: Block, done, folder, sentences: str) -> None:
    """README: "on this project's Intel Xeon with AMX (bfloat16) its initial metaEpoch tracks x,
    y and scale, the recursion keeps 122 of the 768 images, its leaf-run tracks no factor, and
    the final model scores MIG 0.027"; the run directory is rpu_train's, and called again, the
    same code loads the finished run."""
    stated = re.search(r"initial metaEpoch tracks x, y and scale, the recursion keeps (\d+) of the (\d+) images, "
                       r"its leaf-run tracks no factor, and the final model scores MIG (\d\.\d{3})", sentences)
    assert stated, "the README's statement of this block's outcome changed: update the check"
    kept, total, stated_mig = int(stated.group(1)), int(stated.group(2)), stated.group(3)
    run_dir = os.path.join(folder, "runs", "python_api")
    summary = json.load(open(os.path.join(run_dir, "summary.json")))
    printed = re.findall(r"^(\w+) (\d+) images, tracked: (\[.*\])$", done.stdout, re.M)
    assert [(name, int(size)) for name, size, _ in printed] == [(s["name"], s["dataset_size"])
                                                               for s in summary["stages"]]
    mig = re.search(r"^rPU-VAE final MIG (\d\.\d{3})$", done.stdout, re.M).group(1)
    assert 0.0 <= float(mig) <= 1.0 and printed[0][:2] == ("initial", str(total))
    factors = [{t["factor"] for t in s.get("factor_tracked", [])} for s in summary["stages"]]
    if _bfloat16_on_2_cores(summary["precision"]):  # the stated machine: the stated numbers, to the digit
        assert factors[0] == {"position_x", "position_y", "scale"} and factors[1] == set()
        assert summary["stages"][0]["kept_size"] == kept == summary["stages"][1]["dataset_size"]
        assert mig == stated_mig
    else:  # elsewhere float sums differ: the stated shape of the run only
        assert len(summary["stages"]) == 2 and factors[0]
    assert summary["training_images"]["initial"] == 2 * 2 * 2 * 8192  # members x replicas x generations x images
    manifest = json.load(open(os.path.join(run_dir, "manifest.json")))
    assert manifest["settings"]["metaepoch/initial/pbt_vae.generation_images"] == "8192"
    assert manifest["settings"]["<data>"] == "sprites: 768 images of (32, 32, 1), factors [3, 2, 2, 8, 8]"
    assert os.path.isdir(os.path.join(run_dir, "model", "saved_model"))
    # "called again, it loads the finished run": nothing is trained or rewritten (AFTER_BLOCK,
    # run after the block in its interpreter); and another data set object does not reuse its stages
    assert done.stdout.splitlines()[-2:] == ["called again: same summary True, labels rewritten False",
                                            "refused: <data>: was sprites: 768 images"]


#: (doc, a line of the block) -> code run after the block, in the same interpreter.
AFTER_BLOCK = {("README.md", "summary = rpu.run()  # called again, it loads the finished run"): """
import os
import re

labels = os.path.join(rpu.run_dir, "stages", "initial", "labels.npz")
stamp = os.path.getmtime(labels)
again = rpu.run()
print(f"called again: same summary {again == summary}, labels rewritten {os.path.getmtime(labels) != stamp}")
other = rpu_tf.data.Sprites(image_size=32, num_scales=3, num_orientations=2, num_positions_x=8, num_positions_y=8)
try:
    RPUVAE(rpu.run_dir, other, initial=rpu.initial, final=rpu.final, max_leaf_runs=1, max_meta_epochs=1,
           num_latent=4, gin_bindings=rpu.extra_bindings).run()
except ValueError as error:
    print("refused:", re.search(r"<data>: was sprites: \\d+ images", str(error)).group(0))
"""}


def _check_evaluation(block: Block, done, folder, sentences: str) -> None:
    """docs/evaluation.md: "It writes runs/btc/metrics/mean/{mig,dci}/results/ and runs/btc_steps/"."""
    assert "runs/btc/metrics/mean/{mig,dci}/results/" in sentences
    for path, key in (("runs/btc/metrics/mean/mig", "discrete_mig"), ("runs/btc/metrics/mean/dci", "disentanglement"),
                      ("runs/btc_steps/metrics/mean/mig", "discrete_mig")):
        results = json.load(open(os.path.join(folder, path, "results", "json", "evaluation_results.json")))
        assert 0.0 <= results[key] <= 1.0, path
    assert not os.path.exists(os.path.join(folder, "runs", "btc", "metrics", "sampled"))  # representations=["mean"]


def _check_dlib_bridge(block: Block, done, folder, sentences: str) -> None:
    """docs/evaluation.md: "The two MIG values agree within 1e-6"."""
    assert "agree within 1e-6" in sentences
    theirs, ours = map(float, re.search(r"^MIG: disentanglement_lib (\S+), rpu_tf (\S+)$", done.stdout, re.M).groups())
    assert abs(theirs - ours) <= 1e-6 and 0.0 < ours <= 1.0


def _needs_dlib(block: Block) -> None:
    """The bridge's block needs disentanglement_lib (the doc's install line). As for the oracle
    tests (tests/helpers/dlib_oracle.py), its absence fails, or skips with RPU_SKIP_ORACLE=1."""
    from rpu_tf.compat.dlib import INSTALL_HINT

    if importlib.util.find_spec("disentanglement_lib") is None:
        if os.environ.get("RPU_SKIP_ORACLE") == "1":
            pytest.skip(f"{block.name} needs disentanglement_lib 1.5 (RPU_SKIP_ORACLE=1): {INSTALL_HINT}")
        pytest.fail(f"{block.name} needs disentanglement_lib 1.5: {INSTALL_HINT}; or set RPU_SKIP_ORACLE=1.")


#: (doc, a line of the block) -> check(block, completed process, folder, the doc's text around it).
CHECKS: dict[tuple[str, str], Callable] = {
    ("README.md", "model.compile(optimizer=keras.optimizers.Adam(1e-3))"): _check_readme_model,
    ("README.md", "summary = rpu.run()  # called again, it loads the finished run"): _check_readme_rpu,
    ("docs/evaluation.md", "from rpu_tf.evaluation import evaluate_model, evaluate_with_gin, postprocess_with_gin"):
        _check_evaluation,
    ("docs/evaluation.md", "from rpu_tf.compat.dlib import dlib_gin, dlib_metric, import_dlib"): _check_dlib_bridge,
}
#: Blocks that need something installed beyond the core dependencies first.
REQUIRES = {("docs/evaluation.md", "from rpu_tf.compat.dlib import dlib_gin, dlib_metric, import_dlib"): _needs_dlib}
#: Blocks that train (about 15 s or more on 2 cores).
SLOW = {("README.md", "model.compile(optimizer=keras.optimizers.Adam(1e-3))"),
        ("README.md", "summary = rpu.run()  # called again, it loads the finished run"),
        ("docs/evaluation.md", "from rpu_tf.evaluation import evaluate_model, evaluate_with_gin, postprocess_with_gin")}


def _key(block: Block, table) -> Optional[tuple[str, str]]:
    keys = [key for key in table if key[0] == block.doc and key[1] in block.code.splitlines()]
    assert len(keys) <= 1, keys
    return keys[0] if keys else None


BLOCKS = doc_blocks()


def _param(block: Block):
    if block.not_run:
        return pytest.param(block, id=block.name,
                            marks=pytest.mark.skip(reason=f"{block.name} marked in the doc: not run: {block.not_run}"))
    return pytest.param(block, id=block.name, marks=[pytest.mark.slow] if _key(block, SLOW) else [])


@pytest.mark.parametrize("block", [_param(b) for b in BLOCKS])
def test_doc_block_runs_as_written(block: Block, tmp_path):
    os.symlink(os.path.join(ROOT, "gin_configs"), tmp_path / "gin_configs")
    requirement = _key(block, REQUIRES)
    if requirement:
        REQUIRES[requirement](block)
    setup = _key(block, SETUPS)
    if setup:
        command = SETUPS[setup]
        assert command in block.before.replace("\n", " "), f"{block.name}: the doc no longer names `{command}`"
        prepared = subprocess.run(_command(command), cwd=tmp_path, capture_output=True, text=True, timeout=600,
                                  env={**os.environ, "PYTHONPATH": ROOT, "TF_CPP_MIN_LOG_LEVEL": "2"})
        assert prepared.returncode == 0, prepared.stderr[-3000:]
    after = _key(block, AFTER_BLOCK)
    done = run_block(dataclasses.replace(block, code=block.code + AFTER_BLOCK[after]) if after else block, tmp_path)
    check = _key(block, CHECKS)
    if check:
        CHECKS[check](block, done, str(tmp_path), " ".join((block.before + block.after).split()))


def test_every_python_block_is_found_and_every_key_matches_one():
    fences = [(doc, m.group(1)) for doc in DOCS
              for m in re.finditer(r"^```(\w+)", open(os.path.join(ROOT, doc), encoding="utf-8").read(), re.M)]
    assert not [f for f in fences if f[1].startswith("py") and f[1] != "python"], "spell Python fences ```python"
    assert len(BLOCKS) == sum(lang == "python" for _, lang in fences) >= 4
    for table in (SETUPS, CHECKS, REQUIRES, SLOW, AFTER_BLOCK):
        for key in table:
            assert sum(_key(b, {key: None}) == key for b in BLOCKS) == 1, f"{key} matches no block, or several"
    for doc in DOCS:  # a marker that is not right before a Python fence would skip nothing
        text = open(os.path.join(ROOT, doc), encoding="utf-8").read()
        markers = len(re.findall(r"<!--\s*not run:", text))
        assert markers == sum(1 for b in BLOCKS if b.doc == doc and b.not_run is not None), doc
    assert all(b.not_run.strip() for b in BLOCKS if b.not_run is not None), "a not-run marker must say why"
