"""Train, save, load and evaluate CLOIR runs (``artkg train cloir``, ``artkg eval RUN``).

A CLOIR run directory has the GraphCLIP run layout (:mod:`artkg.models.run`): ``config.json``
(``"model": "cloir"``, the :class:`~artkg.models.cloir.CloirConfig`, graph path and id-map hash,
input features), ``model.safetensors``, ``split.json``, ``metrics.json`` (the trained embedding
and the raw-feature baseline, P@k / MRR at degree 1 and 2) and ``history.json``; ``artkg eval RUN``
recomputes the metrics and writes them to ``eval.json``.
"""
from __future__ import annotations

import datetime as dt
import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np
import torch

from artkg._version import __version__
from artkg.kg.atomic import atomic_path, write_json
from artkg.kg.errors import InputError
from artkg.models.cloir import CLOIRNet, CloirConfig, fit_cloir
from artkg.models.run import (CONFIG, FORMAT_VERSION, HISTORY, METRICS, SPLIT, WEIGHTS, check_out, read_config,
                              run_graph)
from artkg.models.triplets import (ArtworkSplit, InfluenceHops, artwork_creators,
                                   negative_sampler_resolver, plan_triplets, positive_sampler_resolver,
                                   split_artworks)
from artkg.retrieval.embeddings import input_features
from artkg.retrieval.evaluate import evaluate_retrieval
from artkg.retrieval.rank import Gallery

log = logging.getLogger("artkg")

#: The raw-feature baseline ranks by cosine similarity (usual for CNN/CLIP features); the trained
#: embedding by L2 distance, the geometry its triplet loss shapes.
BASELINE_METRIC, MODEL_METRIC = "cosine", "l2"


@dataclass
class CloirResult:
    model: CLOIRNet
    config: CloirConfig
    split: ArtworkSplit
    metrics: dict
    history: list[dict]
    run_dir: Optional[Path] = None


def train_cloir(graph_dir: str | Path, config: CloirConfig | dict | str | Path | None = None,
                out: str | Path | None = None, progress: bool = True, overwrite: bool = False,
                **overrides) -> CloirResult:
    """Draw triplets from the graph's influence hops, train the CLOIR MLP, evaluate it against the
    raw-feature baseline on the test artworks, and write a run directory to ``out`` (locked while
    training; a finished run there is replaced only with ``overwrite``)."""
    config = CloirConfig.coerce(config, overrides)
    if out is None:
        return _train_cloir(graph_dir, config, None, progress)
    from artkg.models.run import run_directory

    with run_directory(out, overwrite):
        return _train_cloir(graph_dir, config, out, progress)


def _train_cloir(graph_dir, config: CloirConfig, out, progress: bool) -> CloirResult:
    from artkg.kg.graph import load_graph
    from artkg.models.features import resolve_device

    if config.threads:
        torch.set_num_threads(int(config.threads))
    torch.manual_seed(config.seed)
    t0 = time.perf_counter()
    graph = load_graph(graph_dir)
    if config.split == "published":  # a graph without one fails before anything is loaded
        from artkg.models.published import read_published

        read_published(graph)
    features, mask, record = input_features(graph, config.inputs, config.image_features, config.text_features)
    creator = artwork_creators(graph)
    if config.split == "published":
        from artkg.models.published import published_artwork_split

        split = published_artwork_split(graph, creator, mask.numpy(), config.val_fraction, config.seed)
    else:
        split = split_artworks(creator, mask.numpy(), config.split, config.test_fraction, config.val_fraction,
                               config.seed)
    # Artists without training works (leave-out-agents: the held-out ones) are no step of a hop.
    held_out = np.setdiff1d(creator[np.concatenate([split.val, split.test])], creator[split.train])
    hops = InfluenceHops(graph.influence, config.hops, hidden=held_out)
    positive = positive_sampler_resolver.make(config.sampling, n=config.n)
    negative = negative_sampler_resolver.make(config.negatives)
    rng = np.random.default_rng(config.seed)
    feats = features.numpy()
    train_plan = plan_triplets(creator, feats, split.train, split.train, hops, positive, negative, rng)
    try:
        val_plan = plan_triplets(creator, feats, split.val, split.train, hops, positive, negative, rng) \
            if len(split.val) else None
    except InputError:
        val_plan = None  # no validation anchor has influencers: train for all epochs
    device = resolve_device(config.device)
    model = CLOIRNet(features.shape[1], config.depth, config.dropout, config.pca)
    if config.standardize or config.pca:
        model.set_feature_stats(features[torch.from_numpy(split.train)])
    model.to(device)
    log.info("cloir: %d training triplets (%d anchors), %d validation triplets", len(train_plan),
             len(np.unique(train_plan.anchors)), len(val_plan) if val_plan else 0)
    history = fit_cloir(model, features, train_plan, val_plan, config, device, progress)
    model.cpu()
    metrics = evaluate_split(graph, model, features, mask, split, config)
    metrics["triplets"] = {"train": len(train_plan), "anchors": int(len(np.unique(train_plan.anchors))),
                           "val": len(val_plan) if val_plan else 0}
    metrics["split"] = {"kind": split.kind, "train": int(len(split.train)), "val": int(len(split.val)),
                        "test": int(len(split.test))}
    metrics["training"] = {"epochs_run": len(history), "seconds": round(time.perf_counter() - t0, 2),
                           "device": str(device)}
    result = CloirResult(model, config, split, metrics, history)
    if out is not None:
        result.run_dir = save_cloir_run(out, result, graph, record)
    return result


