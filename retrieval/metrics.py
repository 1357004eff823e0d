"""Ranking metrics for influence retrieval: P@k and MRR over a relevance matrix.

A retrieved artwork is **relevant** when its creator is an influencer of the query's creator: a
direct one (degree 1) or, for the degree-2 variants, any artist within two ``influenced_by`` hops
— the influencers of *every* direct influencer, not only the first one's.
"""
from __future__ import annotations

import numpy as np

from artkg.kg.influence import Direction, InfluenceIndex


def relevant_artists(influence: InfluenceIndex, artist: int, degree: int = 1) -> np.ndarray:
    """Sorted artist indices within ``degree`` influencer hops of ``artist`` (``artist`` excluded)."""
    return np.array(sorted(influence.within(artist, degree, Direction.influencers)), dtype=np.int64)


def precision_at_k(relevance: np.ndarray, k: int) -> np.ndarray:
    """Per query: the share of relevant items among the first ``k`` (rows are ranked lists)."""
    relevance = np.asarray(relevance, dtype=bool)
    return relevance[:, :k].sum(1) / float(k)


def reciprocal_rank(relevance: np.ndarray) -> np.ndarray:
    """Per query: ``1 / rank`` of the first relevant item (ranks from 1), 0 when none is relevant."""
    relevance = np.asarray(relevance, dtype=bool)
    first = relevance.argmax(1)
    return np.where(relevance.any(1), 1.0 / (first + 1), 0.0)


def expected_reciprocal_rank(n_relevant, n_candidates) -> np.ndarray:
    """Per query: the MRR a random ranking scores, ``E[1 / rank of the first relevant item]`` with
    ``n_relevant`` relevant items among ``n_candidates`` (the chance level for MRR; P@k's is the
    share of relevant candidates). Exact: ``P(first = i) = C(n-i, r-1) / C(n, r)``."""
    n_relevant, n_candidates = np.asarray(n_relevant, dtype=np.int64), np.asarray(n_candidates, dtype=np.int64)
    out, cache = np.zeros(len(n_relevant)), {}
    for j, (r, n) in enumerate(zip(n_relevant.tolist(), n_candidates.tolist())):
        if r <= 0 or n <= 0:
            continue
        if (r, n) not in cache:
            i = np.arange(1, n - r + 1, dtype=np.float64)  # P(first = i+1) / P(first = i) = (n-i-r+1) / (n-i)
            p = (r / n) * np.concatenate([[1.0], np.cumprod((n - i - r + 1) / (n - i))])
            cache[(r, n)] = float((p / np.arange(1, len(p) + 1)).sum())
        out[j] = cache[(r, n)]
    return out


def per_query(relevance: np.ndarray, ks=(1, 5, 10)) -> dict[str, np.ndarray]:
    """P@k for each k and the reciprocal rank (under ``"MRR"``), one value per query (row)."""
    return {**{f"P@{k}": precision_at_k(relevance, k) for k in ks}, "MRR": reciprocal_rank(relevance)}


def average(values: dict[str, np.ndarray]) -> dict:
    """Means of :func:`per_query` values (0 without queries), and the number of queries."""
    n = len(next(iter(values.values())))
    out = {key: float(v.mean()) if n else 0.0 for key, v in values.items()}
    out["queries"] = int(n)
    return out


def summarize(relevance: np.ndarray, ks=(1, 5, 10)) -> dict:
    """Mean P@k for each k and MRR over the queries (rows) of a ranked relevance matrix."""
    return average(per_query(np.asarray(relevance, dtype=bool), ks))
