"""Recommender runs: train on a graph's interactions, evaluate time-ordered, save, reload, recommend.

A run directory (same layout and guarantees as the classifiers': one writer, staged, ``config.json``
last) holds ``config.json`` (the :class:`RecConfig`, the model's spec, the graph and its id map),
``model.safetensors`` (the model's tensors — never a pickle), ``metrics.json`` and ``split.json``.
``artkg eval RUN`` rebuilds the split from the graph and the config and recomputes the metrics; they
match ``metrics.json`` exactly (every model is deterministic on CPU).
"""
from __future__ import annotations

import datetime as dt
import json
import logging
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from artkg.kg.errors import InputError
from artkg.models.recsys.base import Recommender, TrainData
from artkg.models.recsys.config import RecConfig
from artkg.models.recsys.protocol import Split, TimeOrderedSplit, item_context

log = logging.getLogger("artkg")
TASK = "recommend"


@dataclass
class RecResult:
    run_dir: Path | None
    config: RecConfig
    metrics: dict
    model: Recommender


def make_model(config: RecConfig) -> Recommender:
    from artkg.models.options import check_call_kwargs
    from artkg.models.recsys.zoo import build_recommender, recommender_class

    cls = recommender_class(config.model)
    kwargs = check_call_kwargs(cls, dict(config.model_kwargs), f"model_kwargs of {config.model}")
    return build_recommender(config.model, **kwargs)


def graph_inputs(kg, config: RecConfig, needs_features: bool) -> tuple[np.ndarray | None, str | None]:
    """The frozen image features (z-scoring is the model's) and the folder they came from."""
    from artkg.models.features_cache import feature_meta, load_features

    from artkg.kg.errors import NotFoundError

    try:
        meta = feature_meta(kg.root, "image", config.features)
    except (InputError, NotFoundError):
        if needs_features or config.features:
            raise InputError(f"{config.model} needs image features and {kg.root} has none"
                             + (f" matching {config.features!r}" if config.features else ""),
                             f"compute them with `artkg features {kg.root}` (or train a model without them: "
                             "popularity, bpr_mf, curatornet_kg)") from None
        return None, None
    feats, _mask = load_features(kg.root, "image", meta["key"])
    return feats.numpy().astype(np.float32), meta["key"]


def resolved(config: RecConfig, model: Recommender) -> RecConfig:
    """``config`` with the model's defaults filled in: the interaction kind, and the cut-offs k."""
    from dataclasses import replace

    kind = config.kind or model.default_kind
    k = config.k or ([9, 20] if kind == "rated" else [10, 20, 50, 100])
    return replace(config, kind=kind, k=list(k))


def make_split(kg, config: RecConfig, features: np.ndarray | None, content: dict | None = None):
    """The time-ordered split of purchases, or for ``kind="rated"`` the held-out-ratings split."""
    context, sizes = item_context(kg)
    if config.kind == "rated":
        from artkg.models.recsys.ratings import RatedSplit, RatingSplit

        it = kg.interactions.of_kind("rated")
        if not np.isfinite(it.rating).any():  # a collection nobody rated yet: fit for --rate, evaluate nothing
            log.warning("%s has no ratings: the engine is fitted for `artkg recommend RUN --rate …` but not evaluated",
                        kg.root)
            empty = np.zeros(0, dtype=np.int64)
            return RatedSplit(TrainData(n_users=it.n_users, n_items=it.n_items, user=empty, item=empty,
                                        time=np.zeros(0), basket=empty, features=features, context=context,
                                        context_sizes=sizes, seed=config.seed, **(content or {})))
        method = RatingSplit(profile_fraction=config.profile_fraction, relevant_min=config.relevant_min)
        return method.split(kg.interactions, features=features, context=context, context_sizes=sizes,
                            seed=config.seed, **(content or {}))
    method = TimeOrderedSplit(kind=config.kind, cutoff_quantile=config.cutoff_quantile, min_baskets=config.min_baskets)
    split = method.split(kg.interactions, features=features, context=context, context_sizes=sizes, seed=config.seed)
    for key, value in (content or {}).items():
        setattr(split.train, key, value)
    return split


def run_evaluate(model: Recommender, split, ks, progress: bool = False) -> dict:
    """:func:`evaluate` (purchases) or :func:`~artkg.models.recsys.ratings.evaluate_rated` (ratings)."""
    from artkg.models.recsys.ratings import RatedSplit, evaluate_rated

    if isinstance(split, RatedSplit):
        return evaluate_rated(model, split, ks, progress)
    return evaluate(model, split, ks, progress)


def evaluate(model: Recommender, split: Split, ks=(10, 20, 50, 100), progress: bool = False,
             visitor: int | None = None) -> dict:
    """Average per-user metrics of ``model`` on the split's test baskets (AUC, MRR, P/R/nDCG@k).

    ``visitor=n``: cold start — each test user is scored as a new visitor (user ``-1``, no trained user
    vector) who liked only the last ``n`` works of the profile; the candidates stay the same."""
    from tqdm.auto import tqdm

    from artkg.models.recsys.metrics import average, rank_metrics

    per_user = []
    for case in tqdm(split.cases, desc="evaluate", disable=not progress, leave=False):
        user, profile = (case.user, case.profile) if visitor is None else (-1, case.profile[-visitor:])
        candidates, relevant = case.arrays()
        scores = np.asarray(model.score(user, profile, candidates), dtype=np.float64)
        per_user.append(rank_metrics(scores, relevant, ks=tuple(ks)))
    return {k: (round(float(v), 6) if isinstance(v, float) else v) for k, v in average(per_user).items()}


