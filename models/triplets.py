"""Influence triplets drawn from graph hops (CLOIR), and the artwork splits they are drawn within.

For an **anchor** artwork by artist ``a``:

- **positives** are artworks by the artists reachable from ``a`` along ``influenced_by`` within
  ``hops`` (its influencers, and with ``hops=2`` their influencers too);
- **negatives** are artworks by the remaining artists: never ``a`` itself, its influencers, or
  the artists it influenced (within the same hops) — a work by a pupil is not evidence *against*
  influence.

Anchors, positives and negatives all come from the training artworks, so a test artwork never
shapes the embedding. Positive and negative samplers are registry components
(``positive_sampler_resolver``: random | similarity, ``negative_sampler_resolver``: random | hard);
the similarity ones rank a pool by cosine similarity of the input features with FAISS.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np
from class_resolver import ClassResolver

from artkg.kg.errors import InputError
from artkg.kg.influence import Direction, InfluenceIndex
from artkg.models.tasks import artwork_creators  # noqa: F401  (part of this module's API)

SPLITS = ("stratified", "leave_out_agents", "published")  # published: the graph's splits.json


def artwork_years(graph) -> np.ndarray:
    """Inception year per artwork (NaN where unknown)."""
    year = graph.node_attr("artwork", "year")
    if year is not None:
        return year.numpy().astype(np.float64)
    return np.full(graph.num_nodes("artwork"), np.nan)


# ---------------------------------------------------------------------------------------- splits
@dataclass
class ArtworkSplit:
    """Artwork indices for fitting, early stopping (val, drawn from the training part) and testing."""

    kind: str
    train: np.ndarray
    val: np.ndarray
    test: np.ndarray

    def to_json(self) -> dict:
        return {"kind": self.kind, "train": self.train.tolist(), "val": self.val.tolist(), "test": self.test.tolist()}

    @classmethod
    def from_json(cls, d: dict) -> "ArtworkSplit":
        arr = lambda v: np.asarray(v, dtype=np.int64)  # noqa: E731
        return cls(d["kind"], arr(d["train"]), arr(d["val"]), arr(d["test"]))


def split_artworks(creator: np.ndarray, usable: np.ndarray, kind: str = "stratified", test_fraction: float = 0.3,
                   val_fraction: float = 0.1, seed: int = 42) -> ArtworkSplit:
    """``stratified``: ``test_fraction`` of each artist's works go to test; ``leave_out_agents``: that
    share of the *artists* goes to test with all their works. Validation artworks are taken from the
    training part the same way (so leave-out-agents also validates on unseen artists)."""
    if kind not in SPLITS:
        raise InputError(f"unknown split {kind!r}", f"choose one of {', '.join(SPLITS)}")
    if kind == "published":
        raise InputError("the published split is read from a graph directory",
                         "use artkg.models.published.published_artwork_split(graph, …)")
    if not 0 < test_fraction < 1:
        raise InputError(f"test fraction {test_fraction} is outside (0, 1)", "e.g. 0.3")
    rng = np.random.default_rng(seed)
    pool = np.flatnonzero(usable & (creator >= 0))
    train, test = _split_part(pool, creator, kind, test_fraction, rng)
    fit, val = _split_part(train, creator, kind, val_fraction, rng) if val_fraction > 0 else (train, train[:0])
    return ArtworkSplit(kind, np.sort(fit), np.sort(val), np.sort(test))


def _split_part(pool: np.ndarray, creator: np.ndarray, kind: str, fraction: float, rng) -> tuple[np.ndarray, np.ndarray]:
    if kind == "leave_out_agents":
        artists = np.unique(creator[pool])
        rng.shuffle(artists)
        held = artists[:int(round(fraction * len(artists)))]
        is_held = np.isin(creator[pool], held)
        return pool[~is_held], pool[is_held]
    keep, held = [], []
    for works in by_creator(pool, creator):
        works = rng.permutation(works)
        n_held = int(fraction * len(works) + 0.5) if len(works) > 1 else 0
        held.append(works[:n_held])
        keep.append(works[n_held:])
    cat = lambda parts: np.concatenate(parts) if parts else pool[:0]  # noqa: E731
    return cat(keep), cat(held)


def by_creator(artworks: np.ndarray, creator: np.ndarray) -> list[np.ndarray]:
    """``artworks`` grouped by creator (groups in creator order, each in its given order)."""
    if len(artworks) == 0:
        return []
    order = artworks[np.argsort(creator[artworks], kind="stable")]
    return np.split(order, np.flatnonzero(np.diff(creator[order])) + 1)


# ---------------------------------------------------------------------------------------- hop sets
class InfluenceHops:
    """Per artist: the positive artists (influencers within ``hops``) and the excluded ones.

    ``hidden`` artists (held out: under leave-out-agents the test artists) are never a step on the
    way: with ``hops=2``, an influencer of a held-out influencer is not reached through it, so no
    training triplet rests on a held-out artist's influence edges.
    """

    def __init__(self, influence: InfluenceIndex, hops: int = 1, hidden=()):
        if hops not in (1, 2):
            raise InputError(f"hops must be 1 or 2 (got {hops})", "pass --hops 1 or --hops 2")
        self.influence, self.hops = influence, hops
        self.hidden = frozenset(int(a) for a in np.asarray(hidden, dtype=np.int64).ravel())
        self._cache: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    def reach(self, artist: int, direction: Direction) -> np.ndarray:
        """Artists within ``hops`` of ``artist`` in ``direction``, never through a hidden artist."""
        first = self.influence.neighbours(artist, direction)
        parts = [first]
        if self.hops == 2:
            parts += [self.influence.neighbours(int(b), direction) for b in first if int(b) not in self.hidden]
        found = np.unique(np.concatenate(parts).astype(np.int64))
        return found[found != artist]

    def sets(self, artist: int) -> tuple[np.ndarray, np.ndarray]:
        """``(positive artists, excluded artists)``; excluded ⊇ positives ∪ {artist} ∪ influenced."""
        if artist not in self._cache:
            pos = self.reach(artist, Direction.influencers)
            influenced = self.reach(artist, Direction.influenced)
            self._cache[artist] = (pos, np.unique(np.concatenate([pos, influenced, [artist]])))
        return self._cache[artist]


# ---------------------------------------------------------------------------------------- samplers
class PositiveSampler:
    """Chooses up to ``n`` positives per anchor from a pool (artwork indices)."""

    def __init__(self, n: int = 10):
        if n < 1:
            raise InputError(f"the sample size per anchor must be at least 1 (got {n})", "pass --n 10 or --n 100")
        self.n = int(n)

    def sample(self, anchors: np.ndarray, pool: np.ndarray, features: np.ndarray,
               rng: np.random.Generator) -> list[np.ndarray]:
        raise NotImplementedError


class RandomPositiveSampler(PositiveSampler):
    """``n`` positives drawn uniformly without replacement (all of them when the pool is smaller)."""

    def sample(self, anchors, pool, features, rng):
        m = min(self.n, len(pool))
        return [rng.choice(pool, m, replace=False) for _ in anchors]


class SimilarityPositiveSampler(PositiveSampler):
    """The ``n`` positives most similar to the anchor in the input feature space (cosine, FAISS):
    the paper's best setting — influence shows first in the works that resemble each other."""

    def sample(self, anchors, pool, features, rng):
        _, idx = knn(features[anchors], features[pool], min(self.n, len(pool)))
        return list(pool[idx])


