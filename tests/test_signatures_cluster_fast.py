"""``cluster`` on the radius graph (the fast path for OPTICS / DBSCAN with the cosine metric) gives the
labels of plain scikit-learn, is taken when it should be, and falls back when the caller overrides it.

The datasets mix tight families (cosine distances a few hundredths), exact duplicates, an all-zero
signature and isolated points; the boundary test places pairs exactly at the radius (Pythagorean
coordinates: their dot products are exact in any summation order)."""
from __future__ import annotations

import numpy as np
import pytest

from artkg.kg.errors import InputError
from artkg.models.signatures import clusters
from artkg.models.signatures.clusters import cluster


def families(n: int, d: int, seed: int, share: float = 0.4) -> np.ndarray:
    """Families of 2–6 works around random centres (spread 0.05–0.5 / √d per coordinate, so some
    families straddle the 0.13 radius), duplicates, one zero row, the rest isotropic noise."""
    rng = np.random.default_rng(seed)
    rows = []
    while sum(len(r) for r in rows) < share * n:
        c = rng.standard_normal(d)
        rows.append(c + rng.uniform(0.05, 0.5) * np.linalg.norm(c) * rng.standard_normal((rng.integers(2, 7), d))
                    / np.sqrt(d))
    x = np.concatenate(rows + [rng.standard_normal((n - sum(len(r) for r in rows), d))])[:n]
    x = x[rng.permutation(n)]
    x[3] = x[4]            # an exact duplicate
    x[10] = x[11] * 2.5    # the same direction, another length
    x[7] = 0.0             # an undecodable image's signature
    return x


CASES = [("optics", {}), ("dbscan", {}), ("optics", {"min_samples": 3}), ("optics", {"max_eps": 0.2, "eps": 0.1}),
         ("optics", {"cluster_method": "xi"}), ("optics", {"min_samples": 0.006}), ("dbscan", {"min_samples": 1}),
         ("dbscan", {"eps": 0.3, "min_samples": 4})]


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # OPTICS-xi divides infinite reachabilities
@pytest.mark.parametrize("method, kwargs", CASES)
@pytest.mark.parametrize("n, d, seed", [(300, 16, 0), (700, 48, 1)])
def test_fast_labels_equal_plain(method, kwargs, n, d, seed):
    x = families(n, d, seed)
    plain = cluster(x, method, fast=False, **kwargs)
    fast = cluster(x, method, fast=True, **kwargs)
    np.testing.assert_array_equal(fast, plain)
    sizes = np.bincount(plain[plain >= 0])
    assert (sizes >= 2).sum() > 5 and sizes.max() < n // 4  # many real clusters: not a trivial labelling


@pytest.mark.parametrize("method", ["optics", "dbscan"])
def test_fast_labels_equal_plain_3000(method):
    x = families(3000, 96, 2)
    np.testing.assert_array_equal(cluster(x, method, fast=True), cluster(x, method, fast=False))


@pytest.mark.filterwarnings("ignore:All reachability values are inf")
def test_pairs_exactly_at_the_radius():
    # (5,0)/5 · (4,3)/5 = 0.8 exactly; (5,12)/13 · (12,5)/13 = 120/169; each pair in its own plane
    d, pairs = 12, [((5, 0), (4, 3)), ((5, 0), (3, 4)), ((3, 4), (4, 3)), ((5, 12), (12, 5)), ((8, 15), (15, 8))]
    x = np.zeros((2 * len(pairs) + 40, d))  # + 40 isotropic works
    for k, (a, b) in enumerate(pairs):
        x[2 * k, 2 * k:2 * k + 2], x[2 * k + 1, 2 * k:2 * k + 2] = a, b
    x[2 * len(pairs):] = np.random.default_rng(0).standard_normal((40, d))
    from artkg.models.signatures.loss import l2_normalise
    from sklearn.metrics.pairwise import cosine_distances

    for k in range(len(pairs)):
        radius = float(cosine_distances(l2_normalise(x[[2 * k]]), l2_normalise(x[[2 * k + 1]]))[0, 0])
        below = float(np.nextafter(radius, 0.0))
        for kw in ({"eps": radius}, {"eps": below}):  # DBSCAN keeps a pair at exactly eps (<=), drops it just below
            plain, fast = cluster(x, "dbscan", fast=False, **kw), cluster(x, "dbscan", fast=True, **kw)
            np.testing.assert_array_equal(fast, plain)
            together = plain[2 * k] == plain[2 * k + 1] != -1
            assert together == (kw["eps"] == radius)
        for kw in ({"max_eps": radius}, {"max_eps": below}, {"max_eps": radius, "min_samples": 3}):
            plain, fast = cluster(x, "optics", fast=False, **kw), cluster(x, "optics", fast=True, **kw)
            np.testing.assert_array_equal(fast, plain)
            # OPTICS rounds core distances to 15 decimals first: 0.4 stays, 0.19999999999999996 becomes 0.2 > eps
            kept = kw == {"max_eps": radius} and np.around(radius, 15) <= radius
            assert (plain[2 * k] == plain[2 * k + 1] != -1) == kept


