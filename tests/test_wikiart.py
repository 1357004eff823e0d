"""``kgbuild wikiart`` on the real ArtGAN split files (all 81,446 image paths, 80,097 paintings).

The expected facts are computed from the raw files by :mod:`_artdata` and here with csv/json only:
the WikiArt slugs of the 11 mojibake artists come from WikiArt's own artist pages (the
wikiart_artist_relations scrape), the life spans that judge title years from the same pages.
"""
from __future__ import annotations

import csv
import json
import re
import time
from collections import defaultdict
from urllib.parse import quote, unquote

import numpy as np
import pyoxigraph as ox
import pytest

from _artdata import (AKG, edge_pairs, life_years, read_wikiart, read_wikiart_artists, slug_name, targets_of,
                      undo_latin1, wikiart_artist_slug)
from conftest import shared

from artkg.kg.builders import build_graph
from artkg.kg.errors import InputError
from artkg.kg.graph import load_graph
from artkg.kg.importers import WIKIART_NS, plausible_years, repair_mojibake, title_year, wikiart_triples

MOJIBAKE = re.compile("[\u00c3\u00c2\u00e3\u00e2][\u0080-\u00bf]")
ARTWORK_NS = WIKIART_NS + "artwork/"





class Truth:
    """The raw files, with each path's painting (WikiArt slug + title slug) worked out independently."""

    def __init__(self, directory):
        self.raw = read_wikiart(directory)
        self.artists = read_wikiart_artists(shared("wikiart_artist_relations", "artists.csv"))
        by_spelling = {a.name.lower().replace(" ", "-"): slug for slug, a in self.artists.items()}
        self.slug_of = {}
        for raw in {wikiart_artist_slug(p) for p in self.raw.paths}:
            self.slug_of[raw] = by_spelling[undo_latin1(raw)] if undo_latin1(raw) != raw else raw
        self.paths = self.raw.paths

    def key(self, path: str) -> str:
        raw, title = path.rsplit("/", 1)[-1].rsplit(".", 1)[0].split("_", 1)
        return f"{self.slug_of[raw]}_{title}"

    def paintings(self) -> dict[str, set[str]]:
        found = defaultdict(set)
        for p in self.paths:
            found[self.key(p)].add(p)
        return found


@pytest.fixture(scope="module")
def wikiart(tmp_path_factory):
    directory = shared("wikiart", "artgan")
    truth = Truth(directory)
    out = tmp_path_factory.mktemp("wikiart") / "graph"
    t0 = time.perf_counter()
    manifest = build_graph("wikiart", out, path=directory, build_store=False)
    seconds = time.perf_counter() - t0
    g = load_graph(out)
    key_of = {iri: unquote(iri[len(ARTWORK_NS):]) for iri in g.iris["artwork"]}
    return {"truth": truth, "manifest": manifest, "graph": g, "seconds": seconds, "out": out, "key_of": key_of}


def iri_of(key: str) -> str:
    return ARTWORK_NS + quote(key, safe="-_.~()")


def test_wikiart_import_time(wikiart, record_property):
    record_property("wikiart_build_seconds", round(wikiart["seconds"], 2))
    assert wikiart["seconds"] < 60


def test_wikiart_one_node_per_painting(wikiart):
    truth, m, g = wikiart["truth"], wikiart["manifest"], wikiart["graph"]
    paintings = truth.paintings()
    assert len(truth.paths) == 81446 and len(paintings) == 80097
    assert sum(len(v) > 1 for v in paintings.values()) == 1349  # filed under two style folders
    genre_pairs = {(truth.key(p), truth.raw.classes["genre"][i]) for s in ("train", "val")
                   for p, i in truth.raw.rows[("genre", s)]}
    assert m["counts"]["nodes"] == {"artwork": 80097, "artist": 1119, "style": 27, "genre": 10}
    assert m["counts"]["edges"] == {
        "artwork__created_by__artist": 80097,
        "artwork__genre__genre": len(genre_pairs),
        "artwork__style__style": 81446,  # one per image path: a painting in two folders has both styles
    }
    assert set(wikiart["key_of"].values()) == set(paintings)
    styles, genres = defaultdict(set), defaultdict(set)
    label = {t: dict(zip(g.iris[t], g.labels[t])) for t in ("style", "genre")}
    for a, b in edge_pairs(g, ("artwork", "style", "style")):
        styles[wikiart["key_of"][a]].add(label["style"][b])
    for a, b in edge_pairs(g, ("artwork", "genre", "genre")):
        genres[wikiart["key_of"][a]].add(label["genre"][b])
    assert styles == {k: {p.split("/")[0].replace("_", " ") for p in v} for k, v in paintings.items()}
    expected_genres = defaultdict(set)
    for k, name in genre_pairs:
        expected_genres[k].add(name.replace("_", " "))
    assert genres == expected_genres
    # the image of each node is one of its files
    images = {wikiart["key_of"][iri]: unquote(img[len(WIKIART_NS + "image/"):]) for iri, img in zip(g.iris["artwork"], g.images)}
    assert all(images[k] in paintings[k] for k in paintings)
    # the twin that today lost its genre: one node, both styles, its genre
    twin = iri_of("max-pechstein_the-masked-woman-1910")
    assert targets_of(g, ("artwork", "style", "style"), twin) == {"Expressionism", "Fauvism"}
    assert targets_of(g, ("artwork", "genre", "genre"), twin) == expected_genres["max-pechstein_the-masked-woman-1910"]
    assert m["wikiart"]["merged_paintings"] == 1349


