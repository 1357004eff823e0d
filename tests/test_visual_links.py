"""Visual signatures: links between artworks (kind, source) imported from a CSV, kept in graph.nt,
read back from the processed graph, rebuilt by `kgbuild rdf` and by the manifest's rebuild command;
bad files leave the graph as it was; the paintings manifest gives DUPLICATE pairs."""
from __future__ import annotations

import csv
import hashlib
import json
import shlex
import shutil
from pathlib import Path

import numpy as np
import pytest

from artkg.kg.errors import InputError

from conftest import shared

NS = "https://example.org/art/"
WDT = "http://www.wikidata.org/prop/direct/"
LABEL = "http://www.w3.org/2000/01/rdf-schema#label"
COMMONS = "http://commons.wikimedia.org/wiki/Special:FilePath/"
# artwork id → (label, image: a local file name, a Commons file name, or None)
WORKS = {"W1": ("Café Terrace", "local:w1.jpg"), "W2": ("The Bridge", "local:w2.png"),
         "W3": ("Untitled", "commons:Sunflowers_1888.jpg"), "W4": ("Untitled", None),
         "W5": ("Irises", "local:w5.jpg"), "W6": ("Wheat Field", None)}


def _tiny_graph(root: Path) -> Path:
    """Six artworks by two artists, as N-Triples: images are local files or Commons IRIs."""
    images = root / "images"
    images.mkdir(parents=True)
    lines = [f'<{NS}A1> <{LABEL}> "Painter One"@en .', f'<{NS}A2> <{LABEL}> "Painter Two"@en .']
    for k, (w, (label, image)) in enumerate(WORKS.items()):
        lines += [f"<{NS}{w}> <{WDT}P170> <{NS}A{1 + k % 2}> .", f"<{NS}{w}> <{LABEL}> {json.dumps(label)}@en ."]
        if image and image.startswith("local:"):
            (images / image[6:]).write_bytes(b"not really an image")
            lines.append(f"<{NS}{w}> <{WDT}P18> <{(images / image[6:]).resolve().as_uri()}> .")
        elif image:
            lines.append(f"<{NS}{w}> <{WDT}P18> <{COMMONS}{image[8:]}> .")
    nt = root / "tiny.nt"
    nt.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return nt


def _csv(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows(rows)
    return path


def _fingerprint(root: Path) -> dict:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file() and not p.name.startswith(".artkg.lock")}


def _table(kg) -> list[tuple]:
    """The graph's links by IRI: (a, b, kind, source)."""
    links, iris = kg.visual_links, kg.iris["artwork"]
    return [(iris[a], iris[b], k, s) for a, b, k, s in
            zip(links.src.tolist(), links.dst.tolist(), links.kind_names(), links.source_names())]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> dict:
    from artkg.kg.builders import build_graph

    root = tmp_path_factory.mktemp("links")
    nt = _tiny_graph(root)
    build_graph("rdf", root / "g", path=nt, build_store=False)
    return {"root": root, "graph": root / "g", "nt": nt, "images": root / "images"}


@pytest.fixture
def graph(tiny, tmp_path) -> Path:
    return Path(shutil.copytree(tiny["graph"], tmp_path / "g"))


def _good_and_bad(tiny: dict, folder: Path) -> Path:
    """Good rows naming artworks every supported way, and one bad row of each kind."""
    w1 = str((tiny["images"] / "w1.jpg").resolve())
    rows = [["a", "b", "kind", "source"],
            [NS + "W1", "W2", "POSITIVE", ""],  # an IRI and an id; --source applies
            [w1, "Sunflowers_1888.jpg", "Similar", "annotator:alice"],  # an image path and a Commons file name
            ["cafe terrace", "irises", "duplicate", ""],  # labels, case and accents folded
            ["W2", "W5", "wrong", ""],  # WRONG = NEGATIVE
            ["W2", "W1", "positive", ""],  # the first link in the other order: a duplicate
            ["W1", NS + "W9", "positive", ""],  # unknown artwork
            ["W1", str(folder / "missing.jpg"), "similar", ""],  # an image nobody has
            ["W1", "sub/w7.jpg", "similar", ""],  # a relative path (from the CSV's folder), no such image
            ["Untitled", "W1", "positive", ""],  # a label two artworks share
            ["W1", "W6", "similiar", ""],  # unknown kind
            ["W6", "W6", "similar", ""],  # self-link
            ["", "W1", "similar", ""]]  # no artwork
    return _csv(folder / "pairs.csv", rows)


