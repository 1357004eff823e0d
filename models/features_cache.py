"""The feature cache in the graph directory: its folders, their records, and the resumable writer.

Layout (one folder per encoder configuration, named after its :meth:`cache_key`)::

    GRAPH_DIR/features/<slug of the cache key>/
      meta.json            kind, encoder, cache_key, dim, node types, counts, id_map_hash, complete
      artwork.npy          image features: float32 [N_artworks, dim], zero rows where skipped
      artwork_mask.npy     bool [N_artworks]: which rows hold features
      skipped.json         [{"index", "id", "reason"}] for images that could not be used
      <node_type>.npy      text features: float32 [N, dim], L2-normalised
      progress.json        rows done so far (only while unfinished)

Arrays are written batch by batch into ``.npy`` memory maps, so memory stays bounded however many
images there are, and ``progress.json`` (written atomically after each flushed batch) lets an
interrupted run continue where it stopped. A finished folder says ``"complete": true``; running the
same encoder again on the same graph (same ``id_map_hash`` and inputs: each image file's path, size
and modification time) then does no work, another encoder gets its own folder, and a rebuilt graph

:mod:`artkg.models.features` computes the features (the encoders' runs); this module finds, reads
and writes the folders.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import re
import shutil
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

from artkg._version import __version__
from artkg.kg.atomic import write_json
from artkg.kg.errors import InputError, NotFoundError

log = logging.getLogger("artkg")

FEATURES = "features"
FORMAT_VERSION = 1
META, PROGRESS, SKIPPED = "meta.json", "progress.json", "skipped.json"


# ------------------------------------------------------------------ reading the cache
def feature_record(meta: dict) -> dict:
    """What a run records of the feature folder it read (``meta.json`` plus its ``key``)."""
    return {k: meta.get(k) for k in ("key", "kind", "encoder", "encoder_kwargs", "cache_key", "dim")}


def list_features(graph_dir: str | Path) -> list[dict]:
    """Every feature folder's ``meta.json`` (plus ``key``: the folder name, and ``path``), oldest first."""
    root = Path(graph_dir) / FEATURES
    found = []
    for meta_path in sorted(root.glob(f"*/{META}")) if root.is_dir() else []:
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        found.append({**meta, "key": meta_path.parent.name, "path": str(meta_path.parent),
                      "_mtime": meta_path.stat().st_mtime_ns})
    found.sort(key=lambda m: (m.get("completed") or m.get("created") or "", m["_mtime"]))
    return [{k: v for k, v in m.items() if k != "_mtime"} for m in found]


def load_features(graph_dir: str | Path, kind: str = "image", key: str | None = None):
    """Load finished features: for ``kind="image"`` ``(features [N, d], mask [N])`` as tensors, for
    ``kind="text"`` ``{node_type: features [N_t, d]}``, for ``kind="joint"`` the numpy arrays of
    :func:`artkg.models.joint_features.load_joint_features`.

    ``key`` is a folder name, a cache key or an encoder name; ``None`` takes the most recent
    complete folder of that kind.
    """
    if kind == "joint":  # several arrays per artwork: see artkg.models.joint_features
        from artkg.models.joint_features import load_joint_features

        return load_joint_features(graph_dir, key)
    meta = feature_meta(graph_dir, kind, key)
    folder = Path(meta["path"])
    counts = meta.get("graph_counts", {})  # nodes of a rebuild that kept the ids and appended nodes
    if kind == "image":
        feats = _load_array(folder / "artwork.npy")
        mask = _load_array(folder / "artwork_mask.npy")
        feats, mask = _pad_rows(feats, counts.get("artwork")), _pad_rows(mask, counts.get("artwork"))
        return torch.from_numpy(feats), torch.from_numpy(mask)
    return {t: torch.from_numpy(_pad_rows(_load_array(folder / f"{t}.npy"), counts.get(t))) for t in meta["node_types"]}


