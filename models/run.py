"""A run directory: everything needed to evaluate a trained model again and to predict with it.

Layout::

    RUN/
      config.json          artkg_version, format_version, model name and spec, the TrainConfig,
                           graph (path, id_map_hash), features (encoder, options, cache key), classes
      model.safetensors    the weights (and buffers: feature statistics, class embeddings)
      split.json           train / val / test artwork indices and the zero-shot classes
      metrics.json         top-1, top-k, macro-F1 and per-class metrics per task and part
      history.json         loss, learning rate and validation top-1 per epoch

Loading reads JSON and safetensors only (nothing is unpickled); ``config.json`` is written last,
so a directory without it is an unfinished run.
"""
from __future__ import annotations

import datetime as dt
import logging
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import torch

from artkg._version import __version__
from artkg.kg.atomic import atomic_path, write_json
from artkg.kg.errors import InputError

log = logging.getLogger("artkg")

FORMAT_VERSION = 1
CONFIG, WEIGHTS, SPLIT, METRICS, HISTORY = "config.json", "model.safetensors", "split.json", "metrics.json", "history.json"


@dataclass
class Run:
    path: Path
    config: dict  # the whole config.json
    model: object  # ArtworkClassifier, in eval mode
    split: object  # Split
    metrics: dict

    @property
    def train_config(self):
        from artkg.models.train_config import TrainConfig

        return TrainConfig.from_dict(self.config["train"], f"{self.path / CONFIG}")


def save_run(out: str | Path, result) -> Path:
    """Write a :class:`~artkg.models.train.TrainResult` as a run directory; returns its path."""
    final = check_out(out)
    with staged_run(final) as out:
        _write_run(out, result)
    log.info("run written to %s", final)
    return final


def _write_run(out: Path, result) -> None:
    from safetensors.torch import save_file

    from artkg.models.zoo import model_name

    data, model = result.data, result.model
    state = {k: v.detach().cpu().contiguous().clone() for k, v in model.state_dict().items()}
    with atomic_path(out / WEIGHTS) as tmp:
        save_file(state, str(tmp), metadata={"artkg": __version__, "format_version": str(FORMAT_VERSION)})
    split = data.split.to_json()
    split["unseen_class_names"] = data.summary()["unseen_classes"]
    write_json(out / SPLIT, split, indent=None)
    write_json(out / METRICS, result.metrics)
    write_json(out / HISTORY, result.history, indent=None)
    graph = data.graph
    from artkg.models.features_cache import feature_record

    features = {"image": feature_record(data.feature_meta)}
    if getattr(data, "text_meta", None):
        features["text"] = feature_record(data.text_meta)
    config = {
        "artkg_version": __version__,
        "format_version": FORMAT_VERSION,
        "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "model": model_name(type(model)),
        "model_spec": _jsonable(model.spec),
        "train": result.config.to_dict(),
        "graph": {"path": str(graph.root.resolve()), "id_map_hash": graph.manifest.get("id_map_hash"),
                  "source": graph.manifest.get("source", {}).get("kind")},
        "features": features,
        "tasks": {t.name: {"class_type": t.class_type, "classes": [{"iri": iri, "label": label} for iri, label in
                                                                   zip(t.class_iris, t.class_names)],
                           "unseen": data.split.unseen_classes.get(t.name, [])} for t in data.tasks},
        # Early stopping may restore an epoch before the tower was unfrozen: then it was not trained.
        "tower_trained": bool(result.metrics.get("training", {}).get("image_tower", {}).get("trained", False)),
    }
    write_json(out / CONFIG, config)


