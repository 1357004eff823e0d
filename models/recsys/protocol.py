"""The time-ordered evaluation of the recommenders (CuratorNet's protocol, with no look-ahead).

Purchases are replayed in time order. Users with at least ``min_baskets`` purchase baskets are
*eligible*; the cutoff time ``T`` is the ``cutoff_quantile`` of their last baskets' times. Every
eligible user whose last basket is at or after ``T`` and who bought something before it is a *test
user*: the last basket is the test, every earlier basket the profile. Models train on the
interactions strictly before ``T`` only — so training never sees anything at or after any test time.

The candidates of a test basket at time ``t`` are the inventory of that moment: works uploaded by
``t`` (no upload time: always there) that no one bought before ``t`` if they are one of a kind,
minus what the user already owns. Cold-start items (never bought before ``T``) stay in — the items
this setting is about (Cornac's ``exclude_unknowns`` would drop them).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np

from artkg.kg.errors import InputError
from artkg.models.recsys.base import KG_RELATIONS, TrainData

log = logging.getLogger("artkg")


@dataclass
class Inventory:
    """When each work is on offer: uploaded at ``available_from`` (−inf: always), gone at ``sold`` (inf:
    never; a one-of-a-kind work's first purchase)."""

    available_from: np.ndarray
    sold: np.ndarray

    def at(self, t: float, exclude: np.ndarray) -> np.ndarray:
        on_offer = (self.available_from <= t) & (self.sold >= t)
        on_offer[exclude] = False
        return np.flatnonzero(on_offer).astype(np.int64)


@dataclass
class TestCase:
    """One test basket. Its candidates are computed when asked for (:meth:`arrays`), so a split of
    many users over a large catalogue holds no per-user candidate lists."""

    user: int
    time: float
    profile: np.ndarray  # int64 items bought before the test basket (time order)
    basket: np.ndarray  # int64 the test basket's items
    inventory: Inventory

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """``(candidates, relevant)``: the inventory at ``time`` minus the profile, and the test basket
        among them (bool)."""
        candidates = self.inventory.at(self.time, self.profile)
        return candidates, np.isin(candidates, self.basket)

    @property
    def candidates(self) -> np.ndarray:
        return self.arrays()[0]

    @property
    def relevant(self) -> np.ndarray:
        return self.arrays()[1]


@dataclass
class Split:
    cutoff: float
    train: TrainData
    cases: list[TestCase] = field(default_factory=list)

    sizes: list[tuple[int, int]] = field(default_factory=list)  # (candidates, relevant) per case

    def summary(self) -> dict:
        return {"cutoff": self.cutoff, "train_interactions": int(len(self.train.user)),
                "test_users": len(self.cases),
                "mean_candidates": float(np.mean([c for c, _ in self.sizes])) if self.sizes else 0.0,
                "mean_relevant": float(np.mean([r for _, r in self.sizes])) if self.sizes else 0.0}


@dataclass
class TimeOrderedSplit:
    """The evaluation method (Cornac's ``eval_method``): how the purchases become train and test."""

    kind: str = "purchased"
    cutoff_quantile: float = 0.5
    min_baskets: int = 2

    def split(self, interactions, features: np.ndarray | None = None, context: dict | None = None,
              context_sizes: dict | None = None, seed: int = 0) -> Split:

        if not 0.0 <= self.cutoff_quantile < 1.0:
            raise InputError(f"cutoff_quantile must be in [0, 1) (got {self.cutoff_quantile})",
                             "e.g. 0.5: half of the eligible users are test users")
        ev = interactions.of_kind(self.kind) if hasattr(interactions, "of_kind") else interactions
        keep = np.isfinite(ev.time)
        user, item, time, basket = ev.user[keep], ev.item[keep], ev.time[keep], ev.basket[keep]
        if not len(user):
            raise InputError(f"the graph has no timed {self.kind} interactions to evaluate on",
                             "add some with `kgbuild interactions GRAPH_DIR FILE` or build `kgbuild synth --users N`")
        # Baskets: (user, basket) → time (the basket's first event).
        order = np.lexsort((item, basket, time))
        user, item, time, basket = user[order], item[order], time[order], basket[order]
        import pandas as pd

        frame = pd.DataFrame({"u": user, "b": basket, "t": time})
        baskets = frame.groupby(["u", "b"], sort=False)["t"].min().reset_index().sort_values(["u", "t", "b"])
        per_user = baskets.groupby("u")
        n_baskets = per_user.size()
        last = per_user.tail(1).set_index("u")
        eligible = n_baskets.index[n_baskets.to_numpy() >= self.min_baskets].to_numpy()
        if not len(eligible):
            raise InputError(f"no user has {self.min_baskets} or more {self.kind} baskets: nothing to test on",
                             "the protocol tests each user's last basket against the earlier ones")
        last_t = last.loc[eligible, "t"].to_numpy()
        cutoff = float(np.quantile(last_t, self.cutoff_quantile, method="lower"))
        first_t = per_user["t"].min()
        test_users = eligible[(last_t >= cutoff) & (first_t.loc[eligible].to_numpy() < last_t)]

        # When each one-of-a-kind work left the inventory (its first purchase, any user).
        sold = np.full(interactions.n_items, np.inf)
        all_p = interactions.of_kind(self.kind) if hasattr(interactions, "of_kind") else interactions
        once = interactions.one_of_a_kind
        timed = np.isfinite(all_p.time)
        np.minimum.at(sold, all_p.item[timed], all_p.time[timed])
        sold[~once] = np.inf
        inventory = Inventory(np.nan_to_num(interactions.available_from, nan=-np.inf), sold)

        cases, sizes = [], []
        by_user = {int(u): np.flatnonzero(user == u) for u in test_users.tolist()}
        for u in test_users.tolist():
            rows = by_user[int(u)]
            b_last = int(last.loc[u, "b"])
            t = float(last.loc[u, "t"])
            test_rows = rows[basket[rows] == b_last]
            prof_rows = rows[(basket[rows] != b_last) & (time[rows] < t)]
            profile = pd.unique(item[prof_rows]).astype(np.int64)
            case = TestCase(int(u), t, profile, np.unique(item[test_rows]).astype(np.int64), inventory)
            candidates, relevant = case.arrays()
            if not relevant.any() or relevant.all() or not len(profile):
                continue  # e.g. the test basket re-buys a print the user already owns
            cases.append(case)
            sizes.append((len(candidates), int(relevant.sum())))
        train_rows = time < cutoff
        train = TrainData(n_users=interactions.n_users, n_items=interactions.n_items, user=user[train_rows],
                          item=item[train_rows], time=time[train_rows], basket=basket[train_rows],
                          features=features, context=dict(context or {}), context_sizes=dict(context_sizes or {}),
                          seed=seed)
        if not cases:
            raise InputError("the time-ordered split left no test user", "lower cutoff_quantile or add interactions")
        return Split(cutoff=cutoff, train=train, cases=cases, sizes=sizes)


def item_context(kg) -> tuple[dict[str, np.ndarray], dict[str, int]]:
    """Each artwork's creator, movement, genre and style (first neighbour by index; an artwork without
    a direct edge takes its creator's movement/genre), ``-1`` where the graph says nothing."""
    from artkg.models.tasks import artwork_creators

    n = kg.num_nodes("artwork")
    creator = artwork_creators(kg)
    context, sizes = {"created_by": creator}, {"created_by": kg.num_nodes("artist")}
    for rel in KG_RELATIONS[1:]:
        out = np.full(n, -1, dtype=np.int64)
        target = rel
        key = next((k for k in kg.edge_types if k[0] == "artwork" and k[1] == rel), None)
        if key is not None:
            src, dst = kg.edge_index(key).numpy()
            order = np.lexsort((-dst, src))
            out[src[order]] = dst[order]
            target = key[2]
        via = next((k for k in kg.edge_types if k[0] == "artist" and k[1] == rel), None)
        if via is not None:
            per_artist = np.full(kg.num_nodes("artist"), -1, dtype=np.int64)
            src, dst = kg.edge_index(via).numpy()
            order = np.lexsort((-dst, src))
            per_artist[src[order]] = dst[order]
            fill = (out < 0) & (creator >= 0)
            out[fill] = per_artist[creator[fill]]
            target = via[2] if key is None else target
        if key is None and via is None:
            continue
        context[rel] = out
        sizes[rel] = kg.num_nodes(target)
    return context, sizes
