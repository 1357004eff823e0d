"""Evaluation of a trained model: metrics per task and split, and the offset that calibrates zero-shot classes."""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import torch
from torch import Tensor

if TYPE_CHECKING:
    from artkg.models.train_loop import Trainer

log = logging.getLogger("artkg")


def evaluate(trainer: "Trainer", data, top_k: int = 5) -> dict:
    """Metrics per task for val and test; with zero-shot classes also test_seen and test_unseen, and
    for GraphCLIP ``test_image_only``: the image expert alone, what ``artkg predict`` uses."""
    from artkg.models.metrics import classification_metrics

    out: dict = {}
    parts = {"val": data.split.val, "test": data.split.test}
    outputs = {name: trainer.outputs(nodes) for name, nodes in parts.items()}
    for t in data.tasks:
        task_out, left_out = {}, {}
        unseen = data.split.unseen_classes.get(t.name, [])
        for name, nodes in parts.items():
            y, task_outputs = t.labels[nodes], outputs[name][t.name]
            # An artwork without a label for this task (e.g. on an updated graph) is not scored for it.
            labelled = y >= 0
            if not bool(labelled.all()):
                left_out[name] = int((~labelled).sum())
                y = y[labelled]
                task_outputs = {k: v[labelled] for k, v in task_outputs.items()}
            logits = task_outputs["logits"]
            task_out[name] = classification_metrics(logits, y, t.class_names, top_k)
            if name != "test":
                continue
            if unseen:
                is_unseen = torch.isin(y, torch.tensor(unseen))
                task_out["test_seen"] = classification_metrics(logits[~is_unseen], y[~is_unseen], t.class_names, top_k)
                task_out["test_unseen"] = classification_metrics(logits[is_unseen], y[is_unseen], t.class_names, top_k)
            if "image" in task_outputs:
                task_out["test_image_only"] = classification_metrics(task_outputs["image"], y, t.class_names, top_k)
        if left_out:
            task_out["unlabelled_left_out"] = left_out
            log.warning("%s: %s artworks of the split have no %s label in this graph; not scored for it",
                        t.name, " and ".join(f"{n} {part}" for part, n in left_out.items()), t.name)
        out[t.name] = task_out
    return out


def match_share(logits: Tensor, unseen: Tensor, share: float, lo: float = -50.0, hi: float = 50.0) -> float:
    """The offset γ for the ``unseen`` columns at which the share of rows predicted unseen is ``share``."""
    def predicted(gamma: float) -> float:
        shifted = logits.clone()
        shifted[:, unseen] += gamma
        return float(torch.isin(shifted.argmax(1), unseen).float().mean())

    for _ in range(40):  # the share grows with γ: bisect
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if predicted(mid) < share else (lo, mid)
    return (lo + hi) / 2
