"""Influence chains (``influence_report``) against an independent networkx breadth-first search.

The influence graph is re-read from graph.nt with rdflib (synthetic world, hand-built graph) or
taken straight from the raw Wikidata rows (Pryce22), never from artkg's tensors.
"""
from __future__ import annotations

import pytest

from _artdata import P737, WD, load_pryce, nx_influence, nx_reach, p737_pairs_from_ntriples, pryce_turtle
from conftest import shared

from artkg.kg.builders import build_graph
from artkg.kg.errors import NotFoundError
from artkg.kg.graph import load_graph
from artkg.kg.influence import InfluenceIndex, influence_report
from artkg.kg.synth_world import QUOTE_ARTIST_INDEX, QUOTE_ARTIST_LABEL

DEGREES = (1, 2, 3)
DIRECTIONS = ("influencers", "influenced")


def check_report(report: dict, nxg, artist: str, degree: int, direction: str) -> None:
    """Same influencers as networkx, each once, at its minimal degree, with a valid shortest path."""
    key = "influencers" if direction == "influencers" else "influenced"
    assert set(report) - {"note"} == {"artist", "degree", "direction", key}
    assert ("note" in report) == (not report[key])  # an empty answer says why
    assert report["artist"]["id"] == artist
    assert report["degree"] == degree and report["direction"] == direction
    items = report[key]
    ids = [x["id"] for x in items]
    assert len(ids) == len(set(ids)), "an artist appears twice"
    assert artist not in ids
    expected = nx_reach(nxg, artist, degree, direction)
    assert {x["id"]: x["degree"] for x in items} == expected
    assert [x["degree"] for x in items] == sorted(x["degree"] for x in items)  # ordered by degree
    for x in items:
        path = x["path"]
        assert len(path) == x["degree"] + 1
        assert path[0] == artist and path[-1] == x["id"]
        assert len(x["path_names"]) == len(path) and x["path_names"][-1].startswith(x["label"])
        for a, b in zip(path, path[1:]):  # a hop along influence in the asked direction
            assert nxg.has_edge(a, b) if direction == "influencers" else nxg.has_edge(b, a), (a, b)


# ---------------------------------------------------------------- synthetic world
@pytest.fixture(scope="module")
def world(small_world):
    graph = load_graph(small_world)
    nxg = nx_influence(p737_pairs_from_ntriples(small_world / "graph.nt"))
    return graph, nxg


def test_world_influence_edges_match_graph_nt(world):
    graph, nxg = world
    ei = graph.edge_index(("artist", "influenced_by", "artist")).numpy()
    iris = graph.iris["artist"]
    assert {(iris[a], iris[b]) for a, b in ei.T.tolist()} == set(nxg.edges)


def test_world_chains_match_networkx(world):
    graph, nxg = world
    index = InfluenceIndex.from_graph(graph)
    deep = 0
    for artist in graph.iris["artist"]:  # every artist, three degrees, both directions
        for direction in DIRECTIONS:
            for degree in DEGREES:
                report = influence_report(graph, artist, degree, direction, index=index)
                check_report(report, nxg, artist, degree, direction)
                deep += any(x["degree"] == 3 for x in report[direction])
    assert deep > 10  # the world really has chains of length 3


def test_world_degree_two_of_selected_artists(world):
    """The artists with the most degree-2 influencers: degree 2 = degree 1 plus the new ones at 2."""
    graph, nxg = world
    ranked = sorted(graph.iris["artist"], key=lambda a: (-len(nx_reach(nxg, a, 2)), a))[:5]
    for artist in ranked:
        one = influence_report(graph, artist, degree=1)["influencers"]
        two = influence_report(graph, artist, degree=2)["influencers"]
        assert two[: len(one)] == one
        assert {x["id"] for x in two[len(one):]} == {a for a, d in nx_reach(nxg, artist, 2).items() if d == 2}
        assert len(two) > len(one)


