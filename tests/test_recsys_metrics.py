"""Ranking metrics of the recommender evaluation: hand-computed cases, torchmetrics and sklearn as
independent implementations on random rankings, the batched path against the per-user one."""
from __future__ import annotations

import math

import numpy as np
import pytest
from artkg.kg.errors import InputError
from artkg.models.recsys.metrics import (
    KS,
    MetricInputError,
    average,
    metric_names,
    rank_metrics,
    rank_metrics_batch,
)

L3 = 1 / math.log2(3)  # discount at rank 2: 0.63093
L5 = 1 / math.log2(5)  # discount at rank 4: 0.43068


def approx(x):
    return pytest.approx(x, abs=1e-12)


def close(tensor):
    """torchmetrics computes in float32 (nDCG's discounts and tie sums too)."""
    return pytest.approx(float(tensor), rel=1e-5, abs=1e-6)


# --- hand-computed ------------------------------------------------------------------------------

def test_hand_computed_basic():
    # Ranking by descending score: idx1 (.9, rel) r1, idx3 (.7) r2, idx2 (.5) r3, idx4 (.3, rel) r4,
    # idx0 (.1) r5. Relevant at ranks 1 and 4, |relevant| = 2.
    m = rank_metrics([0.1, 0.9, 0.5, 0.7, 0.3], [False, True, False, False, True], ks=(1, 2, 5, 10))
    assert list(m) == metric_names((1, 2, 5, 10))
    # AUC: .9 beats all 3 irrelevant (3 pairs), .3 beats only .1 (1 pair): 4 / (2 * 3).
    assert m["auc"] == approx(4 / 6)
    assert m["mrr"] == approx(1.0)
    # @1: one hit; ideal over min(2, 1) = 1 item → nDCG 1.
    assert (m["precision@1"], m["recall@1"], m["ndcg@1"]) == (approx(1.0), approx(0.5), approx(1.0))
    # @2: one hit (rank 1); DCG 1, ideal 1 + 1/log2(3).
    assert (m["precision@2"], m["recall@2"]) == (approx(0.5), approx(0.5))
    assert m["ndcg@2"] == approx(1 / (1 + L3))  # 0.61315
    # @5: hits at ranks 1 and 4; DCG 1 + 1/log2(5), ideal 1 + 1/log2(3).
    assert (m["precision@5"], m["recall@5"]) == (approx(2 / 5), approx(1.0))
    assert m["ndcg@5"] == approx((1 + L5) / (1 + L3))  # 0.87723
    # @10 > 5 candidates: precision keeps k = 10 in the denominator → 2/10; recall and nDCG as @5.
    assert (m["precision@10"], m["recall@10"]) == (approx(2 / 10), approx(1.0))
    assert m["ndcg@10"] == approx((1 + L5) / (1 + L3))


def test_mrr_and_ranks_later():
    # Ranking: .8 (irr) r1, .6 (irr) r2, .4 (rel) r3, .2 (rel) r4 → MRR 1/3; AUC 0 (both lose both).
    m = rank_metrics([0.2, 0.8, 0.4, 0.6], [True, False, True, False], ks=(2, 3))
    assert m["mrr"] == approx(1 / 3)
    assert m["auc"] == approx(0.0)
    assert m["precision@2"] == 0.0 and m["recall@2"] == 0.0 and m["ndcg@2"] == 0.0
    # @3: hit at rank 3 → DCG 1/log2(4) = 0.5; ideal over min(2, 3) = 2 → 1 + 1/log2(3).
    assert m["ndcg@3"] == approx(0.5 / (1 + L3))
    assert m["precision@3"] == approx(1 / 3) and m["recall@3"] == approx(0.5)


def test_auc_ties_count_half_and_ranking_breaks_ties_by_position():
    # scores [1, 1, 0, 0], relevant idx0, idx2. Pairs (rel, irr): (0,1) tie ½, (0,3) win 1,
    # (2,1) loss 0, (2,3) tie ½ → 2/4.
    m = rank_metrics([1.0, 1.0, 0.0, 0.0], [True, False, True, False], ks=(1,))
    assert m["auc"] == approx(0.5)
    assert m["mrr"] == approx(1.0)  # tie at the top broken by position: idx0 first
    # Same scores, relevant idx1, idx3: AUC still 0.5, but idx0 (irrelevant) now ranks first.
    m = rank_metrics([1.0, 1.0, 0.0, 0.0], [False, True, False, True], ks=(1,))
    assert m["auc"] == approx(0.5)
    assert m["mrr"] == approx(0.5) and m["precision@1"] == 0.0
    # scores [3, 2, 2, 2, 1], relevant idx1 (2) and idx4 (1). Pairs: 2 vs 3 → 0, 2 vs 2 → ½, ½;
    # 1 vs 3, 2, 2 → 0 → (0 + ½ + ½) / 6.
    m = rank_metrics([3, 2, 2, 2, 1], [0, 1, 0, 0, 1], ks=(1,))
    assert m["auc"] == approx(1 / 6)
    # All scores equal: every pair ties → 0.5, whatever is relevant.
    assert rank_metrics(np.zeros(7), np.arange(7) % 3 == 0, ks=(1,))["auc"] == approx(0.5)


