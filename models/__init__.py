"""artkg.models: features, GNN encoders, GraphCLIP and its baselines, training and run directories.

Names are imported lazily (PyG style), so ``import artkg.models`` stays cheap::

    from artkg.models import TrainConfig, load_run, predict_images
    from artkg.models.train import train   # (``artkg.models.train`` is also the module's name)
    result = train("world", TrainConfig(model="graphclip", tasks=["style"]), out="runs/style")
"""
from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "extract_features": "features", "load_features": "features_cache", "list_features": "features_cache",
    "make_image_encoder": "encoders_image", "make_text_encoder": "encoders_text",
    "HeteroGNN": "gnn", "SAGE": "gnn", "GAT": "gnn", "gnn_resolver": "gnn", "make_gnn": "gnn",
    "GraphCLIP": "graphclip", "GraphInputs": "classifier", "Batch": "classifier", "ArtworkClassifier": "classifier",
    "PrototypeClassifier": "baselines", "LinearProbe": "baselines", "ImageHeadClassifier": "baselines",
    "model_resolver": "zoo", "build_model": "zoo",
    "Task": "tasks", "Split": "tasks", "make_task": "tasks", "make_split": "tasks", "available_tasks": "tasks",
    "leakage_free_edges": "tasks",
    "TrainingData": "data", "NeighborSampler": "sampler",
    "TrainConfig": "train_config", "TrainResult": "train",
    "classification_metrics": "metrics",
    "load_run": "run", "save_run": "run", "evaluate_run": "run", "predict_images": "run",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'artkg.models' has no attribute {name!r}")
    module = importlib.import_module(f"artkg.models.{_EXPORTS[name]}")
    return getattr(module, name)


def __dir__() -> list[str]:
    return __all__
