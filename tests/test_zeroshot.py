"""Strict zero-shot: no label of a held-out class anywhere in what the model sees (issue 14 §1).

Black-box check: a strict run predicts exactly the same on a graph from which every label triple of
its held-out classes was deleted; a transductive run does not. Plus the single place that decides
(:class:`~artkg.models.visibility.Visibility`), the mode's validation and the offline world's class
descriptions and class-to-class relations.
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

from artkg.kg.builders import build_graph
from artkg.kg.errors import InputError
from artkg.kg.graph import load_graph
from artkg.kg.schema import AKG
from artkg.models.data import TrainingData
from artkg.models.features import extract_features, node_texts
from artkg.models.features_cache import feature_meta, load_features
from artkg.models.run import load_run, run_training_data
from artkg.models.train import train
from artkg.models.train_config import TrainConfig
from artkg.models.train_loop import Trainer

FAST = {"epochs": 3, "batch_size": 128, "threads": 1, "gnn_kwargs": {"layers": 2, "hidden": 32, "dropout": 0.1},
        "model_kwargs": {"embed_dim": 32}, "patience": 0, "seed": 1, "unseen_fraction": 0.34}
STYLE, REV = ("artwork", "style", "style"), ("style", "rev_style", "artwork")


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def world(small_world, tmp_path_factory) -> Path:
    out = Path(shutil.copytree(small_world, tmp_path_factory.mktemp("zs") / "world",
                               ignore=shutil.ignore_patterns("store")))
    extract_features(out, "efficientnet_lite", {"image_size": 32}, "minilm", batch_size=128, device="cpu",
                     progress=False)
    return out


def data_for(world, tasks=("style",), **kwargs) -> TrainingData:
    feats, mask = load_features(world, "image")
    return TrainingData(load_graph(world), list(tasks), feats, mask, feature_meta(world, "image"), **kwargs)


def held_out_edges(edges: dict, key, unseen: list[int]) -> int:
    ei = edges[key]
    return int(torch.isin(ei[1], torch.tensor(unseen)).sum())


# ------------------------------------------------------------------ the one decision
def test_strict_hides_every_label_of_held_out_classes_transductive_only_from_the_loss(world):
    strict = data_for(world, seed=1, unseen_fraction=0.34)
    trans = data_for(world, seed=1, unseen_fraction=0.34, unseen_mode="transductive")
    unseen = strict.split.unseen_classes["style"]
    assert unseen == trans.split.unseen_classes["style"] and strict.visibility.mode == "strict"
    task = strict.tasks[0]
    # Message passing: no artwork → held-out style edge (nor reverse) in strict mode.
    assert held_out_edges(strict.edges, STYLE, unseen) == 0
    assert not torch.isin(strict.edges[REV][0], torch.tensor(unseen)).any()
    assert held_out_edges(trans.edges, STYLE, unseen) > 0
    # The other label edges are the same: training artworks' edges to seen classes.
    seen_edges = lambda d: d.edges[STYLE][:, ~torch.isin(d.edges[STYLE][1], torch.tensor(unseen))]  # noqa: E731
    assert torch.equal(seen_edges(strict), seen_edges(trans))
    # Held-out class nodes keep their other relations (part of a movement, related styles).
    part_of = strict.edges[("style", "part_of", "movement")]
    related = strict.edges[("style", "related_to", "style")]
    for c in unseen:
        assert (part_of[0] == c).any() and ((related[0] == c) | (related[1] == c)).any()
    # Label propagation: never any mass on a held-out class, even with the transductive graph's edges.
    everyone = torch.arange(strict.num_artworks)
    assert float(strict.label_dist(strict.edges, everyone)["style"][:, unseen].sum()) == 0
    assert float(strict.label_dist(trans.edges, everyone)["style"][:, unseen].sum()) == 0
    assert float(trans.label_dist(trans.edges, everyone)["style"][:, unseen].sum()) > 0
    # Calibration prior: the classes' share (strict) vs the training labels' share (transductive).
    prior, source = strict.visibility.calibration_prior(task)
    assert prior == pytest.approx(len(unseen) / task.num_classes) and "uniform" in source
    known = task.labels[strict.split.train]
    share = float(torch.isin(known, torch.tensor(unseen)).float().mean())
    assert trans.visibility.calibration_prior(trans.tasks[0]) == (pytest.approx(share), "training labels")
    assert share != pytest.approx(prior)
    # Loss and early stopping read seen labels only, in both modes.
    for d in (strict, trans):
        seen = d.seen(d.tasks[0])
        assert not torch.isin(task.labels[seen], torch.tensor(unseen)).any()
        assert int(seen.sum()) == int(((task.labels >= 0) & ~torch.isin(task.labels, torch.tensor(unseen))).sum())


def test_strict_hides_inherited_artist_labels(world):
    """Movement labels come through the artist: strict removes artist → held-out movement edges too."""
    key = ("artist", "movement", "movement")
    strict = data_for(world, tasks=("movement",), seed=0, unseen_fraction=0.34)
    trans = data_for(world, tasks=("movement",), seed=0, unseen_fraction=0.34, unseen_mode="transductive")
    unseen = strict.split.unseen_classes["movement"]
    assert key in strict.visibility.via_keys
    assert held_out_edges(strict.edges, key, unseen) == 0 < held_out_edges(trans.edges, key, unseen)
    # Style part_of movement is a class relation, not a label: it stays.
    part_of = strict.edges[("style", "part_of", "movement")]
    assert torch.equal(part_of, trans.edges[("style", "part_of", "movement")])


def test_unseen_mode_is_validated_and_recorded(world, tmp_path):
    with pytest.raises(InputError, match="unknown zero-shot mode 'lenient'"):
        TrainConfig.from_dict({"unseen_mode": "lenient"})
    with pytest.raises(InputError, match="unknown zero-shot mode"):
        data_for(world, unseen_fraction=0.34, unseen_mode="lenient")
    exe = Path(sys.executable).parent / "artkg"
    done = subprocess.run([str(exe), "train", "graphclip", str(world), "--unseen-mode", "lenient", "--out",
                           str(tmp_path / "bad")], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "OMP_NUM_THREADS": "1"})
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2 and len(lines) == 1 and "lenient" in lines[0], done.stderr


# ------------------------------------------------------------------ black box: delete the held-out labels
def _without_held_out_labels(world: Path, unseen_iris: set[str], out: Path) -> Path:
    """The graph directory rebuilt from graph.nt minus every `akg:style` triple to a held-out style."""
    kept, dropped = [], 0
    for line in (world / "graph.nt").read_text(encoding="utf-8").splitlines(keepends=True):
        parts = line.split(" ", 3)
        if len(parts) == 4 and parts[1] == f"<{AKG}style>" and parts[2][1:-1] in unseen_iris:
            dropped += 1
            continue
        kept.append(line)
    assert dropped > 0
    edited = out / "edited.nt"
    edited.write_text("".join(kept), encoding="utf-8")
    build_graph("rdf", out / "graph", path=edited, build_store=False)
    shutil.copytree(world / "features", out / "graph" / "features")
    return out / "graph"


def _logits(run_dir: Path, graph_dir: Path) -> tuple[torch.Tensor, TrainingData]:
    run = load_run(run_dir)
    data = run_training_data(run, load_graph(graph_dir))
    trainer = Trainer(run.model, data, run.train_config, torch.device("cpu"), False)
    nodes = torch.cat([data.split.val, data.split.test])
    return trainer.outputs(nodes)["style"]["logits"], data


@pytest.mark.parametrize("mode", ["strict", "transductive"])
def test_deleting_held_out_label_triples_changes_nothing_in_strict_mode(world, tmp_path, mode):
    run_dir = tmp_path / "run"
    result = train(world, TrainConfig.from_dict({**FAST, "unseen_mode": mode}), out=run_dir, progress=False)
    assert result.metrics["training"]["zero_shot"]["mode"] == mode
    assert json.loads((run_dir / "config.json").read_text())["train"]["unseen_mode"] == mode
    unseen = result.data.split.unseen_classes["style"]
    iris = {result.data.tasks[0].class_iris[c] for c in unseen}
    # The calibration's prior comes from the same decision (strict: no held-out label read).
    prior, source = result.data.visibility.calibration_prior(result.data.tasks[0])
    assert result.metrics["training"]["calibration"]["style"]["prior"] == round(prior, 4)
    assert (source == "uniform over classes") == (mode == "strict")
    edited = _without_held_out_labels(world, iris, tmp_path)
    before, original = _logits(run_dir, world)
    after, data = _logits(run_dir, edited)
    assert load_graph(edited).manifest["id_map_hash"] == load_graph(world).manifest["id_map_hash"]
    # The edited graph really lost those labels: every artwork of a held-out style is unlabelled now.
    lost = torch.isin(original.tasks[0].labels, torch.tensor(unseen))
    assert lost.any() and bool((data.tasks[0].labels[lost] == -1).all())
    nodes = torch.cat([original.split.val, original.split.test])
    held_out = torch.isin(original.tasks[0].labels[nodes], torch.tensor(unseen))
    assert held_out.any()
    if mode == "strict":  # identical predictions, for held-out-class artworks and all the others
        assert torch.equal(before, after)
        assert torch.equal(before[held_out].argmax(1), after[held_out].argmax(1))
        # `artkg eval` against the edited graph: the works that kept their labels score as saved.
        exe = Path(sys.executable).parent / "artkg"
        done = subprocess.run([str(exe), "eval", str(run_dir), "--graph", str(edited), "--json"], capture_output=True,
                              text=True, timeout=300, env={**os.environ, "OMP_NUM_THREADS": "1"})
        assert done.returncode == 0, done.stderr
        again, saved = json.loads(done.stdout)["style"], result.metrics["style"]
        assert again["test_seen"]["top1"] == saved["test_seen"]["top1"]
        assert again["test_seen"]["n"] == saved["test_seen"]["n"] > 0
    else:  # the transductive model read those labels: its outputs move
        assert not torch.allclose(before[held_out], after[held_out])


@pytest.mark.parametrize("mode", ["strict", "transductive"])
def test_training_reads_no_held_out_label_in_strict_mode(world, mode):
    """White-box retraining: erase every held-out-class label (train, val and test artworks) after the
    split is drawn, then train, stop early and calibrate again from the same seed. A strict run ends in
    bit-identical weights, calibration and best epoch; a transductive run reads those labels (its
    calibration prior comes from them), so it does not."""
    from artkg.models.train import make_model, seed_everything
    from artkg.models.zoo import model_class

    config = TrainConfig.from_dict({**FAST, "unseen_mode": mode, "epochs": 2, "eval_every": 1})

    def fit(erase: bool):
        data = data_for(world, seed=1, unseen_fraction=0.34, unseen_mode=mode)
        data.text_meta = None
        unseen = torch.tensor(data.split.unseen_classes["style"])
        labels = data.tasks[0].labels
        held_out = torch.isin(labels, unseen)
        assert held_out[data.split.train].any() and held_out[data.split.val].any()
        if erase:
            labels[held_out] = -1
        seed_everything(config.seed)
        model = make_model(model_class("graphclip"), data, config)
        trainer = Trainer(model, data, config, torch.device("cpu"), False)
        trainer.fit()
        calibration = trainer.calibrate()
        return {k: v.clone() for k, v in model.state_dict().items()}, calibration, trainer.best_epoch

    weights, calibration, best = fit(erase=False)
    weights2, calibration2, best2 = fit(erase=True)
    same_weights = weights.keys() == weights2.keys() and all(torch.equal(weights[k], weights2[k]) for k in weights)
    if mode == "strict":
        assert same_weights and calibration == calibration2 and best == best2
    else:
        assert not same_weights and calibration != calibration2


# ------------------------------------------------------------------ what the offline world gives classes
def test_offline_world_classes_have_descriptions_and_relations(world):
    graph = load_graph(world)
    truth = json.loads((world / "ground_truth.json").read_text(encoding="utf-8"))
    texts = node_texts(graph)
    part_of = graph.edge_index(("style", "part_of", "movement"))
    related = graph.edge_index(("style", "related_to", "style"))
    hue_hits = 0
    for i, style in enumerate(truth["styles"]):
        assert graph.iris["style"][i] == style["iri"]
        description = graph.descriptions["style"][i]
        assert description.startswith("synthetic painting style:") and description in texts["style"][i]
        hue_hits += style["words"]["hue"] in description
        assert graph.iris["movement"][int(part_of[1][part_of[0] == i])] == style["part_of"]
        assert sorted(graph.iris["style"][j] for j in related[1][related[0] == i].tolist()) == style["related"]
        # the movement is the one whose centroid is nearest the style's prototype
        centroids = torch.tensor([m["centroid"] for m in truth["movements"]])
        nearest = int((centroids @ torch.tensor(style["prototype"])).argmax())
        assert truth["movements"][nearest]["iri"] == style["part_of"]
    assert hue_hits >= len(truth["styles"]) // 2  # noisy, but mostly the prototype's hue
    descs = [graph.descriptions["style"][i] for i in range(graph.num_nodes("style"))]
    assert len(set(descs)) == len(descs)  # the text tells the styles apart


def test_class_dropout_hides_a_share_of_seen_classes_in_training_steps_only(world):
    from artkg.models.train import make_model
    from artkg.models.zoo import model_class

    data = data_for(world, seed=1, unseen_fraction=0.34)
    config = TrainConfig.from_dict({**FAST, "class_dropout": 0.5})
    trainer = Trainer(make_model(model_class("graphclip"), data, config), data, config, torch.device("cpu"), False)
    seen = trainer.seen_classes["style"]
    targets = data.trainable()[:64]
    batch = trainer.batch(targets, targets)
    present = set(batch.graph.edge_index_dict[STYLE][1].tolist())
    hidden = set(seen.tolist()) - present
    assert len(hidden) == round(0.5 * len(seen))  # half the seen styles lost every label edge this step
    dist = batch.label_dist["style"]
    assert float(dist[:, sorted(hidden)].sum()) == 0 and float(dist.sum()) > 0
    # Evaluation batches are never touched.
    assert torch.equal(trainer.batch(data.split.test).graph.edge_index_dict[STYLE], data.edges[STYLE])
    with pytest.raises(InputError, match="class_dropout"):
        TrainConfig.from_dict({"class_dropout": 1.0})


def test_neighbor_sampler_batches_are_strict_too(world):
    from artkg.models.train import make_model
    from artkg.models.zoo import model_class

    data = data_for(world, seed=1, unseen_fraction=0.34)
    unseen = torch.tensor(data.split.unseen_classes["style"])
    config = TrainConfig.from_dict({**FAST, "sampler": "neighbor", "label_trick": True})
    trainer = Trainer(make_model(model_class("graphclip"), data, config), data, config, torch.device("cpu"), False)
    assert trainer.sampler_kind == "neighbor"
    for nodes, targets in ((data.trainable()[:64], data.trainable()[:64]), (data.split.test, None)):
        batch = trainer.batch(nodes, targets)
        n_id = batch.graph.n_id_dict["style"]
        for key, col in ((STYLE, 1), (REV, 0)):
            ei = batch.graph.edge_index_dict[key]
            assert ei.shape[1] > 0 and not torch.isin(n_id[ei[col]], unseen).any()
        assert float(batch.label_dist["style"][:, unseen].sum()) == 0
    with pytest.raises(InputError, match="class_dropout works on the whole graph only"):
        config = TrainConfig.from_dict({**FAST, "sampler": "neighbor", "class_dropout": 0.25})
        Trainer(make_model(model_class("graphclip"), data, config), data, config, torch.device("cpu"), False)
