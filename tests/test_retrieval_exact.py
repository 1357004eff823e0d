"""Retrieval figures do not depend on the gallery size: the cut ranking used for large galleries
(``FULL_RANK_LIMIT`` / ``MAX_RANK``) gives exactly the figures of the whole ranking."""
from __future__ import annotations

import numpy as np
import pytest

import artkg.retrieval.evaluate as ev
from artkg.kg.influence import InfluenceIndex
from artkg.retrieval.rank import Gallery


def _world(seed: int = 0, artists: int = 40, works: int = 600, dim: int = 8):
    rng = np.random.default_rng(seed)
    creator = rng.integers(0, artists, works)
    creator[:5] = -1  # unknown creators are neither queries nor gallery works
    years = rng.integers(1800, 1950, works).astype(float)
    years[rng.random(works) < 0.2] = np.nan
    src = rng.integers(0, artists, 60)
    dst = rng.integers(0, artists, 60)
    keep = src != dst
    influence = InfluenceIndex(np.stack([src[keep], dst[keep]]), artists)
    vectors = rng.normal(size=(works, dim)).astype(np.float32)
    usable = creator >= 0
    return influence, vectors, creator, years, usable


@pytest.mark.parametrize("metric", ["l2", "cosine"])
def test_cut_rankings_give_the_whole_rankings_figures(monkeypatch, metric):
    influence, vectors, creator, years, usable = _world()
    rows = np.flatnonzero(usable)
    gallery = Gallery.build(vectors, rows, creator, years, metric=metric)
    queries = np.arange(len(creator))
    whole = ev.evaluate_retrieval(influence, vectors, queries, gallery, chunk=64)
    assert whole["full_ranking"]
    monkeypatch.setattr(ev, "FULL_RANK_LIMIT", 10)
    monkeypatch.setattr(ev, "MAX_RANK", 12)
    monkeypatch.setattr(ev, "DEEP_CHUNK", 3)
    cut = ev.evaluate_retrieval(influence, vectors, queries, gallery, chunk=64)
    assert not cut["full_ranking"] and cut["ranked_to"] == 12
    assert cut["queries_ranked_whole"] > 0  # some first relevant works lie beyond the cut
    for d in ("degree_1", "degree_2"):
        assert cut[d]["queries"] == whole[d]["queries"] > 0
        assert cut[d]["queries_without_relevant"] == whole[d]["queries_without_relevant"]
        for key in ("P@1", "P@5", "P@10", "MRR", "chance"):
            assert cut[d][key] == pytest.approx(whole[d][key], abs=1e-12), (d, key)


def test_cut_below_the_largest_k_still_ranks_enough(monkeypatch):
    influence, vectors, creator, years, usable = _world(seed=3)
    gallery = Gallery.build(vectors, np.flatnonzero(usable), creator, years)
    queries = np.arange(len(creator))
    whole = ev.evaluate_retrieval(influence, vectors, queries, gallery, ks=(1, 20))
    monkeypatch.setattr(ev, "FULL_RANK_LIMIT", 10)
    monkeypatch.setattr(ev, "MAX_RANK", 2)
    cut = ev.evaluate_retrieval(influence, vectors, queries, gallery, ks=(1, 20))
    assert cut["ranked_to"] == 20
    for key in ("P@1", "P@20", "MRR", "chance", "queries"):
        assert cut["degree_1"][key] == pytest.approx(whole["degree_1"][key], abs=1e-12)
