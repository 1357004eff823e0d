"""Image features for artworks and text features for the other nodes, cached in the graph directory.

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
whose ids or images changed is recomputed.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import re
import shutil
import sys
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

from artkg._version import __version__
from artkg.kg import schema as S
from artkg.kg.atomic import write_json
from artkg.kg.errors import InputError, NotFoundError
from artkg.models.encoders import (ImageEncoder, TextEncoder, check_encoder_name, image_encoder_resolver,
                                   make_image_encoder, make_text_encoder, text_encoder_resolver)
from artkg.models.images import load_image, resolve_image

log = logging.getLogger("artkg")

FEATURES = "features"
FORMAT_VERSION = 1
META, PROGRESS, SKIPPED = "meta.json", "progress.json", "skipped.json"


# ------------------------------------------------------------------ public API
def extract_features(graph_dir: str | Path,
                     image_encoder: str | ImageEncoder | type[ImageEncoder] | None = "efficientnet_lite",
                     image_encoder_kwargs: dict | None = None,
                     text_encoder: str | TextEncoder | type[TextEncoder] | None = "minilm",
                     text_encoder_kwargs: dict | None = None,
                     batch_size: int = 64, device: str | torch.device = "auto",
                     image_root: str | Path | None = None, num_workers: int = 0,
                     progress: bool = True) -> dict:
    """Encode the graph's artwork images and node texts into ``GRAPH_DIR/features/``.

    Either encoder may be ``None`` (or ``"none"``) to skip that side. Returns
    ``{"graph", "cached", "features": [one summary per folder]}``; ``cached`` is true when
    nothing had to be computed.
    """
    from artkg.kg.graph import load_graph

    image_encoder, text_encoder = _none(image_encoder), _none(text_encoder)
    if batch_size < 1:
        raise InputError(f"batch size {batch_size} is not positive", "pass --batch-size 1 or more")
    # Check names before any slow work, so a typo in the second one does not cost the first's run.
    check_encoder_name(image_encoder_resolver, "image encoder", image_encoder)
    check_encoder_name(text_encoder_resolver, "text encoder", text_encoder)
    graph = load_graph(graph_dir)
    if image_encoder is not None and graph.num_nodes("artwork") == 0:
        raise InputError(f"the graph at {graph.root} has no artworks, so there are no images to encode",
                         "pass --image-encoder none to compute text features only")
    dev = resolve_device(device)
    results = []
    if image_encoder is not None:
        encoder = make_image_encoder(image_encoder, **(image_encoder_kwargs or {}))
        results.append(_ImageRun(graph, encoder, image_encoder_kwargs, dev, batch_size, progress,
                                 image_root=image_root, num_workers=num_workers).run())
        del encoder
    if text_encoder is not None:
        encoder = make_text_encoder(text_encoder, **(text_encoder_kwargs or {}))
        results.append(_TextRun(graph, encoder, text_encoder_kwargs, dev, batch_size, progress).run())
    return {"graph": str(graph.root), "cached": all(r["cached"] for r in results), "features": results}


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
    ``kind="text"`` ``{node_type: features [N_t, d]}``.

    ``key`` is a folder name, a cache key or an encoder name; ``None`` takes the most recent
    complete folder of that kind.
    """
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

    if kind not in ("image", "text"):
        raise InputError(f"unknown feature kind {kind!r}", "use 'image' or 'text'")
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


def resolve_device(device: str | torch.device | None = "auto") -> torch.device:
    """``auto`` → CUDA when available, else the CPU."""
    if device is None or str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, ValueError) as exc:
        raise InputError(f"unknown device {device!r}", "use auto, cpu or cuda (cuda:1 …)") from exc
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise InputError("--device cuda was asked for but CUDA is not available", "use --device cpu (or auto)")
    return dev


def feature_slug(cache_key: str) -> str:
    """A folder name for a cache key: readable encoder and model, plus a hash of the whole key."""
    readable = "-".join(cache_key.split(":")[:2])
    readable = re.sub(r"[^A-Za-z0-9._-]+", "-", readable).strip("-.")[:60] or "features"
    return f"{readable}-{hashlib.sha256(cache_key.encode()).hexdigest()[:10]}"


# ------------------------------------------------------------------ the runs
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


