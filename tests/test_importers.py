"""``kgbuild rdf`` and ``kgbuild artgraph`` on real data from ../shared/data (``kgbuild wikiart``: test_wikiart.py).

Every expected count and fact is computed from the raw files by :mod:`_artdata` (csv/json only),
never by artkg itself.
"""
from __future__ import annotations

import csv
import json
import shutil
from urllib.parse import quote

import pytest

from _artdata import (
    FACETS,
    P737,
    WD,
    artist_iri,
    artonwikidata_ntriples,
    edge_pairs,
    facet_iri,
    load_pryce,
    pryce_expected,
    pryce_turtle,
    read_artonwikidata,
    slug_name,
    split_values,
    targets_of,
    write_artgraph_export,
)
from conftest import shared

from artkg.kg.builders import build_graph
from artkg.kg.errors import InputError
from artkg.kg.graph import load_graph
from artkg.kg.importers import ARTGRAPH_NS, artgraph_triples





# ===================================================================== kgbuild rdf: Wikidata rows
@pytest.fixture(scope="module")
def pryce(tmp_path_factory):
    rows, seeds = load_pryce(shared("wikidata", "pryce22_artgraph_artist_links.json"),
                             shared("wikidata", "pryce22_artgraph_seed_artists.json"))
    tmp = tmp_path_factory.mktemp("pryce")
    ttl = pryce_turtle(rows, seeds, tmp / "artist_links.ttl")
    manifest = build_graph("rdf", tmp / "graph", path=ttl)
    return {"rows": rows, "seeds": seeds, "ttl": ttl, "manifest": manifest,
            "graph": load_graph(tmp / "graph"), "exp": pryce_expected(rows, seeds)}


def test_pryce_counts_match_the_rows(pryce):
    exp, m = pryce["exp"], pryce["manifest"]
    assert len(pryce["rows"]) == 518 and len(exp.triples) == 430  # as SOURCES.md states
    assert m["counts"]["nodes"] == {"artist": len(exp.artists), "movement": len(exp.movements)}
    assert m["counts"]["edges"] == {
        "artist__influenced_by__artist": len(exp.edges["influenced_by"]),
        "artist__influenced_by__movement": len(exp.edges["influenced_by_movement"]),
        "artist__movement__movement": len(exp.edges["movement"]),
        "artist__student_of__artist": len(exp.edges["student_of"]),
    }
    # The Turtle repeats 88 rows: graph.nt holds each distinct triple once (plus one label per entity).
    assert m["triples"] == len(exp.triples) + len(exp.labels)
    assert len(pryce["graph"].dir.ntriples.read_text(encoding="utf-8").splitlines()) == m["triples"]
    # Nothing is lost silently: every P135 row no edge type fits is counted in the manifest.
    assert sum(n for k, n in m["skipped"].items() if k.startswith("P135 ")) == exp.dropped["P135"]
    assert m["source"] == {"kind": "rdf", "path": str(pryce["ttl"].resolve())}


def test_pryce_edges_are_exactly_the_rows(pryce):
    g, exp = pryce["graph"], pryce["exp"]
    assert set(g.iris["artist"]) == exp.artists
    assert set(g.iris["movement"]) == exp.movements
    assert edge_pairs(g, ("artist", "influenced_by", "artist")) == exp.edges["influenced_by"]
    assert edge_pairs(g, ("artist", "influenced_by", "movement")) == exp.edges["influenced_by_movement"]
    assert edge_pairs(g, ("artist", "student_of", "artist")) == exp.edges["student_of"]
    assert edge_pairs(g, ("artist", "movement", "movement")) == exp.edges["movement"]
    for t in ("artist", "movement"):
        assert [g.labels[t][i] for i in range(g.num_nodes(t))] == [exp.labels.get(iri) for iri in g.iris[t]]


def test_pryce_seed_facts(pryce):
    g, exp = pryce["graph"], pryce["exp"]
    van_gogh = g.resolve("artist", "Vincent van Gogh")
    assert g.iris["artist"][van_gogh] == WD + "Q5582"
    assert targets_of(g, ("artist", "influenced_by", "artist"), WD + "Q5582") == {
        "Paul Cézanne", "Jean-François Millet", "Katsushika Hokusai", "Paul Gauguin", "Anton Mauve",
        "Peter Paul Rubens", "Willem Roelofs"}
    monet = WD + "Q296"
    assert targets_of(g, ("artist", "influenced_by", "artist"), monet) == {
        "Édouard Manet", "Jean-François Millet", "Katsushika Hokusai", "Gustave Courbet", "J. M. W. Turner"}
    # every seed: its teachers and movements, as labels, exactly as in the rows
    for seed in pryce["seeds"]:
        iri = WD + seed["qid"]
        if iri not in exp.artists:
            continue
        teachers = {exp.labels[b] for a, b in exp.edges["student_of"] if a == iri}
        movements = {exp.labels[b] for a, b in exp.edges["movement"] if a == iri}
        assert targets_of(g, ("artist", "student_of", "artist"), iri) == teachers, seed["label"]
        assert targets_of(g, ("artist", "movement", "movement"), iri) == movements, seed["label"]


