"""Ranking a gallery of artworks for query artworks, with the rules every influence retrieval obeys.

- The query's own artist is never a candidate (an artist does not influence themselves).
- **Temporal plausibility** (``time_filter``): when both dates are known, a candidate made after
  the query artwork cannot have influenced it and is dropped (same year is kept).

The search itself is a FAISS index (:mod:`artkg.retrieval.index`); the filters run on the
returned ranking, which is widened until ``k`` candidates survive them.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from artkg.kg.errors import InputError

METRICS = ("l2", "cosine", "ip")


@dataclass
class Gallery:
    """The artworks a search ranks: their indices, vectors, creators and years."""

    artworks: np.ndarray  # [G] artwork index of each gallery row
    creator: np.ndarray  # [N_artworks] creator per artwork (-1 unknown)
    year: np.ndarray  # [N_artworks] float, NaN unknown
    index: object  # a VectorIndex over the gallery rows

    @classmethod
    def build(cls, vectors: np.ndarray, artworks: np.ndarray, creator: np.ndarray, year: np.ndarray,
              metric: str = "l2", kind: str = "flat", kind_kwargs: dict | None = None) -> "Gallery":
        from artkg.retrieval.index import make_index

        if metric not in METRICS:
            raise InputError(f"unknown metric {metric!r}", f"choose one of {', '.join(METRICS)}")
        index = make_index(kind, kind_kwargs, metric="l2" if metric == "l2" else "ip", normalize=metric == "cosine")
        index.add(np.ascontiguousarray(vectors[artworks], dtype=np.float32))
        return cls(np.asarray(artworks, dtype=np.int64), creator, year, index)

    @classmethod
    def for_graph(cls, graph, vectors: np.ndarray, usable: np.ndarray, metric: str = "l2", kind: str = "flat",
                  kind_kwargs: dict | None = None) -> "Gallery":
        """Every artwork of ``graph`` with a vector (``usable``) and a known creator."""
        from artkg.models.triplets import artwork_creators, artwork_years

        creator = artwork_creators(graph)
        rows = np.flatnonzero(np.asarray(usable, dtype=bool) & (creator >= 0))
        return cls.build(vectors, rows, creator, artwork_years(graph), metric, kind, kind_kwargs)

    def __len__(self) -> int:
        return len(self.artworks)

    def valid(self, queries: np.ndarray, rows: np.ndarray, time_filter: bool = True) -> np.ndarray:
        """``[q, K]`` mask of the ranked gallery ``rows`` that may be candidates for ``queries``."""
        cand = self.artworks[np.clip(rows, 0, None)]
        ok = (rows >= 0) & (self.creator[cand] != self.creator[queries][:, None])
        if time_filter:
            qy, cy = self.year[queries][:, None], self.year[cand]
            ok &= ~(cy > qy)  # NaN on either side compares False: unknown dates are kept
        return ok

    def search(self, vectors: np.ndarray, queries: np.ndarray, k: int | None = None,
               time_filter: bool = True) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Ranked candidates per query: ``(artworks [q, K], scores [q, K], valid [q, K])`` with the
        valid ones first, in rank order. ``k=None`` ranks the whole gallery."""
        q = np.ascontiguousarray(vectors[queries], dtype=np.float32)
        full = len(self)
        want = full if k is None else min(full, max(4 * k, k + 64))
        while True:
            scores, rows = self.index.search(q, want)
            valid = self.valid(queries, rows, time_filter)
            if k is None or want >= full or (valid.sum(1) >= k).all():
                break
            want = min(full, want * 4)
        order = np.argsort(~valid, axis=1, kind="stable")  # valid first, rank order kept
        rows = np.take_along_axis(rows, order, 1)
        scores = np.take_along_axis(scores, order, 1)
        valid = np.take_along_axis(valid, order, 1)
        if not self.index.higher_is_better:
            scores = -scores  # report "higher is better" everywhere (negative squared L2 distance)
        return self.artworks[np.clip(rows, 0, None)], scores, valid