def _pad_rows(array: np.ndarray, rows: int | None) -> np.ndarray:
    """Zero rows (mask False) for the nodes a rebuild appended after these features were computed."""
    if rows is None or rows <= len(array):
        return array
    return np.concatenate([array, np.zeros((rows - len(array),) + array.shape[1:], dtype=array.dtype)])


def feature_meta(graph_dir: str | Path, kind: str = "image", key: str | None = None) -> dict:
    """The ``meta.json`` (plus ``key`` and ``path``) of the folder :func:`load_features` reads."""
    from artkg.kg.graphdir import GraphDir

    if kind not in ("image", "text", "joint"):
        raise InputError(f"unknown feature kind {kind!r}", "use 'image', 'text' or 'joint'")
    manifest = GraphDir(graph_dir).manifest()
    everything = list_features(graph_dir)
    metas = [m for m in everything if m.get("kind") == kind and m.get("complete")]
    if key is not None:
        metas = [m for m in metas if key in (m["key"], m.get("cache_key")) or _norm(key) == _norm(m.get("encoder", ""))]
    if not metas:
        have = ", ".join(f"{m['key']} ({m.get('kind')}{'' if m.get('complete') else ', unfinished'})"
                         for m in everything) or "none"
        wanted = f"{kind} features" + (f" matching {key!r}" if key else "")
        raise NotFoundError(f"no complete {wanted} in {graph_dir} (available: {have})",
                            f"compute them with `artkg features {graph_dir}`")
    meta = metas[-1]
    from artkg.kg.ids import id_map_compatible

    if not id_map_compatible(manifest, meta.get("id_map_hash")):
        raise InputError(f"the features in {meta['path']} were computed on an earlier build of this graph",
                         f"rerun `artkg features {graph_dir}` to recompute them")
    return {**meta, "graph_counts": manifest.get("counts", {}).get("nodes", {})}


def feature_slug(cache_key: str) -> str:
    """A folder name for a cache key: readable encoder and model, plus a hash of the whole key."""
    readable = "-".join(cache_key.split(":")[:2])
    readable = re.sub(r"[^A-Za-z0-9._-]+", "-", readable).strip("-.")[:60] or "features"
    return f"{readable}-{hashlib.sha256(cache_key.encode()).hexdigest()[:10]}"


