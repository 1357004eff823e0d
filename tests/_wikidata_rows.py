"""Real Wikidata rows (Pryce22/ARTGRAPH extract in ../shared/data/wikidata) as N-Triples, plus the
facts a crawl of them must produce, computed straight from the raw rows (independently of artkg).

Rows are ``{artist, prop, target, targetLabel, targetIsHuman}`` with ``prop`` one of
``wdt:P135`` (movement), ``wdt:P737`` (influenced by), ``wdt:P1066`` (student of); the seed file
has ``{qid, name, label, description}``. The N-Triples written here are::

    <artist> <wdt:Pxxx> <target> .
    <target> rdfs:label "targetLabel"@en .
    <target> wdt:P31 wd:Q5 .                  (only where targetIsHuman: the rows' own class test)
    <seed>   rdfs:label "label"@en .        <seed> schema:description "description"@en .

Terms are serialised by pyoxigraph, so labels with quotes or non-ASCII letters are escaped correctly.
"""
from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import pyoxigraph as ox

WD = "http://www.wikidata.org/entity/"
WDT = "http://www.wikidata.org/prop/direct/"
RDFS_LABEL = "http://www.w3.org/2000/01/rdf-schema#label"
SCHEMA_DESCRIPTION = "http://schema.org/description"
P737, P1066, P135 = WDT + "P737", WDT + "P1066", WDT + "P135"
P31, HUMAN = WDT + "P31", WD + "Q5"


@dataclass
class Rows:
    """The raw rows, de-duplicated, with the lookups the tests need."""

    seeds: list[dict]
    edges: set[tuple[str, str, str]]  # (artist IRI, property IRI, target IRI)
    labels: dict[str, str]  # IRI -> English label (targets and seeds)
    descriptions: dict[str, str]  # seed IRI -> description
    human: dict[str, bool]  # target IRI -> targetIsHuman
    out: dict[str, dict[str, set[str]]] = field(default_factory=dict)  # prop -> artist -> targets

    def __post_init__(self) -> None:
        out: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
        for a, p, t in self.edges:
            out[p][a].add(t)
        self.out = out

    @property
    def seed_iris(self) -> list[str]:
        return [WD + s["qid"] for s in self.seeds]

    def seed_by_label(self, label: str) -> dict:
        (seed,) = [s for s in self.seeds if s["label"] == label]
        return seed

    def targets(self, prop: str, artist: str) -> set[str]:
        return set(self.out.get(prop, {}).get(artist, set()))

    def bfs(self, seeds: list[str], hops: int) -> dict[str, int]:
        """Artist IRI -> distance along P737 (influencer direction), up to ``hops``."""
        dist = {s: 0 for s in seeds}
        frontier = list(seeds)
        for d in range(1, hops + 1):
            nxt = []
            for a in frontier:
                for b in sorted(self.targets(P737, a)):
                    if b not in dist:
                        dist[b] = d
                        nxt.append(b)
            frontier = nxt
        return dist


def load_rows(links_path: Path, seeds_path: Path) -> Rows:
    raw = json.loads(Path(links_path).read_text(encoding="utf-8"))
    seeds = json.loads(Path(seeds_path).read_text(encoding="utf-8"))
    edges, labels, human, descriptions = set(), {}, {}, {}
    for r in raw:
        edges.add((r["artist"], r["prop"], r["target"]))
        labels[r["target"]] = r["targetLabel"]
        human[r["target"]] = r["targetIsHuman"] == "true"
    for s in seeds:
        iri = WD + s["qid"]
        labels[iri] = s["label"]
        descriptions[iri] = s["description"]
    return Rows(seeds=seeds, edges=edges, labels=labels, descriptions=descriptions, human=human)


def rows_to_ntriples(links_path: Path, seeds_path: Path, out: Path) -> int:
    """Write the rows and seeds as sorted N-Triples to ``out``; returns the number of triples."""
    raw = json.loads(Path(links_path).read_text(encoding="utf-8"))
    seeds = json.loads(Path(seeds_path).read_text(encoding="utf-8"))
    label_p, desc_p = ox.NamedNode(RDFS_LABEL), ox.NamedNode(SCHEMA_DESCRIPTION)
    triples: set[ox.Triple] = set()
    for r in raw:
        target = ox.NamedNode(r["target"])
        triples.add(ox.Triple(ox.NamedNode(r["artist"]), ox.NamedNode(r["prop"]), target))
        triples.add(ox.Triple(target, label_p, ox.Literal(r["targetLabel"], language="en")))
        if r["targetIsHuman"] == "true":
            triples.add(ox.Triple(target, ox.NamedNode(P31), ox.NamedNode(HUMAN)))
    for s in seeds:
        seed = ox.NamedNode(WD + s["qid"])
        triples.add(ox.Triple(seed, label_p, ox.Literal(s["label"], language="en")))
        triples.add(ox.Triple(seed, desc_p, ox.Literal(s["description"], language="en")))
    lines = sorted(f"{t} .\n" for t in triples)
    out.write_text("".join(lines), encoding="utf-8")
    return len(lines)
