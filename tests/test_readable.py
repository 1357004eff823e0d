"""Answers a person can read: names and years instead of ids, evidence that names its edge, an empty
answer that says why, and retrieval scores on a stated [0, 1] scale — the same in text and JSON."""
from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from artkg.kg.builders import build_graph
from artkg.kg.graph import load_graph
from artkg.kg.influence import influence_report
from artkg.retrieval.query import influencing_artworks, readable_score
from conftest import featured_world

BIN = Path(sys.executable).parent
WD, WDT = "http://www.wikidata.org/entity/", "http://www.wikidata.org/prop/direct/"


def artkg(*args) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / "artkg"), *map(str, args)], capture_output=True, text=True, timeout=300,
                          env={"OMP_NUM_THREADS": "1", "PATH": str(BIN)})


@pytest.fixture(scope="module")
def no_influence(tmp_path_factory) -> Path:
    """A collection with creators and dates but no P737 at all (like a WikiArt import)."""
    root = tmp_path_factory.mktemp("collection")
    lines = []
    for i, (artist, name) in enumerate([("Q1", "Anna Maler"), ("Q2", "Bruno Pittore")]):
        lines.append(f'<{WD}{artist}> <http://www.w3.org/2000/01/rdf-schema#label> "{name}"@en .')
        for j in range(2):
            work = f"{WD}Q{100 + 10 * i + j}"
            lines += [f"<{work}> <{WDT}P170> <{WD}{artist}> .",
                      f'<{work}> <http://www.w3.org/2000/01/rdf-schema#label> "Work {i}{j}"@en .']
    ttl = root / "collection.nt"
    ttl.write_text("\n".join(lines) + "\n")
    build_graph("rdf", root / "graph", path=ttl, build_store=False)
    return root / "graph"


def test_a_graph_without_influence_edges_says_so(no_influence):
    report = influence_report(load_graph(no_influence), "anna maler", 2)
    assert report["influencers"] == [] and "no influence edges at all" in report["note"]
    assert "kgbuild wikidata" in report["note"] and "kgbuild rdf" in report["note"]
    done = artkg("influence", no_influence, "--artist", "Anna Maler")
    assert done.returncode == 0 and "was influenced by 0 artists" in done.stdout
    assert "note: this graph has no influence edges at all" in done.stdout


def test_an_artist_without_influencers_in_a_graph_with_some(small_world):
    graph = load_graph(small_world)
    first = graph.labels["artist"][0]  # the oldest artist: nobody before them
    report = influence_report(graph, graph.iris["artist"][0], 2)
    if report["influencers"]:
        pytest.skip("the oldest artist has influencers in this world")
    assert report["note"].startswith(f"no recorded influencers of {first} (") and "influence edges in all" \
        in report["note"]


def test_evidence_names_its_edge_and_the_cli_shows_the_references(small_world):
    graph = load_graph(small_world)
    records = json.loads((small_world / "processed" / "evidence.json").read_text())
    edges = graph.edge_index(("artist", "influenced_by", "artist")).t().tolist()
    assert len(records) == len(edges)
    for (a, b), record in zip(edges, records):
        assert record["subject"] == graph.iris["artist"][a] and record["object"] == graph.iris["artist"][b]
        assert record["subject_label"] == graph.labels["artist"][a]
        assert record["object_label"] == graph.labels["artist"][b]
    # An artist one of whose influence claims has a reference: --evidence prints it, by name.
    with_ref = next((a, b, r) for (a, b), r in zip(edges, records) if r["references"])
    a, b, record = with_ref
    done = artkg("influence", small_world, "--artist", graph.iris["artist"][a].rsplit("/", 1)[-1], "--degree", 1,
                 "--evidence")
    assert done.returncode == 0, done.stderr
    claim = f"{graph.labels['artist'][a]} ("  # names with years, never ids
    assert f"— influenced by — {graph.labels['artist'][b]} (" in done.stdout and claim in done.stdout
    ref = record["references"][0]
    if "P248" in ref:
        assert f"stated in: {ref['P248'][0]}" in done.stdout
    if "P854" in ref:
        assert f"reference URL: {ref['P854'][0]}" in done.stdout


def test_readable_scores():
    assert readable_score(0.6, "cosine") == {"similarity": 0.8, "distance": 0.4}
    assert readable_score(-4.0, "l2") == {"similarity": pytest.approx(1 / 3, abs=1e-4), "distance": 2.0}
    assert readable_score(0.0, "l2")["similarity"] == 1.0
    assert readable_score(12.0, "ip") == {"similarity": None, "distance": None}


@pytest.fixture(scope="module")
def featured(small_world, tmp_path_factory) -> Path:
    return featured_world(small_world, tmp_path_factory, "readable")


def test_candidate_similarities_are_in_0_1_ordered_and_the_same_in_text_and_json(featured):
    graph = load_graph(featured)
    late = int(np.nanargmax(graph.node_attr("artwork", "year").numpy()))  # many earlier candidates
    artwork = graph.iris["artwork"][late].rsplit("/", 1)[-1]
    report = influencing_artworks(graph, artwork, k=6, degree=2)
    sims = [c["similarity"] for c in report["candidates"]]
    assert all(0 <= s <= 1 for s in sims) and sims == sorted(sims, reverse=True)
    assert [c["rank"] for c in report["candidates"]] == list(range(1, 7))
    for c in report["candidates"]:
        assert c["similarity"] == pytest.approx((1 + c["score"]) / 2, abs=1e-4)  # cosine on raw features
        if c["path"]:
            assert len(c["path_names"]) == len(c["path"]) and "(" in c["path_names"][-1]
    assert report["ranking"]["similarity"] == "(1 + cosine) / 2"
    text = artkg("influence", featured, "--artwork", artwork, "--k", 6, "--degree", 2)
    assert text.returncode == 0, text.stderr
    shown = [float(x) for x in re.findall(r"similarity (0\.\d{3}) \(cosine distance", text.stdout)]
    assert shown == [round(s, 3) for s in sims]
    data = json.loads(artkg("influence", featured, "--artwork", artwork, "--k", 6, "--degree", 2, "--json").stdout)
    assert [c["similarity"] for c in data["candidates"]] == sims