class _ImageRun(_Run):
    kind = "image"

    def __init__(self, *args, image_root=None, num_workers: int = 0, **kwargs):
        super().__init__(*args, **kwargs)
        self.image_root = Path(image_root) if image_root is not None else None
        if self.image_root is not None and not self.image_root.is_dir():
            raise InputError(f"--image-root {self.image_root} is not a directory", "pass the folder holding the images")
        self.num_workers = int(num_workers)
        self.iris = self.graph.iris["artwork"]
        images = list(self.graph.images) + [None] * (len(self.iris) - len(self.graph.images))
        self.located = [resolve_image(iri, self.graph.root, self.image_root) for iri in images]
        self.skipped: list[dict] = []
        self.mask: np.ndarray | None = None

    def counts(self) -> dict[str, int]:
        return {"artwork": len(self.iris)}

    def inputs_hash(self) -> str:
        # Which image file each artwork has, with its size and modification time: a rebuilt world
        # whose images changed, or --image-root pointing at other files, recomputes the folder.
        h = hashlib.sha256()
        for iri, (path, _) in zip(self.iris, self.located):
            h.update(f"{iri}\t{_file_stamp(path)}\n".encode())
        return h.hexdigest()[:20]

    def save_extra(self) -> None:
        if self.mask is not None:
            self.mask.flush()
        write_json(self.folder / SKIPPED, self.skipped, indent=None)

    def check_inputs(self) -> None:
        if not any(path is not None for path, _ in self.located):
            raise InputError(f"none of the {len(self.iris)} artwork images is available locally "
                             f"(first, {self.iris[0]}: {self.located[0][1]})",
                             "pass --image-root DIR with the image files (P18 file names or paths under DIR)")

    def encode(self, arrays, rows, save) -> None:
        n = len(self.iris)
        available = sum(path is not None for path, _ in self.located)
        feats = arrays["artwork"]
        self.mask = _open_array(self.folder / "artwork_mask.npy", (n,), np.bool_)
        start = rows["artwork"]
        if self.mask is None:
            self.mask = _create_array(self.folder / "artwork_mask.npy", (n,), np.bool_)
            start = rows["artwork"] = 0
        self.skipped = [s for s in (_read_json(self.folder / SKIPPED) or []) if s["index"] < start]
        if available < n:
            log.warning("%d of %d artwork images are not available locally; they are skipped (see %s)",
                        n - available, n, self.folder / SKIPPED)
        if start >= n:
            return
        from torch.utils.data import DataLoader
        from tqdm.auto import tqdm

        dataset = _ImageDataset(self.located, self.encoder.preprocess, self.encoder.image_size, start)
        loader = DataLoader(dataset, batch_size=self.batch_size, shuffle=False, num_workers=self.num_workers,
                            collate_fn=_as_list)
        encoder = self.encoder.eval().to(self.device)
        bar = tqdm(total=n, initial=start, disable=not self.progress, file=sys.stderr, unit="img",
                   desc=f"image features ({encoder.kind})", dynamic_ncols=True)
        # Without worker processes, a background thread decodes the next batch while this one runs
        # through the encoder (PIL and torch release the GIL): decoding no longer adds to the time.
        batches = loader if self.num_workers > 0 else _prefetched(loader)
        with torch.inference_mode(), bar:
            for batch in batches:
                first, last = batch[0][0], batch[-1][0]
                ok = [(i, x) for i, x, _ in batch if x is not None]
                self.skipped += [{"index": i, "id": self.iris[i], "reason": r} for i, x, r in batch if x is None]
                feats[first:last + 1] = 0
                self.mask[first:last + 1] = False
                if ok:
                    index = [i for i, _ in ok]
                    emb = encoder(torch.stack([x for _, x in ok]).to(self.device)).float().cpu().numpy()
                    if emb.shape[1:] != (feats.shape[1],):
                        raise RuntimeError(f"{type(encoder).__name__} returned {tuple(emb.shape)} for dim "
                                           f"{feats.shape[1]}")
                    feats[index] = emb
                    self.mask[index] = True
                rows["artwork"] = last + 1
                save()
                bar.update(len(batch))

    def finish_meta(self, arrays) -> dict:
        encoded = int(np.count_nonzero(self.mask))
        if encoded == 0:
            first = self.skipped[0] if self.skipped else {"id": "?", "reason": "?"}
            shutil.rmtree(self.folder, ignore_errors=True)
            raise InputError(f"none of the {len(self.iris)} artwork images could be used "
                             f"(first, {first['id']}: {first['reason']})",
                             "check the image files, or pass --image-root DIR with readable copies")
        if self.skipped:
            log.warning("%d artwork images skipped (first: %s: %s); see %s", len(self.skipped),
                        self.skipped[0]["id"], self.skipped[0]["reason"], self.folder / SKIPPED)
        return {"encoded": encoded, "skipped": len(self.skipped), "normalized": False}


