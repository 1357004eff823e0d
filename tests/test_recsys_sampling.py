"""The training-triple samplers: every guideline's invariants on every triple, the same-cluster share,
de-duplication, determinism, the visual clusters and the fallbacks (models/recsys/sampling.py)."""
from __future__ import annotations

import logging
import time

import numpy as np
import pytest

from artkg.kg.errors import InputError
from artkg.models.recsys.base import TrainData, Triples
from artkg.models.recsys.sampling import (VBPR_GUIDELINES, GuidelineSampler, RandomSampler, sampler_resolver,
                                          visual_clusters)

N_USERS, N_ITEMS, DIM, N_BLOBS, N_ARTISTS = 30, 200, 16, 5, 25
SMALL = {"n_clusters": N_BLOBS, "cluster_runs": 3}  # the world's 5 blobs, few k-means runs (fast)


def make_train(seed: int = 0, features: bool = True) -> tuple[TrainData, np.ndarray]:
    """30 users buying 2–4 baskets (1–4 items each, mostly from 1–2 favourite blobs) of 200 items in
    5 Gaussian blobs by 25 artists (10 items of unknown artist); user 0 owns one item, user 1 none."""
    rng = np.random.default_rng(seed)
    blob = rng.integers(0, N_BLOBS, N_ITEMS)
    feats = (rng.normal(0, 6, (N_BLOBS, DIM))[blob] + rng.normal(0, 1, (N_ITEMS, DIM))).astype(np.float32)
    artist = rng.integers(0, N_ARTISTS, N_ITEMS)
    artist[rng.choice(N_ITEMS, 10, replace=False)] = -1
    users, items, times, baskets = [0], [int(rng.integers(N_ITEMS))], [0.0], [0]
    b = 1
    for u in range(2, N_USERS):
        fav = rng.choice(N_BLOBS, rng.integers(1, 3), replace=False)
        liked = np.flatnonzero(np.isin(blob, fav))
        t = float(rng.uniform(0, 1e6))
        for _ in range(rng.integers(2, 5)):
            n = int(rng.integers(1, 5))
            pick = np.where(rng.random(n) < 0.8, rng.choice(liked, n), rng.integers(0, N_ITEMS, n))
            users += [u] * n
            items += pick.tolist()
            times += [t] * n
            baskets += [b] * n
            b, t = b + 1, t + float(rng.uniform(1e3, 1e5))
    order = np.argsort(times, kind="stable")
    arr = lambda x, dt=np.int64: np.asarray(x, dtype=dt)[order]
    train = TrainData(N_USERS, N_ITEMS, arr(users), arr(items), arr(times, np.float64), arr(baskets),
                      feats if features else None, {"created_by": artist}, {"created_by": N_ARTISTS}, seed)
    return train, blob


@pytest.fixture(scope="module")
def world():
    train, blob = make_train()
    sampler = GuidelineSampler(**SMALL)
    return train, blob, sampler, sampler.sample(train, np.random.default_rng(0)), sampler.clusters(train)


def pick(t: Triples, g: int) -> list[int]:
    return [k for k in range(len(t)) if t.guideline[k] == g]


def test_layout_and_every_guideline_present(world):
    _, _, _, t, _ = world
    m = len(t)
    assert m > 0 and len(t.user) == len(t.neg) == len(t.guideline) == m and len(t.profile_ptr) == m + 1
    assert t.profile_ptr[0] == 0 and t.profile_ptr[-1] == len(t.profile_items) and (np.diff(t.profile_ptr) >= 0).all()
    assert t.user.dtype == t.pos.dtype == t.neg.dtype == t.profile_items.dtype == np.int64
    assert t.guideline.dtype == np.int8
    assert set(np.unique(t.guideline)) == {1, 2, 3, 4, 5, 6}
    assert (t.pos != t.neg).all() and ((0 <= t.neg) & (t.neg < N_ITEMS)).all()


def test_guideline_1_and_6_leave_one_out(world):
    train, _, _, t, _ = world
    profiles = [set(p.tolist()) for p in train.profiles()]
    for g in (1, 6):
        ks = pick(t, g)
        assert ks
        for k in ks:
            u, i, j = t.user[k], t.pos[k], t.neg[k]
            assert u >= 0 and i in profiles[u] and j not in profiles[u]
            prof = t.profile(k).tolist()
            assert len(prof) == len(set(prof)) and set(prof) == profiles[u] - {i}
        assert {t.user[k] for k in ks} <= {u for u, p in enumerate(profiles) if len(p) >= 2}


def expected_share(t: Triples, ks: list[int], cl: np.ndarray, share: float) -> float:
    """Same-cluster share when ``share`` of negatives come from the cluster and the rest uniformly."""
    size = np.bincount(cl) / len(cl)
    return share + (1 - share) * float(np.mean(size[cl[t.pos[ks]]]))


