"""Joint image–text features of a graph's artworks: :func:`extract_joint_features`, :func:`load_joint_features`.

Early fusion needs each painting in one joint space (:mod:`artkg.models.encoders_joint`): its picture
and its metadata document (:func:`artkg.kg.documents.artwork_documents`) go through a hub model
together. The results are a feature folder of kind ``"joint"`` under ``GRAPH_DIR/features/``, with
the same cache rules as the image features (:mod:`artkg.models.features_cache`: one folder per cache
key, resumable after each batch, recomputed when the graph, an image file or a document changes):

- ``artwork_image.npy`` / ``artwork_text.npy`` [N, d]: L2-normalised image and text embeddings;
- ``artwork_fused.npy`` [N, d']: the model's own embedding of the pair, where it has one (BLIP);
- ``artwork_mask.npy`` [N]: the artworks whose picture could be read (other rows are zeros);
- ``skipped.json``: the artworks without a usable picture, and why.
"""
from __future__ import annotations

import hashlib
import logging
import sys
from pathlib import Path
from typing import Any

import numpy as np
import torch

from artkg.kg.errors import InputError
from artkg.models.encoders import check_encoder_name
from artkg.models.features import _as_list, _ImageDataset, _ImageRun, _prefetched, resolve_device
from artkg.models.features_cache import (SKIPPED, _create_array, _load_array, _open_array, _pad_rows, _read_json,
                                         feature_meta)

log = logging.getLogger("artkg")

ARRAYS = ("image", "text")  # always written; "fused" where the encoder has one


def extract_joint_features(graph_dir: str | Path, encoder: Any = "blip_itm", encoder_kwargs: dict | None = None,
                           batch_size: int = 16, device: str | torch.device = "auto",
                           image_root: str | Path | None = None, progress: bool = True,
                           num_workers: int = 0) -> dict:
    """Encode every artwork's picture and document with a joint encoder into ``GRAPH_DIR/features/``.

    ``encoder`` is a ``joint_encoder`` name (``artkg ls``), class or instance. Returns
    ``{"graph", "cached", "features": [the folder's summary]}`` like
    :func:`artkg.models.features.extract_features`; ``cached`` is true when nothing had to be computed.
    """
    from artkg.kg.graph import load_graph
    from artkg.kg.lock import output_lock
    from artkg.models.encoders_joint import joint_encoder_resolver, make_joint_encoder

    if batch_size < 1:
        raise InputError(f"batch size {batch_size} is not positive", "pass --batch-size 1 or more")
    check_encoder_name(joint_encoder_resolver, "joint encoder", encoder)
    graph = load_graph(graph_dir)
    if graph.num_nodes("artwork") == 0:
        raise InputError(f"the graph at {graph.root} has no artworks, so there is nothing to encode jointly",
                         "build a graph with artworks (and their images) first")
    dev = resolve_device(device)
    # The graph directory's own lock, as for `artkg features`: no two runs, no rebuild meanwhile.
    with output_lock(graph.root, what="graph directory"):
        model = make_joint_encoder(encoder, **(encoder_kwargs or {}))
        result = _JointRun(graph, model, encoder_kwargs, dev, batch_size, progress, image_root=image_root,
                           num_workers=num_workers).run()
    return {"graph": str(graph.root), "cached": result["cached"], "features": [result]}


def load_joint_features(graph_dir: str | Path, key: str | None = None) -> dict[str, np.ndarray]:
    """A finished joint feature folder: ``{"image", "text"[, "fused"], "mask"}`` as numpy arrays, one row
    per artwork of the graph. ``key``: a folder name, cache key or encoder name (default: the latest)."""
    meta = feature_meta(graph_dir, "joint", key)
    folder = Path(meta["path"])
    rows = meta.get("graph_counts", {}).get("artwork")  # artworks a rebuild appended: zero rows, mask False
    out = {name: _pad_rows(_load_array(folder / f"artwork_{name}.npy"), rows)
           for name in (*ARRAYS, "fused") if name in ARRAYS or meta.get("fused_dim")}
    out["mask"] = _pad_rows(_load_array(folder / "artwork_mask.npy"), rows)
    return out


