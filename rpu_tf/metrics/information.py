"""Discrete mutual information and entropy of many variables at once.

Every pair's value equals scikit-learn's ``metrics.mutual_info_score`` (natural log, nats),
which disentanglement_lib calls once per pair in Python. Here the contingency tables of all
pairs come from one ``np.bincount`` per chunk of rows and the information is summed with the
same per-cell formula, so results agree with scikit-learn to ~1e-15.

Rows are variables and columns are samples, as in disentanglement_lib: ``a`` has shape
``(num_a, num_points)``, ``b`` has shape ``(num_b, num_points)``. Values can be anything
``np.unique`` can sort (integers, or floats such as discretised codes).
"""

from __future__ import annotations

import numpy as np

# Largest dense contingency tensor (cells) built at once, and largest table per pair before
# falling back to sparse counting (continuous inputs with thousands of distinct values).
_MAX_CELLS_PER_CHUNK = 1 << 22
_MAX_DENSE_TABLE = 1 << 16


def _as_rows(x: np.ndarray, what: str) -> np.ndarray:
    x = np.asarray(x)
    if x.ndim == 1:
        x = x[np.newaxis, :]
    if x.ndim != 2:
        raise ValueError(f"{what} must have shape (num_variables, num_points), got {x.shape}.")
    return x


