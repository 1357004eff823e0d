"""Ranking and reciprocal rank fusion (models/recsys/fusion.py): hand-computed fused values."""
from __future__ import annotations

from fractions import Fraction as F

import numpy as np
import pytest
from artkg.kg.errors import InputError
from artkg.models.recsys.fusion import (
    descending_ranks,
    fused_top,
    reciprocal_rank_fusion,
    top_positions,
)

# Two models over four items. Descending ranks (1 = highest score):
#   A: item0 1, item1 2, item3 3, item2 4        B: item2 1, item1 2, item0 3, item3 4
A = np.array([0.9, 0.8, 0.1, 0.5])
B = np.array([0.2, 0.7, 0.9, 0.1])


def close(got, expected):
    np.testing.assert_allclose(got, np.array([float(x) for x in expected]), rtol=0, atol=1e-15)


def test_descending_ranks_highest_first():
    # Fails if someone sorts ascending (the reference code recommended the least similar items).
    assert descending_ranks(np.array([0.1, 0.5, 0.3])).tolist() == [3, 1, 2]
    assert descending_ranks(A).tolist() == [1, 2, 4, 3]
    assert descending_ranks(B).tolist() == [3, 2, 1, 4]
    assert descending_ranks(np.array([0.1, 0.5, 0.3])).dtype == np.int64


def test_descending_ranks_ties_and_nan():
    assert descending_ranks(np.array([1.0, 1.0, 0.0, 1.0])).tolist() == [1, 2, 4, 3]  # ties by position
    assert descending_ranks(np.array([np.nan, 1.0, np.nan, 2.0])).tolist() == [3, 2, 4, 1]  # NaN last
    assert descending_ranks(np.array([np.nan, -np.inf, 0.0])).tolist() == [3, 2, 1]
    assert descending_ranks(np.array([3, 1, 3], dtype=np.uint8)).tolist() == [1, 3, 2]  # no unsigned wrap


def test_rrf_total_k60_by_hand():
    got = reciprocal_rank_fusion([A, B])
    expected = [F(1, 61) + F(1, 63), F(1, 62) + F(1, 62), F(1, 64) + F(1, 61), F(1, 63) + F(1, 64)]
    close(got, expected)
    assert got.dtype == np.float64
    pos, vals = fused_top([A, B], n=4)
    assert pos.tolist() == [0, 1, 2, 3]  # 0.032266 > 0.032258 > 0.032018 > 0.031498
    close(vals, [expected[i] for i in pos])


def test_rrf_k0_changes_the_order():
    got = reciprocal_rank_fusion([A, B], k=0)
    expected = [F(1, 1) + F(1, 3), F(1, 2) + F(1, 2), F(1, 4) + F(1, 1), F(1, 3) + F(1, 4)]
    close(got, expected)
    assert fused_top([A, B], k=0, n=4)[0].tolist() == [0, 2, 1, 3]  # not k=60's [0, 1, 2, 3]


def test_rrf_partial_differs_from_total():
    # Top 2 of A: items 0, 1 (ranks 1, 2); top 2 of B: items 2, 1 (ranks 1, 2); item 3 in neither.
    got = reciprocal_rank_fusion([A, B], mode="partial", r=2)
    close(got, [F(1, 61), F(1, 62) + F(1, 62), F(1, 61), 0])
    total = reciprocal_rank_fusion([A, B])
    assert not np.allclose(got, total)
    pos, vals = fused_top([A, B], mode="partial", r=2, n=4)
    assert pos.tolist() == [1, 0, 2]  # items 0 and 2 tie at 1/61: by position; item 3 (score 0) dropped
    close(vals, [F(2, 62), F(1, 61), F(1, 61)])
    assert fused_top([A, B], n=1)[0].tolist() == [0] and fused_top([A, B], mode="partial", r=2, n=1)[0].tolist() == [1]


def test_rrf_partial_with_r_covering_everything_is_total():
    rng = np.random.default_rng(3)
    s = [rng.integers(0, 5, 50).astype(float) for _ in range(3)]
    np.testing.assert_array_equal(reciprocal_rank_fusion(s, mode="partial", r=50), reciprocal_rank_fusion(s))
    np.testing.assert_array_equal(reciprocal_rank_fusion(s, mode="partial", r=500), reciprocal_rank_fusion(s))


