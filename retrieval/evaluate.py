"""Influence-retrieval evaluation: P@k and MRR at degree 1 and degree 2, for any artwork vectors.

Each query artwork ranks the gallery (every artwork with vectors, training ones included: the
collection a user would search) minus its own artist's works and — with the time filter — works
made after it. A query counts for a degree when at least one relevant work survives those rules
(otherwise its precision would be zero by construction, whatever the embedding). ``chance`` is
the expected P@k of a random ranking of the same candidates, ``chance_MRR`` its expected MRR.

The figures are exact at any gallery size. Small galleries (up to ``FULL_RANK_LIMIT`` works) are
ranked whole. Larger ones are ranked to the first ``MAX_RANK`` candidates (P@k needs no more);
which queries count and the chance level come from the candidate masks alone (no ranking), and a
query whose first relevant work lies beyond the cut is ranked whole, in small chunks, for its
exact reciprocal rank — so every query set and every figure equals the untruncated computation.
"""
from __future__ import annotations

import numpy as np

from artkg.retrieval.metrics import average, expected_reciprocal_rank, per_query, relevant_artists
from artkg.retrieval.rank import Gallery

FULL_RANK_LIMIT = 50_000  # above this many gallery works, rankings are cut at MAX_RANK (then completed)
MAX_RANK = 2_000
DEEP_CHUNK = 16  # queries ranked whole at a time when their first relevant work lies beyond the cut


def evaluate_retrieval(influence, vectors: np.ndarray, queries: np.ndarray, gallery: Gallery,
                       ks=(1, 5, 10), degrees=(1, 2), time_filter: bool = True, chunk: int = 256) -> dict:
    """``{"degree_1": {"P@1", …, "MRR", "queries", "chance", …}, "degree_2": {…}, "gallery", …}``."""
    queries = np.asarray(queries, dtype=np.int64)
    creator = gallery.creator
    queries = queries[creator[queries] >= 0]
    k = None if len(gallery) <= FULL_RANK_LIMIT else min(len(gallery), max(MAX_RANK, max(ks)))
    rel_sets: dict[int, dict[int, np.ndarray]] = {d: {} for d in degrees}
    # Per-query values only: a chunk's relevance matrix (queries × ranked gallery) is dropped after use.
    parts: dict[int, list[dict]] = {d: [] for d in degrees}
    chance: dict[int, list[np.ndarray]] = {d: [] for d in degrees}
    chance_rr: dict[int, list[np.ndarray]] = {d: [] for d in degrees}
    gallery_creator = creator[gallery.artworks]
    gallery_year = gallery.year[gallery.artworks]
    deep_ranks = 0
    for start in range(0, len(queries), chunk):
        q = queries[start:start + chunk]
        cand, _, valid = gallery.search(vectors, q, k, time_filter)
        cand_creator = creator[cand]
        # Every gallery work, unranked: which are candidates, and which of them are relevant.
        all_valid = gallery_creator[None, :] != creator[q][:, None]
        if time_filter:
            all_valid &= ~(gallery_year[None, :] > gallery.year[q][:, None])  # NaN compares False: kept
        for d in degrees:
            rel = np.zeros_like(valid)
            all_rel = np.zeros_like(all_valid)
            for a in np.unique(creator[q]).tolist():
                if a not in rel_sets[d]:
                    rel_sets[d][a] = relevant_artists(influence, a, d)
                rows = np.flatnonzero(creator[q] == a)
                rel[rows] = np.isin(cand_creator[rows], rel_sets[d][a])
                all_rel[rows] = np.isin(gallery_creator, rel_sets[d][a])[None, :]
            rel &= valid
            all_rel &= all_valid
            n_rel, n_valid = all_rel.sum(1), all_valid.sum(1)
            has = n_rel > 0
            values = per_query(rel[has], ks)
            if k is not None:  # the cut ranking missed some first relevant works: rank those queries whole
                missed = np.flatnonzero(~rel[has].any(1))
                if len(missed):
                    values["MRR"][missed] = _reciprocal_ranks(gallery, vectors, q[has][missed], rel_sets[d],
                                                              time_filter)
                    deep_ranks += len(missed)
            parts[d].append(values)
            # A random ranking's expected precision is the share of relevant candidates.
            chance[d].append(n_rel[has] / np.maximum(1, n_valid[has]))
            chance_rr[d].append(expected_reciprocal_rank(n_rel[has], n_valid[has]))
    out = {}
    for d in degrees:
        keys = [f"P@{n}" for n in ks] + ["MRR"]
        summary = average({key: np.concatenate([p[key] for p in parts[d]] or [np.zeros(0)]) for key in keys})
        ch = np.concatenate(chance[d]) if chance[d] else np.zeros(0)
        summary["chance"] = float(ch.mean()) if len(ch) else 0.0
        rr = np.concatenate(chance_rr[d]) if chance_rr[d] else np.zeros(0)
        summary["chance_MRR"] = float(rr.mean()) if len(rr) else 0.0
        summary["queries_without_relevant"] = int(len(queries) - summary["queries"])
        out[f"degree_{d}"] = summary
    out["gallery"] = int(len(gallery))
    out["gallery_artists"] = int(len(np.unique(gallery_creator)))
    out["time_filter"] = bool(time_filter)
    out["full_ranking"] = k is None
    if k is not None:
        out["ranked_to"] = int(k)
        out["queries_ranked_whole"] = int(deep_ranks)
    return out


def _reciprocal_ranks(gallery: Gallery, vectors: np.ndarray, queries: np.ndarray, relevant: dict[int, np.ndarray],
                      time_filter: bool) -> np.ndarray:
    """``1 / rank`` of the first relevant candidate in the whole ranking, ``DEEP_CHUNK`` queries at a time."""
    out = np.zeros(len(queries))
    for start in range(0, len(queries), DEEP_CHUNK):
        q = queries[start:start + DEEP_CHUNK]
        cand, _, valid = gallery.search(vectors, q, None, time_filter)
        cand_creator = gallery.creator[cand]
        rel = np.zeros_like(valid)
        for i, a in enumerate(gallery.creator[q].tolist()):
            rel[i] = np.isin(cand_creator[i], relevant[a])
        rel &= valid
        first = rel.argmax(1)
        out[start:start + len(q)] = np.where(rel.any(1), 1.0 / (first + 1), 0.0)
    return out
