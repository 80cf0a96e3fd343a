"""Algorithm 1's control flow with fake stages: end reasons, rank-i leaf-runs, label blocks, resume.

No training: the metaEpoch, label, reduce and final stages are scripted, so every branch
decision of the recursion is checked exactly and in milliseconds.
"""

import dataclasses

import numpy as np
import pytest

from rpu_tf.data.factor_grid import FactorGridData
from rpu_tf.layout.rpu_files import StageRecord
from rpu_tf.rpu.algorithm import Labelling, Settings, StageOutcome, Stages, run_algorithm_1
from rpu_tf.rpu.journal import StageJournal
from rpu_tf.rpu.reduction import ReductionResult

N = 100
SEED = 7


class Line(FactorGridData):
    """``N`` observations along one factor (never rendered here)."""

    def __init__(self):
        super().__init__([N])

    @property
    def observation_shape(self):
        return [1]

    def _observations_from_all_factors(self, factors, random_state):
        return np.asarray(factors, np.float32)[:, :1]


#: Per metaEpoch: (best UDR, active latents). Codes come from the stage's own random draw.
SCRIPT = {
    "initial": (0.5, [0, 2]),
    "leaf1_meta1": (0.4, [1]),
    "leaf1_meta2": (0.3, [0]),  # keeps 10 = min_dataset_size: leaf-run 1 ends before meta3
    "leaf2_meta1": (0.05, [0, 1]),  # UDR below the threshold
    "leaf3_meta1": (0.6, [2]),  # its reduction finds no structure
    "leaf4_meta1": (0.7, []),  # no active latent
}
#: (data set size, rank) -> kept positions; anything else: no structure.
CUTS = {
    (N, 0): np.arange(0, 40), (N, 1): np.arange(40, 70), (N, 2): np.arange(70, 90), (N, 3): np.arange(88, 100),
    (40, 0): np.arange(0, 25), (25, 0): np.arange(0, 10),
}
#: Root indices each metaEpoch must train on.
EXPECTED_DATA = {
    "initial": np.arange(N), "leaf1_meta1": np.arange(0, 40), "leaf1_meta2": np.arange(0, 25),
    "leaf2_meta1": np.arange(40, 70), "leaf3_meta1": np.arange(70, 90), "leaf4_meta1": np.arange(88, 100),
}
ORDER = list(EXPECTED_DATA)
SETTINGS = Settings(max_leaf_runs=5, max_meta_epochs=4, min_dataset_size=10, udr_threshold=0.1, seed=SEED)


class Interrupted(Exception):
    pass


class MemoryJournal:
    def __init__(self):
        self.outcomes, self.leaf_runs = {}, None

    def load(self, name):
        return self.outcomes.get(name)

    def save(self, outcome):
        self.outcomes[outcome.record.name] = outcome

    def save_leaf_runs(self, surrogate):
        self.leaf_runs = surrogate


class FakeStages:
    """Scripted stages that log their calls; ``interrupt_at``: the n-th new stage raises."""

    def __init__(self, journal, script=SCRIPT, interrupt_at=None):
        self.journal, self.script, self.interrupt_at = journal, script, interrupt_at
        self.trained, self.reduced, self.finals, self.seeds, self.data, self.drawn = [], [], [], {}, {}, []

    def _tick(self):
        if self.interrupt_at is not None and len(self.trained) + len(self.finals) == self.interrupt_at:
            raise Interrupted()

    def meta_epoch(self, name, data, seed):
        self._tick()
        self.trained.append(name)
        self.seeds[name], self.data[name] = seed, data.root_indices if hasattr(data, "root_indices") else None
        return name

    def label(self, name, data):
        score, active = self.script[name]
        means = np.random.RandomState(len(name)).randn(data.num_observations, 3)
        return Labelling(score, 2, "max_generations", np.array([2.0, 1.5, 3.0]), means, np.asarray(active, np.int64))

    def reduce(self, labels, rank):
        self.reduced.append((labels, rank))
        kept = CUTS.get((len(labels), rank))
        if kept is None:
            return ReductionResult(None, f"no cut for {len(labels)} points at rank {rank}", [], [], 0)
        return ReductionResult(kept, None, [], [0], 1)

    def final(self, surrogate):
        self._tick()
        self.finals.append(surrogate)
        return {"final": len(surrogate)}

    def stages(self):
        return Stages(self.meta_epoch, self.label, self.reduce, self.final, self.journal,
                      on_stage=lambda outcome: self.drawn.append(outcome.record.name))


def _run(fake, settings=SETTINGS):
    return run_algorithm_1(Line(), fake.stages(), settings)


