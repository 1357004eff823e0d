"""Beyond-accuracy metrics of recommendation lists: diversity, novelty, serendipity, coverage, and
how alike two lists are (IoU, rank-biased overlap) — within one engine across users, or between two
engines for the same user (numpy only).

A *list* is a 1-D int64 array of item positions, best first (one top-k list per user); ``lists`` is
a sequence of them (or a 2-D array, one row per user). Definitions:

* :func:`intra_list_diversity` — mean over lists of the mean pairwise cosine distance
  ``1 − cos(v_i, v_j)`` between the list's items (rows L2-normalised here; a zero vector has cosine
  0 with everything); lists with fewer than two items are skipped;
* :func:`novelty` — mean over every recommended item (pooled over all lists) of the self-information
  ``−log2((count_i + 1) / (n_users + 1))``, ``count_i`` = training users who interacted with item
  ``i``; the add-one smoothing keeps never-seen items finite (``log2(n_users + 1)`` bits);
* :func:`serendipity` — per user, the share of the list that is relevant *and* not in the user's
  ``expected`` list (a baseline's list: popularity, or the profile's nearest items); mean over users;
* :func:`catalogue_coverage` — distinct recommended items / catalogue size;
* :func:`iou` — ``|a ∩ b| / |a ∪ b|`` (two empty lists: 1.0);
* :func:`rbo` — rank-biased overlap (Webber, Moffat & Zobel, TOIS 2010), the extrapolated
  ``RBO_ext`` of their eq. 32, for lists of equal or unequal lengths;
* :func:`mean_pairwise` — mean of a list similarity over pairs of *different users'* lists
  (personalisation, "Together Yet Apart" Table 1); :func:`between` — mean over users of the
  similarity of two engines' lists for the same user (its Table 2).

Metric arithmetic is float64.
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np
from artkg.kg.errors import InputError

_CHUNK = 1 << 22  # elements of a gathered (lists × length × dim) block in intra_list_diversity


def _as_lists(lists, what: str = "lists") -> list[np.ndarray]:
    if isinstance(lists, np.ndarray) and lists.ndim == 2 and lists.dtype.kind in "iu":
        return list(lists.astype(np.int64, copy=False))
    out = []
    for u, a in enumerate(lists):
        a = np.asarray(a)
        if a.ndim != 1 or (a.size and a.dtype.kind not in "iu"):
            raise InputError(f"{what}[{u}] must be a 1-D array of item positions (got {a.dtype}, shape {a.shape})",
                             "pass one int array of item positions per user")
        out.append(a.astype(np.int64, copy=False))
    return out


def _check_range(flat: np.ndarray, n_items: int, what: str) -> None:
    if flat.size and (flat.min() < 0 or flat.max() >= n_items):
        raise InputError(f"{what} hold item positions outside [0, {n_items})",
                         f"positions must index the catalogue of {n_items} items")


def _unique_list(a, what: str) -> np.ndarray:
    a = np.asarray(a)
    if a.ndim != 1:
        raise InputError(f"{what} must be a 1-D list of items (got shape {a.shape})", "pass one list of items")
    if len(np.unique(a)) != len(a):
        raise InputError(f"{what} repeats an item", "each item may appear once in a ranked list")
    return a


def intra_list_diversity(lists, vectors) -> float:
    """Mean over lists (of ≥ 2 items) of the mean pairwise ``1 − cosine`` of the items' ``vectors``
    rows (L2-normalised here; zero rows have cosine 0). NaN when no list has two items."""
    ls = _as_lists(lists)
    v = np.asarray(vectors)
    if v.ndim != 2:
        raise InputError(f"vectors must be a 2-D (items × dim) array (got shape {v.shape})", "one row per item")
    _check_range(np.concatenate(ls) if ls else np.zeros(0, np.int64), len(v), "lists")
    per_list: list[np.ndarray] = []
    lengths = np.array([len(a) for a in ls], dtype=np.int64)
    for length in np.unique(lengths[lengths >= 2]):  # lists of one length at a time: one batched Gram
        rows = np.stack([ls[u] for u in np.flatnonzero(lengths == length)])
        step = max(1, _CHUNK // int(length * max(1, v.shape[1])))
        for start in range(0, len(rows), step):
            x = v[rows[start:start + step]].astype(np.float64)  # (b, L, d)
            norm = np.linalg.norm(x, axis=2, keepdims=True)
            x = np.divide(x, norm, out=np.zeros_like(x), where=norm > 0)
            gram = np.einsum("bid,bjd->bij", x, x)
            off = gram.sum(axis=(1, 2)) - np.trace(gram, axis1=1, axis2=2)  # Σ over i ≠ j of cos
            pairs = length * (length - 1)
            per_list.append(1.0 - off / pairs)
    return float(np.concatenate(per_list).mean()) if per_list else float("nan")


def novelty(lists, counts, n_users: int) -> float:
    """Mean self-information ``−log2((counts[i] + 1) / (n_users + 1))`` over every recommended item
    (all lists pooled; add-one smoothing, so an item nobody interacted with scores ``log2(n_users+1)``).
    ``counts[i]``: training users who interacted with item ``i`` (0 ≤ count ≤ n_users). NaN when
    nothing is recommended."""
    ls = _as_lists(lists)
    c = np.asarray(counts)
    n_users = int(n_users)
    if c.ndim != 1:
        raise InputError(f"counts must be 1-D, one per item (got shape {c.shape})", "pass per-item user counts")
    if n_users < 0 or (c.size and (c.min() < 0 or c.max() > n_users)):
        raise InputError(f"counts must lie in [0, n_users={n_users}]",
                         "count each item's distinct training users; n_users is the number of users")
    flat = np.concatenate(ls) if ls else np.zeros(0, np.int64)
    _check_range(flat, len(c), "lists")
    if not flat.size:
        return float("nan")
    return float(np.mean(-np.log2((c[flat].astype(np.float64) + 1.0) / (n_users + 1.0))))


def _keyed(lists: list[np.ndarray], base: int) -> np.ndarray:
    """One int64 key ``user * base + item`` per entry of every list."""
    users = np.repeat(np.arange(len(lists), dtype=np.int64), [len(a) for a in lists])
    flat = np.concatenate(lists) if lists else np.zeros(0, np.int64)
    return users * base + flat


def serendipity(lists, relevant, expected) -> float:
    """Mean over users (with a non-empty list) of the share of the user's list that is in
    ``relevant[u]`` and not in ``expected[u]`` (a baseline's list for that user). NaN when every list
    is empty."""
    ls, rel, exp = _as_lists(lists), _as_lists(relevant, "relevant"), _as_lists(expected, "expected")
    if not len(ls) == len(rel) == len(exp):
        raise InputError(f"{len(ls)} lists, {len(rel)} relevant sets and {len(exp)} expected lists",
                         "give one relevant set and one expected list per user, in the same order")
    every = [a for a in (*ls, *rel, *exp) if a.size]
    if every and min(int(a.min()) for a in every) < 0:
        raise InputError("negative item positions", "positions index the catalogue from 0")
    base = max((int(a.max()) for a in every), default=0) + 1
    keys = _keyed(ls, base)
    good = np.isin(keys, _keyed(rel, base)) & ~np.isin(keys, _keyed(exp, base))
    lengths = np.array([len(a) for a in ls], dtype=np.int64)
    users = np.repeat(np.arange(len(ls)), lengths)
    hits = np.bincount(users, weights=good.astype(np.float64), minlength=len(ls))
    keep = lengths > 0
    return float(np.mean(hits[keep] / lengths[keep])) if keep.any() else float("nan")


def catalogue_coverage(lists, n_items: int) -> float:
    """Distinct recommended items / ``n_items``."""
    n_items = int(n_items)
    if n_items < 1:
        raise InputError(f"n_items must be at least 1 (got {n_items})", "pass the catalogue size")
    ls = _as_lists(lists)
    flat = np.concatenate(ls) if ls else np.zeros(0, np.int64)
    _check_range(flat, n_items, "lists")
    return len(np.unique(flat)) / n_items


def iou(a, b) -> float:
    """Intersection over union of two lists' item sets; two empty lists give 1.0."""
    a, b = np.unique(np.asarray(a)), np.unique(np.asarray(b))
    union = len(np.union1d(a, b))
    return 1.0 if union == 0 else len(np.intersect1d(a, b, assume_unique=True)) / union


def rbo(a, b, p: float = 0.9) -> float:
    """Extrapolated rank-biased overlap ``RBO_ext`` (Webber, Moffat & Zobel 2010, eq. 32).

    With ``s``/``l`` the shorter/longer length, ``X_d`` the overlap of the two depth-``d`` prefixes
    (the shorter list whole once ``d > s``) and ``A_d = X_d / d``::

        RBO_ext = (1−p)/p · [ Σ_{d=1..l} (X_d/d)·p^d + Σ_{d=s+1..l} X_s·(d−s)/(s·d)·p^d ]
                  + [ (X_l − X_s)/l + X_s/s ] · p^l

    which for equal lengths ``k`` is ``(1−p)/p · Σ_{d=1..k} (X_d/d)·p^d + (X_k/k)·p^k``. Identical
    lists give 1, disjoint ones 0; symmetric; ``0 < p < 1`` (smaller ``p`` weighs the top ranks more).
    Items must be unique within each list. Two empty lists give 1.0, one empty list 0.0.
    """
    p = float(p)
    if not 0.0 < p < 1.0:
        raise InputError(f"p must lie strictly between 0 and 1 (got {p})", "the usual choice is p=0.9")
    a, b = _unique_list(a, "rbo's first list"), _unique_list(b, "rbo's second list")
    if len(a) > len(b):
        a, b = b, a  # a is the shorter (S), b the longer (L)
    s, l = len(a), len(b)
    if l == 0:
        return 1.0
    if s == 0:
        return 0.0
    _, ia, ib = np.intersect1d(a, b, assume_unique=True, return_indices=True)
    # A common item is in both depth-d prefixes from depth max(rank in a, rank in b) on (1-based);
    # past s the shorter list is whole, so its depth is then its rank in the longer list.
    seen = np.bincount(np.maximum(ia, ib), minlength=l)[:l]
    x = np.cumsum(seen).astype(np.float64)  # X_1 … X_l
    d = np.arange(1, l + 1, dtype=np.float64)
    pd = p ** d
    total = np.sum(x / d * pd)
    x_s, x_l = x[s - 1], x[l - 1]
    if l > s:
        tail = d[s:]
        total += np.sum(x_s * (tail - s) / (s * tail) * pd[s:])
    return float((1.0 - p) / p * total + ((x_l - x_s) / l + x_s / s) * p ** l)


def mean_pairwise(lists, fn: Callable[[np.ndarray, np.ndarray], float], max_pairs: int = 20000,
                  seed: int = 0) -> float:
    """Mean of ``fn(lists[i], lists[j])`` over pairs of different users ``i < j``: all pairs when there
    are at most ``max_pairs``, else ``max_pairs`` pairs drawn uniformly (with replacement, seeded)."""
    ls = _as_lists(lists)
    n = len(ls)
    if n < 2:
        raise InputError(f"need the lists of at least two users (got {n})", "pass one list per user")
    if int(max_pairs) < 1:
        raise InputError(f"max_pairs must be at least 1 (got {max_pairs})", "e.g. max_pairs=20000")
    if n * (n - 1) // 2 <= max_pairs:
        i, j = np.triu_indices(n, k=1)
    else:
        rng = np.random.default_rng(seed)
        i = rng.integers(n, size=int(max_pairs))
        j = rng.integers(n - 1, size=int(max_pairs))
        j = j + (j >= i)  # a different user, uniform over the other n − 1
    return float(np.mean([fn(ls[a], ls[b]) for a, b in zip(i.tolist(), j.tolist())]))


def between(lists_a, lists_b, fn: Callable[[np.ndarray, np.ndarray], float]) -> float:
    """Mean over users of ``fn(lists_a[u], lists_b[u])``: two engines' lists for the same users."""
    la, lb = _as_lists(lists_a, "lists_a"), _as_lists(lists_b, "lists_b")
    if len(la) != len(lb):
        raise InputError(f"{len(la)} lists against {len(lb)}", "give both engines' lists for the same users")
    if not la:
        raise InputError("no lists to compare", "pass one list per user from each engine")
    return float(np.mean([fn(x, y) for x, y in zip(la, lb)]))