def test_import_reports_and_reads_back_kinds_and_sources(tiny, graph, tmp_path):
    from artkg.kg.graph import load_graph
    from artkg.kg.links_import import add_links

    before = load_graph(graph)
    manifest = add_links(graph, [_good_and_bad(tiny, tmp_path)], source="annotator:bob")
    rep = manifest["links"][-1]
    assert rep["rows"] == 12 and rep["usable"] == 4 and rep["source"] == "annotator:bob"
    counts = {k.split(" (")[0] if k.startswith("kinds") else k: v["count"] for k, v in rep["dropped"].items()}
    assert counts == {"rows without two artworks": 1, "artworks not in the graph": 1,
                      "images no artwork of the graph shows": 2, "labels of several artworks": 1,
                      "kinds other than positive, similar, duplicate, negative": 1,
                      "links of an artwork to itself": 1, "duplicate rows (in either order)": 1}
    examples = {k: v["examples"] for k, v in rep["dropped"].items()}
    assert examples["artworks not in the graph"] == [NS + "W9"]
    assert examples["labels of several artworks"] == ["Untitled"]
    after = load_graph(graph)
    assert after.iris == before.iris  # node ids kept
    assert sorted(_table(after)) == sorted([
        (NS + "W1", NS + "W2", "positive", "annotator:bob"), (NS + "W1", NS + "W3", "similar", "annotator:alice"),
        (NS + "W1", NS + "W5", "duplicate", "annotator:bob"), (NS + "W2", NS + "W5", "negative", "annotator:bob")])
    key = ("artwork", "visually_linked", "artwork")
    assert after.edge_index(key).shape == (2, 4) and after.edge_attrs(key)["kind"].dtype == np.int8
    assert after.data[key].kind.shape == (4,)
    assert after.data["artwork", "rev_visually_linked", "artwork"].kind.shape == (4,)
    assert len(after.visual_links.of_kind("wrong")) == 1 and len(after.visual_links.of_kind("positive", "similar")) == 2
    # graph.nt: direct edges for the three positive kinds, records for all four
    nt = (graph / "graph.nt").read_text(encoding="utf-8")
    direct = [line for line in nt.splitlines() if "visuallyLinked>" in line]
    assert len(direct) == 3 and not any(f"<{NS}W2> " in line and f"<{NS}W5>" in line for line in direct)
    assert nt.count("linkKind>") == 4 and nt.count("linkNegative>") == 1
    assert after.dir.verify(deep=True) == [] and "processed/edge_strings.json" in after.manifest["files"]


def test_rdf_rebuild_and_rebuild_command_give_the_same_links(tiny, graph, tmp_path):
    from typer.testing import CliRunner

    from artkg.cli.build import kgbuild_app
    from artkg.kg.builders import build_graph
    from artkg.kg.graph import load_graph
    from artkg.kg.integrity import rebuild_command

    runner = CliRunner()
    done = runner.invoke(kgbuild_app, ["links", str(graph), str(_good_and_bad(tiny, tmp_path)),
                                       "--source", "annotator:bob"])
    assert done.exit_code == 0, done.output
    assert "4 of 12 rows added as links" in done.output and "W9" in done.output
    kg = load_graph(graph)
    table = _table(kg)
    build_graph("rdf", tmp_path / "copy", path=graph / "graph.nt", build_store=False)  # graph.nt holds it all
    assert _table(load_graph(tmp_path / "copy")) == table
    command = rebuild_command(kg.root, kg.manifest)
    assert "&& kgbuild links" in command and "--source annotator:bob" in command
    shutil.rmtree(graph)
    for part in command.split(" && "):
        words = shlex.split(part)
        assert words[0] == "kgbuild"
        assert runner.invoke(kgbuild_app, words[1:] + ["--quiet"]).exit_code == 0
    again = load_graph(graph)
    assert _table(again) == table and again.iris == kg.iris


def test_interactions_after_links_keep_them(tiny, graph, tmp_path):
    from artkg.kg.graph import load_graph
    from artkg.kg.integrity import rebuild_command
    from artkg.kg.interactions_import import add_interactions
    from artkg.kg.links_import import add_links

    add_links(graph, [_csv(tmp_path / "p.csv", [["a", "b", "kind"], ["W1", "W2", "similar"]])])
    table = _table(load_graph(graph))
    assert table == [(NS + "W1", NS + "W2", "similar", "p.csv")]  # no --source: the file name
    add_interactions(graph, [_csv(tmp_path / "i.csv", [["user", "artwork", "timestamp"], ["ann", "W3", "2016-01-01"]])])
    kg = load_graph(graph)
    assert _table(kg) == table and len(kg.interactions) == 1 and len(kg.manifest["links"]) == 1
    assert rebuild_command(kg.root, kg.manifest).endswith(f"kgbuild links {graph} {tmp_path / 'p.csv'}")


def test_kept_ids_keep_each_link_with_its_kind(tiny, graph, tmp_path):
    """A rebuild that must renumber keeps every link's kind and source on that link."""
    from artkg.kg.builders import build_graph
    from artkg.kg.graph import load_graph
    from artkg.kg.links import link_lines

    nt = (graph / "graph.nt").read_text(encoding="utf-8")
    extra = [f"<{NS}A0> <{WDT}P170> <{NS}A1> .", f"<{NS}A0> <{LABEL}> \"a newcomer\"@en ."]  # sorts first
    extra += link_lines([NS + "A0", NS + "W2"], [NS + "W6", NS + "W1"], ["negative", "duplicate"], ["x", "y"])
    (tmp_path / "more.nt").write_text(nt + "\n".join(extra) + "\n", encoding="utf-8")
    before = load_graph(graph).iris["artwork"]
    build_graph("rdf", graph, path=tmp_path / "more.nt", build_store=False, keep_ids=True)
    kg = load_graph(graph)
    assert kg.iris["artwork"][:len(before)] == before and kg.iris["artwork"][-1] == NS + "A0"
    assert sorted(_table(kg)) == [(NS + "A0", NS + "W6", "negative", "x"), (NS + "W2", NS + "W1", "duplicate", "y")]