def check_out(out: str | Path, overwrite: bool = True) -> Path:
    """A run may go to a new or empty folder, an unfinished run's folder, or — with ``overwrite`` —
    replace a finished run; nothing else is overwritten."""
    from artkg.kg.lock import LOCK, OWNER

    out = Path(out)
    if out.exists() and not out.is_dir():
        raise InputError(f"{out} exists and is not a run directory", "choose another --out (or an empty folder)")
    if not out.exists():
        return out
    if (out / CONFIG).exists():
        if not overwrite:
            try:
                import json

                old = json.loads((out / CONFIG).read_text(encoding="utf-8"))
                what = f"a finished {old.get('model', '?')} run from {old.get('created', '?')}"
            except (OSError, ValueError):
                what = "a finished run"
            raise InputError(f"{out} already holds {what}",
                             "pass --overwrite to replace it (it stays intact until the new run is written), "
                             "or choose another --out")
        return out
    mine = {CONFIG, WEIGHTS, SPLIT, METRICS, HISTORY, LOCK, OWNER, "eval.json", "checkpoint.pt"}  # checkpoint.pt: an unfinished signatures run
    if any(p.name not in mine and not p.name.startswith(".staging-") for p in out.iterdir()):
        raise InputError(f"{out} exists and is not a run directory", "choose another --out (or an empty folder)")
    return out


@contextmanager
def run_directory(out: str | Path, overwrite: bool = False) -> Iterator[Path]:
    """Hold ``out``'s lock for a whole training (a second one into the same folder fails at once)
    after checking that the run may be written there."""
    from artkg.kg.lock import output_lock

    check_out(out, overwrite)  # before taking the lock: a refused run leaves no folder behind
    with output_lock(out, what="--out") as root:
        check_out(root, overwrite)
        yield root


@contextmanager
def staged_run(out: Path) -> Iterator[Path]:
    """A folder inside ``out`` to write a run's files into; on success they replace the old run's,
    ``config.json`` last (until then the old run stays whole; a failure leaves it untouched)."""
    import os
    import secrets
    import shutil

    out.mkdir(parents=True, exist_ok=True)
    staging = out / f".staging-{os.getpid()}-{secrets.token_hex(3)}"
    staging.mkdir()
    try:
        yield staging
        (out / CONFIG).unlink(missing_ok=True)  # the run is unfinished for the moment of the swap
        for p in sorted(staging.iterdir(), key=lambda p: p.name == CONFIG):
            os.replace(p, out / p.name)
        (out / "eval.json").unlink(missing_ok=True)  # an evaluation of the replaced run
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _jsonable(value):
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


def read_config(run_dir: str | Path) -> dict:
    """``config.json`` of a run, after checking that this artkg can read the run."""
    import json

    run_dir = Path(run_dir)
    path = run_dir / CONFIG
    if not run_dir.is_dir():
        raise InputError(f"no run directory at {run_dir}", "train one with `artkg train graphclip GRAPH_DIR --out RUN`")
    if not path.exists():
        raise InputError(f"{run_dir} is not a finished run (no {CONFIG})",
                         "train one with `artkg train graphclip GRAPH_DIR --out RUN`")
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise InputError(f"{path} is not valid JSON: {exc}", "retrain the run") from exc
    if config.get("format_version") != FORMAT_VERSION:
        raise InputError(f"{run_dir} was written by artkg {config.get('artkg_version', '?')} in run format "
                         f"{config.get('format_version', '?')}; this artkg {__version__} reads format {FORMAT_VERSION}",
                         "retrain it with this version (`artkg train …`)")
    return config


def load_run(run_dir: str | Path, device: str | torch.device = "cpu") -> Run:
    """Rebuild the model from ``config.json`` and load its weights from safetensors."""
    import json

    from safetensors.torch import load_file

    from artkg.models.tasks import Split
    from artkg.models.zoo import build_model

    run_dir = Path(run_dir)
    config = read_config(run_dir)
    if config.get("model") == "cloir":
        raise InputError(f"{run_dir} is a CLOIR influence-retrieval run, not a classifier",
                         f"use it with `artkg influence GRAPH_DIR --artwork ID --run {run_dir}` "
                         f"(`artkg eval {run_dir}` re-evaluates it)")
    spec = dict(config["model_spec"])
    tower_spec = spec.pop("image_tower", None)
    model = build_model(config["model"], spec)
    if tower_spec is not None:
        from artkg.models.tower import rebuild_tower

        model.attach_image_tower(rebuild_tower(tower_spec), tower_spec)
    weights = run_dir / WEIGHTS
    if not weights.exists():
        raise InputError(f"{run_dir} has no {WEIGHTS}", "retrain the run")
    try:
        state = load_file(str(weights))
    except Exception as exc:  # a truncated or foreign file (safetensors' SafetensorError)
        raise InputError(f"{weights} cannot be read ({type(exc).__name__}: {str(exc).splitlines()[0][:120]})",
                         "retrain the run (`artkg train … --overwrite`)") from None
    try:
        model.load_state_dict(state, strict=True)
    except (RuntimeError, OSError) as exc:
        raise InputError(f"the weights in {weights} do not fit the model in {CONFIG}: {str(exc).splitlines()[0]}",
                         "retrain the run") from exc
    model.to(device).eval()
    split = Split.from_json(json.loads((run_dir / SPLIT).read_text(encoding="utf-8")))
    metrics = json.loads((run_dir / METRICS).read_text(encoding="utf-8")) if (run_dir / METRICS).exists() else {}
    return Run(run_dir, config, model, split, metrics)


