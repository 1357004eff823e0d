"""Training GraphCLIP and its baselines: run directories, eval, predict, leakage, zero-shot, errors.

Real features throughout (EfficientNet-Lite0 at 32 px, MiniLM) on the 120-artist test world, with
few epochs: these tests check the machinery, `examples/train_offline_world.py` the accuracy.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from artkg.kg.builders import build_graph
from artkg.kg.errors import InputError, NotFoundError
from artkg.kg.graph import load_graph
from artkg.models.data import TrainingData
from artkg.models.features import extract_features
from artkg.models.features_cache import feature_meta, load_features
from artkg.models.metrics import classification_metrics
from artkg.models.run import FORMAT_VERSION, evaluate_run, load_run, predict_images
from artkg.models.train import make_model, train
from artkg.models.train_config import TrainConfig
from artkg.models.train_loop import Trainer
from artkg.models.zoo import model_class
from _paintings import read_paintings, write_paintings_ntriples
from conftest import shared

LITE32 = {"image_size": 32}
FAST = {"epochs": 3, "batch_size": 128, "threads": 1, "gnn_kwargs": {"layers": 2, "hidden": 32, "dropout": 0.1},
        "model_kwargs": {"embed_dim": 32}, "patience": 0}


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    # Small shared machines: one intra-op thread avoids OpenMP spin-waits fighting other processes.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def world(small_world, tmp_path_factory) -> Path:
    """A private copy of the session world with image (32 px) and text features."""
    out = Path(shutil.copytree(small_world, tmp_path_factory.mktemp("train") / "world",
                               ignore=shutil.ignore_patterns("store")))
    extract_features(out, "efficientnet_lite", LITE32, "minilm", batch_size=128, device="cpu", progress=False)
    return out


@pytest.fixture(scope="module")
def run_dir(world, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("runs") / "graphclip"
    train(world, TrainConfig.from_dict({**FAST, "model": "graphclip", "tasks": ["style"]}), out=out, progress=False)
    return out


def data_for(world, tasks=("style",), **kwargs) -> TrainingData:
    graph = load_graph(world)
    meta = feature_meta(world, "image")
    feats, mask = load_features(world, "image")
    return TrainingData(graph, list(tasks), feats, mask, meta, **kwargs)


def artkg_cli(*args) -> subprocess.CompletedProcess:
    exe = Path(sys.executable).parent / "artkg"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run([str(exe), *map(str, args)], capture_output=True, text=True, timeout=300, env=env)


# ------------------------------------------------------------------ run directory, eval, predict
def test_training_writes_a_run_directory_that_eval_reproduces(run_dir):
    assert {p.name for p in run_dir.iterdir()} >= {"config.json", "model.safetensors", "split.json", "metrics.json",
                                                  "history.json"}
    config = json.loads((run_dir / "config.json").read_text())
    assert config["format_version"] == FORMAT_VERSION and config["artkg_version"]
    assert config["model"] == "graphclip" and config["train"]["tasks"] == ["style"]
    assert config["features"]["image"]["encoder"] == "efficientnet_lite"
    assert config["features"]["image"]["encoder_kwargs"] == LITE32
    metrics = json.loads((run_dir / "metrics.json").read_text())
    test = metrics["style"]["test"]
    assert {"top1", "top5", "macro_f1", "per_class", "n", "chance"} <= set(test)
    assert len(test["per_class"]) == len(config["tasks"]["style"]["classes"])
    assert test["top1"] > 1.5 * test["chance"]  # three epochs already learn something
    split = json.loads((run_dir / "split.json").read_text())
    assert not set(split["train"]) & set(split["test"]) and not set(split["val"]) & set(split["test"])
    # Loading reads safetensors + JSON only; eval recomputes the same numbers from the graph.
    again = evaluate_run(run_dir, device="cpu")
    assert again["matches_saved"]
    assert again["style"]["test"]["top1"] == pytest.approx(test["top1"], abs=1e-4)
    assert again["style"]["val"]["macro_f1"] == pytest.approx(metrics["style"]["val"]["macro_f1"], abs=1e-4)


def test_predict_a_world_image(run_dir, world):
    run = load_run(run_dir)
    png = sorted((world / "images").glob("*.png"))[0]
    (result,) = predict_images(run, [png], top_k=3)
    preds = result["predictions"]["style"]
    assert len(preds) == 3 and preds[0]["score"] >= preds[1]["score"] >= preds[2]["score"]
    iris = [c["iri"] for c in run.config["tasks"]["style"]["classes"]]
    assert all(p["class"] in iris for p in preds) and 0 < sum(p["score"] for p in preds) <= 1.0001
    # The image-only path encodes exactly as `artkg features` did: same scores as from the cached row.
    graph = load_graph(world)
    row = next(i for i, iri in enumerate(graph.images) if iri.endswith("/" + png.name))
    feats, _ = load_features(world, "image")
    with torch.no_grad():
        cached = run.model.predict_features(feats[row:row + 1])["style"].softmax(-1)[0]
    assert cached.max().item() == pytest.approx(preds[0]["score"], abs=2e-3)


def test_paintings_features_and_predict_end_to_end(run_dir, tmp_path):
    """The 111 real paintings: `artkg features` builds their features, `artkg predict` (a run trained
    on the offline world) ranks styles for every file."""
    rows = read_paintings(shared("paintings"))
    graph_dir = tmp_path / "paintings"
    build_graph("rdf", graph_dir, path=write_paintings_ntriples(rows, tmp_path / "p.nt"), build_store=False)
    done = artkg_cli("features", graph_dir, "--image-encoder-kwargs", json.dumps(LITE32), "--text-encoder", "none",
                     "--device", "cpu", "-q")
    assert done.returncode == 0, done.stderr
    files = sorted(str(r["path"]) for r in rows)
    done = artkg_cli("predict", run_dir, *files, "--top-k", "2", "--json")
    assert done.returncode == 0, done.stderr
    results = json.loads(done.stdout)
    assert len(results) == len(files) == 111 and all(len(r["predictions"]["style"]) == 2 for r in results)
    # Same encoder, same preprocessing: predict agrees with the paintings' cached features.
    run, graph = load_run(run_dir), load_graph(graph_dir)
    feats, mask = load_features(graph_dir, "image")
    assert bool(mask.all())
    by_path = {str(Path(r["image"])): r for r in results}
    path_of = {r["iri"]: str(r["path"]) for r in rows}
    with torch.no_grad():
        top = run.model.predict_features(feats)["style"].argmax(1)
    names = [c["iri"] for c in run.config["tasks"]["style"]["classes"]]
    agree = sum(by_path[path_of[iri]]["predictions"]["style"][0]["class"] == names[top[i]]
                for i, iri in enumerate(graph.iris["artwork"]))
    assert agree >= 109  # float noise may flip a near tie


def test_cli_train_eval_predict(world, tmp_path):
    run = tmp_path / "run"
    done = artkg_cli("train", "image_head", world, "--task", "style", "--epochs", "2", "--seed", "3", "--threads", "1",
                     "--out", run, "--json", "-q")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["run"] == str(run) and report["metrics"]["style"]["test"]["n"] > 0
    assert json.loads((run / "config.json").read_text())["train"]["seed"] == 3
    done = artkg_cli("eval", run)
    assert done.returncode == 0 and "metrics match metrics.json" in done.stdout, done.stderr
    png = sorted((world / "images").glob("*.png"))[1]
    done = artkg_cli("predict", run, png, "--top-k", "2")
    assert done.returncode == 0 and done.stdout.startswith(str(png)) and "style:" in done.stdout, done.stderr


# ------------------------------------------------------------------ the graph the GNN sees
def test_leakage_rule_removes_non_training_label_edges(world):
    data = data_for(world, seed=0)
    key, rev = ("artwork", "style", "style"), ("style", "rev_style", "artwork")
    graph = load_graph(world)
    assert graph.edge_index(key).shape[1] == graph.num_nodes("artwork")  # every artwork has a style
    labelled = set(data.edges[key][0].tolist())
    held_out = set(data.split.val.tolist()) | set(data.split.test.tolist())
    assert labelled == set(data.split.train.tolist()) and not labelled & held_out
    assert set(data.edges[rev][1].tolist()) == labelled  # reverse edges follow
    # Other edges of held-out artworks stay (their genre is not the style task's label).
    assert set(data.edges[("artwork", "genre", "genre")][0].tolist()) >= held_out
    # The label trick: a training step's targets lose their own label edges too.
    targets = data.split.train[:50]
    masked = data.masked_edges(targets)
    assert not set(masked[key][0].tolist()) & set(targets.tolist())
    assert not set(masked[rev][1].tolist()) & set(targets.tolist())
    # An artwork's label context never counts its own label: the artist's distribution without it.
    dist = data.label_dist(masked, targets)["style"]
    own = data.tasks[0].labels[targets]
    artist_of = data.artist_of
    for i, art in enumerate(targets.tolist()):
        others = [w for w in data.split.train.tolist() if artist_of[w] == artist_of[art] and w not in set(targets.tolist())]
        expected = torch.bincount(data.tasks[0].labels[others], minlength=dist.shape[1]).float()
        expected = expected / expected.sum() if others else expected
        assert torch.allclose(dist[i], expected), (art, own[i])


def test_label_trick_switch(world):
    """With ``label_trick`` a training step's own artworks lose their label edges; without, they keep them."""
    data = data_for(world)
    targets = data.split.train[:40]
    key = ("artwork", "style", "style")
    for trick in (True, False):
        config = TrainConfig.from_dict({**FAST, "label_trick": trick})
        trainer = Trainer(make_model(model_class("graphclip"), data, config), data, config, torch.device("cpu"), False)
        edges = trainer.batch(targets, targets).graph.edge_index_dict[key]
        assert bool(torch.isin(targets, edges[0]).any()) is not trick
        # Evaluation batches never hide training labels, and never show held-out ones.
        assert trainer.batch(data.split.test).graph.edge_index_dict[key].shape == data.edges[key].shape


