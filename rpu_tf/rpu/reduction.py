"""Dataset reduction of the rPU-VAE recursion (paper section 4.2, Fig. 3). Pure numpy.

After a metaEpoch, the best replica encodes the current data set. Its *active* latents
(mean KL to the prior above ``active_kl_threshold``;
:func:`rpu_tf.metrics.latent_codes.active_latents`) become surrogate labels, and the data set
is cut to an interval where those latents vary least:

1. per active latent, sort the codes and take the gaps between sorted neighbours (the
   derivative of the sorted codes); gap ``p`` lies between sorted points ``p`` and ``p+1``;
   with ``gap_smoothing_fraction > 0`` (a deviation: the paper uses the raw gaps, 0) the
   gaps are averaged over a centred window of that fraction of the points first, so that
   the dips in density between the codes of neighbouring factor values stand out of the
   point-to-point noise when those clusters touch (many points, codes that are not yet
   a clean staircase);
2. find peaks of the gaps (``scipy.signal.find_peaks``) after trimming ``edge_trim_fraction``
   of the gaps at each end, at least ``min_peak_distance_fraction`` of the gaps apart,
   higher than ``median + peak_height_std * std`` (the std taken over gaps below
   ``median + std_outlier_clip * std``, so the peaks themselves do not inflate it);
3. the candidate intervals are the runs of sorted points between two neighbouring peaks,
   and, when there are at most ``max_peaks_for_edge_intervals`` peaks, the runs from either
   end to the nearest peak. An interval between peaks ``a < b`` holds sorted points
   ``a+1 .. b``: no point from across either gap (the paper's code starts one point early);
4. an interval's score is (lower adjacent peak) / (mean gap inside it); higher is better
   (a constant interval scores infinity); ties go to the larger interval;
5. with one active latent the ``rank``-th best interval is kept; with several, the best
   ``max_intervals_per_latent`` intervals of each latent are intersected in every
   combination, intersections with at least ``min_intersection_size`` points are
   candidates, ordered best first by the sum of the per-latent interval ranks (ties: the
   larger set), and the ``rank``-th is kept. ``intersection_order="median_size"`` orders
   them as the paper's code does instead (closest to the median candidate size first),
   which can prefer a small intersection of poor intervals over the best intervals' one.
   ``latent_selection="greedy"`` (a deviation: the paper intersects every active latent)
   lets latents join the cut one by one, best-structured first, and leaves out a latent
   that has no peak, whose structure is much weaker than the best latent's
   (``min_score_ratio``), or whose intervals would leave no candidate: a factor split over
   two latents, or a coarse factor whose intervals are fragments, then no longer empties
   the cut of the clean ones (colour sprites: x and y cut to one cell where all four active
   latents together keep no set of 6 points).

Defaults are the paper's code's constants. Two choices follow the paper's text (Sec. 4.2:
"we intersect the intervals of these factors") where its code differs: the default
``intersection_order="rank"`` and intervals that start after their gap. The result is the
kept indices, sorted, or a "no structure found" result with the reason, which ends the
branch.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from typing import Optional

import gin
import numpy as np
from scipy import signal

from rpu_tf.metrics.latent_codes import smoothed_gaps


@dataclasses.dataclass
class LatentIntervals:
    """Peaks and ranked candidate intervals of one latent.

    Attributes:
      order: positions of the points sorted by code, ``(n,)``.
      gaps: differences of the sorted codes, ``(n-1,)``; gap p lies between sorted p, p+1
        (smoothed when ``gap_smoothing_fraction > 0``).
      peaks: positions of the peak gaps, ascending.
      threshold: the peak height threshold used.
      intervals: ``(start, stop)`` ranges of sorted positions, best first.
      scores: the score of each interval, best first.
    """

    order: np.ndarray
    gaps: np.ndarray
    peaks: np.ndarray
    threshold: float
    intervals: list
    scores: list
    window: int = 1  # gaps averaged over this many neighbours (1: raw, the paper)

    def indices(self, k: int) -> np.ndarray:
        start, stop = self.intervals[k]
        return np.sort(self.order[start:stop])


@dataclasses.dataclass
class ReductionResult:
    """Outcome of :func:`reduce_indices`.

    Attributes:
      indices: kept positions (rows of ``codes``), sorted; None if no structure was found.
      reason: why nothing was kept (None when ``indices`` is set).
      latents: per-latent peaks and intervals (for plots and the run record).
      chosen: per latent, the rank of its interval that the kept set came from (None for a
        latent that ``latent_selection="greedy"`` left out of the cut).
      num_candidates: how many candidate sets there were to choose from.
    """

    indices: Optional[np.ndarray]
    reason: Optional[str]
    latents: list
    chosen: list
    num_candidates: int

    @property
    def found(self) -> bool:
        return self.indices is not None


def find_intervals(values, *, edge_trim_fraction: float, min_peak_distance_fraction: float,
                   peak_height_std: float, std_outlier_clip: float, max_peaks_for_edge_intervals: int,
                   gap_smoothing_fraction: float = 0.0, min_interval_size: int = 2) -> LatentIntervals:
    """Peaks of the sorted-code gaps of one latent and its ranked candidate intervals (the
    settings are :func:`reduce_indices`', which has the paper's values as defaults)."""
    values = np.asarray(values, dtype=np.float64)
    if values.ndim != 1:
        raise ValueError(f"codes of one latent must be a vector, got shape {values.shape}.")
    if not np.all(np.isfinite(values)):
        raise ValueError("codes contain NaN or Inf; check the encoder.")
    order = np.argsort(values, kind="stable")
    window = max(1, round(max(values.size - 1, 0) * gap_smoothing_fraction))
    gaps = smoothed_gaps(np.diff(values[order]), window)
    n_gaps = gaps.size
    empty = LatentIntervals(order, gaps, np.zeros(0, np.int64), math.inf, [], [], window)
    trim = int(n_gaps * edge_trim_fraction)
    inner = gaps[trim:n_gaps - trim]
    if inner.size < 3:
        return empty
    median = float(np.median(inner))
    spread = float(np.std(inner))
    clipped = inner[inner < median + std_outlier_clip * spread]
    std = float(np.std(clipped)) if clipped.size else 0.0
    threshold = median + peak_height_std * std
    distance = max(1, int(n_gaps * min_peak_distance_fraction))
    peaks, _ = signal.find_peaks(inner, height=threshold, distance=distance)
    peaks = peaks.astype(np.int64) + trim
    peaks = peaks[gaps[peaks] > 0]  # a zero gap separates nothing
    candidates = []  # (score, size, start, stop)

    def add(start: int, stop: int, lower_peak: float) -> None:
        if stop - start < min_interval_size:
            return
        inside = gaps[start:stop - 1]
        mean_gap = float(inside.mean()) if inside.size else 0.0
        score = math.inf if mean_gap == 0.0 else lower_peak / mean_gap
        candidates.append((score, stop - start, start, stop))

    for a, b in zip(peaks[:-1], peaks[1:]):
        add(int(a) + 1, int(b) + 1, float(min(gaps[a], gaps[b])))
    if 1 <= peaks.size <= max_peaks_for_edge_intervals:
        add(0, int(peaks[0]) + 1, float(gaps[peaks[0]]))
        add(int(peaks[-1]) + 1, n_gaps + 1, float(gaps[peaks[-1]]))
    candidates.sort(key=lambda c: (-c[0], -c[1], c[2]))
    return LatentIntervals(order, gaps, peaks, threshold, [(c[2], c[3]) for c in candidates],
                           [c[0] for c in candidates], window)


@gin.configurable("reduction", denylist=["codes", "rank"])
def reduce_indices(codes, rank: int = 0, edge_trim_fraction: float = 1 / 15,
                   min_peak_distance_fraction: float = 1 / 50, peak_height_std: float = 7.0,
                   std_outlier_clip: float = 4.0, max_peaks_for_edge_intervals: int = 3,
                   max_intervals_per_latent: int = 5, min_intersection_size: int = 6,
                   interval_trim: float = 0.0, intersection_order: str = "rank",
                   gap_smoothing_fraction: float = 0.0, latent_selection: str = "all",
                   min_score_ratio: float = 0.5) -> ReductionResult:
    """Chooses the subset of points where the active latents vary least.

    Args:
      codes: ``(n, a)`` codes of the active latents (or ``(n,)`` for one latent).
      rank: which candidate to keep, 0 = best (leaf-run i starts from rank i).
      edge_trim_fraction: fraction of gaps ignored at each end when finding peaks (1/15).
      min_peak_distance_fraction: minimum distance between peaks, as a fraction of the
        number of gaps (1/50).
      peak_height_std: peaks are higher than median + this many stds of the gaps (7).
      std_outlier_clip: gaps above median + this many stds are left out of the std (4).
      max_peaks_for_edge_intervals: with at most this many peaks, the runs from the ends
        to the nearest peak are candidates too (3).
      max_intervals_per_latent: best intervals per latent that enter the intersections (5).
      min_intersection_size: fewest points a kept set may have (6: the paper keeps > 5).
      interval_trim: fraction of each chosen interval's points dropped at each end (0).
      intersection_order: ``"rank"`` (sum of per-latent ranks, then size) or
        ``"median_size"`` (the paper's code: closest to the median candidate size).
      gap_smoothing_fraction: average the gaps over a centred window of this fraction of
        the points before finding peaks (0: the paper's raw gaps; e.g. 1/200 for tens of
        thousands of points whose per-value clusters touch). Below one gap it is 0.
      latent_selection: ``"all"`` (the paper: every active latent's intervals are
        intersected) or ``"greedy"`` (a deviation): latents whose best interval scores at
        least ``min_score_ratio`` of the best latent's join in score order, each only if at
        least ``rank + 1`` candidate sets remain with it; a latent without a peak, with
        weaker structure, or one that would leave too few, is left out of the cut (it stays
        a surrogate label).
      min_score_ratio: ``"greedy"`` only: the least best-interval score, relative to the
        best latent's, of a latent that may join the cut (0.5).

    Returns:
      A :class:`ReductionResult`; ``indices`` are row positions of ``codes``, sorted.
    """
    codes = np.asarray(codes, dtype=np.float64)
    if codes.ndim == 1:
        codes = codes[:, None]
    if codes.ndim != 2:
        raise ValueError(f"codes must have shape (num_points, num_active_latents), got {codes.shape}.")
    if codes.shape[1] == 0:
        return ReductionResult(None, "no active latent", [], [], 0)
    if int(rank) != rank or rank < 0:
        raise ValueError(f"rank must be a non-negative integer, got {rank!r}.")
    if intersection_order not in ("rank", "median_size"):
        raise ValueError(f"reduction.intersection_order must be 'rank' or 'median_size', got {intersection_order!r}.")
    if latent_selection not in ("all", "greedy"):
        raise ValueError(f"reduction.latent_selection must be 'all' or 'greedy', got {latent_selection!r}.")
    if not 0.0 <= min_score_ratio <= 1.0:
        raise ValueError(f"reduction.min_score_ratio must be in [0, 1], got {min_score_ratio}.")
    if not 0.0 <= interval_trim < 0.5:
        raise ValueError(f"reduction.interval_trim must be in [0, 0.5), got {interval_trim}.")
    if not 0.0 <= gap_smoothing_fraction < 0.5:
        raise ValueError(f"reduction.gap_smoothing_fraction must be in [0, 0.5), got {gap_smoothing_fraction}.")
    n = codes.shape[0]
    if n < min_intersection_size:
        return ReductionResult(None, f"only {n} points, fewer than min_intersection_size={min_intersection_size}",
                               [], [], 0)
    peak_settings = dict(edge_trim_fraction=edge_trim_fraction, min_peak_distance_fraction=min_peak_distance_fraction,
                         peak_height_std=peak_height_std, std_outlier_clip=std_outlier_clip,
                         max_peaks_for_edge_intervals=max_peaks_for_edge_intervals,
                         gap_smoothing_fraction=gap_smoothing_fraction)
    latents = [find_intervals(codes[:, j], **peak_settings) for j in range(codes.shape[1])]
    structured = [j for j, lat in enumerate(latents) if lat.intervals]
    if latent_selection == "all" or not structured:
        for j, lat in enumerate(latents):
            if not lat.intervals:
                return ReductionResult(None, f"active latent {j}: no peak in the gaps of its sorted codes "
                                             f"(threshold {lat.threshold:.3g}), so no structure to cut", latents,
                                       [], 0)

    def interval_set(lat: LatentIntervals, k: int) -> np.ndarray:
        start, stop = lat.intervals[k]
        cut = int((stop - start) * interval_trim)
        return np.sort(lat.order[start + cut:stop - cut])

    per_latent = {j: [interval_set(lat, k) for k in range(min(len(lat.intervals), max_intervals_per_latent))]
                  for j, lat in enumerate(latents) if lat.intervals}

    def candidates_of(selected: list[int]) -> list:
        if len(selected) == 1:
            lat = latents[selected[0]]
            found = [(interval_set(lat, k), (k,)) for k in range(len(lat.intervals))]
        else:
            found = []
            for combo in itertools.product(*[range(len(per_latent[j])) for j in selected]):
                kept = per_latent[selected[0]][combo[0]]
                for j, k in zip(selected[1:], combo[1:]):
                    kept = np.intersect1d(kept, per_latent[j][k], assume_unique=True)
                    if kept.size < min_intersection_size:
                        break
                found.append((kept, combo))
        found = [(s, c) for s, c in found if s.size >= min_intersection_size]
        if len(selected) > 1 and found:
            if intersection_order == "median_size":
                median = float(np.median([s.size for s, _ in found]))
                found.sort(key=lambda sc: (abs(sc[0].size - median), sum(sc[1]), sc[1]))
            else:
                found.sort(key=lambda sc: (sum(sc[1]), -sc[0].size, sc[1]))
        return found

    if latent_selection == "all":
        selected = list(range(len(latents)))
        candidates = candidates_of(selected)
    else:  # best-structured first; a latent joins only if enough candidates remain
        by_score = sorted(structured, key=lambda j: -latents[j].scores[0])
        selected = by_score[:1]
        candidates = candidates_of(selected)
        top = latents[by_score[0]].scores[0]
        for j in (j for j in by_score[1:] if latents[j].scores[0] >= min_score_ratio * top):
            trial = candidates_of(selected + [j])
            if len(trial) > rank:
                selected, candidates = selected + [j], trial
    if rank >= len(candidates):
        what = "interval" if len(selected) == 1 else "non-empty intersection"
        return ReductionResult(None, f"rank {rank} asked for, but there are {len(candidates)} candidate "
                                     f"{what}s with at least {min_intersection_size} points", latents, [],
                               len(candidates))
    kept, combo = candidates[rank]
    chosen = dict(zip(selected, combo))
    return ReductionResult(kept.astype(np.int64), None, latents, [chosen.get(j) for j in range(len(latents))],
                           len(candidates))