class NegativeSampler:
    """Chooses ``m`` negatives per anchor from a pool; ``resample`` redraws them every epoch."""

    resample = False

    def sample(self, anchors: np.ndarray, counts: np.ndarray, pool: np.ndarray, features: np.ndarray,
               rng: np.random.Generator) -> list[np.ndarray]:
        raise NotImplementedError


class RandomNegativeSampler(NegativeSampler):
    """Uniform draws from the negative pool, redrawn every epoch."""

    resample = True

    def sample(self, anchors, counts, pool, features, rng):
        return [rng.choice(pool, int(c), replace=len(pool) < c) for c in counts]


class HardNegativeSampler(NegativeSampler):
    """The negatives nearest to the anchor (cosine, FAISS): works that look alike without influence."""

    def sample(self, anchors, counts, pool, features, rng):
        k = min(int(counts.max()), len(pool))
        _, idx = knn(features[anchors], features[pool], k)
        return [np.resize(pool[row], int(c)) for row, c in zip(idx, counts)]  # repeats if the pool is small


positive_sampler_resolver: ClassResolver[PositiveSampler] = ClassResolver(
    [RandomPositiveSampler, SimilarityPositiveSampler], base=PositiveSampler, suffix="PositiveSampler",
    default=RandomPositiveSampler)