def test_wikiart_identities_are_wikiart_slugs_and_names(wikiart):
    truth, g, m = wikiart["truth"], wikiart["graph"], wikiart["manifest"]
    repaired = {raw: slug for raw, slug in truth.slug_of.items() if raw != slug}
    assert len(repaired) == 11
    assert sum(1 for p in truth.paths if wikiart_artist_slug(p) in repaired) == 709
    assert m["wikiart"]["repaired_slugs"] == dict(sorted(repaired.items()))
    for t in g.iris:  # no mojibake left in any label
        assert not [x for x in g.labels[t] if x and MOJIBAKE.search(x)], t
    labels = dict(zip(g.iris["artist"], g.labels["artist"]))
    for slug in repaired.values():
        iri = "https://www.wikiart.org/en/" + slug
        assert labels[iri].casefold() == truth.artists[slug].name.casefold()  # e.g. "Joaquín Sorolla"
    # the repaired slugs are the ones the ArtGraph splits use: the graphs join
    artgraph_slugs = set()
    for split in ("test", "valid"):
        with open(shared("artgraph", f"split_{split}.csv"), encoding="utf-8", newline="") as fh:
            artgraph_slugs |= {r[1].split("_", 1)[0] for r in csv.reader(fh) if len(r) == 2 and r[0].strip()}
    assert set(repaired.values()) <= artgraph_slugs
    i = g.resolve("artist", "Joaquín Sorolla")
    assert g.iris["artist"][i] == "https://www.wikiart.org/en/joaqu-n-sorolla"
    works = {truth.key(p) for p in truth.paths if wikiart_artist_slug(p) == "joaqu\u00e3\u00adn-sorolla"}
    assert len(works) > 50
    ei = g.edge_index(("artwork", "created_by", "artist")).numpy()
    assert int((ei[1] == i).sum()) == len(works)
    assert g.iris["artist"][g.resolve("artist", "Arnold Böcklin")] == "https://www.wikiart.org/en/arnold-bocklin"
    # artists of the artist task keep artist_class's names; the others their slug as words
    named = {}
    for split in ("train", "val"):
        for p, idx in truth.raw.rows[("artist", split)]:
            named[truth.slug_of[wikiart_artist_slug(p)]] = truth.raw.classes["artist"][idx].replace("_", " ")
    assert len(named) == 23
    for iri, label in labels.items():
        slug = unquote(iri.rsplit("/", 1)[1])
        if slug not in repaired.values():
            assert label == named.get(slug, slug_name(slug)), slug


def test_repair_mojibake_units():
    assert repair_mojibake("joaqu\u00e3\u00adn-sorolla") == "joaquín-sorolla"
    assert repair_mojibake("georges-lacombe\u00e2\u00a0") == "georges-lacombe\u00a0"
    assert repair_mojibake("andré-lhote") == "andré-lhote"  # already right: unchanged
    assert repair_mojibake("plain-slug") == "plain-slug"


def test_wikiart_splits_by_painting(wikiart):
    splits = json.loads((wikiart["out"] / "splits.json").read_text(encoding="utf-8"))
    truth = wikiart["truth"]
    assert set(splits) == {"style", "genre", "artist"}
    for task in splits:
        assert set(splits[task]) == {"train", "val"}
        train = {truth.key(p) for p, _ in truth.raw.rows[(task, "train")]}
        val = {truth.key(p) for p, _ in truth.raw.rows[(task, "val")]}
        assert splits[task]["train"] == sorted(iri_of(k) for k in train)
        assert splits[task]["val"] == sorted(iri_of(k) for k in val - train)  # a painting in both: train
        assert not set(splits[task]["train"]) & set(splits[task]["val"]), task
    assert {t: {s: len(v) for s, v in d.items()} for t, d in splits.items()} == {
        "style": {"train": 56084, "val": 24013},  # 9 paintings were in both parts
        "genre": {"train": 45503, "val": 19491},
        "artist": {"train": 13346, "val": 5706},
    }
    assert wikiart["manifest"]["wikiart"]["split_conflicts"] == {"style": 9}


