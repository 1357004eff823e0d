"""Training: :class:`TrainConfig` (a JSON file) → :func:`train` → a run directory.

One harness for GraphCLIP and its baselines: Adam, a linear warm-up then cosine decay
(``torch.optim.lr_scheduler``), early stopping on the validation top-1 of the seen classes (the
best weights are kept), seeds for every random choice, and cross-entropy summed over the tasks
with their weights (``L = L_style + λ·L_genre``). Zero-shot classes never enter the loss — not
even as competing columns — so nothing teaches the model to avoid them; in strict mode (default)
none of their labels is anywhere else either (:mod:`artkg.models.visibility`).

The harness is in four modules: this one (:func:`train`, the entry point, and :func:`make_model`),
:mod:`artkg.models.train_config` (:class:`~artkg.models.train_config.TrainConfig` and its checks),
:mod:`artkg.models.train_loop` (:class:`~artkg.models.train_loop.Trainer`: batches, the loop, the
loss, calibration) and :mod:`artkg.models.train_eval` (the metrics of a trained model).
"""
from __future__ import annotations

import json
import logging
import random
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import numpy as np
import torch

from artkg.kg.errors import InputError
from artkg.models.classifier import ArtworkClassifier
from artkg.models.train_config import TrainConfig
from artkg.models.train_loop import Trainer

log = logging.getLogger("artkg")


@dataclass
class TrainResult:
    model: ArtworkClassifier
    data: Any  # TrainingData
    config: TrainConfig
    metrics: dict
    history: list[dict]
    run_dir: Optional[Path] = None


# ------------------------------------------------------------------ entry point
def train(graph_dir: str | Path, config: TrainConfig | dict | str | Path | None = None,
          out: str | Path | None = None, progress: bool = True, overwrite: bool = False,
          **overrides) -> TrainResult:
    """Train ``config.model`` on a graph directory with features; write a run directory to ``out``.

    ``out`` is locked for the whole training; a finished run already there is replaced only with
    ``overwrite`` (and stays whole until the new one is written)."""
    config = TrainConfig.coerce(config, {k: v for k, v in overrides.items() if v is not None})
    if out is None:
        return _train(graph_dir, config, progress)
    from artkg.models.run import run_directory, save_run

    with run_directory(out, overwrite):  # fail before training, not after
        result = _train(graph_dir, config, progress)
        result.run_dir = save_run(out, result)
    return result


def _train(graph_dir, config: TrainConfig, progress: bool) -> TrainResult:
    from artkg.kg.graph import load_graph
    from artkg.models.data import TrainingData
    from artkg.models.features import resolve_device
    from artkg.models.features_cache import feature_meta, load_features
    from artkg.models.zoo import model_class

    _check_component_options(model_class(config.model), config)

    if config.threads:
        torch.set_num_threads(int(config.threads))
    seed_everything(config.seed)
    t0 = time.perf_counter()
    graph = load_graph(graph_dir)
    if config.split == "published":  # a graph without one fails before anything is loaded
        from artkg.models.published import read_published

        read_published(graph, tuple(config.tasks))
    from artkg.models.zoo import model_class

    cls = model_class(config.model)
    image_meta = feature_meta(graph.root, "image", config.features)
    features, mask = load_features(graph.root, "image", image_meta["key"])
    needs_text = cls.uses_text or (cls.uses_graph and "text" in (config.class_inputs, config.node_inputs))
    text_meta, text = None, None
    if needs_text:
        text_meta = feature_meta(graph.root, "text", config.text_features)
        text = load_features(graph.root, "text", text_meta["key"])
    split, split_info = None, {"kind": "random", "fractions": config.split}
    if config.split == "published":
        from artkg.models.published import published_run_split

        split, split_info = published_run_split(graph, config, mask)
    data = TrainingData(graph, config.tasks, features, mask, image_meta, split=split, seed=config.seed,
                        fractions=config.split if split is None else (0.7, 0.1, 0.2),
                        unseen_fraction=config.unseen_fraction, unseen_classes=config.unseen_classes,
                        text_features=text, class_inputs=config.class_inputs, node_inputs=config.node_inputs,
                        unseen_mode=config.unseen_mode)
    data.text_meta = text_meta
    device = resolve_device(config.device)
    model = make_model(cls, data, config).to(device)
    log.info("training %s on %s: %s", config.model, graph.root, json.dumps(data.summary()))
    trainer = Trainer(model, data, config, device, progress)
    history = trainer.fit()
    calibration = trainer.calibrate()
    metrics = trainer.evaluate_all()
    metrics["training"] = {"best_epoch": trainer.best_epoch, "epochs_run": len(history),
                           "seconds": round(time.perf_counter() - t0, 2), "sampler": trainer.sampler_kind,
                           "parameters": sum(p.numel() for p in model.parameters())}
    if calibration:
        metrics["training"]["calibration"] = calibration
    metrics["training"]["zero_shot"] = data.visibility.describe()
    metrics["training"]["split"] = split_info
    if trainer.tower is not None:
        metrics["training"]["image_tower"] = trainer.tower_report()
    return TrainResult(model, data, config, metrics, history)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def _check_component_options(cls: type[ArtworkClassifier], config: TrainConfig) -> None:
    """The types of ``model_kwargs`` and ``gnn_kwargs``, checked against the classes' annotations
    before anything is loaded (one line naming the option)."""
    from artkg.models.options import check_call_kwargs

    config.model_kwargs = check_call_kwargs(cls, config.model_kwargs, "model_kwargs")
    if cls.uses_graph and isinstance(config.gnn, str):
        from artkg.models.gnn import gnn_resolver

        try:
            gnn_cls = gnn_resolver.lookup(config.gnn)
        except (KeyError, ValueError):
            return  # an unknown name fails later with the registry's list
        config.gnn_kwargs = check_call_kwargs(gnn_cls, config.gnn_kwargs, "gnn_kwargs")


def make_model(cls: type[ArtworkClassifier], data, config: TrainConfig) -> ArtworkClassifier:
    """Build a model for the data: what the graph decides plus what the config chooses."""
    kwargs: dict = {"tasks": data.task_specs(), "image_dim": int(data.features.shape[1]), **config.model_kwargs}
    if cls.uses_graph:
        kwargs.update(metadata=data.metadata, num_nodes=data.num_nodes, in_dims=data.in_dims, gnn=config.gnn,
                      gnn_kwargs=config.gnn_kwargs)
    if cls.uses_text:
        types = {t.class_type for t in data.tasks}
        if data.text_features is None or not types <= set(data.text_features):
            raise InputError(f"the {config.model} model needs text features of the class nodes ({', '.join(types)})",
                             f"compute them with `artkg features {data.graph.root}`")
        kwargs["text_dim"] = int(next(iter(data.text_features.values())).shape[1])
    try:
        model = cls(**kwargs)
    except (TypeError, ValueError) as exc:
        raise InputError(f"bad model options for {config.model}: {exc}",
                         "check model_kwargs in the config (see the model's docstring)") from exc
    model.set_feature_stats(data.features[data.split.train])
    if cls.uses_text:
        for t in data.tasks:
            model.set_class_text(t.name, data.text_features[t.class_type].float())
    if config.image_tower:
        from artkg.models.tower import make_tower

        tower, spec = make_tower(data.feature_meta)
        model.attach_image_tower(tower, spec)
    return model
