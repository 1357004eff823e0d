"""CLOIR: a contrastive embedding for object influence retrieval (Liberatore et al., EKAW 2024).

An MLP ``d → d/2 → d/4 → d/8`` (ReLU and dropout 0.5 between the layers) maps an artwork's input
features to an embedding in which an artwork sits near the works of its creator's influencers:
triplet margin loss (margin 1, L2) on the triplets of :mod:`artkg.models.triplets`, Adam with
learning rate 5e-4, batch 32, 30 epochs, early stopping on the validation triplet loss with
patience 10, seed 42 — the paper's setting is the default :class:`CloirConfig`.
"""
from __future__ import annotations

import copy
import json
import logging
import sys
from dataclasses import dataclass, field
from typing import Annotated, Optional

import numpy as np
import torch
from torch import Tensor, nn

from artkg.kg.errors import InputError
from artkg.models.options import (Field, Fraction, JsonOptions, NonNegativeFloat, NonNegativeInt, PositiveFloat,
                                  PositiveInt)
from artkg.registry import public_names

log = logging.getLogger("artkg")

INPUTS = ("image", "text", "image+text")


@dataclass
class CloirConfig(JsonOptions):
    """Every choice of a CLOIR run; ``config.json`` of the run holds it under ``"train"``."""

    inputs: str = "image"  # what the MLP reads: image | text | image+text (`--inputs`)
    image_features: Optional[str] = None  # feature folder / encoder name (latest if None; `--features`)
    text_features: Optional[str] = None
    hops: Annotated[int, Field(ge=1, le=2)] = 1
    sampling: str = "random"  # positive sampler: random | similarity
    negatives: str = "random"  # negative sampler: random | hard
    n: PositiveInt = 10  # positives per anchor
    split: str = "stratified"  # stratified | leave_out_agents
    test_fraction: Annotated[float, Field(gt=0, lt=1)] = 0.3
    val_fraction: Fraction = 0.1
    depth: PositiveInt = 3
    dropout: Fraction = 0.5
    standardize: bool = True
    pca: Optional[PositiveInt] = None  # project the inputs on their top principal components first (fit on training works)
    margin: PositiveFloat = 1.0
    epochs: PositiveInt = 30
    batch_size: PositiveInt = 32
    lr: PositiveFloat = 5e-4
    weight_decay: NonNegativeFloat = 0.0
    patience: NonNegativeInt = 10
    seed: int = 42
    k: list[PositiveInt] = field(default_factory=lambda: [1, 5, 10])
    time_filter: bool = True
    device: str = "auto"
    threads: Optional[PositiveInt] = None

    @classmethod
    def from_dict(cls, d: dict, where: str = "the config"):
        """Runs and configs written before ``inputs`` existed named the input kind ``features``."""
        if "features" in d:
            d = dict(d)
            legacy = d.pop("features")
            if legacy not in INPUTS:
                raise InputError(f"'features' in {where} is {legacy!r}: for CLOIR the input kind is 'inputs' "
                                 f"({', '.join(INPUTS)}) and the image feature folder 'image_features'",
                                 f"write \"image_features\": {json.dumps(legacy)} (or \"inputs\") instead")
            d.setdefault("inputs", legacy)
        return super().from_dict(d, where)

    def validate(self) -> None:
        from artkg.models.triplets import SPLITS, negative_sampler_resolver, positive_sampler_resolver

        self.split = str(self.split).replace("-", "_")  # leave-out-agents reads as leave_out_agents
        if self.inputs not in INPUTS:
            raise InputError(f"unknown CLOIR input {self.inputs!r}", f"choose one of {', '.join(INPUTS)}")
        if self.split not in SPLITS:
            raise InputError(f"unknown split {self.split!r}", f"choose one of {', '.join(SPLITS)}")
        for name, resolver in (("sampling", positive_sampler_resolver), ("negatives", negative_sampler_resolver)):
            if resolver.normalize(getattr(self, name)) not in resolver.lookup_dict:
                raise InputError(f"unknown {name} {getattr(self, name)!r}",
                                 f"choose one of {', '.join(public_names(resolver))}")
        if self.pca is not None and int(self.pca) < 1:
            raise InputError(f"pca must be at least 1 (got {self.pca})", "e.g. pca 256, or leave it out")
        for name in ("epochs", "batch_size", "n", "depth"):
            if int(getattr(self, name)) < 1:
                raise InputError(f"{name} must be at least 1 (got {getattr(self, name)})", f"pass a positive {name}")
        if self.hops not in (1, 2):
            raise InputError(f"hops must be 1 or 2 (got {self.hops})", "pass --hops 1 or --hops 2")
        if self.lr <= 0:
            raise InputError(f"learning rate {self.lr} is not positive", "e.g. --lr 5e-4")