def test_zero_shot_split_hides_classes_from_training_but_keeps_their_nodes(world):
    data = data_for(world, seed=1, unseen_fraction=0.34)
    unseen = data.split.unseen_classes["style"]
    task = data.tasks[0]
    assert len(unseen) == 2 and task.num_classes == 6
    trainable = data.trainable()
    assert not torch.isin(task.labels[trainable], torch.tensor(unseen)).any()  # never a training label
    assert torch.isin(task.labels[data.split.test], torch.tensor(unseen)).any()  # but tested
    # Strict (the default): their class nodes have no label edge at all; transductive: they keep their
    # edges to training-split artworks (tests/test_zeroshot.py has the black-box check).
    rev = data.edges[("style", "rev_style", "artwork")]
    assert not torch.isin(rev[0], torch.tensor(unseen)).any()
    rev = data_for(world, seed=1, unseen_fraction=0.34, unseen_mode="transductive").edges[("style", "rev_style", "artwork")]
    for c in unseen:
        linked = rev[1][rev[0] == c]
        assert len(linked) > 0 and set(linked.tolist()) <= set(data.split.train.tolist())
    result = train(world, TrainConfig.from_dict({**FAST, "seed": 1, "unseen_fraction": 0.34}), progress=False)
    metrics = result.metrics["style"]
    assert metrics["test_unseen"]["n"] + metrics["test_seen"]["n"] == metrics["test"]["n"]
    assert "calibration" in result.metrics["training"]
    # The loss never scores the held-out classes (not even as competitors).
    trainer = Trainer(result.model, result.data, result.config, torch.device("cpu"), False)
    assert not set(trainer.seen_classes["style"].tolist()) & set(unseen)


