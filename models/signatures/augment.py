"""Training-time augmentation of signature triplets: :func:`make_augment`.

A copied motif is mirrored, rescaled, cropped, recoloured and moved (see
:mod:`artkg.kg.synth_motifs`; a workshop replica or a print after a painting varies the same way).
With ``"augment": "copy"`` in :class:`~artkg.models.signatures.config.SignatureConfig`, every image
of a training triplet (A, B and C independently) goes through random transforms of that kind before
the forward pass, so the backbone learns that they do not change what a work shows:

- ``flip``: probability of a horizontal mirror;
- ``crop_scale``: a crop keeping this range of the image's area (aspect 3:4 to 4:3), resized back;
- ``hue``: a hue shift drawn from ``± hue`` of the colour circle.

The transforms act on the preprocessed (normalised) tensors the image cache holds: the hue shift
undoes the encoder's normalisation, shifts, and applies it again. Every draw comes from the
``numpy`` generator the caller passes (drawn from the run's seed and epoch), so a resumed run
augments exactly as an uninterrupted one. Signatures for retrieval, mining and clustering are never
augmented.
"""
from __future__ import annotations

import math

import numpy as np
import torch

from artkg.kg.errors import InputError

AUGMENTATIONS = ("none", "copy")
DEFAULTS = {"flip": 0.5, "crop_scale": [0.6, 1.0], "hue": 0.1}


def normalisation(transform) -> tuple[torch.Tensor, torch.Tensor]:
    """``(mean, std)`` of the ``Normalize`` step in a torchvision ``Compose`` (0 and 1 without one)."""
    for step in getattr(transform, "transforms", [transform]):
        if type(step).__name__ == "Normalize":
            return (torch.as_tensor(step.mean, dtype=torch.float32).view(3, 1, 1),
                    torch.as_tensor(step.std, dtype=torch.float32).view(3, 1, 1))
    return torch.zeros(3, 1, 1), torch.ones(3, 1, 1)


def check(name: str, kwargs: dict) -> dict:
    """The full options of augmentation ``name`` (an ``InputError`` for an unknown name or option)."""
    if name not in AUGMENTATIONS:
        raise InputError(f"augment {name!r} is not one of {', '.join(AUGMENTATIONS)}", 'e.g. "augment": "copy"')
    unknown = sorted(set(kwargs) - set(DEFAULTS))
    if unknown:
        raise InputError(f"augment_kwargs has unknown options {unknown}", f"use {', '.join(DEFAULTS)}")
    opts = {**DEFAULTS, **kwargs}
    lo, hi = (float(v) for v in opts["crop_scale"])
    if not (0.0 <= float(opts["flip"]) <= 1.0 and 0.0 < lo <= hi <= 1.0 and 0.0 <= float(opts["hue"]) <= 0.5):
        raise InputError(f"augment_kwargs {opts} out of range",
                         'flip in [0, 1], crop_scale 0 < low <= high <= 1, hue in [0, 0.5]: e.g. '
                         '{"flip": 0.5, "crop_scale": [0.6, 1.0], "hue": 0.1}')
    return {"flip": float(opts["flip"]), "crop_scale": [lo, hi], "hue": float(opts["hue"])}


class CopyAugment:
    """``(images [B, 3, H, W] normalised, numpy Generator) → augmented images`` (see the module docstring)."""

    def __init__(self, transform, flip: float = 0.5, crop_scale=(0.6, 1.0), hue: float = 0.1):
        self.mean, self.std = normalisation(transform)
        self.flip, self.crop_scale, self.hue = float(flip), tuple(float(v) for v in crop_scale), float(hue)

    def _box(self, h: int, w: int, rng: np.random.Generator) -> tuple[int, int, int, int]:
        """``(top, left, height, width)`` of a crop keeping a random share of the area."""
        area = rng.uniform(*self.crop_scale) * h * w
        ratio = math.exp(rng.uniform(math.log(3 / 4), math.log(4 / 3)))
        ch = min(h, max(1, int(round(math.sqrt(area / ratio)))))
        cw = min(w, max(1, int(round(math.sqrt(area * ratio)))))
        return int(rng.integers(h - ch + 1)), int(rng.integers(w - cw + 1)), ch, cw

    def __call__(self, images: torch.Tensor, rng: np.random.Generator) -> torch.Tensor:
        from torchvision.transforms.v2 import functional as F

        mean, std = self.mean.to(images.device), self.std.to(images.device)
        out = []
        h, w = images.shape[-2:]
        for x in images:
            if rng.random() < self.flip:
                x = torch.flip(x, dims=[-1])
            if self.crop_scale[0] < 1.0:
                top, left, ch, cw = self._box(h, w, rng)
                x = F.resized_crop(x, top, left, ch, cw, [h, w], antialias=True)
            if self.hue > 0:
                shift = float(rng.uniform(-self.hue, self.hue))
                x = (F.adjust_hue((x * std + mean).clamp(0, 1), shift) - mean) / std
            out.append(x)
        return torch.stack(out)


def make_augment(name: str, kwargs: dict, transform):
    """The augmentation of a run: ``None`` for ``"none"``, else a callable ``(images, rng) → images``."""
    opts = check(name, dict(kwargs or {}))
    return None if name == "none" else CopyAugment(transform, **opts)
