"""The graph directory: HeteroData with reverse edges, stable id maps, pickle-free files, the
manifest, atomic rebuilds and clear errors."""
from __future__ import annotations

import datetime as dt
import json
import pickle
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyoxigraph as ox
import pytest
import torch

import artkg
import artkg.kg.graphdir as graphdir_module
from artkg.kg import schema as S
from artkg.kg.builders import build_graph
from artkg.kg.errors import InputError
from artkg.kg.graph import KnowledgeGraph, load_graph
from artkg.kg.graphdir import GraphDir, drop_summary, id_map_hash
from artkg.kg.ids import id_map_compatible
from artkg.kg.triples import read_rdf_file

WDT = "http://www.wikidata.org/prop/direct/"


def synth(out: Path, seed: int, artists: int = 30) -> dict:
    return build_graph("synth", out, artists=artists, seed=seed, images=False, progress=False, build_store=False)


def write_nt(path: Path, pairs) -> Path:
    path.write_text("".join(f"<http://x.example/{a}> <{WDT}P737> <http://x.example/{b}> .\n" for a, b in pairs))
    return path


# ---------------------------------------------------------------- HeteroData
def test_heterodata_validates_with_reverse_edges(small_world):
    graph = load_graph(small_world)
    data = graph.data
    assert data.validate(raise_on_error=True)
    manifest = graph.manifest
    assert {t: data[t].num_nodes for t in data.node_types} == manifest["counts"]["nodes"]
    forward = [k for k in data.edge_types if not k[1].startswith("rev_")]
    assert {"__".join(k): data[k].edge_index.shape[1] for k in forward} == manifest["counts"]["edges"]
    assert len(data.edge_types) == 2 * len(forward)
    for src, rel, dst in forward:
        ei = data[(src, rel, dst)].edge_index
        rev = data[(dst, f"rev_{rel}", src)].edge_index
        assert torch.equal(rev, ei.flip(0)), (src, rel, dst)
        assert ei.dtype == torch.long
        assert int(ei[0].max()) < data[src].num_nodes and int(ei[1].max()) < data[dst].num_nodes
    # influence keeps its direction: A0005's influencers are older artists (born earlier)
    key = ("artist", "influenced_by", "artist")
    ei = data[key].edge_index
    birth = data["artist"].birth_year
    assert bool((birth[ei[0]] > birth[ei[1]]).all())
    assert ("artist", "rev_influenced_by", "artist") in data.edge_types


def test_node_attrs_and_id_maps(small_world):
    graph = load_graph(small_world)
    nodes = json.loads((small_world / "processed" / "nodes.json").read_text(encoding="utf-8"))
    for t, table in nodes.items():
        assert table["iri"] == sorted(table["iri"])  # index order = sorted IRIs (stable)
        assert len(table["label"]) == len(table["iri"]) == graph.num_nodes(t)
    assert graph.data["artwork"].year.shape == (graph.num_nodes("artwork"),)
    assert id_map_hash(graph.iris) == graph.manifest["id_map_hash"]


# ---------------------------------------------------------------- stable ids
def test_id_map_hash_stable_across_builds(tmp_path):
    one, two, other = synth(tmp_path / "one", 3), synth(tmp_path / "two", 3), synth(tmp_path / "other", 4)
    assert one["id_map_hash"] == two["id_map_hash"]
    assert (tmp_path / "one" / "graph.nt").read_bytes() == (tmp_path / "two" / "graph.nt").read_bytes()
    assert (tmp_path / "one" / "processed" / "tensors.safetensors").read_bytes() == \
        (tmp_path / "two" / "processed" / "tensors.safetensors").read_bytes()
    assert other["id_map_hash"] != one["id_map_hash"]
    assert id_map_hash(load_graph(tmp_path / "two").iris) == one["id_map_hash"]


# ---------------------------------------------------------------- no pickle anywhere
def test_processed_files_are_pickle_free(small_world, monkeypatch):
    files = sorted(p.relative_to(small_world / "processed").as_posix() for p in (small_world / "processed").rglob("*"))
    assert files == ["evidence.json", "nodes.json", "tensors.safetensors"]
    suffixes = {p.suffix for p in small_world.rglob("*") if p.is_file() and "store" not in p.parts}
    assert not suffixes & {".pt", ".pth", ".pkl", ".pickle", ".npy", ".npz"}

    def refuse(*args, **kwargs):
        raise AssertionError("a graph directory must load without unpickling")

    class RefusingUnpickler(pickle.Unpickler):
        load = refuse

    import safetensors.torch  # noqa: F401  (libraries first: some subclass pickle.Unpickler at import)
    import torch_geometric.data  # noqa: F401

    monkeypatch.setattr(pickle, "load", refuse)
    monkeypatch.setattr(pickle, "loads", refuse)
    monkeypatch.setattr(pickle, "Unpickler", RefusingUnpickler)
    monkeypatch.setattr(torch, "load", refuse)
    graph = KnowledgeGraph(small_world)
    assert graph.data.validate()
    assert len(graph.evidence) == graph.manifest["counts"]["edges"]["artist__influenced_by__artist"]


