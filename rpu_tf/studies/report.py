"""A study's results: scores per run, Fig. 4 (MIG and DCI per method, box + points), Fig. 6
(rPU-VAE against its number of leaf-runs), a Markdown table (median, IQR, n, training images
and wall seconds per method; every run; each factor's MIG gap where the study evaluates
``mig_gaps``) and the same per run as JSON, written to ``STUDY_DIR/report/``, and a session per run
in TensorBoard's HPARAMS tab (:mod:`rpu_tf.studies.board`)."""

from __future__ import annotations

import dataclasses
import math
import os
from typing import Optional, Sequence

import numpy as np

from rpu_tf.layout import paths
from rpu_tf.layout.run_state import read_summary
from rpu_tf.results.aggregate import aggregate_results
from rpu_tf.results.scores import METRIC_KEY, SCORE_KEYS, Score, extract_scores, gin_value, representation_of
from rpu_tf.studies.board import write_study_board
from rpu_tf.studies.runner import BUDGET_FILE, plan_runs
from rpu_tf.studies.selection import udr_selection
from rpu_tf.studies.spec import Study, slug
from rpu_tf.studies.status import StudyStatus
from rpu_tf.utils.files import atomic_write_json, atomic_write_text, read_json
from rpu_tf.visualize.method_comparison import plot_comparison
from rpu_tf.visualize.leaf_runs import plot_leaf_runs
from rpu_tf.visualize.run_stages import plot_run_stages, stage_caption
from rpu_tf.utils.errors import RunFailedError

REPORT_DIR = "report"
METRICS = ("mig", "dci")
#: The evaluation whose per-factor gaps the report shows (``gin_configs/metrics/mig_gaps.gin``).
GAPS_METRIC, GAP_PREFIX = "mig_gaps", "evaluation_results.gap."


@dataclasses.dataclass(frozen=True)
class RunResult:
    """One model of the study and what it cost."""

    name: str  # the method variant
    label: str  # its Fig. 4 box / table row
    seed: int
    run_dir: str
    training_images: int
    wall_seconds: float
    leaf_runs: Optional[int]
    scores: tuple[Score, ...]
    gaps: tuple[tuple[str, float], ...] = ()  # (factor, normalised MIG gap), where evaluated
    sampled_scores: tuple[Score, ...] = ()  # on the sampled representation, where evaluated

    def value(self, metric: str, representation: str = "mean") -> float:
        scores = {"mean": self.scores, "sampled": self.sampled_scores}[representation]
        values = [s.value for s in scores if s.metric == metric]
        return values[0] if values else float("nan")


def _scores(run_dir: str, label: str) -> tuple[tuple[Score, ...], tuple[tuple[str, float], ...], tuple[Score, ...]]:
    """A run's MIG and DCI scores on the mean representation, its per-factor MIG gaps (empty
    unless evaluated) and its scores on the sampled representation (empty unless evaluated)."""
    rows = aggregate_results([os.path.join(run_dir, paths.METRICS_DIR)])
    gaps: tuple[tuple[str, float], ...] = ()
    for row in rows:
        if gin_value(row.get(METRIC_KEY, "")) == GAPS_METRIC and representation_of(row) == "mean":
            gaps = tuple((key[len(GAP_PREFIX):], float(value)) for key, value in row.items()
                         if key.startswith(GAP_PREFIX) and isinstance(value, (int, float)))
    return (tuple(extract_scores(rows, METRICS, "mean", label=label, source=run_dir)), gaps,
            tuple(extract_scores(rows, METRICS, "sampled", label=label, source=run_dir)))


def collect_results(study: Study, study_dir: str) -> list[RunResult]:
    """Every finished run's scores and costs, plus the UDR selections' chosen models."""
    status = StudyStatus(study_dir)
    results, by_key = [], {}
    for run in plan_runs(study, study_dir):
        entry = status.get(run.key)
        if entry.get("state") != "done":
            continue
        result = RunResult(run.name, run.label, run.seed, run.run_dir, int(entry["training_images"]),
                           float(entry["wall_seconds"]), run.leaf_runs, *_scores(run.run_dir, run.label))
        results.append(result)
        by_key[(run.name, run.seed)] = result
    for method in study.methods:
        if method.kind != "udr_selection":
            continue
        candidates = {name: {s: by_key[(name, s)].run_dir for s in study.seeds if (name, s) in by_key}
                      for name in method.select_from}
        if any(len(c) != len(study.seeds) for c in candidates.values()):
            continue  # its candidates are not all trained yet
        selection = udr_selection(study_dir, method.name, candidates)
        for seed in study.seeds:
            chosen = by_key[(selection["chosen"][str(seed)], seed)]
            cost = [by_key[(name, seed)] for name in method.select_from]
            results.append(RunResult(method.name, method.label, seed, chosen.run_dir,
                                     sum(r.training_images for r in cost), sum(r.wall_seconds for r in cost),
                                     None, tuple(dataclasses.replace(s, method=method.label)
                                                 for s in chosen.scores), chosen.gaps,
                                     tuple(dataclasses.replace(s, method=method.label)
                                           for s in chosen.sampled_scores)))
    return results


