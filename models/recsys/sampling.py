"""Training triples for the recommenders (``sampler_resolver``): the CuratorNet paper's six sampling
guidelines (Messina et al. 2020) and uniform random negatives, the paper's ablation.

Every triple says "for this profile, ``pos`` should score above ``neg``" (:class:`Triples`, CSR
profiles, user ``-1`` for made-up profiles). Guidelines, with P_u the user's distinct items:

1. profile item over non-profile item — profile P_u \\ {i}, pos i ∈ P_u, neg ∉ P_u; a share
   (``same_cluster_share``, 0.6) of the negatives come from i's visual cluster, the rest uniformly;
2. a made-up one-item profile {i} ranks i first — pos i, neg ≠ i (same cluster rule);
3. an unowned item whose artist and visual cluster both occur in P_u over an item whose (known)
   artist and cluster occur nowhere in P_u — profile P_u;
4. one-item profile {i}: pos j by i's artist over neg k by another known artist, kept only when
   |cos(i, j) − cos(i, k)| ≤ ``margin`` (the artist decides, not the pixels);
5. next basket from the earlier ones — profile the items of the user's baskets before basket b,
   pos ∈ b (not already in that profile), neg ∉ P_u (so never in the profile nor in b);
6. a hidden basket item — profile P_u \\ {i}, pos i, neg ∉ P_u uniformly.

Budgets (``per_guideline``) count triples per unit: (1) per (user, profile item), (2) per item,
(3) per profile item of the user, (4) per item whose artist has another work, (5) per item of a
later basket, (6) per (user, basket item). Guidelines 1, 3, 5, 6 draw at most ``max_per_user``
triples per user (a seeded random subset), which keeps profile storage linear in the history.
Triples are de-duplicated on (profile as a set, pos, neg) — the first one made wins — and a seeded
random subset of ``max_triples`` is kept when there are more. Items without features (NaN rows) are
never drawn as negatives or one-item profiles. Everything is drawn from the ``rng`` passed to
``sample``; the clusters use the sampler's own ``seed``.
"""
from __future__ import annotations

import logging

import numpy as np
from class_resolver import ClassResolver

from artkg.kg.errors import InputError
from artkg.models.recsys.base import TrainData, Triples, TripleSampler

log = logging.getLogger(__name__)

ALL_GUIDELINES = (1, 2, 3, 4, 5, 6)
# VBPR learns a vector per user id: the guidelines tied to a real user that need no sessions
# (the paper's "guidelines without sessions": this module's 1 and 3).
VBPR_GUIDELINES = (1, 3)
DEFAULT_BUDGETS = {1: 2, 2: 1, 3: 1, 4: 1, 5: 2, 6: 1}
_ROUNDS = 40  # rejection-sampling rounds before a triple without a valid negative is dropped
_CLUSTER_ROUNDS = 10  # rounds a same-cluster negative is tried before falling back to uniform
_M1, _M2, _M3 = np.uint64(0x9E3779B97F4A7C15), np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB)


