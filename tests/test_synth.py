"""Tests for the synthetic art world (:mod:`artkg.kg.synth`)."""
from __future__ import annotations

import json
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

pyoxigraph = pytest.importorskip("pyoxigraph")

from artkg.kg.schema import AKG, PR, PROV, PS, RDFS_LABEL, SCHEMA_DESCRIPTION, WDT, P
from artkg.kg.synth import generate_world
from artkg.kg.synth_world import (
    GENRES,
    MIN_INFLUENCE_GAP,
    QUOTE_ARTIST_INDEX,
    QUOTE_ARTIST_LABEL,
    WORKING_AGE,
    world_iri,
)

N_ARTISTS = 60
IMAGE_SIZE = 32
XSD_DATETIME = "http://www.w3.org/2001/XMLSchema#dateTime"


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> dict:
    out = tmp_path_factory.mktemp("world")
    summary = generate_world(out, n_artists=N_ARTISTS, seed=0, image_size=IMAGE_SIZE, progress=False)
    truth = json.loads((out / "ground_truth.json").read_text(encoding="utf-8"))
    triples = list(pyoxigraph.parse(path=str(out / "world.nt"), format=pyoxigraph.RdfFormat.N_TRIPLES))
    return {"out": out, "summary": summary, "truth": truth, "triples": triples}


def _objects(triples, predicate: str) -> dict[str, list]:
    """subject IRI → objects of ``predicate`` (NamedNode values or Literal objects)."""
    found: dict[str, list] = defaultdict(list)
    for t in triples:
        if t.predicate.value == predicate:
            obj = t.object
            found[t.subject.value].append(obj.value if isinstance(obj, pyoxigraph.NamedNode) else obj)
    return found


def test_world_iri_is_the_namespace(world):
    assert world_iri(0) == "https://w3id.org/artkg/synth/0/"
    assert world["summary"]["namespace"] == world_iri(0) == world["truth"]["namespace"]
    assert all(t.subject.value.startswith(world_iri(0)) for t in world["triples"])


def test_files_and_summary(world):
    out, summary, truth = world["out"], world["summary"], world["truth"]
    assert Path(summary["world_nt"]) == out / "world.nt"
    assert Path(summary["ground_truth"]) == out / "ground_truth.json"
    assert Path(summary["images_dir"]) == out / "images"
    assert not list(out.rglob("*.tmp")), "temporary files must be renamed into place"
    assert summary["artists"] == N_ARTISTS == len(truth["artists"])
    assert summary["artworks"] == len(truth["artworks"]) > N_ARTISTS
    assert summary["influence_edges"] == len(truth["influence_edges"])
    assert summary["movements"] == len(truth["movements"]) == max(4, round(N_ARTISTS / 40))
    assert summary["styles"] == len(truth["styles"]) == max(6, round(N_ARTISTS / 25))
    assert summary["genres"] == len(GENRES) == 6
    assert summary["triples"] == len(world["triples"])
    assert truth["params"]["n_artists"] == N_ARTISTS
    assert truth["params"]["seed"] == 0
    assert truth["params"]["image_size"] == IMAGE_SIZE


def test_same_seed_is_byte_identical_and_other_seed_differs(world, tmp_path):
    again = tmp_path / "again"
    generate_world(again, n_artists=N_ARTISTS, seed=0, image_size=IMAGE_SIZE, render_images=False,
                   progress=False)
    for name in ("world.nt", "ground_truth.json"):
        assert (again / name).read_bytes() == (world["out"] / name).read_bytes()
    other = tmp_path / "other"
    generate_world(other, n_artists=N_ARTISTS, seed=1, image_size=IMAGE_SIZE, render_images=False,
                   progress=False)
    assert (other / "world.nt").read_bytes() != (world["out"] / "world.nt").read_bytes()


def test_ntriples_lines_are_sorted_and_unique(world):
    lines = (world["out"] / "world.nt").read_text(encoding="utf-8").splitlines()
    assert lines == sorted(set(lines))
    assert all(line.endswith(" .") for line in lines)


def test_influence_only_from_earlier_born_artists(world):
    truth = world["truth"]
    birth = {a["iri"]: a["birth"] for a in truth["artists"]}
    assert truth["influence_edges"]
    for edge in truth["influence_edges"]:
        assert birth[edge["influencer"]] <= birth[edge["influencee"]] - MIN_INFLUENCE_GAP
    # The graph holds exactly the planted edges as wdt:P737.
    in_graph = {(s, o) for s, objs in _objects(world["triples"], WDT + "P737").items() for o in objs}
    planted = {(e["influencee"], e["influencer"]) for e in truth["influence_edges"]}
    assert in_graph == planted


def test_number_of_influencers(world):
    counts = [len(a["influencers"]) for a in world["truth"]["artists"]]
    assert counts[0] == 0  # the earliest artist has nobody to learn from
    with_any = [c for c in counts if c]
    assert len(with_any) >= N_ARTISTS * 0.8
    assert 1.5 <= float(np.mean(with_any)) <= 3.5