def test_pryce_impressionism_stays_a_movement(pryce):
    g = pryce["graph"]
    assert g.index_of("movement", WD + "Q40415") is not None
    monet = WD + "Q296"
    assert "Impressionism" in targets_of(g, ("artist", "movement", "movement"), monet)


# ===================================================================== kgbuild rdf: artonwikidata
@pytest.fixture(scope="module")
def paintings(tmp_path_factory):
    rows = read_artonwikidata(shared("wikidata", "artonwikidata_paintings.csv"), 500)
    tmp = tmp_path_factory.mktemp("paintings")
    nt = artonwikidata_ntriples(rows, tmp / "paintings.nt")
    manifest = build_graph("rdf", tmp / "graph", path=nt)
    return {"rows": rows, "manifest": manifest, "graph": load_graph(tmp / "graph")}


def test_paintings_counts(paintings):
    rows, m = paintings["rows"], paintings["manifest"]
    facet_nodes = {kind: {v for r in rows for v in split_values(r[col])} for col, (kind, _) in FACETS.items()}
    assert m["counts"]["nodes"] == {
        "artwork": len({r["id"] for r in rows}),
        "artist": len({a for r in rows for a in split_values(r["_artist"])}),
        **{kind: len(values) for kind, values in facet_nodes.items()},
    }
    edge_key = {"genre": "artwork__genre__genre", "material": "artwork__made_of__material",
                "movement": "artwork__movement__movement", "collection": "artwork__in_collection__collection"}
    expected_edges = {edge_key[kind]: len({(r["id"], v) for r in rows for v in split_values(r[col])})
                      for col, (kind, _) in FACETS.items()}
    expected_edges["artwork__created_by__artist"] = len({(r["id"], a) for r in rows for a in split_values(r["_artist"])})
    assert m["counts"]["edges"] == expected_edges
    assert m["skipped"] == {}
    g = paintings["graph"]
    years = g.data["artwork"].year.numpy()
    by_iri = {r["id"]: float(r["year"]) for r in rows}
    assert [by_iri[iri[len(WD):]] for iri in g.iris["artwork"]] == years.tolist()


def test_painting_facts(paintings):
    g = paintings["graph"]
    work = WD + "Q17015401"
    i = g.index_of("artwork", work)
    assert g.labels["artwork"][i] == "Jean Wauquelin presenting his 'Chroniques de Hainaut' to Philip the Good"
    assert targets_of(g, ("artwork", "created_by", "artist"), work) == {"Rogier van der Weyden"}
    assert g.iris["artist"][g.resolve("artist", "Rogier van der Weyden")] == artist_iri("Rogier van der Weyden")
    assert targets_of(g, ("artwork", "made_of", "material"), work) == {"Parchment", "Ink", "Gold"}
    assert targets_of(g, ("artwork", "movement", "movement"), work) == {"Early Netherlandish"}
    assert targets_of(g, ("artwork", "in_collection", "collection"), work) == {"Royal Library of Belgium"}
    assert float(g.data["artwork"].year[i]) == 1440.0
    # a 7th-century icon with no artist: still an artwork (it has an inception), year 650
    icon = g.index_of("artwork", WD + "Q1089704")
    assert g.labels["artwork"][icon] == "Blachernitissa"
    assert float(g.data["artwork"].year[icon]) == 650.0
    assert targets_of(g, ("artwork", "created_by", "artist"), WD + "Q1089704") == set()
    # a painting with several artists gets one created_by edge per artist
    row = next(r for r in paintings["rows"] if r["_artist"].startswith("Kanō Motonobu, "))
    assert targets_of(g, ("artwork", "created_by", "artist"), WD + row["id"]) == set(split_values(row["_artist"]))
    assert g.index_of("material", facet_iri("material", "Gold")) is not None


# ===================================================================== kgbuild rdf: bad input
NT_OK = f"<http://x.example/a> <{P737}> <http://x.example/b> .\n"


def test_rdf_missing_file(tmp_path):
    with pytest.raises(InputError, match="no such RDF file: .*nope.nt"):
        build_graph("rdf", tmp_path / "out", path=tmp_path / "nope.nt")
    assert not (tmp_path / "out").exists()


