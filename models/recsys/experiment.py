"""Cornac-style experiments: ``Experiment(eval_method, models, metrics).run(graph)``.

``eval_method`` is the time-ordered split of purchases (:class:`TimeOrderedSplit`) or the
held-out-ratings split of the multimodal engines
(:class:`~artkg.models.recsys.ratings.RatingSplit`: ``Experiment(RatingSplit(), ["image_similarity",
"late_fusion", "early_fusion"], ["precision@9", "ndcg@9", "ild@9"])``).

Every model is fitted on the same split's training interactions and scored on the same test
baskets, so the rows of the table differ only in the model::

    from artkg.models.recsys.experiment import Experiment
    from artkg.models.recsys.protocol import TimeOrderedSplit

    table = Experiment(TimeOrderedSplit(cutoff_quantile=0.5),
                       models=["random", "popularity", "visrank", ("vbpr", {"l2": 1e-4}), "curatornet"],
                       metrics=["auc", "recall@20", "ndcg@20"]).run("world")

A model is a name, a ``(name, kwargs)`` pair, a ``(label, name, kwargs)`` triple or an instance.
Unlike Cornac's default (``exclude_unknowns``), items never seen in training stay candidates.
"""
from __future__ import annotations

import logging
import time
from pathlib import Path

import numpy as np

from artkg.kg.errors import InputError, NotFoundError
from artkg.models.recsys.base import Recommender
from artkg.models.recsys.protocol import Split, TimeOrderedSplit, item_context

log = logging.getLogger("artkg")


class Experiment:
    def __init__(self, eval_method: TimeOrderedSplit | None = None, models: list | None = None,
                 metrics: list[str] | tuple[str, ...] = ("auc", "mrr", "precision@20", "recall@20", "ndcg@20",
                                                          "recall@100", "ndcg@100"),
                 seed: int = 0, features: str | None = None, progress: bool = False, visitor: int | None = None):
        """``visitor=n`` also scores every test user as a new visitor with only the last ``n`` liked
        works (``visitor_*`` columns: cold start, no retraining)."""
        self.eval_method = eval_method or TimeOrderedSplit()
        self.models = list(models or ["random", "popularity", "visrank", "vbpr", "curatornet"])
        self.metrics = list(metrics)
        self.seed, self.features, self.progress, self.visitor = seed, features, progress, visitor
        bad = [m for m in self.metrics if m not in ("auc", "mrr") and not _is_at_k(m)]
        if bad:
            raise InputError(f"unknown metric(s) {', '.join(bad)}",
                             "use auc, mrr, precision@K, recall@K or ndcg@K (e.g. recall@20)")

    def _instances(self) -> list[tuple[str, Recommender]]:
        from artkg.models.recsys.zoo import build_recommender

        out = []
        for m in self.models:
            if isinstance(m, Recommender):
                out.append((m.kind, m))
            elif isinstance(m, str):
                out.append((m, build_recommender(m)))
            elif isinstance(m, tuple) and len(m) == 2:
                out.append((m[0], build_recommender(m[0], **m[1])))
            elif isinstance(m, tuple) and len(m) == 3:
                out.append((m[0], build_recommender(m[1], **m[2])))
            else:
                raise InputError(f"cannot read the model entry {m!r}", "give a name, (name, kwargs) or (label, name, kwargs)")
        return out

    def split(self, graph) -> Split:
        from artkg.kg.graph import KnowledgeGraph, load_graph

        kg = graph if isinstance(graph, KnowledgeGraph) else load_graph(graph)
        features = None
        try:
            from artkg.models.features_cache import load_features

            features = load_features(kg.root, "image", self.features)[0].numpy().astype(np.float32)
        except (InputError, NotFoundError):
            if self.features:
                raise
        context, sizes = item_context(kg)
        content = {}
        if type(self.eval_method).__name__ == "RatingSplit":  # the multimodal engines read texts too
            content = self._content(kg)
        return self.eval_method.split(kg.interactions, features=features, context=context, context_sizes=sizes,
                                      seed=self.seed, **content)

    def _content(self, kg) -> dict:
        """Documents, image mask and artwork text features (when the graph has them) for every model."""
        from types import SimpleNamespace

        from artkg.models.recsys.config import RecConfig
        from artkg.models.recsys.inputs import content_inputs

        needs_text = any(getattr(m, "needs_text_features", False) for _, m in self._instances())
        probe = SimpleNamespace(needs_documents=False, needs_text_features=needs_text, needs_joint=False)
        config = RecConfig(model="experiment", kind="rated", features=self.features)
        return content_inputs(kg, config, probe)[0]

    def run(self, graph: str | Path, split: Split | None = None) -> dict:
        """``{label: {metric: value, …, "fit_seconds": s}}`` plus ``"_split"`` (its summary)."""
        from artkg.models.recsys.run import evaluate, run_evaluate

        split = split or self.split(graph)
        ks = sorted({int(m.split("@")[1]) for m in self.metrics if _is_at_k(m)}) or [20]
        table: dict = {"_split": split.summary()}
        for label, model in self._instances():
            t0 = time.perf_counter()
            model.fit(split.train, progress=self.progress)
            fit_s = time.perf_counter() - t0
            scores = run_evaluate(model, split, ks)
            missing = [m for m in self.metrics if m not in scores]
            if missing:
                raise InputError(f"{', '.join(missing)} is not measured by {type(split).__name__}'s evaluation",
                                 "beyond-accuracy metrics (ild, novelty, serendipity, coverage, user_iou, user_rbo)"
                                 " come with RatingSplit")
            table[label] = {**{m: scores[m] for m in self.metrics}, "fit_seconds": round(fit_s, 2)}
            if self.visitor:
                cold = evaluate(model, split, ks, visitor=self.visitor)
                table[label].update({f"visitor_{m}": cold[m] for m in self.metrics})
            log.info("%s: %s", label, table[label])
        return table


def _is_at_k(name: str) -> bool:
    head, _, k = name.partition("@")
    return head in ("precision", "recall", "ndcg", "ild", "novelty", "serendipity", "coverage", "user_iou",
                    "user_rbo") and k.isdigit() and int(k) > 0


def markdown(tables: list[dict], metrics: list[str]) -> str:
    """Mean ± std over several runs of the same experiment (e.g. seeds) as a Markdown table."""
    labels = [k for k in tables[0] if not k.startswith("_")]
    lines = ["| model | " + " | ".join(metrics) + " |", "|---|" + "---|" * len(metrics)]
    for label in labels:
        cells = []
        for m in metrics:
            vals = np.array([t[label][m] for t in tables], dtype=float)
            cells.append(f"{vals.mean():.4f} ± {vals.std():.4f}" if len(vals) > 1 else f"{vals[0]:.4f}")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)