def test_influencer_out_degree_is_skewed(world):
    out_degree = Counter(e["influencer"] for e in world["truth"]["influence_edges"])
    degrees = np.array(list(out_degree.values()))
    assert degrees.max() >= 2.0 * degrees.mean()


def test_students_study_under_an_overlapping_influencer(world):
    truth = world["truth"]
    artists = {a["iri"]: a for a in truth["artists"]}
    students = truth["student_edges"]
    assert 0.1 * N_ARTISTS <= len(students) <= 0.5 * N_ARTISTS
    for edge in students:
        student, teacher = artists[edge["student"]], artists[edge["teacher"]]
        assert edge["teacher"] in student["influencers"]
        assert teacher["death"] > student["birth"]
    in_graph = {(s, o) for s, objs in _objects(world["triples"], WDT + "P1066").items() for o in objs}
    assert in_graph == {(e["student"], e["teacher"]) for e in students}


def test_artwork_years_within_creator_lifetime(world):
    truth = world["truth"]
    artists = {a["iri"]: a for a in truth["artists"]}
    inception = _objects(world["triples"], WDT + "P571")
    for work in truth["artworks"]:
        creator = artists[work["creator"]]
        assert creator["birth"] + WORKING_AGE <= work["year"] <= creator["death"]
        (literal,) = inception[work["iri"]]
        assert literal.datatype.value == XSD_DATETIME
        assert literal.value == f"{work['year']:04d}-01-01T00:00:00Z"


def test_life_dates_are_typed_datetimes(world):
    births = _objects(world["triples"], WDT + "P569")
    deaths = _objects(world["triples"], WDT + "P570")
    for artist in world["truth"]["artists"]:
        (b,), (d,) = births[artist["iri"]], deaths[artist["iri"]]
        assert b.datatype.value == d.datatype.value == XSD_DATETIME
        assert int(b.value[:4]) == artist["birth"] < artist["death"] == int(d.value[:4])
        assert 35 <= artist["death"] - artist["birth"] <= 90 or artist["death"] == 2024


def test_images_exist_with_right_size_and_content(world):
    truth, triples = world["truth"], world["triples"]
    images = _objects(triples, WDT + "P18")
    files = sorted(p.name for p in (world["out"] / "images").glob("*.png"))
    assert files == sorted(w["image"] for w in truth["artworks"])
    for work in truth["artworks"]:
        (image_iri,) = images[work["iri"]]
        assert image_iri.rsplit("/", 1)[1] == work["image"]
    for work in truth["artworks"][:40]:
        with Image.open(world["out"] / "images" / work["image"]) as img:
            assert img.mode == "RGB"
            assert img.size == (IMAGE_SIZE, IMAGE_SIZE)
            pixels = np.asarray(img, dtype=float)
        assert pixels.std() > 5.0, "an image must not be (nearly) constant"


def test_images_differ_between_genres(world):
    # The same layout signal a classifier should pick up: mean images per genre are distinct.
    truth = world["truth"]
    means = {}
    for genre in {w["genre"] for w in truth["artworks"]}:
        works = [w for w in truth["artworks"] if w["genre"] == genre][:20]
        stack = [np.asarray(Image.open(world["out"] / "images" / w["image"]), dtype=float).mean(-1)
                 for w in works]
        means[genre] = np.mean(stack, axis=0)
    keys = sorted(means)
    for i, a in enumerate(keys):
        for b in keys[i + 1:]:
            assert np.abs(means[a] - means[b]).mean() > 1.0


def test_quote_artist_label_round_trips(world):
    truth = world["truth"]
    quote = truth["artists"][QUOTE_ARTIST_INDEX]
    assert quote["label"] == QUOTE_ARTIST_LABEL == truth["quote_artist"]["label"]
    assert all(ch in QUOTE_ARTIST_LABEL for ch in "\"'{}")
    (label,) = _objects(world["triples"], RDFS_LABEL)[quote["iri"]]
    assert label.value == QUOTE_ARTIST_LABEL
    assert label.language == "en"


def test_artist_labels_are_unique(world):
    labels = [a["label"] for a in world["truth"]["artists"]]
    assert len(set(labels)) == len(labels)


def test_artworks_styles_genres_and_labels(world):
    truth, triples = world["truth"], world["triples"]
    labels, descriptions = _objects(triples, RDFS_LABEL), _objects(triples, SCHEMA_DESCRIPTION)
    creators, styles = _objects(triples, WDT + "P170"), _objects(triples, AKG + "style")
    genres = _objects(triples, WDT + "P136")
    assert len(creators) == len(truth["artworks"])
    for work in truth["artworks"]:
        assert creators[work["iri"]] == [work["creator"]]
        assert styles[work["iri"]] == [work["style"]]
        assert genres[work["iri"]] == [work["genre"]]
        assert len(labels[work["iri"]]) == 1
    vocab = [s["iri"] for s in truth["styles"]] + [g["iri"] for g in truth["genres"]] \
        + [m["iri"] for m in truth["movements"]]
    for iri in vocab:
        assert len(labels[iri]) == 1 and len(descriptions[iri]) == 1, iri
    genre_labels = {labels[g["iri"]][0].value for g in truth["genres"]}
    assert {"portrait", "landscape", "still life", "cityscape"} <= genre_labels
    movement_of = _objects(triples, WDT + "P135")
    for artist in truth["artists"]:
        assert movement_of[artist["iri"]] == [artist["movement"]]
        assert genres[artist["iri"]] == [artist["top_genre"]]


