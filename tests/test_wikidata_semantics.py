"""Issue 13 §1 on the resulting graph: ``kgbuild wikidata`` over Wikidata-shaped data.

``tests/data/wikidata_shape.ttl`` is written the way WDQS holds Wikidata today (statement nodes,
ranks, ``pr:``/``prv:`` references, ``psv:`` time values with precision, skolem unknown values, a
redirect, ``mul`` labels, P31 classes). A real ``oxigraph serve`` serves it; the real ``kgbuild``
command crawls it; every check reads the graph directory it wrote.
"""
from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from artkg.kg.builders import build_graph
from artkg.kg.graph import load_graph
from artkg.kg.influence import influence_report
from artkg.kg.server import OxigraphServer

KGBUILD = str(Path(sys.executable).parent / "kgbuild")
SHAPE = Path(__file__).parent / "data" / "wikidata_shape.ttl"
WD = "http://www.wikidata.org/entity/"


def q(n: int | str) -> str:
    return f"{WD}Q{n}"


def pairs(graph, key) -> set[tuple[str, str]]:
    src, dst = graph.iris.get(key[0], []), graph.iris.get(key[2], [])
    return {(src[a], dst[b]) for a, b in graph.edge_index(key).t().tolist()}


def attr(graph, node_type: str, name: str, iri: str) -> float:
    values = graph.node_attr(node_type, name)
    assert values is not None, f"{node_type}.{name} missing"
    return float(values[graph.index_of(node_type, iri)])


@pytest.fixture(scope="module")
def server():
    with OxigraphServer(files=[SHAPE]) as srv:
        yield srv