def evaluate_split(graph, model: Optional[CLOIRNet], features: torch.Tensor, mask: torch.Tensor,
                   split: ArtworkSplit, config: CloirConfig) -> dict:
    """``{"model": …, "baseline": …}`` on the split's test artworks (``model`` None: baseline only)."""
    variants = [("baseline", features.numpy().astype(np.float32), BASELINE_METRIC)]
    if model is not None:
        variants.insert(0, ("model", model.embed(features).numpy().astype(np.float32), MODEL_METRIC))
    return {name: evaluate_vectors(graph, vectors, mask.numpy(), split.test, metric, tuple(config.k),
                                   config.time_filter) for name, vectors, metric in variants}


def evaluate_vectors(graph, vectors: np.ndarray, usable: np.ndarray, queries: np.ndarray, metric: str,
                     ks=(1, 5, 10), time_filter: bool = True) -> dict:
    """Rank every usable artwork for each query (:func:`evaluate_retrieval`), noting the metric."""
    gallery = Gallery.for_graph(graph, vectors, usable, metric=metric)
    out = evaluate_retrieval(graph.influence, vectors, queries, gallery, ks=ks, time_filter=time_filter)
    out["metric"] = metric
    return out


def evaluate_features(graph, features: str = "image", queries: Optional[np.ndarray] = None, ks=(1, 5, 10),
                      time_filter: bool = True, metric: str = BASELINE_METRIC) -> dict:
    """The raw-feature baseline on ``queries`` (default: every artwork with features and a creator)."""
    feats, mask, record = input_features(graph, features)
    mask = mask.numpy()
    if queries is None:
        queries = np.flatnonzero(mask)  # evaluate_retrieval drops those without a creator
    out = evaluate_vectors(graph, feats.numpy().astype(np.float32), mask, queries, metric, ks, time_filter)
    out["features"] = record
    return out


def save_cloir_run(out: str | Path, result: CloirResult, graph, record: dict) -> Path:
    from artkg.models.run import staged_run

    final = check_out(out)
    with staged_run(final) as out:
        _write_cloir_run(out, result, graph, record)
    log.info("run written to %s", final)
    return final


def _write_cloir_run(out: Path, result: CloirResult, graph, record: dict) -> None:
    from safetensors.torch import save_file

    state = {k: v.detach().cpu().contiguous().clone() for k, v in result.model.state_dict().items()}
    with atomic_path(out / WEIGHTS) as tmp:
        save_file(state, str(tmp), metadata={"artkg": __version__, "format_version": str(FORMAT_VERSION)})
    write_json(out / SPLIT, result.split.to_json(), indent=None)
    write_json(out / METRICS, result.metrics)
    write_json(out / HISTORY, result.history, indent=None)
    write_json(out / CONFIG, {
        "artkg_version": __version__,
        "format_version": FORMAT_VERSION,
        "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "model": "cloir",
        "model_spec": result.model.spec,
        "train": result.config.to_dict(),
        "graph": {"path": str(graph.root.resolve()), "id_map_hash": graph.manifest.get("id_map_hash"),
                  "source": graph.manifest.get("source", {}).get("kind")},
        "features": record,
    })


