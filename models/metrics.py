"""Classification metrics (torchmetrics): top-1 and top-k accuracy, macro-F1, and per class.

Macro-F1 averages over the classes that occur in the targets or the predictions (torchmetrics
leaves out classes with no true positive, false positive or false negative).
"""
from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor


def classification_metrics(logits: Tensor, target: Tensor, class_names: list[str], top_k: int = 5,
                           chance: Optional[float] = None) -> dict:
    """``{"n", "top1", "top<k>", "macro_f1", "chance", "per_class": {name: {support, accuracy, f1}}}``.

    ``accuracy`` per class is its recall (the share of its artworks classified correctly); classes
    with no artwork in ``target`` get ``null`` there. An empty ``target`` gives ``n = 0`` only.
    """
    import artkg  # noqa: F401  (torchmetrics imports torchvision: the compat shim must come first)
    from torchmetrics.functional.classification import multiclass_accuracy, multiclass_f1_score

    num_classes = len(class_names)
    k = max(1, min(int(top_k), num_classes))
    out: dict = {"n": int(len(target))}
    if len(target) == 0:
        return out
    logits, target = logits.detach().float().cpu(), target.detach().long().cpu()
    preds = logits.argmax(1)
    out["top1"] = _round(multiclass_accuracy(preds, target, num_classes, average="micro"))
    out[f"top{k}"] = _round(multiclass_accuracy(logits, target, num_classes, average="micro", top_k=k))
    out["macro_f1"] = _round(multiclass_f1_score(preds, target, num_classes, average="macro"))
    out["chance"] = round(chance if chance is not None else 1 / num_classes, 4)
    recall = multiclass_accuracy(preds, target, num_classes, average=None)
    f1 = multiclass_f1_score(preds, target, num_classes, average=None)
    support = torch.bincount(target, minlength=num_classes)
    out["per_class"] = {
        name: {"support": int(support[i]), "accuracy": _round(recall[i]) if support[i] else None,
               "f1": _round(f1[i]) if support[i] or (preds == i).any() else None}
        for i, name in enumerate(class_names)}
    return out


def _round(x) -> float:
    return round(float(x), 4)
