"""Beyond-accuracy metrics (models/recsys/beyond.py): small hand-computed cases and RBO's definition."""
from __future__ import annotations

import math
from fractions import Fraction as F

import numpy as np
import pytest
from artkg.kg.errors import InputError
from artkg.models.recsys.beyond import (
    between,
    catalogue_coverage,
    intra_list_diversity,
    iou,
    mean_pairwise,
    novelty,
    rbo,
    serendipity,
)

P = F(9, 10)


def test_intra_list_diversity_by_hand():
    vectors = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [2.0, 0.0]])  # rows are normalised inside
    # [0, 1]: 1 − 0 = 1; [0, 3]: 1 − 1 = 0; [0, 1, 2]: (1 + 2·(1 − 1/√2)) / 3; [2]: skipped (one item)
    lists = [np.array([0, 1]), np.array([0, 3]), np.array([0, 1, 2]), np.array([2])]
    expected = (1 + 0 + (3 - math.sqrt(2)) / 3) / 3
    assert intra_list_diversity(lists, vectors) == pytest.approx(expected, abs=1e-12)
    assert intra_list_diversity([np.array([0, 3])], vectors) == pytest.approx(0.0, abs=1e-12)
    assert math.isnan(intra_list_diversity([np.array([1])], vectors))
    with_zero = np.vstack([vectors, [[0.0, 0.0]]])  # a zero vector: cosine 0 with everything
    assert intra_list_diversity([np.array([0, 4])], with_zero) == pytest.approx(1.0)
    with pytest.raises(InputError, match="outside"):
        intra_list_diversity([np.array([0, 9])], vectors)


def test_intra_list_diversity_matches_loop_on_random_data():
    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((30, 5))
    lists = [rng.choice(30, size=int(rng.integers(0, 7)), replace=False) for _ in range(25)]
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    per = [np.mean([1 - unit[a] @ unit[b] for i, a in enumerate(li) for b in li[i + 1:]]) for li in lists if len(li) > 1]
    assert intra_list_diversity(lists, vectors) == pytest.approx(np.mean(per), abs=1e-12)


def test_novelty_by_hand():
    counts, n_users = np.array([0, 3, 1]), 3
    # −log2((c + 1) / 4): item 0 → 2 bits, item 1 → 0, item 2 → 1; four recommendations pooled
    assert novelty([np.array([0, 1]), np.array([2, 0])], counts, n_users) == pytest.approx(5 / 4)
    assert novelty(np.array([[1, 2]]), counts, n_users) == pytest.approx(1 / 2)
    with pytest.raises(InputError, match="n_users"):
        novelty([np.array([0])], np.array([0, 5]), 3)


def test_serendipity_by_hand():
    lists = [np.array([0, 1, 2]), np.array([3, 4]), np.array([], dtype=np.int64)]
    relevant = [np.array([0, 2]), np.array([4]), np.array([1])]
    expected = [np.array([2]), np.array([], dtype=np.int64), np.array([1])]
    # user 0: {0} of 3 (2 is expected); user 1: {4} of 2; user 2: empty list, skipped
    assert serendipity(lists, relevant, expected) == pytest.approx(F(1, 3) / 2 + F(1, 2) / 2)
    # another user's relevant item does not count for this user
    assert serendipity([np.array([5, 6])], [np.array([6])], [np.array([0])]) == pytest.approx(0.5)
    assert serendipity([np.array([5, 6]), np.array([7])], [np.array([7]), np.array([5])],
                       [np.array([], dtype=np.int64)] * 2) == 0.0
    with pytest.raises(InputError, match="one relevant set"):
        serendipity(lists, relevant[:2], expected)


def test_catalogue_coverage_and_iou():
    assert catalogue_coverage([np.array([0, 1]), np.array([1, 2])], 10) == pytest.approx(0.3)
    with pytest.raises(InputError, match="outside"):
        catalogue_coverage([np.array([0, 10])], 10)
    assert iou([1, 2, 3], [2, 3, 4]) == pytest.approx(2 / 4)
    assert iou([1, 2], [3]) == 0.0
    assert iou([], []) == 1.0 and iou([1], []) == 0.0
    assert iou([3, 1, 2], [1, 2, 3]) == 1.0  # order does not matter to IoU