def test_wikiart_years_from_titles(wikiart):
    """`-YYYY-N` titles get YYYY; a title year outside the artist's working life is not a date."""
    g, truth, key_of = wikiart["graph"], wikiart["truth"], wikiart["key_of"]
    year = dict(zip((key_of[i] for i in g.iris["artwork"]), g.data["artwork"].year.numpy().tolist()))
    title_years = {}
    for k in truth.paintings():
        m = re.search(r"-(\d{4})(-\d{1,2})?(\(\d+\))?$", k.split("_", 1)[1])
        if m and 1000 <= int(m.group(1)) <= 2030:
            title_years[k] = (int(m.group(1)), bool(m.group(2)))
    # every year in the graph is the year its title ends with; no title year, no year
    for k, y in year.items():
        assert np.isnan(y) if k not in title_years else (np.isnan(y) or y == title_years[k][0]), k
    numbered = [k for k, (_, n) in title_years.items() if n]
    assert len(numbered) > 2000
    assert sum(not np.isnan(year[k]) for k in numbered) >= len(numbered) - 5
    assert year["theodor-severin-kittelsen_kvitebj-rn-kong-valemon-1912-2"] == 1912.0
    assert np.isnan(year["james-tissot_statesmen-no-1280"])
    assert year["pablo-picasso_the-picador-1890"] == 1890.0  # a child's painting, inside his working life
    assert year["vincent-van-gogh_ears-of-wheat-1890(1)"] == 1890.0
    # every rejected title year lies outside the artist's life as WikiArt's own page states it
    rejected = [k for k in title_years if np.isnan(year[k])]
    assert 10 <= len(rejected) == wikiart["manifest"]["wikiart"]["rejected_title_years"]
    dropped = wikiart["manifest"]["dropped"]["title years outside the artist's working life (no year)"]
    assert dropped["count"] == len(rejected) and len(dropped["examples"]) == 5
    judged = 0
    for k in rejected:
        artist = truth.artists.get(k.split("_", 1)[0])
        life = life_years(artist.life) if artist else None
        if life:
            judged += 1
            assert not life[0] <= title_years[k][0] <= life[1], (k, artist.life)
    assert judged >= len(rejected) - 2


def test_title_year_rules():
    assert title_year("untitled-1970-2") == 1970
    assert title_year("ears-of-wheat-1890(1)") == 1890
    assert title_year("the-negative-way-8") is None
    assert title_year("p-5533") is None
    assert plausible_years([1280] + list(range(1862, 1903))) == (1862, 1862 + 85)
    assert plausible_years([1500]) == (1500, 1585)
    assert plausible_years([]) is None


def test_wikiart_specific_image(wikiart):
    g = wikiart["graph"]
    iri = iri_of("vincent-van-gogh_ears-of-wheat-1890(1)")
    i = g.index_of("artwork", iri)
    assert g.labels["artwork"][i] == "Ears Of Wheat"
    assert float(g.data["artwork"].year[i]) == 1890.0
    assert targets_of(g, ("artwork", "style", "style"), iri) == {"Post Impressionism"}
    assert targets_of(g, ("artwork", "genre", "genre"), iri) == {"landscape"}  # genre_train: index 4
    assert targets_of(g, ("artwork", "created_by", "artist"), iri) == {"Vincent van Gogh"}  # artist_class 22


def test_wikiart_subset_with_store(tmp_path):
    """A few hundred lines of each split file, built with the Oxigraph store."""
    src = shared("wikiart", "artgan")
    sub = tmp_path / "artgan"
    sub.mkdir()
    for f in src.iterdir():
        lines = f.read_text(encoding="utf-8").splitlines(keepends=True)
        (sub / f.name).write_text("".join(lines if "class" in f.name else lines[:300]), encoding="utf-8")
    truth = read_wikiart(sub)
    names = {p.rsplit("/", 1)[-1] for p in truth.paths}  # no mojibake in the first 300 lines
    m = build_graph("wikiart", tmp_path / "graph", path=sub)
    assert m["store"] is True
    assert m["counts"]["nodes"]["artwork"] == len(names)
    assert m["counts"]["nodes"]["style"] == len({p.split("/")[0] for p in truth.paths})
    store = ox.Store.read_only(str(tmp_path / "graph" / "store"))
    rows = list(store.query("SELECT (COUNT(DISTINCT ?w) AS ?n) WHERE { ?w <http://www.wikidata.org/prop/direct/P170> ?a }"))
    assert int(rows[0]["n"].value) == len(names)
    rows = list(store.query(f"SELECT (COUNT(*) AS ?n) WHERE {{ ?w <{AKG}style> ?s }}"))
    assert int(rows[0]["n"].value) == len(truth.paths)


def test_wikiart_bad_input(tmp_path):
    with pytest.raises(InputError, match="no such directory"):
        wikiart_triples(tmp_path / "missing")
    with pytest.raises(InputError, match="has no WikiArt split files"):
        wikiart_triples(tmp_path)
    (tmp_path / "style_class.txt").write_text("0 Impressionism\n")
    (tmp_path / "style_train.csv").write_text("Impressionism/a_b.jpg,0\nImpressionism/c_d.jpg,zero\n")
    with pytest.raises(InputError, match=r"style_train\.csv:2: expected `path,class_index`"):
        wikiart_triples(tmp_path)
