"""TensorBoard's view of a PBT-VAE population, written by the driver while the run goes on.

Under ``PBT_RUN/tensorboard/`` (``tensorboard --logdir RUN``; for rPU-VAE every stage is such
a run, ``RUN/stages/<stage>/`` and ``RUN/`` for the final stage):

- ``member_XXXX/``, one folder per member:

  - ``steps/<term>`` (``loss``, ``reconstruction_loss``, ``kl_loss``, ``regularizer``,
    ``elbo``, ...): its training curve at a single model's step resolution
    (:data:`~rpu_tf.rpu.vae_member.CURVE_POINTS` windows per generation, means over its
    replicas), against the member's own step count (the steps this member trained, over
    all generations). A member that copies another in exploit goes on at its own count with
    the donor's weights (its curve jumps there); the copy shows as ``pbt/copied_member``
    (the donor's id) and the text ``pbt/exploit`` (donor, its score, the explored
    hyperparameters) at the step where it happened;
  - against the generation: ``score``, ``hyperparameters/<name>`` and ``train/<term>``
    (means over the generation's training);
  - once the population has finished, a session of the HPARAMS tab: the member's last
    hyperparameters (learning rate, the model's regulariser weight such as ``beta``, batch
    size; plus the scorer and, in rPU-VAE, the stage) against its metrics, the last value of
    each scalar above (``score`` first);

- ``population/``: each generation's best and median score.

Curves of member steps that a resumed run finds done were written by the run that did them.
"""

from __future__ import annotations

import logging
import os
from typing import Mapping, Optional

import numpy as np

from rpu_tf.layout.pbt_files import read_generation_log
from rpu_tf.layout.paths import GENERATIONS_FILE
from rpu_tf.training.summaries import SummaryWriter, has_session, write_session

logger = logging.getLogger(__name__)


def member_folder(member_id: int) -> str:
    """A member's folder under the run's TensorBoard folder."""
    return f"member_{int(member_id):04d}"


class PopulationBoard:
    """The controller's ``on_member_step`` and ``on_generation`` callbacks writing the view
    above to ``logdir`` for the PBT run in ``pbt_dir``; :meth:`write_sessions` at the end.

    Args:
      logdir: the run's TensorBoard folder.
      pbt_dir: the PBT run folder (its generation log gives a resumed run's step counts).
      session_hparams: added to every member's session (e.g. ``{"scorer": "UDRScore"}``).
    """

    def __init__(self, logdir: str, pbt_dir: str, session_hparams: Optional[Mapping[str, str]] = None):
        self.logdir = logdir
        self.pbt_dir = pbt_dir
        self.session_hparams = dict(session_hparams or {})
        self._writers: dict[str, SummaryWriter] = {}
        self._own_steps: Optional[dict[int, int]] = None  # member -> steps trained in counted generations
        self._counted_through = -1  # the last generation counted in _own_steps
        self._scores: dict[int, Optional[float]] = {}  # member -> score in the last counted generation

    def _writer(self, name: str) -> SummaryWriter:
        if name not in self._writers:
            self._writers[name] = SummaryWriter(os.path.join(self.logdir, name))
        return self._writers[name]

    def _logged(self) -> list[dict]:
        """The generation log's records; none (with a warning: the view is not worth failing
        a run for) when it is missing or damaged."""
        if not os.path.exists(os.path.join(self.pbt_dir, GENERATIONS_FILE)):
            return []
        try:
            return [r for r in read_generation_log(self.pbt_dir)
                    if isinstance(r.get("generation"), int) and isinstance(r.get("member_id"), int)]
        except (OSError, ValueError) as error:
            logger.warning("TensorBoard: %s; member curves count their steps from 0 and no session is written.",
                           error)
            return []

    def _count(self, generation: int, records: list) -> None:
        if generation <= self._counted_through:
            return
        for record in records:
            member = int(record["member_id"])
            self._own_steps[member] = self._own_steps.get(member, 0) + int(record.get("num_steps") or 0)
        self._scores = {int(r["member_id"]): r.get("score") for r in records}
        self._counted_through = generation

    def _steps(self) -> dict[int, int]:
        """Steps each member trained in the generations counted so far (from the generation
        log on first use: a resumed run continues each member's count)."""
        if self._own_steps is None:
            self._own_steps = {}
            logged = self._logged()
            for generation in sorted({int(r["generation"]) for r in logged}):
                self._count(generation, [r for r in logged if int(r["generation"]) == generation])
        return self._own_steps

    def on_member_step(self, result, member: Mapping) -> None:
        """Writes a finished member step's training curve (a
        :class:`~rpu_tf.pbt.trainable.MemberResult`) at the member's own step count and, when
        ``member`` copied another in exploit, that copy."""
        start = self._steps().get(int(result.member_id), 0)
        writer = self._writer(member_folder(result.member_id))
        donor = member.get("parent")
        if donor is not None:
            score = self._scores.get(int(donor))
            explored = ", ".join(f"{k} {v:.4g}" for k, v in sorted(member.get("hyperparameters", {}).items()))
            writer.write(start, {"pbt/copied_member": float(donor)})
            writer.write_text(start, "pbt/exploit", (
                f"Generation {result.generation}: copies member {donor}"
                + (f" (score {score:.4f} in generation {result.generation - 1})" if score is not None else "")
                + f": its weights, optimizer state and hyperparameters, explored to {explored}. "
                f"This curve goes on at this member's own step count ({start})."))
        writer.write_points([(start + step, {f"steps/{term}": value for term, value in values.items()})
                             for step, values in result.curve])

    def __call__(self, generation: int, records: list) -> None:
        """``on_generation``: each member's score, hyperparameters and training metrics and the
        population's best and median score, at step = generation."""
        self._steps()
        self._count(generation, records)
        scores = [r["score"] for r in records if r.get("score") is not None]
        for record in records:
            values = {"score": record.get("score")}
            values.update({f"hyperparameters/{k}": v for k, v in (record.get("hyperparameters") or {}).items()})
            values.update({f"train/{k}": v for k, v in (record.get("metrics") or {}).items()
                           if isinstance(v, (int, float))})
            self._writer(member_folder(record["member_id"])).write(generation, values)
        if scores:
            self._writer("population").write(generation, {"best_score": max(scores),
                                                          "median_score": float(np.median(scores))})

    def write_sessions(self) -> int:
        """One hparams session per member of the finished run that has none yet: its last
        hyperparameters (and :attr:`session_hparams`). Returns how many were written."""
        last: dict[int, dict] = {}
        for record in self._logged():  # generation order: the last record of each member wins
            last[int(record["member_id"])] = record
        written = 0
        for member, record in sorted(last.items()):
            folder = os.path.join(self.logdir, member_folder(member))
            if has_session(folder):
                continue
            hparams = {k: float(v) for k, v in (record.get("hyperparameters") or {}).items()}
            write_session(folder, {**hparams, **self.session_hparams}, group_name=os.path.abspath(folder))
            written += 1
        if written:
            logger.debug("TensorBoard: %d hyperparameter sessions in %s.", written, self.logdir)
        return written

    def close(self) -> None:
        for writer in self._writers.values():
            writer.close()
        self._writers.clear()