class CLOIRNet(nn.Module):
    """The paper's MLP, halving the width ``depth`` times; inputs standardised with training statistics.

    With ``pca`` the standardised inputs are first projected on their top ``pca`` principal
    components (a fixed linear map fitted on the training works): the MLP then starts at ``pca``
    wide, which makes training on CPU ~20× cheaper for 1280-d CNN features.
    """

    def __init__(self, in_dim: int, depth: int = 3, dropout: float = 0.5, pca: Optional[int] = None):
        super().__init__()
        if pca is not None and not 1 <= int(pca) <= in_dim:
            raise InputError(f"pca={pca} must be between 1 and the input dimension {in_dim}", "e.g. pca 256, or none")
        width = int(pca) if pca else in_dim
        dims = [width] + [max(1, width // 2 ** (i + 1)) for i in range(depth)]
        layers: list[nn.Module] = []
        for i, (a, b) in enumerate(zip(dims[:-1], dims[1:])):
            layers.append(nn.Linear(a, b))
            if i < depth - 1:
                layers += [nn.ReLU(), nn.Dropout(dropout)]
        self.mlp = nn.Sequential(*layers)
        self.spec = {"in_dim": int(in_dim), "depth": int(depth), "dropout": float(dropout),
                     "pca": int(pca) if pca else None}
        self.out_dim = dims[-1]
        self.register_buffer("mean", torch.zeros(in_dim))
        self.register_buffer("std", torch.ones(in_dim))
        self.register_buffer("components", torch.eye(in_dim)[:, :width] if pca else torch.empty(0))

    def set_feature_stats(self, features: Tensor) -> None:
        features = features.float()
        self.mean.copy_(features.mean(0))
        self.std.copy_(features.std(0).clamp_min(1e-6))
        if self.spec["pca"]:
            z = (features - self.mean) / self.std
            _, _, v = torch.linalg.svd(z, full_matrices=False)
            self.components.copy_(v[:self.spec["pca"]].T)

    def forward(self, x: Tensor) -> Tensor:
        z = (x.float() - self.mean) / self.std
        if self.spec["pca"]:
            z = z @ self.components
        return self.mlp(z)

    @torch.no_grad()
    def embed(self, features: Tensor, batch_size: int = 8192) -> Tensor:
        was = self.training
        self.eval()
        out = torch.cat([self(features[i:i + batch_size].to(self.mean.device)).cpu()
                         for i in range(0, len(features), batch_size)]) if len(features) else \
            torch.empty(0, self.out_dim)
        self.train(was)
        return out


def fit_cloir(model: CLOIRNet, features: Tensor, train_plan, val_plan, config: CloirConfig,
              device: torch.device, progress: bool = True) -> list[dict]:
    """Train on the triplet plans; keeps the weights of the best validation loss (early stopping)."""
    from tqdm.auto import tqdm

    rng = np.random.default_rng(config.seed)
    generator = torch.Generator().manual_seed(config.seed)
    loss_fn = nn.TripletMarginLoss(margin=config.margin, p=2)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    features = features.float().to(device)
    val = torch.from_numpy(val_plan.triplets(np.random.default_rng(config.seed + 1))) if val_plan else None
    history, best, best_state, stale = [], float("inf"), None, 0
    bar = tqdm(range(1, config.epochs + 1), desc="train cloir", unit="epoch", file=sys.stderr,
               disable=not progress, dynamic_ncols=True)
    for epoch in bar:
        model.train()
        triplets = torch.from_numpy(train_plan.triplets(rng))
        order = triplets[torch.randperm(len(triplets), generator=generator)]
        total = 0.0
        for start in range(0, len(order), config.batch_size):
            t = order[start:start + config.batch_size].to(device)
            emb = model(features[t.reshape(-1)]).view(len(t), 3, -1)
            loss = loss_fn(emb[:, 0], emb[:, 1], emb[:, 2])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            total += float(loss.detach()) * len(t)
        entry = {"epoch": epoch, "loss": round(total / max(1, len(order)), 5)}
        if val is not None and len(val):
            entry["val_loss"] = round(_triplet_loss(model, features, val, loss_fn), 5)
            if entry["val_loss"] < best:
                best, best_state, stale = entry["val_loss"], copy.deepcopy(model.state_dict()), 0
            else:
                stale += 1
        history.append(entry)
        bar.set_postfix(loss=entry["loss"], val=entry.get("val_loss"))
        if config.patience and stale >= config.patience:
            log.info("early stop after epoch %d (best validation loss %.4f)", epoch, best)
            break
    if best_state is not None:
        model.load_state_dict(best_state)
    model.eval()
    return history


@torch.no_grad()
def _triplet_loss(model: CLOIRNet, features: Tensor, triplets: Tensor, loss_fn, batch: int = 4096) -> float:
    model.eval()
    total = 0.0
    for start in range(0, len(triplets), batch):
        t = triplets[start:start + batch].to(features.device)
        emb = model(features[t.reshape(-1)]).view(len(t), 3, -1)
        total += float(loss_fn(emb[:, 0], emb[:, 1], emb[:, 2])) * len(t)
    return total / len(triplets)