def train_recommender(graph_dir: str | Path, config: RecConfig | None = None, out: str | Path | None = None,
                      progress: bool = False, overwrite: bool = False) -> RecResult:
    """Fit ``config.model`` on the interactions before the cutoff, evaluate on the test baskets and
    (with ``out``) write the run directory."""
    from artkg.kg.graph import load_graph

    config = config or RecConfig()
    if out is not None:
        from artkg.models.run import run_directory

        with run_directory(out, overwrite) as root:
            return _train(load_graph(graph_dir), config, Path(root), progress)
    return _train(load_graph(graph_dir), config, None, progress)


def _train(kg, config: RecConfig, out: Path | None, progress: bool) -> RecResult:
    import torch

    if config.threads:
        torch.set_num_threads(config.threads)
    from artkg.models.recsys.inputs import content_inputs

    model = make_model(config)
    config = resolved(config, model)
    features, feature_key = graph_inputs(kg, config, model.needs_features)
    content, keys = content_inputs(kg, config, model)
    split = make_split(kg, config, features, content)
    log.info("split: %s", split.summary())
    model.fit(split.train, progress=progress)
    metrics = {"model": config.model, **run_evaluate(model, split, config.k, progress), "split": split.summary()}
    if getattr(model, "report", None):
        metrics["report"] = model.report
    if out is not None:
        _write(out, kg, config, model, metrics, split, feature_key, keys)
    return RecResult(out, config, metrics, model)


def _write(out: Path, kg, config: RecConfig, model: Recommender, metrics: dict, split: Split,
           feature_key: str | None, content_keys: dict | None = None) -> None:
    from safetensors.torch import save_file

    from artkg.kg.atomic import write_json
    from artkg import __version__
    from artkg.models.run import CONFIG, FORMAT_VERSION, METRICS, SPLIT, WEIGHTS, staged_run

    with staged_run(out) as staging:
        state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
        save_file(state, str(staging / WEIGHTS), metadata={"artkg": "recommender"})
        write_json(staging / METRICS, metrics)
        if hasattr(model, "write_extras"):  # e.g. early fusion's modality_gap.png
            model.write_extras(staging)
        write_json(staging / SPLIT, {"cutoff": split.cutoff, "test_users": [kg.iris["user"][c.user] for c in split.cases]})
        write_json(staging / CONFIG, {
            "artkg_version": __version__, "format_version": FORMAT_VERSION, "task": TASK, "model": config.model, "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "graph": {"path": str(Path(kg.root).resolve()), "id_map_hash": kg.manifest.get("id_map_hash"),
                      "source": kg.manifest.get("source", {}).get("kind")},
            "features": feature_key, **(content_keys or {}), "spec": model.spec(), "train": asdict(config)})


# ------------------------------------------------------------------ reading a run back
def load_recommender(run_dir: str | Path, graph_dir: str | Path | None = None):
    """``(model, config dict, graph)`` of a recommender run (weights via safetensors only)."""
    from safetensors.torch import load_file

    from artkg.models.recsys.zoo import build_recommender
    from artkg.models.run import WEIGHTS, read_config, run_graph

    cfg = read_config(run_dir)
    if cfg.get("task") != TASK:
        raise InputError(f"{run_dir} is not a recommender run (it is a {cfg.get('model', '?')} run)",
                         "train one with `artkg train curatornet GRAPH_DIR --out RUN`")
    graph = run_graph(cfg, graph_dir, run_dir)
    model = build_recommender(cfg["model"], **cfg.get("spec", {}))
    try:
        state = load_file(str(Path(run_dir) / WEIGHTS))
    except Exception as exc:  # safetensors' own error type
        raise InputError(f"{Path(run_dir) / WEIGHTS} cannot be read ({type(exc).__name__})",
                         f"retrain the run: `artkg train {cfg['model']} {graph.root} --out {run_dir} --overwrite`") from None
    model.load_state_dict(state)
    return model, cfg, graph


def evaluate_recommender_run(run_dir: str | Path, graph_dir: str | Path | None = None) -> dict:
    """Recompute a run's metrics on its graph (same split from the config) and compare with metrics.json."""
    from artkg.models.run import METRICS

    from artkg.models.recsys.inputs import content_inputs

    model, cfg, graph = load_recommender(run_dir, graph_dir)
    config = resolved(RecConfig.from_dict(cfg["train"], where=f"{run_dir}/config.json"), model)
    features = None
    if cfg.get("features"):
        from artkg.models.features_cache import load_features

        features = load_features(graph.root, "image", cfg["features"])[0].numpy().astype(np.float32)
    content, _ = content_inputs(graph, config, model, keys=cfg)
    split = make_split(graph, config, features, content)
    metrics = {"model": config.model, **run_evaluate(model, split, config.k), "split": split.summary()}
    saved = json.loads((Path(run_dir) / METRICS).read_text(encoding="utf-8"))
    metrics["matches_saved"] = all(saved.get(k) == v for k, v in metrics.items() if k != "matches_saved")
    return metrics