def test_unseen_classes_by_name(world):
    graph = load_graph(world)
    name = graph.labels["style"][2]
    data = data_for(world, unseen_classes={"style": [name]})
    assert data.split.unseen_classes == {"style": [2]}
    with pytest.raises(NotFoundError, match="no style 'Style 99'"):
        data_for(world, unseen_classes={"style": ["Style 99"]})


def test_multi_task_loss_is_the_weighted_sum(world):
    config = TrainConfig.from_dict({**FAST, "model": "linear_probe", "model_kwargs": {}, "tasks": ["style", "genre"],
                                    "task_weights": [1.0, 0.5], "epochs": 1})
    result = train(world, config, progress=False)
    assert set(result.metrics) >= {"style", "genre"}
    trainer = Trainer(result.model, result.data, config, torch.device("cpu"), False)
    targets = result.data.split.train[:64]
    out = result.model(trainer.batch(targets))
    style, genre = (t.labels[targets] for t in result.data.tasks)
    expected = F.cross_entropy(out["style"]["logits"], style) + 0.5 * F.cross_entropy(out["genre"]["logits"], genre)
    assert trainer.loss(out, targets).item() == pytest.approx(expected.item(), rel=1e-5)


# ------------------------------------------------------------------ models and samplers
@pytest.mark.parametrize("model", ["prototype", "image_head", "linear_probe"])
def test_baselines_train_and_reload(world, tmp_path, model):
    result = train(world, TrainConfig.from_dict({**FAST, "model": model, "model_kwargs": {}}), out=tmp_path / model,
                   progress=False)
    assert result.metrics["style"]["test"]["top1"] > result.metrics["style"]["test"]["chance"]
    assert evaluate_run(tmp_path / model, device="cpu")["matches_saved"]