# ------------------------------------------------------------------ writing the cache
class _Run:
    """One encoder over one graph: cache check, resumable streaming writes, meta.json."""

    kind = ""

    def __init__(self, graph, encoder, encoder_kwargs, device: torch.device, batch_size: int, progress: bool):
        self.graph, self.encoder, self.device = graph, encoder, device
        self.batch_size, self.progress = int(batch_size), progress
        self.encoder_kwargs = encoder_kwargs or {}
        self.cache_key = encoder.cache_key()
        self.folder = graph.root / FEATURES / feature_slug(self.cache_key)
        self.id_map_hash = graph.manifest.get("id_map_hash")

    # subclasses: what to encode and how
    def counts(self) -> dict[str, int]:
        raise NotImplementedError

    def inputs_hash(self) -> str:
        raise NotImplementedError

    def encode(self, arrays: dict[str, np.ndarray], rows: dict[str, int], save: Callable[[], None]) -> None:
        raise NotImplementedError

    def check_inputs(self) -> None:
        """Raise an InputError before anything is written when there is nothing to encode."""

    def finish_meta(self, arrays: dict[str, np.ndarray]) -> dict:
        return {}

    # ------------------------------------------------------------------
    def run(self) -> dict:
        t0 = time.perf_counter()
        counts = self.counts()
        identity = {"cache_key": self.cache_key, "id_map_hash": self.id_map_hash,
                    "inputs_hash": self.inputs_hash(), "format_version": FORMAT_VERSION}
        old = _read_json(self.folder / META)
        if old is not None and any(old.get(k) != v for k, v in identity.items()):
            why = "the graph was rebuilt" if old.get("id_map_hash") != self.id_map_hash else "its inputs changed"
            log.info("recomputing %s: %s since it was written", self.folder, why)
            shutil.rmtree(self.folder)
            old = None
        if old is not None and old.get("complete"):
            log.info("%s features are cached in %s", self.kind, self.folder)
            return self.summary(old, cached=True, resumed_from=None, seconds=time.perf_counter() - t0)

        self.check_inputs()
        self.folder.mkdir(parents=True, exist_ok=True)
        meta = {"kind": self.kind, "encoder": self.encoder.kind or type(self.encoder).__name__,
                "encoder_class": f"{type(self.encoder).__module__}.{type(self.encoder).__qualname__}",
                "encoder_kwargs": json.loads(json.dumps(self.encoder_kwargs, default=str)),
                **identity, "dim": int(self.encoder.dim), "node_types": list(counts), "counts": counts,
                "artkg_version": __version__,
                "created": (old or {}).get("created") or _now(), "complete": False}
        write_json(self.folder / META, meta)
        rows = (_read_json(self.folder / PROGRESS) or {}).get("rows", {})
        arrays = {}
        for name, n in counts.items():
            arrays[name] = _open_array(self.folder / f"{name}.npy", (n, meta["dim"]), np.float32)
            if arrays[name] is None:  # missing or not the expected shape: start that array afresh
                rows[name] = 0
                arrays[name] = _create_array(self.folder / f"{name}.npy", (n, meta["dim"]), np.float32)
        self.rows = {name: min(int(rows.get(name, 0)), n) for name, n in counts.items()}
        resumed = sum(self.rows.values())
        if resumed:
            log.info("resuming %s features in %s after %d rows", self.kind, self.folder, resumed)

        def save() -> None:  # after each batch: data first, then the progress that vouches for it
            for array in arrays.values():
                array.flush()
            self.save_extra()
            write_json(self.folder / PROGRESS, {"rows": self.rows}, indent=None)

        self.encode(arrays, self.rows, save)
        save()
        meta.update(self.finish_meta(arrays), complete=True, completed=_now())
        write_json(self.folder / META, meta)
        (self.folder / PROGRESS).unlink(missing_ok=True)
        return self.summary(meta, cached=False, resumed_from=resumed or None, seconds=time.perf_counter() - t0)

    def save_extra(self) -> None:
        pass

    def summary(self, meta: dict, cached: bool, resumed_from: int | None, seconds: float) -> dict:
        out = {k: meta.get(k) for k in ("kind", "encoder", "cache_key", "dim", "node_types", "counts")}
        out.update(key=self.folder.name, path=str(self.folder), cached=cached, resumed_from=resumed_from,
                   seconds=round(seconds, 3))
        if self.kind == "image":
            skipped = _read_json(self.folder / SKIPPED) or []
            out.update(encoded=meta.get("encoded"), skipped=len(skipped), skipped_examples=skipped[:5])
        return out


# ------------------------------------------------------------------ small helpers
def _norm(name: str) -> str:
    return name.lower().replace("-", "").replace("_", "").replace(" ", "")


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="microseconds")


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _create_array(path: Path, shape: tuple, dtype) -> np.ndarray:
    return np.lib.format.open_memmap(path, mode="w+", dtype=dtype, shape=shape)


def _open_array(path: Path, shape: tuple, dtype) -> np.ndarray | None:
    """Reopen a partly written array for resuming, or ``None`` when it is missing or does not fit."""
    if not path.exists():
        return None
    try:
        array = np.lib.format.open_memmap(path, mode="r+")
    except (OSError, ValueError):
        return None
    return array if array.shape == shape and array.dtype == np.dtype(dtype) else None


def _load_array(path: Path) -> np.ndarray:
    # Memory-map (no pickle), then copy into memory so the tensor owns writable storage.
    return np.array(np.load(path, mmap_mode="r", allow_pickle=False))


