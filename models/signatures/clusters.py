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

**Many works** (the radius graph). scikit-learn's OPTICS and DBSCAN with ``metric="cosine"`` find
each work's neighbours by brute force, one work at a time in float64: hours for 100,000 signatures
of 1,280 dimensions. Both only ever look at the works within the radius (``max_eps`` for OPTICS,
``eps`` for DBSCAN; OPTICS also at each work's ``min_samples`` nearest, only to learn whether they lie
within it). So ``cluster`` can first build the sparse graph of all pairs within the radius and hand
it to the same estimator with ``metric="precomputed"``, which treats absent entries as "not a
neighbour". The graph: cosine similarities of the upper triangle by blocked float32 matrix products
(half the products of a full search, no FAISS needed) kept from ``1 − radius − slack`` up, the slack
bounding float32 rounding; then the float64 cosine distance of each candidate computed the way
scikit-learn's ``cosine_distances`` does (``1 − x̂ᵢ·x̂ⱼ`` clipped at 0, rows normalised by
``sklearn.preprocessing.normalize``), kept where ``≤ radius`` — a pair exactly at the radius stays,
as with scikit-learn's ``<=``. The diagonal is stored: 0, except for an all-zero signature under
OPTICS, whose cosine distance to itself scikit-learn's core-distance search computes as 1 (DBSCAN's
single-chunk search zeroes the diagonal of its own distance matrix). For OPTICS, a row with fewer than ``min_samples``
stored entries gets true float64 distances to the next works in index order as filler: its
``min_samples``-th distance is then above ``max_eps`` whatever they are, and OPTICS makes its core
distance infinite exactly as on the dense input (the reachabilities only ever read entries within
``max_eps``). The labels equal the plain path's, up to float64 summation order (a pair whose
distance lies within ~1e-16 of the radius, or two reachabilities within 1e-15 of each other, could
in principle round apart; tests compare both paths on random and clustered sets).
``fast=None`` takes this path from :data:`FAST_MIN_N` works on; ``fast=False`` never; ``fast=True``
always (an ``InputError`` where it does not apply: another method, metric or neighbour algorithm,
or a radius of 1 or more, whose graph would be dense).
"""
from __future__ import annotations

from collections.abc import Sequence
from numbers import Integral, Real

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
#: from this many works on, ``cluster(..., fast=None)`` clusters OPTICS / DBSCAN on the radius graph
FAST_MIN_N = 2000


def cluster(signatures, method="optics", fast: bool | None = None, **kwargs) -> np.ndarray:
    """``[n]`` int64 cluster labels (``-1``: noise) of the L2-normalised ``signatures``.

    ``method``: a name in :data:`METHODS` (``kwargs`` override its defaults; ``kmeans`` needs
    ``n_clusters``), an estimator class (built with ``kwargs``), or an estimator object with
    ``fit_predict`` (used as is). ``fast``: cluster ``optics`` / ``dbscan`` (cosine) on the sparse
    graph of the pairs within the radius — ``None``: from :data:`FAST_MIN_N` works on, ``True``:
    always, ``False``: never (see the module docstring; the labels are the same).
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
        why_not = _why_not_graph(name, kwargs, estimator, len(x))
        if fast and why_not:
            raise InputError(f"fast=True cannot be used here: {why_not}", "drop fast=True (or pass fast=None)")
        if not why_not and (fast or (fast is None and len(x) >= FAST_MIN_N)):
            return _fit_on_graph(name, estimator, x)
    else:
        if fast:
            raise InputError("fast=True needs the method name 'optics' or 'dbscan'",
                             "pass cluster(signatures, 'optics', fast=True), or drop fast")
        if isinstance(method, type):
            estimator = method(**kwargs)
        else:
            if kwargs:
                raise InputError(f"keyword arguments {sorted(kwargs)} given with an estimator object",
                                 "set them on the estimator, or pass its name or class instead")
            estimator = method
    if not hasattr(estimator, "fit_predict"):
        raise InputError(f"{type(estimator).__name__} has no fit_predict", "pass a scikit-learn style clusterer")
    return np.asarray(estimator.fit_predict(x), dtype=np.int64)


