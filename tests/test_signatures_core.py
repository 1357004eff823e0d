"""Visual signatures: loss, component split, hard-negative mining, clusters and their scores.

Expected values are worked out by hand in the comments (angles on the unit circle: d = 1 − cos).
"""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from artkg.kg.errors import InputError
from artkg.models.signatures.clusters import cluster, family_scores, retrieval_scores, split_large
from artkg.models.signatures.loss import compound_hinge, l2_normalise, signature_pool
from artkg.models.signatures.mining import epoch_triplets, hard_negatives
from artkg.models.signatures.split import component_split, components, held_out_pairs


def circle(*angles):
    return np.array([[math.cos(t), math.sin(t)] for t in angles])


def t(x):
    return torch.tensor(np.asarray(x), dtype=torch.float64)


# ----------------------------------------------------------------------------------------- loss
def test_l2_normalise_is_per_sample():
    x = np.array([[3.0, 4.0], [0.0, 0.5], [0.0, 0.0]])
    out = l2_normalise(x)
    # each row on its own: (3, 4)/5 and (0, 0.5)/0.5; dividing by the batch norm would give other rows
    np.testing.assert_allclose(out, [[0.6, 0.8], [0.0, 1.0], [0.0, 0.0]])
    np.testing.assert_allclose(l2_normalise(t(x)).numpy(), out)


def test_signature_pool_maps_and_tokens():
    fm = np.zeros((2, 3, 2, 2))
    fm[0] = np.arange(1, 4)[:, None, None]          # channel c constant c + 1 -> mean (1, 2, 3)
    fm[1, 0, 0, 0] = 8.0                            # one cell of four -> mean (2, 0, 0)
    out = signature_pool(t(fm)).numpy()
    np.testing.assert_allclose(out, [np.array([1, 2, 3]) / math.sqrt(14), [1, 0, 0]])
    np.testing.assert_allclose(signature_pool(fm), out)
    tokens = t([[[1.0, 0.0], [0.0, 1.0]]])          # mean (0.5, 0.5) -> (1, 1)/sqrt 2
    np.testing.assert_allclose(signature_pool(tokens).numpy(), [[2 ** -0.5, 2 ** -0.5]])
    with pytest.raises(InputError):
        signature_pool(torch.zeros(2, 3, 4, 5, 6))


def _hand_cases():
    # 1. swap: A at 0, B at 0.4, C at 0.7 -> d(B,C) = 1-cos .3 < d(A,C) = 1-cos .7 (both larger than d(A,B)).
    swap = circle(0.0, 0.4, 0.7)
    swap_loss = 0.01 + (1 - math.cos(0.4)) - (1 - math.cos(0.3))
    no_swap = max(0.0, 0.01 + (1 - math.cos(0.4)) - (1 - math.cos(0.7)))
    assert no_swap == 0.0 and swap_loss > 0.02      # the anchor swap is what makes this case count
    # 2. only the second margin: B at 0.5 (d = .1224 > .1), C opposite A (far from both)
    second = circle(0.0, 0.5, math.pi)
    second_loss = (1 - math.cos(0.5)) - 0.1
    # 3. zero loss: A = B, C orthogonal (0.01 + 0 - 1 < 0 and 0 - 0.1 < 0)
    zero = circle(0.0, 0.0, math.pi / 2)
    return np.stack([swap, second, zero]), np.array([swap_loss, second_loss, 0.0])


def test_compound_hinge_hand_cases():
    cases, expected = _hand_cases()
    a, b, c = (t(cases[:, i]) for i in range(3))
    np.testing.assert_allclose(compound_hinge(a, b, c, reduction="none").numpy(), expected, atol=1e-12)
    assert float(compound_hinge(a, b, c)) == pytest.approx(expected.mean(), abs=1e-12)
    assert float(compound_hinge(a, b, c, reduction="sum")) == pytest.approx(expected.sum(), abs=1e-12)


def test_compound_hinge_ignores_each_samples_scale():
    cases, expected = _hand_cases()
    scale = t([[7.0], [0.01], [300.0]])              # a batch-wide norm would mix these up
    a, b, c = (t(cases[:, i]) * scale for i in range(3))
    np.testing.assert_allclose(compound_hinge(a, b * 3, c * 0.2, reduction="none").numpy(), expected, atol=1e-12)


