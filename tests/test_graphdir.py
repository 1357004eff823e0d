"""The graph directory: HeteroData with reverse edges, stable id maps, pickle-free files, the
manifest, atomic rebuilds and clear errors."""
from __future__ import annotations

import datetime as dt
import json
import pickle
from pathlib import Path

import pytest
import torch

import artkg
import artkg.kg.graphdir as graphdir_module
from artkg.kg import schema as S
from artkg.kg.builders import build_graph
from artkg.kg.errors import InputError
from artkg.kg.graph import KnowledgeGraph, load_graph
from artkg.kg.graphdir import GraphDir, id_map_hash

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