def split_large(signatures, labels, max_size: int, method="optics", shrink: float = 0.8, min_radius: float = 1e-4,
                **kwargs) -> np.ndarray:
    """``labels`` with every cluster above ``max_size`` members cut again at a smaller radius.

    OPTICS and DBSCAN chain: one radius that separates most families can still join hundreds of works
    through a path of close pairs. Each too-large cluster is clustered on its own (the same ``method``
    and ``kwargs``) with its radius (``max_eps`` for OPTICS, ``eps`` for DBSCAN) times ``shrink``, again
    and again for the pieces still too large, until each piece fits or the radius is below
    ``min_radius``; works left single at a cut become noise. Pieces get fresh labels after the
    existing ones; clusters that fit keep theirs.
    """
    if not isinstance(method, str) or method.strip().lower() not in ("optics", "dbscan"):
        raise InputError(f"splitting large clusters needs OPTICS or DBSCAN, not {method!r}",
                         "pass method='optics' or 'dbscan', or leave the large clusters as they are")
    name = method.strip().lower()
    if not 0 < shrink < 1:
        raise InputError(f"shrink {shrink} is not in (0, 1)", "pass e.g. shrink=0.8")
    if max_size < 2:
        raise InputError(f"max_size {max_size} leaves no cluster", "pass 2 or more")
    x = _as_matrix(signatures)
    out = np.asarray(labels, dtype=np.int64).copy()
    if len(out) != len(x):
        raise InputError(f"{len(out)} labels for {len(x)} signatures", "pass one label per signature")
    key = "max_eps" if name == "optics" else "eps"
    radius0 = float(kwargs.pop(key, METHODS[name][1][key]))
    sizes = np.bincount(out[out >= 0]) if (out >= 0).any() else np.zeros(0, dtype=np.int64)
    todo = [(np.flatnonzero(out == c), radius0) for c in np.flatnonzero(sizes > max_size)]
    fresh = int(out.max()) + 1 if len(out) else 0
    while todo:
        members, radius = todo.pop()
        out[members] = -1
        radius *= shrink
        if radius < min_radius:
            continue
        sub = cluster(x[members], name, **{**kwargs, key: radius})
        for c in np.unique(sub[sub >= 0]).tolist():
            piece = members[sub == c]
            if len(piece) > max_size:
                todo.append((piece, radius))
            elif len(piece) > 1:
                out[piece] = fresh
                fresh += 1
    return out


def _why_not_graph(name: str, kwargs: dict, estimator, n: int) -> str | None:
    """Why the radius graph cannot stand in for the estimator's own neighbour search (None: it can).
    Invalid parameters are left to the plain path, where scikit-learn reports them."""
    if name not in ("optics", "dbscan"):
        return f"method {name!r} is not optics or dbscan"
    if kwargs.get("metric", "cosine") != "cosine" or kwargs.get("metric_params") is not None:
        return f"the metric {kwargs.get('metric')!r} (with metric_params {kwargs.get('metric_params')!r}) is not plain cosine"
    if kwargs.get("algorithm", "auto") not in ("auto", "brute"):
        return f"algorithm={kwargs['algorithm']!r} was asked for"
    radius = estimator.max_eps if name == "optics" else estimator.eps
    if not isinstance(radius, Real) or not 0 <= radius < 1:
        return f"the radius {radius!r} is not in [0, 1) (the graph would be dense)"
    if _min_entries(name, estimator.min_samples, n) is None:
        return f"min_samples={estimator.min_samples!r} is not valid for {n} works"
    return None


def _min_entries(name: str, min_samples, n: int) -> int | None:
    """Stored entries each row needs (OPTICS' ``min_samples`` as it resolves it; 0 for DBSCAN)."""
    if isinstance(min_samples, bool):
        return None
    if name == "dbscan":
        return 0 if isinstance(min_samples, Integral) and min_samples >= 1 else None
    if isinstance(min_samples, Integral) and 2 <= min_samples <= n:
        return int(min_samples)
    if isinstance(min_samples, Real) and not isinstance(min_samples, Integral) and 0 < min_samples <= 1:
        return min(n, max(2, int(min_samples * n)))  # scikit-learn's resolution of a fraction
    return None


