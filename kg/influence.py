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


REFERENCE_NAMES = {"P248": "stated in", "P854": "reference URL", "P143": "imported from", "P813": "retrieved",
                   "P1476": "title", "P304": "page(s)", "P577": "publication date", "P887": "based on heuristic",
                   "P4656": "Wikimedia import URL", "P3452": "inferred from"}


def influence_report(graph, artist: str, degree: int = 2,
                     direction: Direction | str = Direction.influencers,
                     index: InfluenceIndex | None = None, evidence: bool = False) -> dict:
    """The ``artkg influence --artist`` answer as plain data (the documented JSON shape).

    Each influencer (or influenced artist) comes with its label and years and the path's names
    (``path_names``, e.g. ``"Konrad Fonley (1856–1902)"``); ``evidence=True`` adds, per step of the
    path, the references of that influence claim. ``note`` says why there is nothing to list.
    """
    from artkg.kg.search import describe, display

    direction = Direction(direction)
    source = graph.resolve("artist", artist)
    index = index or graph.influence
    iris = graph.iris["artist"]
    key = "influencers" if direction is Direction.influencers else "influenced"
    qualified = qualified_edges(graph)
    records = _evidence_by_edge(graph) if evidence else {}
    names: dict[int, str] = {}

    def name(i: int) -> str:
        if i not in names:
            names[i] = display(describe(graph, "artist", i))
        return names[i]

    items = []
    for c in index.chains(source, degree, direction):
        about = describe(graph, "artist", c.index)
        item = {"id": iris[c.index], "label": about["label"], "born": about["born"], "died": about["died"],
                "degree": c.degree, "path": [iris[i] for i in c.path], "path_names": [name(i) for i in c.path]}
        # The last step's claim, as qualified on Wikidata ("presumably"; a deprecated duplicate's reason).
        last = (c.path[-2], c.path[-1]) if direction is Direction.influencers else (c.path[-1], c.path[-2])
        item.update(qualified.get(last, {}))
        if evidence:
            steps = [(a, b) if direction is Direction.influencers else (b, a) for a, b in zip(c.path, c.path[1:])]
            item["evidence"] = [_readable_evidence(graph, records.get(step), step, name) for step in steps]
        items.append(item)
    about = describe(graph, "artist", source)
    report = {
        "artist": {"id": iris[source], "label": about["label"], "born": about["born"], "died": about["died"],
                   "name": name(source)},
        "degree": degree,
        "direction": direction.value,
        key: items,
    }
    if not items:
        report["note"] = no_influence_note(graph, name(source), direction)
    return report


def no_influence_note(graph, who: str, direction: Direction) -> str:
    """Why an influence answer is empty: the graph has no influence data at all, or this artist none."""
    edges = int(graph.edge_index(S.INFLUENCE.key).shape[1])
    if edges == 0:
        kind = (graph.manifest.get("source") or {}).get("kind", "?")
        why = {"wikiart": "WikiArt's split files carry no influence data",
               "artgraph": "this ArtGraph export has no influence relation"}.get(kind, "its source states none")
        return (f"this graph has no influence edges at all (built by kgbuild {kind}: {why}) — "
                f"build one with `kgbuild wikidata` (P737 \"influenced by\") to trace influence")
    what = "influencers" if direction is Direction.influencers else "artists influenced by them"
    return f"no recorded {what} of {who} in this graph ({edges:,} influence edges in all)"


def _evidence_by_edge(graph) -> dict[tuple[int, int], dict]:
    edges = graph.edge_index(S.INFLUENCE.key).t().tolist()
    return {(a, b): record for (a, b), record in zip(edges, graph.evidence)}


def _readable_evidence(graph, record: dict | None, step: tuple[int, int], name) -> dict:
    """One influence claim: who was influenced by whom, from which source, with which references
    (properties by name, values by label where the graph has one)."""
    a, b = step
    out = {"subject": name(a), "predicate": "influenced by", "object": name(b)}
    if record is None:
        return out | {"references": []}
    labels = record.get("labels", {})
    out["source"] = record.get("source")
    out["references"] = [{REFERENCE_NAMES.get(p, p): [labels.get(v) or v for v in values] for p, values in ref.items()}
                         for ref in record.get("references", [])]
    return out