# ---------------------------------------------------------------- manifest
def test_manifest_fields(tmp_path):
    before = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    m = synth(tmp_path / "g", 5, artists=20)
    after = dt.datetime.now(dt.timezone.utc)
    on_disk = json.loads((tmp_path / "g" / "manifest.json").read_text(encoding="utf-8"))
    assert on_disk == m
    assert m["artkg_version"] == artkg.__version__
    assert m["schema_fingerprint"] == S.schema_fingerprint() and len(m["schema_fingerprint"]) == 16
    assert m["schema_version"] == S.SCHEMA_VERSION and m["format_version"] == graphdir_module.FORMAT_VERSION
    created = dt.datetime.fromisoformat(m["created"])
    assert created.tzinfo is not None and before <= created <= after
    assert m["source"]["kind"] == "synth" and m["source"]["seed"] == 5 and m["source"]["artists"] == 20
    assert m["counts"]["nodes"]["artist"] == 20
    graph = load_graph(tmp_path / "g")
    assert m["counts"]["nodes"] == {t: len(v) for t, v in graph.iris.items()}
    lines = (tmp_path / "g" / "graph.nt").read_text(encoding="utf-8").splitlines()
    assert m["triples"] == len(lines) and lines == sorted(lines)
    assert m["store"] is False and not (tmp_path / "g" / "store").exists()
    assert m["queries"] == []


def test_rdf_manifest_source(tmp_path):
    nt = write_nt(tmp_path / "in.nt", [("a", "b"), ("b", "c")])
    m = build_graph("rdf", tmp_path / "g", path=nt)
    assert m["source"] == {"kind": "rdf", "path": str(nt.resolve())}
    assert m["store"] is True and (tmp_path / "g" / "store").is_dir()
    assert m["counts"] == {"nodes": {"artist": 3}, "edges": {"artist__influenced_by__artist": 2}}


# ---------------------------------------------------------------- interrupted builds
def test_interrupted_build_keeps_the_previous_graph(tmp_path, monkeypatch):
    out = tmp_path / "g"
    build_graph("rdf", out, path=write_nt(tmp_path / "v1.nt", [("a", "b")]))
    manifest = (out / "manifest.json").read_bytes()
    nt = (out / "graph.nt").read_bytes()
    processed = {p.name: p.read_bytes() for p in (out / "processed").iterdir()}

    def crash(*args, **kwargs):
        raise RuntimeError("disk died while writing tensors")

    monkeypatch.setattr(graphdir_module, "save_processed", crash)
    with pytest.raises(RuntimeError, match="disk died"):
        build_graph("rdf", out, path=write_nt(tmp_path / "v2.nt", [("a", "b"), ("b", "c"), ("c", "d")]))
    assert (out / "manifest.json").read_bytes() == manifest
    assert (out / "graph.nt").read_bytes() == nt
    assert {p.name: p.read_bytes() for p in (out / "processed").iterdir()} == processed
    graph = load_graph(out)
    assert graph.num_nodes("artist") == 2 and graph.data.validate()
    assert graph.manifest["triples"] == 1

    monkeypatch.undo()  # the next build completes and replaces the old graph
    m = build_graph("rdf", out, path=tmp_path / "v2.nt")
    assert m["counts"]["nodes"]["artist"] == 4
    assert not (out / ".staging").exists()
    assert load_graph(out).num_nodes("artist") == 4


def test_build_interrupted_while_swapping_is_marked_unfinished(tmp_path, monkeypatch):
    """A crash after the swap began leaves no manifest: the directory reads as unfinished, never half-loaded."""
    out = tmp_path / "g"
    build_graph("rdf", out, path=write_nt(tmp_path / "v1.nt", [("a", "b")]))

    def crash(*args, **kwargs):
        raise OSError("interrupted")

    monkeypatch.setattr(graphdir_module, "replace_dir", crash)
    with pytest.raises(OSError):
        build_graph("rdf", out, path=write_nt(tmp_path / "v2.nt", [("a", "b"), ("b", "c")]))
    with pytest.raises(InputError, match="is not a finished artkg graph directory"):
        load_graph(out)
    monkeypatch.undo()
    build_graph("rdf", out, path=tmp_path / "v2.nt")
    assert load_graph(out).num_nodes("artist") == 3