def test_compound_hinge_gradients_finite():
    g = torch.Generator().manual_seed(0)
    a, b, c = (torch.randn(16, 32, generator=g, dtype=torch.float64) for _ in range(3))
    a[0] = 0.0                                       # a zero signature must not give NaN
    a.requires_grad_(True), b.requires_grad_(True), c.requires_grad_(True)
    loss = compound_hinge(a, b, c, margin=0.5, margin2=0.0)
    loss.backward()
    for x in (a, b, c):
        assert torch.isfinite(x.grad).all()
    assert b.grad.abs().sum() > 0
    with pytest.raises(InputError):
        compound_hinge(a, b[:3], c)


def test_compound_hinge_chord_distance_by_hand_and_its_gradient_where_works_meet():
    # unit vectors at angles 0, 0.3 and 1.0 rad: chords 2 sin(θ/2)
    a, b, c = t([[1.0, 0.0]]), t([[math.cos(0.3), math.sin(0.3)]]), t([[math.cos(1.0), math.sin(1.0)]])
    d_ab, d_ac, d_bc = 2 * math.sin(0.15), 2 * math.sin(0.5), 2 * math.sin(0.35)
    expected = max(0.0, 0.1 + d_ab - min(d_ac, d_bc)) + max(0.0, d_ab - 0.2)
    assert float(compound_hinge(a, b, c, 0.1, 0.2, distance="chord")) == pytest.approx(expected, abs=1e-12)
    # where A, B and C nearly coincide, 1 - cos has (almost) no gradient left; the chord has
    grads = {}
    for distance in ("cosine", "chord"):
        x = t([[1.0, 1e-4]]).requires_grad_(True)
        compound_hinge(x, t([[1.0, 0.0]]), t([[1.0, 2e-4]]), 0.01, 0.1, distance=distance).backward()
        grads[distance] = float(x.grad.abs().max())
    assert grads["cosine"] < 1e-3 < grads["chord"]
    with pytest.raises(InputError, match="unknown distance"):
        compound_hinge(a, b, c, distance="euclid")
    from artkg.models.signatures.config import SignatureConfig

    with pytest.raises(InputError, match="distance 'euclid'"):
        SignatureConfig.coerce({"distance": "euclid"})


# ----------------------------------------------------------------------------------------- split
def _random_pairs(n, p, seed):
    rng = np.random.default_rng(seed)
    pairs = rng.integers(0, n, size=(p, 2))
    return pairs[pairs[:, 0] != pairs[:, 1]]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_component_split_no_component_crosses(seed):
    n = 600
    pairs = _random_pairs(n, 250, seed)
    split = component_split(n, pairs, seed=seed)
    part = np.full(n, -1)
    for k, name in enumerate(("train", "val", "test")):
        assert np.all(part[split[name]] == -1)       # disjoint
        part[split[name]] = k
    assert np.all(part >= 0)                         # every item, linked or not, is assigned
    assert np.all(part[pairs[:, 0]] == part[pairs[:, 1]])
    comp = components(n, pairs)
    for c in np.unique(comp):
        assert len(np.unique(part[comp == c])) == 1
    held = held_out_pairs(pairs, split)
    assert sum(len(v) for v in held.values()) == len(pairs)


def test_component_split_deterministic_and_seeded():
    pairs = _random_pairs(400, 150, 3)
    a, b = component_split(400, pairs, seed=5), component_split(400, pairs, seed=5)
    assert all(np.array_equal(a[k], b[k]) for k in a)
    others = [component_split(400, pairs, seed=s)["test"] for s in range(6, 10)]
    assert any(not np.array_equal(a["test"], o) for o in others)


@pytest.mark.parametrize("fractions", [(0.8, 0.1, 0.1), (0.6, 0.2, 0.2), (0.5, 0.5, 0.0)])
def test_component_split_fractions_roughly_met(fractions):
    n = 3000
    for seed in range(3):
        pairs = _random_pairs(n, 900, 10 + seed)     # many small components, plenty of singletons
        split = component_split(n, pairs, fractions, seed=seed)
        largest = np.bincount(components(n, pairs)).max()
        for name, f in zip(("train", "val", "test"), fractions):
            assert abs(len(split[name]) - f * n) <= largest
        assert len(split["test"]) > 0 or fractions[2] == 0