@pytest.fixture(scope="module")
def crawl(server, tmp_path_factory) -> dict:
    out = tmp_path_factory.mktemp("shape") / "g"
    done = subprocess.run([KGBUILD, "wikidata", "Q1", "Q103", "--endpoint", server.query_url, "--out", str(out),
                           "--hops", "1", "--json", "--quiet"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return {"out": out, "manifest": json.loads(done.stdout), "graph": load_graph(out)}


# ------------------------------------------------------------------ unknown values
def test_unknown_values_make_no_node_and_are_recorded(crawl):
    g = crawl["graph"]
    every_iri = [iri for iris in g.iris.values() for iri in iris]
    assert not [iri for iri in every_iri if ".well-known/genid" in iri]
    assert attr(g, "artist", "influencer_unknown", q(1)) == 1.0  # an unknown influencer
    assert attr(g, "artist", "influencer_unknown", q(2)) == 0.0
    assert attr(g, "artist", "death_unknown", q(1)) == 1.0  # an unknown death date …
    assert math.isnan(attr(g, "artist", "death_year", q(1)))  # … is no year
    assert attr(g, "artwork", "creator_unknown", q(60)) == 1.0  # an unknown co-creator
    assert pairs(g, ("artwork", "created_by", "artist")) == {(q(60), q(2))}
    assert g.label_of("artist", g.index_of("artist", q(1))) == "Painter One"


# ------------------------------------------------------------------ redirects
def test_redirects_are_followed_for_seeds_and_targets(crawl):
    g, manifest = crawl["graph"], crawl["manifest"]
    assert manifest["source"]["seeds"] == [q(1), q(104)]
    assert manifest["source"]["redirects"] == {q(103): q(104), q(152): q(51)}
    assert q(103) not in g.iris["artist"]
    assert g.labels["artist"][g.index_of("artist", q(104))] == "Master Four"
    influence = pairs(g, ("artist", "influenced_by", "artist"))
    assert (q(1), q(104)) in influence  # Q1's edge to the redirect lands on the canonical item
    assert (q(104), q(2)) in influence  # the target's own data was fetched
    # A redirect among the context objects (a movement merged into another) lands on the canonical one.
    assert (q(104), q(51)) in pairs(g, ("artist", "movement", "movement"))
    assert q(152) not in g.iris["movement"]
    nt = (crawl["out"] / "graph.nt").read_text(encoding="utf-8")
    assert f"<{q(103)}> <http://www.w3.org/2002/07/owl#sameAs> <{q(104)}> ." in nt  # the alias
    assert g.resolve("artist", "Q103") == g.resolve("artist", q(103)) == g.index_of("artist", q(104))


# ------------------------------------------------------------------ typing
def test_influence_targets_keep_their_own_types(crawl):
    g = crawl["graph"]
    assert set(g.iris["artist"]) == {q(1), q(2), q(3), q(104), q(105)}
    assert pairs(g, ("artist", "influenced_by", "artist")) == {(q(1), q(2)), (q(1), q(3)), (q(1), q(104)),
                                                               (q(104), q(2)), (q(104), q(105))}
    assert pairs(g, ("artist", "influenced_by", "movement")) == {(q(1), q(50))}
    assert pairs(g, ("artist", "influenced_by", "artwork")) == {(q(1), q(60))}
    assert g.labels["movement"][g.index_of("movement", q(50))] == "Japonisme"
    # "African sculpture" has a class that is none of artkg's: no node, and the skip is counted.
    assert q(70) not in [iri for iris in g.iris.values() for iri in iris]
    assert crawl["manifest"]["skipped"]["P737 between artist and None"] == 1


def test_rdf_import_types_a_movement_with_an_inception_as_a_movement(tmp_path):
    manifest = build_graph("rdf", tmp_path / "g", path=SHAPE)
    g = load_graph(tmp_path / "g")
    assert q(50) in g.iris["movement"] and q(50) not in g.iris["artwork"]
    assert (q(2), q(50)) in pairs(g, ("artist", "movement", "movement"))
    assert (q(1), q(51)) in pairs(g, ("artist", "movement", "movement"))
    assert set(g.iris["artwork"]) == {q(60)}
    assert "P135 between artist and artwork" not in manifest["skipped"]
    # A dump's unknown values ("…/.well-known/genid/…") make no node either, and are recorded.
    assert not [iri for iris in g.iris.values() for iri in iris if ".well-known/genid" in iri]
    assert manifest["skipped"]["unknown value (skolem IRI), no node"] == 2  # an influencer, a co-creator
    assert attr(g, "artist", "influencer_unknown", q(1)) == attr(g, "artist", "death_unknown", q(1)) == 1.0
    assert attr(g, "artwork", "creator_unknown", q(60)) == 1.0


# ------------------------------------------------------------------ ranks and references
def test_evidence_comes_from_best_rank_statements_with_pr_values_only(crawl):
    g = crawl["graph"]
    iris = g.iris["artist"]
    records = {(iris[a], iris[b]): r for (a, b), r in zip(g.edge_index(("artist", "influenced_by", "artist"))
                                                           .t().tolist(), g.evidence)}
    to_q2 = records[(q(1), q(2))]
    # The normal statement's reference, with pr:P813's date, never prv:'s value node (wdv:…);
    # not the deprecated statement's reference (Q901), whose reason for deprecation is noted.
    assert to_q2["references"] == [{"P248": [q(900)], "P813": ["2020-01-01T00:00:00Z"]}]
    assert to_q2["deprecated"] == [{"P2241": [q(41755623)]}]
    assert "qualifiers" not in to_q2
    to_q3 = records[(q(1), q(3))]
    assert to_q3["qualifiers"] == {"P1480": [q(18122778)]}  # "presumably"
    assert to_q3["references"] == [{"P854": ["https://example.org/letters"]}]
    assert "wdv" not in json.dumps(g.evidence)


def test_influence_answer_shows_the_qualifiers(crawl):
    report = influence_report(crawl["graph"], "Painter One", degree=1)
    by_id = {item["id"]: item for item in report["influencers"]}
    assert by_id[q(3)]["qualifiers"] == {"sourcing circumstances": ["presumably"]}
    assert by_id[q(2)]["deprecated"] == [{"reason for deprecated rank": ["incorrect value"]}]
    assert "qualifiers" not in by_id[q(104)]
    shown = subprocess.run([str(Path(sys.executable).parent / "artkg"), "influence", str(crawl["out"]),
                            "--artist", "Painter One", "--degree", "1"], capture_output=True, text=True,
                           timeout=120)
    assert shown.returncode == 0, shown.stderr
    assert "presumably" in shown.stdout and "incorrect value" in shown.stdout


# ------------------------------------------------------------------ dates
def test_dates_keep_precision_and_are_chosen_by_rank(crawl):
    g, manifest = crawl["graph"], crawl["manifest"]
    # Q1: a preferred 1841 (day precision) beats a normal, earlier 1838.
    assert attr(g, "artist", "birth_year", q(1)) == 1841
    assert attr(g, "artist", "birth_precision", q(1)) == 11
    # Q2: two normal-rank dates: the earliest is kept, and the manifest says so.
    assert attr(g, "artist", "birth_year", q(2)) == 1810
    assert manifest["skipped"]["P569 with several best-rank values (earliest kept)"] == 1
    # Q104: century precision is kept beside the year (the 17th century, not "1601").
    assert attr(g, "artist", "birth_year", q(104)) == 1601
    assert attr(g, "artist", "birth_precision", q(104)) == 7
    assert attr(g, "artwork", "year", q(60)) == 1601 and attr(g, "artwork", "year_precision", q(60)) == 7
    # XSD 1.1: "-0469" is 470 BCE.
    assert attr(g, "artist", "birth_year", q(3)) == -470


# ------------------------------------------------------------------ labels
def test_labels_fall_back_to_mul_then_any_language_then_the_qid(crawl):
    g = crawl["graph"]
    labels = dict(zip(g.iris["artist"], g.labels["artist"]))
    assert labels[q(1)] == "Painter One"  # `mul` before Spanish
    assert labels[q(3)] == "Peintre Trois"  # only a French label
    assert labels[q(105)] is None and g.label_of("artist", g.index_of("artist", q(105))) == "Q105"  # no label
    assert g.descriptions["artist"][g.index_of("artist", q(1))] == "fictional painter"