# ---------------------------------------------------------------- errors
def test_directory_without_manifest(tmp_path):
    (tmp_path / "half").mkdir()
    with pytest.raises(InputError) as info:
        load_graph(tmp_path / "half")
    assert "is not a finished artkg graph directory (no manifest.json)" in str(info.value)
    assert "kgbuild" in info.value.fix
    (tmp_path / "half" / "raw").mkdir()  # a crawl's cache: resuming is suggested
    with pytest.raises(InputError, match="raw/ cache is kept"):
        GraphDir(tmp_path / "half").manifest()
    with pytest.raises(InputError, match="no graph directory at"):
        load_graph(tmp_path / "missing")
    with pytest.raises(InputError, match="no graph directory at"):
        GraphDir(tmp_path / "missing").manifest()


def test_incompatible_format_is_refused(tmp_path):
    out = tmp_path / "g"
    build_graph("rdf", out, path=write_nt(tmp_path / "in.nt", [("a", "b")]), build_store=False)
    manifest = json.loads((out / "manifest.json").read_text())
    manifest["format_version"] = 999
    (out / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(InputError, match="incompatible format"):
        load_graph(out)


def test_rdf_into_a_synth_directory_is_refused(tmp_path):
    out = tmp_path / "world"
    synth(out, 1, artists=12)
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    with pytest.raises(InputError) as info:
        build_graph("rdf", out, path=write_nt(tmp_path / "in.nt", [("a", "b")]))
    assert "already holds a graph built by `kgbuild synth`" in str(info.value)
    assert "choose another --out" in info.value.fix
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before
    with pytest.raises(InputError, match="is not a directory"):
        build_graph("rdf", tmp_path / "in.nt", path=tmp_path / "in.nt")
    # the same kind may rebuild in place
    assert synth(out, 1, artists=12)["counts"]["nodes"]["artist"] == 12


# ---------------------------------------------------------------- stable ids across rebuilds
def artist_pairs(graph) -> list[tuple[str, str]]:
    ei = graph.edge_index(("artist", "influenced_by", "artist")).numpy()
    return [(graph.iris["artist"][a], graph.iris["artist"][b]) for a, b in ei.T.tolist()]


def test_rebuild_keeps_ids_and_appends_new_nodes(tmp_path):
    nt = write_nt(tmp_path / "in.nt", [("b", "c"), ("c", "d"), ("d", "e")])
    first = build_graph("rdf", tmp_path / "g", path=nt, build_store=False)
    before = load_graph(tmp_path / "g").iris["artist"]
    write_nt(nt, [("b", "c"), ("c", "d"), ("d", "e"), ("a", "b")])  # one more artist, sorting first
    second = build_graph("rdf", tmp_path / "g", path=nt, build_store=False)
    after = load_graph(tmp_path / "g")
    assert after.iris["artist"] == before + ["http://x.example/a"]  # existing ids kept, the new one appended
    assert second["id_map_history"] == [first["id_map_hash"]] and second["id_map_hash"] != first["id_map_hash"]
    assert id_map_compatible(second, first["id_map_hash"]) and id_map_compatible(second, second["id_map_hash"])
    assert not id_map_compatible(second, "0" * 20)
    # the same graph as a fresh build, only numbered differently
    fresh_manifest = build_graph("rdf", tmp_path / "fresh", path=nt, build_store=False)
    fresh = load_graph(tmp_path / "fresh")
    assert fresh.iris["artist"] == sorted(fresh.iris["artist"]) != after.iris["artist"]
    assert sorted(artist_pairs(after)) == sorted(artist_pairs(fresh)) and len(artist_pairs(after)) == 4
    assert fresh_manifest["id_map_history"] == []
    # the same input again: same ids, same hash, same history; --new-ids numbers afresh
    third = build_graph("rdf", tmp_path / "g", path=nt, build_store=False)
    assert (third["id_map_hash"], third["id_map_history"]) == (second["id_map_hash"], second["id_map_history"])
    renumbered = build_graph("rdf", tmp_path / "g", path=nt, build_store=False, keep_ids=False)
    assert renumbered["id_map_hash"] == fresh_manifest["id_map_hash"] and renumbered["id_map_history"] == []


def test_rebuild_without_an_earlier_node_renumbers_or_refuses(tmp_path):
    nt = write_nt(tmp_path / "in.nt", [("a", "b"), ("b", "c")])
    first = build_graph("rdf", tmp_path / "g", path=nt, build_store=False)
    write_nt(nt, [("a", "b"), ("a", "d")])  # c is gone
    with pytest.raises(InputError, match=r"cannot keep the node ids .*1 artist node\(s\) .*x\.example/c"):
        build_graph("rdf", tmp_path / "g", path=nt, build_store=False, keep_ids=True)
    assert json.loads((tmp_path / "g" / "manifest.json").read_text()) == first  # untouched
    kgbuild = str(Path(sys.executable).parent / "kgbuild")
    done = subprocess.run([kgbuild, "rdf", str(nt), "--out", str(tmp_path / "g"), "--no-store", "--keep-ids"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and done.stderr.startswith("error: cannot keep the node ids")
    assert len(done.stderr.strip().splitlines()) == 1
    m = build_graph("rdf", tmp_path / "g", path=nt, build_store=False)  # default: renumber, and say so
    assert m["id_map_history"] == [] and not id_map_compatible(m, first["id_map_hash"])
    assert any("renumbered" in reason for reason in m["dropped"])


def test_kept_ids_renumber_every_part_consistently(small_world, tmp_path):
    """A rebuild of the synthetic world with one more artist: ids kept, and every edge, label,
    attribute, image and evidence record the same as in a fresh build, by IRI."""
    old = load_graph(small_world)
    kept, fresh = tmp_path / "kept", tmp_path / "fresh"
    shutil.copytree(small_world, kept, ignore=shutil.ignore_patterns("store"))
    triples = read_rdf_file(small_world / "graph.nt")
    newcomer = ox.NamedNode(old.iris["artist"][0] + "-newcomer")
    triples.add(newcomer, WDT + "P737", ox.NamedNode(old.iris["artist"][5]))
    triples.add(newcomer, S.RDFS_LABEL, ox.Literal("Newcomer", language="en"))
    source = old.manifest["source"]
    m = GraphDir(kept).finalize(triples, source=source, build_store=False)
    GraphDir(fresh).finalize(triples, source=source, build_store=False)
    a, b = load_graph(kept), load_graph(fresh)
    assert m["id_map_history"] == [old.manifest["id_map_hash"]]
    for t in old.iris:
        assert a.iris[t][:len(old.iris[t])] == old.iris[t], t
    assert a.iris["artist"][-1] == newcomer.value and a.iris["artist"] != b.iris["artist"]
    for t in b.iris:
        assert sorted(a.iris[t]) == b.iris[t]
        pos = [a.index_of(t, iri) for iri in b.iris[t]]
        assert [a.labels[t][i] for i in pos] == b.labels[t]
        for name in b.data[t].keys():
            if name != "num_nodes" and torch.is_tensor(b.data[t][name]):
                assert torch.equal(a.data[t][name][pos].nan_to_num(-1), b.data[t][name].nan_to_num(-1)), (t, name)
    for key in b.data.edge_types:
        src, _, dst = key
        pairs = lambda g: sorted((g.iris[src][x], g.iris[dst][y]) for x, y in g.edge_index(key).numpy().T.tolist())
        assert pairs(a) == pairs(b), key
        ei = a.edge_index(key).numpy()
        assert np.array_equal(np.lexsort((ei[1], ei[0])), np.arange(ei.shape[1])), key  # still sorted
    assert dict(zip(a.iris["artwork"], a.images)) == dict(zip(b.iris["artwork"], b.images))
    assert dict(zip(artist_pairs(a), map(json.dumps, a.evidence))) == dict(zip(artist_pairs(b), map(json.dumps, b.evidence)))


def test_build_summary_counts_what_was_dropped(tmp_path):
    nt = tmp_path / "in.nt"
    nt.write_text(f"<http://x.example/a> <{WDT}P737> <http://x.example/b> .\n"
                  f"<http://x.example/w> <{WDT}P170> <http://x.example/a> .\n"
                  f"<http://x.example/w> <{WDT}P135> <http://x.example/w2> .\n"  # artwork -> ? : typed movement
                  f"<http://x.example/a> <{WDT}P135> <http://x.example/w> .\n"  # artist -> artwork: skipped
                  f"<http://x.example/z> <{WDT}P569> \"1900-01-01T00:00:00Z\"^^<http://www.w3.org/2001/XMLSchema#dateTime> .\n"
                  f"<http://x.example/o> <{WDT}P569> \"1890-01-01T00:00:00Z\"^^<http://www.w3.org/2001/XMLSchema#dateTime> .\n"
                  f"<http://x.example/o> <{WDT}P135> <http://x.example/w> .\n"  # o's only edge: skipped
                  f"<http://x.example/a> <http://xmlns.com/foaf/0.1/knows> <http://x.example/b> .\n")
    m = build_graph("rdf", tmp_path / "g", path=nt, build_store=False)
    dropped = m["dropped"]
    assert dropped["triple with a predicate outside the schema"]["count"] == 1
    assert any(r.startswith("P135 between artist and artwork") for r in dropped)
    assert dropped["artist nodes that never had an edge"] == {"count": 1, "examples": ["http://x.example/z"]}
    # o's only edge (P135 to an artwork) was skipped: an orphan of a skipped edge
    assert dropped["artist nodes left without any edge by skipped edges"] == {"count": 1, "examples": ["http://x.example/o"]}
    short, long = drop_summary(m), drop_summary(m, examples=True)
    assert "-v lists examples" in short and "x.example/z" not in short and "e.g. http://x.example/z" in long
    done = subprocess.run([str(Path(sys.executable).parent / "kgbuild"), "rdf", str(nt), "--out", str(tmp_path / "h"),
                           "--no-store", "-v"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "skipped:" in done.stderr and "e.g. http://x.example/z" in done.stderr and "skipped" not in done.stdout


def test_rebuild_with_one_more_artist_keeps_runs_indexes_and_features(small_world, tmp_path):
    """Features, a trained run and a saved index of the world stay usable after a rebuild into the
    same directory that adds one artist; a renumbering rebuild makes them refuse clearly."""
    from artkg.models.features import extract_features
    from artkg.models.features_cache import load_features
    from artkg.models.run import evaluate_run, load_run, run_graph
    from artkg.models.train import train
    from artkg.models.train_config import TrainConfig
    from artkg.retrieval.query import build_artwork_index, influencing_artworks

    world = Path(shutil.copytree(small_world, tmp_path / "world", ignore=shutil.ignore_patterns("store")))
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        extract_features(world, "efficientnet_lite", {"image_size": 32}, "minilm", batch_size=128, device="cpu",
                         progress=False)
        config = {"epochs": 1, "batch_size": 128, "threads": 1, "patience": 0, "model": "graphclip",
                  "tasks": ["style"], "gnn_kwargs": {"layers": 2, "hidden": 16}, "model_kwargs": {"embed_dim": 16}}
        run_dir = tmp_path / "run"
        train(world, TrainConfig.from_dict(config), out=run_dir, progress=False)
        graph = load_graph(world)
        build_artwork_index(graph, tmp_path / "index", features="image")
        query = graph.iris["artwork"][0]
        before = influencing_artworks(graph, query, k=5, index=tmp_path / "index", time_filter=False)
        saved_metrics = json.loads((run_dir / "metrics.json").read_text())

        triples = read_rdf_file(world / "graph.nt")
        newcomer = ox.NamedNode(graph.iris["artist"][0] + "-newcomer")
        triples.add(newcomer, WDT + "P737", ox.NamedNode(graph.iris["artist"][3]))
        triples.add(newcomer, S.RDFS_LABEL, ox.Literal("Newcomer", language="en"))
        m = GraphDir(world).finalize(triples, source=graph.manifest["source"], build_store=False)
        assert m["counts"]["nodes"]["artist"] == graph.num_nodes("artist") + 1
        rebuilt = load_graph(world)

        run = load_run(run_dir)
        assert run_graph(run.config, world).manifest["id_map_hash"] == m["id_map_hash"]
        feats, mask = load_features(world, "image")
        assert feats.shape[0] == rebuilt.num_nodes("artwork")
        text = load_features(world, "text")
        assert text["artist"].shape[0] == rebuilt.num_nodes("artist")  # the newcomer: a zero row
        after = influencing_artworks(rebuilt, query, k=5, index=tmp_path / "index", time_filter=False)
        assert after["candidates"] == before["candidates"]
        result = evaluate_run(run_dir, world, device="cpu")
        # the same test artworks, scored by the saved model (the newcomer's one influence edge may move
        # a neighbour's embedding a little)
        assert result["style"]["test"]["n"] == saved_metrics["style"]["test"]["n"]
        assert result["style"]["test"]["top1"] == pytest.approx(saved_metrics["style"]["test"]["top1"], abs=0.05)

        GraphDir(world).finalize(triples, source=graph.manifest["source"], build_store=False, keep_ids=False)
        with pytest.raises(InputError, match="not the one .* was trained on"):
            run_graph(run.config, world)
        with pytest.raises(InputError, match="built from another graph"):
            influencing_artworks(load_graph(world), query, k=5, index=tmp_path / "index", time_filter=False)
    finally:
        torch.set_num_threads(threads)