def encode_rows(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Maps every row to dense codes ``0 .. k_r - 1``; returns ``(codes int64, k int64[rows])``."""
    x = _as_rows(x, "x")
    codes = np.empty(x.shape, dtype=np.int64)
    sizes = np.empty(x.shape[0], dtype=np.int64)
    if x.shape[1] == 0:
        sizes[:] = 0
        return codes, sizes
    for r in range(x.shape[0]):
        row = x[r]
        small = _small_int_codes(row)
        if small is not None:
            codes[r], sizes[r] = small
            continue
        uniq, inverse = np.unique(row, return_inverse=True)
        codes[r] = inverse.reshape(-1)
        sizes[r] = uniq.shape[0]
    return codes, sizes


def _small_int_codes(row: np.ndarray):
    """Dense codes of an integer-valued row with a small range in O(n), else ``None``.

    Codes are ranks of the distinct values, exactly as ``np.unique(return_inverse=True)``.
    """
    if np.issubdtype(row.dtype, np.integer):
        lo, hi = int(row.min()), int(row.max())
        ints = row
    elif np.issubdtype(row.dtype, np.floating):
        lo_f, hi_f = row.min(), row.max()
        if not (np.isfinite(lo_f) and np.isfinite(hi_f)) or hi_f - lo_f > (1 << 20):
            return None
        ints = row.astype(np.int64)
        if not np.array_equal(ints, row):
            return None
        lo, hi = int(lo_f), int(hi_f)
    else:
        return None
    if hi - lo > max(4 * row.shape[0], 1 << 12):
        return None
    shifted = (ints - lo).astype(np.int64, copy=False)
    present = np.bincount(shifted, minlength=hi - lo + 1) > 0
    rank = np.cumsum(present) - 1
    return rank[shifted], int(present.sum())


def _mi_from_tables(tables: np.ndarray, num_points: int) -> np.ndarray:
    """Mutual information of a stack of contingency tables ``(P, A, B)`` of counts, ``(P,)``.

    Applies scikit-learn's cell formula
    ``c/n * (log c - log n) + c/n * (log n + log n - log(row * col))`` to non-empty cells,
    zeroes cells below machine epsilon, sums and clips at 0.
    """
    tables = tables.astype(np.float64, copy=False)
    n = float(num_points)
    rows = tables.sum(axis=2)
    cols = tables.sum(axis=1)
    nonzero = tables > 0
    outer = rows[:, :, np.newaxis] * cols[:, np.newaxis, :]
    log_c = np.log(tables, out=np.zeros_like(tables), where=nonzero)
    log_outer = np.log(outer, out=np.zeros_like(tables), where=nonzero)
    c_nm = tables / n
    cells = c_nm * (log_c - np.log(n)) + c_nm * (-log_outer + np.log(n) + np.log(n))
    cells[~nonzero] = 0.0
    cells[np.abs(cells) < np.finfo(np.float64).eps] = 0.0
    return np.clip(cells.sum(axis=(1, 2)), 0.0, None)


def _mi_sparse(ca: np.ndarray, cb: np.ndarray, kb: int) -> float:
    """Mutual information of one pair of coded rows by sparse counting (many distinct values)."""
    n = ca.shape[0]
    joint, counts = np.unique(ca * kb + cb, return_counts=True)
    rows = np.bincount(ca)
    cols = np.bincount(cb)
    outer = rows[joint // kb].astype(np.float64) * cols[joint % kb].astype(np.float64)
    c = counts.astype(np.float64)
    c_nm = c / n
    cells = c_nm * (np.log(c) - np.log(n)) + c_nm * (-np.log(outer) + np.log(n) + np.log(n))
    cells[np.abs(cells) < np.finfo(np.float64).eps] = 0.0
    return float(max(cells.sum(), 0.0))


def mutual_info_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``m[i, j] = mutual_info_score(b[j], a[i])`` in nats, shape ``(num_a, num_b)``.

    Args:
      a: ``(num_a, num_points)`` discrete values.
      b: ``(num_b, num_points)`` discrete values.
    """
    a = _as_rows(a, "a")
    b = _as_rows(b, "b")
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"a and b must have the same number of points, got {a.shape[1]} and {b.shape[1]}.")
    num_points = a.shape[1]
    ca, ka = encode_rows(a)
    cb, kb = encode_rows(b)
    out = np.zeros((a.shape[0], b.shape[0]), dtype=np.float64)
    if num_points == 0 or out.size == 0:
        return out
    ka_max, kb_max = int(ka.max()), int(kb.max())
    table = ka_max * kb_max
    if table > _MAX_DENSE_TABLE:
        for i in range(a.shape[0]):
            for j in range(b.shape[0]):
                if ka[i] > 1 and kb[j] > 1:
                    out[i, j] = _mi_sparse(ca[i], cb[j], int(kb[j]))
        return out
    num_b = b.shape[0]
    # Rows of `a` per chunk so that chunk * num_b * max(table, num_points) stays bounded.
    chunk = max(1, _MAX_CELLS_PER_CHUNK // (num_b * max(table, num_points)))
    cb_scaled = cb[np.newaxis, :, :]
    for start in range(0, a.shape[0], chunk):
        ca_chunk = ca[start:start + chunk]
        c = ca_chunk.shape[0]
        offsets = (np.arange(c * num_b, dtype=np.int64) * table).reshape(c, num_b, 1)
        flat = offsets + ca_chunk[:, np.newaxis, :] * kb_max + cb_scaled
        counts = np.bincount(flat.ravel(), minlength=c * num_b * table)
        out[start:start + c] = _mi_from_tables(
            counts.reshape(c * num_b, ka_max, kb_max), num_points).reshape(c, num_b)
    # scikit-learn returns exactly 0 when either variable takes a single value.
    out[(ka <= 1)[:, np.newaxis] | (kb <= 1)[np.newaxis, :]] = 0.0
    return out


def entropy(a: np.ndarray) -> np.ndarray:
    """Discrete entropy of every row in nats, ``(num_a,)``; equals ``mutual_info_score(a_i, a_i)``."""
    a = _as_rows(a, "a")
    codes, sizes = encode_rows(a)
    out = np.zeros(a.shape[0], dtype=np.float64)
    n = float(a.shape[1])
    for r in range(a.shape[0]):
        if sizes[r] <= 1:
            continue
        # Non-empty cells of the diagonal contingency table of the variable with itself.
        c = np.bincount(codes[r]).astype(np.float64)
        c = c[c > 0]
        c_nm = c / n
        cells = c_nm * (np.log(c) - np.log(n)) + c_nm * (-np.log(c * c) + np.log(n) + np.log(n))
        cells[np.abs(cells) < np.finfo(np.float64).eps] = 0.0
        out[r] = max(cells.sum(), 0.0)
    return out
