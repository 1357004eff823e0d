"""The optional trainable image tower: the encoder that made the image features, fine-tuned.

While frozen, the cached features *are* its output, so training reads them as usual. From
``unfreeze_epoch`` on, the tower's parameters are unfrozen in ``stages`` (equal slices of its
parameters in module order, the last — closest to the output — first), one more every
``unfreeze_every`` epochs, at ``lr × lr_scale``; the image side then runs on pixels. BatchNorm
statistics stay frozen (the tower stays in eval mode), as usual when fine-tuning on small batches.
The GNN's artwork inputs keep the cached features.

Pixels are decoded once and kept in a :class:`PixelCache` bounded in bytes (``pixel_cache_mb``,
least recently used images dropped first): ArtGraph's 116k images at 224 px would take ~35 GB.
They are sent to the tower's device (``--device cuda``) wherever the tower reads them.
"""
from __future__ import annotations

import inspect
import logging
from collections import OrderedDict

import torch
from torch import Tensor, nn

from artkg.kg.errors import InputError

log = logging.getLogger("artkg")


def make_tower(feature_meta: dict) -> tuple[nn.Module, dict]:
    """The encoder recorded in the features' ``meta.json``, with its pretrained weights."""
    from artkg.models.encoders_image import make_image_encoder

    spec = {"encoder": feature_meta["encoder"], "kwargs": dict(feature_meta.get("encoder_kwargs") or {})}
    encoder = make_image_encoder(spec["encoder"], **spec["kwargs"])
    if encoder.cache_key() != feature_meta.get("cache_key"):
        raise InputError(f"the image features in {feature_meta.get('path')} were not made by "
                         f"{spec['encoder']} with options {spec['kwargs']} (cache keys differ)",
                         "recompute the features with `artkg features` and a registered encoder")
    return encoder, spec


def rebuild_tower(spec: dict) -> nn.Module:
    """The tower's architecture without downloading or reading pretrained weights (the run has them)."""
    from artkg.models.encoders_image import image_encoder_resolver, make_image_encoder

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
        known = {"unfreeze_epoch", "unfreeze_every", "stages", "lr_scale", "image_root", "pixel_cache_mb",
                 "_comment"}
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
        cache_mb = float(options.get("pixel_cache_mb", PixelCache.DEFAULT_MB))
        if cache_mb < 0:
            raise InputError(f"image_tower.pixel_cache_mb must not be negative (got {cache_mb})",
                             "pass a size in MB, e.g. 2048 (0 keeps no images)")
        self.pixels = PixelCache(data.graph, tower, options.get("image_root"), max_bytes=int(cache_mb * 2**20))

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

    def trained_parameters(self, stages: int | None = None) -> int:
        """How many tower parameters (scalars) the first ``stages`` unfrozen stages hold."""
        stages = self.unfrozen if stages is None else stages
        return sum(p.numel() for stage in self.stages[:stages] for p in stage)

    @property
    def device(self) -> torch.device:
        return next(self.tower.parameters()).device

    def prepare(self, batch, training: bool):
        if not self.active or len(batch.nodes) == 0:
            return batch
        pixels = self.pixels(batch.nodes)
        if training:
            batch.pixels = pixels  # Batch.to moves them with the rest of the batch
        else:
            device = self.device
            with torch.no_grad():
                batch.features = torch.cat([self.tower(pixels[i:i + 64].to(device)).float()
                                            for i in range(0, len(pixels), 64)])
        return batch


class PixelCache:
    """Preprocessed image tensors of artworks, decoded once and kept (as float16) in memory, at most
    ``max_bytes`` of them: beyond that the least recently used images are dropped (and decoded again
    when next needed)."""

    DEFAULT_MB = 2048.0

    def __init__(self, graph, encoder, image_root=None, max_bytes: int = int(DEFAULT_MB * 2**20)):
        from artkg.models.images import resolve_image

        self.graph, self.encoder = graph, encoder
        self.cache: OrderedDict[int, Tensor] = OrderedDict()
        self.max_bytes, self.bytes, self.decoded = int(max_bytes), 0, 0
        self.resolve = lambda iri: resolve_image(iri, graph.root, image_root)

    def _decode(self, i: int) -> Tensor:
        from artkg.models.images import load_image

        iri = self.graph.images[i] if i < len(self.graph.images) else None
        path, reason = self.resolve(iri)
        if path is None:
            raise InputError(f"artwork {self.graph.iris['artwork'][i]} has no local image for the image "
                             f"tower: {reason}", "pass image_tower.image_root, or train without a tower")
        self.decoded += 1
        return self.encoder.preprocess(load_image(path, self.encoder.image_size)).half()

    def _keep(self, i: int, pixels: Tensor) -> None:
        size = pixels.numel() * pixels.element_size()
        if size > self.max_bytes:
            return
        self.cache[i] = pixels
        self.bytes += size
        while self.bytes > self.max_bytes:
            _, dropped = self.cache.popitem(last=False)
            self.bytes -= dropped.numel() * dropped.element_size()

    def __call__(self, nodes: Tensor) -> Tensor:
        out = []
        for i in nodes.tolist():
            pixels = self.cache.get(i)
            if pixels is None:
                pixels = self._decode(i)
                self._keep(i, pixels)
            else:
                self.cache.move_to_end(i)
            out.append(pixels)
        return torch.stack(out).float()