def run_graph(config: dict, graph_dir: str | Path | None = None, run_path: str | Path = "the run"):
    """The graph a run (its ``config.json``) was trained on — or ``graph_dir``, the same graph moved —
    checked by its id-map hash."""
    from artkg.kg.graph import load_graph

    return check_run_graph(config, load_graph(graph_dir or config["graph"]["path"]), run_path)


def check_run_graph(config: dict, graph, run_path: str | Path = "the run",
                    fix: str = "pass the original graph directory with --graph"):
    """``graph`` if it is the one the run was trained on (same id-map hash, or a rebuild that kept its
    ids and appended nodes), else a clear error."""
    from artkg.kg.ids import id_map_compatible

    if not id_map_compatible(graph.manifest, config["graph"]["id_map_hash"]):
        raise InputError(f"the graph at {graph.root} is not the one {run_path} was trained on (its ids differ)", fix)
    return graph


def run_training_data(run: Run, graph):
    """The run's :class:`~artkg.models.data.TrainingData` (its split, features, leakage-free graph),
    after checking that the image features are still the ones it was trained on."""
    from artkg.models.data import TrainingData
    from artkg.models.features_cache import feature_meta, load_features

    config, train_config = run.config, run.train_config
    image = config["features"]["image"]
    meta = feature_meta(graph.root, "image", image["key"])
    if meta.get("cache_key") != image["cache_key"]:
        raise InputError(f"the image features {image['key']} in {graph.root} changed since training",
                         f"recompute them with `artkg features {graph.root}` using {image['encoder']}")
    features, mask = load_features(graph.root, "image", image["key"])
    text = None
    if "text" in config["features"]:
        text = load_features(graph.root, "text", config["features"]["text"]["key"])
    # Runs written before unseen_mode existed showed the training split's held-out labels (transductive).
    unseen_mode = config["train"].get("unseen_mode", "transductive")
    data = TrainingData(graph, list(config["tasks"]), features, mask, meta, split=run.split, text_features=text,
                        class_inputs=train_config.class_inputs, node_inputs=train_config.node_inputs,
                        unseen_mode=unseen_mode)
    gnn = getattr(run.model, "gnn", None)
    if hasattr(gnn, "grow_embeddings"):  # a graph rebuilt with --keep-ids may have appended nodes
        gnn.grow_embeddings(data.num_nodes)
    return data


def evaluate_run(run_dir: str | Path, graph_dir: str | Path | None = None, device: str = "auto",
                 progress: bool = False, split: str | None = None) -> dict:
    """Recompute a run's metrics on its graph (or ``graph_dir``, the same graph moved) with its split
    — or, with ``split="published"``, on the graph's published validation and test artworks."""
    from artkg.models.features import resolve_device
    from artkg.models.train_eval import evaluate
    from artkg.models.train_loop import Trainer

    check_eval_split(split)
    dev = resolve_device(device)
    run = load_run(run_dir, dev)
    graph = run_graph(run.config, graph_dir, run.path)
    data = run_training_data(run, graph)
    if split == "published":
        run.split = _published_eval_split(run, data)
        data = run_training_data(run, graph)
    trainer = Trainer(run.model, data, run.train_config, dev, progress)
    if trainer.tower is not None and run.config.get("tower_trained", True):
        trainer.tower.activate_all()
    metrics = evaluate(trainer, data, run.train_config.top_k)
    metrics["split"] = split or "run"
    metrics["matches_saved"] = _same_metrics(metrics, run.metrics)
    return metrics


