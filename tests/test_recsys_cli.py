"""The recommenders through the CLI: `artkg train MODEL`, `artkg eval` (= metrics.json), `artkg recommend`."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

BIN = Path(sys.executable).parent
ENV = {"OMP_NUM_THREADS": "1"}


def run(*args: str, ok: bool = True) -> subprocess.CompletedProcess:
    import os

    done = subprocess.run([str(BIN / args[0]), *args[1:]], capture_output=True, text=True, timeout=600,
                          env={**os.environ, **ENV})
    if ok:
        assert done.returncode == 0, done.stderr[-3000:]
    return done


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Path:
    from artkg.kg.builders import build_graph
    from artkg.models.features import extract_features

    out = tmp_path_factory.mktemp("recsys") / "world"
    build_graph("synth", out, artists=40, seed=5, image_size=32, works_per_artist=8, users=200, build_store=False,
                progress=False)
    extract_features(out, "efficientnet_lite", {"image_size": 32}, None, batch_size=128, device="cpu", progress=False)
    return out


@pytest.fixture(scope="module")
def runs(world, tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("recsys_runs")
    out = {}
    for model, kwargs in (("popularity", None), ("visrank", None),
                          ("curatornet", '{"epochs": 2, "item_layers": [32, 32], "user_layers": [32, 32]}')):
        out[model] = root / model
        args = ["artkg", "train", model, str(world), "--out", str(out[model]), "-q", "--json"]
        if kwargs:
            args += ["--model-kwargs", kwargs]
        report = json.loads(run(*args).stdout)
        assert report["model"] == model and 0.0 <= report["metrics"]["auc"] <= 1.0
    return out


@pytest.mark.parametrize("model", ["popularity", "visrank", "curatornet"])
def test_eval_recomputes_the_saved_metrics(runs, model):
    saved = json.loads((runs[model] / "metrics.json").read_text())
    again = json.loads(run("artkg", "eval", str(runs[model]), "--json").stdout)
    assert again["matches_saved"] is True
    assert {k: again[k] for k in saved} == saved
    assert saved["split"]["test_users"] >= 20


def test_recommend_a_user_excludes_owned_and_sold(world, runs):
    from artkg.kg.graph import load_graph

    kg = load_graph(world)
    it = kg.interactions
    u = int(np.bincount(it.user).argmax())
    uid = kg.iris["user"][u].rsplit("/", 1)[1]
    rec = json.loads(run("artkg", "recommend", str(runs["curatornet"]), "--user", uid, "--k", "15", "--json").stdout)
    assert rec["user"] == kg.iris["user"][u] and len(rec["items"]) == 15
    got = [kg.index_of("artwork", x["artwork"]) for x in rec["items"]]
    owned = set(it.item[it.user == u].tolist())
    sold = set(it.item[it.one_of_a_kind[it.item]].tolist())
    assert not set(got) & (owned | sold)
    scores = [x["score"] for x in rec["items"]]
    assert scores == sorted(scores, reverse=True)
    assert all(x["nearest"]["artwork"] in {kg.iris["artwork"][i] for i in owned} for x in rec["items"])
    text = run("artkg", "recommend", str(runs["curatornet"]), "--user", uid, "--k", "3").stdout
    assert text.startswith("top 3 of") and "looks like" in text


def test_new_visitor_without_retraining(world, runs):
    from artkg.kg.graph import load_graph

    kg = load_graph(world)
    liked = [kg.iris["artwork"][i].rsplit("/", 1)[1] for i in (0, 1, 2)]
    for model in ("visrank", "curatornet"):
        rec = json.loads(run("artkg", "recommend", str(runs[model]), "--liked", *liked, "--k", "5", "--json").stdout)
        assert rec["user"] is None and [p["artwork"].rsplit("/", 1)[1] for p in rec["profile"]] == liked
        assert not {x["artwork"].rsplit("/", 1)[1] for x in rec["items"]} & set(liked)
    # VisRank's first item is the candidate nearest to a liked work (max cosine).
    from artkg.models.features_cache import load_features

    feats = load_features(world, "image")[0].numpy()
    f = feats / np.linalg.norm(feats, axis=1, keepdims=True)
    rec = json.loads(run("artkg", "recommend", str(runs["visrank"]), "--liked", *liked, "--k", "1", "--json").stdout)
    top = kg.index_of("artwork", rec["items"][0]["artwork"])
    assert rec["items"][0]["score"] == pytest.approx(float((f[[0, 1, 2]] @ f[top]).max()), abs=1e-5)


def test_ls_lists_recommenders():
    out = run("artkg", "ls").stdout
    for name in ("curatornet", "curatornet_kg", "vbpr", "visrank", "bpr_mf", "popularity", "guidelines"):
        assert name in out


def test_large_catalogue_goes_through_an_exact_faiss_index():
    """top_k over a FAISS flat inner-product index returns the items scoring every candidate gives."""
    pytest.importorskip("faiss")
    from artkg.models.recsys.base import TrainData
    from artkg.models.recsys.visual import CuratorNet
    from artkg.retrieval import recommend as R

    rng = np.random.default_rng(0)
    n_items = 3000
    users = rng.integers(0, 50, 400)
    train = TrainData(n_users=50, n_items=n_items, user=users, item=rng.integers(0, n_items, 400),
                      time=np.arange(400.0), basket=np.arange(400), features=rng.normal(size=(n_items, 16)).astype("float32"))
    model = CuratorNet(epochs=1, item_layers=[16], user_layers=[16], sampler="random").fit(train)
    cand = np.sort(rng.choice(n_items, 2500, replace=False))
    profile = np.array([1, 2, 3])
    exact_ids, exact_scores = R.top_k(model, -1, profile, cand, 20, index=None)
    faiss_ids, faiss_scores = R.top_k(model, -1, profile, cand, 20, index="flat", index_from=0)
    assert any(key[0] == id(model) for key in R._INDEXES)  # the index path ran
    assert np.array_equal(exact_ids, faiss_ids)
    assert np.allclose(exact_scores, faiss_scores, atol=1e-4)