def test_artwork_metadata_edges(world):
    truth, triples = world["truth"], world["triples"]
    materials, subjects = _objects(triples, WDT + "P186"), _objects(triples, WDT + "P180")
    collections, located = _objects(triples, WDT + "P195"), _objects(triples, WDT + "P131")
    for work in truth["artworks"]:
        assert len(materials[work["iri"]]) == 2
        assert 1 <= len(subjects[work["iri"]]) <= 3
        if work["collection"] is not None:
            assert collections[work["iri"]] == [work["collection"]]
            assert len(located[work["collection"]]) == 1
    early = [w for w in truth["artworks"] if w["year"] < 1500]
    assert all(m in ("tempera", "fresco", "oil paint") for w in early for m in w["materials"][:1])
    born, died = _objects(triples, WDT + "P19"), _objects(triples, WDT + "P20")
    assert all(len(born[a["iri"]]) == len(died[a["iri"]]) == 1 for a in truth["artists"])


def test_influence_statements_and_references(world):
    truth, triples = world["truth"], world["triples"]
    direct = {(e["influencee"], e["influencer"]) for e in truth["influence_edges"]}
    statements = _objects(triples, P + "P737")
    values, derived = _objects(triples, PS + "P737"), _objects(triples, PROV + "wasDerivedFrom")
    sources, source_labels = _objects(triples, PR + "P248"), _objects(triples, RDFS_LABEL)
    n_statements = 0
    for subject, stmts in statements.items():
        for stmt in stmts:
            n_statements += 1
            (value,) = values[stmt]
            assert (subject, value) in direct
            (ref,) = derived[stmt]
            (source,) = sources[ref]
            assert source_labels[source]
    with_evidence = [e for e in truth["influence_edges"] if e["source"] is not None]
    assert n_statements == len(with_evidence)
    assert 0.25 * len(direct) <= n_statements <= 0.75 * len(direct)
    assert any(e["url"] for e in with_evidence)


def test_style_vectors_are_unit_and_drift_along_influence(world):
    truth = world["truth"]
    styles = {a["iri"]: np.array(a["style"]) for a in truth["artists"]}
    assert all(abs(np.linalg.norm(v) - 1.0) < 1e-4 for v in styles.values())
    linked = [styles[e["influencee"]] @ styles[e["influencer"]] for e in truth["influence_edges"]]
    rng = np.random.default_rng(0)
    iris = list(styles)
    random_pairs = [styles[iris[i]] @ styles[iris[j]] for i, j in rng.integers(len(iris), size=(500, 2))]
    assert np.mean(linked) > np.mean(random_pairs) + 0.05


def test_rejects_too_small_worlds(tmp_path):
    with pytest.raises(ValueError):
        generate_world(tmp_path, n_artists=QUOTE_ARTIST_INDEX, progress=False)


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_failed_synth_rebuild_leaves_the_previous_directory_byte_identical(tmp_path, monkeypatch):
    """`kgbuild synth` stages the ground truth and the images with the graph: a failure at the last
    build step (the SPARQL store) changes nothing; a rebuild that succeeds replaces every part."""
    import artkg.kg.graphdir as graphdir
    from artkg.kg.builders import build_graph

    out = tmp_path / "world"
    build_graph("synth", out, artists=N_ARTISTS, seed=0, image_size=16, works_per_artist=2, progress=False)
    before = _tree(out)
    assert "ground_truth.json" in before and any(k.startswith("images/") for k in before)

    def failing_store(*args, **kwargs):
        raise OSError("disk full (injected)")

    monkeypatch.setattr(graphdir.ox, "Store", failing_store)
    with pytest.raises(OSError, match="injected"):
        build_graph("synth", out, artists=N_ARTISTS + 20, seed=1, image_size=16, works_per_artist=3,
                    progress=False)
    assert _tree(out) == before
    assert sorted(p.name for p in out.iterdir()) == sorted({k.split("/")[0] for k in before})
    monkeypatch.undo()

    build_graph("synth", out, artists=N_ARTISTS + 20, seed=1, image_size=16, works_per_artist=3, progress=False)
    manifest = json.loads((out / "manifest.json").read_text())
    truth = json.loads((out / "ground_truth.json").read_text())
    assert truth["namespace"] == manifest["source"]["namespace"] == world_iri(1)
    assert len(list((out / "images").glob("*.png"))) == len(truth["artworks"]) == manifest["counts"]["nodes"]["artwork"]
    assert not (out / ".synth").exists() and not (out / ".staging").exists() and not (out / "world.nt").exists()
