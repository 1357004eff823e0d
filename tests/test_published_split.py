"""`--split published`: GraphCLIP training, `artkg eval` and CLOIR read the splits.json that
`kgbuild wikiart` / `kgbuild artgraph` write; a graph without one gives a one-line error."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from artkg.kg.builders import build_graph
from artkg.kg.errors import InputError
from artkg.kg.graph import load_graph
from artkg.models.run import evaluate_run
from artkg.models.train import train
from artkg.models.train_config import TrainConfig
from _artdata import write_artgraph_export
from conftest import shared

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))
from _common import write_synthetic_features  # noqa: E402

TINY = {"epochs": 2, "batch_size": 64, "threads": 1, "gnn_kwargs": {"layers": 2, "hidden": 16, "dropout": 0.1},
        "model_kwargs": {"embed_dim": 16}, "patience": 0, "split": "published"}
ENV = {**os.environ, "OMP_NUM_THREADS": "1"}


@pytest.fixture(scope="module", autouse=True)
def one_thread(torch_one_thread):
    yield


def cli(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "artkg.cli", *map(str, args)], capture_output=True, text=True,
                          cwd=REPO.parent, timeout=300, env=ENV)


@pytest.fixture(scope="module")
def wikiart(tmp_path_factory) -> Path:
    """Every 80th line of the real ArtGAN split files (styles, genres and artists throughout)."""
    src = shared("wikiart", "artgan")
    tmp = tmp_path_factory.mktemp("pub_wikiart")
    sub = tmp / "artgan"
    sub.mkdir()
    for f in src.iterdir():
        if f.name.startswith("artist"):
            continue
        lines = f.read_text(encoding="utf-8").splitlines(keepends=True)
        (sub / f.name).write_text("".join(lines if "class" in f.name else lines[::80]), encoding="utf-8")
    build_graph("wikiart", tmp / "graph", path=sub, build_store=False)
    write_synthetic_features(tmp / "graph", dim=16, seed=0, signal=1.0)
    return tmp / "graph"


def _published(graph_dir: Path, section: str) -> dict[str, set[int]]:
    graph = load_graph(graph_dir)
    index = {iri: i for i, iri in enumerate(graph.iris["artwork"])}
    parts = json.loads((graph_dir / "splits.json").read_text(encoding="utf-8"))
    parts = parts.get("splits", parts)[section]
    return {p: {index[i] for i in v if i in index} for p, v in parts.items()}


def test_graphclip_trains_and_evaluates_on_the_wikiart_published_split(wikiart, tmp_path):
    result = train(wikiart, TrainConfig.from_dict(TINY), out=tmp_path / "run", progress=False)
    split = json.loads((tmp_path / "run" / "split.json").read_text())
    pub = _published(wikiart, "style")
    labels = result.data.tasks[0].labels.numpy()
    # WikiArt publishes train and val: val is the test part, validation comes out of train.
    assert set(split["test"]) == {i for i in pub["val"] if labels[i] >= 0}
    assert set(split["train"]) | set(split["val"]) == {i for i in pub["train"] if labels[i] >= 0} - set(split["test"])
    assert not set(split["train"]) & set(split["val"]) and len(split["val"]) > 0
    info = result.metrics["training"]["split"]
    assert info["kind"] == "published" and info["section"] == "style" and info["test_from"] == "val"
    again = evaluate_run(tmp_path / "run", device="cpu", split="published")
    assert again["matches_saved"] and again["style"]["test"] == result.metrics["style"]["test"]


def test_eval_published_refuses_a_run_trained_on_those_works(wikiart, tmp_path):
    train(wikiart, TrainConfig.from_dict({**TINY, "split": [0.7, 0.1, 0.2]}), out=tmp_path / "random",
          progress=False)
    r = cli("eval", tmp_path / "random", "--split", "published")
    lines = r.stderr.strip().splitlines()
    assert r.returncode == 2 and len(lines) == 1 and "was trained on" in lines[0], r.stderr
    assert cli("eval", tmp_path / "random").returncode == 0  # its own split still evaluates


def test_cli_train_split_published_and_the_graph_without_one(wikiart, small_world, tmp_path):
    r = cli("train", "graphclip", wikiart, "--out", tmp_path / "cli", "--split", "published", "--epochs", "1",
            "--hidden", "16", "--quiet", "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["metrics"]["training"]["split"]["kind"] == "published"
    assert not (small_world / "splits.json").exists()
    r = cli("train", "graphclip", small_world, "--out", tmp_path / "none", "--split", "published", "--quiet")
    lines = r.stderr.strip().splitlines()
    assert r.returncode == 2 and len(lines) == 1 and "no published split" in lines[0], r.stderr
    r = cli("train", "graphclip", wikiart, "--out", tmp_path / "bad", "--split", "stratified", "--quiet")
    assert r.returncode == 2 and "--split published" in r.stderr


def test_paper_config_uses_the_published_split():
    paper = TrainConfig.from_file(REPO / "examples/configs/graphclip_artgraph_paper.json")
    assert paper.split == "published"
    with pytest.raises(InputError, match="unknown split"):
        TrainConfig.from_dict({"split": "publishd"})


# ------------------------------------------------------------------ ArtGraph: valid/test published, train the rest
@pytest.fixture(scope="module")
def artgraph(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("pub_artgraph")
    export = write_artgraph_export(tmp / "raw", shared("artgraph"), shared("wikiart", "artgan"),
                                   shared("cloir", "influenced_by_dict.json"), per_split=150)
    # A published train part as neo4j2raw exports it: half of the valid works move to split/train.csv.
    valid = [r for r in (export.root / "split" / "valid.csv").read_text(encoding="utf-8").splitlines() if r]
    (export.root / "split" / "valid.csv").write_text("\n".join(valid[::2]) + "\n", encoding="utf-8")
    (export.root / "split" / "train.csv").write_text("\n".join(valid[1::2]) + "\n", encoding="utf-8")
    build_graph("artgraph", tmp / "graph", path=export.root, build_store=False)
    write_synthetic_features(tmp / "graph", dim=16, seed=0, signal=1.0)
    return tmp / "graph"


def test_artgraph_published_split_for_graphclip(artgraph, tmp_path):
    pub = _published(artgraph, "artwork")
    assert pub["train"] and pub["valid"] and pub["test"]
    result = train(artgraph, TrainConfig.from_dict(TINY), out=tmp_path / "gc", progress=False)
    split = result.data.split
    labels = result.data.tasks[0].labels.numpy()
    assert set(split.test.tolist()) == {i for i in pub["test"] if labels[i] >= 0}
    assert set(split.val.tolist()) == {i for i in pub["valid"] if labels[i] >= 0}
    assert set(split.train.tolist()) == {i for i in pub["train"] if labels[i] >= 0}
    assert evaluate_run(tmp_path / "gc", device="cpu", split="published")["matches_saved"]



def test_cloir_trains_and_evaluates_on_a_published_split(small_world, tmp_path):
    """CLOIR needs influence links between artists with works: the offline world, with an
    ArtGraph-format splits.json (train / valid / test) written beside it."""
    from artkg.retrieval.cloir import evaluate_cloir_run, train_cloir

    world = Path(shutil.copytree(small_world, tmp_path / "world", ignore=shutil.ignore_patterns("store")))
    write_synthetic_features(world, dim=16, seed=0, signal=1.0)
    iris = list(load_graph(world).iris["artwork"])
    order = np.random.default_rng(0).permutation(len(iris))
    parts = {"train": order[: len(iris) * 6 // 10], "valid": order[len(iris) * 6 // 10: len(iris) * 7 // 10],
             "test": order[len(iris) * 7 // 10:]}
    (world / "splits.json").write_text(json.dumps({"artwork": {p: [iris[i] for i in v] for p, v in parts.items()}}))
    cloir = train_cloir(world, {"split": "published", "epochs": 2, "threads": 1, "n": 3},
                        out=tmp_path / "cloir", progress=False)
    assert cloir.split.kind == "published"
    assert len(cloir.split.test) > 0 and set(cloir.split.test.tolist()) <= set(parts["test"].tolist())
    assert set(cloir.split.val.tolist()) <= set(parts["valid"].tolist())
    assert set(cloir.split.train.tolist()) <= set(parts["train"].tolist())
    again = evaluate_cloir_run(tmp_path / "cloir", split="published")
    assert again["matches_saved"] is True and again["model"] == cloir.metrics["model"]
    # A stratified run trained on some of the published test works: refused.
    train_cloir(world, {"epochs": 1, "threads": 1, "n": 3}, out=tmp_path / "strat", progress=False)
    with pytest.raises(InputError, match="was trained on"):
        evaluate_cloir_run(tmp_path / "strat", split="published")


def test_cloir_split_published_on_a_graph_without_one(small_world, tmp_path):
    r = cli("train", "cloir", small_world, "--out", tmp_path / "c", "--split", "published", "--quiet")
    lines = r.stderr.strip().splitlines()
    assert r.returncode == 2 and len(lines) == 1 and "no published split" in lines[0], r.stderr
