"""Influence-retrieval evaluation: P@k and MRR at degree 1 and degree 2, for any artwork vectors.

Each query artwork ranks the gallery (every artwork with vectors, training ones included: the
collection a user would search) minus its own artist's works and — with the time filter — works
made after it. A query counts for a degree when at least one relevant work survives those rules
(otherwise its precision would be zero by construction, whatever the embedding). ``chance`` is
the expected P@k of a random ranking of the same candidates.
"""
from __future__ import annotations

import numpy as np

from artkg.retrieval.metrics import average, per_query, relevant_artists
from artkg.retrieval.rank import Gallery

FULL_RANK_LIMIT = 50_000  # above this many gallery works, rankings (and MRR) are cut at MAX_RANK
MAX_RANK = 2_000


def evaluate_retrieval(influence, vectors: np.ndarray, queries: np.ndarray, gallery: Gallery,
                       ks=(1, 5, 10), degrees=(1, 2), time_filter: bool = True, chunk: int = 256) -> dict:
    """``{"degree_1": {"P@1", …, "MRR", "queries", "chance", …}, "degree_2": {…}, "gallery", …}``."""
    queries = np.asarray(queries, dtype=np.int64)
    creator = gallery.creator
    queries = queries[creator[queries] >= 0]
    k = None if len(gallery) <= FULL_RANK_LIMIT else MAX_RANK
    rel_sets: dict[int, dict[int, np.ndarray]] = {d: {} for d in degrees}
    # Per-query values only: a chunk's relevance matrix (queries × ranked gallery) is dropped after use.
    parts: dict[int, list[dict]] = {d: [] for d in degrees}
    chance: dict[int, list[np.ndarray]] = {d: [] for d in degrees}
    gallery_creator = creator[gallery.artworks]
    for start in range(0, len(queries), chunk):
        q = queries[start:start + chunk]
        cand, _, valid = gallery.search(vectors, q, k, time_filter)
        cand_creator = creator[cand]
        for d in degrees:
            rel = np.zeros_like(valid)
            for a in np.unique(creator[q]).tolist():
                if a not in rel_sets[d]:
                    rel_sets[d][a] = relevant_artists(influence, a, d)
                rows = np.flatnonzero(creator[q] == a)
                rel[rows] = np.isin(cand_creator[rows], rel_sets[d][a])
            rel &= valid
            has = rel.any(1)
            parts[d].append(per_query(rel[has], ks))
            # A random ranking's expected precision is the share of relevant candidates.
            chance[d].append(rel[has].sum(1) / np.maximum(1, valid[has].sum(1)))
    out = {}
    for d in degrees:
        keys = [f"P@{n}" for n in ks] + ["MRR"]
        summary = average({key: np.concatenate([p[key] for p in parts[d]] or [np.zeros(0)]) for key in keys})
        ch = np.concatenate(chance[d]) if chance[d] else np.zeros(0)
        summary["chance"] = float(ch.mean()) if len(ch) else 0.0
        summary["queries_without_relevant"] = int(len(queries) - summary["queries"])
        out[f"degree_{d}"] = summary
    out["gallery"] = int(len(gallery))
    out["gallery_artists"] = int(len(np.unique(gallery_creator)))
    out["time_filter"] = bool(time_filter)
    out["full_ranking"] = k is None
    return out