def test_component_split_big_component_and_hand_case():
    # a chain 0-1-2-3-4-5 (6 of 10 items) cannot go to val or test (targets 1 each): it goes to train
    pairs = np.array([[0, 1], [1, 2], [2, 3], [3, 4], [4, 5]])
    split = component_split(10, pairs, seed=0)
    assert set(range(6)) <= set(split["train"].tolist())
    assert [len(split[k]) for k in ("train", "val", "test")] == [8, 1, 1]
    sub = held_out_pairs(np.array([[0, 1], [6, 7], [7, 8]]), np.array([6, 7, 9]))
    np.testing.assert_array_equal(sub, [[6, 7]])
    with pytest.raises(InputError):
        component_split(10, pairs, (0.5, 0.2, 0.2))
    with pytest.raises(InputError):
        component_split(5, pairs)


# ----------------------------------------------------------------------------------------- mining
def test_hard_negatives_hand_case():
    x = circle(0.0, 0.1, 0.2, 0.3, 1.5, 3.0)
    # anchor 0: nearest is 1 (a positive), then 2
    assert hard_negatives(x, np.array([[0, 1]]), k=1, anchors=[0])[0] == 2
    # with 0, 1, 2 in one component, the nearest allowed is 3
    comp = np.array([0, 0, 0, 1, 2, 3])
    assert hard_negatives(x, np.array([[0, 1]]), k=1, anchors=[0], components=comp)[0] == 3
    # k = 2 draws among {2, 3}, both seen over seeds, never anything else
    drawn = {int(hard_negatives(x, {0: [1]}, k=2, rng=s, anchors=[0])[0]) for s in range(40)}
    assert drawn == {2, 3}
    # everything excluded -> -1
    np.testing.assert_array_equal(hard_negatives(circle(0.0, 1.0), np.array([[0, 1]]), k=3), [-1, -1])


def test_hard_negatives_random_against_brute_force():
    rng = np.random.default_rng(0)
    n, k = 300, 5
    x = rng.normal(size=(n, 16)).astype(np.float32)
    pairs = _random_pairs(n, 200, 1)
    comp = components(n, pairs)
    neg = hard_negatives(x, pairs, k=k, rng=7, components=comp)
    xn = l2_normalise(x)
    sims = xn @ xn.T
    for i in range(n):
        allowed = comp != comp[i]
        assert neg[i] >= 0 and allowed[neg[i]]
        kth = np.sort(sims[i][allowed])[::-1][k - 1]
        assert sims[i, neg[i]] >= kth - 1e-6           # among the k nearest allowed
    # chunking and input type do not change the draw
    np.testing.assert_array_equal(hard_negatives(x, pairs, k=k, rng=7, components=comp, chunk_size=7), neg)
    np.testing.assert_array_equal(hard_negatives(torch.from_numpy(x), pairs, k=k, rng=7, components=comp), neg)


def test_epoch_triplets_repeats_explicit_negatives_and_negative_views():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(40, 8)).astype(np.float32)
    tp = np.array([[0, 1], [2, 3], [4, 5], [6, 7]])
    comp = components(40, tp)
    negs_of = {0: [20], 20: [0], 6: [21], 21: [6]}
    kw = dict(k=5, seed=1, epoch=3, explicit_rate=1.0)
    plain, counts = epoch_triplets(x, tp, comp, negs_of, **kw)
    assert counts == {"triplets": 4, "explicit_negatives": 2, "negative_views": 0}
    assert sorted(map(tuple, plain[:, :2].tolist())) == sorted(map(tuple, tp.tolist()))
    c_of = {tuple(t[:2]): t[2] for t in plain.tolist()}
    assert c_of[(0, 1)] == 20 and c_of[(6, 7)] == 21          # rate 1: the verdict is always the negative
    assert all(comp[c] != comp[a] for (a, _), c in c_of.items())
    # repeats: each connection drawn that many times; the same draws again for the same (seed, epoch)
    again, counts = epoch_triplets(x, tp, comp, negs_of, **kw, repeats=np.array([1, 3, 1, 2]))
    assert counts["triplets"] == 7
    drawn = {tuple(p): n for p, n in zip(*np.unique(again[:, :2], axis=0, return_counts=True))}
    assert drawn == {(0, 1): 1, (2, 3): 3, (4, 5): 1, (6, 7): 2}
    np.testing.assert_array_equal(epoch_triplets(x, tp, comp, negs_of, **kw, repeats=np.array([1, 3, 1, 2]))[0], again)
    # negative views: every explicit negative (X, Y) also as (X, X, Y) or (Y, Y, X)
    views = np.array([[0, 20], [6, 21], [30, 31]])
    with_views, counts = epoch_triplets(x, tp, comp, negs_of, **kw, negative_views=views)
    assert counts == {"triplets": 7, "explicit_negatives": 2, "negative_views": 3}
    selfs = with_views[with_views[:, 0] == with_views[:, 1]]
    assert sorted(tuple(sorted(t[1:])) for t in selfs.tolist()) == [(0, 20), (6, 21), (30, 31)]
    assert sorted(map(tuple, with_views[with_views[:, 0] != with_views[:, 1]].tolist())) == sorted(map(tuple, plain.tolist()))
    # size: exactly that many connections, each drawn once per full round (a step-matched control)
    longer, counts = epoch_triplets(x, tp, comp, negs_of, **kw, size=10)
    assert counts["triplets"] == 10
    pairs, n = np.unique(longer[:, :2], axis=0, return_counts=True)
    assert sorted(map(tuple, pairs.tolist())) == sorted(map(tuple, tp.tolist())) and sorted(n) == [2, 2, 3, 3]
    np.testing.assert_array_equal(longer[:4], plain)                  # (rate 1) the first round is the plain epoch
    shorter, counts = epoch_triplets(x, tp, comp, negs_of, **kw, size=3)
    assert counts["triplets"] == 3 and len({tuple(p) for p in shorter[:, :2].tolist()}) == 3