def test_rdf_unknown_extension(tmp_path):
    f = tmp_path / "graph.csv"
    f.write_text(NT_OK)
    with pytest.raises(InputError, match=r"cannot tell the RDF format of .*graph\.csv — .*--format"):
        build_graph("rdf", tmp_path / "out", path=f)
    # the explicit format makes the same file usable
    m = build_graph("rdf", tmp_path / "out", path=f, fmt="nt", build_store=False)
    assert m["counts"]["edges"] == {"artist__influenced_by__artist": 1}


def test_rdf_broken_turtle_names_the_file_and_line(tmp_path):
    f = tmp_path / "broken.ttl"
    f.write_text("@prefix wdt: <http://www.wikidata.org/prop/direct/> .\n"
                 "<http://x.example/a> wdt:P737 <http://x.example/b> ;\n")
    with pytest.raises(InputError) as info:
        build_graph("rdf", tmp_path / "out", path=f)
    message = str(info.value)
    assert str(f) in message and "Turtle" in message and "line 3" in message
    assert info.value.fix  # a fix is always offered
    assert "\n" not in message


def test_rdf_without_schema_predicates(tmp_path):
    f = tmp_path / "foaf.nt"
    f.write_text('<http://x.example/a> <http://xmlns.com/foaf/0.1/knows> <http://x.example/b> .\n'
                 '<http://x.example/a> <http://www.w3.org/2000/01/rdf-schema#label> "A" .\n')
    with pytest.raises(InputError, match=r"no triple in .*foaf\.nt matched the artkg schema .*artkg schema"):
        build_graph("rdf", tmp_path / "out", path=f)
    assert not (tmp_path / "out" / "manifest.json").exists()
    assert not (tmp_path / "out" / ".staging").exists()


def test_rdf_empty_file(tmp_path):
    f = tmp_path / "empty.nt"
    f.write_text("")
    with pytest.raises(InputError, match=r"empty\.nt holds no triples"):
        build_graph("rdf", tmp_path / "out", path=f)
    f = tmp_path / "comments.ttl"
    f.write_text("# nothing but a comment\n@prefix wd: <http://www.wikidata.org/entity/> .\n")
    with pytest.raises(InputError, match=r"comments\.ttl holds no triples"):
        build_graph("rdf", tmp_path / "out", path=f)