class _TextRun(_Run):
    kind = "text"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.texts = node_texts(self.graph)

    def counts(self) -> dict[str, int]:
        return {t: len(texts) for t, texts in self.texts.items()}

    def inputs_hash(self) -> str:
        h = hashlib.sha256()
        for t, texts in self.texts.items():
            h.update(t.encode() + b"\0" + "\n".join(texts).encode() + b"\0")
        return h.hexdigest()[:20]

    def check_inputs(self) -> None:
        if not self.texts:
            raise InputError(f"the graph at {self.graph.root} has no labelled nodes besides artworks",
                             "pass --text-encoder none to compute image features only")

    def encode(self, arrays, rows, save) -> None:
        from tqdm.auto import tqdm

        encoder = self.encoder.eval().to(self.device)
        total, done = sum(len(t) for t in self.texts.values()), sum(rows.values())
        with tqdm(total=total, initial=done, disable=not self.progress, file=sys.stderr, unit="text",
                  desc=f"text features ({encoder.kind})", dynamic_ncols=True) as bar:
            for node_type, texts in self.texts.items():
                for start in range(rows[node_type], len(texts), self.batch_size):
                    chunk = texts[start:start + self.batch_size]
                    arrays[node_type][start:start + len(chunk)] = encoder.encode(chunk, self.batch_size).numpy()
                    rows[node_type] = start + len(chunk)
                    save()
                    bar.update(len(chunk))

    def finish_meta(self, arrays) -> dict:
        return {"normalized": True,
                "text": "label. description. Wikipedia introduction (local name where there is no label)"}


def node_texts(graph, exclude: tuple[str, ...] = ("artwork",)) -> dict[str, list[str]]:
    """``label. description. Wikipedia introduction`` for every node of each type that has any label
    or description (the introduction where the graph has one: ``kgbuild wikidata --wikipedia-lang``)."""
    out = {}
    all_summaries = getattr(graph, "summaries", {}) or {}
    for node_type, iris in graph.iris.items():
        labels, descriptions = graph.labels.get(node_type, []), graph.descriptions.get(node_type, [])
        summaries = all_summaries.get(node_type) or []
        if node_type in exclude or not iris or not (any(labels) or any(descriptions) or any(summaries)):
            continue
        texts = []
        for i, iri in enumerate(iris):
            text = (labels[i] if i < len(labels) else None) or S.local_name(iri)
            for more in (descriptions[i] if i < len(descriptions) else None,
                         summaries[i] if i < len(summaries) else None):
                if more:
                    text += (" " if text.rstrip().endswith((".", "!", "?")) else ". ") + more
            texts.append(text)
        out[node_type] = texts
    return out


# ------------------------------------------------------------------ image decoding (DataLoader)
class _ImageDataset(torch.utils.data.Dataset):
    """Artworks ``start…N-1`` → ``(index, tensor or None, reason or None)``; decoding runs in the
    DataLoader's workers when ``num_workers > 0``."""

    def __init__(self, located, preprocess, image_size: int, start: int):
        self.located, self.preprocess, self.image_size, self.start = located, preprocess, image_size, start

    def __len__(self) -> int:
        return len(self.located) - self.start

    def __getitem__(self, k: int):
        i = self.start + k
        path, reason = self.located[i]
        if path is None:
            return i, None, reason
        try:
            return i, self.preprocess(load_image(path, self.image_size)), None
        except ValueError as exc:
            return i, None, str(exc)


def _file_stamp(path: Path | None) -> str:
    """``size:mtime_ns`` of an image file ("-" when there is none): what the feature cache key reads."""
    if path is None:
        return "-"
    try:
        stat = Path(path).stat()
    except OSError:
        return "?"
    return f"{stat.st_size}:{stat.st_mtime_ns}"


def _as_list(items: list) -> list:
    return items


def _prefetched(iterable, depth: int = 1):
    """Iterate ``iterable`` in a background thread, ``depth`` items ahead; its errors are raised here.

    Closing the generator early (an error in the consumer) stops the thread after its current item.
    """
    import queue
    import threading

    items: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()
    done = object()

    def offer(entry) -> bool:  # False once the consumer has gone (never blocks past that)
        while not stop.is_set():
            try:
                items.put(entry, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in iterable:
                if not offer((item, None)):
                    return
            offer((done, None))
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer
            offer((done, exc))

    thread = threading.Thread(target=produce, name="artkg-image-decoder", daemon=True)
    thread.start()
    try:
        while True:
            item, error = items.get()
            if item is done:
                if error is not None:
                    raise error
                return
            yield item
    finally:
        stop.set()
        thread.join()


# ------------------------------------------------------------------ small helpers
def _none(encoder: Any) -> Any:
    return None if isinstance(encoder, str) and encoder.strip().lower() in ("none", "") else encoder


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