# ---------------------------------------------------------------- real Wikidata rows
@pytest.fixture(scope="module")
def pryce(tmp_path_factory):
    links = shared("wikidata", "pryce22_artgraph_artist_links.json")
    rows, seeds = load_pryce(links, shared("wikidata", "pryce22_artgraph_seed_artists.json"))
    tmp = tmp_path_factory.mktemp("pryce")
    build_graph("rdf", tmp / "graph", path=pryce_turtle(rows, seeds, tmp / "links.ttl"), build_store=False)
    # Artist-level chains: P737 targets that are movements (objects of P135) are not artists.
    movements = {r["target"] for r in rows if r["prop"].endswith("/P135")}
    nxg = nx_influence({(r["artist"], r["target"]) for r in rows
                        if r["prop"] == P737 and r["target"] not in movements})
    return load_graph(tmp / "graph"), nxg, seeds


def test_pryce_chains_match_networkx(pryce):
    graph, nxg, seeds = pryce
    checked = 0
    for seed in seeds:
        artist = WD + seed["qid"]
        assert graph.index_of("artist", artist) is not None, seed["label"]
        for direction in DIRECTIONS:
            for degree in DEGREES:
                check_report(influence_report(graph, artist, degree, direction), nxg, artist, degree, direction)
        checked += 1
    assert checked == len(seeds) == 50


def test_pryce_van_gogh_degree_two(pryce):
    graph, nxg, _ = pryce
    report = influence_report(graph, "Vincent van Gogh", degree=2)
    labels = {x["label"]: x["degree"] for x in report["influencers"]}
    assert {k for k, d in labels.items() if d == 1} == {
        "Paul Cézanne", "Jean-François Millet", "Katsushika Hokusai", "Paul Gauguin", "Anton Mauve",
        "Peter Paul Rubens", "Willem Roelofs"}
    assert {graph.iris["artist"][graph.resolve("artist", k)] for k, d in labels.items() if d == 2} == {
        a for a, d in nx_reach(nxg, WD + "Q5582", 2).items() if d == 2}
    assert any(d == 2 for d in labels.values())


# ---------------------------------------------------------------- hand-built graph: diamond + cycle
X = "http://x.example/"
TINY_EDGES = [  # (a, b): a was influenced by b
    ("A", "B"), ("A", "C"),  # diamond A→{B, C}→D
    ("B", "D"), ("C", "D"),
    ("D", "E"), ("E", "A"),  # cycle A→B→D→E→A
    ("F", "F"),  # self-influence
    ("G", "A"),
]
TINY_LABELS = {"A": "Anna", "B": "Berta", "C": "Carl", "D": "Dora", "E": "Emil", "F": "Twin", "G": "Twin"}


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("tiny")
    lines = [f"<{X}{a}> <{P737}> <{X}{b}> ." for a, b in TINY_EDGES]
    lines += [f'<{X}{n}> <http://www.w3.org/2000/01/rdf-schema#label> "{label}"@en .' for n, label in TINY_LABELS.items()]
    # two artists with the same local name in different namespaces
    lines += [f"<http://y.example/Q1> <{P737}> <{X}A> .", f"<http://z.example/Q1> <{P737}> <{X}A> ."]
    (tmp / "tiny.nt").write_text("\n".join(lines) + "\n")
    build_graph("rdf", tmp / "graph", path=tmp / "tiny.nt", build_store=False)
    return load_graph(tmp / "graph"), nx_influence(p737_pairs_from_ntriples(tmp / "graph" / "graph.nt"))


def _degrees(report: dict, key: str = "influencers") -> dict[str, int]:
    return {x["id"][len(X):]: x["degree"] for x in report[key]}


