"""Clusters of signatures, and how well they recover the known families of connected works.

``cluster`` resolves a clustering method by name from scikit-learn (or takes any estimator with
``fit_predict``) and returns one label per work, ``-1`` for noise. The default reproduces the thesis'
"OPTICS (cosine, max_eps 0.13, min_samples 2)" as ``OPTICS(metric="cosine", max_eps=0.13,
min_samples=2, cluster_method="dbscan")``: with ``cluster_method="dbscan"`` the clusters are cut from
the OPTICS ordering at ``eps = max_eps = 0.13``, i.e. works chained by cosine distances ≤ 0.13 — the
threshold the second margin of the compound hinge trains for, and the ``DBSCAN(eps=0.13,
min_samples=2, metric="cosine")`` of the thesis' annotation interface. (With scikit-learn's default
``cluster_method="xi"`` the 0.13 would only cap the reachability, and clusters would be drawn from
its steepness instead.)

``family_scores``: for each ground-truth family (the works of one connected component), recall is
the largest share of its members in one cluster and precision how much of that cluster the family
fills. Members are counted (the labels of the items), not distinct label values.

``retrieval_scores``: the held-out connections as queries — where does ``j`` rank among all other
works for ``i`` (and ``i`` for ``j``)?
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from artkg.kg.errors import InputError
from artkg.models.signatures.loss import l2_normalise
from artkg.models.signatures.split import as_pairs

#: name -> (scikit-learn class name, default keyword arguments)
METHODS: dict[str, tuple[str, dict]] = {
    "optics": ("OPTICS", {"metric": "cosine", "max_eps": 0.13, "min_samples": 2, "cluster_method": "dbscan"}),
    "dbscan": ("DBSCAN", {"metric": "cosine", "eps": 0.13, "min_samples": 2}),
    "hdbscan": ("HDBSCAN", {"metric": "cosine", "min_cluster_size": 2, "copy": True}),
    "kmeans": ("KMeans", {"n_init": "auto", "random_state": 0}),
}
KS = (20, 50, 100, 200, 400)


def cluster(signatures, method="optics", **kwargs) -> np.ndarray:
    """``[n]`` int64 cluster labels (``-1``: noise) of the L2-normalised ``signatures``.

    ``method``: a name in :data:`METHODS` (``kwargs`` override its defaults; ``kmeans`` needs
    ``n_clusters``), an estimator class (built with ``kwargs``), or an estimator object with
    ``fit_predict`` (used as is).
    """
    x = _as_matrix(signatures)
    if isinstance(method, str):
        name = method.strip().lower()
        if name not in METHODS:
            raise InputError(f"unknown clustering method {method!r}", f"use one of {', '.join(METHODS)} "
                             "or pass an estimator with fit_predict")
        if name == "kmeans" and "n_clusters" not in kwargs:
            raise InputError("kmeans needs n_clusters", "pass cluster(signatures, 'kmeans', n_clusters=...)")
        import sklearn.cluster

        cls_name, defaults = METHODS[name]
        estimator = getattr(sklearn.cluster, cls_name)(**{**defaults, **kwargs})
    elif isinstance(method, type):
        estimator = method(**kwargs)
    else:
        if kwargs:
            raise InputError(f"keyword arguments {sorted(kwargs)} given with an estimator object",
                             "set them on the estimator, or pass its name or class instead")
        estimator = method
    if not hasattr(estimator, "fit_predict"):
        raise InputError(f"{type(estimator).__name__} has no fit_predict", "pass a scikit-learn style clusterer")
    return np.asarray(estimator.fit_predict(x), dtype=np.int64)


def family_scores(labels, families: Sequence) -> dict:
    """Per-family ``recall``, ``precision``, ``cluster`` (the cluster holding most members, ``-1`` if
    none) and ``count`` (members in it), plus ``mean_recall`` and ``mean_precision``.

    recall = count / family size; precision = (count − 1) / (cluster size − 1), 0 when count ≤ 1
    (a single member recovers no connection). Noise (``-1``) is no cluster. Ties between clusters go
    to the smaller one (the higher precision), then the lower label.
    """
    lab = np.asarray(labels, dtype=np.int64).ravel()
    fams = [np.unique(np.asarray(f, dtype=np.int64).ravel()) for f in families]
    if not fams:
        raise InputError("no family to score", "pass the ground-truth families (lists of item indices)")
    for i, f in enumerate(fams):
        if len(f) < 2:
            raise InputError(f"family {i} has {len(f)} distinct member(s)", "pass families of at least two works")
        if f[0] < 0 or f[-1] >= len(lab):
            raise InputError(f"family {i} indexes items outside 0..{len(lab) - 1}", "use the label array's indices")
    sizes = np.array([len(f) for f in fams], dtype=np.int64)
    fam_id = np.repeat(np.arange(len(fams)), sizes)
    member_label = lab[np.concatenate(fams)]
    keep = member_label >= 0
    pairs, count = np.unique(np.stack([fam_id[keep], member_label[keep]], axis=1), axis=0, return_counts=True)
    best_cluster = np.full(len(fams), -1, dtype=np.int64)
    best_count = np.zeros(len(fams), dtype=np.int64)
    if len(pairs):
        cluster_size = np.bincount(lab[lab >= 0])[pairs[:, 1]]
        order = np.lexsort((pairs[:, 1], cluster_size, -count, pairs[:, 0]))
        fam_sorted = pairs[order, 0]
        first = order[np.r_[True, fam_sorted[1:] != fam_sorted[:-1]]]
        best_cluster[pairs[first, 0]] = pairs[first, 1]
        best_count[pairs[first, 0]] = count[first]
    csize = np.bincount(lab[lab >= 0], minlength=1).astype(np.float64)
    size_of_best = np.where(best_cluster >= 0, csize[np.maximum(best_cluster, 0)], 0.0)
    recall = best_count / sizes.astype(np.float64)
    precision = np.where(best_count > 1, (best_count - 1) / np.maximum(size_of_best - 1, 1), 0.0)
    return {"recall": recall, "precision": precision, "cluster": best_cluster, "count": best_count,
            "mean_recall": float(recall.mean()), "mean_precision": float(precision.mean())}


def retrieval_scores(signatures, query_pairs, ks: Sequence[int] = KS, chunk_size: int | None = None) -> dict:
    """Ranks of held-out connections among all other works, by cosine similarity.

    Each undirected pair ``(i, j)`` gives two queries' targets: ``j`` for ``i`` and ``i`` for ``j``. The
    rank of a target counts every other work (not the query) at least as similar as it, the target
    included: ties count against it, so collapsed signatures do not score well. ``mAP``: per query
    item, average precision over all its true partners, averaged over query items; ``recall@k``,
    ``mean_rank`` and ``median_rank``: over the directed (query, target) pairs.
    """
    x = _as_matrix(signatures)
    n = len(x)
    p = as_pairs(query_pairs, n, "query_pairs")
    if not len(p):
        raise InputError("no query pair", "pass the held-out connections as (i, j) rows")
    if np.any(p[:, 0] == p[:, 1]):
        raise InputError("a query pair links a work to itself", "drop (i, i) rows")
    ks = tuple(int(k) for k in ks)
    if any(k < 1 for k in ks):
        raise InputError(f"cut-offs {ks} are not positive", "pass e.g. ks=(20, 50)")
    und = np.unique(np.sort(p, axis=1), axis=0)
    directed = np.concatenate([und, und[:, ::-1]])
    directed = directed[np.lexsort((directed[:, 1], directed[:, 0]))]
    queries, inverse = np.unique(directed[:, 0], return_inverse=True)
    ranks = np.empty(len(directed), dtype=np.int64)
    step = max(1, int(chunk_size) if chunk_size else (1 << 24) // n)
    for start in range(0, len(queries), step):
        q = queries[start:start + step]
        sims = x[q] @ x.T
        sims[np.arange(len(q)), q] = -np.inf
        sel = np.flatnonzero((inverse >= start) & (inverse < start + len(q)))
        row = inverse[sel] - start
        target_sim = sims[row, directed[sel, 1]]
        ranks[sel] = (sims[row] >= target_sim[:, None]).sum(axis=1)
    # average precision per query: precision at each target's rank = partners ranked at or above / rank
    key = directed[:, 0] * (n + 1) + ranks
    order = np.argsort(key, kind="stable")
    sorted_key = key[order]
    group_start = np.searchsorted(directed[:, 0][order], directed[:, 0][order], side="left")
    hits = np.searchsorted(sorted_key, sorted_key, side="right") - group_start
    precision_at = hits / ranks[order].astype(np.float64)
    ap = np.bincount(inverse[order], weights=precision_at) / np.bincount(inverse[order])
    out = {"mAP": float(ap.mean()), "mean_rank": float(ranks.mean()), "median_rank": float(np.median(ranks))}
    out.update({f"recall@{k}": float((ranks <= k).mean()) for k in ks})
    out.update({"n_queries": len(queries), "n_pairs": len(und)})
    return out


def _as_matrix(signatures) -> np.ndarray:
    if hasattr(signatures, "detach"):
        signatures = signatures.detach().cpu().numpy()
    x = np.asarray(signatures, dtype=np.float64)
    if x.ndim != 2 or len(x) == 0:
        raise InputError(f"signatures of shape {x.shape} are not [n, d] with n >= 1", "pass one row per work")
    if not np.all(np.isfinite(x)):
        raise InputError("signatures hold NaN or infinite values", "check the backbone's outputs")
    return l2_normalise(x)