@pytest.mark.parametrize("rows,names", [
    ([["W1", NS + "nope"], ["W2", "Nobody"]], r"no usable link in .*pairs\.csv \(2 artworks not in the graph\)"),
    ([["W1", "/nowhere/x.jpg"]], r"no usable link .*1 images no artwork of the graph shows"),
    ([["W6", "W6"]], "no usable link .*1 links of an artwork to itself"),
])
def test_nothing_usable_is_one_line_and_changes_nothing(graph, tmp_path, rows, names):
    from artkg.kg.links_import import add_links

    f = _csv(tmp_path / "pairs.csv", [["a", "b", "kind"]] + [r + ["similar"] for r in rows])
    before = _fingerprint(graph)
    with pytest.raises(InputError, match=names) as err:
        add_links(graph, [f])
    assert "\n" not in str(err.value)
    assert _fingerprint(graph) == before


def test_bad_files_are_one_line_and_change_nothing(graph, tmp_path):
    from artkg.kg.links_import import add_links

    before = _fingerprint(graph)
    kinds = _csv(tmp_path / "k.csv", [["a", "b", "kind"], ["W1", "W2", "similiar"], ["W1", "W3", "same"]])
    with pytest.raises(InputError, match=r"no row of .*k\.csv has a known link kind \(it has 'same', 'similiar'") as e:
        add_links(graph, [kinds])
    assert "positive, similar, duplicate, negative (wrong = negative)" in e.value.fix
    with pytest.raises(InputError, match="lacks the column kind"):
        add_links(graph, [_csv(tmp_path / "c.csv", [["a", "b"], ["W1", "W2"]])])
    with pytest.raises(InputError, match="no links file"):
        add_links(graph, [tmp_path / "absent.csv"])
    with pytest.raises(InputError, match="no usable link .*the file has no rows"):
        add_links(graph, [_csv(tmp_path / "e.csv", [["a", "b", "kind"]])])
    good = _csv(tmp_path / "g.csv", [["a", "b", "kind"], ["W1", "W2", "similar"]])
    with pytest.raises(InputError, match="no links file"):  # one bad file of several: nothing is added
        add_links(graph, [good, tmp_path / "absent.csv"])
    assert _fingerprint(graph) == before


def test_paintings_manifest_gives_duplicate_pairs(tmp_path):
    from _paintings import read_paintings, write_paintings_ntriples

    from artkg.kg.builders import build_graph
    from artkg.kg.graph import load_graph
    from artkg.kg.links_import import add_links, fold
    from artkg.kg.paintings_links import duplicate_pairs_from_manifest, write_pairs_csv

    manifest = shared("paintings", "manifest.csv")
    rows = read_paintings(manifest.parent)
    by_path = {str(r["path"]): r for r in rows}
    pairs = duplicate_pairs_from_manifest(manifest)
    assert pairs and len(set(pairs)) == len(pairs)
    for a, b in pairs:  # each pair: two images of one painting
        assert a < b and fold(by_path[a]["title"]) == fold(by_path[b]["title"])
        assert fold(by_path[a]["artist"]) == fold(by_path[b]["artist"])
    starry = sorted(p for p in by_path if "starry-night" in p)
    assert len(starry) >= 2
    assert {(a, b) for a, b in pairs if a in starry} == {(a, b) for i, a in enumerate(starry) for b in starry[i + 1:]}
    titles = {}
    for r in rows:
        titles.setdefault((fold(r["artist"]), fold(r["title"])), []).append(r)
    assert len(pairs) == sum(len(g) * (len(g) - 1) // 2 for g in titles.values())
    # Resolved by image path against the paintings graph (P18 file IRIs): every pair a DUPLICATE edge.
    build_graph("rdf", tmp_path / "g", path=write_paintings_ntriples(rows, tmp_path / "p.nt"), build_store=False)
    report = add_links(tmp_path / "g", [write_pairs_csv(pairs, tmp_path / "dup.csv")], source="manifest")["links"][-1]
    assert report["usable"] == len(pairs) and not report["dropped"]
    kg = load_graph(tmp_path / "g")
    stem = {r["iri"]: str(r["path"]) for r in rows}
    assert sorted((stem[a], stem[b]) for a, b, *_ in _table(kg)) == pairs
    assert set(kg.visual_links.kind_names()) == {"duplicate"} and set(kg.visual_links.source_names()) == {"manifest"}
