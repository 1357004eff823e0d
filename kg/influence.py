"""Influence chains: who influenced an artist (and who influenced them), with shortest paths.

``(A wdt:P737 B)`` reads "A was influenced by B": B is a degree-1 influencer of A, and an
influencer of B that is not already at degree 1 is a degree-2 influencer. The same breadth-first
search serves the artist-level query and the artwork-level retrieval built on it.
"""
from __future__ import annotations

import weakref
from dataclasses import dataclass
from enum import Enum

import numpy as np

from artkg.kg import schema as S


class Direction(str, Enum):
    """``influencers``: who influenced X; ``influenced``: whom X influenced."""

    influencers = "influencers"
    influenced = "influenced"


@dataclass(frozen=True)
class Chain:
    """One reached artist: its index, minimal degree and one shortest path from the query artist."""

    index: int
    degree: int
    path: tuple[int, ...]


class InfluenceIndex:
    """CSR adjacency of the influence graph in both directions; built once, queried in microseconds."""

    def __init__(self, edge_index: np.ndarray, num_nodes: int):
        edge_index = np.asarray(edge_index, dtype=np.int64).reshape(2, -1)
        self.num_nodes = num_nodes
        # influencers[a] = every b with (a influenced_by b); influenced[b] = every such a.
        self._csr = {
            Direction.influencers: _csr(edge_index[0], edge_index[1], num_nodes),
            Direction.influenced: _csr(edge_index[1], edge_index[0], num_nodes),
        }

    @classmethod
    def from_graph(cls, graph) -> "InfluenceIndex":
        """Build from a :class:`~artkg.kg.graph.KnowledgeGraph`."""
        return cls(graph.edge_index(S.INFLUENCE.key).numpy(), graph.num_nodes("artist"))

    def neighbours(self, node: int, direction: Direction | str = Direction.influencers) -> np.ndarray:
        indptr, indices = self._csr[Direction(direction)]
        return indices[indptr[node]:indptr[node + 1]]

    def chains(self, source: int, degree: int = 2,
               direction: Direction | str = Direction.influencers) -> list[Chain]:
        """Every artist within ``degree`` hops, once, at its minimal degree, with one shortest path.

        Order: by degree, then by the order of discovery (neighbours sorted by index), so the
        answer is deterministic.
        """
        if degree < 1:
            raise ValueError("degree must be at least 1")
        if not 0 <= source < self.num_nodes:
            raise IndexError(f"artist index {source} out of range")
        indptr, indices = self._csr[Direction(direction)]
        parent = {source: -1}
        frontier = [source]
        found: list[Chain] = []
        for depth in range(1, degree + 1):
            nxt = []
            for node in frontier:
                for nb in indices[indptr[node]:indptr[node + 1]].tolist():
                    if nb in parent:
                        continue
                    parent[nb] = node
                    nxt.append(nb)
                    found.append(Chain(nb, depth, _path(parent, nb)))
            if not nxt:
                break
            frontier = nxt
        return found

    def within(self, source: int, degree: int = 2, direction: Direction | str = Direction.influencers) -> dict[int, int]:
        """``{artist: minimal degree}`` for every artist within ``degree`` hops (no paths)."""
        return {c.index: c.degree for c in self.chains(source, degree, direction)}


def _csr(src: np.ndarray, dst: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    order = np.lexsort((dst, src))
    counts = np.bincount(src, minlength=n)
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(counts, out=indptr[1:])
    return indptr, dst[order]


def _path(parent: dict[int, int], node: int) -> tuple[int, ...]:
    path = [node]
    while parent[path[-1]] != -1:
        path.append(parent[path[-1]])
    return tuple(reversed(path))


# Qualifiers that change what an influence claim means, by the names Wikidata gives them.
QUALIFIER_NAMES = {"P1480": "sourcing circumstances", "P2241": "reason for deprecated rank"}
_QUALIFIED: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def qualified_edges(graph) -> dict[tuple[int, int], dict]:
    """``{(influencee, influencer): {"qualifiers": …, "deprecated": …}}`` for the influence edges whose
    evidence carries meaning qualifiers, values by label (``"presumably"``); read once per graph."""
    try:
        return _QUALIFIED[graph]
    except (KeyError, TypeError):
        pass
    found: dict[tuple[int, int], dict] = {}
    edges = graph.edge_index(S.INFLUENCE.key).t().tolist()
    for (a, b), record in zip(edges, graph.evidence):
        if "qualifiers" not in record and "deprecated" not in record:
            continue
        labels = record.get("labels", {})

        def named(quals: dict) -> dict:
            return {QUALIFIER_NAMES.get(p, p): [labels.get(v) or S.local_name(v) for v in values]
                    for p, values in quals.items()}

        shown = {}
        if record.get("qualifiers"):
            shown["qualifiers"] = named(record["qualifiers"])
        if record.get("deprecated"):
            shown["deprecated"] = [named(d) for d in record["deprecated"]]
        found[(a, b)] = shown
    try:
        _QUALIFIED[graph] = found
    except TypeError:
        pass
    return found


def influence_report(graph, artist: str, degree: int = 2,
                     direction: Direction | str = Direction.influencers,
                     index: InfluenceIndex | None = None) -> dict:
    """The ``artkg influence --artist`` answer as plain data (the documented JSON shape)."""
    direction = Direction(direction)
    source = graph.resolve("artist", artist)
    index = index or graph.influence
    iris = graph.iris["artist"]
    key = "influencers" if direction is Direction.influencers else "influenced"
    qualified = qualified_edges(graph)
    items = []
    for c in index.chains(source, degree, direction):
        item = {"id": iris[c.index], "label": graph.label_of("artist", c.index), "degree": c.degree,
                "path": [iris[i] for i in c.path]}
        # The last step's claim, as qualified on Wikidata ("presumably"; a deprecated duplicate's reason).
        last = (c.path[-2], c.path[-1]) if direction is Direction.influencers else (c.path[-1], c.path[-2])
        item.update(qualified.get(last, {}))
        items.append(item)
    return {
        "artist": {"id": iris[source], "label": graph.label_of("artist", source)},
        "degree": degree,
        "direction": direction.value,
        key: items,
    }
