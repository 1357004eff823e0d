"""Baselines trained and evaluated in the same harness as GraphCLIP (``artkg train MODEL …``).

- ``prototype``: CLIP zero-shot style — each class is a learned projection of the text features of
  its class node (its label and description: the same text GraphCLIP reads with ``class_inputs:
  text``; in the offline world, words for the class's planted palette, strokes and texture); no graph.
- ``linear_probe``: logistic regression on the frozen, standardised image features.
- ``image_head``: GraphCLIP's image side (the same projection) plus a plain linear classification
  head; no graph.
"""
from __future__ import annotations

from typing import ClassVar

import torch
from torch import Tensor, nn  # noqa: F401

from artkg.models.classifier import ArtworkClassifier, Batch, CosineLogits, projection


class PrototypeClassifier(ArtworkClassifier):
    """Cosine similarity between the projected image and the projected text features of each class.

    The class text features (``class_text`` per task, [C, text_dim]) are buffers, so a run predicts
    without its graph.
    """

    kind = "prototype"  # the name users type (`artkg ls`)

    uses_text: ClassVar[bool] = True

    def __init__(self, tasks: dict[str, dict], image_dim: int, text_dim: int, embed_dim: int = 128,
                 temperature: float = 0.07, dropout: float = 0.3, input_dropout: float = 0.2):
        super().__init__(tasks, image_dim, text_dim=text_dim, embed_dim=embed_dim, temperature=temperature,
                         dropout=dropout, input_dropout=input_dropout)
        self.image_proj = nn.Sequential(nn.Dropout(input_dropout), projection(image_dim, embed_dim, dropout=dropout))
        self.text_proj = projection(text_dim, embed_dim, hidden=embed_dim, dropout=dropout)
        self.logits = CosineLogits(temperature)
        for t in self.tasks:
            self.register_buffer(f"text_{t}", torch.zeros(self.num_classes(t), text_dim))

    def set_class_text(self, task: str, text: Tensor) -> None:
        getattr(self, f"text_{task}").copy_(text)

    def predict_features(self, features: Tensor) -> dict[str, Tensor]:
        z = self.image_proj(self.standardize(features))
        return {t: self.logits(z, self.text_proj(getattr(self, f"text_{t}"))) + self.bias(t) for t in self.tasks}

    def forward(self, batch: Batch) -> dict[str, dict[str, Tensor]]:
        return {t: {"logits": v} for t, v in self.predict_features(self.batch_features(batch)).items()}


class LinearProbe(ArtworkClassifier):
    """Logistic regression (one linear layer per task) on standardised frozen image features."""

    kind = "linear_probe"  # the name users type (`artkg ls`)

    def __init__(self, tasks: dict[str, dict], image_dim: int):
        super().__init__(tasks, image_dim)
        self.heads = nn.ModuleDict({t: nn.Linear(image_dim, self.num_classes(t)) for t in self.tasks})

    def predict_features(self, features: Tensor) -> dict[str, Tensor]:
        x = self.standardize(features)
        return {t: head(x) + self.bias(t) for t, head in self.heads.items()}

    def forward(self, batch: Batch) -> dict[str, dict[str, Tensor]]:
        return {t: {"logits": v} for t, v in self.predict_features(self.batch_features(batch)).items()}


class ImageHeadClassifier(ArtworkClassifier):
    """GraphCLIP's image side (dropout → MLP projection) followed by a linear head per task."""

    kind = "image_head"  # the name users type (`artkg ls`)

    def __init__(self, tasks: dict[str, dict], image_dim: int, embed_dim: int = 128, dropout: float = 0.3,
                 input_dropout: float = 0.2):
        super().__init__(tasks, image_dim, embed_dim=embed_dim, dropout=dropout, input_dropout=input_dropout)
        self.image_proj = nn.Sequential(nn.Dropout(input_dropout), projection(image_dim, embed_dim, dropout=dropout))
        self.heads = nn.ModuleDict({t: nn.Linear(embed_dim, self.num_classes(t)) for t in self.tasks})

    def predict_features(self, features: Tensor) -> dict[str, Tensor]:
        z = self.image_proj(self.standardize(features))
        return {t: head(z) + self.bias(t) for t, head in self.heads.items()}

    def forward(self, batch: Batch) -> dict[str, dict[str, Tensor]]:
        return {t: {"logits": v} for t, v in self.predict_features(self.batch_features(batch)).items()}
