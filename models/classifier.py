"""What every artwork classifier shares: the batch it reads, the image side, cosine logits, the spec.

A classifier is rebuilt from its ``spec`` (JSON-able constructor arguments, stored in a run's
``config.json``) and its weights (safetensors), so loading a run never unpickles anything.
Every classifier has an *image-only* path, :meth:`ArtworkClassifier.predict_features`, for images
that are not in the graph (``artkg predict``).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import ClassVar, Optional

import torch
import torch.nn.functional as F
from torch import Tensor, nn


@dataclass
class GraphInputs:
    """What the GNN reads: node features (types without features use embeddings) and edges.

    For a sampled subgraph ``n_id_dict[t]`` maps its local node positions to graph indices.
    """

    x_dict: dict[str, Tensor]
    edge_index_dict: dict[tuple[str, str, str], Tensor]
    n_id_dict: Optional[dict[str, Tensor]] = None
    h_dict: Optional[dict[str, Tensor]] = None  # node embeddings computed beforehand (layer-wise inference)

    def to(self, device) -> "GraphInputs":
        n_id = {k: v.to(device) for k, v in self.n_id_dict.items()} if self.n_id_dict is not None else None
        h = {k: v.to(device) for k, v in self.h_dict.items()} if self.h_dict is not None else None
        return GraphInputs({k: v.to(device) for k, v in self.x_dict.items()},
                           {k: v.to(device) for k, v in self.edge_index_dict.items()}, n_id, h)


@dataclass
class Batch:
    """Artworks to classify: their image features and, for graph models, where they sit in the graph.

    ``local`` gives the artworks' positions in ``graph`` and ``class_local[t]`` the positions of the
    class nodes of type ``t`` (both ``None`` for the whole graph, where positions are indices);
    ``label_dist[task]`` is, per artwork, the class distribution of the labels its artist's other
    works show in the message-passing graph (see :mod:`artkg.models.data`).
    """

    nodes: Tensor
    features: Tensor
    graph: Optional[GraphInputs] = None
    local: Optional[Tensor] = None
    class_local: dict[str, Tensor] = field(default_factory=dict)
    label_dist: dict[str, Tensor] = field(default_factory=dict)
    pixels: Optional[Tensor] = None  # set while a trainable image tower is being fine-tuned

    def to(self, device) -> "Batch":
        return Batch(self.nodes.to(device), self.features.to(device),
                     self.graph.to(device) if self.graph is not None else None,
                     self.local.to(device) if self.local is not None else None,
                     {k: v.to(device) for k, v in self.class_local.items()},
                     {k: v.to(device) for k, v in self.label_dist.items()},
                     self.pixels.to(device) if self.pixels is not None else None)


def projection(in_dim: int, out_dim: int, hidden: Optional[int] = None, dropout: float = 0.1) -> nn.Module:
    """A two-layer MLP projection head (as in CLIP-style fine-tuning on frozen features)."""
    hidden = hidden or max(out_dim, min(in_dim, 512))
    return nn.Sequential(nn.Linear(in_dim, hidden), nn.GELU(), nn.Dropout(dropout), nn.Linear(hidden, out_dim))


class CosineLogits(nn.Module):
    """``exp(s) · cos(a, b)`` with a learnable log-scale ``s`` (CLIP's temperature), capped at 100."""

    def __init__(self, temperature: float = 0.07):
        super().__init__()
        self.log_scale = nn.Parameter(torch.tensor(math.log(1 / temperature)))

    def forward(self, queries: Tensor, classes: Tensor) -> Tensor:
        scale = self.log_scale.clamp(max=math.log(100)).exp()
        return scale * F.normalize(queries, dim=-1) @ F.normalize(classes, dim=-1).T


class ArtworkClassifier(nn.Module):
    """Base class. ``tasks`` maps a task name to ``{"class_type", "num_classes"}``.

    Image features are standardised with the training set's mean and standard deviation, kept as
    buffers so that :meth:`predict_features` applies the same transform to new images. A model may
    carry the image encoder itself (``image_tower``, fine-tuned by the trainer); its weights are then
    part of the run.
    """

    uses_graph: ClassVar[bool] = False
    uses_text: ClassVar[bool] = False

    def __init__(self, tasks: dict[str, dict], image_dim: int, **spec):
        super().__init__()
        self.tasks = {t: dict(v) for t, v in tasks.items()}
        self.image_dim = int(image_dim)
        self.spec = {"tasks": self.tasks, "image_dim": self.image_dim, **spec}
        self.register_buffer("feature_mean", torch.zeros(self.image_dim))
        self.register_buffer("feature_std", torch.ones(self.image_dim))
        self.image_tower: Optional[nn.Module] = None
        for t in self.tasks:  # zero-shot calibration: added to the held-out classes' logits (see train.py)
            self.register_buffer(f"bias_{t}", torch.zeros(self.num_classes(t)))

    def bias(self, task: str) -> Tensor:
        return getattr(self, f"bias_{task}")

    def attach_image_tower(self, tower: nn.Module, spec: dict) -> None:
        """Carry a trainable image encoder (``spec``: ``{"encoder", "kwargs"}`` to rebuild it)."""
        self.image_tower = tower
        self.spec["image_tower"] = spec

    def train(self, mode: bool = True) -> "ArtworkClassifier":
        super().train(mode)
        if self.image_tower is not None:  # BatchNorm statistics stay as pretrained
            self.image_tower.eval()
        return self

    def batch_features(self, batch: "Batch") -> Tensor:
        """The batch's image features: from the tower while it is fine-tuned, else the cached ones."""
        if batch.pixels is not None and self.image_tower is not None:
            return self.image_tower(batch.pixels)
        return batch.features

    def num_classes(self, task: str) -> int:
        return int(self.tasks[task]["num_classes"])

    def set_feature_stats(self, features: Tensor) -> None:
        self.feature_mean.copy_(features.mean(0))
        self.feature_std.copy_(features.std(0).clamp(min=1e-6) if len(features) > 1 else torch.ones_like(self.feature_std))

    def standardize(self, features: Tensor) -> Tensor:
        return (features - self.feature_mean) / self.feature_std

    def forward(self, batch: Batch) -> dict[str, dict[str, Tensor]]:
        """``{task: {"logits": [B, C], …auxiliary logits trained alongside}}``."""
        raise NotImplementedError

    def predict_features(self, features: Tensor) -> dict[str, Tensor]:
        """Image-only logits per task for raw image features [B, d] of images outside the graph."""
        raise NotImplementedError

    def finalize(self, batch_for_classes: Optional[Batch] = None) -> None:
        """Called once after training: freeze whatever :meth:`predict_features` needs (class embeddings)."""
