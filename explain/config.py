"""The choices of an explanation, as Enums in dataclasses (in the manner of PyG's ``explain/config.py``).

Plain data only: no torch import, so the CLI can build a config before anything heavy loads.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from artkg.kg.errors import InputError


class ExplainWhat(str, Enum):
    """Which side of a prediction to explain."""

    graph = "graph"  # GNNExplainer / Captum masks on the knowledge graph
    image = "image"  # a Grad-CAM heatmap on the picture
    both = "both"


class Explained(str, Enum):
    """Which class an explanation is about."""

    predicted = "predicted"  # PyG's ExplanationType.model: why the model predicts what it predicts
    given = "given"  # PyG's ExplanationType.phenomenon: why (not) a class the user names


class CamMethod(str, Enum):
    """The pytorch_grad_cam method that turns activations and gradients into a map."""

    gradcam = "gradcam"
    gradcam_plus_plus = "gradcam++"
    hirescam = "hirescam"
    layercam = "layercam"


@dataclass
class GraphExplainConfig:
    """How the graph side is explained.

    ``algorithm`` is a name in :data:`artkg.explain.graph.algorithm_resolver` (``gnnexplainer`` or
    ``captum``), ``algorithm_kwargs`` its options (e.g. ``{"method": "Saliency"}`` for captum).
    The subgraph keeps the ``top_k`` heaviest facts among those within ``hops`` of the artwork or
    the explained class node.
    """

    algorithm: str = "gnnexplainer"
    algorithm_kwargs: dict = field(default_factory=dict)
    epochs: int = 100  # GNNExplainer's optimisation steps (PyG's default)
    lr: float = 0.01
    top_k: int = 20
    hops: int = 2
    seed: int = 0  # GNNExplainer starts from random masks
    progress: bool = False  # a tqdm bar of GNNExplainer's steps on stderr (when it is a terminal)

    def validate(self) -> GraphExplainConfig:
        if self.top_k < 1:
            raise InputError(f"top-k must be at least 1 (got {self.top_k})", "pass e.g. --top-k 20")
        if self.hops < 1:
            raise InputError(f"hops must be at least 1 (got {self.hops})", "pass e.g. hops=2")
        if self.epochs < 1:
            raise InputError(f"epochs must be at least 1 (got {self.epochs})", "pass e.g. epochs=100")
        return self


@dataclass
class CamConfig:
    """How the image side is explained: the CAM method and the layer (``None``: chosen from the encoder)."""

    method: CamMethod = CamMethod.gradcam
    layer: str | None = None  # a module path such as "net._blocks.-1" (negative indices allowed)
    display_size: int = 256  # side of the overlay PNG (small network inputs are shown enlarged)
