"""The configuration of a training run: :class:`TrainConfig` (a JSON file) and its checks.

:func:`artkg.models.train.train` takes it; ``config.json`` of a run holds it under ``"train"``. What
``sampler``, ``label_trick`` and ``image_tower`` do is described in :mod:`artkg.models.train_loop`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any, Optional, Union

from artkg.kg.errors import InputError
from artkg.models.options import (Field, Fraction, JsonOptions, NonNegativeFloat, NonNegativeInt, PositiveFloat,
                                  PositiveInt)

SAMPLERS = ("auto", "full", "neighbor")


@dataclass
class TrainConfig(JsonOptions):
    """Every choice of a training run; ``config.json`` of a run holds it under ``"train"``."""

    model: str = "graphclip"
    tasks: Union[str, list[str]] = field(default_factory=lambda: ["style"])
    task_weights: Optional[list[NonNegativeFloat]] = None  # one per task (default 1 each)
    features: Optional[str] = None  # image feature folder / encoder name (latest if None)
    text_features: Optional[str] = None
    model_kwargs: dict = field(default_factory=dict)  # e.g. embed_dim, context, label_context, aux_weight
    gnn: str = "sage"
    gnn_kwargs: dict = field(default_factory=lambda: {"layers": 2, "hidden": 128, "dropout": 0.2, "norm": "layer"})
    class_inputs: str = "constant"  # GNN input of class nodes: constant | embedding | text
    node_inputs: str = "embedding"  # GNN input of the other feature-less node types
    epochs: PositiveInt = 40
    batch_size: PositiveInt = 512
    lr: PositiveFloat = 1e-3
    weight_decay: NonNegativeFloat = 1e-4
    warmup_epochs: NonNegativeFloat = 2.0
    min_lr_ratio: NonNegativeFloat = 0.01  # cosine decays to lr × this
    patience: NonNegativeInt = 10  # evaluations without improvement before stopping (0: never stop early)
    eval_every: PositiveInt = 1
    grad_clip: Optional[PositiveFloat] = 5.0
    seed: int = 0
    split: Any = field(default_factory=lambda: [0.7, 0.1, 0.2])  # fractions, or "published" (splits.json)
    unseen_fraction: Fraction = 0.0
    unseen_classes: dict = field(default_factory=dict)  # {task: [class IRI | id | label]}
    unseen_mode: str = "strict"  # strict: held-out labels nowhere; transductive: training-split ones visible
    class_dropout: Fraction = 0.0  # share of seen classes whose label edges each step hides (simulated unseen)
    label_trick: bool = False  # hide the label edges of each step's own targets (see the module docstring)
    sampler: str = "auto"
    num_neighbors: list[Annotated[int, Field(ge=-1)]] = field(default_factory=lambda: [15, 10])
    full_batch_limit: NonNegativeInt = 2_000_000
    image_tower: Optional[dict] = None  # {"unfreeze_epoch", "unfreeze_every", "stages", "lr_scale", "image_root"}
    top_k: PositiveInt = 5
    device: str = "auto"
    threads: Optional[PositiveInt] = None

    def validate(self) -> None:
        if isinstance(self.tasks, str):
            self.tasks = [self.tasks]
        if self.task_weights is not None and len(self.task_weights) != len(self.tasks):
            raise InputError(f"{len(self.task_weights)} task weights for {len(self.tasks)} tasks",
                             "give one weight per task, or one for each task after the first")
        if self.sampler not in SAMPLERS:
            raise InputError(f"unknown sampler {self.sampler!r}", f"choose one of {', '.join(SAMPLERS)}")
        for name in ("epochs", "batch_size", "eval_every"):
            if int(getattr(self, name)) < 1:
                raise InputError(f"{name} must be at least 1 (got {getattr(self, name)})", f"pass a positive {name}")
        if self.lr <= 0:
            raise InputError(f"learning rate {self.lr} is not positive", "e.g. --lr 1e-3")
        if isinstance(self.split, str) and self.split != "published":
            raise InputError(f"unknown split {self.split!r}",
                             "give fractions (e.g. [0.7, 0.1, 0.2]) or \"published\" (the graph's splits.json)")
        if not isinstance(self.split, str) and not (
                isinstance(self.split, (list, tuple)) and len(self.split) == 3
                and all(isinstance(x, (int, float)) and x >= 0 for x in self.split)
                and abs(sum(self.split) - 1) < 1e-6):
            raise InputError(f"split must be three fractions (train, val, test) that sum to 1, got {self.split!r}",
                             "e.g. \"split\": [0.7, 0.1, 0.2], or \"published\"")
        from artkg.models.visibility import check_unseen_mode

        check_unseen_mode(self.unseen_mode)
        if not 0 <= self.class_dropout < 1:
            raise InputError(f"class_dropout {self.class_dropout} is outside [0, 1)", "e.g. 0.25")
