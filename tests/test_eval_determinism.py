"""Evaluation does not depend on sampling: `artkg eval` reproduces metrics.json exactly for
full-batch and neighbour-sampler runs, validation of sampled runs is deterministic, and layer-wise
inference equals the full-graph forward pass; runs evaluated on an updated graph where some
artworks lost their label leave those artworks out and say how many."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from artkg.kg.graph import load_graph
from artkg.models.run import evaluate_run, load_run
from artkg.models.train import train
from artkg.models.train_config import TrainConfig
from artkg.models.train_loop import Trainer

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))
from _common import write_synthetic_features  # noqa: E402

TINY = {"epochs": 2, "batch_size": 64, "threads": 1, "gnn_kwargs": {"layers": 2, "hidden": 16, "dropout": 0.1},
        "model_kwargs": {"embed_dim": 16}, "patience": 0, "num_neighbors": [4, 3]}


@pytest.fixture(scope="module", autouse=True)
def one_thread(torch_one_thread):
    yield


@pytest.fixture(scope="module")
def world(small_world, tmp_path_factory) -> Path:
    out = Path(shutil.copytree(small_world, tmp_path_factory.mktemp("det") / "world",
                               ignore=shutil.ignore_patterns("store")))
    write_synthetic_features(out, dim=24, seed=1, signal=1.0)
    return out


@pytest.fixture(scope="module")
def runs(world, tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("det_runs")
    out = {}
    for name, extra in (("full", {"sampler": "full"}),
                        ("neighbor", {"sampler": "auto", "full_batch_limit": 10}),  # the automatic switch
                        ("multi", {"sampler": "neighbor", "tasks": ["style", "genre"], "unseen_fraction": 0.2})):
        result = train(world, TrainConfig.from_dict({**TINY, **extra}), out=root / name, progress=False)
        assert result.metrics["training"]["sampler"] == ("full" if name == "full" else "neighbor")
        out[name] = root / name
    return out


def _figures(metrics: dict) -> dict:
    return {(task, part, key): values[key] for task, parts in metrics.items() if isinstance(parts, dict)
            and task not in ("training", "skipped") for part, values in parts.items() if isinstance(values, dict)
            for key in ("top1", "macro_f1", "n") if key in values}


@pytest.mark.parametrize("name", ["full", "neighbor", "multi"])
def test_eval_reproduces_metrics_json_exactly(runs, name):
    saved = json.loads((runs[name] / "metrics.json").read_text())
    again = evaluate_run(runs[name], device="cpu")
    assert again["matches_saved"]
    figures = _figures(again)
    assert figures and figures == _figures(saved)  # exactly, not within a tolerance
    assert _figures(evaluate_run(runs[name], device="cpu")) == figures  # and again


def test_cli_eval_of_a_sampled_run_matches(runs):
    r = subprocess.run([sys.executable, "-m", "artkg.cli", "eval", str(runs["neighbor"]), "--json"],
                       capture_output=True, text=True, cwd=REPO.parent, timeout=300)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["matches_saved"] is True


def test_sampled_validation_and_outputs_do_not_depend_on_the_draw(runs, world):
    from artkg.models.run import run_training_data

    run = load_run(runs["neighbor"])
    data = run_training_data(run, load_graph(world))
    trainer = Trainer(run.model, data, run.train_config, torch.device("cpu"), False)
    assert trainer.sampler is not None
    first = trainer.validation_score()
    trainer.generator.manual_seed(12345)  # another sampling state: nothing evaluated may change
    assert trainer.validation_score() == first
    a = trainer.logits(data.split.test)["style"]
    assert len(data.split.test) > 7
    # Other chunks (7 artworks each, in reverse order), same artworks: the same logits.
    b = trainer.outputs(data.split.test.flip(0), chunk=7)["style"]["logits"].flip(0)
    assert torch.allclose(a, b, atol=1e-6, rtol=0) and torch.equal(a.argmax(1), b.argmax(1))


def test_layerwise_inference_equals_the_full_forward_pass(runs, world):
    from artkg.models.classifier import GraphInputs
    from artkg.models.run import run_training_data

    run = load_run(runs["neighbor"])
    data = run_training_data(run, load_graph(world))
    model = run.model.eval()
    graph = GraphInputs(data.x_dict, data.edges)
    with torch.no_grad():
        full = model.node_embeddings(graph)
        for chunk in (7, 100_000):
            layered = model.inference_embeddings(graph, chunk=chunk)
            for t in full:
                assert torch.allclose(full[t], layered[t], atol=1e-5), t


def test_finalized_classes_are_the_inference_classes(runs, world):
    from artkg.models.run import run_training_data

    run = load_run(runs["neighbor"])
    data = run_training_data(run, load_graph(world))
    trainer = Trainer(run.model, data, run.train_config, torch.device("cpu"), False)
    h = trainer.inference_embeddings()
    with torch.no_grad():
        classes = run.model.class_embeddings(h, {})["style"]
    assert torch.allclose(classes, run.model.classes_style, atol=1e-6)


# ------------------------------------------------------------------ an updated graph where some labels are gone
def test_eval_on_a_graph_where_split_artworks_lost_their_label(runs, world, tmp_path):
    from artkg.kg.builders import build_graph
    from artkg.kg.schema import AKG

    split = json.loads((runs["full"] / "split.json").read_text())
    graph = load_graph(world)
    artworks = list(graph.iris["artwork"])
    lose = {artworks[i] for i in split["test"][:5] + split["val"][:2]}
    kept, dropped = [], 0
    for line in (world / "graph.nt").read_text(encoding="utf-8").splitlines(keepends=True):
        parts = line.split(" ", 3)
        if len(parts) == 4 and parts[1] == f"<{AKG}style>" and parts[0][1:-1] in lose:
            dropped += 1
            continue
        kept.append(line)
    assert dropped == 7
    edited = tmp_path / "edited.nt"
    edited.write_text("".join(kept), encoding="utf-8")
    build_graph("rdf", tmp_path / "graph", path=edited, build_store=False)
    shutil.copytree(world / "features", tmp_path / "graph" / "features")
    r = subprocess.run([sys.executable, "-m", "artkg.cli", "eval", str(runs["full"]), "--graph",
                        str(tmp_path / "graph"), "--json"], capture_output=True, text=True, cwd=REPO.parent,
                       timeout=300)
    assert r.returncode == 0, r.stderr
    metrics = json.loads(r.stdout)
    assert metrics["style"]["unlabelled_left_out"] == {"val": 2, "test": 5}
    assert metrics["style"]["test"]["n"] == len(split["test"]) - 5
    assert metrics["style"]["val"]["n"] == len(split["val"]) - 2
    text = subprocess.run([sys.executable, "-m", "artkg.cli", "eval", str(runs["full"]), "--graph",
                           str(tmp_path / "graph")], capture_output=True, text=True, cwd=REPO.parent, timeout=300)
    assert text.returncode == 0 and "5 artworks left out: no style label" in text.stdout, text.stderr


@pytest.mark.parametrize("gnn", ["sage", "gat"])
def test_layerwise_inference_of_each_gnn(runs, world, gnn):
    from artkg.models.gnn import make_gnn
    from artkg.models.run import run_training_data

    data = run_training_data(load_run(runs["neighbor"]), load_graph(world))
    torch.manual_seed(0)
    model = make_gnn(gnn, {"layers": 3, "hidden": 16, "norm": "layer"}, metadata=data.metadata,
                     num_nodes=data.num_nodes, in_dims=data.in_dims).eval()
    with torch.no_grad():
        full = model(data.x_dict, data.edges)
        layered = model.inference(data.x_dict, data.edges, chunk=50)
    assert set(full) == set(layered)
    for t in full:
        assert torch.allclose(full[t], layered[t], atol=1e-5), t
