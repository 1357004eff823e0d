"""The configuration of a visual-signature run (:class:`SignatureConfig`, JSON; the run's ``config.json``
holds it under ``"train"``). No torch import: ``artkg train --help`` reads the defaults."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Optional

from artkg.models.options import (Field, JsonOptions, NonNegativeFloat, NonNegativeInt, PositiveFloat,
                                  PositiveInt)

TASK = "signatures"
LR_SCHEDULES = ("constant", "cosine")


@dataclass
class SignatureConfig(JsonOptions):
    """Every choice of a signature run: backbone, which links teach it, split, loss, schedule."""

    encoder: str = "efficientnet_lite"  # efficientnet_lite | torchvision_resnet | open_clip_image (ViT)
    encoder_kwargs: dict = field(default_factory=dict)  # e.g. {"image_size": 224} or {"arch": "resnet50"}
    # links of these kinds are connections (A, B); links of kind negative are explicit C candidates
    positive_kinds: list[str] = field(default_factory=lambda: ["positive", "duplicate", "similar"])
    explicit_negatives: bool = True
    explicit_negative_rate: Annotated[float, Field(ge=0, le=1)] = 0.5  # share of C drawn from them where any
    negative_views: bool = True  # each explicit negative (X, Y) also trains as (X, a second view of X, Y)
    repeat_sources: dict = field(default_factory=dict)  # connections from these link sources drawn n times an epoch
    epoch_size: Optional[PositiveInt] = None  # connections drawn an epoch (None: each once, or as repeat_sources says)
    fractions: list[NonNegativeFloat] = field(default_factory=lambda: [0.8, 0.1, 0.1])  # train, val, test
    epochs: PositiveInt = 10
    batch_size: PositiveInt = 16  # triplets per step (3 × images)
    eval_batch_size: PositiveInt = 64  # images per forward pass when computing signatures
    lr: PositiveFloat = 1e-4  # AdamW
    lr_schedule: str = "constant"  # constant | cosine: decays to 0 over the run, step by step (e.g. for a warm start)
    init: Optional[str] = None  # a signatures run directory whose fine-tuned weights to start from (a warm start)
    weight_decay: NonNegativeFloat = 1e-4
    margin: NonNegativeFloat = 0.01  # the triplet term of the compound hinge
    margin2: NonNegativeFloat = 0.1  # connected pairs are pulled within this distance
    distance: str = "cosine"  # the loss's d: cosine (1 - cos, the thesis) or chord (|a - b|; see loss.compound_hinge)
    augment: str = "copy"  # none | copy: mirror, crop and hue-shift each training image (see augment.py)
    augment_kwargs: dict = field(default_factory=dict)  # e.g. {"flip": 0.5, "crop_scale": [0.6, 1.0], "hue": 0.1}
    k_negatives: PositiveInt = 10  # C is drawn among this many nearest unconnected training works
    first_stage_epochs: NonNegativeInt = 2  # epochs 0 .. e1-1 train the last stage only
    unfreeze_every: PositiveInt = 2  # then one more stage every this many epochs
    max_stages: Optional[PositiveInt] = None  # never train more than this many stages (None: all)
    ks: list[PositiveInt] = field(default_factory=lambda: [20, 50, 100, 200, 400])  # recall@k
    image_root: Optional[str] = None  # folder holding the image files (as `artkg features --image-root`)
    cache_images_mb: NonNegativeInt = 1024  # decoded, preprocessed images kept in memory (0: none)
    seed: int = 0
    device: str = "auto"
    threads: Optional[PositiveInt] = None

    def validate(self) -> None:
        from artkg.kg.errors import InputError
        from artkg.kg.links import kind_code
        from artkg.kg.schema import LINK_KINDS

        from artkg.models.signatures.loss import DISTANCES

        if self.distance not in DISTANCES:
            raise InputError(f"distance {self.distance!r} is not one of {', '.join(DISTANCES)}",
                             'e.g. "distance": "cosine"')
        if self.lr_schedule not in LR_SCHEDULES:
            raise InputError(f"lr_schedule {self.lr_schedule!r} is not one of {', '.join(LR_SCHEDULES)}",
                             'e.g. "lr_schedule": "cosine"')
        from artkg.models.signatures.augment import check

        check(self.augment, self.augment_kwargs)
        bad = {k: v for k, v in self.repeat_sources.items() if isinstance(v, bool) or not isinstance(v, int) or v < 1}
        if bad:
            raise InputError(f"repeat_sources {bad} are not whole numbers of draws of 1 or more",
                             'e.g. "repeat_sources": {"annotation": 4}')
        kinds = [str(k).strip().lower() for k in self.positive_kinds]
        if not kinds:
            raise InputError("positive_kinds is empty", 'e.g. "positive_kinds": ["positive", "duplicate", "similar"]')
        for k in kinds:
            code = kind_code(k)
            if code < 0 or LINK_KINDS[code] == "negative":
                raise InputError(f"positive_kinds holds {k!r}, not a kind of connection",
                                 "use positive, duplicate and/or similar")
        if len(self.fractions) != 3 or abs(sum(self.fractions) - 1) > 1e-9 or self.fractions[0] <= 0 \
                or self.fractions[2] <= 0:
            raise InputError(f"fractions {self.fractions} are not train, val and test shares summing to 1 "
                             "(train and test above 0)", 'e.g. "fractions": [0.8, 0.1, 0.1]')