def test_gat_three_layers_mini_batch(world):
    """GATv2, 3 layers, with the torch-only neighbour sampler instead of full-graph passes."""
    config = TrainConfig.from_dict({**FAST, "gnn": "gat", "sampler": "neighbor", "num_neighbors": [8, 4, 2],
                                    "gnn_kwargs": {"layers": 3, "hidden": 32, "heads": 2},
                                    "model_kwargs": {"embed_dim": 32, "context": True, "label_mode": "mlp"}})
    result = train(world, config, progress=False)
    assert result.metrics["training"]["sampler"] == "neighbor"
    assert result.model.gnn.layers == 3 and type(result.model.gnn).__name__ == "GAT"
    assert result.metrics["style"]["test"]["top1"] > result.metrics["style"]["test"]["chance"]


def test_neighbor_sampler_respects_the_fan_out(world):
    from artkg.models.sampler import NeighborSampler

    data = data_for(world)
    sampler = NeighborSampler(data.edges, data.num_nodes, [3, 2])
    seeds = {"artwork": torch.tensor([5, 1, 9]), "style": torch.arange(6)}
    n_id, edges = sampler.sample(seeds, torch.Generator().manual_seed(0))
    assert n_id["artwork"][:3].tolist() == [5, 1, 9] and n_id["style"][:6].tolist() == list(range(6))
    for key, ei in edges.items():
        if ei.shape[1] == 0:
            continue
        src, dst = n_id[key[0]][ei[0]], n_id[key[2]][ei[1]]
        full = data.edges[key]
        assert set(zip(src.tolist(), dst.tolist())) <= set(zip(full[0].tolist(), full[1].tolist()))
        assert torch.bincount(ei[1]).max() <= 3  # at most k incoming edges per node and type
    for ids in n_id.values():
        assert len(set(ids.tolist())) == len(ids)
    assert all((sampler._local[t] == -1).all() for t in sampler._local)  # scratch space is reset


def test_image_tower_is_unfrozen_and_saved(world, tmp_path):
    config = TrainConfig.from_dict({**FAST, "epochs": 2, "model": "image_head", "model_kwargs": {},
                                    "image_tower": {"unfreeze_epoch": 2, "stages": 2, "lr_scale": 0.5}})
    result = train(world, config, out=tmp_path / "tower", progress=False)
    tower = result.model.image_tower
    assert tower is not None and any(p.requires_grad for p in tower.parameters())
    run = load_run(tmp_path / "tower")
    assert run.config["tower_trained"] and run.model.image_tower is not None
    for (name, a), b in zip(tower.state_dict().items(), run.model.image_tower.state_dict().values()):
        assert torch.equal(a, b), name
    png = sorted((world / "images").glob("*.png"))[2]
    assert predict_images(run, [png], top_k=1)[0]["predictions"]["style"][0]["score"] > 0


# ------------------------------------------------------------------ metrics, registries, configs
def test_metrics_against_a_hand_computed_case():
    logits = torch.tensor([[3.0, 2.0, 1.0], [1.0, 3.0, 2.0], [1.0, 2.0, 3.0], [3.0, 2.0, 1.0], [1.0, 3.0, 2.0]])
    target = torch.tensor([0, 1, 1, 2, 2])  # argmax 0, 1, 2, 0, 1: rows 1 and 2 right
    m = classification_metrics(logits, target, ["a", "b", "c"], top_k=2)
    assert m["n"] == 5 and m["top1"] == pytest.approx(0.4)
    assert m["top2"] == pytest.approx(0.8)  # top-2 sets {0,1} {1,2} {2,1} {0,1} {1,2}: only row 4 misses
    # F1 per class: a: P=1/2 R=1 → 2/3; b: P=1/2 R=1/2 → 1/2; c: P=0 R=0 → 0
    assert m["per_class"]["a"]["f1"] == pytest.approx(2 / 3, abs=1e-4)
    assert m["per_class"]["b"]["f1"] == pytest.approx(0.5) and m["per_class"]["c"]["f1"] == 0
    assert m["macro_f1"] == pytest.approx((2 / 3 + 0.5 + 0) / 3, abs=1e-4)
    assert m["per_class"]["b"] == {"support": 2, "accuracy": 0.5, "f1": 0.5}
    assert m["chance"] == pytest.approx(1 / 3, abs=1e-4)


