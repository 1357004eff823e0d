"""The recommenders of models/recsys (visual.py, factorization.py, zoo.py) on small synthetic worlds:
training reduces the loss, hand-checked VisRank scores, CuratorNet learns visual tastes, the KG-aware
CuratorNet learns artist tastes the images do not show, persistence, determinism, new visitors and
bad input."""
from __future__ import annotations

import time

import numpy as np
import pytest
from safetensors.torch import load_file, save_file

from artkg.kg.errors import InputError
from artkg.models.recsys.base import TrainData, Triples, TripleSampler
from artkg.models.recsys.factorization import BPRMF, VBPR, PopularityRecommender, RandomRecommender
from artkg.models.recsys.visual import CuratorNet, CuratorNetKG, VisRank
from artkg.models.recsys.zoo import build_recommender, recommender_names, recommender_resolver

N_USERS, N_ITEMS, DIM, N_CLUSTERS, N_ARTISTS = 40, 300, 16, 6, 20


class ProfileSampler(TripleSampler):
    """Test sampler: each profile item over ``n_neg`` random non-profile items (the rest of the
    profile as context), plus a made-up one-item profile (user -1) ranking its own item first."""

    kind = "test_profile"

    def __init__(self, n_neg: int = 3):
        self.n_neg = n_neg

    def sample(self, train: TrainData, rng: np.random.Generator) -> Triples:
        user, pos, neg, profiles = [], [], [], []
        for u, prof in enumerate(train.profiles()):
            if len(prof) < 2:
                continue
            outside = np.setdiff1d(np.arange(train.n_items), prof)
            for k, i in enumerate(prof):
                rest = np.delete(prof, k)
                for j in rng.choice(outside, self.n_neg):
                    user.append(u), pos.append(i), neg.append(j), profiles.append(rest)
                user.append(-1), pos.append(i), neg.append(rng.choice(outside)), profiles.append(np.array([i]))
        ptr = np.concatenate([[0], np.cumsum([len(p) for p in profiles])])
        return Triples(np.array(user), np.array(pos), np.array(neg), ptr.astype(np.int64),
                       np.concatenate(profiles).astype(np.int64), np.zeros(len(pos), dtype=np.int8))