def test_guideline_1_same_cluster_share():
    train, _ = make_train()
    rates = {}
    for share in (0.6, 0.0):
        s = GuidelineSampler(guidelines=(1,), per_guideline=6, same_cluster_share=share, **SMALL)
        t, cl = s.sample(train, np.random.default_rng(1)), s.clusters(train)
        ks = pick(t, 1)
        assert len(ks) > 800
        rates[share] = float(np.mean(cl[t.neg[ks]] == cl[t.pos[ks]]))
        assert abs(rates[share] - expected_share(t, ks, cl, share)) < 0.06, (share, rates)
    assert rates[0.6] > rates[0.0] + 0.3


def test_guideline_2_one_item_profiles(world):
    _, _, _, t, _ = world
    ks = pick(t, 2)
    assert len({int(t.pos[k]) for k in ks}) > 0.9 * N_ITEMS  # nearly every item (dedup may merge a few)
    for k in ks:
        assert t.user[k] == -1 and t.profile(k).tolist() == [t.pos[k]] and t.neg[k] != t.pos[k]


def test_guideline_3_artist_and_cluster(world):
    train, _, _, t, cl = world
    artist = train.context["created_by"]
    ks = pick(t, 3)
    assert ks
    for k in ks:
        u, i, j = t.user[k], t.pos[k], t.neg[k]
        prof = train.profiles()[u]
        arts, clusters = set(artist[prof].tolist()) - {-1}, set(cl[prof].tolist())
        assert sorted(t.profile(k).tolist()) == sorted(prof.tolist())
        assert i not in prof and artist[i] in arts and cl[i] in clusters
        assert artist[j] >= 0 and artist[j] not in arts and cl[j] not in clusters


def test_guideline_4_same_artist_within_margin(world):
    train, _, sampler, t, _ = world
    artist, f = train.context["created_by"], train.features
    cos = lambda a, b: float(f[a] @ f[b] / np.linalg.norm(f[a]) / np.linalg.norm(f[b]))
    ks = pick(t, 4)
    assert len(ks) > 50
    for k in ks:
        (i,), j, n = t.profile(k).tolist(), t.pos[k], t.neg[k]
        assert t.user[k] == -1 and j != i and artist[i] >= 0 and artist[j] == artist[i]
        assert artist[n] >= 0 and artist[n] != artist[i]
        assert abs(cos(i, j) - cos(i, n)) <= sampler.margin + 1e-5


def test_guideline_5_next_basket(world):
    train, _, _, t, _ = world
    baskets, profiles = train.baskets(), train.profiles()
    ks = pick(t, 5)
    assert ks
    for k in ks:
        u, i, j = t.user[k], t.pos[k], t.neg[k]
        prof = set(t.profile(k).tolist())
        assert len(prof) == len(t.profile(k))
        later = [b for b in range(1, len(baskets[u]))
                 if set(np.concatenate(baskets[u][:b]).tolist()) == prof and i in baskets[u][b]]
        assert later, "the profile is the union of the baskets before one holding the positive"
        assert i not in prof and j not in prof and j not in baskets[u][later[0]] and j not in profiles[u]


def test_no_duplicates_and_determinism(world):
    train, _, sampler, t, _ = world
    keys = {(tuple(sorted(t.profile(k).tolist())), int(t.pos[k]), int(t.neg[k])) for k in range(len(t))}
    assert len(keys) == len(t)
    again = sampler.sample(train, np.random.default_rng(0))
    for name in ("user", "pos", "neg", "profile_ptr", "profile_items", "guideline"):
        np.testing.assert_array_equal(getattr(t, name), getattr(again, name))
    other = sampler.sample(train, np.random.default_rng(1))
    assert len(other) != len(t) or not np.array_equal(other.neg, t.neg)


def test_caps():
    train, _ = make_train()
    t = GuidelineSampler(guidelines=(1,), per_guideline=5, max_per_user=3, **SMALL).sample(
        train, np.random.default_rng(0))
    assert np.bincount(t.user).max() <= 3
    t = GuidelineSampler(max_triples=50, **SMALL).sample(train, np.random.default_rng(0))
    assert len(t) == 50
    t = GuidelineSampler(per_guideline={"1": 0, 2: 3}, guidelines=[1, 2], **SMALL).sample(
        train, np.random.default_rng(0))
    assert set(t.guideline.tolist()) == {2} and len(t) > 2 * N_ITEMS


def test_vbpr_guidelines_tie_to_real_users():
    train, _ = make_train()
    assert VBPR_GUIDELINES == (1, 3)
    t = GuidelineSampler(guidelines=VBPR_GUIDELINES, **SMALL).sample(train, np.random.default_rng(0))
    assert set(t.guideline.tolist()) == {1, 3} and (t.user >= 0).all()


