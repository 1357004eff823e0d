"""The held-out-ratings evaluation of the multimodal engines, with beyond-accuracy figures.

:class:`RatingSplit` (the ``eval_method`` for ``kind="rated"``): each user's 1–5 ratings in time order;
the first ``profile_fraction`` of them is what the user told the system (the elicitation of the
study: paintings and their ratings), the rest is held out. A held-out painting rated
``relevant_min`` or more is *relevant*. The candidates are the whole collection minus the profile —
what a recommender of a museum collection chooses from — so precision counts only held-out likes as
hits: unrated paintings the user might like count as misses for every engine alike.

:func:`beyond_accuracy` measures the lists themselves (models/recsys/beyond.py): intra-list diversity
in one fixed reference space for every engine (the unit image features ⊕ unit text features of the
graph, whichever exist), novelty from the training ratings' popularity, serendipity (relevant and not
in the popularity ranking's list of the same length), catalogue coverage, and how alike different
users' lists are (mean pairwise IoU and RBO: low = personalised).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from artkg.kg.errors import InputError
from artkg.models.recsys.base import TrainData


@dataclass
class RatedCase:
    """One test user: the profile (items and ratings, time order) and the held-out ratings."""

    user: int
    profile: np.ndarray
    ratings: np.ndarray
    held: np.ndarray
    held_ratings: np.ndarray
    n_items: int
    relevant_min: float = 4.0

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """``(candidates, relevant)``: every item not in the profile, and the held-out likes among them."""
        mask = np.ones(self.n_items, dtype=bool)
        mask[self.profile] = False
        candidates = np.flatnonzero(mask).astype(np.int64)
        return candidates, np.isin(candidates, self.held[self.held_ratings >= self.relevant_min])


@dataclass
class RatedSplit:
    train: TrainData
    cases: list[RatedCase] = field(default_factory=list)
    cutoff: float | None = None  # no global cutoff: a per-user split

    def summary(self) -> dict:
        rel = [int((c.held_ratings >= c.relevant_min).sum()) for c in self.cases]
        return {"protocol": "held-out ratings", "test_users": len(self.cases),
                "train_interactions": int(len(self.train.user)), "mean_candidates": float(np.mean(
                    [c.n_items - len(c.profile) for c in self.cases])) if self.cases else 0.0,
                "mean_profile": float(np.mean([len(c.profile) for c in self.cases])) if self.cases else 0.0,
                "mean_relevant": float(np.mean(rel)) if rel else 0.0}


@dataclass
class RatingSplit:
    """Per user: the first ``profile_fraction`` of the ratings (time order) is the profile."""

    profile_fraction: float = 0.5
    relevant_min: float = 4.0
    min_ratings: int = 4

    def split(self, interactions, features=None, context=None, context_sizes=None, seed: int = 0,
              **content) -> RatedSplit:
        if not 0.0 < self.profile_fraction < 1.0:
            raise InputError(f"profile_fraction must be in (0, 1) (got {self.profile_fraction})",
                             "e.g. 0.5: half of each user's ratings are the profile, half held out")
        ev = interactions.of_kind("rated")
        ok = np.isfinite(ev.rating)
        user, item, rating = ev.user[ok], ev.item[ok], ev.rating[ok].astype(np.float64)
        time, basket = ev.time[ok], ev.basket[ok]
        if not len(user):
            raise InputError("the graph has no ratings to evaluate on",
                             "add rated interactions (`kgbuild interactions` with a rating column, or "
                             "`kgbuild synth --raters N`)")
        order = np.lexsort((item, np.nan_to_num(time, nan=np.inf), user))  # per user, time order
        user, item, rating, time, basket = user[order], item[order], rating[order], time[order], basket[order]
        held_row = np.zeros(len(user), dtype=bool)
        cases = []
        bounds = np.flatnonzero(np.diff(user)) + 1
        for rows in np.split(np.arange(len(user)), bounds):
            _, first = np.unique(item[rows], return_index=True)  # a re-rated painting: its first rating
            rows = rows[np.sort(first)]
            if len(rows) < self.min_ratings:
                continue
            n_profile = int(np.clip(np.ceil(self.profile_fraction * len(rows)), 1, len(rows) - 1))
            prof, held = rows[:n_profile], rows[n_profile:]
            case = RatedCase(int(user[rows[0]]), item[prof], rating[prof], item[held], rating[held],
                             interactions.n_items, self.relevant_min)
            if (case.held_ratings >= self.relevant_min).any():
                cases.append(case)
                held_row[held] = True
        if not cases:
            raise InputError(f"no user has a held-out rating of {self.relevant_min:g} or more to test on",
                             f"users need {self.min_ratings}+ ratings, some of them high")
        keep = ~held_row
        train = TrainData(n_users=interactions.n_users, n_items=interactions.n_items, user=user[keep],
                          item=item[keep], time=time[keep], basket=basket[keep], features=features,
                          context=dict(context or {}), context_sizes=dict(context_sizes or {}), seed=seed, **content)
        return RatedSplit(train, cases)


def popularity_counts(train: TrainData) -> np.ndarray:
    """Distinct users per item in the training interactions."""
    pairs = np.unique(np.stack([train.user, train.item]), axis=1) if len(train.user) else np.zeros((2, 0), int)
    return np.bincount(pairs[1], minlength=train.n_items)


def reference_vectors(train: TrainData) -> np.ndarray | None:
    """The fixed space intra-list diversity is measured in (unit image ⊕ unit text features)."""
    from artkg.models.recsys.content import unit_rows

    parts = [unit_rows(x, m, center=True) for x, m in ((train.features, train.feature_mask),
                                                       (train.text_features, train.text_mask)) if x is not None]
    return np.hstack(parts) if parts else None


def beyond_accuracy(lists: list[np.ndarray], cases: list[RatedCase], train: TrainData, ks=(9,)) -> dict:
    """Beyond-accuracy figures of the top-``k`` lists (one per case, best first) at each ``k`` of
    ``ks``; the popularity, the baseline lists and the reference space are computed once."""
    from artkg.models.recsys import beyond as B
    from artkg.models.recsys.fusion import top_positions

    ks = [ks] if isinstance(ks, (int, np.integer)) else list(ks)
    counts = popularity_counts(train)
    n_users = max(int(len(np.unique(train.user))), 1)
    kmax = max(ks)
    expected = []
    for case in cases:  # the popularity ranking's list for the same candidates (its top k: a prefix)
        candidates, _ = case.arrays()
        expected.append(candidates[top_positions(counts[candidates].astype(np.float64), kmax)])
    relevant = [case.held[case.held_ratings >= case.relevant_min] for case in cases]
    vectors = reference_vectors(train)
    out = {}
    for k in ks:
        top = [np.asarray(x[:k], dtype=np.int64) for x in lists]
        out.update({f"novelty@{k}": B.novelty(top, counts, n_users),
                    f"serendipity@{k}": B.serendipity(top, relevant, [e[:k] for e in expected]),
                    f"coverage@{k}": B.catalogue_coverage(top, train.n_items)})
        if vectors is not None:
            out[f"ild@{k}"] = B.intra_list_diversity(top, vectors)
        if len(top) >= 2:
            out[f"user_iou@{k}"] = B.mean_pairwise(top, B.iou, seed=train.seed)
            out[f"user_rbo@{k}"] = B.mean_pairwise(top, B.rbo, seed=train.seed)
    return {key: round(float(v), 6) for key, v in out.items()}


def evaluate_rated(model, split: RatedSplit, ks=(9, 20), progress: bool = False,
                   return_lists: bool = False) -> dict | tuple[dict, list[np.ndarray]]:
    """Mean per-user accuracy (AUC, MRR, P/R/nDCG@k) on held-out ratings, and beyond-accuracy at each k."""
    from tqdm.auto import tqdm

    from artkg.models.recsys.fusion import top_positions
    from artkg.models.recsys.metrics import average, rank_metrics

    per_user, lists = [], []
    kmax = max(ks)
    if not split.cases:
        return ({"evaluated": False}, []) if return_lists else {"evaluated": False}
    for case in tqdm(split.cases, desc="evaluate", disable=not progress, leave=False):
        candidates, relevant = case.arrays()
        extra = {"ratings": case.ratings} if getattr(model, "uses_ratings", False) else {}
        scores = np.asarray(model.score(case.user, case.profile, candidates, **extra), dtype=np.float64)
        per_user.append(rank_metrics(scores, relevant, ks=tuple(ks)))
        lists.append(candidates[top_positions(scores, kmax)])
    metrics = {k: (round(float(v), 6) if isinstance(v, float) else v) for k, v in average(per_user).items()}
    metrics.update(beyond_accuracy(lists, split.cases, split.train, ks))
    return (metrics, lists) if return_lists else metrics
