"""``kgbuild wikidata`` end to end against real Oxigraph servers on 127.0.0.1 — no mocks on the SPARQL path.

* **Real Wikidata rows** (../shared/data/wikidata, Pryce22/ARTGRAPH): served as N-Triples; every
  expected node, edge and label is computed straight from the raw rows (:mod:`tests._wikidata_rows`).
* **The synthetic world** (``small_world``/``world_server``): the crawl is checked against
  ``ground_truth.json`` — influence reached by BFS, artworks per artist, styles, genres, evidence.
* **Escaping**: the world's artist labelled ``Jean "Le Grand" O'Brien {II}``; injection attempts.
* **Cache/resume**: reruns need no network, ``--offline`` works from the cache, corrupt entries are refetched.
"""
from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from artkg.kg.builders import build_graph
from artkg.kg.errors import EndpointError, InputError, NotFoundError
from artkg.kg.graph import load_graph
from artkg.kg.influence import influence_report
from artkg.kg.server import OxigraphServer
from artkg.kg.wikidata import WikidataConfig, WikidataCrawler

from _artdata import edge_pairs
from conftest import fast_crawl_config, shared
from _wikidata_rows import P135, P737, P1066, WD, Rows, load_rows, rows_to_ntriples

KGBUILD = str(Path(sys.executable).parent / "kgbuild")
INFLUENCE = ("artist", "influenced_by", "artist")
STUDENT = ("artist", "student_of", "artist")
MOVEMENT = ("artist", "movement", "movement")



def labels_by_iri(graph, node_type: str) -> dict[str, str | None]:
    return dict(zip(graph.iris.get(node_type, []), graph.labels.get(node_type, [])))


def bindings(path: Path) -> list[str]:
    """A cached SPARQL JSON answer's rows, order-insensitive."""
    return sorted(json.dumps(b, sort_keys=True) for b in json.loads(path.read_bytes())["results"]["bindings"])


