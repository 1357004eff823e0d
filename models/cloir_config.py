"""The configuration of a CLOIR run (:class:`CloirConfig`, a JSON file; ``config.json`` of a run holds
it under ``"train"``). Kept apart from :mod:`artkg.models.cloir` so reading it (``artkg train --help``
shows its defaults) does not import torch."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Annotated, Optional

from artkg.kg.errors import InputError
from artkg.models.options import (Field, Fraction, JsonOptions, NonNegativeFloat, NonNegativeInt, PositiveFloat,
                                  PositiveInt)
from artkg.registry import public_names

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