negative_sampler_resolver: ClassResolver[NegativeSampler] = ClassResolver(
    [RandomNegativeSampler, HardNegativeSampler], base=NegativeSampler, suffix="NegativeSampler",
    default=RandomNegativeSampler)


def knn(queries: np.ndarray, base: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Brute-force cosine top-``k`` with FAISS (inputs L2-normalised here; rows are float32)."""
    import faiss

    q = _unit(queries)
    b = _unit(base)
    return faiss.knn(q, b, k, metric=faiss.METRIC_INNER_PRODUCT)


def _unit(x: np.ndarray) -> np.ndarray:
    x = np.ascontiguousarray(x, dtype=np.float32)
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


# ---------------------------------------------------------------------------------------- triplets
@dataclass
class TripletPlan:
    """Anchors with their fixed positives, and what is needed to (re)draw the negatives."""

    anchors: np.ndarray  # [T] artwork index, one row per triplet
    positives: np.ndarray  # [T]
    # per creator: (the plan's rows, its anchors, triplets per anchor, its negative pool)
    groups: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]
    negative_sampler: NegativeSampler
    features: np.ndarray
    negatives: Optional[np.ndarray] = None

    def __len__(self) -> int:
        return len(self.anchors)

    def draw_negatives(self, rng: np.random.Generator) -> np.ndarray:
        """Negatives for every triplet (once, or each call when the sampler resamples)."""
        if self.negatives is not None and not self.negative_sampler.resample:
            return self.negatives
        negatives = np.empty(len(self.anchors), dtype=np.int64)
        for rows, anchors, counts, pool in self.groups:
            drawn = self.negative_sampler.sample(anchors, counts, pool, self.features, rng)
            negatives[rows] = np.concatenate(drawn)
        self.negatives = negatives
        return negatives

    def triplets(self, rng: np.random.Generator) -> np.ndarray:
        """``[T, 3]`` (anchor, positive, negative) artwork indices."""
        return np.stack([self.anchors, self.positives, self.draw_negatives(rng)], axis=1)


def plan_triplets(creator: np.ndarray, features: np.ndarray, anchors: np.ndarray, pool: np.ndarray,
                  hops: InfluenceHops, positive: PositiveSampler, negative: NegativeSampler,
                  rng: np.random.Generator) -> TripletPlan:
    """Triplets for ``anchors`` drawn from ``pool`` (both artwork indices; pool = training artworks).

    Anchors are grouped by creator, so each artist's positive and negative pools are built once.
    An anchor whose creator has no influencer with works in the pool gives no triplet.
    """
    pool = np.unique(pool)
    pool_creator = creator[pool]
    anchors = np.unique(anchors)
    rows_a, rows_p, groups = [], [], []
    start = 0
    for group in by_creator(anchors, creator):
        artist = int(creator[group[0]])
        pos_artists, excluded = hops.sets(artist)
        pos_pool = pool[np.isin(pool_creator, pos_artists)]
        neg_pool = pool[~np.isin(pool_creator, excluded)]
        if len(pos_pool) == 0 or len(neg_pool) == 0:
            continue
        group = np.sort(group)
        chosen = positive.sample(group, pos_pool, features, rng)
        counts = np.array([len(c) for c in chosen])
        rows_a.append(np.repeat(group, counts))
        rows_p.append(np.concatenate(chosen))
        rows = np.arange(start, start + int(counts.sum()))
        groups.append((rows, group, counts, neg_pool))
        start += int(counts.sum())
    if not rows_a:
        raise InputError("no training artwork has an influencer with training artworks, so there are no triplets",
                         "use a graph with influence edges (wdt:P737) between artists who have artworks, "
                         "or --hops 2")
    return TripletPlan(np.concatenate(rows_a), np.concatenate(rows_p), groups, negative, features)