def test_ndcg_more_relevant_than_k():
    # 4 relevant, k = 2. Ranking: irr, rel, rel, rel, rel (scores descending).
    # Top 2: hit at rank 2 → DCG 1/log2(3); ideal over min(4, 2) = 2 items → 1 + 1/log2(3).
    m = rank_metrics([5, 4, 3, 2, 1], [0, 1, 1, 1, 1], ks=(2,))
    assert m["ndcg@2"] == approx(L3 / (1 + L3))  # 0.38685
    assert m["precision@2"] == approx(0.5) and m["recall@2"] == approx(1 / 4)


def test_ndcg_fewer_relevant_than_k():
    # 2 relevant at ranks 1 and 3, k = 5 → DCG 1 + 1/log2(4) = 1.5; ideal over 2 → 1 + 1/log2(3).
    m = rank_metrics([6, 5, 4, 3, 2, 1], [1, 0, 1, 0, 0, 0], ks=(5,))
    assert m["ndcg@5"] == approx(1.5 / (1 + L3))  # 0.91972


def _reference_ndcg(ranked_relevant: np.ndarray, k: int) -> float:
    """The CuratorNet reference code's nDCG: ideal DCG over the hits found in the top k only."""
    hits = np.flatnonzero(ranked_relevant[:k]) + 1
    if not len(hits):
        return 0.0
    dcg = (1 / np.log2(hits + 1)).sum()
    idcg = (1 / np.log2(np.arange(1, len(hits) + 1) + 1)).sum()
    return float(dcg / idcg)


def test_ndcg_not_inflated_like_the_reference_code():
    # 3 relevant, k = 5; ranks 1, 6, 7 → one hit in the top 5 at rank 1: DCG = 1.
    # Reference: ideal over the 1 hit found = 1 → nDCG 1.0.
    # Correct: ideal over min(3, 5) = 3 items = 1 + 1/log2(3) + 1/log2(4) = 2.13093 → 0.46928.
    relevant = np.array([1, 0, 0, 0, 0, 1, 1, 0], dtype=bool)
    scores = -np.arange(8.0)  # already in rank order
    assert _reference_ndcg(relevant, 5) == 1.0
    m = rank_metrics(scores, relevant, ks=(5,))
    assert m["ndcg@5"] == approx(1 / (1 + L3 + 0.5))
    assert m["ndcg@5"] < 0.5


def test_all_relevant_gives_nan_auc_and_no_relevant_raises():
    # Three candidates, all relevant: no (relevant, irrelevant) pair → AUC NaN; the rest defined.
    m = rank_metrics([0.3, 0.2, 0.1], [True, True, True], ks=(2, 5))
    assert math.isnan(m["auc"])
    assert m["mrr"] == 1.0 and m["ndcg@2"] == approx(1.0) and m["ndcg@5"] == approx(1.0)
    assert m["precision@2"] == 1.0 and m["precision@5"] == approx(3 / 5)  # k fixed at 5
    assert m["recall@2"] == approx(2 / 3) and m["recall@5"] == 1.0
    with pytest.raises(MetricInputError, match="no relevant item") as err:
        rank_metrics([0.3, 0.2], [False, False])
    assert isinstance(err.value, InputError) and isinstance(err.value, ValueError)
    with pytest.raises(MetricInputError):
        rank_metrics([], [])


@pytest.mark.parametrize("scores, relevant, ks, message", [
    ([0.1, float("nan")], [1, 0], KS, "NaN"),
    ([0.1, 0.2], [1, 0, 0], KS, "one length"),
    ([[0.1, 0.2]], [[1, 0]], KS, "1-d"),
    ([0.1, 0.2], [2, 0], KS, "0/1"),
    ([0.1, 0.2], [1, 0], (0, 5), "positive"),
    ([0.1, 0.2], [1, 0], (5, 5), "repeat"),
    ([0.1, 0.2], [1, 0], (), "positive"),
    ([0.1, 0.2], [1, 0], (2.5,), "positive"),
])
def test_bad_input_is_one_line(scores, relevant, ks, message):
    with pytest.raises(MetricInputError, match=message) as err:
        rank_metrics(scores, relevant, ks=ks)
    assert "\n" not in str(err.value) and err.value.fix