def test_rrf_weights_by_hand():
    got = reciprocal_rank_fusion([A, B], weights=[2, 0.5])
    close(got, [2 * F(1, 61) + F(1, 2) * F(1, 63), 2 * F(1, 62) + F(1, 2) * F(1, 62),
                2 * F(1, 64) + F(1, 2) * F(1, 61), 2 * F(1, 63) + F(1, 2) * F(1, 64)])
    got = reciprocal_rank_fusion([A, B], weights=[0, 1], mode="partial", r=2)  # a zero weight adds nothing
    close(got, [0, F(1, 62), F(1, 61), 0])
    np.testing.assert_array_equal(reciprocal_rank_fusion([A, B], weights=[1, 0]), reciprocal_rank_fusion([A]))


def test_rrf_ties_in_scores():
    s1 = np.array([1.0, 1.0, 1.0])  # ranks 1, 2, 3 by position
    s2 = np.array([0.0, 5.0, 0.0])  # ranks 2, 1, 3
    close(reciprocal_rank_fusion([s1, s2], k=0), [F(1) + F(1, 2), F(1, 2) + F(1), F(1, 3) + F(1, 3)])
    # Items 0 and 1 tie on the fused score: position decides.
    assert fused_top([s1, s2], k=0, n=3)[0].tolist() == [0, 1, 2]


def test_rrf_matches_a_loop_reference():
    rng = np.random.default_rng(0)
    n = 40
    scores = [rng.integers(0, 6, n).astype(np.float32) for _ in range(3)]
    scores[1][[3, 7]] = np.nan
    weights, k = [1.0, 0.3, 2.0], 10.0
    for mode, r in (("total", None), ("partial", 7)):
        expected = np.zeros(n)
        for s, w in zip(scores, weights):
            key = [(1, 0.0, i) if np.isnan(s[i]) else (0, -float(s[i]), i) for i in range(n)]  # NaN last
            order = [i for *_, i in sorted(key)]
            for rank, i in enumerate(order[:r] if r else order, start=1):
                expected[i] += w / (k + rank)
        np.testing.assert_allclose(reciprocal_rank_fusion(scores, weights, k=k, mode=mode, r=r), expected,
                                   rtol=1e-13, atol=0)


def test_top_positions_equals_stable_sort():
    rng = np.random.default_rng(1)
    for trial in range(200):
        n = int(rng.integers(1, 300))
        s = rng.integers(0, max(2, n // 5), n).astype(np.float64)  # many ties
        if trial % 7 == 0:
            s = s.astype(np.int64) if trial % 2 else s.astype(np.float32)
        elif trial % 3 == 0:
            s[rng.random(n) < 0.1] = np.nan
        elif trial % 5 == 0:
            s[rng.random(n) < 0.1] = -np.inf
        r = int(rng.integers(0, n + 3))
        got = top_positions(s, r)
        assert got.dtype == np.int64
        np.testing.assert_array_equal(got, np.argsort(-s, kind="stable")[:r])


def test_top_positions_best_first():
    assert top_positions(np.array([0.1, 0.5, 0.3, 0.5]), 3).tolist() == [1, 3, 2]
    assert top_positions(np.array([0.1, 0.5]), 0).tolist() == []
    lo = np.iinfo(np.int64).min  # -lo overflows; the order must not
    assert top_positions(np.array([lo, 0, lo, 5]), 4).tolist() == [3, 1, 0, 2]
    assert descending_ranks(np.array([lo, 0, lo, 5])).tolist() == [3, 2, 4, 1]


@pytest.mark.parametrize("kwargs, match", [
    ({"scores": [A, B[:3]]}, "different lengths"),
    ({"scores": [A, B], "weights": [1, -1]}, "non-negative"),
    ({"scores": [A, B], "weights": [1]}, "1 weights for 2"),
    ({"scores": [A, B], "weights": [0, 0]}, "all weights are zero"),
    ({"scores": [A, B], "k": -1}, "k must be"),
    ({"scores": [A, B], "mode": "bogus"}, "unknown fusion mode"),
    ({"scores": [A, B], "mode": "partial"}, "needs r"),
    ({"scores": [A, B], "mode": "partial", "r": 0}, "needs r"),
    ({"scores": A}, "sequence of score arrays"),
    ({"scores": []}, "no score arrays"),
    ({"scores": [np.ones((2, 2))]}, "1-D"),
    ({"scores": [np.array(["a", "b"])]}, "numeric"),
])
def test_rrf_bad_input(kwargs, match):
    with pytest.raises(InputError, match=match):
        reciprocal_rank_fusion(**kwargs)


def test_top_positions_bad_input():
    with pytest.raises(InputError):
        top_positions(A, -1)
    with pytest.raises(InputError):
        fused_top([A, B], n=-2)
