"""Signature runs on disk: write, reload, re-evaluate, and export signatures as a feature set.

A run directory (the classifiers' layout and guarantees: one writer, staged, ``config.json`` last)::

    RUN/
      config.json         task "signatures", the SignatureConfig, the backbone's spec, the graph
      model.safetensors   the fine-tuned backbone (best validation epoch)
      split.json          the collection (artwork IRIs), its rows per part, the connections per part
      metrics.json        retrieval of held-out connections, pretrained and fine-tuned side by side
      history.json        loss, triplets, trained stages and validation mAP per epoch
      checkpoint.pt       only while training (a killed run resumes from it)

:func:`evaluate_signature_run` rebuilds both backbones and recomputes the metrics (they match on the
same device); :func:`export_signatures` writes the fine-tuned signature of every artwork as an image
feature folder ``GRAPH_DIR/features/signatures-<run name>`` that ``load_features(graph, "image", key)``
and the recommenders read.
"""
from __future__ import annotations

import datetime as dt
import json
import logging
import re
from pathlib import Path

import numpy as np

from artkg.kg.errors import InputError
from artkg.models.signatures.config import TASK, SignatureConfig

log = logging.getLogger("artkg")


def write_run(out: Path, kg, config: SignatureConfig, backbone, metrics: dict, history: list, works: np.ndarray,
              parts: dict, pairs: dict, negatives: np.ndarray) -> None:
    from safetensors.torch import save_file

    from artkg import __version__
    from artkg.kg.atomic import write_json
    from artkg.models.run import CONFIG, FORMAT_VERSION, HISTORY, METRICS, SPLIT, WEIGHTS, staged_run

    iris = kg.iris["artwork"]
    with staged_run(out) as staging:
        state = {k: v.detach().cpu().contiguous().clone() for k, v in backbone.state_dict().items()}
        save_file(state, str(staging / WEIGHTS), metadata={"artkg": __version__, "task": TASK})
        write_json(staging / SPLIT, {"works": [iris[i] for i in works.tolist()],
                                     "parts": {k: v.tolist() for k, v in parts.items()},
                                     "connections": {k: v.tolist() for k, v in pairs.items()},
                                     "explicit_negatives": negatives.tolist()}, indent=None)
        write_json(staging / METRICS, metrics)
        write_json(staging / HISTORY, history, indent=None)
        write_json(staging / CONFIG, {
            "artkg_version": __version__, "format_version": FORMAT_VERSION, "task": TASK, "model": TASK,
            "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "graph": {"path": str(Path(kg.root).resolve()), "id_map_hash": kg.manifest.get("id_map_hash"),
                      "source": kg.manifest.get("source", {}).get("kind")},
            "backbone": backbone.spec(), "train": config.to_dict()})
    log.info("signatures run written to %s", out)


def load_signature_run(run_dir, graph_dir=None, device="cpu", pretrained: bool = False):
    """``(backbone, config dict, graph)``; the fine-tuned weights (safetensors) unless ``pretrained``."""
    from safetensors.torch import load_file

    from artkg.models.run import WEIGHTS, read_config, run_graph
    from artkg.models.signatures.backbone import SignatureBackbone

    cfg = read_config(run_dir)
    if cfg.get("task") != TASK:
        raise InputError(f"{run_dir} is not a signatures run (it is a {cfg.get('model', '?')} run)",
                         "train one with `artkg train signatures GRAPH_DIR --out RUN`")
    graph = run_graph(cfg, graph_dir, run_dir)
    spec = cfg["backbone"]
    backbone = SignatureBackbone(spec["encoder"], spec["encoder_kwargs"])
    if backbone.cache_key() != spec["cache_key"]:
        raise InputError(f"this installation builds {spec['encoder']} differently from the run "
                         f"({backbone.cache_key()} ≠ {spec['cache_key']})",
                         "install the encoder weights the run was trained from, or retrain")
    if not pretrained:
        try:
            state = load_file(str(Path(run_dir) / WEIGHTS))
            backbone.load_state_dict(state, strict=True)
        except Exception as exc:  # a truncated or foreign file (safetensors' own error), or a mismatch
            raise InputError(f"{Path(run_dir) / WEIGHTS} cannot be loaded ({type(exc).__name__}: "
                             f"{str(exc).splitlines()[0][:120]})",
                             f"retrain the run: `artkg train signatures {graph.root} --out {run_dir} --overwrite`") from None
    return backbone.to(device).eval(), cfg, graph


def _collection_images(graph, iris: list[str], backbone, config: SignatureConfig, image_root=None):
    from artkg.models.images import resolve_image
    from artkg.models.signatures.train import Images

    paths = []
    for iri in iris:
        i = graph.index_of("artwork", iri)
        path, reason = resolve_image(graph.images[i] if i is not None and i < len(graph.images) else None,
                                     graph.root, image_root or config.image_root)
        if path is None:
            raise InputError(f"the image of {iri} is no longer available ({reason})",
                             "pass --image-root with the image files the run was trained on")
        paths.append(path)
    return Images(paths, backbone, config.cache_images_mb)