def run_kgbuild(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([KGBUILD, "wikidata", *args], capture_output=True, text=True, timeout=timeout)


# ====================================================================== real Wikidata rows
@pytest.fixture(scope="module")
def rows() -> Rows:
    return load_rows(shared("wikidata", "pryce22_artgraph_artist_links.json"),
                     shared("wikidata", "pryce22_artgraph_seed_artists.json"))


@pytest.fixture(scope="module")
def rows_server(rows, tmp_path_factory):
    nt = tmp_path_factory.mktemp("rows") / "artist_links.nt"
    n = rows_to_ntriples(shared("wikidata", "pryce22_artgraph_artist_links.json"),
                         shared("wikidata", "pryce22_artgraph_seed_artists.json"), nt)
    assert n == len(rows.edges) + len(rows.labels) + len(rows.descriptions) + sum(rows.human.values())
    with OxigraphServer(files=[nt]) as server:
        yield server


def typed_seeds(rows: Rows) -> list[str]:
    """Seeds the schema can type as artists from these rows and whose influencers are all human.

    The rows carry no birth dates, and non-human P737 targets (Sorolla → "Impressionism") make the
    expected edge sets irregular; the two tests after the main crawl cover those cases.
    """
    return [s for s in rows.seed_iris
            if (rows.targets(P737, s) or rows.targets(P1066, s))
            and all(rows.human[t] for t in rows.targets(P737, s))]


@pytest.fixture(scope="module")
def rows_crawl(rows, rows_server, tmp_path_factory) -> dict:
    """All well-typed seeds, hops=1: two of them given by exact label, the rest by QID."""
    seed_iris = typed_seeds(rows)
    by_label = ["Claude Monet", "Eugène Louis Boudin"]  # the latter's Wikidata label, not its common name
    label_iris = {WD + rows.seed_by_label(label)["qid"] for label in by_label}
    assert label_iris <= set(seed_iris)
    seeds = [s.removeprefix(WD) for s in seed_iris if s not in label_iris] + by_label
    out = tmp_path_factory.mktemp("rows-crawl") / "graph"
    manifest = build_graph("wikidata", out, seeds=seeds,
                           config=WikidataConfig(endpoint=rows_server.query_url, hops=1), progress=False)
    return {"out": out, "manifest": manifest, "graph": load_graph(out), "seeds": seed_iris}


def test_rows_seeds_resolved_by_qid_and_exact_label(rows, rows_crawl):
    resolved = rows_crawl["manifest"]["source"]["seeds"]
    assert sorted(resolved) == sorted(rows_crawl["seeds"])
    assert WD + "Q296" in resolved and WD + rows.seed_by_label("Eugène Louis Boudin")["qid"] in resolved
    assert len(resolved) == len(set(resolved)) >= 40


def test_rows_nodes_and_labels(rows, rows_crawl):
    graph, seeds = rows_crawl["graph"], rows_crawl["seeds"]
    reached = set(seeds) | {t for s in seeds for t in rows.targets(P737, s)}
    teachers = {t for a in reached for t in rows.targets(P1066, a)}
    movements = {m for a in reached for m in rows.targets(P135, a)}
    assert all(rows.human[t] for t in reached - set(seeds))  # precondition of these expectations
    assert set(graph.iris["artist"]) == reached | teachers
    assert set(graph.iris["movement"]) == movements
    assert set(graph.iris) == {"artist", "movement"}
    for node_type in ("artist", "movement"):
        assert labels_by_iri(graph, node_type) == {iri: rows.labels[iri] for iri in graph.iris[node_type]}
    descriptions = dict(zip(graph.iris["artist"], graph.descriptions["artist"]))
    assert descriptions == {iri: rows.descriptions.get(iri) for iri in graph.iris["artist"]}
    assert all(d is None for d in graph.descriptions["movement"])
    counts = rows_crawl["manifest"]["counts"]
    assert counts["nodes"] == {"artist": len(reached | teachers), "movement": len(movements)}
    assert rows_crawl["manifest"]["skipped"] == {}, "every crawled triple fits the schema"


def test_rows_influence_edges_match_p737(rows, rows_crawl):
    graph, seeds = rows_crawl["graph"], rows_crawl["seeds"]
    expected = {(s, t) for s in seeds for t in rows.targets(P737, s)}
    assert edge_pairs(graph, INFLUENCE) == expected
    labels = labels_by_iri(graph, "artist")
    for seed in seeds:  # per seed: its P737 targets are exactly its influencers, with the rows' labels
        influencers = {t for s, t in edge_pairs(graph, INFLUENCE) if s == seed}
        assert influencers == rows.targets(P737, seed)
        assert {labels[t] for t in influencers} == {rows.labels[t] for t in rows.targets(P737, seed)}
    monet = {labels[t] for s, t in expected if s == WD + "Q296"}
    assert monet == {"Édouard Manet", "Katsushika Hokusai", "Jean-François Millet", "J. M. W. Turner",
                     "Gustave Courbet"}
    assert len(graph.evidence) == len(expected)
    source = f"wikidata:{rows_crawl['manifest']['source']['endpoint']}"
    assert all({k: e[k] for k in ("source", "property", "references")} == {"source": source, "property": "P737",
                                                                           "references": []} for e in graph.evidence)
    # Each record names its edge, so evidence.json reads on its own.
    assert {(e["subject"], e["object"]) for e in graph.evidence} == expected
    assert all(e["subject_label"] == labels[e["subject"]] and e["object_label"] == labels[e["object"]]
               for e in graph.evidence)


def test_rows_student_of_edges_match_p1066(rows, rows_crawl):
    graph, seeds = rows_crawl["graph"], rows_crawl["seeds"]
    reached = set(seeds) | {t for s in seeds for t in rows.targets(P737, s)}
    expected = {(a, t) for a in reached for t in rows.targets(P1066, a)}
    assert edge_pairs(graph, STUDENT) == expected
    labels = labels_by_iri(graph, "artist")
    assert {labels[t] for s, t in expected if s == WD + "Q296"} == {"Charles Gleyre", "Johan Jongkind",
                                                                     "Eugène Louis Boudin"}


def test_rows_movement_edges_match_p135(rows, rows_crawl):
    graph, seeds = rows_crawl["graph"], rows_crawl["seeds"]
    reached = set(seeds) | {t for s in seeds for t in rows.targets(P737, s)}
    expected = {(a, m) for a in reached for m in rows.targets(P135, a)}
    assert edge_pairs(graph, MOVEMENT) == expected
    movements = labels_by_iri(graph, "movement")
    assert movements[WD + "Q40415"] == "Impressionism"
    assert (WD + "Q296", WD + "Q40415") in expected
    impressionists = {a for a, m in expected if movements[m] == "Impressionism"}
    assert impressionists == {a for a in reached if WD + "Q40415" in rows.targets(P135, a)}
    assert len(impressionists) >= 10


def test_rows_two_hops_reach_influencers_of_influencers(rows, rows_server, tmp_path):
    seeds = ["Claude Monet", "Q5582"]  # Vincent van Gogh by QID
    seed_iris = [WD + "Q296", WD + "Q5582"]
    dist = rows.bfs(seed_iris, hops=2)
    expanded = [a for a, d in dist.items() if d < 2]
    assert all(rows.human[t] for a in expanded for t in rows.targets(P737, a))  # precondition
    assert any(d == 2 for d in dist.values()), "the rows must have influencers of influencers here"
    manifest = build_graph("wikidata", tmp_path / "g", seeds=seeds,
                           config=WikidataConfig(endpoint=rows_server.query_url, hops=2), progress=False)
    graph = load_graph(tmp_path / "g")
    assert sorted(manifest["source"]["seeds"]) == sorted(seed_iris)
    assert edge_pairs(graph, INFLUENCE) == {(a, t) for a in expanded for t in rows.targets(P737, a)}
    assert edge_pairs(graph, STUDENT) == {(a, t) for a in dist for t in rows.targets(P1066, a)}
    assert edge_pairs(graph, MOVEMENT) == {(a, m) for a in dist for m in rows.targets(P135, a)}
    assert set(dist) <= set(graph.iris["artist"])

    # `artkg influence --degree 2` on the crawled graph agrees with a BFS over the raw rows.
    report = influence_report(graph, "Claude Monet", degree=2)
    from_monet = rows.bfs([WD + "Q296"], hops=2)
    assert {i["id"]: i["degree"] for i in report["influencers"]} == {
        a: d for a, d in from_monet.items() if d > 0}
    degree2 = {i["label"] for i in report["influencers"] if i["degree"] == 2}
    assert "Rembrandt" in degree2 and "Peter Paul Rubens" in degree2  # via Gustave Courbet
    for item in report["influencers"]:
        path = item["path"]
        assert path[0] == WD + "Q296" and path[-1] == item["id"] and len(path) == item["degree"] + 1
        assert all(b in rows.targets(P737, a) for a, b in zip(path, path[1:]))


def test_rows_cli_json(rows, rows_server, tmp_path):
    out = tmp_path / "cli"
    done = run_kgbuild("Q296", "Paul Cézanne", "--endpoint", rows_server.query_url, "--out", str(out),
                       "--hops", "1", "--json")
    assert done.returncode == 0, done.stderr
    manifest = json.loads(done.stdout)  # stdout is the manifest and nothing else
    cezanne = WD + rows.seed_by_label("Paul Cézanne")["qid"]
    assert manifest["source"]["seeds"] == [WD + "Q296", cezanne]
    assert manifest["source"]["endpoint"] == rows_server.query_url
    assert manifest == json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    graph = load_graph(out)
    labels = labels_by_iri(graph, "artist")
    influencers = {t for s, t in edge_pairs(graph, INFLUENCE) if s == cezanne}
    assert influencers == rows.targets(P737, cezanne)
    assert {labels[t] for t in influencers} == {"Eugène Delacroix", "Gustave Courbet"}
    assert {labels[t] for s, t in edge_pairs(graph, STUDENT) if s == cezanne} == {
        rows.labels[t] for t in rows.targets(P1066, cezanne)}
    movements = labels_by_iri(graph, "movement")
    assert {movements[m] for s, m in edge_pairs(graph, MOVEMENT) if s == cezanne} == {"Post-impressionism"}
    assert graph.descriptions["artist"][graph.index_of("artist", cezanne)] == rows.descriptions[cezanne]


def test_rows_cli_unknown_label_suggests_close_labels(rows_server, tmp_path):
    out = tmp_path / "g"
    done = run_kgbuild("Eugène Boudin", "--endpoint", rows_server.query_url, "--out", str(out))
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    line = lines[0]
    assert line.startswith("error: no artist labelled 'Eugène Boudin' at " + rows_server.query_url)
    assert "did you mean" in line and "'Eugène Louis Boudin'" in line
    assert not (out / "manifest.json").exists()


def test_rows_label_case_variant_is_suggested(rows_server, tmp_path):
    crawler = WikidataCrawler(WikidataConfig(endpoint=rows_server.query_url), cache_dir=tmp_path, progress=False)
    with pytest.raises(NotFoundError) as info:
        crawler.resolve_seeds(["claude monet"])
    assert "did you mean 'Claude Monet'" in str(info.value)


def test_rows_influence_target_that_is_a_movement_stays_a_movement(rows, rows_server, tmp_path):
    sorolla = WD + rows.seed_by_label("Joaquín Sorolla")["qid"]
    assert WD + "Q40415" in rows.targets(P737, sorolla) and WD + "Q40415" in rows.targets(P135, sorolla)
    manifest = build_graph("wikidata", tmp_path / "g", seeds=[sorolla, "Claude Monet"],
                           config=WikidataConfig(endpoint=rows_server.query_url, hops=1), progress=False)
    graph = load_graph(tmp_path / "g")
    assert WD + "Q40415" not in graph.iris["artist"]
    assert labels_by_iri(graph, "movement").get(WD + "Q40415") == "Impressionism"
    assert {(sorolla, WD + "Q40415"), (WD + "Q296", WD + "Q40415")} <= edge_pairs(graph, MOVEMENT)
    # Sorolla was "influenced by" Impressionism and realism: an (artist, influenced_by, movement)
    # edge for the one typed a movement (a P135 target), no artist node for either. "realism" is
    # nobody's P135 target here and the rows give it no class (they say it is no human): dropped, counted.
    assert {WD + "Q40415", WD + "Q10857409"} <= rows.targets(P737, sorolla) and not rows.human[WD + "Q10857409"]
    assert edge_pairs(graph, ("artist", "influenced_by", "movement")) == {(sorolla, WD + "Q40415")}
    assert {b for a, b in edge_pairs(graph, INFLUENCE) if a == sorolla} == {
        t for t in rows.targets(P737, sorolla) if rows.human[t]} == {WD + "Q297", WD + "Q40599"}
    assert WD + "Q10857409" not in [iri for iris in graph.iris.values() for iri in iris]
    assert manifest["skipped"] == {"P737 between artist and None": 1}


def test_rows_african_sculpture_is_not_an_artist(rows, rows_server, tmp_path):
    """Picasso and Braque have "African sculpture" among their P737 targets: the rows say it is no
    human, so it gets no artist node and no influence edge; the skip is counted."""
    sculpture = WD + "Q4690042"
    influenced = sorted(a for a in rows.out[P737] if sculpture in rows.targets(P737, a))
    assert len(influenced) == 2 and rows.labels[sculpture] == "African sculpture" and not rows.human[sculpture]
    manifest = build_graph("wikidata", tmp_path / "g", seeds=influenced,
                           config=WikidataConfig(endpoint=rows_server.query_url, hops=1), progress=False)
    graph = load_graph(tmp_path / "g")
    assert sculpture not in [iri for iris in graph.iris.values() for iri in iris]
    expected = {(a, t) for a in influenced for t in rows.targets(P737, a) if rows.human[t]}
    assert edge_pairs(graph, INFLUENCE) == expected and expected
    assert manifest["skipped"] == {"P737 between artist and None": 2}


def test_rows_seed_with_only_movement_facts_is_kept(rows, rows_server, tmp_path):
    guillaumin = WD + rows.seed_by_label("Armand Guillaumin")["qid"]
    assert not rows.targets(P737, guillaumin) and not rows.targets(P1066, guillaumin)
    build_graph("wikidata", tmp_path / "g", seeds=["Armand Guillaumin"],
                config=WikidataConfig(endpoint=rows_server.query_url, hops=1), progress=False)
    assert guillaumin in load_graph(tmp_path / "g").iris.get("artist", [])


# ====================================================================== the synthetic world
@pytest.fixture(scope="module")
def truth(small_world) -> dict:
    return json.loads((small_world / "ground_truth.json").read_text(encoding="utf-8"))


def world_seeds(truth: dict, k: int = 2) -> list[str]:
    """The ``k`` artists with the most planted influencers (ties: lowest IRI)."""
    return [a["iri"] for a in sorted(truth["artists"], key=lambda a: (-len(a["influencers"]), a["iri"]))[:k]]


def world_bfs(truth: dict, seeds: list[str], hops: int, direction: str = "influencers") -> dict[str, int]:
    if direction == "influencers":
        nbrs = {a["iri"]: list(a["influencers"]) for a in truth["artists"]}
    else:
        nbrs = {a["iri"]: [] for a in truth["artists"]}
        for a in truth["artists"]:
            for b in a["influencers"]:
                nbrs[b].append(a["iri"])
    dist = {s: 0 for s in seeds}
    frontier = list(seeds)
    for d in range(1, hops + 1):
        nxt = []
        for a in frontier:
            for b in nbrs[a]:
                if b not in dist:
                    dist[b] = d
                    nxt.append(b)
        frontier = nxt
    return dist


def world_config(endpoint: str, **overrides) -> WikidataConfig:
    return fast_crawl_config(endpoint, **{"hops": 2, "timeout": 10, **overrides})


@pytest.fixture(scope="module")
def world_crawl(truth, world_server, tmp_path_factory) -> dict:
    seeds = world_seeds(truth)
    out = tmp_path_factory.mktemp("world-crawl") / "graph"
    manifest = build_graph("wikidata", out, seeds=seeds, config=world_config(world_server.query_url),
                           progress=False)
    return {"out": out, "manifest": manifest, "graph": load_graph(out), "seeds": seeds,
            "dist": world_bfs(truth, seeds, hops=2)}


def test_world_influence_edges_are_the_planted_ones_within_reach(truth, world_crawl):
    graph, dist = world_crawl["graph"], world_crawl["dist"]
    influencers = {a["iri"]: a["influencers"] for a in truth["artists"]}
    assert any(d == 2 for d in dist.values())
    # The crawl asks for the influencers of every artist it reached in fewer than `hops` steps.
    expected = {(a, b) for a, d in dist.items() if d < 2 for b in influencers[a]}
    planted = {(e["influencee"], e["influencer"]) for e in truth["influence_edges"]}
    assert expected <= planted
    assert edge_pairs(graph, INFLUENCE) == expected
    # … which is the planted graph restricted to the reached artists, minus the edges out of the last hop.
    reached = set(dist)
    induced = {(a, b) for a, b in planted if a in reached and b in reached}
    assert expected == {(a, b) for a, b in induced if dist[a] < 2}
    teachers = {a["iri"]: a["teacher"] for a in truth["artists"]}
    assert set(graph.iris["artist"]) == reached | {teachers[a] for a in reached if teachers[a]}
    assert edge_pairs(graph, STUDENT) == {(a, teachers[a]) for a in reached if teachers[a]}


def test_world_artist_facts(truth, world_crawl):
    graph, reached = world_crawl["graph"], set(world_crawl["dist"])
    by_iri = {a["iri"]: a for a in truth["artists"]}
    labels = labels_by_iri(graph, "artist")
    assert all(labels[iri] == by_iri[iri]["label"] for iri in graph.iris["artist"])
    assert edge_pairs(graph, MOVEMENT) == {(a, by_iri[a]["movement"]) for a in reached}
    assert edge_pairs(graph, ("artist", "genre", "genre")) == {(a, by_iri[a]["top_genre"]) for a in reached}
    assert edge_pairs(graph, ("artist", "born_in", "place")) == {(a, by_iri[a]["birth_place"]) for a in reached}
    births = graph.data["artist"].birth_year.tolist()
    for i, iri in enumerate(graph.iris["artist"]):
        if iri in reached:
            assert births[i] == by_iri[iri]["birth"]
        else:  # teachers outside the crawl: known, labelled, but their context was not fetched
            assert math.isnan(births[i])


def test_world_artworks_are_capped_per_artist(truth, world_crawl):
    graph, reached, cap = world_crawl["graph"], set(world_crawl["dist"]), 2
    works: dict[str, list[str]] = {}
    for w in truth["artworks"]:
        works.setdefault(w["creator"], []).append(w["iri"])
    expected = {(w, a) for a in reached for w in sorted(works.get(a, []))[:cap]}  # all have images; then by IRI
    assert edge_pairs(graph, ("artwork", "created_by", "artist")) == expected
    assert any(len(works[a]) > cap for a in reached), "the cap must bind for some artist"
    assert set(graph.iris["artwork"]) == {w for w, _ in expected}
    # The server applies the cap: no cached artworks response holds more than `cap` works of an artist.
    per_artist: dict[str, int] = {}
    for raw in (world_crawl["out"] / "raw").rglob("*.json"):
        result = json.loads(raw.read_text())
        if result.get("head", {}).get("vars") == ["w", "a", "image"]:
            for row in result["results"]["bindings"]:
                per_artist[row["a"]["value"]] = per_artist.get(row["a"]["value"], 0) + 1
    assert per_artist and max(per_artist.values()) == cap
    by_iri = {w["iri"]: w for w in truth["artworks"]}
    crawled = set(graph.iris["artwork"])
    assert edge_pairs(graph, ("artwork", "style", "style")) == {(w, by_iri[w]["style"]) for w in crawled}
    assert edge_pairs(graph, ("artwork", "genre", "genre")) == {(w, by_iri[w]["genre"]) for w in crawled}
    years = dict(zip(graph.iris["artwork"], graph.data["artwork"].year.tolist()))
    assert years == {w: by_iri[w]["year"] for w in crawled}
    assert all(label and label.startswith("Style ") for label in graph.labels["style"])
    genre_labels = {g["iri"]: g["label"] for g in truth["genres"]}
    assert labels_by_iri(graph, "genre") == {g: genre_labels[g] for g in graph.iris["genre"]}
    images = dict(zip(graph.iris["artwork"], graph.images))
    assert all(images[w].endswith("/" + by_iri[w]["image"]) for w in crawled)


def test_world_evidence_carries_the_planted_references(truth, world_crawl):
    graph = world_crawl["graph"]
    planted = {(e["influencee"], e["influencer"]): e for e in truth["influence_edges"]}
    iris = graph.iris["artist"]
    edges = graph.edge_index(INFLUENCE).t().tolist()
    assert len(graph.evidence) == len(edges) > 0
    source = f"wikidata:{world_crawl['manifest']['source']['endpoint']}"
    with_reference = []
    for (a, b), record in zip(edges, graph.evidence):  # evidence is aligned with the edge columns
        truth_edge = planted[(iris[a], iris[b])]
        assert record["source"] == source and record["property"] == "P737"
        if truth_edge["source"] is None:
            assert record["references"] == []
        else:
            expected = {"P248": [truth_edge["source"]]}
            if truth_edge["url"]:
                expected["P854"] = [truth_edge["url"]]
            assert record["references"] == [expected]
            with_reference.append((iris[a], iris[b], record))
    assert with_reference, "some crawled edges must carry planted references"
    a, b, record = with_reference[0]  # one specific edge, spelled out
    assert record["references"][0]["P248"] == [planted[(a, b)]["source"]]
    assert record["references"][0]["P248"][0].startswith(truth["namespace"] + "source/B")


def test_world_direction_influenced(truth, world_server, tmp_path):
    # The artist influencing the most others, one hop towards the influenced.
    counts: dict[str, int] = {}
    for e in truth["influence_edges"]:
        counts[e["influencer"]] = counts.get(e["influencer"], 0) + 1
    seed = max(sorted(counts), key=counts.get)
    build_graph("wikidata", tmp_path / "g", seeds=[seed],
                config=world_config(world_server.query_url, hops=1, direction="influenced", max_artworks=0),
                progress=False)
    graph = load_graph(tmp_path / "g")
    expected = {(e["influencee"], seed) for e in truth["influence_edges"] if e["influencer"] == seed}
    assert len(expected) == counts[seed] >= 3
    assert edge_pairs(graph, INFLUENCE) == expected
    assert set(world_bfs(truth, [seed], 1, "influenced")) <= set(graph.iris["artist"])
    assert "artwork" not in graph.iris


def test_world_batching_does_not_change_the_graph(world_server, world_crawl, tmp_path):
    """Tiny VALUES batches (many queries) give exactly the graph of one batch per stage."""
    manifest = build_graph("wikidata", tmp_path / "g", seeds=world_crawl["seeds"],
                           config=world_config(world_server.query_url, batch_size=3), progress=False)
    assert manifest["requests"]["network"] > 2 * world_crawl["manifest"]["requests"]["network"]
    assert (tmp_path / "g" / "graph.nt").read_bytes() == (world_crawl["out"] / "graph.nt").read_bytes()
    assert manifest["counts"] == world_crawl["manifest"]["counts"]


# ---------------------------------------------------------------------- escaping
def test_quote_label_resolves_to_exactly_that_artist(truth, world_server, tmp_path):
    quote = truth["quote_artist"]
    assert quote["label"] == 'Jean "Le Grand" O\'Brien {II}'
    crawler = WikidataCrawler(world_config(world_server.query_url), cache_dir=tmp_path / "cache", progress=False)
    assert crawler.resolve_seeds([quote["label"]]) == [quote["iri"]]
    # Also through the CLI (argv, no shell): the graph keeps the label byte for byte.
    out = tmp_path / "g"
    done = run_kgbuild(quote["label"], "--endpoint", world_server.query_url, "--out", str(out), "--hops", "0",
                       "--max-artworks", "1", "--json", "--quiet")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["source"]["seeds"] == [quote["iri"]]
    graph = load_graph(out)
    assert graph.labels["artist"][graph.resolve("artist", quote["label"])] == quote["label"]
    assert graph.iris["artist"][graph.resolve("artist", quote["label"])] == quote["iri"]


@pytest.mark.parametrize("label", [
    'x"} . ?s ?p ?o . #',
    'x"@en } UNION { ?item ?p ?o } #',
    'Jean "Le Grand" O\'Brien {II}"@en . ?item ?p ?name } #',
    "Jean \\\"Le Grand\\\" O'Brien {II}",
])
def test_injection_in_a_seed_label_is_just_not_found(world_server, tmp_path, label):
    crawler = WikidataCrawler(world_config(world_server.query_url), cache_dir=tmp_path, progress=False)
    with pytest.raises(NotFoundError) as info:
        crawler.resolve_seeds([label])
    assert f"no artist labelled {label!r}" in str(info.value)


def test_seed_iri_that_would_close_the_iri_is_refused(world_server, tmp_path):
    crawler = WikidataCrawler(world_config(world_server.query_url), cache_dir=tmp_path, progress=False)
    for seed in ("https://w3id.org/artkg/synth/7/artist/A0001> . ?s ?p ?o", "http://x.org/a b"):
        with pytest.raises(InputError, match="not a usable IRI"):
            crawler.resolve_seeds([seed])
    assert crawler.client.stats["network"] == 0, "nothing is sent for a refused seed"


# ---------------------------------------------------------------------- cache and resume
def test_rerun_is_served_from_the_cache(truth, world_server, world_crawl, tmp_path):
    out = tmp_path / "g"
    config = world_config(world_server.query_url)
    first = build_graph("wikidata", out, seeds=world_crawl["seeds"], config=config, progress=False)
    assert first["requests"]["network"] == len(first["queries"]) > 5 and first["requests"]["cached"] == 0
    assert {p.stem for p in (out / "raw").glob("*.json")} == set(first["queries"])
    nt = (out / "graph.nt").read_bytes()
    assert nt == (world_crawl["out"] / "graph.nt").read_bytes()

    again = build_graph("wikidata", out, seeds=world_crawl["seeds"], config=config, progress=False)
    assert again["requests"] == {"network": 0, "cached": len(first["queries"]), "retries": 0}
    assert again["queries"] == first["queries"] and again["counts"] == first["counts"]
    assert (out / "graph.nt").read_bytes() == nt

    offline = build_graph("wikidata", out, seeds=world_crawl["seeds"],
                          config=world_config(world_server.query_url, offline=True), progress=False)
    assert offline["requests"]["network"] == 0 and (out / "graph.nt").read_bytes() == nt

    # A query the cache does not hold: a clear error, and the finished graph stays as it was.
    manifest_bytes = (out / "manifest.json").read_bytes()
    with pytest.raises(EndpointError) as info:
        build_graph("wikidata", out, seeds=world_crawl["seeds"][:1],
                    config=world_config(world_server.query_url, offline=True), progress=False)
    assert "not in the cache and --offline forbids the network" in str(info.value)
    assert "rerun without --offline" in str(info.value)
    assert (out / "manifest.json").read_bytes() == manifest_bytes
    load_graph(out)


def test_cli_offline_rebuild_and_offline_miss(truth, world_server, tmp_path):
    out, seeds = tmp_path / "g", world_seeds(truth)
    common = ["--endpoint", world_server.query_url, "--out", str(out), "--hops", "1", "--max-artworks", "1",
              "--json", "--quiet"]
    built = run_kgbuild(*seeds, *common)
    assert built.returncode == 0, built.stderr
    assert json.loads(built.stdout)["requests"]["network"] > 0
    offline = run_kgbuild(*seeds, *common, "--offline")
    assert offline.returncode == 0, offline.stderr
    assert json.loads(offline.stdout)["requests"] == {"network": 0, "cached": json.loads(built.stdout)[
        "requests"]["network"], "retries": 0}
    miss = run_kgbuild(*seeds, truth["quote_artist"]["iri"], *common, "--offline")
    assert miss.returncode == 2 and miss.stdout == ""
    lines = miss.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: query ") and "--offline" in lines[0], miss.stderr
    assert "--out" in lines[0] and "--cache" not in lines[0], "the hint may only name options kgbuild has"


def test_corrupt_cache_entries_are_fetched_again(world_server, world_crawl, tmp_path):
    out = tmp_path / "g"
    config = world_config(world_server.query_url, hops=1)
    first = build_graph("wikidata", out, seeds=world_crawl["seeds"], config=config, progress=False)
    nt = (out / "graph.nt").read_bytes()
    cached = sorted((out / "raw").glob("*.json"))
    good = {p: bindings(p) for p in cached[:3]}
    original = {p: p.read_bytes() for p in cached[:3]}
    cached[0].write_bytes(original[cached[0]][: len(original[cached[0]]) // 2])  # truncated
    cached[1].write_bytes(b"")  # empty
    cached[2].write_bytes(b'{"head": {}, "results": {"bindings": "not a list"}}')  # not SPARQL JSON
    again = build_graph("wikidata", out, seeds=world_crawl["seeds"], config=config, progress=False)
    assert again["requests"] == {"network": 3, "cached": len(first["queries"]) - 3, "retries": 0}
    assert all(bindings(p) == rows for p, rows in good.items()), "refetched answers replace the corrupt ones"
    assert (out / "graph.nt").read_bytes() == nt