def import_features(graph_dir: str | Path, embeddings: str | Path, ids: str | Path | None = None,
                    name: str = "imported") -> dict:
    """Attach precomputed image features (e.g. UGallery's visual embeddings) as a feature set.

    ``embeddings``: a ``.npy`` array ``[N, d]`` with ``ids`` a text file of N artwork ids (IRIs or
    local names, one per line), or a ``.npz`` holding ``embeddings`` and ``ids``. Read without
    pickle. Artworks without a row get a zero row and mask False; ids not in the graph are counted."""
    from artkg.kg.atomic import write_json
    from artkg.kg.graph import load_graph

    path = Path(embeddings)
    if not path.is_file():
        raise InputError(f"no embeddings file at {path}", "give a .npy array (with --embedding-ids) or a .npz")
    try:
        if path.suffix == ".npz":
            with np.load(path, allow_pickle=False) as z:
                if "embeddings" not in z or "ids" not in z:
                    raise InputError(f"{path} lacks the arrays embeddings and ids (it has {', '.join(z.files)})",
                                     "save it with np.savez(path, embeddings=X, ids=np.array(ids))")
                array, names = z["embeddings"], [str(x) for x in z["ids"]]
        else:
            array = np.load(path, allow_pickle=False)
            if ids is None:
                raise InputError(f"{path} has no artwork ids", "pass the ids file (one artwork id per line) too")
            names = [line.strip() for line in Path(ids).read_text(encoding="utf-8").splitlines() if line.strip()]
    except (ValueError, OSError) as exc:
        raise InputError(f"cannot read the embeddings {path} ({str(exc).splitlines()[0][:100]})",
                         "give a numeric .npy/.npz array (object arrays are refused: no pickle)") from None
    if array.ndim != 2 or len(array) != len(names):
        raise InputError(f"{path} holds {array.shape} embeddings for {len(names)} ids",
                         "give one row per id: an array [N, d] and N ids")
    graph = load_graph(graph_dir)
    iris = graph.iris.get("artwork", [])
    index = {iri: i for i, iri in enumerate(iris)}
    index.update({iri.rsplit("/", 1)[-1]: i for i, iri in enumerate(iris)})
    rows = np.array([index.get(x, -1) for x in names])
    if (rows < 0).all():
        raise InputError(f"none of the {len(names)} embedding ids is an artwork of {graph_dir}",
                         "the ids must be the graph's artwork ids (e.g. the inventory's artwork_id_hash)")
    feats = np.zeros((len(iris), array.shape[1]), dtype=np.float32)
    mask = np.zeros(len(iris), dtype=bool)
    feats[rows[rows >= 0]] = array[rows >= 0]
    mask[rows[rows >= 0]] = True
    digest = hashlib.sha256(feats.tobytes()).hexdigest()[:16]
    cache_key = f"{name}:{path.name}:{digest}"
    folder = Path(graph.root) / FEATURES / feature_slug(cache_key)
    folder.mkdir(parents=True, exist_ok=True)
    np.save(folder / "artwork.npy", feats)
    np.save(folder / "artwork_mask.npy", mask)
    now = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    meta = {"kind": "image", "encoder": name, "encoder_class": "precomputed", "encoder_kwargs": {"file": str(path)},
            "cache_key": cache_key, "id_map_hash": graph.manifest.get("id_map_hash"), "inputs_hash": digest,
            "format_version": FORMAT_VERSION, "dim": int(array.shape[1]), "node_types": ["artwork"],
            "counts": {"artwork": len(iris)}, "created": now, "complete": True, "completed": now,
            "encoded": int(mask.sum()), "skipped": int(len(iris) - mask.sum()), "normalized": False,
            "unknown_ids": int((rows < 0).sum())}
    write_json(folder / "meta.json", meta)
    return {**meta, "key": folder.name, "path": str(folder)}