def test_hard_negatives_large_collection_in_chunks():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(100_000, 8)).astype(np.float32)
    anchors = np.arange(0, 100_000, 2_000)
    neg = hard_negatives(x, np.array([[0, 1]]), k=10, rng=0, anchors=anchors, chunk_size=16)
    assert neg.shape == (50,) and np.all((neg >= 0) & (neg != anchors))


# ----------------------------------------------------------------------------------------- clusters
def _groups(seed=0):
    """Three tight groups (cosine distance < 0.01 inside, > 0.5 between) and one isolated work."""
    rng = np.random.default_rng(seed)
    centres = np.eye(8)[:3] + 0.0
    x = np.concatenate([c + 0.02 * rng.normal(size=(5, 8)) for c in centres] + [np.eye(8)[[7]]])
    truth = np.repeat([0, 1, 2, -1], [5, 5, 5, 1])
    return x, truth


@pytest.mark.parametrize("method", ["optics", "OPTICS", "dbscan"])
def test_cluster_density_methods(method):
    x, truth = _groups()
    labels = cluster(x, method)
    for g in range(3):
        assert len(set(labels[truth == g])) == 1 and labels[truth == g][0] >= 0
    assert len(set(labels[:15])) == 3 and labels[-1] == -1


def test_cluster_hdbscan_pure():
    # HDBSCAN with min_cluster_size 2 may split a tight group, but never mixes two groups
    x, truth = _groups()
    labels = cluster(x, "hdbscan")
    assert (labels >= 0).sum() >= 10
    for lab in set(labels.tolist()) - {-1}:
        assert len(set(truth[labels == lab])) == 1


@pytest.mark.filterwarnings("ignore:All reachability values are inf")
def test_cluster_optics_default_cuts_at_cosine_013():
    # two works at cosine distance 0.12 form a cluster; at 0.14 both are noise
    near, far = math.acos(1 - 0.12), math.acos(1 - 0.14)
    assert list(cluster(circle(0.0, near))) == [0, 0]
    assert list(cluster(circle(0.0, far))) == [-1, -1]


def test_cluster_kmeans_objects_and_errors():
    from sklearn.cluster import AgglomerativeClustering
    from sklearn.metrics import adjusted_rand_score

    x, truth = _groups()
    x, truth = x[:15], truth[:15]
    assert adjusted_rand_score(truth, cluster(x, "kmeans", n_clusters=3)) == 1.0
    assert adjusted_rand_score(truth, cluster(x, AgglomerativeClustering(n_clusters=3))) == 1.0
    assert adjusted_rand_score(truth, cluster(x, AgglomerativeClustering, n_clusters=3)) == 1.0
    with pytest.raises(InputError, match="optics"):
        cluster(x, "spectral-ish")
    with pytest.raises(InputError):
        cluster(x, "kmeans")
    with pytest.raises(InputError):
        cluster(x, AgglomerativeClustering(), n_clusters=3)