def _quartiles(values: Sequence[float]) -> tuple[float, float, float]:
    finite = np.asarray([v for v in values if np.isfinite(v)], np.float64)
    if finite.size == 0:
        return (float("nan"),) * 3
    q1, median, q3 = np.percentile(finite, [25, 50, 75])
    return float(median), float(q1), float(q3)


def summary_table(results: Sequence[RunResult], representation: str = "mean") -> str:
    """Markdown: per method (Fig. 4 label, then the rPU-VAE variants) n, MIG and DCI
    disentanglement median and IQR on ``representation``, training images per model and wall
    seconds spent."""
    labels = list(dict.fromkeys(r.label for r in results))
    head = ("| method | n | MIG median | MIG IQR | DCI median | DCI IQR | images per model (median) | "
            "wall s (all seeds) |")
    lines = [head, "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for label in labels:
        group = [r for r in results if r.label == label]
        mig, mig_q1, mig_q3 = _quartiles([r.value("mig", representation) for r in group])
        dci, dci_q1, dci_q3 = _quartiles([r.value("dci", representation) for r in group])
        images = int(np.median([r.training_images for r in group]))
        wall = sum(r.wall_seconds for r in group)
        lines.append(f"| {label} | {len(group)} | {mig:.3f} | {mig_q3 - mig_q1:.3f} | {dci:.3f} | "
                     f"{dci_q3 - dci_q1:.3f} | {images:,} | {wall:,.0f} |")
    return "\n".join(lines) + "\n"


def per_run_table(results: Sequence[RunResult]) -> str:
    """Markdown: every model (every seed reported), its scores and costs."""
    lines = ["| method | seed | MIG | DCI | images | wall s | run |", "|---|---:|---:|---:|---:|---:|---|"]
    for r in results:
        lines.append(f"| {r.name} | {r.seed} | {r.value('mig'):.3f} | {r.value('dci'):.3f} | "
                     f"{r.training_images:,} | {r.wall_seconds:,.0f} | {r.run_dir} |")
    return "\n".join(lines) + "\n"


def gaps_table(results: Sequence[RunResult]) -> str:
    """Markdown: each run's normalised MIG gap per factor (runs evaluated with ``mig_gaps``)."""
    rows = [r for r in results if r.gaps]
    if not rows:
        return ""
    factors = list(dict.fromkeys(name for r in rows for name, _ in r.gaps))
    lines = ["| method | seed | MIG | " + " | ".join(factors) + " |", "|---|---:|---:|" + "---:|" * len(factors)]
    for r in rows:
        gaps = dict(r.gaps)
        cells = [f"{gaps[f]:.2f}" if f in gaps else "—" for f in factors]
        lines.append(f"| {r.name} | {r.seed} | {r.value('mig'):.3f} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def results_json(study: Study, results: Sequence[RunResult]) -> dict:
    """Every run as one JSON object, enough to recompute the tables (NaN scores as null)."""
    def number(value: float) -> Optional[float]:
        return float(value) if math.isfinite(value) else None

    return {"study": study.name, "seeds": list(study.seeds), "runs": [
        {"method": r.name, "group": r.label, "seed": r.seed, "leaf_runs": r.leaf_runs,
         "mig": number(r.value("mig")), "dci": number(r.value("dci")), "training_images": r.training_images,
         "wall_seconds": r.wall_seconds, "gaps": dict(r.gaps), "run_dir": r.run_dir,
         **({"sampled": {"mig": number(r.value("mig", "sampled")), "dci": number(r.value("dci", "sampled"))}}
            if r.sampled_scores else {})} for r in results]}


def write_fig5(study: Study, study_dir: str, out_dir: str) -> tuple[dict[str, str], str]:
    """The paper's Fig. 5 per seed of every rPU-VAE method that trains its own stages: the
    metaEpochs of its run with the most leaf-runs (which the other variants share), as
    ``report/fig5_<method>_seed<s>.png`` (:func:`~rpu_tf.visualize.run_stages.plot_run_stages`),
    and the same as Markdown (one line per metaEpoch); returns the files and the Markdown."""
    status = StudyStatus(study_dir)
    written, lines = {}, []
    for run in plan_runs(study, study_dir):
        method = run.method
        if (method.kind != "rpu_vae" or method.stages_from is not None or run.leaf_runs != max(method.leaf_runs)
                or status.get(run.key).get("state") != "done"):
            continue
        name = f"fig5_{slug(method.name)}_seed{run.seed}"
        path = plot_run_stages(run.run_dir, os.path.join(out_dir, name + ".png"),
                               f"{study.name}: {method.name}, seed {run.seed}, each metaEpoch's best replica")
        summary = read_summary(run.run_dir)
        if path is None or summary is None:
            continue
        written[name] = path
        lines.append(f"**{method.name}, seed {run.seed}** ([{name}.png]({name}.png)):\n")
        lines += [f"- {stage_caption(stage)}" for stage in summary.get("stages", [])]
        lines.append("")
    return written, "\n".join(lines)


def budget_sentence(study_dir: str) -> str:
    """The study's budget of training images per model (``budget.json``) as one Markdown sentence."""
    path = os.path.join(study_dir, BUDGET_FILE)
    if not os.path.exists(path):
        return "Budget: not measured yet."
    budget = read_json(path)
    text = f"Budget: {int(budget['budget_images']):,} training images per model ({budget.get('source', 'unknown source')}"
    per_seed = budget.get("per_seed") or {}
    if per_seed:
        text += "; " + ", ".join(f"{key} {int(images):,}" for key, images in per_seed.items())
    return text + ")."


def write_report(study: Study, study_dir: str) -> dict[str, str]:
    """Writes ``report/{fig4.png, fig6.png, results.md, results.json}`` and ``report/tensorboard/``
    (:mod:`rpu_tf.studies.board`); returns the paths written."""
    results = collect_results(study, study_dir)
    if not results:
        raise RunFailedError(f"Study {study.name}: no finished run in {study_dir} to report on yet.")
    out_dir = os.path.join(study_dir, REPORT_DIR)
    os.makedirs(out_dir, exist_ok=True)
    written = {}
    variants = {r.name for r in results if r.leaf_runs is not None and r.label == r.name}
    fig4 = [s for r in results if r.name not in variants for s in r.scores]
    seeds = f"{len(study.seeds)} seed{'s' if len(study.seeds) != 1 else ''}"
    written["fig4"] = plot_comparison(fig4, os.path.join(out_dir, "fig4.png"), METRICS,
                                      title=f"{study.name}: {seeds} per method")
    fig6 = [dataclasses.replace(s, method=str(r.leaf_runs)) for r in results if r.leaf_runs is not None
            for s in r.scores]
    if fig6:
        written["fig6"] = plot_leaf_runs(fig6, os.path.join(out_dir, "fig6.png"), METRICS,
                                         title=f"{study.name}: rPU-VAE against its leaf-runs")
    text = (f"# Study {study.name}\n\nSeeds {list(study.seeds)}; metrics {', '.join(SCORE_KEYS[m][0] for m in METRICS)} "
            f"(mean representation). {budget_sentence(study_dir)}\n\nWall seconds are each run's own training and "
            f"evaluation; rPU-VAE variants with fewer leaf-runs reuse the first stages of the variant with the "
            f"most and count only their own final stage's time (their images count every stage they use).\n\n"
            f"## Per method\n\n{summary_table(results)}\n"
            f"## Every run\n\n{per_run_table(results)}")
    if any(r.sampled_scores for r in results):
        text += ("\n## Per method, sampled representation\n\nThe same models scored on a sample of "
                 "q(z|x) instead of its mean (disentanglement_lib's `sampled` postprocessing; "
                 f"medians over the runs evaluated on it).\n\n{summary_table(results, 'sampled')}")
    fig5, fig5_text = write_fig5(study, study_dir, out_dir)
    written.update(fig5)
    if fig5_text:
        text += ("\n## Fig. 5: what each metaEpoch learned\n\nPer seed, the metaEpochs of the rPU-VAE run "
                 "with the most leaf-runs: data set size, best UDR, the factor each active latent tracks "
                 "(most mutual information) and the images the cut kept; the figures show each "
                 f"metaEpoch's latent traversals.\n\n{fig5_text}")
    gaps = gaps_table(results)
    if gaps:
        text += ("\n## Per-factor MIG gaps\n\nEach factor's normalised gap (mutual information of its "
                 "best latent minus its second best, over the factor's entropy; `mig_gaps`): which "
                 f"factors a model separates.\n\n{gaps}")
    written["table"] = os.path.join(out_dir, "results.md")
    atomic_write_text(written["table"], text)
    written["json"] = os.path.join(out_dir, "results.json")
    atomic_write_json(written["json"], results_json(study, results))
    written["tensorboard"] = write_study_board(study, results, out_dir)  # the HPARAMS tab: a session per run
    return written