def test_random_sampler():
    train, _ = make_train()
    profiles = [set(p.tolist()) for p in train.profiles()]
    t = RandomSampler(per_item=6).sample(train, np.random.default_rng(0))
    assert len(t) > 800 and (t.guideline == 0).all()
    for k in range(len(t)):
        u, i = t.user[k], t.pos[k]
        assert i in profiles[u] and t.neg[k] not in profiles[u] and set(t.profile(k).tolist()) == profiles[u] - {i}
    cl = GuidelineSampler(**SMALL).clusters(train)
    ks = list(range(len(t)))
    assert abs(np.mean(cl[t.neg] == cl[t.pos]) - expected_share(t, ks, cl, 0.0)) < 0.06


def test_without_features_falls_back(caplog):
    train, _ = make_train(features=False)
    with caplog.at_level(logging.WARNING, logger="artkg.models.recsys.sampling"):
        t = GuidelineSampler(**SMALL).sample(train, np.random.default_rng(0))
    assert "guidelines 3 and 4 are skipped" in caplog.text
    assert set(t.guideline.tolist()) == {1, 2, 5, 6}


def test_visual_clusters_recover_blobs_and_scale_down():
    from sklearn.metrics import adjusted_rand_score

    train, blob = make_train()
    labels = visual_clusters(train.features, n_clusters=N_BLOBS, n_init_runs=5, seed=0)
    assert labels.dtype == np.int64 and adjusted_rand_score(blob, labels) > 0.95
    np.testing.assert_array_equal(labels, visual_clusters(train.features, n_clusters=N_BLOBS, n_init_runs=5))
    # k = min(n_clusters, max(2, n // 10), n - 1): 200 items → 20 clusters, 25 → 2, 2 → one cluster
    assert len(np.unique(visual_clusters(train.features, n_init_runs=2))) == 20
    assert len(np.unique(visual_clusters(train.features[:25], n_init_runs=2))) == 2
    assert visual_clusters(train.features[:2]).tolist() == [0, 0]
    f = train.features.copy()
    f[[3, 7]] = np.nan
    with_nan = visual_clusters(f, n_clusters=N_BLOBS, n_init_runs=3)
    assert with_nan[3] == with_nan[7] == -1 and (np.delete(with_nan, [3, 7]) >= 0).all()


def test_resolver_and_bad_input():
    assert isinstance(sampler_resolver.make("guidelines"), GuidelineSampler)
    assert isinstance(sampler_resolver.make(None), GuidelineSampler)
    assert isinstance(sampler_resolver.make("random"), RandomSampler)
    s = sampler_resolver.make("guidelines", {"guidelines": [3, 1], "per_guideline": {"1": 4}})
    assert s.guidelines == (1, 3) and s.budgets[1] == 4
    assert GuidelineSampler.kind == "guidelines" and RandomSampler.kind == "random"
    for kwargs in ({"guidelines": (7,)}, {"per_guideline": -1}, {"per_guideline": {9: 1}},
                   {"same_cluster_share": 1.5}, {"max_triples": 0}):
        with pytest.raises(InputError):
            GuidelineSampler(**kwargs)
    with pytest.raises(InputError):
        RandomSampler(per_item=0)
    with pytest.raises(InputError):
        visual_clusters(np.zeros(5))


def test_timing_2k_users_20k_items(capsys):
    """Not a timed assertion: runs the sampler at 2k users × 20k items × 40k interactions, prints it."""
    rng = np.random.default_rng(0)
    n_users, n_items, n_x = 2000, 20000, 40000
    basket = np.sort(rng.integers(0, n_x // 3, n_x))
    user = (basket * 7919) % n_users
    feats = (rng.normal(0, 3, (20, 32))[rng.integers(0, 20, n_items)]
             + rng.normal(0, 1, (n_items, 32))).astype(np.float32)
    train = TrainData(n_users, n_items, user, rng.integers(0, n_items, n_x), basket * 100.0, basket, feats,
                      {"created_by": rng.integers(-1, 2000, n_items)}, {"created_by": 2000})
    s = GuidelineSampler(n_clusters=100, cluster_runs=1)
    t0 = time.perf_counter()
    t = s.sample(train, np.random.default_rng(0))
    took = time.perf_counter() - t0
    with capsys.disabled():
        print(f"\n[sampling] 2k users × 20k items × 40k interactions: {len(t)} triples, "
              f"{len(t.profile_items)} profile entries in {took:.1f} s (1 k-means run)")
    assert set(t.guideline.tolist()) == {1, 2, 3, 4, 5, 6}
