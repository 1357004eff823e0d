"""Shared fixtures: a small synthetic world, the real data in ../shared/data, loopback Oxigraph servers."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("ARTKG_SHARED_DATA", REPO.parent / "shared" / "data"))


def shared(*parts: str) -> Path:
    """A path under ../shared/data; the calling test is skipped cleanly when it is absent."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"real data not available: {path}")
    return path


def fast_crawl_config(endpoint: str, **overrides):
    """A WikidataConfig for tests against loopback servers: few artworks, quick retries."""
    from artkg.kg.wikidata import WikidataConfig

    settings = {"endpoint": endpoint, "max_artworks": 2, "backoff_initial": 0.05, "max_tries": 3}
    settings.update(overrides)
    return WikidataConfig(**settings)


def pytest_collection_modifyitems(config, items):
    """Tests marked ``gpu`` run wherever CUDA is present and are skipped elsewhere (CI)."""
    gpu = [item for item in items if "gpu" in item.keywords]
    if not gpu:
        return
    import torch

    if not torch.cuda.is_available():
        skip = pytest.mark.skip(reason="needs CUDA (no GPU visible to torch)")
        for item in gpu:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def small_world(tmp_path_factory) -> Path:
    """A 120-artist synthetic graph directory (images 32 px), built once per test session."""
    from artkg.kg.builders import build_graph

    out = tmp_path_factory.mktemp("world") / "world"
    build_graph("synth", out, artists=120, seed=7, image_size=32, works_per_artist=4, progress=False)
    return out


def featured_world(small_world: Path, tmp_path_factory, name: str, image_size: int = 32, text_encoder=None,
                   device: str = "cpu") -> Path:
    """A private copy of the session world (without its store) with EfficientNet-Lite image features
    at ``image_size`` px (and text features when ``text_encoder`` is given): a module's ``world``."""
    import shutil

    from artkg.models.features import extract_features

    out = Path(shutil.copytree(small_world, tmp_path_factory.mktemp(name) / "world",
                               ignore=shutil.ignore_patterns("store")))
    extract_features(out, "efficientnet_lite", {"image_size": image_size}, text_encoder, batch_size=128,
                     device=device, progress=False)
    return out


@pytest.fixture(scope="session")
def world_server(small_world):
    """A real Oxigraph server on 127.0.0.1 serving the small world's triples."""
    from artkg.kg.server import OxigraphServer

    with OxigraphServer(files=[small_world / "graph.nt"]) as server:
        yield server


@pytest.fixture(scope="module")
def torch_one_thread():
    """Run a module's torch work on one thread: on small shared machines, intra-op threads fighting
    other processes for two cores make a forward pass ~20× slower (OpenMP spin-waits)."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
