"""The configuration of a recommender run (:class:`RecConfig`, JSON; ``config.json`` of the run holds it
under ``"train"``). No torch import: ``artkg train --help`` reads the defaults."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Optional

from artkg.models.options import Field, JsonOptions, PositiveInt

RECOMMENDERS = ("random", "popularity", "bpr_mf", "vbpr", "visrank", "curatornet", "curatornet_kg",
                # the multimodal engines (models/recsys/content.py): rated profiles, content only
                "image_similarity", "lda_topics", "text_similarity", "late_fusion", "early_fusion")


@dataclass
class RecConfig(JsonOptions):
    """Every choice of a recommender run: the model, the time-ordered split and the metrics."""

    model: str = "curatornet"  # one of RECOMMENDERS (`artkg ls`)
    model_kwargs: dict = field(default_factory=dict)  # the model's options (sampler, sampler_kwargs, l2, epochs …)
    features: Optional[str] = None  # image feature folder / encoder name (latest if None)
    kind: Optional[str] = None  # which interactions: purchased | liked | rated (None: the model's default)
    text_features: Optional[str] = None  # artwork text feature folder (`artkg features --artwork-text`; latest)
    cutoff_quantile: Annotated[float, Field(ge=0, lt=1)] = 0.5  # of the eligible users' last-basket times
    min_baskets: Annotated[int, Field(ge=2)] = 2
    # kind "rated" (the multimodal engines): each user's first profile_fraction of ratings is the profile
    profile_fraction: Annotated[float, Field(gt=0, lt=1)] = 0.5
    relevant_min: Annotated[float, Field(ge=1, le=5)] = 4.0  # a held-out rating this high is relevant
    k: Optional[list[PositiveInt]] = None  # None: 10 20 50 100 (purchases), 9 20 (ratings, the study's 9)
    seed: int = 0
    threads: Optional[PositiveInt] = None

    def validate(self) -> None:
        from artkg.kg.errors import InputError
        from artkg.kg.schema import INTERACTION_KINDS

        if self.kind is not None and self.kind not in INTERACTION_KINDS:
            raise InputError(f"unknown interaction kind {self.kind!r}", f"choose one of {', '.join(INTERACTION_KINDS)}")
        if self.model.strip().lower() not in RECOMMENDERS:
            raise InputError(f"unknown recommender {self.model!r}", f"choose one of {', '.join(RECOMMENDERS)}")