class _JointRun(_ImageRun):
    """The image run's pictures (files, decoding, skips, mask), each encoded with its document."""

    kind = "joint"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        from artkg.kg.documents import artwork_documents

        self.texts = list(artwork_documents(self.graph))
        if len(self.texts) != len(self.iris):
            raise RuntimeError(f"artwork_documents gave {len(self.texts)} documents for {len(self.iris)} artworks")
        self.fused_dim = getattr(self.encoder, "fused_dim", None)
        self.fused: np.ndarray | None = None

    def counts(self) -> dict[str, int]:
        return {f"artwork_{name}": len(self.iris) for name in ARRAYS}

    def inputs_hash(self) -> str:
        h = hashlib.sha256(super().inputs_hash().encode())
        h.update("\0".join(self.texts).encode())
        return h.hexdigest()[:20]

    def save_extra(self) -> None:
        if self.fused is not None:
            self.fused.flush()
        super().save_extra()

    def _open_extra(self, rows: dict[str, int]) -> int:
        """Mask and fused arrays (re)opened for resuming; the row to start from."""
        n = len(self.iris)
        start = min(rows.values())
        self.mask = _open_array(self.folder / "artwork_mask.npy", (n,), np.bool_)
        if self.fused_dim:
            self.fused = _open_array(self.folder / "artwork_fused.npy", (n, self.fused_dim), np.float32)
        if self.mask is None or (self.fused_dim and self.fused is None):
            self.mask = _create_array(self.folder / "artwork_mask.npy", (n,), np.bool_)
            if self.fused_dim:
                self.fused = _create_array(self.folder / "artwork_fused.npy", (n, self.fused_dim), np.float32)
            start = 0
        for name in rows:
            rows[name] = start
        self.start = start
        return start

    def encode(self, arrays, rows, save) -> None:
        n = len(self.iris)
        start = self._open_extra(rows)
        self.skipped = [s for s in (_read_json(self.folder / SKIPPED) or []) if s["index"] < start]
        available = sum(path is not None for path, _ in self.located)
        if available < n:
            log.warning("%d of %d artwork images are not available locally; they are skipped (see %s)",
                        n - available, n, self.folder / SKIPPED)
        if start >= n:
            return
        from torch.utils.data import DataLoader
        from tqdm.auto import tqdm

        targets = {name: arrays[f"artwork_{name}"] for name in ARRAYS}
        if self.fused is not None:
            targets["fused"] = self.fused
        dataset = _ImageDataset(self.located, self.encoder.preprocess, self.encoder.image_size, start)
        loader = DataLoader(dataset, batch_size=self.batch_size, shuffle=False, num_workers=self.num_workers,
                            collate_fn=_as_list)
        encoder = self.encoder.eval().to(self.device)
        bar = tqdm(total=n, initial=start, disable=not self.progress, file=sys.stderr, unit="img",
                   desc=f"joint features ({encoder.kind})", dynamic_ncols=True)
        batches = loader if self.num_workers > 0 else _prefetched(loader)
        with bar:
            for batch in batches:
                first, last = batch[0][0], batch[-1][0]
                ok = [(i, x) for i, x, _ in batch if x is not None]
                self.skipped += [{"index": i, "id": self.iris[i], "reason": r} for i, x, r in batch if x is None]
                for target in targets.values():
                    target[first:last + 1] = 0
                self.mask[first:last + 1] = False
                if ok:
                    index = [i for i, _ in ok]
                    out = encoder.encode(torch.stack([x for _, x in ok]), [self.texts[i] for i in index])
                    for name, target in targets.items():
                        if name not in out or tuple(out[name].shape) != (len(index), target.shape[1]):
                            got = tuple(out[name].shape) if name in out else "nothing"
                            raise RuntimeError(f"{type(encoder).__name__} returned {got} as {name} for "
                                               f"{len(index)} pictures of dim {target.shape[1]}")
                        target[index] = out[name].numpy()
                    self.mask[index] = True
                for name in rows:
                    rows[name] = last + 1
                save()
                bar.update(len(batch))

    def finish_meta(self, arrays) -> dict:
        meta = super().finish_meta(arrays)  # counts the encoded pictures; no picture at all is an error
        empty = sum(not t.strip() for t in self.texts)
        if empty:
            log.warning("%d of %d artworks have no metadata document (their text side encodes an empty text)",
                        empty, len(self.texts))
        return {**meta, "normalized": True, "fused_dim": self.fused_dim, "empty_documents": empty,
                "text": "artkg.kg.documents.artwork_documents (title, depicts, genre, movement, style, material, "
                        "description)"}

    def summary(self, meta: dict, cached: bool, resumed_from: int | None, seconds: float) -> dict:
        # resumed after this many artworks (the base run counts the rows of both arrays)
        resumed_from = (getattr(self, "start", None) or None) if resumed_from else None
        out = super().summary(meta, cached, resumed_from, seconds)
        skipped = _read_json(self.folder / SKIPPED) or []
        out.update(fused_dim=meta.get("fused_dim"), encoded=meta.get("encoded"), skipped=len(skipped),
                   skipped_examples=skipped[:5])
        return out
