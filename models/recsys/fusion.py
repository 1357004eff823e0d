"""Ranking and reciprocal rank fusion: late fusion of several recommenders' scores (numpy only).

*Late* fusion ("Together Yet Apart", Yilma & Leiva, UMAP 2023) keeps one model per modality —
say a visual and a textual one — and merges their *rankings*, not their scores: scores of different
models live on different scales, ranks do not. The merge is weighted reciprocal rank fusion
(Cormack, Clarke & Büttcher, SIGIR 2009)::

    fused(i) = Σ_m  w_m / (k + rank_m(i))

with 1-based ranks in **descending** score order (rank 1 = the highest score, the most similar
item) and ``k = 60`` by default (the paper's constant: it damps the weight of the very first
ranks). The reference code of the UMAP paper sorted ascending — it recommended the *least*
similar items — and used ``k = 0``; ``k=0`` is available here, ascending order is not.

Two modes:

* ``"total"`` — every model ranks the whole collection and every item gets the sum;
* ``"partial"`` — each model contributes only for the items in its own top ``r``; an item in no
  model's top ``r`` gets 0. The caller then keeps the ``r`` best fused items (:func:`fused_top`).

Ties are broken by position (lower index first) everywhere, so results are deterministic and equal
to a stable sort; NaN scores rank last. :func:`top_positions` gives the ``r`` best positions at the
cost of a partition (O(n)) plus a sort of ``r``, exactly what a full stable descending sort would
give. Everything is vectorised: no Python loop over items.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from artkg.kg.errors import InputError

MODES = ("total", "partial")


def _vector(scores, what: str = "scores") -> np.ndarray:
    s = np.asarray(scores)
    if s.ndim != 1:
        raise InputError(f"{what} must be a 1-D array (got shape {s.shape})", "pass one score per item")
    if s.dtype == np.bool_ or s.dtype.kind == "u":
        s = s.astype(np.int64)  # negating unsigned integers wraps around
    elif s.dtype.kind not in "if":
        raise InputError(f"{what} must be numeric (got dtype {s.dtype})", "pass float or integer scores")
    return s


def _negated(s: np.ndarray) -> np.ndarray:
    """A key whose ascending order is ``s``'s descending order: ``-s``, or ``~s`` (= −s − 1, no
    overflow at the smallest integer) for integers."""
    return ~s if s.dtype.kind == "i" else -s


def descending_ranks(scores) -> np.ndarray:
    """1-based ranks (int64) of ``scores`` in descending order: the highest score gets rank 1; ties
    by position (lower index first, a stable sort); NaN scores rank last (in position order)."""
    s = _vector(scores)
    order = np.argsort(_negated(s), kind="stable")  # numpy sorts NaN last; -inf → +inf, before NaN
    ranks = np.empty(len(s), dtype=np.int64)
    ranks[order] = np.arange(1, len(s) + 1, dtype=np.int64)
    return ranks


def top_positions(scores, r: int) -> np.ndarray:
    """Positions (int64) of the ``r`` highest scores, best first, ties by position, NaN last —
    exactly ``np.argsort(-scores, kind="stable")[:r]``, through a partition (O(n)) and a sort of
    ``r``. ``r`` larger than the collection gives every position."""
    s = _vector(scores)
    r = int(r)
    if r < 0:
        raise InputError(f"r must be non-negative (got {r})", "ask for r ≥ 0 positions")
    n = len(s)
    r = min(r, n)
    if r == 0:
        return np.zeros(0, dtype=np.int64)
    if s.dtype.kind == "f":
        nan = np.isnan(s)
        if nan.any():  # the non-NaN ones first, then NaN positions in order
            valid = np.flatnonzero(~nan)
            best = valid[top_positions(s[valid], r)]
            return np.concatenate([best, np.flatnonzero(nan)[:r - len(best)]]).astype(np.int64, copy=False)
    kth = np.partition(s, n - r)[n - r]  # the r-th highest score
    above = np.flatnonzero(s > kth)
    tied = np.flatnonzero(s == kth)[:r - len(above)]
    chosen = np.concatenate([above, tied])
    return chosen[np.lexsort((chosen, _negated(s[chosen])))].astype(np.int64, copy=False)


def _check(scores: Sequence, weights, k: float, mode: str, r) -> tuple[list[np.ndarray], np.ndarray, float, int | None]:
    if isinstance(scores, np.ndarray) and scores.ndim == 1:
        raise InputError("scores must be a sequence of score arrays, one per model (got one 1-D array)",
                         "wrap it: reciprocal_rank_fusion([scores_a, scores_b])")
    arrays = [_vector(s, f"scores[{m}]") for m, s in enumerate(scores)]
    if not arrays:
        raise InputError("no score arrays to fuse", "pass one score array per model")
    lengths = {len(a) for a in arrays}
    if len(lengths) != 1:
        raise InputError(f"score arrays have different lengths {sorted(lengths)}",
                         "score every model over the same items in the same order")
    if weights is None:
        w = np.ones(len(arrays))
    else:
        w = np.asarray(weights, dtype=np.float64).reshape(-1)
        if len(w) != len(arrays):
            raise InputError(f"{len(w)} weights for {len(arrays)} score arrays", "give one weight per model")
        if not np.isfinite(w).all() or (w < 0).any():
            raise InputError(f"weights must be finite and non-negative (got {w.tolist()})", "e.g. weights=[1, 1]")
        if not (w > 0).any():
            raise InputError("all weights are zero", "give at least one model a positive weight")
    k = float(k)
    if not np.isfinite(k) or k < 0:
        raise InputError(f"k must be a finite number ≥ 0 (got {k})", "use the usual k=60 (or k=0)")
    if mode not in MODES:
        raise InputError(f"unknown fusion mode {mode!r}", f"use one of {', '.join(MODES)}")
    if mode == "partial":
        if r is None or int(r) < 1:
            raise InputError(f"mode='partial' needs r ≥ 1 (got {r})", "e.g. r=100: each model's top 100 take part")
        r = int(r)
    return arrays, w, k, r


def reciprocal_rank_fusion(scores: Sequence[np.ndarray], weights: Sequence[float] | None = None, k: float = 60.0,
                           mode: str = "total", r: int | None = None) -> np.ndarray:
    """Weighted reciprocal rank fusion of several models' scores over the same items (float64).

    ``fused(i) = Σ_m weights[m] / (k + rank_m(i))`` with descending 1-based ranks (ties by position,
    NaN last). ``mode="total"``: every model ranks all items; ``mode="partial"``: model ``m`` counts
    only for its own top ``r`` items (the others get nothing from it; an item in no top ``r`` gets 0).
    ``weights`` default to 1 each (non-negative, not all zero). Raises :class:`InputError` on
    arrays of different lengths, bad weights, ``k < 0``, an unknown mode or a missing ``r``.
    """
    arrays, w, k, r = _check(scores, weights, k, mode, r)
    n = len(arrays[0])
    fused = np.zeros(n, dtype=np.float64)
    depth = n if mode == "total" else min(r, n)
    recip = 1.0 / (k + np.arange(1, depth + 1, dtype=np.float64))  # 1/(k + rank) for ranks 1..depth
    for s, wm in zip(arrays, w):
        if wm == 0:
            continue
        order = np.argsort(_negated(s), kind="stable") if mode == "total" else top_positions(s, depth)
        # ``order`` holds distinct positions, so a fancy-index add is a scatter of each rank's share.
        fused[order] += recip if wm == 1 else wm * recip
    return fused


def fused_top(scores: Sequence[np.ndarray], weights: Sequence[float] | None = None, k: float = 60.0,
              mode: str = "total", r: int | None = None, n: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """The ``n`` best items of :func:`reciprocal_rank_fusion`: ``(positions, fused scores)``, best
    first, ties by position. In ``"partial"`` mode items with a fused score of 0 (in no weighted
    model's top ``r``) are left out, so fewer than ``n`` may come back."""
    if int(n) < 0:
        raise InputError(f"n must be non-negative (got {n})", "e.g. n=10")
    fused = reciprocal_rank_fusion(scores, weights=weights, k=k, mode=mode, r=r)
    pos = top_positions(fused, int(n))
    if mode == "partial":
        pos = pos[fused[pos] > 0]
    return pos, fused[pos]