def test_every_end_reason_and_the_rank_i_leaf_runs():
    fake = FakeStages(MemoryJournal())
    result = _run(fake)
    assert fake.trained == ORDER and fake.drawn == ORDER
    records = {name: o.record for name, o in fake.journal.outcomes.items()}
    assert records["initial"].end_reason is None and records["initial"].kept_size == 40
    assert records["leaf1_meta1"].end_reason is None and records["leaf1_meta1"].kept_size == 25
    assert records["leaf1_meta2"].end_reason is None and records["leaf1_meta2"].kept_size == 10
    assert "below udr_threshold=0.1" in records["leaf2_meta1"].end_reason
    assert "no structure" in records["leaf3_meta1"].end_reason
    assert "no active latent" in records["leaf4_meta1"].end_reason
    assert [records[n].leaf_run for n in ORDER] == [None, 1, 1, 2, 3, 4]
    assert [records[n].meta_epoch for n in ORDER] == [0, 1, 2, 1, 1, 1]
    assert [records[n].dataset_size for n in ORDER] == [N, 40, 25, 30, 20, 12]
    assert "leaf1_meta3" not in records  # 10 images left: not more than min_dataset_size=10
    # The initial metaEpoch's own (rank 0) reduction, then leaf-run i starts from the
    # rank-(i-1) cut of the initial labels, up to the first rank without a cut (no leaf-run 5).
    labels_0 = fake.journal.outcomes["initial"].labels
    assert [rank for labels, rank in fake.reduced if labels is labels_0] == [0, 0, 1, 2, 3, 4]
    for name, expected in EXPECTED_DATA.items():
        trained_on = fake.data[name] if fake.data[name] is not None else np.arange(N)
        np.testing.assert_array_equal(trained_on, expected)
    # Each metaEpoch is seeded seed + k, in the order they run.
    assert [fake.seeds[n] for n in ORDER] == [SEED + k for k in range(1, len(ORDER) + 1)]
    assert result.final == {"final": 4}


def test_label_blocks_per_leaf_run_reach_the_final_stage():
    fake = FakeStages(MemoryJournal())
    result = _run(fake)
    outcomes = fake.journal.outcomes
    blocks = result.surrogate_labels
    assert fake.finals == [blocks] and fake.journal.leaf_runs is blocks
    expected = [["initial", "leaf1_meta1", "leaf1_meta2"], ["initial"], ["initial", "leaf3_meta1"], ["initial"]]
    assert len(blocks) == len(expected)
    for run, names in zip(blocks, expected):
        assert len(run) == len(names)
        for (indices, labels), name in zip(run, names):
            np.testing.assert_array_equal(indices, EXPECTED_DATA[name])
            assert labels is outcomes[name].labels
            assert labels.shape == (len(indices), len(SCRIPT[name][1]))


def test_the_initial_metaepoch_must_label_something():
    script = dict(SCRIPT, initial=(0.5, []))
    with pytest.raises(RuntimeError, match="initial metaEpoch learned nothing"):
        _run(FakeStages(MemoryJournal(), script))
    script = dict(SCRIPT, initial=(0.01, [0]))
    with pytest.raises(RuntimeError, match="below udr_threshold"):
        _run(FakeStages(MemoryJournal(), script))


def test_without_any_cut_the_final_stage_gets_the_initial_labels_alone():
    fake = FakeStages(MemoryJournal())
    result = _run(fake, dataclasses.replace(SETTINGS, max_leaf_runs=0))
    assert fake.trained == ["initial"]
    (only,), = result.surrogate_labels
    np.testing.assert_array_equal(only[0], np.arange(N))
    assert only[1] is fake.journal.outcomes["initial"].labels


def test_max_meta_epochs_bounds_a_leaf_run():
    fake = FakeStages(MemoryJournal())
    _run(fake, dataclasses.replace(SETTINGS, max_meta_epochs=1, max_leaf_runs=1))
    assert fake.trained == ["initial", "leaf1_meta1"]


@pytest.mark.parametrize("interrupt_at", range(len(ORDER) + 1))
def test_resume_after_each_stage_repeats_nothing_and_ends_the_same(interrupt_at):
    reference = FakeStages(MemoryJournal())
    expected = _run(reference)
    journal = MemoryJournal()
    with pytest.raises(Interrupted):
        _run(FakeStages(journal, interrupt_at=interrupt_at))
    assert list(journal.outcomes) == ORDER[:interrupt_at]
    again = FakeStages(journal)
    result = _run(again)
    assert again.trained == ORDER[interrupt_at:]  # finished metaEpochs come from the journal
    assert {n: again.seeds[n] for n in again.trained} == {n: reference.seeds[n] for n in again.trained}
    assert {n: o.record for n, o in journal.outcomes.items()} == {
        n: o.record for n, o in reference.journal.outcomes.items()}
    assert result.final == expected.final
    for run, ref_run in zip(result.surrogate_labels, expected.surrogate_labels):
        for (idx, lab), (ref_idx, ref_lab) in zip(run, ref_run):
            np.testing.assert_array_equal(idx, ref_idx)
            np.testing.assert_array_equal(lab, ref_lab)


def test_the_disk_journal_round_trips_a_stage(tmp_path):
    record = StageRecord(name="leaf1_meta1", leaf_run=1, meta_epoch=1, dataset_size=4, best_score=0.3,
                         generations=2, stop_reason="converged", active_latents=[1], kl=[0.1, 2.0],
                         kept_size=2, end_reason=None)
    labels = np.array([[0.1], [0.2], [0.3], [0.4]])
    outcome = StageOutcome(record, np.array([5, 6, 7, 9]), labels, np.array([1, 3]))
    StageJournal(str(tmp_path)).save(outcome)
    ended = dataclasses.replace(record, name="leaf2_meta1", kept_size=None, end_reason="no active latent")
    StageJournal(str(tmp_path)).save(StageOutcome(ended, np.array([0, 1]), None, None))
    journal = StageJournal(str(tmp_path))
    loaded = journal.load("leaf1_meta1")
    assert loaded.record == record
    np.testing.assert_array_equal(loaded.root_indices, [5, 6, 7, 9])
    np.testing.assert_array_equal(loaded.labels, labels)
    np.testing.assert_array_equal(loaded.kept, [1, 3])
    assert set(journal.manifest["stages"]) == {"leaf1_meta1", "leaf2_meta1"}  # both kept on disk
    empty = journal.load("leaf2_meta1")
    assert empty.labels is None and empty.kept is None and empty.record == ended
    assert journal.load("initial") is None