# ===================================================================== kgbuild artgraph
@pytest.fixture(scope="module")
def artgraph(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("artgraph")
    export = write_artgraph_export(tmp / "raw_export", shared("artgraph"), shared("wikiart", "artgan"),
                                   shared("cloir", "influenced_by_dict.json"))
    manifest = build_graph("artgraph", tmp / "graph", path=export.root)
    return {"export": export, "manifest": manifest, "graph": load_graph(tmp / "graph"), "out": tmp / "graph"}


def ag_iri(kind: str, name: str) -> str:
    return ARTGRAPH_NS + kind + "/" + quote(name, safe="-_.~()")


def test_artgraph_relation_names_come_from_the_published_schema():
    schema = json.loads(shared("artgraph", "artgraph_schema.json").read_text(encoding="utf-8"))
    v1 = {tuple(r) for r in schema["v1_artgraph"]["relations"]}
    v2 = {tuple(r) for r in schema["v2_artgraph_with_emotions_and_users"]["relations_lowercased"]}
    for rel in [("artwork", "author", "artist"), ("artwork", "style", "style"), ("artist", "influenced", "artist"),
                ("artwork", "auction", "auction")]:
        assert rel in v1
    assert ("artist", "trainedby", "artist") in v2 and ("user", "rates", "artwork") in v2


def test_artgraph_counts(artgraph):
    e, m = artgraph["export"], artgraph["manifest"]
    assert len(e.split_members["test"]) == len(e.split_members["valid"]) == 300
    assert m["counts"]["nodes"] == {"artwork": len(e.artworks), "artist": len(e.artists), "style": len(e.styles)}
    assert m["counts"]["edges"] == {
        "artist__influenced_by__artist": len(set(e.influenced)),
        "artist__student_of__artist": len(e.trainedby),
        "artwork__created_by__artist": len(e.author),
        "artwork__style__style": len(e.style),
    }
    assert len(e.style) > len(e.artworks)  # some file names sit in two WikiArt style folders
    assert m["skipped_relations"] == ["artwork___auction___auction", "user___rates___artwork"]
    assert m["source"]["kind"] == "artgraph"
    # what was left out is counted: split rows naming artworks outside the mapping, edges of unknown relations
    names = []
    for split in ("test", "valid"):
        with open(shared("artgraph", f"split_{split}.csv"), encoding="utf-8", newline="") as fh:
            names += [r[1] for r in csv.reader(fh) if len(r) == 2 and r[0].strip()]
    missing = m["dropped"]["ArtGraph split rows whose artwork is not in mapping/artwork_entidx2name.csv"]
    assert missing["count"] == sum(n not in set(e.artworks) for n in names) > 30000
    assert len(missing["examples"]) == 5
    assert m["dropped"]["ArtGraph edges in relations outside the artkg schema"]["count"] == 2


def test_artgraph_facts(artgraph):
    e, g = artgraph["export"], artgraph["graph"]
    assert edge_pairs(g, ("artwork", "created_by", "artist")) == {
        (ag_iri("artwork", e.artworks[a]), ag_iri("artist", e.artists[b])) for a, b in e.author}
    assert edge_pairs(g, ("artwork", "style", "style")) == {
        (ag_iri("artwork", e.artworks[a]), ag_iri("style", e.styles[b])) for a, b in e.style}
    name = e.artworks[0]
    artist_slug, title = name.rsplit(".", 1)[0].split("_", 1)
    iri = ag_iri("artwork", name)
    assert g.labels["artwork"][g.index_of("artwork", iri)] == slug_name(title)
    assert targets_of(g, ("artwork", "created_by", "artist"), iri) == {slug_name(artist_slug)}
    assert targets_of(g, ("artwork", "style", "style"), iri) == {e.styles[b] for a, b in e.style if a == 0}
    assert ("claude-monet", "eugene-boudin") in e.trainedby
    assert targets_of(g, ("artist", "student_of", "artist"), ag_iri("artist", "claude-monet")) == {"Eugene Boudin"}


def test_artgraph_influenced_is_reversed(artgraph):
    """ArtGraph (a)-[:influenced]->(b) is `b wdt:P737 a`: b was influenced by a."""
    e, g = artgraph["export"], artgraph["graph"]
    assert len(e.influenced) >= 3
    expected = {(ag_iri("artist", b), ag_iri("artist", a)) for a, b in e.influenced}
    got = edge_pairs(g, ("artist", "influenced_by", "artist"))
    assert got == expected
    a, b = e.influenced[0]
    assert (ag_iri("artist", a), ag_iri("artist", b)) not in got
    from artkg.kg.influence import influence_report

    report = influence_report(g, ag_iri("artist", b), degree=1)
    assert {x["id"] for x in report["influencers"]} == {ag_iri("artist", x) for x, y in e.influenced if y == b}
    report = influence_report(g, ag_iri("artist", a), degree=1, direction="influenced")
    assert ag_iri("artist", b) in {x["id"] for x in report["influenced"]}


def test_artgraph_splits(artgraph):
    e = artgraph["export"]
    splits = json.loads((artgraph["out"] / "splits.json").read_text(encoding="utf-8"))
    assert set(splits) == {"artwork"}
    assert splits["artwork"] == {s: sorted(ag_iri("artwork", n) for n in e.split_members[s]) for s in ("valid", "test")}


def test_artgraph_index_splits_of_neo4j2raw(artgraph, tmp_path):
    """neo4j2raw writes raw/split/artwork/<split>.csv holding artwork indices (no names)."""
    e = artgraph["export"]
    root = tmp_path / "export"
    shutil.copytree(e.root, root)
    shutil.rmtree(root / "split")
    ids = [3, 1, 4, 1, 5]
    (root / "raw" / "split" / "artwork").mkdir(parents=True)
    (root / "raw" / "split" / "artwork" / "train.csv").write_text("".join(f"{i}\n" for i in ids))
    _, info = artgraph_triples(root)
    assert info["splits"] == {"artwork": {"train": sorted({ag_iri("artwork", e.artworks[i]) for i in ids})}}
    (root / "raw" / "split" / "artwork" / "train.csv").write_text("3\n99999\n")
    with pytest.raises(InputError, match=r"train\.csv is not a list of artwork indices"):
        artgraph_triples(root)


def test_artgraph_bad_input(artgraph, tmp_path):
    e = artgraph["export"]
    root = tmp_path / "export"
    shutil.copytree(e.root, root)
    shutil.rmtree(root / "mapping")
    with pytest.raises(InputError, match=r"is not an ArtGraph raw export .*mapping/"):
        build_graph("artgraph", tmp_path / "out", path=root)
    assert not (tmp_path / "out").exists()

    shutil.rmtree(root)
    shutil.copytree(e.root, root)
    edge = root / "raw" / "relations" / "artwork___author___artist" / "edge.csv"
    with open(edge, "a", encoding="utf-8") as fh:
        fh.write("7,not-a-number\n")
    with pytest.raises(InputError) as info:
        build_graph("artgraph", tmp_path / "out", path=root)
    assert f"{edge}:{len(e.author) + 1}: bad edge row" in str(info.value)

    edge.write_text("0,0\n1,999999\n")  # an index missing from the mapping
    with pytest.raises(InputError, match=r"edge\.csv:2: bad edge row"):
        artgraph_triples(root)

    edge.unlink()
    with pytest.raises(InputError, match=r"artwork___author___artist has no edge\.csv"):
        artgraph_triples(root)