def visual_clusters(features: np.ndarray, n_clusters: int = 100, n_components: int = 200,
                    n_init_runs: int = 20, seed: int = 0, sample_size: int = 5000,
                    max_fit_items: int = 20000) -> np.ndarray:
    """Visual cluster per item (int64; ``-1`` for rows with non-finite features), as the paper:
    PCA to min(``n_components``, d, n − 1) dimensions, then ``n_init_runs`` k-means runs
    (``n_init=1``, seeds ``seed + r``), keeping the run with the best silhouette score (on a fixed
    seeded sample of ``sample_size`` items). Small worlds scale down: k = min(``n_clusters``,
    max(2, n // 10), n − 1) for n items with features (fewer than 3: one cluster). Each run fits on a
    seeded subset of at most ``max_fit_items`` items and assigns the rest to the nearest centre."""
    from sklearn.cluster import KMeans
    from sklearn.decomposition import PCA
    from sklearn.metrics import silhouette_score

    x = np.asarray(features, dtype=np.float32)
    if x.ndim != 2:
        raise InputError(f"visual clusters need a 2-d feature matrix (got shape {x.shape})",
                         "pass features of shape (n_items, d)")
    if n_clusters < 2 or n_components < 1 or n_init_runs < 1:
        raise InputError(f"visual clusters: n_clusters={n_clusters}, n_components={n_components}, "
                         f"n_init_runs={n_init_runs}", "use n_clusters ≥ 2, n_components ≥ 1, n_init_runs ≥ 1")
    valid = np.isfinite(x).all(axis=1)
    out = np.full(len(x), -1, dtype=np.int64)
    xv, n = x[valid], int(valid.sum())
    k = min(n_clusters, max(2, n // 10), n - 1)
    if n < 3 or k < 2:
        out[valid] = 0
        return out
    z = PCA(n_components=min(n_components, x.shape[1], n - 1), random_state=seed).fit_transform(xv)
    rng = np.random.default_rng(seed)
    sil = np.sort(rng.choice(n, sample_size, replace=False)) if n > sample_size else np.arange(n)
    best, best_score = None, -np.inf
    for r in range(n_init_runs):
        fit = np.sort(rng.choice(n, max_fit_items, replace=False)) if n > max_fit_items else np.arange(n)
        km = KMeans(n_clusters=k, n_init=1, random_state=seed + r).fit(z[fit])
        labels = km.predict(z) if len(fit) < n else km.labels_
        n_lab = len(np.unique(labels[sil]))
        score = silhouette_score(z[sil], labels[sil]) if 1 < n_lab < len(sil) else -1.0
        if best is None or score > best_score:
            best, best_score = labels, score
    out[valid] = best
    return out


# ------------------------------------------------------------------------------------- helpers
def _ranges(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Concatenated ``arange(s, s + l)`` for every (s, l)."""
    lengths = np.asarray(lengths, dtype=np.int64)
    offsets = np.cumsum(lengths) - lengths
    return np.arange(int(lengths.sum()), dtype=np.int64) + np.repeat(np.asarray(starts, np.int64) - offsets, lengths)


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64 of each value: a stable (unsalted) 64-bit hash."""
    z = np.asarray(x).astype(np.uint64) + _M1
    z = (z ^ (z >> np.uint64(30))) * _M2
    z = (z ^ (z >> np.uint64(27))) * _M3
    return z ^ (z >> np.uint64(31))


def _isin_sorted(sorted_keys: np.ndarray, keys: np.ndarray) -> np.ndarray:
    if len(sorted_keys) == 0:
        return np.zeros(len(keys), dtype=bool)
    at = np.minimum(np.searchsorted(sorted_keys, keys), len(sorted_keys) - 1)
    return sorted_keys[at] == keys


def _repeat_capped(rng: np.random.Generator, owner: np.ndarray, k: int, cap: int | None) -> np.ndarray:
    """Unit indices, each repeated ``k`` times, keeping a random ``cap`` per owner (order kept)."""
    rep = np.repeat(np.arange(len(owner), dtype=np.int64), k)
    if cap is None or len(rep) == 0:
        return rep
    o = owner[rep]
    order = np.lexsort((rng.random(len(rep)), o))
    so = o[order]
    rank = np.arange(len(so)) - np.searchsorted(so, so, side="left")
    return rep[np.sort(order[rank < cap])]


class _Groups:
    """Pool items grouped by a label (cluster or artist; negative labels left out), as CSR."""

    def __init__(self, label: np.ndarray, pool: np.ndarray, n_groups: int):
        pool = pool[label[pool] >= 0]
        order = np.argsort(label[pool], kind="stable")
        self.items = pool[order]
        self.size = np.bincount(label[self.items], minlength=n_groups).astype(np.int64)
        self.ptr = np.concatenate([[0], np.cumsum(self.size)]).astype(np.int64)
        self.rank = np.full(len(label), -1, dtype=np.int64)  # an item's position within its group
        self.rank[self.items] = np.arange(len(self.items)) - self.ptr[label[self.items]]

    def draw(self, rng: np.random.Generator, g: np.ndarray) -> np.ndarray:
        return self.items[self.ptr[g] + (rng.random(len(g)) * self.size[g]).astype(np.int64)]

    def members(self, groups: np.ndarray) -> np.ndarray:
        return self.items[_ranges(self.ptr[groups], self.size[groups])]


def _negatives(rng, pool, bad, m, cluster_of=None, share=0.0, groups: _Groups | None = None) -> np.ndarray:
    """One negative per triple from ``pool`` (uniform), a ``share`` from ``groups`` (the triple's
    cluster ``cluster_of``); redrawn while ``bad(triples, candidates)``; ``-1`` where none was found."""
    neg = np.full(m, -1, dtype=np.int64)
    use_c = np.zeros(m, dtype=bool)
    if cluster_of is not None and groups is not None and share > 0:
        use_c = (rng.random(m) < share) & (cluster_of >= 0)
        use_c[use_c] = groups.size[cluster_of[use_c]] > 0
    todo = np.arange(m)
    for r in range(_ROUNDS):
        if len(todo) == 0 or len(pool) == 0:
            break
        cand = pool[rng.integers(0, len(pool), len(todo))]
        c = use_c[todo] & (r < _CLUSTER_ROUNDS)
        if c.any():
            cand[c] = groups.draw(rng, cluster_of[todo[c]])
        ok = ~bad(todo, cand)
        neg[todo[ok]] = cand[ok]
        todo = todo[~ok]
    return neg


class _Batch:
    """Triples as specs — profile = ``src[start:start+length]`` minus ``drop`` (``-1``: nothing) —
    de-duplicated and capped on their hashes, then laid out as :class:`Triples`."""

    def __init__(self, profiles: np.ndarray):
        self.sources: list[np.ndarray] = []
        self.n_src = 0
        self.parts: list[tuple] = []
        self.source(profiles)  # offset 0: the users' profiles, so ``ptr[u]`` starts P_u

    def source(self, items: np.ndarray) -> int:
        self.sources.append(np.asarray(items, dtype=np.int64))
        self.n_src += len(items)
        return self.n_src - len(items)

    def add(self, g: int, user, pos, neg, start, length, drop) -> None:
        n = len(pos)
        user, pos, neg, start, length, drop = (np.broadcast_to(np.asarray(a, dtype=np.int64), (n,))
                                               for a in (user, pos, neg, start, length, drop))
        ok = neg >= 0
        self.parts.append((user[ok], pos[ok], neg[ok], start[ok], length[ok], drop[ok],
                           np.full(int(ok.sum()), g, dtype=np.int8)))
        log.debug("guideline %d: %d triples (%d without a negative dropped)", g, ok.sum(), n - ok.sum())

    def build(self, rng: np.random.Generator, max_triples: int | None) -> Triples:
        cols = [np.concatenate([p[c] for p in self.parts]) if self.parts else np.empty(0, np.int64)
                for c in range(7)]
        user, pos, neg, start, length, drop, g = cols
        src = np.concatenate(self.sources) if self.sources else np.empty(0, np.int64)
        with np.errstate(over="ignore"):
            cs = np.concatenate([np.zeros(1, np.uint64), np.cumsum(_mix(src), dtype=np.uint64)])
            h = cs[start + length] - cs[start]  # the profile's set hash: Σ mix(item) mod 2^64
            h = h - np.where(drop >= 0, _mix(np.maximum(drop, 0)), np.uint64(0))
        order = np.lexsort((neg, pos, h))  # stable: the first triple made heads its group
        first = np.ones(len(order), dtype=bool)
        first[1:] = (np.diff(h[order]) != 0) | (np.diff(pos[order]) != 0) | (np.diff(neg[order]) != 0)
        keep = np.sort(order[first])
        if max_triples is not None and len(keep) > max_triples:
            keep = np.sort(rng.choice(keep, max_triples, replace=False))
        user, pos, neg, start, length, drop, g = (c[keep] for c in (user, pos, neg, start, length, drop, g))
        owner = np.repeat(np.arange(len(keep)), length)
        items = src[_ranges(start, length)]
        mask = items != drop[owner]
        ptr = np.concatenate([[0], np.cumsum(np.bincount(owner[mask], minlength=len(keep)))]).astype(np.int64)
        return Triples(user.copy(), pos.copy(), neg.copy(), ptr, items[mask], g.astype(np.int8))


class _World:
    """What the samplers share: profiles (CSR), ownership keys, the drawable item pool, artists."""

    def __init__(self, train: TrainData):
        n, u, i = train.n_items, np.asarray(train.user, np.int64), np.asarray(train.item, np.int64)
        if len(u) and (u.min() < 0 or u.max() >= train.n_users or i.min() < 0 or i.max() >= n):
            raise InputError("the interactions refer to users or items outside the training data",
                             "build TrainData with n_users/n_items covering every index")
        self.n_items, self.n_users = n, train.n_users
        profiles = train.profiles()
        self.len = np.array([len(p) for p in profiles], dtype=np.int64)
        self.ptr = np.concatenate([[0], np.cumsum(self.len)]).astype(np.int64)
        self.items = np.concatenate(profiles).astype(np.int64) if len(profiles) else np.empty(0, np.int64)
        self.user_of = np.repeat(np.arange(self.n_users, dtype=np.int64), self.len)
        self.owned = np.unique(self.user_of * n + self.items)
        f = self.features = None if train.features is None else np.asarray(train.features, np.float32)
        if f is not None and (f.ndim != 2 or f.shape[0] != n):
            raise InputError(f"features have shape {f.shape}, expected ({n}, d)",
                             "recompute them with `artkg features GRAPH_DIR`")
        self.pool = np.flatnonzero(np.isfinite(f).all(1)) if f is not None else np.arange(n, dtype=np.int64)
        artist = train.context.get("created_by")
        self.artist = (np.asarray(artist, dtype=np.int64) if artist is not None else np.full(n, -1, np.int64))
        if self.artist.shape != (n,):
            raise InputError(f"context['created_by'] has shape {self.artist.shape}, expected ({n},)",
                             "give one creator index per item (-1: unknown)")
        self.n_artists = int(self.artist.max()) + 1 if n else 0

    def is_owned(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        return _isin_sorted(self.owned, users * self.n_items + items)

    def add_leave_one_out(self, batch, rng, g, k, cap, neg_fn) -> None:
        """Profile P_u minus i, pos i (for users with two items or more), neg from ``neg_fn``."""
        units = np.flatnonzero(self.len[self.user_of] >= 2)  # (user, item) pairs of such users
        sel = units[_repeat_capped(rng, self.user_of[units], k, cap)]
        user, pos = self.user_of[sel], self.items[sel]
        neg = neg_fn(user, pos)
        batch.add(g, user, pos, neg, self.ptr[user], self.len[user], pos)


def _check_caps(max_triples, max_per_user) -> None:
    for name, v in (("max_triples", max_triples), ("max_per_user", max_per_user)):
        if v is not None and v < 1:
            raise InputError(f"{name}={v}", f"use {name} ≥ 1, or None for no cap")


class GuidelineSampler(TripleSampler):
    """The paper's six sampling guidelines (see the module docstring); ``guidelines`` picks which
    (``VBPR_GUIDELINES`` = (1, 3) for user-id models). ``per_guideline``: one count for all, or
    ``{guideline: count}`` over :data:`DEFAULT_BUDGETS`. Without features, (1)/(2) draw uniform
    negatives and (3)/(4) are skipped with a warning."""

    kind = "guidelines"
    synonyms = ("guidelines",)

    def __init__(self, guidelines=ALL_GUIDELINES, per_guideline: int | dict | None = None,
                 same_cluster_share: float = 0.6, margin: float = 0.05, n_clusters: int = 100,
                 n_components: int = 200, cluster_runs: int = 20, max_triples: int | None = 2_000_000,
                 max_per_user: int | None = 300, seed: int = 0):
        gs = tuple(sorted({int(g) for g in guidelines}))
        if not gs or any(g not in ALL_GUIDELINES for g in gs):
            raise InputError(f"unknown sampling guidelines {list(guidelines)!r}", "choose among 1 2 3 4 5 6")
        budgets = dict(DEFAULT_BUDGETS)
        if isinstance(per_guideline, dict):
            for key, v in per_guideline.items():
                if int(key) not in ALL_GUIDELINES:
                    raise InputError(f"per_guideline names guideline {key!r}", "use guidelines 1 to 6")
                budgets[int(key)] = v
        elif per_guideline is not None:
            budgets = {g: per_guideline for g in ALL_GUIDELINES}
        for v in budgets.values():
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 0:
                raise InputError(f"sampling budgets must be whole numbers ≥ 0 (got {v!r})",
                                 "pass per_guideline as one count or as {guideline: count}")
        if not 0.0 <= same_cluster_share <= 1.0 or margin < 0:
            raise InputError(f"same_cluster_share={same_cluster_share}, margin={margin}",
                             "use a share in [0, 1] and a margin ≥ 0")
        _check_caps(max_triples, max_per_user)
        self.guidelines, self.budgets = gs, {g: int(v) for g, v in budgets.items()}
        self.same_cluster_share, self.margin = float(same_cluster_share), float(margin)
        self.n_clusters, self.n_components, self.cluster_runs = n_clusters, n_components, cluster_runs
        self.max_triples, self.max_per_user, self.seed = max_triples, max_per_user, seed

    def clusters(self, train: TrainData) -> np.ndarray | None:
        if train.features is None:
            return None
        return visual_clusters(train.features, self.n_clusters, self.n_components, self.cluster_runs, self.seed)

    def sample(self, train: TrainData, rng: np.random.Generator) -> Triples:
        w = _World(train)
        batch = _Batch(w.items)
        needs = {1, 2, 3, 4} & set(self.guidelines)
        cl = self.clusters(train) if needs and w.features is not None else None
        if w.features is None and {3, 4} & set(self.guidelines):
            log.warning("no image features: sampling guidelines 3 and 4 are skipped, 1 and 2 draw "
                        "uniform negatives")
        elif (w.artist < 0).all() and {3, 4} & set(self.guidelines):
            log.warning("no artists known (context['created_by']): sampling guidelines 3 and 4 make no triples")
        cgroups = _Groups(cl, w.pool, int(cl.max()) + 1) if cl is not None and len(cl) else None
        share = self.same_cluster_share if cgroups is not None else 0.0
        singles = batch.source(np.arange(w.n_items, dtype=np.int64))
        for g in self.guidelines:
            k = self.budgets[g]
            if k == 0:
                continue
            if g == 1:
                w.add_leave_one_out(batch, rng, 1, k, self.max_per_user, lambda u, p: _negatives(
                    rng, w.pool, lambda t, c: w.is_owned(u[t], c), len(p),
                    cl[p] if cl is not None else None, share, cgroups))
            elif g == 6:
                w.add_leave_one_out(batch, rng, 6, k, self.max_per_user, lambda u, p: _negatives(
                    rng, w.pool, lambda t, c: w.is_owned(u[t], c), len(p)))
            elif g == 2:
                pos = np.repeat(w.pool, k)
                neg = _negatives(rng, w.pool, lambda t, c, pos=pos: c == pos[t], len(pos),
                                 cl[pos] if cl is not None else None, share, cgroups)
                batch.add(2, -1, pos, neg, singles + pos, 1, -1)
            elif g == 3 and cl is not None:
                self._guideline3(w, batch, rng, k, cl)
            elif g == 4 and cl is not None:
                self._guideline4(w, batch, rng, k, cl, cgroups, singles)
            elif g == 5:
                self._guideline5(train, w, batch, rng, k)
        return batch.build(rng, self.max_triples)

    def _guideline3(self, w: _World, batch: _Batch, rng, k: int, cl: np.ndarray) -> None:
        n_cl, n_art = int(cl.max()) + 1, max(w.n_artists, 1)
        agroups = _Groups(w.artist, w.pool, n_art)
        a_of, c_of = w.artist[w.items], cl[w.items]
        ua = np.unique(w.user_of[a_of >= 0] * n_art + a_of[a_of >= 0])
        uc = np.unique(w.user_of[c_of >= 0] * n_cl + c_of[c_of >= 0])
        users, pos = [], []
        for u in np.flatnonzero(w.len):
            prof = w.items[w.ptr[u]:w.ptr[u + 1]]
            arts = np.unique(w.artist[prof])
            arts = arts[arts >= 0]
            if not len(arts):
                continue
            cand = agroups.members(arts)
            in_c = np.zeros(n_cl + 1, dtype=bool)  # index -1 (no cluster) stays False
            in_c[c_of[w.ptr[u]:w.ptr[u + 1]]] = True
            in_c[-1] = False
            cand = cand[in_c[cl[cand]] & ~np.isin(cand, prof)]
            if len(cand):
                n = len(prof) * k if self.max_per_user is None else min(len(prof) * k, self.max_per_user)
                users.append(np.full(n, u, dtype=np.int64))
                pos.append(cand[rng.integers(0, len(cand), n)])
        if not users:
            return
        user, pos = np.concatenate(users), np.concatenate(pos)

        def bad(t, c):
            a, cc = w.artist[c], cl[c]
            return ((a < 0) | (cc < 0) | _isin_sorted(ua, user[t] * n_art + a)
                    | _isin_sorted(uc, user[t] * n_cl + cc))

        neg = _negatives(rng, w.pool, bad, len(pos))
        batch.add(3, user, pos, neg, w.ptr[user], w.len[user], -1)

    def _guideline4(self, w: _World, batch: _Batch, rng, k: int, cl: np.ndarray, cgroups: _Groups,
                    singles: int) -> None:
        agroups = _Groups(w.artist, w.pool, max(w.n_artists, 1))
        a = w.artist
        anchors = w.pool[(a[w.pool] >= 0) & (agroups.size[np.maximum(a[w.pool], 0)] >= 2)]
        if not len(anchors):
            return
        anchor = np.repeat(anchors, k)
        art = a[anchor]
        r = (rng.random(len(anchor)) * (agroups.size[art] - 1)).astype(np.int64)
        r += r >= agroups.rank[anchor]  # skip the anchor itself
        pos = agroups.items[agroups.ptr[art] + r]
        f = w.features
        norm = np.linalg.norm(f, axis=1)
        norm[norm == 0] = 1.0

        def cos(x, y):
            out = np.empty(len(x), dtype=np.float64)
            step = max(1, 2_000_000 // max(f.shape[1], 1))
            for s in range(0, len(x), step):
                xs, ys = x[s:s + step], y[s:s + step]
                out[s:s + step] = np.einsum("ij,ij->i", f[xs], f[ys]) / (norm[xs] * norm[ys])
            return out

        c_pos = cos(anchor, pos)
        known = w.pool[a[w.pool] >= 0]

        def bad(t, c):
            ok = (a[c] >= 0) & (a[c] != art[t])
            ok[ok] = np.abs(c_pos[t[ok]] - cos(anchor[t[ok]], c[ok])) <= self.margin
            return ~ok

        # Half the candidates come from the positive's cluster: similar looks make agreement likelier.
        neg = _negatives(rng, known, bad, len(anchor), cl[pos], 0.5, cgroups)
        batch.add(4, -1, pos, neg, singles + anchor, 1, -1)

    def _guideline5(self, train: TrainData, w: _World, batch: _Batch, rng, k: int) -> None:
        users, pos, starts, lens = [], [], [], []
        for u, baskets in enumerate(train.baskets()):
            if len(baskets) < 2:
                continue
            seen = baskets[0]
            for b in baskets[1:]:
                new = b[~np.isin(b, seen)]
                if len(new):
                    users.append(np.full(len(new), u, dtype=np.int64))
                    pos.append(new)
                    starts.append(np.full(len(new), batch.source(seen), dtype=np.int64))
                    lens.append(np.full(len(new), len(seen), dtype=np.int64))
                seen = np.union1d(seen, b)
        if not users:
            return
        user, pos, start, length = (np.concatenate(x) for x in (users, pos, starts, lens))
        sel = _repeat_capped(rng, user, k, self.max_per_user)
        user, pos, start, length = user[sel], pos[sel], start[sel], length[sel]
        neg = _negatives(rng, w.pool, lambda t, c: w.is_owned(user[t], c), len(pos))
        batch.add(5, user, pos, neg, start, length, -1)


class RandomSampler(TripleSampler):
    """The ablation: for each (user, profile item i) of users with two items or more, ``per_item``
    triples with profile P_u \\ {i}, pos i and a uniform negative ∉ P_u (guideline 1's budget and
    per-user cap by default); de-duplicated and capped like the guidelines; ``guideline`` 0."""

    kind = "random"

    def __init__(self, per_item: int = DEFAULT_BUDGETS[1], max_per_user: int | None = 300,
                 max_triples: int | None = 2_000_000):
        if isinstance(per_item, bool) or not isinstance(per_item, (int, np.integer)) or per_item < 1:
            raise InputError(f"per_item={per_item!r}", "use a whole number ≥ 1")
        _check_caps(max_triples, max_per_user)
        self.per_item, self.max_per_user, self.max_triples = int(per_item), max_per_user, max_triples

    def sample(self, train: TrainData, rng: np.random.Generator) -> Triples:
        w = _World(train)
        batch = _Batch(w.items)
        w.add_leave_one_out(batch, rng, 0, self.per_item, self.max_per_user, lambda u, p: _negatives(
            rng, w.pool, lambda t, c: w.is_owned(u[t], c), len(p)))
        return batch.build(rng, self.max_triples)


sampler_resolver: ClassResolver[TripleSampler] = ClassResolver(
    [GuidelineSampler, RandomSampler], base=TripleSampler, suffix="Sampler", default=GuidelineSampler)