def make_world(seed: int = 0, by: str = "cluster", noise_features: bool = False, features: bool = True):
    """A world of users who buy half the works of their 1–2 favourite clusters (``by="cluster"``) or of
    their 1–2 favourite artists (``by="artist"``: only each artist's first half of works is ever sold).
    Returns the TrainData, the per-user liked pools and the per-user held-out items."""
    rng = np.random.default_rng(seed)
    cluster = rng.integers(0, N_CLUSTERS, N_ITEMS)
    artist = np.arange(N_ITEMS) % N_ARTISTS
    centers = rng.normal(0, 3, (N_CLUSTERS, DIM))
    feats = (rng.normal(0, 1, (N_ITEMS, DIM)) if noise_features
             else centers[cluster] + rng.normal(0, 1, (N_ITEMS, DIM))).astype(np.float32)
    sold = np.ones(N_ITEMS, dtype=bool)
    if by == "artist":  # each artist's later works are never bought by anyone
        sold = np.arange(N_ITEMS) < N_ITEMS // 2
    users, items, pools, held = [], [], [], []
    for u in range(N_USERS):
        if by == "cluster":
            pool = np.flatnonzero(np.isin(cluster, rng.choice(N_CLUSTERS, rng.integers(1, 3), replace=False)))
        else:
            pool = np.flatnonzero(np.isin(artist, rng.choice(N_ARTISTS, rng.integers(1, 3), replace=False)))
        buy = rng.permutation(pool[sold[pool]])[:max(2, len(pool[sold[pool]]) // 2)]
        users += [u] * len(buy)
        items += list(buy)
        pools.append(pool)
        held.append(np.setdiff1d(pool, buy) if by == "cluster" else pool[~sold[pool]])
    n = len(items)
    movement = np.where(rng.random(N_ITEMS) < 0.2, -1, rng.integers(0, 4, N_ITEMS))
    genre = rng.integers(-1, 3, N_ITEMS)  # genre before movement alphabetically, after it in KG_RELATIONS
    train = TrainData(N_USERS, N_ITEMS, np.array(users, dtype=np.int64), np.array(items, dtype=np.int64),
                      np.arange(n, dtype=np.float64), np.arange(n, dtype=np.int64) // 3,
                      features=feats if features else None,
                      context={"created_by": artist.astype(np.int64), "movement": movement.astype(np.int64),
                               "genre": genre.astype(np.int64)},
                      context_sizes={"created_by": N_ARTISTS, "movement": 4, "genre": 3}, seed=seed)
    return train, pools, held


def auc(scores: np.ndarray, positive: np.ndarray) -> float:
    """Probability that a positive outscores a negative (ties count half)."""
    p, n = scores[positive], scores[~positive]
    return float(((p[:, None] > n[None]).sum() + 0.5 * (p[:, None] == n[None]).sum()) / (len(p) * len(n)))


def mean_auc(model, train: TrainData, pools, held) -> float:
    """Per-user AUC of the held-out items against the items outside the user's pool."""
    out = []
    for u, prof in enumerate(train.profiles()):
        cand = np.setdiff1d(np.arange(N_ITEMS), prof)
        positive = np.isin(cand, held[u])
        keep = positive | ~np.isin(cand, pools[u])
        if positive[keep].any() and (~positive[keep]).any():
            out.append(auc(model.score(u, prof, cand[keep]), positive[keep]))
    return float(np.mean(out))


SMALL = {"item_layers": (64, 64), "user_layers": (96, 64, 64)}


def models(sampler: TripleSampler) -> dict:
    return {"bpr_mf": BPRMF(factors=16, epochs=15, batch_size=256, sampler=sampler),
            "vbpr": VBPR(factors=8, visual_factors=8, epochs=15, batch_size=256, lr=1e-2, sampler=sampler),
            "curatornet": CuratorNet(**SMALL, epochs=8, batch_size=128, sampler=sampler),
            "curatornet_kg": CuratorNetKG(**SMALL, embed_dim=16, epochs=8, batch_size=128, sampler=sampler)}


@pytest.fixture(scope="module")
def cluster_world():
    return make_world(0, by="cluster")


@pytest.fixture(scope="module")
def fitted(cluster_world):
    train = cluster_world[0]
    out = {k: m.fit(train) for k, m in models(ProfileSampler()).items()}
    out["visrank"] = VisRank().fit(train)
    out["popularity"] = PopularityRecommender().fit(train)
    out["random"] = RandomRecommender().fit(train)
    return out


@pytest.mark.parametrize("kind", ["bpr_mf", "vbpr", "curatornet", "curatornet_kg"])
def test_training_loss_decreases(fitted, kind):
    loss = fitted[kind].history_["train_loss"]
    patience = getattr(fitted[kind], "patience", None)
    assert len(loss) == fitted[kind].epochs or (patience and len(loss) < fitted[kind].epochs)
    assert min(loss) < 0.8 * loss[0], loss


def test_early_stopping_keeps_the_best_validation_epoch(fitted):
    """CuratorNet stops `patience` epochs after the best validation loss and restores that epoch."""
    model = fitted["curatornet"]
    hist = model.history_
    best = hist["best_epoch"][0]
    assert best == int(np.argmin(hist["val_loss"]))
    assert len(hist["val_loss"]) == model.epochs or len(hist["val_loss"]) == best + 1 + model.patience


def test_curatornet_validation_and_plateau(fitted):
    hist = fitted["curatornet"].history_
    assert len(hist["val_loss"]) == len(hist["train_loss"]) and all(np.isfinite(hist["val_loss"]))
    assert min(hist["val_loss"]) < hist["val_loss"][0]
    assert hist["lr"][0] <= 1e-3


def test_visrank_hand_checked():
    f = np.array([[1, 0], [0, 1], [1, 1], [3, 0], [-1, 0]], dtype=np.float32)
    train = TrainData(1, 5, np.zeros(1, np.int64), np.zeros(1, np.int64), np.zeros(1), np.zeros(1, np.int64), f)
    prof, cand = np.array([0, 1, 2]), np.array([3, 4, 1])
    r = 0.5 ** 0.5
    np.testing.assert_allclose(VisRank("max").fit(train).score(-1, prof, cand), [1, 0, 1], atol=1e-6)
    np.testing.assert_allclose(VisRank("mean").fit(train).score(-1, prof, cand),
                               [(1 + r) / 3, (-1 - r) / 3, (1 + r) / 3], atol=1e-6)
    np.testing.assert_allclose(VisRank("topk_mean", k=2).fit(train).score(-1, prof, cand),
                               [(1 + r) / 2, (0 - r) / 2, (1 + r) / 2], atol=1e-6)
    np.testing.assert_allclose(VisRank("topk_mean", k=9).fit(train).score(0, prof[:1], cand), [1, -1, 0], atol=1e-6)
    assert VisRank().fit(train).score(-1, np.array([], np.int64), cand).tolist() == [0, 0, 0]


def test_curatornet_learns_visual_tastes(cluster_world, fitted):
    cn, rnd = mean_auc(fitted["curatornet"], *cluster_world), mean_auc(fitted["random"], *cluster_world)
    assert cn > 0.85 and abs(rnd - 0.5) < 0.1, (cn, rnd)
    assert mean_auc(fitted["visrank"], *cluster_world) > 0.85


def test_kg_curatornet_learns_artist_taste():
    world = make_world(1, by="artist", noise_features=True)
    sampler = ProfileSampler()
    kg = CuratorNetKG(**SMALL, embed_dim=16, epochs=8, batch_size=128, sampler=sampler).fit(world[0])
    cn = CuratorNet(**SMALL, epochs=8, batch_size=128, sampler=sampler).fit(world[0])
    a_kg, a_cn = mean_auc(kg, *world), mean_auc(cn, *world)
    assert a_kg > 0.85 and a_kg > a_cn + 0.2, (a_kg, a_cn)
    # Context only, no image features at all.
    bare = make_world(1, by="artist", features=False)
    kg0 = CuratorNetKG(**SMALL, embed_dim=16, epochs=8, batch_size=128, sampler=sampler).fit(bare[0])
    assert mean_auc(kg0, *bare) > 0.85


@pytest.mark.parametrize("kind", ["random", "popularity", "bpr_mf", "vbpr", "visrank", "curatornet", "curatornet_kg"])
def test_state_dict_round_trip(fitted, kind, tmp_path):
    model = fitted[kind]
    save_file(model.state_dict(), tmp_path / "w.safetensors")
    again = build_recommender(kind, **model.spec())
    again.load_state_dict(load_file(tmp_path / "w.safetensors"))
    cand = np.arange(N_ITEMS)
    for user, prof in ((3, np.array([1, 5, 9])), (-1, np.array([7])), (-1, np.array([], np.int64))):
        np.testing.assert_array_equal(model.score(user, prof, cand), again.score(user, prof, cand))


def test_deterministic_for_a_seed(cluster_world):
    train = cluster_world[0]
    cand, prof = np.arange(N_ITEMS), np.array([2, 4])
    def make(kind):
        model = models(ProfileSampler())[kind]
        model.epochs = 3
        return model

    for kind in ("bpr_mf", "vbpr", "curatornet_kg"):
        a = make(kind).fit(train).score(5, prof, cand)
        np.testing.assert_array_equal(a, make(kind).fit(train).score(5, prof, cand))
        other = TrainData(**{**train.__dict__, "seed": 7})
        assert not np.array_equal(a, make(kind).fit(other).score(5, prof, cand))


def test_progress_bar_on_stderr(cluster_world, capsys):
    BPRMF(epochs=2, sampler=ProfileSampler()).fit(cluster_world[0], progress=True)
    err = capsys.readouterr().err
    assert "bpr_mf" in err and "2/2" in err


def test_scoring_many_items_is_cached_and_fast():
    rng = np.random.default_rng(3)
    n_items, n = 100_000, 400
    train = TrainData(20, n_items, rng.integers(0, 20, n), rng.integers(0, 500, n), np.arange(n, dtype=float),
                      np.arange(n), rng.normal(size=(n_items, DIM)).astype(np.float32))
    model = CuratorNet(**SMALL, epochs=1, sampler=ProfileSampler(1)).fit(train)
    cand = np.arange(n_items)
    first = model.score(-1, np.array([1, 2, 3]), cand)
    start = time.perf_counter()
    again = model.score(-1, np.array([1, 2, 3]), cand)
    assert time.perf_counter() - start < 0.5
    np.testing.assert_array_equal(first, again)
    model.fit(train)  # a new fit invalidates the item cache
    assert model._item_cache is None


def test_random_is_a_function_of_user_and_item(fitted):
    rnd, cand = fitted["random"], np.arange(N_ITEMS)
    s = rnd.score(3, np.array([1]), cand)
    perm = np.random.default_rng(0).permutation(N_ITEMS)
    np.testing.assert_array_equal(rnd.score(3, np.array([]), cand[perm]), s[perm])
    assert not np.array_equal(s, rnd.score(4, np.array([1]), cand))
    assert s.dtype == np.float32 and 0 <= s.min() and s.max() < 1 and abs(s.mean() - 0.5) < 0.1


def test_popularity_counts_and_ties(fitted, cluster_world):
    s = fitted["popularity"].score(0, np.array([]), np.arange(N_ITEMS))
    counts = np.bincount(cluster_world[0].item, minlength=N_ITEMS)
    order = np.argsort(-s, kind="stable")
    assert np.array_equal(order, np.lexsort((np.arange(N_ITEMS), -counts)))
    assert len(np.unique(s)) == N_ITEMS


@pytest.mark.parametrize("kind", ["random", "popularity", "bpr_mf", "vbpr", "visrank", "curatornet", "curatornet_kg"])
def test_new_visitor(fitted, cluster_world, kind):
    pools = cluster_world[1]
    model, cand = fitted[kind], np.arange(N_ITEMS)
    liked = pools[0][:3]
    s = model.score(-1, liked, cand)
    assert s.shape == (N_ITEMS,) and s.dtype == np.float32 and np.isfinite(s).all()
    assert np.isfinite(model.score(-1, np.array([], np.int64), cand)).all()
    if kind in ("visrank", "curatornet", "curatornet_kg", "vbpr"):  # 3 liked works reveal the taste
        rest = np.setdiff1d(cand, liked)
        assert auc(model.score(-1, liked, rest), np.isin(rest, pools[0])) > 0.75


@pytest.mark.parametrize("cls", [VisRank, CuratorNet, VBPR])
def test_missing_features_raise(cls):
    train = make_world(2, features=False)[0]
    with pytest.raises(InputError, match="needs image features.*artkg features"):
        cls(sampler=ProfileSampler()).fit(train) if cls is not VisRank else cls().fit(train)


def test_bad_input(fitted):
    with pytest.raises(InputError, match="outside"):
        fitted["curatornet"].score(-1, np.array([1]), np.array([N_ITEMS]))
    with pytest.raises(InputError, match="outside"):
        fitted["bpr_mf"].score(N_USERS, np.array([1]), np.array([0]))
    with pytest.raises(InputError, match="not fitted"):
        CuratorNet().score(-1, np.array([1]), np.array([0]))
    with pytest.raises(InputError, match="item_layers"):
        CuratorNet(item_layers=(32,), user_layers=(64,))


def test_registry():
    assert recommender_names() == sorted(["random", "popularity", "bpr_mf", "vbpr", "visrank", "curatornet",
                                          "curatornet_kg", "image_similarity", "lda_topics", "text_similarity",
                                          "late_fusion", "early_fusion"])
    from artkg.models.recsys.config import RECOMMENDERS

    assert sorted(RECOMMENDERS) == recommender_names()  # the CLI's list (no torch import) is the registry's
    for name in recommender_names():
        assert build_recommender(name).kind == name
    assert recommender_resolver.lookup(None) is CuratorNet
    assert isinstance(build_recommender("VBPR", l2=1e-2), VBPR)
    with pytest.raises(InputError, match="unknown recommender 'curatrnet'.*curatornet_kg"):
        build_recommender("curatrnet")
    with pytest.raises(InputError, match="vbpr has no option 'layers'.*visual_factors"):
        build_recommender("vbpr", layers=3)
    from artkg.models.options import check_call_kwargs

    assert check_call_kwargs(CuratorNetKG, {"epochs": "3", "item_layers": [8, 8]}, "x") == {"epochs": 3,
                                                                                         "item_layers": [8, 8]}


def test_default_samplers_from_the_registry(cluster_world):
    sampling = pytest.importorskip("artkg.models.recsys.sampling")
    assert VBPR()._sampler_kwargs() == {"guidelines": sampling.VBPR_GUIDELINES}
    for model in (BPRMF(epochs=10), VBPR(epochs=5), CuratorNet(**SMALL, epochs=3)):
        model.fit(cluster_world[0])
        assert model.history_["train_loss"][-1] < model.history_["train_loss"][0]
        assert mean_auc(model, *cluster_world) > 0.8


def test_curatornet_on_principal_components(cluster_world, tmp_path):
    """pca=k: the item inputs are k principal components of the training works' features (z-scored);
    the tastes are still learnt, and a saved run scores the same without refitting the projection."""
    train = cluster_world[0]
    model = CuratorNet(**SMALL, epochs=8, batch_size=128, sampler=ProfileSampler(), pca=4).fit(train)
    assert model.net.features.shape == (N_ITEMS, 4) and model.spec()["pca"] == 4
    assert mean_auc(model, *cluster_world) > 0.85
    save_file(model.state_dict(), tmp_path / "w.safetensors")
    again = build_recommender("curatornet", **model.spec())
    again.load_state_dict(load_file(tmp_path / "w.safetensors"))
    cand = np.arange(N_ITEMS)
    np.testing.assert_array_equal(model.score(-1, np.array([1, 2]), cand), again.score(-1, np.array([1, 2]), cand))
    with pytest.raises(InputError, match="pca=0"):
        CuratorNet(pca=0)
