"""The multimodal engines (issue 11): rating weights, profile scoring, fusion in the engines, the joint
space's gap knob, LDA coherence, the held-out-ratings split, and the CLI on a world with raters."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from artkg.kg.errors import InputError
from artkg.models.recsys.base import TrainData
from artkg.models.recsys.content import (EarlyFusion, ImageSimilarity, LateFusion, TextSimilarity, rating_weights,
                                         unit_rows)
from artkg.models.recsys.fusion import reciprocal_rank_fusion


def _train(n=60, d=8, seed=0, text=True) -> TrainData:
    rng = np.random.default_rng(seed)
    feats = rng.normal(size=(n, d)).astype(np.float32)
    return TrainData(n_users=1, n_items=n, user=np.zeros(0, np.int64), item=np.zeros(0, np.int64), time=np.zeros(0),
                     basket=np.zeros(0, np.int64), features=feats, seed=seed,
                     text_features=(feats @ rng.normal(size=(d, 5))).astype(np.float32) if text else None)


# ------------------------------------------------------------------ ratings → weights
def test_equal_ratings_stay_equal_and_nonzero():
    for r in (1, 3, 5):
        w = rating_weights([r] * 4)
        assert np.all(w == w[0]) and w[0] > 0  # min-max would give all zeros here
    assert np.allclose(rating_weights([1, 3, 5]), [0.2, 0.6, 1.0])


@pytest.mark.parametrize("bad", [[0], [6], [4, 5.5], [float("nan")]])
def test_ratings_outside_one_to_five_are_an_error(bad):
    with pytest.raises(InputError, match="outside 1–5"):
        rating_weights(bad)


def test_profile_score_is_the_rating_weighted_mean_similarity():
    train = _train()
    eng = ImageSimilarity(center=False).fit(train)
    x = unit_rows(train.features)
    profile, ratings = np.array([3, 7, 11]), np.array([5.0, 2.0, 4.0])
    candidates = np.setdiff1d(np.arange(60), profile)
    expected = np.array([np.mean([r / 5 * float(x[i] @ x[j]) for j, r in zip(profile, ratings)]) for i in candidates])
    assert np.allclose(eng.score(-1, profile, candidates, ratings), expected, atol=1e-6)
    # No ratings (a purchase profile): every weight 1; equal ratings rank exactly like no ratings.
    plain = eng.score(-1, profile, candidates)
    assert np.array_equal(np.argsort(-plain, kind="stable"),
                          np.argsort(-eng.score(-1, profile, candidates, [3, 3, 3]), kind="stable"))


def test_the_most_similar_painting_ranks_first_not_last():
    train = _train()
    train.features[20] = train.features[4] * 1.01  # a near copy of the profile's painting
    eng = ImageSimilarity(center=False).fit(train)
    candidates = np.setdiff1d(np.arange(60), [4])
    scores = eng.score(-1, np.array([4]), candidates, [5])
    assert candidates[np.argmax(scores)] == 20
    assert candidates[np.argmin(scores)] != 20


def test_late_fusion_is_rrf_of_the_two_engines():
    train = _train()
    late = LateFusion(text="text_similarity", weights=(2.0, 1.0), k=60, mode="total").fit(train)
    text, image = TextSimilarity().fit(train), ImageSimilarity().fit(train)
    profile, ratings = np.array([1, 2]), np.array([5, 3])
    cand = np.setdiff1d(np.arange(60), profile)
    want = reciprocal_rank_fusion([text.score(-1, profile, cand, ratings), image.score(-1, profile, cand, ratings)],
                                  [2.0, 1.0], 60, "total")
    assert np.allclose(late.score(-1, profile, cand, ratings), want)
    partial = LateFusion(text="text_similarity", mode="partial", r=5).fit(train).score(-1, profile, cand, ratings)
    assert 5 <= np.count_nonzero(partial) <= 10  # only the two engines' top 5 get a share


def test_engine_options_are_checked_up_front():
    with pytest.raises(InputError, match="unknown text engine"):
        LateFusion(text="bert")
    with pytest.raises(InputError):
        LateFusion(mode="half")
    with pytest.raises(InputError, match="unknown gap"):
        EarlyFusion(gap="wide")


def test_the_gap_knob_changes_the_measured_gap():
    rng = np.random.default_rng(0)
    latent = rng.normal(size=(300, 6))
    train = TrainData(n_users=1, n_items=300, user=np.zeros(0, np.int64), item=np.zeros(0, np.int64),
                      time=np.zeros(0), basket=np.zeros(0, np.int64), seed=0,
                      features=(latent @ rng.normal(size=(6, 24)) + 0.3 * rng.normal(size=(300, 24))).astype(np.float32),
                      text_features=(latent @ rng.normal(size=(6, 16)) + 0.3 * rng.normal(size=(300, 16))).astype(np.float32))
    gaps = {}
    for gap in ("entangled", "separated"):
        eng = EarlyFusion(gap=gap, dim=16, epochs=15).fit(train)
        gaps[gap] = eng.report["modality_gap"]
        assert np.allclose(np.linalg.norm(eng.items, axis=1), 1.0, atol=1e-5)
    assert gaps["entangled"]["centroid_distance"] < gaps["separated"]["centroid_distance"]
    assert gaps["entangled"]["linear_separability"] < gaps["separated"]["linear_separability"]


# ------------------------------------------------------------------ LDA and coherence
def test_npmi_coherence_by_hand():
    from artkg.models.recsys.topics import npmi_coherence

    # words 0 and 1 always together (NPMI 1); word 2 never with word 0 (NPMI -1)
    counts = np.array([[1, 1, 0], [1, 1, 0], [0, 0, 1], [0, 0, 1]])
    assert npmi_coherence(counts, np.array([[0.5, 0.5, 0.0]]), top=2)[0] == pytest.approx(1.0)
    assert npmi_coherence(counts, np.array([[0.6, 0.0, 0.4]]), top=2)[0] == pytest.approx(-1.0)
    # p(0)=p(3)=1/2, p(0,3)=1/4 → independent: NPMI 0
    counts = np.array([[1, 0, 0, 1], [1, 0, 0, 0], [0, 0, 0, 1], [0, 1, 1, 0]])
    assert npmi_coherence(counts, np.array([[0.5, 0, 0, 0.5]]), top=2)[0] == pytest.approx(0.0, abs=1e-12)


def test_the_number_of_topics_is_the_most_coherent_and_fits_repeat():
    from artkg.models.recsys.topics import fit_topics

    rng = np.random.default_rng(0)
    themes = [["ship", "sea", "harbour", "wave", "sail"], ["saint", "virgin", "angel", "altar", "halo"],
              ["horse", "rider", "battle", "cavalry", "sword"]]
    docs = [" ".join(rng.choice(themes[i % 3], 6)) for i in range(90)]
    a, b = (fit_topics(docs, [2, 3, 6], seed=0, coherence_top=5) for _ in range(2))
    assert a.n_topics == max(a.tried, key=a.tried.get) and set(a.tried) == {2, 3, 6}
    assert np.array_equal(a.doc_topics, b.doc_topics)
    assert a.n_topics == 3  # the planted themes
    assert {frozenset(t[:5]) for t in a.top_words(5)} == {frozenset(t) for t in themes}
    with pytest.raises(InputError, match="no artwork has any text"):
        fit_topics(["", "  "])


# ------------------------------------------------------------------ the held-out-ratings split
def test_rating_split_profile_first_half_and_no_held_out_in_training():
    from types import SimpleNamespace

    from artkg.models.recsys.ratings import RatingSplit

    user = np.array([0] * 6 + [1] * 4)
    item = np.array([5, 1, 2, 3, 4, 0, 7, 8, 9, 6])
    time = np.array([1, 2, 3, 4, 5, 6, 1, 2, 3, 4], dtype=float)
    rating = np.array([5, 1, 2, 4, 5, 3, 2, 2, 2, 2], dtype=np.float32)
    ev = SimpleNamespace(user=user, item=item, time=time, rating=rating, basket=np.arange(10), n_users=2, n_items=10)
    ev.of_kind = lambda kind: ev
    split = RatingSplit(profile_fraction=0.5).split(ev)
    assert len(split.cases) == 1  # user 1 has no held-out 4 or 5
    case = split.cases[0]
    assert case.profile.tolist() == [5, 1, 2] and case.ratings.tolist() == [5, 1, 2]
    candidates, relevant = case.arrays()
    assert not np.isin(case.profile, candidates).any()  # rated paintings are never candidates
    assert sorted(candidates[relevant].tolist()) == [3, 4]
    assert not np.isin(split.train.item[split.train.user == 0], [3, 4, 0]).any()


# ------------------------------------------------------------------ end to end on a world with raters
@pytest.fixture(scope="module")
def rated_world(tmp_path_factory, torch_one_thread):
    from artkg.kg.builders import build_graph
    from artkg.models.features import extract_features

    out = tmp_path_factory.mktemp("rated") / "world"
    build_graph("synth", out, artists=25, seed=3, image_size=32, works_per_artist=4, raters=40,
                build_store=False, progress=False)
    extract_features(out, "efficientnet_lite", {"image_size": 32}, "minilm", batch_size=128, device="cpu",
                     progress=False, artwork_text=True)
    return out


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "artkg.cli", *args], capture_output=True, text=True,
                          env={"OMP_NUM_THREADS": "1", "PATH": "/usr/bin:/bin"})


def test_documents_carry_the_artworks_metadata(rated_world):
    from artkg.kg.documents import artwork_documents
    from artkg.kg.graph import load_graph

    docs = artwork_documents(load_graph(rated_world))
    assert all("Depicts:" in d and "Genre:" in d for d in docs)


def test_train_eval_and_rate_from_the_cli(rated_world, tmp_path):
    run = tmp_path / "late"
    r = _cli("train", "late_fusion", str(rated_world), "--out", str(run), "--json", "-q")
    assert r.returncode == 0, r.stderr
    metrics = json.loads((run / "metrics.json").read_text())
    assert {"precision@9", "ndcg@20", "ild@9", "novelty@9", "serendipity@9", "coverage@9", "user_rbo@9"} <= set(metrics)
    assert metrics["split"]["protocol"] == "held-out ratings"
    r = _cli("eval", str(run))
    assert r.returncode == 0 and "match" in r.stdout, r.stdout + r.stderr
    r = _cli("recommend", str(run), "--rate", "W00003=5", "W00010=3", "W00011=1", "--k", "9", "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    got = [it["artwork"].rsplit("/", 1)[-1] for it in out["items"]]
    assert len(got) == 9 and not {"W00003", "W00010", "W00011"} & set(got)
    assert [p["rating"] for p in out["profile"]] == [5.0, 3.0, 1.0]
    scores = [it["score"] for it in out["items"]]
    assert scores == sorted(scores, reverse=True)


@pytest.mark.parametrize("args, message", [
    (["--rate", "W00003=7"], "outside 1–5"),
    (["--rate", "W00003=5", "W99999=3"], "no artwork 'W99999'"),
    (["--rate", "W00003=great"], "cannot read the rating"),
    (["--rate", "W00003=5", "--liked", "W00004"], "both given"),
])
def test_bad_ratings_are_one_line_errors(rated_world, tmp_path_factory, args, message):
    run = tmp_path_factory.getbasetemp() / "img_run"
    if not (run / "config.json").exists():
        assert _cli("train", "image_similarity", str(rated_world), "--out", str(run), "-q").returncode == 0
    r = _cli("recommend", str(run), *args)
    assert r.returncode != 0 and message in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr


def test_a_text_engine_on_a_graph_without_artwork_text_features(rated_world, tmp_path):
    import shutil

    bare = Path(shutil.copytree(rated_world, tmp_path / "bare"))
    for folder in (bare / "features").iterdir():
        if json.loads((folder / "meta.json").read_text()).get("kind") == "text":
            shutil.rmtree(folder)
    r = _cli("train", "text_similarity", str(bare), "--out", str(tmp_path / "run"))
    assert r.returncode != 0 and "needs artwork text features" in r.stderr and "--artwork-text" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert not (tmp_path / "run" / "config.json").exists()


def test_early_fusion_over_a_hub_joint_feature_set(rated_world, tmp_path):
    """open_clip's path (tiny random config: no weights load offline) → joint features → early_fusion
    with space=joint_features → a run with its modality gap, evaluated and reloaded."""
    import shutil

    from test_joint_encoders import TINY_OPEN_CLIP

    from artkg.models.joint_features import extract_joint_features
    from artkg.models.recsys.config import RecConfig
    from artkg.models.recsys.run import evaluate_recommender_run, train_recommender

    world = Path(shutil.copytree(rated_world, tmp_path / "world"))
    extract_joint_features(world, "open_clip_joint", {"model_kwargs": TINY_OPEN_CLIP}, batch_size=128, device="cpu",
                           progress=False)
    res = train_recommender(world, RecConfig(model="early_fusion", model_kwargs={"space": "joint_features"}),
                            out=tmp_path / "run")
    assert res.metrics["split"]["test_users"] > 0 and 0 <= res.metrics["precision@9"] <= 1
    assert set(res.metrics["report"]["modality_gap"]) >= {"centroid_distance", "linear_separability"}
    assert json.loads((tmp_path / "run" / "config.json").read_text())["joint"].startswith("open_clip")
    assert (tmp_path / "run" / "modality_gap.png").stat().st_size > 1000
    assert evaluate_recommender_run(tmp_path / "run")["matches_saved"]
    # Without a joint feature set: one line naming the command that makes one.
    with pytest.raises(InputError, match="--joint-encoder"):
        train_recommender(rated_world, RecConfig(model="early_fusion", model_kwargs={"space": "joint_features"}))


def test_experiment_with_the_ratings_split(rated_world):
    from artkg.models.recsys.experiment import Experiment
    from artkg.models.recsys.ratings import RatingSplit
    from artkg.models.recsys.run import run_evaluate

    exp = Experiment(RatingSplit(), ["random", "image_similarity", ("late_fusion", {"text": "text_similarity"})],
                     ["precision@9", "ndcg@20", "ild@9", "user_rbo@9"])
    split = exp.split(rated_world)
    table = exp.run(rated_world, split)
    assert set(table) == {"_split", "random", "image_similarity", "late_fusion"}
    # Every engine saw the same split: rerunning one alone on it gives its row exactly.
    from artkg.models.recsys.zoo import build_recommender

    again = run_evaluate(build_recommender("image_similarity").fit(split.train), split, [9, 20])
    assert again["precision@9"] == table["image_similarity"]["precision@9"]
    with pytest.raises(InputError, match="unknown metric"):
        Experiment(RatingSplit(), ["random"], ["diversity"])
