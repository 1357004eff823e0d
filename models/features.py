"""Image features for artworks and text features for the other nodes: :func:`extract_features`.

Each encoder runs once per graph and configuration; the results are cached in the graph directory
(:mod:`artkg.models.features_cache`: the folder layout, resuming, reading the features back).
"""
from __future__ import annotations

import hashlib
import logging
import shutil
import sys
from pathlib import Path
from typing import Any

import numpy as np
import torch

from artkg.kg import schema as S
from artkg.kg.atomic import write_json
from artkg.kg.errors import InputError
from artkg.models.encoders import check_encoder_name
from artkg.models.encoders_image import ImageEncoder, image_encoder_resolver, make_image_encoder
from artkg.models.encoders_text import TextEncoder, make_text_encoder, text_encoder_resolver
from artkg.models.images import load_image, resolve_image
from artkg.models.features_cache import SKIPPED, _create_array, _open_array, _read_json, _Run, feature_slug

log = logging.getLogger("artkg")


# ------------------------------------------------------------------ public API
def extract_features(graph_dir: str | Path,
                     image_encoder: str | ImageEncoder | type[ImageEncoder] | None = "efficientnet_lite",
                     image_encoder_kwargs: dict | None = None,
                     text_encoder: str | TextEncoder | type[TextEncoder] | None = "minilm",
                     text_encoder_kwargs: dict | None = None,
                     batch_size: int = 64, device: str | torch.device = "auto",
                     image_root: str | Path | None = None, num_workers: int = 0,
                     progress: bool = True, artwork_text: bool = False) -> dict:
    """Encode the graph's artwork images and node texts into ``GRAPH_DIR/features/``.

    Either encoder may be ``None`` (or ``"none"``) to skip that side. ``artwork_text=True`` also
    encodes one metadata document per artwork (:func:`artkg.kg.documents.artwork_documents`: title,
    depicts, genre, movement, material, description) into the text folder's ``artwork`` array — the
    text side of the multimodal recommenders; that folder has its own cache key. Returns
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
    from artkg.kg.lock import output_lock

    # The graph directory's own lock: no two `artkg features`, and no kgbuild rebuilding it meanwhile.
    with output_lock(graph.root, what="graph directory"):
        results = _extract(graph, image_encoder, image_encoder_kwargs, text_encoder, text_encoder_kwargs, dev,
                           batch_size, progress, image_root, num_workers, artwork_text)
    return {"graph": str(graph.root), "cached": all(r["cached"] for r in results), "features": results}


def _extract(graph, image_encoder, image_encoder_kwargs, text_encoder, text_encoder_kwargs, dev, batch_size,
             progress, image_root, num_workers, artwork_text: bool = False) -> list[dict]:
    """The image and text runs, under the features folder's lock."""
    results = []
    if image_encoder is not None:
        encoder = make_image_encoder(image_encoder, **(image_encoder_kwargs or {}))
        results.append(_ImageRun(graph, encoder, image_encoder_kwargs, dev, batch_size, progress,
                                 image_root=image_root, num_workers=num_workers).run())
        del encoder
    if text_encoder is not None:
        encoder = make_text_encoder(text_encoder, **(text_encoder_kwargs or {}))
        results.append(_TextRun(graph, encoder, text_encoder_kwargs, dev, batch_size, progress,
                                artwork_text=artwork_text).run())
    return results


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


# ------------------------------------------------------------------ the runs
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

    def __init__(self, *args, artwork_text: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.texts = node_texts(self.graph)
        self.artwork_text = bool(artwork_text)
        if self.artwork_text:
            from artkg.kg.documents import artwork_documents

            documents = artwork_documents(self.graph)
            if not any(d.strip() for d in documents):
                raise InputError(f"no artwork in {self.graph.root} has a title, subject, genre, movement, material "
                                 "or description to encode", "leave out --artwork-text (the graph has no artwork text)")
            self.texts = {"artwork": documents, **self.texts}
            # Its own folder: a plain run (class nodes only) and this one never overwrite each other.
            self.cache_key += ":artwork_documents"
            self.folder = self.folder.parent / feature_slug(self.cache_key)

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
        if self.artwork_text:
            from artkg.kg.documents import has_text

            return {"normalized": True, "artwork_documents": True,
                    "artwork_with_text": int(has_text(self.texts["artwork"]).sum()),
                    "text": "artworks: title. Depicts … Genre … Movement … Material … description; other nodes: "
                            "label. description. Wikipedia introduction"}
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
