"""Ranking metrics of the recommender evaluation, per user and averaged over users (numpy only).

For one user, ``scores`` covers the user's candidate items and ``relevant`` marks the held-out
test basket among them. Definitions (``rank`` is 1-based):

* ranking: descending score, ties broken by candidate position (earlier first) — stable and
  deterministic, so a model that scores everything equal is not flattered by a lucky order;
* ``auc``: the fraction of (relevant, irrelevant) pairs where the relevant item scores higher, a
  tie counting 1/2 (Mann–Whitney U from average ranks, exact, O(c log c)); **NaN** when every
  candidate is relevant (no pair exists) — :func:`average` then leaves that user out of ``auc``;
* ``mrr``: 1 / rank of the first relevant item (the whole list, no cut-off);
* ``precision@k``: hits in the top k / k, with k fixed even when there are fewer than k candidates
  (a short list cannot reach 1.0 — torchmetrics' ``adaptive_k=False``);
* ``recall@k``: hits in the top k / |relevant|;
* ``ndcg@k``: binary gains, DCG = Σ 1/log2(rank + 1) over the hits in the top k, divided by the
  ideal DCG of min(|relevant|, k) items at ranks 1, 2, … (not of the hits found only, which the
  CuratorNet reference code does and which inflates nDCG up to 1.0 for a single early hit).

A user without a relevant candidate has no defined metric: :func:`rank_metrics` raises
:class:`MetricInputError` (the caller excludes such users); :func:`rank_metrics_batch` gives that
row NaN everywhere.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import numpy as np
from artkg.kg.errors import InputError

KS = (10, 20, 50, 100)
"""The cut-offs of issue 10 (the paper reports 20 and 100)."""

PER_K = ("precision", "recall", "ndcg")


class MetricInputError(InputError, ValueError):
    """Scores/labels the metrics cannot use; also a ``ValueError`` for callers that catch that."""


def metric_names(ks: Iterable[int] = KS) -> list[str]:
    """The metric keys in table order: ``auc``, ``mrr``, then for each k (as given) ``precision@k``,
    ``recall@k``, ``ndcg@k``."""
    return ["auc", "mrr"] + [f"{m}@{k}" for k in _check_ks(ks) for m in PER_K]


def rank_metrics(scores, relevant, ks: Iterable[int] = KS) -> dict[str, float]:
    """All metrics of one user (keys of :func:`metric_names`); see the module docstring."""
    ks = _check_ks(ks)
    s = np.asarray(scores, dtype=np.float64)
    r = np.asarray(relevant)
    if s.ndim != 1 or r.shape != s.shape:
        raise MetricInputError(f"scores {s.shape} and relevant {r.shape} are not two 1-d arrays of "
                               "one length", "pass one score and one flag per candidate")
    r = _as_bool(r)
    if np.isnan(s).any():
        raise MetricInputError(f"{int(np.isnan(s).sum())} candidate scores are NaN",
                               "fix the model's scores (a NaN has no rank)")
    n_rel = int(r.sum())
    if n_rel == 0:
        raise MetricInputError(f"no relevant item among the {len(s)} candidates",
                               "leave this user out of the evaluation")
    order = np.argsort(-s, kind="stable")
    hit_ranks = np.flatnonzero(r[order]) + 1  # ascending 1-based ranks of the relevant items
    dcg = np.cumsum(1.0 / np.log2(hit_ranks + 1.0))
    ideal = np.cumsum(1.0 / np.log2(np.arange(2, min(n_rel, max(ks)) + 2, dtype=np.float64)))
    out = {"auc": _auc(s, r, n_rel), "mrr": float(1.0 / hit_ranks[0])}
    for k in ks:
        hits = int(np.searchsorted(hit_ranks, k, side="right"))
        out[f"precision@{k}"] = hits / k
        out[f"recall@{k}"] = hits / n_rel
        out[f"ndcg@{k}"] = float(dcg[hits - 1] / ideal[min(n_rel, k) - 1]) if hits else 0.0
    return {name: out[name] for name in metric_names(ks)}


def rank_metrics_batch(scores, relevant, valid=None, ks: Iterable[int] = KS) -> dict[str, np.ndarray]:
    """The metrics of many users at once: ``(U, C)`` score and relevance matrices whose rows are
    padded candidate lists, ``valid`` (default: all) marking the real candidates (ranked in column
    order on ties, as :func:`rank_metrics`). Returns ``{name: float64 (U,)}``; a row without a
    relevant valid candidate is NaN everywhere. Memory is a few ``U × C`` arrays: chunk the users."""
    ks = _check_ks(ks)
    s = np.asarray(scores, dtype=np.float64)
    r = np.asarray(relevant)
    v = np.ones(s.shape, dtype=bool) if valid is None else np.asarray(valid)
    if s.ndim != 2 or r.shape != s.shape or v.shape != s.shape:
        raise MetricInputError(f"scores {s.shape}, relevant {r.shape} and valid {v.shape} are not "
                               "three matrices of one shape", "pad every user's candidates to C")
    r, v = _as_bool(r), _as_bool(v, "valid")
    if np.isnan(s[v]).any():
        raise MetricInputError(f"{int(np.isnan(s[v]).sum())} valid candidate scores are NaN",
                               "fix the model's scores (a NaN has no rank)")
    s = np.where(v, s, 0.0)  # padding may hold anything; it sorts after every valid candidate
    r = r & v
    n_users, n_cand = s.shape
    if n_cand == 0:
        return {name: np.full(n_users, np.nan) for name in metric_names(ks)}
    n_rel = r.sum(1)
    n_irr = v.sum(1) - n_rel
    cols = np.broadcast_to(np.arange(n_cand), s.shape)
    with np.errstate(divide="ignore", invalid="ignore"):
        # Ranking: valid first, descending score, then column.
        order = np.lexsort((cols, -s, ~v), axis=-1)
        hit = np.take_along_axis(r, order, axis=1)
        disc = 1.0 / np.log2(np.arange(2, n_cand + 2, dtype=np.float64))
        ideal = np.cumsum(disc)
        none = n_rel == 0
        out = {"auc": _auc_batch(s, r, v, n_rel, n_irr),
               "mrr": np.where(none, np.nan, 1.0 / (hit.argmax(1) + 1.0))}
        for k in ks:
            hits = hit[:, :k].sum(1)
            dcg = hit[:, :k] @ disc[:k]
            best = ideal[np.clip(np.minimum(n_rel, k) - 1, 0, None)]
            out[f"precision@{k}"] = np.where(none, np.nan, hits / k)
            out[f"recall@{k}"] = np.where(none, np.nan, hits / n_rel)
            out[f"ndcg@{k}"] = np.where(none, np.nan, dcg / best)
    return {name: out[name].astype(np.float64) for name in metric_names(ks)}


def average(per_user: Sequence[Mapping[str, float]] | Mapping[str, np.ndarray]) -> dict[str, float]:
    """Mean of each metric over the users, NaN entries left out per metric (a metric NaN for every
    user stays NaN), plus ``users``: the number of users with at least one non-NaN metric.

    ``per_user`` is a list of :func:`rank_metrics` dicts or the dict of :func:`rank_metrics_batch`.
    """
    if isinstance(per_user, Mapping):
        table = {name: np.asarray(col, dtype=np.float64).ravel() for name, col in per_user.items()}
        lengths = {len(col) for col in table.values()}
        if len(lengths) > 1:
            raise MetricInputError(f"metric columns of different lengths {sorted(lengths)}",
                                   "pass the dict rank_metrics_batch returned")
    else:
        rows = list(per_user)
        names = list(rows[0]) if rows else []
        for i, row in enumerate(rows):
            if set(row) != set(names):
                raise MetricInputError(f"user {i} has metrics {sorted(row)}, user 0 has {sorted(names)}",
                                       "compute every user's metrics with the same ks")
        table = {name: np.array([row[name] for row in rows], dtype=np.float64) for name in names}
    table.pop("users", None)
    if not table or not len(next(iter(table.values()))):
        raise MetricInputError("no user to average over", "evaluate at least one user with a relevant "
                               "candidate")
    stacked = np.stack(list(table.values()))
    out = {}
    for name, col in table.items():
        ok = ~np.isnan(col)
        out[name] = float(col[ok].mean()) if ok.any() else float("nan")
    out["users"] = int((~np.isnan(stacked)).any(0).sum())
    return out


def _check_ks(ks: Iterable[int]) -> tuple[int, ...]:
    out = tuple(ks)
    if not out or any(isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1 for k in out):
        raise MetricInputError(f"cut-offs {out!r} are not positive integers", "pass e.g. ks=(10, 20)")
    if len(set(out)) != len(out):
        raise MetricInputError(f"cut-offs {out!r} repeat a value", "list each k once")
    return tuple(int(k) for k in out)


def _as_bool(a: np.ndarray, what: str = "relevant") -> np.ndarray:
    if a.dtype == bool:
        return a
    if a.size and not np.isin(a, (0, 1)).all():
        raise MetricInputError(f"{what} holds values other than 0/1/True/False", f"pass {what} as a "
                               "boolean mask")
    return a.astype(bool)


def _average_ranks(s: np.ndarray) -> np.ndarray:
    """1-based ascending ranks, tied values sharing the mean of their positions."""
    order = np.argsort(s, kind="stable")
    sv = s[order]
    new = np.r_[True, sv[1:] != sv[:-1]]
    starts = np.flatnonzero(new)
    ends = np.r_[starts[1:], len(s)]
    ranks = np.empty(len(s))
    ranks[order] = ((starts + 1 + ends) / 2.0)[np.cumsum(new) - 1]
    return ranks


def _auc(s: np.ndarray, r: np.ndarray, n_rel: int) -> float:
    n_irr = len(s) - n_rel
    if n_irr == 0:
        return float("nan")
    u = _average_ranks(s)[r].sum() - n_rel * (n_rel + 1) / 2.0
    return float(u / (n_rel * n_irr))


def _auc_batch(s, r, v, n_rel, n_irr) -> np.ndarray:
    n_cand = s.shape[1]
    order = np.lexsort((s, ~v), axis=-1)  # valid first, ascending score
    sv = np.take_along_axis(s, order, axis=1)
    vv = np.take_along_axis(v, order, axis=1)
    new = np.ones(s.shape, dtype=bool)
    new[:, 1:] = (sv[:, 1:] != sv[:, :-1]) | (vv[:, 1:] != vv[:, :-1])
    group = np.cumsum(new.ravel()) - 1  # a group never spans two rows (new[:, 0] is True)
    pos = np.broadcast_to(np.arange(1, n_cand + 1, dtype=np.float64), s.shape).ravel()
    mean_rank = np.bincount(group, weights=pos) / np.bincount(group)
    ranks = mean_rank[group].reshape(s.shape)
    rank_sum = (ranks * np.take_along_axis(r, order, axis=1)).sum(1)
    u = rank_sum - n_rel * (n_rel + 1) / 2.0
    return np.where((n_rel > 0) & (n_irr > 0), u / (n_rel * n_irr), np.nan)
