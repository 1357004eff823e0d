"""Published splits: the train / validation / test artworks a dataset was released with.

``kgbuild wikiart`` and ``kgbuild artgraph`` write them to ``GRAPH_DIR/splits.json`` as artwork
IRIs, per section: ArtGraph has one ``"artwork"`` section with ``train``, ``valid`` and ``test``;
WikiArt (ArtGAN) has one section per task (``"style"``, ``"genre"``, ``"artist"``) with ``train``
and ``val`` only — the ArtGAN papers report on ``val``. ``--split published`` (GraphCLIP training,
CLOIR, ``artkg eval``) reads them:

- the section: ``"artwork"`` where there is one, else the first task's (``style`` for a style
  run), else the only one;
- without a published test part (WikiArt) the published validation part is the test part, and
  validation for early stopping is drawn from the published training part (seeded, stratified by
  the first task's label for GraphCLIP, by artist for CLOIR);
- an artwork named in two parts stays only in the later one (test before validation before
  training); IRIs the graph does not have and artworks that cannot be scored (no image features,
  no label for a task) are left out and counted;
- without a published training part (the public ArtGraph split files list only ``valid`` and
  ``test``) every other artwork is a training one.
"""
from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Optional

import numpy as np

from artkg.kg.errors import InputError

log = logging.getLogger("artkg")

SPLITS_FILE = "splits.json"
PUBLISHED = "published"
_PART_NAMES = {"train": ("train",), "val": ("val", "valid", "validation"), "test": ("test",)}


def has_published_split(graph_root: str | Path) -> bool:
    return (Path(graph_root) / SPLITS_FILE).is_file()


def read_published(graph, prefer: tuple[str, ...] = ()) -> tuple[dict[str, Optional[np.ndarray]], dict]:
    """``({"train", "val", "test"}: artwork indices or None, info)`` from the graph's ``splits.json``."""
    path = Path(graph.root) / SPLITS_FILE
    if not path.is_file():
        raise InputError(f"the graph at {graph.root} has no published split ({SPLITS_FILE})",
                         "drop --split published (a random split is used), or import the dataset with "
                         "`kgbuild wikiart` / `kgbuild artgraph`, which write it")
    try:
        sections = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise InputError(f"{path} is not valid JSON: {exc}", "re-import the dataset (kgbuild wikiart/artgraph)") from exc
    if isinstance(sections, dict) and "splits" in sections and isinstance(sections["splits"], dict):
        sections = sections["splits"]
    if not isinstance(sections, dict) or not sections:
        raise InputError(f"{path} holds no split", "re-import the dataset (kgbuild wikiart/artgraph)")
    name = "artwork" if "artwork" in sections else next((t for t in prefer if t in sections), None)
    if name is None:
        if len(sections) > 1:
            raise InputError(f"{path} has splits for {', '.join(sorted(sections))}, none for "
                             f"{', '.join(prefer) or 'this run'}", "train on one of those tasks first")
        name = next(iter(sections))
    section = sections[name]
    index = {iri: i for i, iri in enumerate(graph.iris["artwork"])}
    parts: dict[str, Optional[np.ndarray]] = {}
    unknown = 0
    for part, names in _PART_NAMES.items():
        key = next((n for n in names if n in section), None)
        if key is None:
            parts[part] = None
            continue
        iris = section[key]
        found = [index[i] for i in iris if i in index]
        unknown += len(iris) - len(found)
        parts[part] = np.unique(np.asarray(found, dtype=np.int64))
    if parts["val"] is None and parts["test"] is None:
        raise InputError(f"the {name!r} split in {path} has no validation or test part",
                         "re-import the dataset (kgbuild wikiart/artgraph)")
    info = {"kind": PUBLISHED, "section": name, "unknown_iris": unknown}
    if parts["train"] is None:  # ArtGraph publishes valid/test; training is every other artwork
        named = np.zeros(graph.num_nodes("artwork"), dtype=bool)
        for part in ("val", "test"):
            if parts[part] is not None:
                named[parts[part]] = True
        parts["train"] = np.flatnonzero(~named)
        info["train_from"] = "rest"
    if parts["test"] is None:  # WikiArt: the published validation part is what papers test on
        parts["test"], parts["val"] = parts["val"], None
        info["test_from"] = "val"
    # An artwork in two parts stays in the later one only (never both trained on and tested).
    seen = np.zeros(graph.num_nodes("artwork"), dtype=bool)
    overlap = 0
    for part in ("test", "val", "train"):
        if parts[part] is None:
            continue
        dup = seen[parts[part]]
        overlap += int(dup.sum())
        parts[part] = parts[part][~dup]
        seen[parts[part]] = True
    info["overlap_removed"] = overlap
    if unknown or overlap:
        log.warning("published split %r: %d IRIs not in the graph, %d artworks in two parts kept in the later one",
                    name, unknown, overlap)
    return parts, info