EVAL_SPLITS = ("run", "published")


def check_eval_split(split: str | None) -> None:
    if split not in (None, *EVAL_SPLITS):
        raise InputError(f"unknown evaluation split {split!r}",
                         "use run (the run's own split) or published (the graph's splits.json)")


def check_not_trained_on(trained, parts: dict, run_path, what: str = "validation or test") -> None:
    """A clear error where a run trained on artworks it would now be scored on."""
    import numpy as np

    trained = np.asarray(trained)
    n = int(sum(np.isin(np.asarray(v), trained).sum() for v in parts.values()))
    if n:
        raise InputError(f"{run_path} was trained on {n} artworks of the graph's published {what} part",
                         "evaluate it on its own split (drop --split published), or retrain it with --split published")


def _published_eval_split(run: Run, data):
    """The run's training part with the published validation and test parts (never overlapping)."""
    from artkg.models.published import published_split
    from artkg.models.tasks import Split

    labels = {t.name: t.labels for t in data.tasks}
    pub, _ = published_split(data.graph, labels, {t.name: t.num_classes for t in data.tasks},
                             data.feature_mask.numpy().astype(bool), seed=run.train_config.seed, val_fraction=0.1,
                             unseen_classes=run.split.unseen_classes)
    check_not_trained_on(run.split.train.numpy(), {"val": pub.val.numpy(), "test": pub.test.numpy()}, run.path)
    return Split(run.split.train, pub.val, pub.test, run.split.unseen_classes)


def _same_metrics(new: dict, saved: dict, tol: float = 1e-3) -> bool:
    for task, parts in new.items():
        if not isinstance(parts, dict) or task not in saved:
            continue
        for part, values in parts.items():
            for key in ("top1", "macro_f1"):
                if key in values and abs(values[key] - saved[task].get(part, {}).get(key, -1)) > tol:
                    return False
    return True


def predict_images(run_dir: str | Path | Run, images: list[str | Path], top_k: int = 5, device: str = "cpu",
                   batch_size: int = 32) -> list[dict]:
    """Top-k classes per task for image files outside the graph (the image-only path).

    The images are encoded with the encoder recorded in the run (the same weights and
    preprocessing as the training features; the fine-tuned tower where the run has one).
    """
    from artkg.models.encoders_image import encoder_for_features
    from artkg.models.images import load_image

    run = run_dir if isinstance(run_dir, Run) else load_run(run_dir, device)
    model = run.model
    if model.image_tower is not None:
        encoder = model.image_tower
    else:
        encoder = encoder_for_features(run.config["features"]["image"])
    encoder = encoder.to(device).eval()
    paths = [Path(p) for p in images]
    for path in paths:
        if not path.is_file():
            raise InputError(f"no image file at {path}", "pass existing image files (PNG, JPEG …)")
    results = []
    with torch.no_grad():
        for start in range(0, len(paths), batch_size):
            chunk = paths[start:start + batch_size]
            pixels = []
            for path in chunk:
                try:
                    pixels.append(encoder.preprocess(load_image(path, encoder.image_size)))
                except ValueError as exc:
                    raise InputError(f"cannot read the image {path}: {exc}", "pass a readable image file") from exc
            feats = encoder(torch.stack(pixels).to(device)).float()
            logits = model.predict_features(feats)
            for i, path in enumerate(chunk):
                entry: dict = {"image": str(path), "predictions": {}}
                for task, task_logits in logits.items():
                    classes = run.config["tasks"][task]["classes"]
                    probs = task_logits[i].softmax(-1).cpu()
                    k = min(top_k, len(classes))
                    scores, idx = probs.topk(k)
                    entry["predictions"][task] = [
                        {"class": classes[j]["iri"], "label": classes[j]["label"], "score": round(float(s), 4)}
                        for s, j in zip(scores, idx.tolist())]
                results.append(entry)
    return results