def test_split_large_cuts_a_chained_cluster_until_the_pieces_fit():
    # unit vectors by angle: two tight groups joined by a bridge of works 0.1 rad apart, and a far pair
    angles = np.r_[0.0, 0.01, 0.02, 0.03, 0.15, 0.25, 0.35, 0.5, 0.51, 0.52, 0.53, 2.0, 2.001]
    x = np.stack([np.cos(angles), np.sin(angles)], axis=1)
    labels = cluster(x, "dbscan", eps=0.012)
    assert len(set(labels[:11])) == 1 and labels[11] == labels[12] != labels[0]  # the bridge chains 11 works
    for method in ("dbscan", "optics"):
        key = "eps" if method == "dbscan" else "max_eps"
        got = split_large(x, labels, 5, method, **{key: 0.012})
        sizes = np.bincount(got[got >= 0])
        assert sizes.max() <= 5
        a, bridge, b = got[:4], got[4:7], got[7:11]
        assert len(set(a)) == len(set(bridge)) == len(set(b)) == 1 and len({a[0], bridge[0], b[0]}) == 3
        assert got[11] == got[12] == labels[11]  # a cluster that fits keeps its label
        assert min(a[0], bridge[0], b[0]) > labels.max()  # pieces get fresh labels
    # a cluster of identical works cannot be cut: it becomes noise once the radius is below min_radius
    same = np.repeat([[1.0, 0.0]], 4, axis=0)
    assert (split_large(same, np.zeros(4, dtype=np.int64), 2, "dbscan", eps=0.1) == -1).all()
    with pytest.raises(InputError, match="needs OPTICS or DBSCAN"):
        split_large(x, labels, 5, "kmeans")
    with pytest.raises(InputError, match="shrink"):
        split_large(x, labels, 5, "dbscan", shrink=1.0)


def test_nearest_pairs_csls_against_brute_force_and_blocks():
    from artkg.models.signatures.neighbours import nearest_pairs

    rng = np.random.default_rng(3)
    x = rng.normal(size=(60, 8))
    x[:20] = x[0] + 0.05 * rng.normal(size=(20, 8))  # a blob: every pair in it is close by plain cosine
    xn = x / np.linalg.norm(x, axis=1, keepdims=True)
    sim = xn @ xn.T
    np.fill_diagonal(sim, -np.inf)
    k, hub_k = 4, 6
    near = np.argsort(-sim, axis=1, kind="stable")[:, :k]
    hub = -np.sort(-sim, axis=1)[:, :hub_k].mean(axis=1)
    want = {(min(a, b), max(a, b)) for a in range(60) for b in near[a].tolist()}
    got = nearest_pairs(x, k=k, hub_k=hub_k)
    assert set(zip(got["i"].tolist(), got["j"].tolist())) == want and (got["i"] < got["j"]).all()
    assert np.allclose(got["hub"], hub, atol=1e-6)
    assert np.allclose(got["cosine"], sim[got["i"], got["j"]])
    assert np.allclose(got["score"], 2 * sim[got["i"], got["j"]] - hub[got["i"]] - hub[got["j"]], atol=1e-6)
    assert (np.diff(got["score"]) <= 0).all()
    # the blob's pairs lead by plain cosine; CSLS discounts them against the blob's own closeness
    plain = nearest_pairs(x, k=k, hub_k=0)
    assert np.array_equal(plain["score"], plain["cosine"]) and (plain["hub"] == 0).all()
    assert (plain["i"][:10] < 20).all() and (got["i"][:10] >= 20).mean() > 0.5
    blocks = nearest_pairs(x, k=k, hub_k=hub_k, chunk_size=7)
    assert all(np.array_equal(blocks[key], got[key]) for key in ("i", "j", "score", "hub"))
    with pytest.raises(InputError, match="k >= 1"):
        nearest_pairs(x, k=0)
    with pytest.raises(InputError, match="no pair"):
        nearest_pairs(x[:1])