def published_split(graph, labels: dict, num_classes: dict[str, int], usable, seed: int = 0,
                    val_fraction: float = 0.125, unseen_fraction: float = 0.0,
                    unseen_classes: Optional[dict[str, list[int]]] = None):
    """A :class:`~artkg.models.tasks.Split` from the graph's published split, restricted to artworks
    with image features (``usable``) and a label for every task. Validation comes from the
    published part where there is one, else ``val_fraction`` of the published training part
    (stratified by the first task's label). Held-out (zero-shot) classes are chosen as in
    :func:`~artkg.models.tasks.make_split`, among the classes of the training part."""
    import torch

    from artkg.models.tasks import Split, make_split

    parts, info = read_published(graph, tuple(labels))
    known = np.asarray(usable, dtype=bool).copy()
    for y in labels.values():
        known &= y.numpy() >= 0
    kept = {p: (v[known[v]] if v is not None else None) for p, v in parts.items()}
    info["left_out"] = {p: int(len(v) - len(kept[p])) for p, v in parts.items() if v is not None}
    train_mask = np.zeros(len(known), dtype=bool)
    train_mask[kept["train"]] = True
    carve = kept["val"] is None
    fractions = (1.0 - val_fraction, val_fraction, 0.0) if carve else (1.0, 0.0, 0.0)
    base = make_split(labels, num_classes, seed=seed, fractions=fractions, unseen_fraction=unseen_fraction,
                      usable=torch.from_numpy(train_mask), unseen_classes=unseen_classes)
    val = base.val if carve else torch.from_numpy(np.sort(kept["val"]))
    train = torch.sort(torch.cat([base.train, base.test])).values  # make_split's rounding remainder is training
    if carve:
        info["val_from"] = "train"
    split = Split(train, val, torch.from_numpy(np.sort(kept["test"])), base.unseen_classes)
    info.update(train=len(split.train), val=len(split.val), test=len(split.test))
    if len(split.test) == 0:
        raise InputError(f"no artwork of the published test part of {graph.root} can be scored "
                         "(none has image features and a label for every task)",
                         f"check the tasks and `artkg features {graph.root}`")
    return split, info


def published_artwork_split(graph, creator: np.ndarray, usable: np.ndarray, val_fraction: float = 0.1,
                            seed: int = 42):
    """CLOIR's :class:`~artkg.models.triplets.ArtworkSplit` from the published split: artworks with
    features and a known creator; validation drawn per artist from the training part where the
    dataset publishes none."""
    from artkg.models.triplets import ArtworkSplit, _split_part

    parts, info = read_published(graph)
    pool = np.asarray(usable, dtype=bool) & (np.asarray(creator) >= 0)
    kept = {p: (np.sort(v[pool[v]]) if v is not None else None) for p, v in parts.items()}
    train, val = kept["train"], kept["val"]
    if val is None:
        rng = np.random.default_rng(seed)
        train, val = _split_part(train, creator, "stratified", val_fraction, rng) if val_fraction > 0 \
            else (train, train[:0])
    if len(kept["test"]) == 0:
        raise InputError(f"no artwork of the published test part of {graph.root} has features and a creator",
                         f"check `artkg features {graph.root}`")
    return ArtworkSplit(PUBLISHED, np.sort(train), np.sort(val), kept["test"])


def published_run_split(graph, config, usable, val_fraction: float = 0.1):
    """The graph's published split (``splits.json``) for a run's tasks: ``(Split, info)``."""
    from artkg.models.tasks import make_task

    tasks = {name: make_task(graph, name) for name in config.tasks}
    unseen = {}
    for name, classes in (config.unseen_classes or {}).items():
        if name not in tasks:
            raise InputError(f"unseen classes are given for {name!r}, which is not a task of this run",
                             f"use one of {', '.join(tasks)}")
        unseen[name] = [tasks[name].class_index(graph, c) for c in classes]
    labels = {name: task.labels(graph) for name, task in tasks.items()}
    num_classes = {name: task.num_classes(graph) for name, task in tasks.items()}
    return published_split(graph, labels, num_classes, usable.numpy().astype(bool), seed=config.seed,
                           val_fraction=val_fraction, unseen_fraction=config.unseen_fraction,
                           unseen_classes=unseen)
