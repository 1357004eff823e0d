"""Train/val/test parts of works that no visual connection crosses.

Connections are transitive in practice (a family of copies of one model), so splitting *pairs* at
random leaks: a test pair's two works are each linked to training works. Here every connected
component of the positive links lies entirely in one part. Components are placed largest first
(equal sizes in a seeded random order), each into the part furthest below its target size; works
with no link (singletons) then fill the remaining room exactly, at random. Parts land close to
``fractions`` unless one component is larger than a part's share.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from artkg.kg.errors import InputError

PARTS = ("train", "val", "test")


def as_pairs(pairs, n_items: int | None = None, what: str = "pairs") -> np.ndarray:
    """``pairs`` as an ``[P, 2]`` int64 array, checked to index ``0 .. n_items - 1``."""
    p = np.asarray(pairs)
    if p.size == 0:
        return np.zeros((0, 2), dtype=np.int64)
    if p.ndim != 2 or p.shape[1] != 2:
        raise InputError(f"{what} of shape {p.shape} is not [P, 2]", "pass one (i, j) row of item indices per link")
    if not np.issubdtype(p.dtype, np.integer) and (
            not np.issubdtype(p.dtype, np.floating) or not np.all(np.mod(p, 1) == 0)):
        raise InputError(f"{what} hold non-integer values", "pass item indices (integers)")
    p = p.astype(np.int64)
    if p.min() < 0 or (n_items is not None and p.max() >= n_items):
        raise InputError(f"{what} index items outside 0..{'' if n_items is None else n_items - 1} "
                         f"(min {p.min()}, max {p.max()})", "map works to indices 0 .. n_items - 1 first")
    return p


def components(n_items: int, pairs) -> np.ndarray:
    """The connected component of each item under the (undirected) links ``pairs``: ``[n_items]``."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    p = as_pairs(pairs, n_items)
    adj = coo_matrix((np.ones(len(p), dtype=np.int8), (p[:, 0], p[:, 1])), shape=(n_items, n_items)).tocsr()
    return connected_components(adj, directed=False)[1].astype(np.int64)


def component_split(n_items: int, pairs, fractions: Sequence[float] = (0.8, 0.1, 0.1),
                    seed: int = 0) -> dict[str, np.ndarray]:
    """``{"train", "val", "test"}`` → sorted item indices; each connected component of ``pairs`` (the
    positive links) lies in one part and every item is assigned. Deterministic for a ``seed``."""
    n_items = int(n_items)
    if n_items < 1:
        raise InputError(f"n_items = {n_items}", "pass the number of works (at least 1)")
    f = np.asarray(fractions, dtype=np.float64)
    if f.shape != (len(PARTS),) or np.any(f < 0) or not np.isclose(f.sum(), 1.0):
        raise InputError(f"fractions {tuple(fractions)} are not three non-negative shares summing to 1",
                         "pass e.g. fractions=(0.8, 0.1, 0.1) for train, val, test")
    comp = components(n_items, pairs)
    sizes = np.bincount(comp)
    rng = np.random.default_rng(seed)
    target = _apportion(f, n_items)
    part_of_comp = np.full(len(sizes), -1, dtype=np.int64)
    current = np.zeros(len(PARTS), dtype=np.int64)
    order = rng.permutation(len(sizes))
    order = order[np.argsort(-sizes[order], kind="stable")]  # largest first, equal sizes shuffled
    multi = order[sizes[order] > 1]
    allowed = f > 0
    for c in multi:  # few components (those with links); singletons are placed vectorised below
        deficit = np.where(allowed, target - current, -np.inf)
        k = int(np.argmax(deficit))
        part_of_comp[c] = k
        current[k] += sizes[c]
    singles = order[sizes[order] == 1]
    room = np.where(allowed, np.maximum(target - current, 0), 0)
    add = _apportion(room if room.sum() else f, len(singles))
    part_of_comp[singles] = np.repeat(np.arange(len(PARTS)), add)
    part = part_of_comp[comp]
    return {name: np.flatnonzero(part == k) for k, name in enumerate(PARTS)}


def inherit_split(n_items: int, pairs, init_part, init_linked) -> dict[str, np.ndarray]:
    """The split of a warm start, kept from the run it starts from (so that none of that run's
    training works lands in validation or test). ``init_part[i]``: item ``i``'s part in that run
    (0 train, 1 val, 2 test; -1: not in its collection); ``init_linked[i]``: whether ``i`` was linked
    there. A connected component of ``pairs`` whose previously linked items all lay in one part stays
    there (new works joined to it included); one with none (only connections new since) or with
    several parts goes to train; unlinked items keep their part (train where they had none)."""
    n_items = int(n_items)
    init_part = np.asarray(init_part, dtype=np.int64)
    init_linked = np.asarray(init_linked, dtype=bool)
    if init_part.shape != (n_items,) or init_linked.shape != (n_items,):
        raise InputError(f"init_part and init_linked must hold one entry per item ({n_items})",
                         "pass arrays of length n_items")
    comp = components(n_items, pairs)
    part = np.where(init_part >= 0, init_part, 0)
    linked = np.unique(as_pairs(pairs, n_items))
    if len(linked):
        n_comp = int(comp.max()) + 1
        lo, hi = np.full(n_comp, len(PARTS)), np.full(n_comp, -1)
        old = linked[init_linked[linked] & (init_part[linked] >= 0)]
        np.minimum.at(lo, comp[old], init_part[old])
        np.maximum.at(hi, comp[old], init_part[old])
        keep = lo == hi  # one earlier part (none: lo > hi; several: lo < hi)
        part[linked] = np.where(keep[comp[linked]], lo[comp[linked]], 0)
    return {name: np.flatnonzero(part == k) for k, name in enumerate(PARTS)}


def held_out_pairs(pairs, split):
    """The pairs whose two ends both lie in ``split``: an array of item indices (one part) gives an
    ``[P', 2]`` array; a dict of parts (``component_split``'s result) gives a dict of them."""
    if isinstance(split, Mapping):
        return {name: held_out_pairs(pairs, idx) for name, idx in split.items()}
    p = as_pairs(pairs)
    idx = np.asarray(split, dtype=np.int64).ravel()
    inside = np.isin(p, idx).all(axis=1) if len(p) else np.zeros(0, dtype=bool)
    return p[inside]


def _apportion(weights: np.ndarray, total: int) -> np.ndarray:
    """``total`` split into integers proportional to ``weights`` (largest remainder; ties to the first)."""
    w = np.asarray(weights, dtype=np.float64)
    if total == 0 or w.sum() <= 0:
        return np.zeros(len(w), dtype=np.int64)
    exact = w / w.sum() * total
    base = np.floor(exact).astype(np.int64)
    rest = total - int(base.sum())
    base[np.argsort(-(exact - base), kind="stable")[:rest]] += 1
    return base