def test_radius_graph_holds_every_pair_within_the_radius():
    from sklearn.metrics.pairwise import cosine_distances
    from sklearn.preprocessing import normalize

    xn = normalize(families(500, 32, 3))
    dense = cosine_distances(xn, xn)
    g = clusters._radius_graph(xn, 0.13, min_entries=4, block=64, tile=128)  # several blocks and tiles
    stored = np.zeros_like(dense, dtype=bool)
    stored[np.repeat(np.arange(500), np.diff(g.indptr)), g.indices] = True
    within = dense <= 0.13
    np.fill_diagonal(within, False)
    assert within.sum() > 100 and not (within & ~stored).any()  # no pair within the radius is missing
    r = np.repeat(np.arange(500), np.diff(g.indptr))
    off = r != g.indices
    np.testing.assert_allclose(g.data[off], dense[r[off], g.indices[off]], rtol=0, atol=1e-15)
    assert np.diff(g.indptr).min() >= 4  # padded rows
    assert (np.diff(g.data)[np.diff(r) == 0] >= 0).all()  # each row sorted by distance


def _spy(monkeypatch):
    calls = []
    real = clusters._radius_graph

    def spy(*args, **kwargs):
        calls.append(args[1])
        return real(*args, **kwargs)

    monkeypatch.setattr(clusters, "_radius_graph", spy)
    return calls


def test_fast_path_taken_automatically_from_fast_min_n(monkeypatch):
    calls = _spy(monkeypatch)
    x = families(300, 16, 4)
    monkeypatch.setattr(clusters, "FAST_MIN_N", 301)
    cluster(x, "optics")
    assert calls == []  # below the threshold: plain scikit-learn
    monkeypatch.setattr(clusters, "FAST_MIN_N", 300)
    cluster(x, "optics")
    cluster(x, "dbscan", eps=0.2)
    assert calls == [0.13, 0.2]  # the radius searched: max_eps, then eps
    cluster(x, "optics", fast=False)
    assert len(calls) == 2


@pytest.mark.parametrize("method, kwargs", [("optics", {"metric": "euclidean", "max_eps": 0.5}),
                                            ("dbscan", {"metric": "euclidean", "eps": 0.5}),
                                            ("optics", {"algorithm": "ball_tree", "metric": "euclidean"}),
                                            ("optics", {"max_eps": np.inf}), ("dbscan", {"eps": 1.5}),
                                            ("optics", {"metric": "cosine", "metric_params": {}}),
                                            ("hdbscan", {})])
def test_overrides_fall_back_to_plain_sklearn(monkeypatch, method, kwargs):
    calls = _spy(monkeypatch)
    monkeypatch.setattr(clusters, "FAST_MIN_N", 2)
    x = families(200, 8, 5)
    labels = cluster(x, method, **kwargs)
    assert calls == [] and labels.shape == (200,)
    with pytest.raises(InputError, match="fast=True cannot be used"):
        cluster(x, method, fast=True, **kwargs)


def test_explicit_cosine_still_fast(monkeypatch):
    calls = _spy(monkeypatch)
    cluster(families(200, 8, 6), "dbscan", fast=True, metric="cosine", algorithm="brute")
    assert calls == [0.13]


def test_input_errors_unchanged():
    from sklearn.cluster import DBSCAN

    x = families(50, 8, 7)
    with pytest.raises(InputError, match="unknown clustering method"):
        cluster(x, "spectral-ish", fast=True)
    with pytest.raises(InputError, match="kmeans needs n_clusters"):
        cluster(x, "kmeans")
    with pytest.raises(InputError, match="NaN"):
        cluster(np.full((3, 2), np.nan), "optics", fast=True)
    with pytest.raises(InputError, match="not \\[n, d\\]"):
        cluster(np.zeros(4), "optics")
    with pytest.raises(InputError, match="fast=True needs the method name"):
        cluster(x, DBSCAN(), fast=True)
    with pytest.raises(InputError, match="fast=True needs the method name"):
        cluster(x, DBSCAN, fast=True, eps=0.1)
    with pytest.raises(InputError, match="fast=True cannot be used.*min_samples"):
        cluster(x, "optics", fast=True, min_samples=51)
    with pytest.raises(ValueError):  # scikit-learn's own check, as on the plain path
        cluster(x, "optics", fast=None, min_samples=51)