def evaluate_signature_run(run_dir, graph_dir=None, device: str = "auto", progress: bool = False) -> dict:
    """Recompute the pretrained and fine-tuned retrieval metrics; ``matches_saved`` says whether they
    equal ``metrics.json``'s."""
    from artkg.models.features import resolve_device
    from artkg.models.run import METRICS, SPLIT
    from artkg.models.signatures.train import compute_signatures, scores

    dev = resolve_device(device)
    run_dir = Path(run_dir)
    saved = json.loads((run_dir / METRICS).read_text(encoding="utf-8"))
    split = json.loads((run_dir / SPLIT).read_text(encoding="utf-8"))
    out: dict = {"task": TASK, "test": {}, "val": {}}
    for variant in ("pretrained", "fine_tuned"):
        backbone, cfg, graph = load_signature_run(run_dir, graph_dir, dev, pretrained=variant == "pretrained")
        config = SignatureConfig.from_dict(cfg["train"], where=f"{run_dir}/config.json")
        images = _collection_images(graph, split["works"], backbone, config)
        sig, _ = compute_signatures(backbone, images, config.eval_batch_size, dev, progress, variant)
        for part in ("test", "val"):
            pairs = np.asarray(split["connections"][part], dtype=np.int64).reshape(-1, 2)
            out[part][variant] = scores(sig, pairs, tuple(config.ks))
    if "val" not in saved:
        out.pop("val")
    out["matches_saved"] = all(out[p] == saved.get(p) for p in ("test", "val") if p in out)
    return out


def feature_key(run_dir) -> str:
    """``signatures-<run folder name>`` (characters outside ``A-Za-z0-9._-`` become ``-``)."""
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", Path(run_dir).resolve().name).strip("-.") or "run"
    return f"signatures-{name}"


def export_signatures(run_dir, graph_dir=None, image_root=None, device: str = "auto", progress: bool = False) -> dict:
    """Write the fine-tuned signature of every artwork (zero row, mask False where there is no usable
    image) to ``GRAPH_DIR/features/signatures-<run>``; returns the folder's meta plus ``key`` and ``path``."""
    import hashlib
    import os
    import shutil
    import tempfile

    from artkg.kg.atomic import write_json
    from artkg.kg.lock import output_lock
    from artkg.models.features import resolve_device
    from artkg.models.features_cache import FEATURES, FORMAT_VERSION, META, SKIPPED
    from artkg.models.signatures.train import Images, compute_signatures, locate

    dev = resolve_device(device)
    backbone, cfg, graph = load_signature_run(run_dir, graph_dir, dev)
    config = SignatureConfig.from_dict(cfg["train"], where=f"{run_dir}/config.json")
    works, paths, missing = locate(graph, image_root or config.image_root)
    n = graph.num_nodes("artwork")
    if not len(works):
        raise InputError(f"none of the {n} artwork images of {graph.root} is available locally",
                         "pass --image-root DIR with the image files")
    sig, bad = compute_signatures(backbone, Images(paths, backbone, 0), config.eval_batch_size, dev, progress,
                                  "signatures", tolerant=True)
    feats = np.zeros((n, backbone.dim), dtype=np.float32)
    mask = np.zeros(n, dtype=bool)
    ok = np.setdiff1d(np.arange(len(works)), list(bad))
    feats[works[ok]], mask[works[ok]] = sig[ok], True
    missing.update({int(works[i]): r for i, r in bad.items()})
    iris = graph.iris["artwork"]
    skipped = [{"index": i, "id": iris[i], "reason": r} for i, r in sorted(missing.items())]
    key = feature_key(run_dir)
    digest = hashlib.sha256(feats.tobytes()).hexdigest()[:16]
    now = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    meta = {"kind": "image", "encoder": "signatures", "encoder_class": "artkg.models.signatures.SignatureBackbone",
            "encoder_kwargs": {"run": str(Path(run_dir).resolve()), **cfg["backbone"]},
            "cache_key": f"signatures:{Path(run_dir).resolve()}:{digest}", "id_map_hash": graph.manifest.get("id_map_hash"),
            "inputs_hash": digest, "format_version": FORMAT_VERSION, "dim": int(backbone.dim), "node_types": ["artwork"],
            "counts": {"artwork": n}, "created": now, "complete": True, "completed": now, "encoded": int(mask.sum()),
            "skipped": len(skipped), "normalized": True}
    root = Path(graph.root) / FEATURES
    root.mkdir(parents=True, exist_ok=True)
    with output_lock(graph.root, what="graph directory"):
        tmp = Path(tempfile.mkdtemp(prefix=f".{key}.", dir=root))
        try:
            np.save(tmp / "artwork.npy", feats)
            np.save(tmp / "artwork_mask.npy", mask)
            write_json(tmp / SKIPPED, skipped, indent=None)
            write_json(tmp / META, meta)
            final = root / key
            if final.exists():
                shutil.rmtree(final)
            os.replace(tmp, final)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    if skipped:
        log.warning("%d artworks have no signature (first: %s: %s)", len(skipped), skipped[0]["id"], skipped[0]["reason"])
    return {**meta, "key": key, "path": str(root / key)}