def test_rbo_by_hand():
    assert rbo([1, 2, 3], [1, 2, 3]) == pytest.approx(1.0, abs=1e-12)
    assert rbo([1, 2, 3], [4, 5, 6]) == 0.0
    # One swap at the top: X = (0, 2, 3): (1−p)/p · (0·p + 2/2·p² + 3/3·p³) + 3/3·p³
    swap = (1 - P) / P * (0 * P + F(2, 2) * P**2 + F(3, 3) * P**3) + F(3, 3) * P**3
    assert rbo([1, 2, 3], [2, 1, 3]) == pytest.approx(float(swap), abs=1e-12)
    assert float(swap) == pytest.approx(0.9)
    # A swap further down costs less.
    assert rbo([1, 2, 3], [1, 3, 2]) > rbo([1, 2, 3], [2, 1, 3])
    # Different lengths, S = [1, 4], L = [1, 2, 3]: s = 2, l = 3, X = (1, 1, 1), X_s = 1, X_l = 1
    unequal = (1 - P) / P * (F(1, 1) * P + F(1, 2) * P**2 + F(1, 3) * P**3 + F(1 * 1, 2 * 3) * P**3) \
        + (F(1 - 1, 3) + F(1, 2)) * P**3
    assert rbo([1, 4], [1, 2, 3]) == pytest.approx(float(unequal), abs=1e-12)
    assert float(unequal) == pytest.approx(0.55)
    # The shorter list a prefix of the longer one: its unseen rest is assumed to agree → 1
    assert rbo([1, 2], [1, 2, 3]) == pytest.approx(1.0, abs=1e-12)
    # p matters: p = 1/2, one swap → (1/2)/(1/2)·(1/4 + 1/8) + 1/8
    assert rbo([1, 2, 3], [2, 1, 3], p=0.5) == pytest.approx(0.5)
    assert rbo([], []) == 1.0 and rbo([1], []) == 0.0


def _rbo_from_definition(a, b, p, depth=3000):
    """RBO = (1−p) Σ_d p^(d−1) A_d over an extended ranking: A_d = X_d/d up to the shorter length s;
    between s and l the shorter list's unseen items agree at rate X_s/s; past l the agreement stays
    (X_l − X_s)/l + X_s/s (Webber et al. 2010, section 4)."""
    s_list, l_list = (a, b) if len(a) <= len(b) else (b, a)
    s, l = len(s_list), len(l_list)

    def x(d):
        return len(set(s_list[:min(d, s)]) & set(l_list[:d]))
    total = 0.0
    for d in range(1, depth + 1):
        if d <= s:
            agree = x(d) / d
        elif d <= l:
            agree = (x(d) + x(s) * (d - s) / s) / d
        else:
            agree = (x(l) - x(s)) / l + x(s) / s
        total += (1 - p) * p ** (d - 1) * agree
    return total


def test_rbo_matches_its_definition_symmetric_and_bounded():
    rng = np.random.default_rng(2)
    for _ in range(60):
        a = rng.choice(15, size=int(rng.integers(1, 9)), replace=False)
        b = rng.choice(15, size=int(rng.integers(1, 9)), replace=False)
        p = float(rng.choice([0.5, 0.8, 0.9, 0.95]))
        got = rbo(a, b, p)
        assert got == pytest.approx(_rbo_from_definition(list(a), list(b), p), abs=1e-9)
        assert got == pytest.approx(rbo(b, a, p), abs=1e-15)
        assert -1e-12 <= got <= 1 + 1e-12


def test_rbo_bad_input():
    with pytest.raises(InputError, match="repeats"):
        rbo([1, 2, 1], [1, 2, 3])
    with pytest.raises(InputError, match="strictly between"):
        rbo([1], [1], p=1.0)


def test_mean_pairwise_and_between():
    lists = [np.array([1, 2]), np.array([2, 3]), np.array([1, 2])]
    # pairs (0, 1): 1/3, (0, 2): 1, (1, 2): 1/3
    assert mean_pairwise(lists, iou) == pytest.approx((F(1, 3) + 1 + F(1, 3)) / 3)
    # sampled: never a user with itself, and reproducible with the seed
    own = [np.array([u]) for u in range(50)]
    assert mean_pairwise(own, lambda a, b: float(a[0] == b[0]), max_pairs=100) == 0.0
    assert mean_pairwise(lists * 20, iou, max_pairs=50, seed=4) == mean_pairwise(lists * 20, iou, max_pairs=50, seed=4)
    with pytest.raises(InputError, match="two users"):
        mean_pairwise(lists[:1], iou)
    other = [np.array([2, 1]), np.array([4, 5]), np.array([1, 3])]
    assert between(lists, other, iou) == pytest.approx((1 + 0 + F(1, 3)) / 3)
    with pytest.raises(InputError, match="same users"):
        between(lists, other[:2], iou)
