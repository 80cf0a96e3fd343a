"""PBT hyperparameter trajectories per generation (as in the paper's Supplementary B).

Input: a PBT run's ``generations.jsonl``, one JSON object per line and member per finished
generation, with at least::

    generation       int, 0-based
    member_id        int
    parent           int or null: the member whose state this member copied (exploit)
                     before training in this generation; null if it continued its own
    hyperparameters  {"learning_rate": float, "beta": float, "batch_size": int, ...},
                     the values it trained with in this generation
    score            float or null (null: failed or not scored)
    failed           null/false, or the reason the member step failed
    kept             whether the member stayed in the population after this generation

The figure has one panel per hyperparameter and one for the score, generation on the x
axis, a coloured line per member. A member that copied another is joined to the
donor's point of the previous generation by a dashed line (its lineage); failed steps are
red crosses, members dropped from the population hollow circles.
"""

from __future__ import annotations

import dataclasses
import json
import math
from typing import Any, Optional, Sequence

from rpu_tf.visualize.dependencies import pyplot
from rpu_tf.visualize.images import save_figure

REQUIRED_KEYS = ("generation", "member_id", "parent", "hyperparameters", "score", "failed", "kept")
#: Panels in this order when present; other numeric hyperparameters follow.
HYPERPARAMETERS = ("learning_rate", "beta", "batch_size")
LABELS = {"learning_rate": "learning rate", "beta": "β", "batch_size": "batch size",
          "score": "score"}
LOG_SCALE = ("learning_rate", "beta", "batch_size")


@dataclasses.dataclass(frozen=True)
class GenerationRecord:
    """One member in one generation."""

    generation: int
    member_id: int
    parent: Optional[int]
    hyperparameters: dict[str, Any]
    score: Optional[float]
    failed: bool
    kept: bool


def read_generations(path: str) -> list[GenerationRecord]:
    """Records of a ``generations.jsonl`` file.

    Raises:
      ValueError: a line is not JSON or lacks keys (the message names the line and keys).
    """
    records = []
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                entry = json.loads(line)
            except json.JSONDecodeError as error:
                raise ValueError(f"{path}:{number} is not JSON: {error}.") from None
            missing = [k for k in REQUIRED_KEYS if k not in entry]
            if missing:
                raise ValueError(f"{path}:{number} lacks the keys {', '.join(missing)} of a PBT "
                                 f"generation record (expected {', '.join(REQUIRED_KEYS)}).")
            score = entry["score"]
            records.append(GenerationRecord(
                generation=int(entry["generation"]), member_id=int(entry["member_id"]),
                parent=None if entry["parent"] is None else int(entry["parent"]),
                hyperparameters=dict(entry["hyperparameters"] or {}),
                score=float(score) if score is not None and math.isfinite(score) else None,
                failed=bool(entry["failed"]), kept=bool(entry["kept"])))
    if not records:
        raise ValueError(f"{path} holds no generation records.")
    return records


def _value(record: GenerationRecord, key: str) -> Optional[float]:
    value = record.score if key == "score" else record.hyperparameters.get(key)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(value)


def panels(records: Sequence[GenerationRecord]) -> list[str]:
    """The hyperparameters to plot (numeric ones present in the records) plus ``score``."""
    present = []
    for record in records:
        for key in record.hyperparameters:
            if key not in present and _value(record, key) is not None:
                present.append(key)
    ordered = [k for k in HYPERPARAMETERS if k in present] + [k for k in present
                                                              if k not in HYPERPARAMETERS]
    return ordered + ["score"]


def plot_pbt_trajectories(records: Sequence[GenerationRecord], path: str,
                          title: Optional[str] = None) -> str:
    """Writes the trajectory figure of ``records`` to ``path``; returns ``path``."""
    plt = pyplot()
    keys = panels(records)
    members = sorted({r.member_id for r in records})
    colour = {m: plt.get_cmap("tab10" if len(members) <= 10 else "tab20")(i % 20)
              for i, m in enumerate(members)}
    at = {(r.generation, r.member_id): r for r in records}
    figure, axes = plt.subplots(len(keys), 1, sharex=True, squeeze=False,
                                figsize=(7.0, 1.9 * len(keys) + 0.6))
    for ax, key in zip(axes[:, 0], keys):
        for r in records:
            y = _value(r, key)
            source = r.parent if r.parent is not None else r.member_id
            previous = at.get((r.generation - 1, source))
            y0 = None if previous is None else _value(previous, key)
            if y is not None and y0 is not None:
                copied = r.parent is not None and r.parent != r.member_id
                ax.plot([r.generation - 1, r.generation], [y0, y], color=colour[r.member_id],
                        linestyle="--" if copied else "-", linewidth=1.0 if copied else 1.4,
                        alpha=0.9)
            if r.failed:
                y_fail = y if y is not None else _fallback_y(records, key, r.generation)
                if y_fail is not None:
                    ax.scatter([r.generation], [y_fail], marker="x", color="red", s=30, zorder=4)
            elif y is not None:
                ax.scatter([r.generation], [y], s=16, zorder=3,
                           facecolors=colour[r.member_id] if r.kept else "none",
                           edgecolors=colour[r.member_id])
        if key in LOG_SCALE and all((_value(r, key) or 1.0) > 0 for r in records):
            ax.set_yscale("log", base=2 if key == "batch_size" else 10)
        ax.set_ylabel(LABELS.get(key, key), fontsize=9)
        ax.grid(alpha=0.3)
    last = max(r.generation for r in records)
    axes[-1, 0].set_xlabel("generation")
    axes[-1, 0].set_xlim(-0.5, last + 0.5)
    axes[-1, 0].set_xticks(range(0, last + 1, max(1, (last + 1) // 12)))
    _legend(axes[0, 0], members, colour)
    if title:
        figure.suptitle(title, fontsize=10)
    figure.tight_layout()
    return save_figure(figure, path)


def _fallback_y(records: Sequence[GenerationRecord], key: str, generation: int) -> Optional[float]:
    """Where to mark a failed member without a value: the lowest value of its generation."""
    values = [v for r in records if r.generation == generation and (v := _value(r, key)) is not None]
    return min(values) if values else None


def _legend(ax, members: Sequence[int], colour: dict) -> None:
    from matplotlib.lines import Line2D

    handles = [Line2D([], [], color=colour[m], marker="o", markersize=4, label=f"member {m}")
               for m in members[:10]]
    handles += [Line2D([], [], color="black", linestyle="--", label="copied (exploit)"),
                Line2D([], [], color="red", marker="x", linestyle="none", label="failed"),
                Line2D([], [], color="black", marker="o", markerfacecolor="none",
                       linestyle="none", label="dropped")]
    ax.legend(handles=handles, fontsize=7, ncol=2, loc="upper left", bbox_to_anchor=(1.01, 1.0),
              frameon=False)