def test_family_scores_hand_case():
    labels = np.array([0, 0, 0, 1, 1, -1, -1, 2, 2, 2, 2, 2])   # cluster sizes: 0 -> 3, 1 -> 2, 2 -> 5
    families = [[0, 1, 2],        # whole cluster 0: recall 1, precision 2/2
                [3, 4, 5, 6],     # 2 in cluster 1, 2 noise: recall 2/4, precision 1/1
                [5, 6],           # all noise: 0, 0
                [7, 8],           # 2 of cluster 2 (size 5): recall 1, precision 1/4
                [0, 3, 7, 7],     # one in each cluster (duplicate 7 ignored): recall 1/3, precision 0
                [0, 1, 9, 10, 11]]  # 2 in cluster 0, 3 in cluster 2: recall 3/5, precision 2/4
    s = family_scores(labels, families)
    np.testing.assert_allclose(s["recall"], [1, 0.5, 0, 1, 1 / 3, 0.6])
    np.testing.assert_allclose(s["precision"], [1, 1, 0, 0.25, 0, 0.5])
    np.testing.assert_array_equal(s["cluster"], [0, 1, -1, 2, 1, 2])   # tie -> smallest cluster (1)
    np.testing.assert_array_equal(s["count"], [3, 2, 0, 2, 1, 3])
    assert s["mean_recall"] == pytest.approx((1 + 0.5 + 0 + 1 + 1 / 3 + 0.6) / 6)
    assert s["mean_precision"] == pytest.approx((1 + 1 + 0 + 0.25 + 0 + 0.5) / 6)
    with pytest.raises(InputError):
        family_scores(labels, [[3]])
    with pytest.raises(InputError):
        family_scores(labels, [[3, 12]])


def test_retrieval_scores_hand_case():
    x = circle(0.0, 0.1, 0.3, 1.0, 2.2)
    # ranks (closest first, query excluded): 0->2: 2, 0->4: 4, 2->0: 2, 4->3: 1, 4->0: 4, 3->4: 4
    # AP: q0 (1/2 + 2/4)/2 = .5, q2 1/2, q4 (1/1 + 2/4)/2 = .75, q3 1/4 -> mAP .5
    s = retrieval_scores(x, [[0, 2], [0, 4], [3, 4], [2, 0]], ks=(1, 2, 4))
    assert s["mAP"] == pytest.approx(0.5)
    assert s["mean_rank"] == pytest.approx(17 / 6) and s["median_rank"] == 3.0
    assert (s["recall@1"], s["recall@2"], s["recall@4"]) == pytest.approx((1 / 6, 3 / 6, 1.0))
    assert (s["n_queries"], s["n_pairs"]) == (4, 3)
    assert retrieval_scores(torch.from_numpy(x), [[0, 2], [0, 4], [3, 4]], ks=(1, 2, 4), chunk_size=1) == s


def test_retrieval_scores_ties_count_against():
    # a collapsed model (all signatures equal) ranks every target last, not first
    s = retrieval_scores(np.ones((5, 3)), [[0, 1]], ks=(1,))
    assert s["mean_rank"] == 4.0 and s["recall@1"] == 0.0 and s["mAP"] == pytest.approx(0.25)
    with pytest.raises(InputError):
        retrieval_scores(np.ones((5, 3)), [[1, 1]])


def test_inherit_split_keeps_the_init_runs_parts_by_hand():
    from artkg.models.signatures.split import inherit_split

    # init run: (0,1) train, (2,3) val, (4,5) test; 6, 7 and 9 unlinked (train, test, test); 8 is new
    init_part = np.array([0, 0, 1, 1, 2, 2, 0, 2, -1, 2])
    init_linked = np.array([1, 1, 1, 1, 1, 1, 0, 0, 0, 0], dtype=bool)
    # since: 6-7 linked (only new connections), 8 joined to the val family, 1-4 joins train and test
    pairs = [(0, 1), (2, 3), (4, 5), (6, 7), (2, 8), (1, 4)]
    parts = inherit_split(10, pairs, init_part, init_linked)
    assert {k: v.tolist() for k, v in parts.items()} == {"train": [0, 1, 4, 5, 6, 7], "val": [2, 3, 8], "test": [9]}
    same = inherit_split(10, [(0, 1), (2, 3), (4, 5)], init_part, init_linked)  # nothing new: the init's split
    assert {k: v.tolist() for k, v in same.items()} == {"train": [0, 1, 6, 8], "val": [2, 3], "test": [4, 5, 7, 9]}
    assert 8 in same["train"]  # a work new since the init run, unlinked: train
    with pytest.raises(InputError, match="one entry per item"):
        inherit_split(10, pairs, init_part[:5], init_linked)