def test_tiny_diamond_and_cycle(tiny):
    graph, nxg = tiny
    a = X + "A"
    assert _degrees(influence_report(graph, a, 1)) == {"B": 1, "C": 1}
    assert _degrees(influence_report(graph, a, 2)) == {"B": 1, "C": 1, "D": 2}
    assert _degrees(influence_report(graph, a, 3)) == {"B": 1, "C": 1, "D": 2, "E": 3}
    report = influence_report(graph, a, 10)  # the cycle back to A neither repeats nor returns A
    assert _degrees(report) == {"B": 1, "C": 1, "D": 2, "E": 3}
    paths = {x["id"][len(X):]: [p[len(X):] for p in x["path"]] for x in report["influencers"]}
    assert paths["D"] in (["A", "B", "D"], ["A", "C", "D"])
    assert paths["E"][0] == "A" and paths["E"][2:] == ["D", "E"]
    influenced = influence_report(graph, a, 3, "influenced")
    assert {k: d for k, d in _degrees(influenced, "influenced").items() if k in TINY_LABELS} == {
        "E": 1, "G": 1, "D": 2, "B": 3, "C": 3}
    assert _degrees(influence_report(graph, X + "F", 3)) == {}  # only itself
    for node in graph.iris["artist"]:
        for direction in DIRECTIONS:
            for degree in (1, 2, 3, 5):
                check_report(influence_report(graph, node, degree, direction), nxg, node, degree, direction)


def test_tiny_degree_must_be_positive(tiny):
    graph, _ = tiny
    with pytest.raises(ValueError, match="at least 1"):
        influence_report(graph, X + "A", 0)


# ---------------------------------------------------------------- resolving the artist
def test_resolve_by_iri_qid_and_label(world, pryce):
    graph, _ = world
    iri = graph.iris["artist"][QUOTE_ARTIST_INDEX]
    assert graph.resolve("artist", iri) == QUOTE_ARTIST_INDEX
    assert graph.resolve("artist", f"<{iri}>") == QUOTE_ARTIST_INDEX
    assert graph.resolve("artist", iri.rsplit("/", 1)[1]) == QUOTE_ARTIST_INDEX  # local name A0005
    assert graph.resolve("artist", QUOTE_ARTIST_LABEL) == QUOTE_ARTIST_INDEX  # quotes, apostrophe, braces
    assert graph.resolve("artist", f"  {QUOTE_ARTIST_LABEL} ") == QUOTE_ARTIST_INDEX
    report = influence_report(graph, QUOTE_ARTIST_LABEL, 2)
    assert {k: report["artist"][k] for k in ("id", "label")} == {"id": iri, "label": QUOTE_ARTIST_LABEL}
    assert report["artist"]["name"].startswith(QUOTE_ARTIST_LABEL + " (")  # with the years
    pgraph, _, _ = pryce
    assert pgraph.iris["artist"][pgraph.resolve("artist", "Q5582")] == WD + "Q5582"
    assert pgraph.iris["artist"][pgraph.resolve("artist", "Joaquín Sorolla")] == WD + "Q351746"
    decomposed = "Joaqui\u0301n Sorolla"  # NFD spelling of the same label
    assert pgraph.iris["artist"][pgraph.resolve("artist", decomposed)] == WD + "Q351746"


def test_unknown_label_suggests_close_matches(world):
    graph, _ = world
    label = graph.labels["artist"][10]
    assert graph.resolve("artist", label[:-1]) == 10  # a unique prefix of a label is enough now
    with pytest.raises(NotFoundError) as info:
        graph.resolve("artist", "A001")  # a mistyped id: the closest ids are suggested
    assert "no artist 'A001'" in str(info.value)
    assert "did you mean" in info.value.fix and "A0101" in info.value.fix
    with pytest.raises(NotFoundError) as info:
        influence_report(graph, "Zzyzx Qwerty", 2)
    assert "give an id (IRI, QID) or a label; `artkg search" in info.value.fix


def test_ambiguous_label_and_id_list_the_ids(tiny):
    graph, _ = tiny
    with pytest.raises(NotFoundError) as info:
        graph.resolve("artist", "Twin")
    message = str(info.value)
    assert "2 artists are labelled 'Twin'" in message and "Twin = F" in message and "Twin = G" in message
    assert "pass the id" in info.value.fix
    assert graph.iris["artist"][graph.resolve("artist", "F")] == X + "F"  # the id settles it
    with pytest.raises(NotFoundError) as info:
        graph.resolve("artist", "Q1")
    assert "http://y.example/Q1" in str(info.value) and "http://z.example/Q1" in str(info.value)
    assert graph.iris["artist"][graph.resolve("artist", "http://z.example/Q1")] == "http://z.example/Q1"
