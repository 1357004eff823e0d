"""Signatures and the compound hinge loss they are fine-tuned with.

A **signature** is a backbone's feature map, mean-pooled over space (or tokens) and L2-normalised
*per sample*, so cosine similarity is a dot product. (The reference code divided a batch by the norm
of the whole batch: that keeps directions but not unit length, so distances then depend on which
works share the batch.)

The **compound hinge** (Schaerf) takes an anchor ``A``, a work ``B`` visually connected to it and an
unconnected work ``C``, with ``d = 1 − cos``::

    loss = max(0, m + d(A, B) − min(d(A, C), d(B, C))) + max(0, d(A, B) − m₂)

The first term is a triplet hinge with an *anchor swap*: the negative is compared with whichever of
``A`` and ``B`` it is closer to. The second pulls every connected pair within ``m₂`` in absolute
terms, which the clustering threshold (cosine distance 0.13) relies on.
"""
from __future__ import annotations

import numpy as np

from artkg.kg.errors import InputError


def l2_normalise(x, eps: float = 1e-12):
    """Each row (last axis) divided by its own L2 norm (at least ``eps``): torch stays torch (and
    differentiable), anything else becomes a float64 numpy array. A zero row stays zero."""
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a dependency
        torch = None
    if torch is not None and isinstance(x, torch.Tensor):
        if not x.is_floating_point():
            x = x.float()
        return x / torch.linalg.vector_norm(x, dim=-1, keepdim=True).clamp_min(eps)
    a = np.asarray(x, dtype=np.float64)
    return a / np.maximum(np.linalg.norm(a, axis=-1, keepdims=True), eps)


def signature_pool(feature_map):
    """``[B, C, H, W]`` feature map → mean over ``H, W``; ``[B, T, C]`` tokens → mean over ``T``;
    ``[B, C]`` is taken as already pooled. Then per-sample L2 normalisation: ``[B, C]``."""
    ndim = feature_map.ndim
    if ndim == 4:
        pooled = feature_map.mean(axis=(2, 3)) if isinstance(feature_map, np.ndarray) else feature_map.mean(dim=(2, 3))
    elif ndim == 3:
        pooled = feature_map.mean(1)
    elif ndim == 2:
        pooled = feature_map
    else:
        raise InputError(f"feature map of shape {tuple(feature_map.shape)} is not [B, C, H, W], [B, T, C] or [B, C]",
                         "pass the backbone's last feature map (or its tokens) with a batch axis first")
    return l2_normalise(pooled)


DISTANCES = ("cosine", "chord")


def compound_hinge(a, b, c, margin: float = 0.01, margin2: float = 0.1, reduction: str = "mean",
                   distance: str = "cosine"):
    """The compound hinge loss of anchors ``a``, connected works ``b`` and negatives ``c`` (``[B, D]``
    tensors, normalised here per sample). ``reduction``: ``"mean"`` (default), ``"sum"`` or ``"none"``
    (the ``[B]`` per-triplet losses).

    ``distance``: ``"cosine"`` (``d = 1 − cos``, the thesis) or ``"chord"`` (``d = ‖a − b‖ =
    sqrt(2 − 2 cos)``, the straight-line distance of the unit vectors; the margins are then in its
    units: the chord of a cosine distance ``δ`` is ``sqrt(2δ)``). ``1 − cos`` is flat where the
    signatures meet (its gradient vanishes as ``θ²/2``), so a run that shrinks every distance at once
    can settle where all works look alike and the hinge stays at ``m`` with no gradient left to
    undo it; the chord's gradient does not vanish there."""
    import torch

    shapes = {tuple(t.shape) for t in (a, b, c)}
    if len(shapes) != 1 or a.ndim != 2:
        raise InputError(f"anchor, positive and negative shapes {[tuple(t.shape) for t in (a, b, c)]} are not "
                         "one [B, D]", "pass three signature batches of the same shape")
    if reduction not in ("mean", "sum", "none"):
        raise InputError(f"unknown reduction {reduction!r}", "use 'mean', 'sum' or 'none'")
    if distance not in DISTANCES:
        raise InputError(f"unknown distance {distance!r}", f"use one of {', '.join(DISTANCES)}")
    a, b, c = l2_normalise(a), l2_normalise(b), l2_normalise(c)
    if distance == "cosine":
        d_ab, d_ac, d_bc = 1 - (a * b).sum(-1), 1 - (a * c).sum(-1), 1 - (b * c).sum(-1)
    else:  # the chord, from the difference (exact near 0, where sqrt(2 - 2 cos) loses all precision)
        d_ab, d_ac, d_bc = ((x - y).square().sum(-1).clamp_min(1e-12).sqrt() for x, y in ((a, b), (a, c), (b, c)))
    loss = torch.relu(margin + d_ab - torch.minimum(d_ac, d_bc)) + torch.relu(d_ab - margin2)
    if reduction == "mean":
        return loss.mean()
    return loss.sum() if reduction == "sum" else loss
