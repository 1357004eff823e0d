"""The image backbone that visual signatures are fine-tuned from: :class:`SignatureBackbone`.

A registry image encoder (:func:`~artkg.models.encoders_image.make_image_encoder`) is cut at its last
convolutional stage — or, for a Vision Transformer, at its token output — and its feature map is
mean-pooled and L2-normalised *per sample* (:func:`~artkg.models.signatures.loss.signature_pool`).
The classifier head and any projection are not used: the signature lives in the feature space of
the last stage, whose spatial average keeps what a copied motif shares with its model.

:meth:`SignatureBackbone.stages` lists the parameter groups from the top down, for staged unfreezing
(the last stage is trained first, earlier ones join later): EfficientNet-Lite — its head convolution
with the last block group, then each earlier group of blocks (by output width), then the stem;
torchvision ResNets — ``layer4`` … ``layer1``, then the stem; open_clip ViTs — the final norm with the
last residual block, then each earlier block, then the patch and position embeddings.
"""
from __future__ import annotations

from typing import Any

import torch

from artkg.kg.errors import InputError
from artkg.models.signatures.loss import signature_pool

SUPPORTED = ("efficientnet_lite", "torchvision_resnet", "open_clip_image")


class SignatureBackbone(torch.nn.Module):
    """``images [B, 3, H, W]`` → ``signatures [B, dim]`` (unit length per row).

    ``encoder``: a registry name (``efficientnet_lite``, ``torchvision_resnet``, ``open_clip_image``)
    built with ``encoder_kwargs`` (e.g. ``{"arch": "resnet18", "weights": None, "image_size": 32}``).
    ``preprocess`` (PIL → tensor), ``image_size`` and ``cache_key()`` are the encoder's.
    """

    def __init__(self, encoder: str = "efficientnet_lite", encoder_kwargs: dict | None = None):
        super().__init__()
        from artkg.models.encoders_image import make_image_encoder

        self.encoder_name = str(encoder).strip().lower()
        if self.encoder_name not in SUPPORTED:
            raise InputError(f"visual signatures do not support the image encoder {encoder!r} yet",
                             f"use one of {', '.join(SUPPORTED)}")
        self.encoder_kwargs = dict(encoder_kwargs or {})
        enc = make_image_encoder(self.encoder_name, **self.encoder_kwargs)
        self.kind = enc.kind
        self.image_size = int(enc.image_size)
        self.transform = enc.transform
        self._cache_key = enc.cache_key()
        if self.kind == "efficientnet_lite":
            self.net = enc.net
            self.dim = int(enc.net._conv_head.out_channels)
        elif self.kind == "torchvision_resnet":
            self.net = enc.net
            self.dim = int(enc.dim)
        else:
            visual = enc.visual
            from open_clip.transformer import VisionTransformer

            if not isinstance(visual, VisionTransformer) or visual.attn_pool is not None:
                raise InputError(f"the open_clip image tower of {enc.arch} ({type(visual).__name__}) is not supported "
                                 "yet (plain Vision Transformers only)", "use a ViT architecture, or efficientnet_lite")
            self.net = visual
            self.dim = int(visual.transformer.width)
        if self.kind == "efficientnet_lite":
            self.net._fc = torch.nn.Identity()  # the ImageNet classifier: not part of a signature
        self.eval()

    def cache_key(self) -> str:
        """The encoder's cache key: which weights and preprocessing the backbone started from."""
        return self._cache_key

    def preprocess(self, image) -> torch.Tensor:
        return self.transform(image)

    def spec(self) -> dict[str, Any]:
        return {"encoder": self.encoder_name, "encoder_kwargs": self.encoder_kwargs, "dim": self.dim,
                "image_size": self.image_size, "cache_key": self._cache_key, "stages": len(self.stages())}

    # ------------------------------------------------------------------ forward
    def feature_map(self, images: torch.Tensor) -> torch.Tensor:
        """The last stage's output: ``[B, C, H, W]`` (convolutional nets) or ``[B, T, C]`` (ViT patch tokens)."""
        net = self.net
        if self.kind == "efficientnet_lite":
            return net.extract_features(images)
        if self.kind == "torchvision_resnet":
            x = net.maxpool(net.relu(net.bn1(net.conv1(images))))
            return net.layer4(net.layer3(net.layer2(net.layer1(x))))
        x = net.transformer(net._embeds(images))
        if not getattr(net, "final_ln_after_pool", False):
            x = net.ln_post(x)
        return x[:, 1:]  # the patch tokens (the class token is open_clip's own pooling)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return signature_pool(self.feature_map(images))

    # ------------------------------------------------------------------ staged unfreezing
    def stages(self) -> list[list[torch.nn.Parameter]]:
        """Parameter groups from the top (the last stage, trained first) down to the stem."""
        net = self.net
        if self.kind == "efficientnet_lite":
            groups: list[list[torch.nn.Module]] = []
            width = None
            for block in net._blocks:
                out = block._block_args.output_filters
                if out != width:
                    groups.append([])
                    width = out
                groups[-1].append(block)
            top = [[net._conv_head, net._bn1, *groups[-1]]]
            modules = top + [list(g) for g in reversed(groups[:-1])] + [[net._conv_stem, net._bn0]]
        elif self.kind == "torchvision_resnet":
            modules = [[net.layer4], [net.layer3], [net.layer2], [net.layer1], [net.conv1, net.bn1]]
        else:
            blocks = list(net.transformer.resblocks)
            modules = [[net.ln_post, blocks[-1]]] + [[b] for b in reversed(blocks[:-1])] + [[net.conv1, net.ln_pre]]
        out = [[p for m in group for p in m.parameters()] for group in modules]
        if self.kind == "open_clip_image":
            out[-1] += [net.class_embedding, net.positional_embedding]
        return [g for g in out if g]

    def set_trainable(self, n_stages: int) -> int:
        """Train the top ``n_stages`` stages, freeze the rest; returns how many are trainable."""
        stages = self.stages()
        n = max(0, min(int(n_stages), len(stages)))
        for p in self.parameters():
            p.requires_grad_(False)
        for group in stages[:n]:
            for p in group:
                p.requires_grad_(True)
        return n
