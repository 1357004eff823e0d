"""Hard negatives: for each anchor, a work that looks close but is not connected to it.

Random negatives are too easy once the backbone separates obvious cases; the compound hinge learns
from negatives among the anchor's nearest neighbours. Excluded are the anchor itself, its positives
and, when ``components`` is given, every work of its connected component (a friend of a friend is
no negative). One negative is drawn uniformly among the ``k`` nearest remaining works by cosine.

Similarities come from a matrix product in row chunks, so a 100k × d collection needs only
``chunk_size × n`` floats at a time; the random draws are made once up front, so the result does
not depend on the chunk size.
"""
from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from artkg.kg.errors import InputError
from artkg.models.signatures.loss import l2_normalise
from artkg.models.signatures.split import as_pairs

MAX_BLOCK = 1 << 24  # floats per similarity block when chunk_size is not given (128 MiB in float64)


def hard_negatives(signatures, positives_of=None, k: int = 10, rng=None, *, anchors=None, components=None,
                   chunk_size: int | None = None) -> np.ndarray:
    """One negative item index per anchor (``-1`` where every other work is excluded).

    ``signatures``: ``[n, d]`` (numpy or torch). ``positives_of``: the positive links, as ``[P, 2]``
    index pairs (undirected), a mapping ``item -> iterable of items``, a scipy sparse ``n × n``
    adjacency, or ``None``. ``components``: ``[n]`` component labels (e.g. ``split.components``), whose
    members are excluded too. ``anchors``: the items to mine for (default: all). ``rng``: a numpy
    ``Generator`` or a seed.
    """
    x = _as_matrix(signatures)
    n = len(x)
    if int(k) < 1:
        raise InputError(f"k = {k}", "pass k >= 1 (the number of nearest candidates to draw from)")
    anchors = np.arange(n) if anchors is None else np.asarray(anchors, dtype=np.int64).ravel()
    if len(anchors) and (anchors.min() < 0 or anchors.max() >= n):
        raise InputError(f"anchors outside 0..{n - 1}", "pass item indices of the signature rows")
    excluded = _exclusions(positives_of, n)
    comp = None
    if components is not None:
        comp = np.asarray(components).ravel()
        if len(comp) != n:
            raise InputError(f"{len(comp)} component labels for {n} signatures", "pass one label per signature row")
    rng = np.random.default_rng(rng)
    kk = min(int(k), max(n - 1, 1))
    keys = rng.random((len(anchors), kk))  # drawn once: the result is independent of the chunk size
    step = max(1, int(chunk_size) if chunk_size else MAX_BLOCK // max(n, 1))
    out = np.full(len(anchors), -1, dtype=np.int64)
    for start in range(0, len(anchors), step):
        rows = anchors[start:start + step]
        sims = x[rows] @ x.T
        local = np.arange(len(rows))
        sims[local, rows] = -np.inf
        sub = excluded[rows].tocoo()
        sims[sub.row, sub.col] = -np.inf
        if comp is not None:
            sims[comp[rows][:, None] == comp[None, :]] = -np.inf
        if kk < n:
            top = np.argpartition(-sims, kk - 1, axis=1)[:, :kk]
        else:
            top = np.broadcast_to(np.arange(n), (len(rows), n))[:, :kk]
        valid = np.isfinite(np.take_along_axis(sims, top, axis=1))
        draw = np.where(valid, keys[start:start + step, :top.shape[1]], -1.0)
        pick = draw.argmax(axis=1)
        out[start:start + step] = np.where(valid.any(axis=1), top[local, pick], -1)
    return out


def _as_matrix(signatures) -> np.ndarray:
    if hasattr(signatures, "detach"):
        signatures = signatures.detach().cpu().numpy()
    x = np.asarray(signatures)
    if x.ndim != 2 or len(x) == 0:
        raise InputError(f"signatures of shape {x.shape} are not [n, d] with n >= 1", "pass one row per work")
    if not np.all(np.isfinite(x)):
        raise InputError("signatures hold NaN or infinite values", "check the backbone's outputs")
    out = l2_normalise(x)
    return out.astype(np.float32) if x.dtype == np.float32 else out


def _exclusions(positives_of, n: int):
    """A symmetric ``n × n`` CSR matrix of the links (empty for ``None``)."""
    from scipy import sparse

    if positives_of is None:
        return sparse.csr_matrix((n, n), dtype=np.int8)
    if sparse.issparse(positives_of):
        if positives_of.shape != (n, n):
            raise InputError(f"positive adjacency of shape {positives_of.shape} for {n} signatures",
                             "pass an n × n matrix")
        coo = positives_of.tocoo()
        pairs = np.stack([coo.row, coo.col], axis=1)
    elif isinstance(positives_of, Mapping):
        rows = [(int(i), int(j)) for i, js in positives_of.items() for j in np.ravel(np.asarray(list(js)))]
        pairs = as_pairs(rows, n, "positives_of")
    else:
        pairs = as_pairs(positives_of, n, "positives_of")
    pairs = as_pairs(pairs, n, "positives_of")
    both = np.concatenate([pairs, pairs[:, ::-1]])
    return sparse.csr_matrix((np.ones(len(both), dtype=np.int8), (both[:, 0], both[:, 1])), shape=(n, n))


def epoch_triplets(current, tp: np.ndarray, components: np.ndarray, negs_of: dict, *, k: int, seed: int, epoch: int,
                   explicit_rate: float, repeats: np.ndarray | None = None,
                   negative_views: np.ndarray | None = None, size: int | None = None) -> tuple[np.ndarray, dict]:
    """One epoch's ``[T, 3]`` triplets ``(A, B, C)`` over the training rows, and counts.

    ``tp``: the training connections ``[P, 2]``, drawn in a random order, each ``repeats[i]`` times
    (default once). ``C``: with probability ``explicit_rate`` one of the anchors' explicit negatives
    (``negs_of``: row → rows) where they have any, else a hard negative among the ``k`` nearest
    unconnected works by ``current`` signatures (:func:`hard_negatives`). ``negative_views``: explicit
    negative pairs ``[N, 2]`` that also become one triplet each ``(X, X, Y)``: a work, itself (the
    training augmentation makes it a second view) and the work judged not connected to it, so that a
    verdict counts even when neither work has a connection. Every draw comes from ``(seed, epoch)``;
    with one repeat each and no ``negative_views`` the triplets are those of earlier versions. ``size``:
    draw exactly this many connections, in fresh random orders again and again (or the first ones of one
    order), e.g. to give a control run as many steps as the run it is compared with."""
    rng = np.random.default_rng([seed, epoch])
    base = np.arange(len(tp)) if repeats is None else np.repeat(np.arange(len(tp)), repeats)
    order = rng.permutation(len(base))
    if size is not None and len(base):
        rounds = [order] + [rng.permutation(len(base)) for _ in range(-(-int(size) // len(base)) - 1)]
        order = np.concatenate(rounds)[:int(size)]
    anchors = tp[base[order]]
    mined = hard_negatives(current, tp, k, np.random.default_rng([seed, epoch, 1]), anchors=anchors[:, 0],
                           components=components)
    explicit = rng.random(len(anchors)) < explicit_rate
    replaced = 0
    for t, (a, b) in enumerate(anchors):
        choices = negs_of.get(int(a), []) + negs_of.get(int(b), [])
        if choices and explicit[t]:
            mined[t] = choices[int(rng.integers(len(choices)))]
            replaced += 1
    use = mined >= 0
    triplets = np.column_stack([anchors[use], mined[use]])
    counts = {"triplets": int(len(triplets)), "explicit_negatives": replaced, "negative_views": 0}
    if negative_views is not None and len(negative_views):
        vr = np.random.default_rng([seed, epoch, 3])
        nv = np.asarray(negative_views, dtype=np.int64)
        nv = np.where(vr.random(len(nv))[:, None] < 0.5, nv, nv[:, ::-1])  # which work gets two views
        extra = np.column_stack([nv[:, 0], nv[:, 0], nv[:, 1]])
        triplets = np.concatenate([triplets, extra])[vr.permutation(len(triplets) + len(extra))]
        counts.update(triplets=int(len(triplets)), negative_views=int(len(extra)))
    return triplets, counts
