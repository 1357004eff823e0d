"""Candidate pairs for annotation from each work's nearest neighbours, ranked against hubs.

Fine-tuned signatures are not evenly spread: some regions of the collection collapse into dense
blobs where every pair looks close, so the most similar pairs by plain cosine are mostly blob
pairs, and a clustering radius that separates the rest chains the blob into one cluster. The
cross-domain similarity local scaling of Conneau et al. (2018, "Word translation without parallel
data"; CSLS) corrects for it: a pair scores ``2 cos(a, b) − r(a) − r(b)``, where ``r(w)`` is the
mean cosine of ``w`` to its ``hub_k`` nearest works, so a pair counts as close only if it is close
*for those two works*. Candidates are each work's ``k`` nearest works (every pair a work ranks
among its ``k`` nearest, once), found in row blocks of a float32 matrix product, so 100,000
signatures need ``chunk × n`` floats at a time and no FAISS index.
"""
from __future__ import annotations

import numpy as np

from artkg.kg.errors import InputError

MAX_BLOCK = 1 << 24  # floats per similarity block


def nearest_pairs(signatures, k: int = 10, hub_k: int = 10, chunk_size: int | None = None) -> dict:
    """The pairs among each work's ``k`` nearest (cosine), scored by CSLS with ``hub_k`` (0: plain cosine).

    Returns ``{"i", "j" (rows, i < j), "cosine", "score"}`` as arrays sorted by score, highest first
    (ties: by ``i``, then ``j``), and ``"hub"``: each row's ``r`` (mean cosine of its ``hub_k``
    nearest; zeros with ``hub_k = 0``).
    """
    from artkg.models.signatures.clusters import _as_matrix

    if int(k) < 1 or int(hub_k) < 0:
        raise InputError(f"k = {k}, hub_k = {hub_k}", "pass k >= 1 nearest works and hub_k >= 0 (0: plain cosine)")
    x64 = _as_matrix(signatures)
    x = x64.astype(np.float32)  # the search; the scores are float64, so they do not depend on the blocks
    n = len(x)
    if n < 2:
        raise InputError(f"{n} signature(s) give no pair", "pass two works or more")
    k, hub_k = min(int(k), n - 1), min(int(hub_k), n - 1)
    top = max(k, hub_k)
    step = max(1, int(chunk_size) if chunk_size else MAX_BLOCK // n)
    near = np.empty((n, k), dtype=np.int64)
    hub = np.zeros(n, dtype=np.float64)
    for s in range(0, n, step):
        sims = x[s:s + step] @ x.T
        rows = np.arange(len(sims))
        sims[rows, rows + s] = -np.inf
        part = np.argpartition(-sims, top - 1, axis=1)[:, :top]
        vals = np.take_along_axis(sims, part, axis=1)
        order = np.lexsort((part, -vals), axis=1)  # by similarity, then index
        part, vals = np.take_along_axis(part, order, axis=1), np.take_along_axis(vals, order, axis=1)
        near[s:s + len(sims)] = part[:, :k]
        if hub_k:
            exact = np.einsum("rd,rkd->rk", x64[s:s + len(sims)], x64[part[:, :hub_k]])
            hub[s:s + len(sims)] = exact.mean(axis=1)
    a = np.repeat(np.arange(n, dtype=np.int64), k)
    b = near.ravel()
    i, j = np.unique(np.stack([np.minimum(a, b), np.maximum(a, b)], axis=1), axis=0).T
    cos, part = np.empty(len(i)), 1 << 14
    for s in range(0, len(i), part):  # in chunks: gathering all pairs' rows at once costs n·k·d floats twice
        cos[s:s + part] = np.einsum("ij,ij->i", x64[i[s:s + part]], x64[j[s:s + part]])
    score = 2.0 * cos - hub[i] - hub[j] if hub_k else cos
    order = np.lexsort((j, i, -score))
    return {"i": i[order], "j": j[order], "cosine": cos[order], "score": score[order], "hub": hub}


__all__ = ["nearest_pairs"]
