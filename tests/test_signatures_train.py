"""Visual signatures, trained: `artkg train signatures` fine-tunes EfficientNet-Lite (32 px) on a graph's
visual links and writes a run (pretrained and fine-tuned retrieval side by side), `artkg eval` matches
it, a killed run resumes from its checkpoint to the same end, `artkg signatures` writes a feature set,
and bad inputs stop with one line."""
from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from artkg.kg.errors import InputError

pytestmark = pytest.mark.usefixtures("torch_one_thread")

CONFIG = {"encoder": "efficientnet_lite", "encoder_kwargs": {"image_size": 32}, "epochs": 2, "first_stage_epochs": 1,
          "unfreeze_every": 1, "lr": 1e-3, "batch_size": 16, "eval_batch_size": 128, "seed": 3}


def _cli(*args: str):
    from artkg.cli import app

    return CliRunner().invoke(app, [str(a) for a in args])


def _write_links(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows([["a", "b", "kind"], *rows])
    return path


@pytest.fixture(scope="module")
def linked(tmp_path_factory) -> dict:
    """30 artists × ~4 works at 32 px; the works of each artist chained by POSITIVE / DUPLICATE links,
    NEGATIVE links between neighbouring artists; one linked work's image deleted, one corrupted."""
    from artkg.kg.builders import build_graph
    from artkg.kg.graph import load_graph
    from artkg.kg.links_import import add_links

    root = tmp_path_factory.mktemp("signatures")
    world = root / "world"
    build_graph("synth", world, artists=30, seed=7, image_size=32, works_per_artist=4, progress=False)
    kg = load_graph(world)
    work, artist = kg.edge_index(("artwork", "created_by", "artist")).numpy()
    iris = kg.iris["artwork"]
    by_artist: dict[int, list[int]] = {}
    for w, a in zip(work.tolist(), artist.tolist()):
        by_artist.setdefault(a, []).append(w)
    groups = [sorted(set(ws)) for _, ws in sorted(by_artist.items()) if len(set(ws)) > 1]
    rows = [[iris[x], iris[y], "duplicate" if g % 2 else "positive"]
            for g, ws in enumerate(groups) for x, y in zip(ws, ws[1:])]
    rows += [[iris[g1[0]], iris[g2[-1]], "negative"] for g1, g2 in zip(groups, groups[1:])]
    add_links(world, [_write_links(root / "links.csv", rows)])
    gone, corrupt = groups[0][0], groups[1][0]
    image_of = {i: world / "images" / kg.images[i].rsplit("/", 1)[-1] for i in (gone, corrupt)}
    image_of[gone].unlink()
    image_of[corrupt].write_bytes(b"not an image")
    cfg = root / "cfg.json"
    cfg.write_text(json.dumps(CONFIG), encoding="utf-8")
    return {"root": root, "world": world, "config": cfg, "gone": iris[gone], "corrupt": iris[corrupt],
            "n": kg.num_nodes("artwork"), "linked": len({w for ws in groups for w in ws})}


@pytest.fixture(scope="module")
def run(linked) -> Path:
    out = linked["root"] / "run"
    result = _cli("train", "signatures", linked["world"], "--out", out, "--config", linked["config"], "--quiet", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["run"] == str(out)
    return out


def test_train_writes_a_run_with_pretrained_and_fine_tuned_metrics(run, linked):
    from safetensors.torch import load_file

    from artkg.models.signatures.backbone import SignatureBackbone

    assert sorted(p.name for p in run.iterdir() if not p.name.startswith(".")) == [
        "config.json", "history.json", "metrics.json", "model.safetensors", "split.json"]  # no checkpoint left
    config = json.loads((run / "config.json").read_text())
    assert config["task"] == "signatures" and config["train"]["epochs"] == 2 and config["backbone"]["dim"] == 1280
    metrics = json.loads((run / "metrics.json").read_text())
    for part in ("test", "val"):
        for variant in ("pretrained", "fine_tuned"):
            m = metrics[part][variant]
            assert set(m) >= {"mAP", "mean_rank", "median_rank", *(f"recall@{k}" for k in (20, 50, 100, 200, 400))}
            assert 0 < m["mAP"] <= 1 and 1 <= m["median_rank"] <= linked["n"]
            assert m["recall@20"] <= m["recall@50"] <= m["recall@400"]
    # the deleted and the corrupt image: both works leave the collection, their links are reported
    assert metrics["skipped"]["artworks_without_image"] == 2
    assert metrics["skipped"]["positive_links_without_image"] >= 2
    assert {e["a"] for e in metrics["skipped"]["examples"]} | {e["b"] for e in metrics["skipped"]["examples"]} \
        >= {linked["gone"], linked["corrupt"]}
    split = json.loads((run / "split.json").read_text())
    assert len(split["works"]) == linked["n"] - 2 and linked["gone"] not in split["works"]
    parts = {k: set(v) for k, v in split["parts"].items()}
    assert sum(map(len, parts.values())) == len(split["works"]) and not parts["train"] & parts["test"]
    for part, pairs in split["connections"].items():  # no connection crosses parts
        assert pairs and all(a in parts[part] and b in parts[part] for a, b in pairs)
    history = json.loads((run / "history.json").read_text())
    assert [h["stages"] for h in history] == [1, 2] and all(h["triplets"] > 0 for h in history)
    assert history[0]["explicit_negatives"] > 0
    # staged unfreezing: the top stages moved, the stem (never unfrozen in 2 epochs) did not
    tuned = load_file(str(run / "model.safetensors"))
    base = SignatureBackbone("efficientnet_lite", {"image_size": 32}).state_dict()
    assert set(tuned) == set(base)
    assert not np.allclose(tuned["net._conv_head.weight"].numpy(), base["net._conv_head.weight"].numpy())
    assert np.array_equal(tuned["net._conv_stem.weight"].numpy(), base["net._conv_stem.weight"].numpy())


def test_eval_recomputes_the_same_metrics(run):
    result = _cli("eval", run, "--json", "--device", "cpu")
    assert result.exit_code == 0, result.output
    evaluated = json.loads(result.stdout)
    saved = json.loads((run / "metrics.json").read_text())
    assert evaluated["matches_saved"] is True
    assert evaluated["test"] == saved["test"] and evaluated["val"] == saved["val"]
    text = _cli("eval", run, "--device", "cpu")
    assert "metrics match metrics.json" in text.output and "fine-tuned" in text.output


def test_a_killed_run_resumes_from_its_checkpoint_and_ends_like_an_uninterrupted_one(run, linked, tmp_path):
    from safetensors.torch import load_file

    from artkg.models.signatures.train import train_signatures

    out = tmp_path / "killed"

    def kill(epoch, record):
        raise KeyboardInterrupt  # after epoch 0's checkpoint

    with pytest.raises(KeyboardInterrupt):
        train_signatures(linked["world"], CONFIG, out=out, on_epoch_end=kill)
    assert (out / "checkpoint.pt").is_file() and not (out / "config.json").exists()
    with pytest.raises(InputError, match="--resume"):  # neither resumed nor overwritten by accident
        train_signatures(linked["world"], CONFIG, out=out)
    with pytest.raises(InputError, match="another config"):
        train_signatures(linked["world"], {**CONFIG, "lr": 5e-4}, out=out, resume=True)
    seen = []
    result = train_signatures(linked["world"], CONFIG, out=out, resume=True,
                              on_epoch_end=lambda epoch, record: seen.append(epoch))
    assert seen == [1]  # only the epoch the kill cut off
    assert not (out / "checkpoint.pt").exists() and (out / "config.json").is_file()
    assert result.metrics == json.loads((run / "metrics.json").read_text())
    assert json.loads((out / "history.json").read_text())[0]["loss"] == json.loads((run / "history.json").read_text())[0]["loss"]
    a, b = load_file(str(out / "model.safetensors")), load_file(str(run / "model.safetensors"))
    assert all(np.array_equal(a[k].numpy(), b[k].numpy()) for k in a)


def test_signatures_verb_writes_an_image_feature_set(run, linked):
    from artkg.kg.graph import load_graph
    from artkg.models.features_cache import load_features

    result = _cli("signatures", run, "--json", "--quiet", "--device", "cpu")
    assert result.exit_code == 0, result.output
    meta = json.loads(result.stdout)
    assert meta["key"] == "signatures-run" and meta["encoded"] == linked["n"] - 2 and meta["skipped"] == 2
    feats, mask = load_features(linked["world"], "image", "signatures-run")
    kg = load_graph(linked["world"])
    assert feats.shape == (linked["n"], 1280) and int(mask.sum()) == linked["n"] - 2
    assert not mask[kg.index_of("artwork", linked["gone"])] and not mask[kg.index_of("artwork", linked["corrupt"])]
    norms = feats[mask].double().norm(dim=1).numpy()
    assert np.allclose(norms, 1.0, atol=1e-5) and np.all(feats[~mask].numpy() == 0)
    skipped = json.loads((Path(meta["path"]) / "skipped.json").read_text())
    assert {s["id"] for s in skipped} == {linked["gone"], linked["corrupt"]}
    again = _cli("signatures", run, "--json", "--quiet", "--device", "cpu")  # rewritten in place
    assert again.exit_code == 0 and np.array_equal(load_features(linked["world"], "image", "signatures-run")[0], feats)


def test_bad_inputs_stop_with_one_line_and_write_nothing(linked, tmp_path):
    from artkg.kg.builders import build_graph
    from artkg.kg.graph import load_graph
    from artkg.kg.links_import import add_links
    from artkg.models.signatures.train import train_signatures

    bare = tmp_path / "bare"
    build_graph("synth", bare, artists=8, seed=1, image_size=32, works_per_artist=2, progress=False)
    out = tmp_path / "out"
    result = _cli("train", "signatures", bare, "--out", out, "--config", linked["config"], "--quiet")
    assert result.exit_code == 2 and "kgbuild links" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert not out.exists()  # nothing half-written
    iris = load_graph(bare).iris["artwork"]
    add_links(bare, [_write_links(tmp_path / "neg.csv", [[iris[0], iris[1], "negative"]])])
    with pytest.raises(InputError, match="kgbuild links"):  # negative links teach no connection
        train_signatures(bare, CONFIG, out=out)
    add_links(bare, [_write_links(tmp_path / "one.csv", [[iris[2], iris[3], "positive"]])])
    with pytest.raises(InputError, match="test part holds no connection"):
        train_signatures(bare, CONFIG, out=out)
    assert not out.exists()
    for bad, words in (({"positive_kinds": ["negative"]}, "not a kind of connection"),
                       ({"fractions": [0.5, 0.5, 0.0]}, "fractions"), ({"epochs": 0}, "epochs"),
                       ({"encoder": "hf_image"}, "do not support"), ({"margin3": 1}, "unknown option"),
                       ({"augment": "blur"}, "augment"), ({"augment_kwargs": {"hue": 0.9}}, "out of range")):
        with pytest.raises(InputError, match=words):
            train_signatures(linked["world"], {**CONFIG, **bad}, out=out)
    result = _cli("train", "signatures", linked["world"], "--out", out, "--task", "style", "--quiet")
    assert result.exit_code == 2 and "--task is not an option of signatures" in result.output
    result = _cli("train", "graphclip", linked["world"], "--out", out, "--resume", "--quiet")
    assert result.exit_code == 2 and "--resume" in result.output
    assert not out.exists()


def test_the_cosine_schedule_decays_to_zero_and_constant_stays():
    from artkg.models.signatures.config import SignatureConfig
    from artkg.models.signatures.train import learning_rate

    cos = SignatureConfig(lr=1e-3, epochs=4, lr_schedule="cosine")
    assert learning_rate(cos, 0) == pytest.approx(1e-3) and learning_rate(cos, 2) == pytest.approx(5e-4)
    assert learning_rate(cos, 4) == pytest.approx(0.0, abs=1e-12) and learning_rate(cos, 1) > learning_rate(cos, 3)
    flat = SignatureConfig(lr=1e-3, epochs=4, lr_schedule="constant")
    assert {learning_rate(flat, t) for t in (0, 1.5, 4)} == {1e-3}
    with pytest.raises(InputError, match="lr_schedule"):
        SignatureConfig.coerce({"lr_schedule": "step"})


def test_a_warm_start_begins_from_the_init_runs_weights(run, linked, tmp_path):
    from safetensors.torch import load_file

    from artkg.models.signatures.train import train_signatures

    # a learning rate too small to move anything: the warm-started run ends where its init did
    still = train_signatures(linked["world"], {**CONFIG, "epochs": 1, "lr": 1e-12, "init": str(run)},
                             out=tmp_path / "warm")
    a, b = load_file(str(tmp_path / "warm" / "model.safetensors")), load_file(str(run / "model.safetensors"))
    assert all(torch_allclose(a[k], b[k]) for k in a)
    assert still.metrics["init"] == str(run.resolve())
    split, init_split = (json.loads((d / "split.json").read_text()) for d in (tmp_path / "warm", run))
    assert split["parts"] == init_split["parts"] and split["connections"] == init_split["connections"]
    assert still.metrics["test"]["fine_tuned"] != still.metrics["test"]["pretrained"]  # the init's, not ImageNet's
    for bad, words in ((tmp_path / "nowhere", "not a finished signatures run"),):
        with pytest.raises(InputError, match=words):
            train_signatures(linked["world"], {**CONFIG, "init": str(bad)}, out=tmp_path / "bad")
    other = {**CONFIG, "encoder_kwargs": {"image_size": 48}, "init": str(run)}
    with pytest.raises(InputError, match="trained from"):
        train_signatures(linked["world"], other, out=tmp_path / "bad")
    assert not (tmp_path / "bad").exists()


def test_repeat_sources_and_negative_views_add_triplets(linked):
    from artkg.models.signatures.train import train_signatures

    one = {**CONFIG, "epochs": 1, "negative_views": False}
    plain = train_signatures(linked["world"], one).history[0]
    assert plain["negative_views"] == 0 and 0 < plain["explicit_negatives"] < plain["triplets"]
    twice = train_signatures(linked["world"], {**one, "repeat_sources": {"links.csv": 2}}).history[0]
    assert twice["triplets"] == 2 * plain["triplets"]  # every link of the fixture comes from links.csv
    other = train_signatures(linked["world"], {**one, "repeat_sources": {"annotation": 5}}).history[0]
    assert other == {**plain, "seconds": other["seconds"]}  # no link from that source: the same epoch
    views = train_signatures(linked["world"], {**CONFIG, "epochs": 1}).history[0]  # on by default
    assert 0 < views["negative_views"] <= 29 and views["triplets"] == plain["triplets"] + views["negative_views"]
    with pytest.raises(InputError, match="repeat_sources"):
        train_signatures(linked["world"], {**one, "repeat_sources": {"annotation": 0}})
    matched = train_signatures(linked["world"], {**one, "epoch_size": plain["triplets"] + 7}).history[0]
    assert matched["triplets"] == plain["triplets"] + 7  # a step-matched control's epoch
    with pytest.raises(InputError, match="epoch_size"):
        train_signatures(linked["world"], {**one, "epoch_size": 0})


def torch_allclose(a, b) -> bool:
    import torch

    return bool(torch.allclose(a, b, atol=1e-6))
