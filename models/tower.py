"""The optional trainable image tower: the encoder that made the image features, fine-tuned.

While frozen, the cached features *are* its output, so training reads them as usual. From
``unfreeze_epoch`` on, the tower's parameters are unfrozen in ``stages`` (equal slices of its
parameters in module order, the last — closest to the output — first), one more every
``unfreeze_every`` epochs, at ``lr × lr_scale``; the image side then runs on pixels. BatchNorm
statistics stay frozen (the tower stays in eval mode), as usual when fine-tuning on small batches.
The GNN's artwork inputs keep the cached features.
"""
from __future__ import annotations

import inspect
import logging

import torch
from torch import Tensor, nn

from artkg.kg.errors import InputError

log = logging.getLogger("artkg")


def make_tower(feature_meta: dict) -> tuple[nn.Module, dict]:
    """The encoder recorded in the features' ``meta.json``, with its pretrained weights."""
    from artkg.models.encoders import make_image_encoder

    spec = {"encoder": feature_meta["encoder"], "kwargs": dict(feature_meta.get("encoder_kwargs") or {})}
    encoder = make_image_encoder(spec["encoder"], **spec["kwargs"])
    if encoder.cache_key() != feature_meta.get("cache_key"):
        raise InputError(f"the image features in {feature_meta.get('path')} were not made by "
                         f"{spec['encoder']} with options {spec['kwargs']} (cache keys differ)",
                         "recompute the features with `artkg features` and a registered encoder")
    return encoder, spec


def rebuild_tower(spec: dict) -> nn.Module:
    """The tower's architecture without downloading or reading pretrained weights (the run has them)."""
    from artkg.models.encoders import image_encoder_resolver, make_image_encoder

    kwargs = dict(spec.get("kwargs") or {})
    params = inspect.signature(image_encoder_resolver.lookup(spec["encoder"])).parameters
    if "pretrained" in params:
        kwargs["pretrained"] = False if isinstance(params["pretrained"].default, bool) else None
    if "weights" in params:
        kwargs["weights"] = None
    return make_image_encoder(spec["encoder"], **kwargs)


class TowerSchedule:
    """Freezes the tower, unfreezes it stage by stage, and feeds it pixels once it trains."""

    def __init__(self, tower: nn.Module, data, options: dict):
        known = {"unfreeze_epoch", "unfreeze_every", "stages", "lr_scale", "image_root", "_comment"}
        unknown = sorted(set(options) - known)
        if unknown:
            raise InputError(f"unknown image_tower option(s): {', '.join(unknown)}",
                             f"valid options are {', '.join(sorted(known - {'_comment'}))}")
        self.tower, self.data = tower, data
        self.unfreeze_epoch = int(options.get("unfreeze_epoch", 1))
        self.every = max(1, int(options.get("unfreeze_every", 1)))
        params = [p for p in tower.parameters()]
        n = max(1, min(int(options.get("stages", 4)), len(params)))
        bounds = [round(i * len(params) / n) for i in range(n + 1)]
        self.stages = [params[bounds[i]:bounds[i + 1]] for i in range(n)][::-1]  # output side first
        for p in params:
            p.requires_grad_(False)
        self.unfrozen = 0
        self.pixels = PixelCache(data.graph, tower, options.get("image_root"))

    @property
    def active(self) -> bool:
        return self.unfrozen > 0

    def on_epoch(self, epoch: int, optimizer=None) -> None:
        if epoch < self.unfreeze_epoch:
            return
        wanted = min(len(self.stages), 1 + (epoch - self.unfreeze_epoch) // self.every)
        while self.unfrozen < wanted:
            for p in self.stages[self.unfrozen]:
                p.requires_grad_(True)
            self.unfrozen += 1
            log.info("epoch %d: image tower stage %d/%d unfrozen", epoch, self.unfrozen, len(self.stages))

    def activate_all(self) -> None:
        """Evaluation of a run whose tower was fine-tuned: the image side reads pixels."""
        self.unfrozen = len(self.stages)

    def prepare(self, batch, training: bool):
        if not self.active or len(batch.nodes) == 0:
            return batch
        pixels = self.pixels(batch.nodes)
        if training:
            batch.pixels = pixels
        else:
            with torch.no_grad():
                batch.features = torch.cat([self.tower(pixels[i:i + 64]) for i in range(0, len(pixels), 64)])
        return batch


class PixelCache:
    """Preprocessed image tensors of artworks, decoded once and kept (as float16) in memory."""

    def __init__(self, graph, encoder, image_root=None):
        from artkg.models.images import resolve_image

        self.graph, self.encoder, self.cache = graph, encoder, {}
        self.resolve = lambda iri: resolve_image(iri, graph.root, image_root)

    def __call__(self, nodes: Tensor) -> Tensor:
        from artkg.models.images import load_image

        out = []
        for i in nodes.tolist():
            if i not in self.cache:
                iri = self.graph.images[i] if i < len(self.graph.images) else None
                path, reason = self.resolve(iri)
                if path is None:
                    raise InputError(f"artwork {self.graph.iris['artwork'][i]} has no local image for the image "
                                     f"tower: {reason}", "pass image_tower.image_root, or train without a tower")
                self.cache[i] = self.encoder.preprocess(load_image(path, self.encoder.image_size)).half()
            out.append(self.cache[i])
        return torch.stack(out).float()