def test_metric_names_order():
    assert metric_names((20, 100)) == ["auc", "mrr", "precision@20", "recall@20", "ndcg@20",
                                       "precision@100", "recall@100", "ndcg@100"]
    assert metric_names()[:5] == ["auc", "mrr", "precision@10", "recall@10", "ndcg@10"]
    assert list(rank_metrics([1.0, 0.0], [1, 0])) == metric_names(KS)


# --- average ------------------------------------------------------------------------------------

def test_average_leaves_nan_out_per_metric():
    rows = [{"auc": 0.5, "mrr": 1.0}, {"auc": float("nan"), "mrr": 0.5}, {"auc": 1.0, "mrr": 0.0}]
    out = average(rows)
    assert out["auc"] == approx(0.75)  # (0.5 + 1.0) / 2: the NaN user left out
    assert out["mrr"] == approx(0.5)  # (1 + 0.5 + 0) / 3
    assert out["users"] == 3
    out = average([{"auc": float("nan"), "mrr": 1.0}, {"auc": float("nan"), "mrr": 0.0}])
    assert math.isnan(out["auc"]) and out["mrr"] == 0.5 and out["users"] == 2


def test_average_of_real_metrics_and_of_a_batch():
    per_user = [rank_metrics([0.1, 0.9, 0.5], [0, 1, 0], ks=(1,)),  # auc 1, mrr 1, p@1 1
                rank_metrics([0.1, 0.9, 0.5], [1, 0, 0], ks=(1,)),  # auc 0, mrr 1/3, p@1 0
                rank_metrics([0.1, 0.9], [1, 1], ks=(1,))]  # auc NaN, mrr 1, p@1 1
    out = average(per_user)
    assert out["auc"] == approx(0.5) and out["mrr"] == approx((1 + 1 / 3 + 1) / 3)
    assert out["precision@1"] == approx(2 / 3) and out["users"] == 3
    # The batch dict: a row without a relevant candidate is NaN everywhere and does not count.
    batch = rank_metrics_batch([[0.1, 0.9, 0.5], [0.1, 0.9, 0.5], [0.1, 0.9, 0.0], [1, 2, 3]],
                               [[0, 1, 0], [1, 0, 0], [1, 1, 0], [0, 0, 0]],
                               [[1, 1, 1], [1, 1, 1], [1, 1, 0], [1, 1, 1]], ks=(1,))
    assert np.isnan([batch[name][3] for name in batch]).all()
    assert average(batch) == pytest.approx(out, nan_ok=True)


def test_average_bad_input():
    with pytest.raises(MetricInputError, match="no user"):
        average([])
    with pytest.raises(MetricInputError, match="user 1"):
        average([{"auc": 0.5}, {"mrr": 1.0}])
    with pytest.raises(MetricInputError, match="lengths"):
        average({"auc": np.zeros(2), "mrr": np.zeros(3)})


# --- independent implementations ----------------------------------------------------------------

def _random_users(rng, n_users, ties=False):
    """(scores, relevant) pairs: 1..150 candidates (many under 100, some under 10), at least one
    relevant and one irrelevant. Scores are positive (torchmetrics counts a relevant item scored
    <= 0 as a miss) and, unless ``ties``, distinct."""
    for _ in range(n_users):
        n = int(rng.choice([rng.integers(2, 12), rng.integers(2, 151)]))
        n_rel = int(rng.integers(1, n))
        relevant = np.zeros(n, dtype=bool)
        relevant[rng.choice(n, n_rel, replace=False)] = True
        if ties:
            scores = rng.integers(1, 6, n) / 5.0
        else:
            scores = (rng.permutation(n) + 1.0) / (n + 1.0)
        yield scores, relevant


def test_against_torchmetrics_on_random_rankings():
    import artkg  # noqa: F401  (torchmetrics imports torchvision: the compat shim first)
    import torch
    from torchmetrics.functional.retrieval import (
        retrieval_normalized_dcg,
        retrieval_precision,
        retrieval_recall,
        retrieval_reciprocal_rank,
    )

    rng = np.random.default_rng(0)
    ks = (1, 10, 20, 50, 100)
    checked_short = 0
    for scores, relevant in _random_users(rng, 250):
        ours = rank_metrics(scores, relevant, ks=ks)
        p, t = torch.from_numpy(scores), torch.from_numpy(relevant)
        assert ours["mrr"] == close(retrieval_reciprocal_rank(p, t))
        for k in ks:
            # Precision: k stays the denominator when fewer than k candidates = adaptive_k=False.
            assert ours[f"precision@{k}"] == close(retrieval_precision(p, t, top_k=k))
            assert ours[f"recall@{k}"] == close(retrieval_recall(p, t, top_k=k))
            # torchmetrics' ideal DCG: the labels sorted, discounts cut at k → min(|rel|, k) items.
            assert ours[f"ndcg@{k}"] == close(retrieval_normalized_dcg(p, t, top_k=k))
            if k > len(scores):
                # adaptive_k=True divides by the number of candidates instead: ours × k / n.
                adaptive = float(retrieval_precision(p, t, top_k=k, adaptive_k=True))
                assert adaptive == pytest.approx(ours[f"precision@{k}"] * k / len(scores), abs=1e-6)
                checked_short += 1
    assert checked_short > 100  # k larger than the candidate list was exercised