def load_cloir_run(run_dir: str | Path) -> tuple[dict, CLOIRNet, ArtworkSplit]:
    """``(config.json, model in eval mode, split)`` of a CLOIR run (weights from safetensors)."""
    from safetensors.torch import load_file

    run_dir = Path(run_dir)
    config = read_config(run_dir)
    if config.get("model") != "cloir":
        raise InputError(f"{run_dir} is a {config.get('model')} run, not a CLOIR run",
                         "train one with `artkg train cloir GRAPH_DIR --out RUN`")
    model = CLOIRNet(**config["model_spec"])
    if not (run_dir / WEIGHTS).exists():
        raise InputError(f"{run_dir} has no {WEIGHTS}", "retrain the run (`artkg train cloir … --overwrite`)")
    try:
        model.load_state_dict(load_file(str(run_dir / WEIGHTS)), strict=True)
    except Exception as exc:  # a truncated file (SafetensorError) or weights of another shape
        raise InputError(f"the weights in {run_dir / WEIGHTS} cannot be loaded ({type(exc).__name__}: "
                         f"{str(exc).splitlines()[0][:120]})", "retrain the run (`artkg train cloir … --overwrite`)") from None
    split = ArtworkSplit.from_json(json.loads((run_dir / SPLIT).read_text(encoding="utf-8")))
    return config, model.eval(), split


def run_features(config: dict, graph) -> tuple[torch.Tensor, torch.Tensor]:
    """The run's input features, checked to be the ones it was trained on."""
    train = CloirConfig.from_dict(config["train"])
    recorded = config["features"]
    features, mask, record = input_features(graph, train.inputs, recorded.get("image", {}).get("key"),
                                            recorded.get("text", {}).get("key"))  # the folders it trained on
    for kind in ("image", "text"):
        if kind in config["features"] and record.get(kind, {}).get("cache_key") != config["features"][kind]["cache_key"]:
            raise InputError(f"the {kind} features in {graph.root} changed since the run was trained",
                             f"recompute them with `artkg features {graph.root}` using "
                             f"{config['features'][kind]['encoder']}, or retrain")
    return features, mask


def evaluate_cloir_run(run_dir: str | Path, graph_dir: str | Path | None = None, split: str | None = None) -> dict:
    """Recompute a CLOIR run's metrics (and the baseline) on its graph and split — or, with
    ``split="published"``, on the graph's published test artworks."""
    from artkg.models.run import check_eval_split, check_not_trained_on

    check_eval_split(split)
    config, model, run_split = load_cloir_run(run_dir)
    graph = run_graph(config, graph_dir, run_dir)
    features, mask = run_features(config, graph)
    train = CloirConfig.from_dict(config["train"])
    if split == "published":
        from artkg.models.published import published_artwork_split

        pub = published_artwork_split(graph, artwork_creators(graph), mask.numpy(), train.val_fraction, train.seed)
        check_not_trained_on(run_split.train, {"test": pub.test}, run_dir, "test")
        run_split = ArtworkSplit(run_split.kind, run_split.train, run_split.val, pub.test)
    metrics = evaluate_split(graph, model, features, mask, run_split, train)
    saved_path = Path(run_dir) / METRICS
    saved = json.loads(saved_path.read_text(encoding="utf-8")) if saved_path.exists() else {}
    # Every figure, exactly (the evaluation samples nothing): P@k, MRR, chance and the query counts.
    metrics["matches_saved"] = all(
        metrics[v][d][key] == saved.get(v, {}).get(d, {}).get(key)
        for v in ("model", "baseline") for d in ("degree_1", "degree_2") for key in metrics[v][d])
    metrics["split"] = split or "run"
    write_json(Path(run_dir) / "eval.json", metrics)  # per-setting results beside the saved metrics
    return metrics