def _fit_on_graph(name: str, estimator, x: np.ndarray) -> np.ndarray:
    from sklearn.preprocessing import normalize

    radius = float(estimator.max_eps if name == "optics" else estimator.eps)
    xn = normalize(x, copy=False)  # the rows scikit-learn's cosine_distances would use (x is ours)
    graph = _radius_graph(xn, radius, _min_entries(name, estimator.min_samples, len(x)), zero_self=name == "dbscan")
    estimator.set_params(metric="precomputed")
    return np.asarray(estimator.fit_predict(graph), dtype=np.int64)


def _radius_graph(xn: np.ndarray, radius: float, min_entries: int = 0, zero_self: bool = False, block: int = 1024,
                  tile: int = 16384):
    """CSR ``[n, n]`` float64 cosine distances of every pair within ``radius`` and the diagonal (0, or 1
    for a zero row unless ``zero_self``); rows with fewer than ``min_entries`` entries are padded with
    farther true distances. Each row is sorted by distance."""
    import scipy.sparse

    n, d = xn.shape
    x32 = xn.astype(np.float32)
    slack = 2.0 * (d + 2) * 2.0 ** -24  # bounds the float32 rounding of a dot product of unit vectors
    threshold = np.float32(1.0 - radius - slack)
    rows, cols = [], []
    for s in range(0, n, block):
        e = min(n, s + block)
        for t in range(s, n, tile):  # the upper triangle only (block rows against columns from s on)
            i, j = np.nonzero(x32[s:e] @ x32[t:t + tile].T >= threshold)
            i += s
            j += t
            keep = i < j
            rows.append(i[keep])
            cols.append(j[keep])
    del x32
    i = np.concatenate(rows).astype(np.int64)
    j = np.concatenate(cols).astype(np.int64)
    dist = _pair_distances(xn, i, j)
    keep = dist <= radius
    i, j, dist = i[keep], j[keep], dist[keep]
    zero_row = ~np.any(xn, axis=1) & (not zero_self)
    diag = np.arange(n, dtype=np.int64)
    ri, ci = [i, j, diag], [j, i, diag]
    data = [dist, dist, zero_row.astype(np.float64)]
    if min_entries:
        count = np.bincount(np.concatenate([i, j]), minlength=n) + 1
        short = np.flatnonzero(count < min_entries)
        if len(short):  # true distances to the next works in index order: all beyond the radius
            fi = np.repeat(short, min_entries - 1)
            fj = (fi + np.tile(np.arange(1, min_entries, dtype=np.int64), len(short))) % n
            ri.append(fi)
            ci.append(fj)
            data.append(_pair_distances(xn, fi, fj))
    ri, ci, data = np.concatenate(ri), np.concatenate(ci), np.concatenate(data)
    _, first = np.unique(ri * n + ci, return_index=True)  # a filler may repeat a pair within the radius
    ri, ci, data = ri[first], ci[first], data[first]
    order = np.lexsort((ci, data, ri))
    indptr = np.concatenate([[0], np.cumsum(np.bincount(ri, minlength=n))])
    return scipy.sparse.csr_matrix((data[order], ci[order], indptr), shape=(n, n))


def _pair_distances(xn: np.ndarray, i: np.ndarray, j: np.ndarray, chunk: int = 1 << 14) -> np.ndarray:
    """float64 cosine distances ``1 − x̂ᵢ·x̂ⱼ`` clipped to [0, 2], as scikit-learn's ``cosine_distances``."""
    sim = np.empty(len(i))
    for s in range(0, len(i), chunk):
        sim[s:s + chunk] = np.einsum("ij,ij->i", xn[i[s:s + chunk]], xn[j[s:s + chunk]])
    return np.clip(1.0 - sim, 0.0, 2.0)


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