def test_torchmetrics_quirk_the_comparison_avoids():
    # torchmetrics' precision/recall/RR drop relevant items scored <= 0 (``preds > 0``): the same
    # ranking shifted below zero scores 0 there; ours depends on the order only.
    import artkg  # noqa: F401
    import torch
    from torchmetrics.functional.retrieval import retrieval_recall

    scores, relevant = np.array([0.5, 0.3, 0.1]), np.array([True, False, True])
    shifted = scores - 1.0
    assert float(retrieval_recall(torch.from_numpy(shifted), torch.from_numpy(relevant), top_k=2)) == 0
    assert rank_metrics(shifted, relevant, ks=(2,)) == rank_metrics(scores, relevant, ks=(2,))


@pytest.mark.parametrize("ties", [False, True])
def test_auc_against_sklearn(ties):
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(1 + ties)
    n_tied = 0
    for scores, relevant in _random_users(rng, 250, ties=ties):
        n_tied += len(np.unique(scores)) < len(scores)
        assert rank_metrics(scores, relevant, ks=(1,))["auc"] == approx(roc_auc_score(relevant, scores))
    assert (n_tied > 200) == ties


def test_batch_matches_per_user():
    rng = np.random.default_rng(3)
    n_users, width = 120, 60
    scores = rng.integers(0, 8, (n_users, width)) / 7.0  # many ties
    scores[rng.random(scores.shape) < 0.05] = np.nan  # NaN padding must not matter
    lengths = rng.integers(0, width + 1, n_users)
    valid = np.arange(width) < lengths[:, None]
    valid = np.take_along_axis(valid, rng.permuted(np.tile(np.arange(width), (n_users, 1)), axis=1), 1)
    scores[valid & np.isnan(scores)] = 0.5
    relevant = rng.random((n_users, width)) < rng.random((n_users, 1)) * 0.5
    relevant[:5] = valid[:5]  # all relevant: AUC NaN
    relevant[~valid] |= rng.random((~valid).sum()) < 0.5  # relevant padding is ignored
    ks = (1, 5, 20, 100)
    batch = rank_metrics_batch(scores, relevant, valid, ks=ks)
    assert list(batch) == metric_names(ks)
    n_none = 0
    for u in range(n_users):
        s, r = scores[u][valid[u]], relevant[u][valid[u]]
        if not r.any():
            assert all(np.isnan(batch[name][u]) for name in batch)
            n_none += 1
            continue
        one = rank_metrics(s, r, ks=ks)
        for name, value in one.items():
            assert batch[name][u] == pytest.approx(value, abs=1e-12, nan_ok=True), (u, name)
    assert n_none > 0


def test_batch_padding_never_ties_with_candidates():
    # Row 0: valid candidates score 0 and 0 (a tie → AUC ½); the padding, whatever it holds, must
    # not join that tie. Row 1: padding first in the row and scored high, relevant flag set there.
    batch = rank_metrics_batch([[0.0, 0.0, 0.0, 9.0], [9.0, 9.0, 0.2, 0.1]],
                               [[True, False, True, False], [True, True, False, True]],
                               [[True, True, False, False], [False, False, True, True]], ks=(1, 2))
    assert batch["auc"].tolist() == [0.5, 0.0]
    assert batch["mrr"].tolist() == [1.0, 0.5]
    assert batch["precision@2"].tolist() == [0.5, 0.5] and batch["recall@1"].tolist() == [1.0, 0.0]


def test_batch_bad_input():
    with pytest.raises(MetricInputError, match="one shape"):
        rank_metrics_batch(np.zeros((2, 3)), np.zeros((2, 4), dtype=bool))
    with pytest.raises(MetricInputError, match="NaN"):
        rank_metrics_batch([[np.nan, 1.0]], [[1, 0]])
    assert np.isnan(rank_metrics_batch(np.zeros((2, 0)), np.zeros((2, 0), bool), ks=(1,))["mrr"]).all()


def test_large_user_is_fast():
    rng = np.random.default_rng(4)
    scores = rng.random(200_000)
    relevant = rng.random(200_000) < 0.001
    m = rank_metrics(scores, relevant)
    assert 0.45 < m["auc"] < 0.55