def test_registries_and_names():
    from artkg.models.gnn import GAT, SAGE, gnn_resolver, make_gnn
    from artkg.models.zoo import model_resolver
    from artkg.registry import registries

    reg = registries()
    assert reg["model"] is model_resolver and reg["gnn"] is gnn_resolver
    assert set(model_resolver.lookup_dict) == {"graphclip", "prototype", "linearprobe", "imagehead"}
    for name in ("linear_probe", "image_head", "prototype", "GraphCLIP"):
        assert model_resolver.lookup(name).__name__ in {"LinearProbe", "ImageHeadClassifier", "PrototypeClassifier",
                                                        "GraphCLIP"}
    assert gnn_resolver.lookup("graphsage") is SAGE and gnn_resolver.lookup("gatv2") is GAT
    with pytest.raises(InputError, match="unknown GNN 'gcn'.*gat, sage"):
        make_gnn("gcn", metadata=(["a"], []), num_nodes={"a": 1})


def test_config_json_round_trip_and_the_paper_config(tmp_path):
    config = TrainConfig(tasks=["style", "genre"], task_weights=[1.0, 0.5], gnn="gat")
    path = tmp_path / "c.json"
    path.write_text(json.dumps(config.to_dict()))
    assert TrainConfig.from_file(path) == config
    paper = TrainConfig.from_file(Path(__file__).resolve().parents[1] / "examples/configs/graphclip_artgraph_paper.json")
    assert paper.batch_size == 256 and paper.gnn_kwargs["layers"] in (2, 3) and paper.image_tower
    with pytest.raises(InputError, match="unknown option.*lerning_rate"):
        TrainConfig.from_dict({"lerning_rate": 1})


# ------------------------------------------------------------------ errors
def test_unknown_task_lists_the_available_ones(world):
    with pytest.raises(InputError, match="unknown task 'colour'.*choose one of: .*genre.*style"):
        train(world, TrainConfig.from_dict({**FAST, "tasks": ["colour"]}), progress=False)


def test_out_must_not_overwrite_other_files(world, tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(InputError, match="is not a run directory"):
        train(world, TrainConfig.from_dict(FAST), out=tmp_path, progress=False)
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_graph_without_features_says_to_run_artkg_features(small_world):
    with pytest.raises(NotFoundError, match="no complete image features.*artkg features"):
        train(small_world, TrainConfig.from_dict(FAST), progress=False)


def test_incompatible_run_directory(run_dir, tmp_path):
    old = Path(shutil.copytree(run_dir, tmp_path / "old"))
    config = json.loads((old / "config.json").read_text())
    config["format_version"] = 0
    (old / "config.json").write_text(json.dumps(config))
    with pytest.raises(InputError, match="run format 0; this artkg .* reads format 1.*retrain"):
        load_run(old)
    done = artkg_cli("predict", old, old / "config.json")
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2 and len(lines) == 1 and "run format 0" in lines[0]
    with pytest.raises(InputError, match="not a finished run"):
        load_run(tmp_path)


# ------------------------------------------------------------------ the benchmark script
def test_offline_world_table_script_runs(tmp_path, capsys):
    """`examples/train_offline_world.py` end to end on a tiny world (the README table uses 300 artists)."""
    import importlib.util

    path = Path(__file__).resolve().parents[1] / "examples" / "train_offline_world.py"
    spec = importlib.util.spec_from_file_location("train_offline_world", path)
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    assert script.main(["--out", str(tmp_path), "--artists", "40", "--seeds", "0", "--epochs", "1",
                        "--image-size", "32", "--threads", "1", "--only", "graphclip", "prototype"]) == 0
    table = capsys.readouterr().out
    rows = [line for line in table.splitlines() if line.startswith("| ") and "setting" not in line]
    assert len(rows) == 7  # style ×2, strict zero-shot ×3 (graphclip twice), transductive ×1, multi-task ×1
    assert "--unseen-mode transductive" in table and "--class-inputs text" in table
    assert "artkg train graphclip" in table and (tmp_path / "results.json").exists()
