"""Fine-tune an image backbone on a graph's visual links: :func:`train_signatures`.

The collection is every artwork whose image is found and decodes (links touching another artwork
are reported and left out). Connections ``(A, B)`` are the links of ``positive_kinds``; the split
puts whole connected components into train, val or test (:func:`~.split.component_split` over the
linked works; the unlinked works are split with the same shares and stay in the collection as
distractors). Each epoch, every training connection gets a negative ``C`` (drawn ``repeat_sources``
times for links from those sources, e.g. a round's verdicts): with probability
``explicit_negative_rate`` one of its works' explicit NEGATIVE links where it has any, else one drawn
among the ``k_negatives`` nearest unconnected training works by the signatures of the end of the
previous epoch (:func:`~.mining.hard_negatives`); with ``negative_views`` every explicit negative
``(X, Y)`` is also a triplet ``(X, X, Y)``, X seen twice through the augmentation, so that an
annotator's verdict counts even where neither work has a connection (:func:`~.mining.epoch_triplets`).
The loss is the compound hinge; AdamW updates the top stages only: the last one for
``first_stage_epochs`` epochs, then one more every ``unfreeze_every`` epochs. Batch-norm statistics
and drop-connect stay as pretrained (eval mode): batches of a few triplets would only make them noise.

Retrieval (:func:`~.clusters.retrieval_scores`) ranks each held-out connection's partner among the
whole collection; validation mAP picks the epoch kept. A checkpoint after every epoch
(``RUN/checkpoint.pt``) lets ``resume=True`` continue a killed run; all randomness is drawn per epoch
from ``(seed, epoch)``, so a resumed run ends exactly where an uninterrupted one does (on CPU).
"""
from __future__ import annotations

import json
import logging
import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from artkg.kg.errors import InputError
from artkg.models.signatures.backbone import SignatureBackbone
from artkg.models.signatures.config import TASK, SignatureConfig

log = logging.getLogger("artkg")
CHECKPOINT = "checkpoint.pt"


@dataclass
class SignatureResult:
    run_dir: Path | None
    config: SignatureConfig
    metrics: dict
    history: list
    backbone: SignatureBackbone


# ------------------------------------------------------------------ images and signatures
class Images:
    """Artwork image files → preprocessed tensors, decoded on demand and kept up to ``cache_mb`` MiB."""

    def __init__(self, paths: list, backbone: SignatureBackbone, cache_mb: int = 0):
        self.paths, self.preprocess, self.size = list(paths), backbone.preprocess, backbone.image_size
        self.capacity = int(cache_mb) * 2 ** 20 // (3 * self.size * self.size * 4)
        self.cache: dict[int, torch.Tensor] = {}

    def __len__(self) -> int:
        return len(self.paths)

    def get(self, i: int) -> torch.Tensor:
        """Raises ``ValueError`` with the reason for a file that is not a readable image."""
        x = self.cache.get(i)
        if x is None:
            from artkg.models.images import load_image

            x = self.preprocess(load_image(self.paths[i], self.size))
            if len(self.cache) < self.capacity:
                self.cache[i] = x
        return x

    def batch(self, indices) -> torch.Tensor:
        return torch.stack([self.get(int(i)) for i in indices])


def compute_signatures(backbone: SignatureBackbone, images: Images, batch_size: int, device, progress: bool = False,
                       desc: str = "signatures", tolerant: bool = False) -> tuple[np.ndarray, dict[int, str]]:
    """``[n, dim]`` float32 signatures of every image (eval mode, full float32 on CUDA) and, with
    ``tolerant``, ``{index: reason}`` for images that could not be decoded (their rows stay zero)."""
    from tqdm.auto import tqdm

    from artkg.models.encoders_image import full_float32

    out = np.zeros((len(images), backbone.dim), dtype=np.float32)
    bad: dict[int, str] = {}
    was_training = backbone.training
    backbone.eval()
    with torch.no_grad(), full_float32(), tqdm(total=len(images), desc=desc, disable=not progress, file=sys.stderr,
                                               unit="img", dynamic_ncols=True, leave=False) as bar:
        for start in range(0, len(images), batch_size):
            idx, pixels = [], []
            for i in range(start, min(start + batch_size, len(images))):
                try:
                    pixels.append(images.get(i))
                    idx.append(i)
                except ValueError as exc:
                    if not tolerant:
                        raise InputError(f"cannot read the image {images.paths[i]}: {exc}",
                                         "replace the file, or rebuild the graph without it") from None
                    bad[i] = str(exc)
            if idx:
                out[idx] = backbone(torch.stack(pixels).to(device)).float().cpu().numpy()
            bar.update(min(batch_size, len(images) - start))
    backbone.train(was_training)
    return out, bad


def scores(signatures: np.ndarray, pairs: np.ndarray, ks) -> dict | None:
    """Retrieval metrics of held-out ``pairs`` among all rows, rounded to 6 decimals (None: no pair)."""
    from artkg.models.signatures.clusters import retrieval_scores

    if not len(pairs):
        return None
    m = retrieval_scores(signatures, pairs, ks=ks)
    return {k: (round(v, 6) if isinstance(v, float) else v) for k, v in m.items()}


# ------------------------------------------------------------------ the collection and its split
def locate(kg, image_root=None) -> tuple[np.ndarray, list, dict[int, str]]:
    """Artworks with an image on disk: ``(graph indices, paths, {graph index: reason} for the others)``."""
    from artkg.models.images import resolve_image

    iris = kg.iris.get("artwork", [])
    images = list(kg.images) + [None] * (len(iris) - len(kg.images))
    found, paths, missing = [], [], {}
    for i, image in enumerate(images):
        path, reason = resolve_image(image, kg.root, image_root)
        if path is None:
            missing[i] = reason
        else:
            found.append(i)
            paths.append(path)
    return np.asarray(found, dtype=np.int64), paths, missing


def link_pairs(kg, config: SignatureConfig, works: np.ndarray, unusable: dict[int, str]) -> tuple[np.ndarray, np.ndarray, dict]:
    """Positive and explicit negative links as undirected ``[P, 2]`` pairs of collection rows, and what was skipped."""
    links = kg.visual_links
    positive = links.of_kind(*config.positive_kinds)
    if not len(positive):
        raise InputError(f"the graph at {kg.root} has no visual links of kind {', '.join(config.positive_kinds)}",
                         "add connections with `kgbuild links GRAPH_DIR FILE.csv` (columns a, b, kind)")
    row = np.full(kg.num_nodes("artwork"), -1, dtype=np.int64)
    row[works] = np.arange(len(works))
    iris = kg.iris["artwork"]

    def pairs_of(table, what: str, report: dict) -> np.ndarray:
        a, b = row[table.src], row[table.dst]
        ok = (a >= 0) & (b >= 0) & (a != b)
        bad = np.flatnonzero((a < 0) | (b < 0))
        if len(bad):
            report[f"{what}_links_without_image"] = int(len(bad))
            report.setdefault("examples", []).extend(
                {"a": iris[table.src[k]], "b": iris[table.dst[k]],
                 "reason": unusable.get(int(table.src[k])) or unusable.get(int(table.dst[k])) or "no image"}
                for k in bad[:3])
        p = np.sort(np.stack([a[ok], b[ok]], axis=1), axis=1)
        return np.unique(p, axis=0) if len(p) else np.zeros((0, 2), dtype=np.int64)

    report: dict = {"artworks_without_image": len(unusable)}
    pos = pairs_of(positive, "positive", report)
    neg = pairs_of(links.of_kind("negative"), "negative", report) if config.explicit_negatives \
        else np.zeros((0, 2), dtype=np.int64)
    if report.get("positive_links_without_image"):
        ex = report["examples"][0]
        log.warning("%d of %d connections are skipped: an artwork has no usable image (first: %s – %s: %s)",
                    report["positive_links_without_image"], len(positive), ex["a"], ex["b"], ex["reason"])
    if not len(pos):
        raise InputError(f"none of the {len(positive)} visual connections of {kg.root} joins two artworks with a "
                         "usable image", "pass image_root (the folder holding the image files) in the config, "
                                         "or add links between works with images (`kgbuild links`)")
    return pos, neg, report


def source_repeats(kg, config: SignatureConfig, works: np.ndarray, tp: np.ndarray,
                   train_rows: np.ndarray) -> np.ndarray | None:
    """Draws per epoch of each training connection ``tp`` (rows of ``train_rows``): the most that
    ``config.repeat_sources`` gives the sources of its links (e.g. ``{"annotation": 4}``: a round's
    verdicts four times), else 1. ``None`` when every connection is drawn once."""
    if not config.repeat_sources or not len(tp):
        return None
    links = kg.visual_links.of_kind(*config.positive_kinds)
    rep = np.array([config.repeat_sources.get(n, 1) if n else 1 for n in links.source_names()], dtype=np.int64)
    row = np.full(kg.num_nodes("artwork"), -1, dtype=np.int64)
    row[works] = np.arange(len(works))
    a, b = row[links.src], row[links.dst]
    best: dict[tuple[int, int], int] = {}
    for x, y, r in zip(np.minimum(a, b).tolist(), np.maximum(a, b).tolist(), rep.tolist()):
        if r > 1 and x >= 0:
            best[(x, y)] = max(best.get((x, y), 1), r)
    g = np.sort(train_rows[tp], axis=1)
    out = np.array([best.get((x, y), 1) for x, y in g.tolist()], dtype=np.int64)
    if (out == 1).all():
        return None
    log.info("%d of %d training connections drawn more than once per epoch (repeat_sources %s)",
             int((out > 1).sum()), len(out), config.repeat_sources)
    return out


def split_collection(n: int, pairs: np.ndarray, config: SignatureConfig) -> dict[str, np.ndarray]:
    """Collection rows per part: linked works by connected component, unlinked ones by share."""
    from artkg.models.signatures.split import component_split

    linked = np.unique(pairs)
    local = np.searchsorted(linked, pairs)
    parts = component_split(len(linked), local, config.fractions, seed=config.seed)
    unlinked = np.setdiff1d(np.arange(n), linked)
    rest = component_split(len(unlinked), np.zeros((0, 2), np.int64), config.fractions, seed=config.seed) \
        if len(unlinked) else {k: np.zeros(0, np.int64) for k in parts}
    return {k: np.sort(np.concatenate([linked[parts[k]], unlinked[rest[k]]])) for k in parts}


def learning_rate(config: SignatureConfig, progress: float) -> float:
    """The learning rate ``progress`` epochs into the run (``constant``, or ``cosine`` from ``lr`` to 0)."""
    if config.lr_schedule == "constant":
        return config.lr
    return 0.5 * config.lr * (1.0 + math.cos(math.pi * min(progress / config.epochs, 1.0)))


def split_rows(run_dir, kg, works: np.ndarray) -> tuple[dict, np.ndarray]:
    """A run's ``split.json`` and, for each work of its collection, its row in ``works`` (artwork
    indices of ``kg``; -1 where the work is not among them)."""
    from artkg.models.run import SPLIT

    split = json.loads((Path(run_dir) / SPLIT).read_text(encoding="utf-8"))
    index = {iri: i for i, iri in enumerate(kg.iris["artwork"])}
    row = np.full(kg.num_nodes("artwork"), -1, dtype=np.int64)
    row[works] = np.arange(len(works))
    return split, np.array([row[index[i]] if i in index else -1 for i in split["works"]], dtype=np.int64)


def split_init(kg, init, works: np.ndarray, pos: np.ndarray) -> dict[str, np.ndarray]:
    """A warm start's split: the ``init`` run's parts, connections new since it in train
    (:func:`~.split.inherit_split`), so that the init's validation and test connections stay unseen."""
    from artkg.models.signatures.split import PARTS, inherit_split

    split, init_rows = split_rows(init, kg, works)
    init_part = np.full(len(works), -1, dtype=np.int64)
    init_linked = np.zeros(len(works), dtype=bool)
    for k, name in enumerate(PARTS):
        r = init_rows[np.asarray(split["parts"].get(name, []), dtype=np.int64)]
        init_part[r[r >= 0]] = k
        c = init_rows[np.asarray(split["connections"].get(name, []), dtype=np.int64).reshape(-1)]
        init_linked[c[c >= 0]] = True
    parts = inherit_split(len(works), pos, init_part, init_linked)
    log.info("warm start: the split of %s kept (%s works)", init,
             ", ".join(f"{len(v)} {k}" for k, v in parts.items()))
    return parts


def active_stages(epoch: int, config: SignatureConfig, n_stages: int) -> int:
    """How many top stages train in ``epoch`` (0-based)."""
    n = 1 if epoch < config.first_stage_epochs else 2 + (epoch - config.first_stage_epochs) // config.unfreeze_every
    return min(n, n_stages, config.max_stages or n_stages)


# ------------------------------------------------------------------ training
def train_signatures(graph_dir, config: SignatureConfig | dict | str | None = None, out=None, progress: bool = False,
                     overwrite: bool = False, resume: bool = False,
                     on_epoch_end: Callable[[int, dict], None] | None = None) -> SignatureResult:
    """Fine-tune ``config.encoder`` on the visual links of the graph in ``graph_dir``; with ``out``,
    write the run directory (checkpointed each epoch; ``resume=True`` continues an unfinished one).
    ``on_epoch_end(epoch, record)`` is called after each epoch's checkpoint."""
    from artkg.kg.graph import load_graph

    config = SignatureConfig.coerce(config)
    if config.init:
        check_init(config.init)
    kg = load_graph(graph_dir)
    if not len(kg.visual_links.of_kind(*config.positive_kinds)):  # before any slow work, and before --out exists
        raise InputError(f"the graph at {kg.root} has no visual links of kind {', '.join(config.positive_kinds)}",
                         "add connections with `kgbuild links GRAPH_DIR FILE.csv` (columns a, b, kind)")
    if out is None:
        return _train(kg, config, None, progress, resume, on_epoch_end)
    from artkg.models.run import run_directory

    with run_directory(out, overwrite) as root:
        return _train(kg, config, Path(root), progress, resume, on_epoch_end, overwrite)


def check_init(run_dir) -> Path:
    """``run_dir`` as a Path, checked to be a finished signatures run (weights and split)."""
    from artkg.models.run import SPLIT, WEIGHTS

    run_dir = Path(run_dir)
    for name in (WEIGHTS, SPLIT):
        if not (run_dir / name).is_file():
            raise InputError(f"init {run_dir} is not a finished signatures run (no {name})",
                             "pass the --out folder of an earlier `artkg train signatures`")
    return run_dir


def init_weights(run_dir, backbone: SignatureBackbone) -> dict:
    """The fine-tuned weights of the signatures run ``run_dir``, checked to fit ``backbone``."""
    from safetensors.torch import load_file

    from artkg.models.run import WEIGHTS, read_config

    run_dir = check_init(run_dir)
    spec = read_config(run_dir).get("backbone", {})
    if spec.get("cache_key") != backbone.cache_key():
        raise InputError(f"init {run_dir} was trained from {spec.get('cache_key')}, not {backbone.cache_key()}",
                         "use the same encoder and encoder_kwargs as the init run")
    return load_file(str(run_dir / WEIGHTS))


def _identity(kg, config: SignatureConfig, backbone: SignatureBackbone, works: np.ndarray) -> str:
    cfg = {k: v for k, v in config.to_dict().items() if k not in ("epochs", "device", "threads", "cache_images_mb")}
    return json.dumps({"config": cfg, "id_map_hash": kg.manifest.get("id_map_hash"), "cache_key": backbone.cache_key(),
                       "works": int(len(works)), "works_sum": int(works.sum())}, sort_keys=True)


def _train(kg, config: SignatureConfig, out: Path | None, progress: bool, resume: bool, on_epoch_end,
           overwrite: bool = False) -> SignatureResult:
    from artkg.models.features import resolve_device
    from artkg.models.signatures.loss import compound_hinge
    from artkg.models.signatures.mining import epoch_triplets
    from artkg.models.signatures.split import components, held_out_pairs

    if config.threads:
        torch.set_num_threads(config.threads)
    ckpt_path = out / CHECKPOINT if out is not None else None
    if ckpt_path is not None and ckpt_path.exists() and not resume and not overwrite:
        raise InputError(f"{out} holds the checkpoint of an unfinished signatures run",
                         "pass --resume to continue it, or --overwrite to start afresh")
    device = resolve_device(config.device)
    torch.manual_seed(config.seed)
    backbone = SignatureBackbone(config.encoder, config.encoder_kwargs).to(device)
    works, paths, missing = locate(kg, config.image_root)
    if not len(works):
        raise InputError(f"none of the {kg.num_nodes('artwork')} artwork images of {kg.root} is available locally",
                         "pass image_root (the folder holding the image files) in the config")
    images = Images(paths, backbone, config.cache_images_mb)
    pretrained, bad = compute_signatures(backbone, images, config.eval_batch_size, device, progress,
                                         "pretrained signatures", tolerant=True)
    if bad:  # undecodable files leave the collection
        keep = np.setdiff1d(np.arange(len(works)), list(bad))
        missing.update({int(works[i]): r for i, r in bad.items()})
        works, paths, pretrained = works[keep], [paths[i] for i in keep], pretrained[keep]
        images = Images(paths, backbone, config.cache_images_mb)
    pos, neg, skipped = link_pairs(kg, config, works, missing)
    parts = split_init(kg, config.init, works, pos) if config.init else split_collection(len(works), pos, config)
    pairs = held_out_pairs(pos, parts)
    if not len(pairs["test"]):
        raise InputError(f"the test part holds no connection ({len(pos)} connections in "
                         f"{len(np.unique(components(len(works), pos)[np.unique(pos)]))} groups)",
                         "add connections (`kgbuild links`) or raise the test share in fractions")
    if not len(pairs["val"]):
        log.warning("the validation part holds no connection: the last epoch is kept")
    ks = tuple(config.ks)
    metrics: dict = {"task": TASK, "encoder": config.encoder,
                     "test": {"pretrained": scores(pretrained, pairs["test"], ks)},
                     "val": {"pretrained": scores(pretrained, pairs["val"], ks)}}

    train_rows = parts["train"]
    tp = np.searchsorted(train_rows, pairs["train"])  # training connections in training-part rows
    comp = components(len(train_rows), tp)
    negs_of: dict[int, list[int]] = {}  # explicit negatives between training works of different components
    tn = np.searchsorted(train_rows, neg[np.isin(neg, train_rows).all(axis=1)])
    tn = tn[comp[tn[:, 0]] != comp[tn[:, 1]]]
    for ia, ib in tn.tolist():
        negs_of.setdefault(ia, []).append(ib)
        negs_of.setdefault(ib, []).append(ia)
    views = tn if config.negative_views else None
    reps = source_repeats(kg, config, works, tp, train_rows)
    from artkg.models.signatures.augment import make_augment

    augment = make_augment(config.augment, config.augment_kwargs, backbone.transform)
    stages = backbone.stages()
    optimizer = torch.optim.AdamW([p for g in stages for p in g], lr=config.lr, weight_decay=config.weight_decay)
    identity = _identity(kg, config, backbone, works)
    history: list[dict] = []
    start, best_state, best_epoch, best_score = 0, None, -1, -np.inf
    if ckpt_path is not None and resume and ckpt_path.exists():
        state = torch.load(ckpt_path, map_location="cpu", weights_only=True)
        if state.get("identity") != identity:
            raise InputError(f"the checkpoint in {out} was written for another config, backbone or graph",
                             "rerun with the same config, or with --overwrite (without --resume) to start afresh")
        backbone.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        start, best_epoch, best_score = int(state["epoch"]), int(state["best_epoch"]), float(state["best_score"])
        best_state, history = state["best"], json.loads(state["history"])
        log.info("resuming %s after epoch %d", out, start)
    if config.init and start == 0:
        backbone.load_state_dict(init_weights(config.init, backbone))
        metrics["init"] = str(Path(config.init).resolve())
    current = pretrained if start == 0 and not config.init else \
        compute_signatures(backbone, images, config.eval_batch_size, device, progress, "signatures")[0]
    for epoch in range(start, config.epochs):
        t0 = time.perf_counter()
        n_active = backbone.set_trainable(active_stages(epoch, config, len(stages)))
        triplets, counts = epoch_triplets(current[train_rows], tp, comp, negs_of, k=config.k_negatives,
                                          seed=config.seed, epoch=epoch, explicit_rate=config.explicit_negative_rate,
                                          repeats=reps, negative_views=views, size=config.epoch_size)
        triplets = train_rows[triplets]
        losses = []
        from tqdm.auto import tqdm

        aug_rng = np.random.default_rng([config.seed, epoch, 2])
        steps = range(0, len(triplets), config.batch_size)
        for k, s in enumerate(tqdm(steps, desc=f"epoch {epoch + 1}/{config.epochs}", disable=not progress,
                                   file=sys.stderr, leave=False, dynamic_ncols=True)):
            for group in optimizer.param_groups:  # from (epoch, step) alone, so a resumed run follows it too
                group["lr"] = learning_rate(config, epoch + k / max(1, len(steps)))
            batch = triplets[s:s + config.batch_size]
            x = images.batch(batch.T.ravel())  # all A, then all B, then all C
            x = (augment(x, aug_rng) if augment is not None else x).to(device)
            sig = backbone(x).view(3, len(batch), -1)
            loss = compound_hinge(sig[0], sig[1], sig[2], config.margin, config.margin2, distance=config.distance)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            losses.append(float(loss.detach()))
        current = compute_signatures(backbone, images, config.eval_batch_size, device, progress, "signatures")[0]
        val = scores(current, pairs["val"], ks)
        record = {"epoch": epoch, "loss": round(float(np.mean(losses)), 6) if losses else None,
                  **counts,
                  "stages": n_active, "val_mAP": val["mAP"] if val else None,
                  "seconds": round(time.perf_counter() - t0, 3)}
        history.append(record)
        score = val["mAP"] if val else float(epoch)
        if score > best_score:
            best_score, best_epoch = score, epoch
            best_state = {k: v.detach().cpu().clone() for k, v in backbone.state_dict().items()}
        log.info("epoch %d: loss %s, val mAP %s, %d stage(s) trained", epoch + 1, record["loss"], record["val_mAP"],
                 n_active)
        if ckpt_path is not None:
            _checkpoint(ckpt_path, identity, epoch + 1, backbone, optimizer, best_state, best_epoch, best_score, history)
        if on_epoch_end is not None:
            on_epoch_end(epoch, record)
    if best_state is not None and best_epoch != len(history) - 1:
        backbone.load_state_dict(best_state)
        current = compute_signatures(backbone, images, config.eval_batch_size, device, progress, "signatures")[0]
    metrics["test"]["fine_tuned"] = scores(current, pairs["test"], ks)
    metrics["val"]["fine_tuned"] = scores(current, pairs["val"], ks)
    if not len(pairs["val"]):
        metrics.pop("val")
    metrics.update(best_epoch=best_epoch, epochs_run=len(history), skipped=skipped,
                   split={"works": int(len(works)), **{k: int(len(v)) for k, v in parts.items()},
                          "connections": {k: int(len(v)) for k, v in pairs.items()},
                          "explicit_negatives": int(len(neg))})
    backbone.set_trainable(0)
    backbone.eval()
    if out is not None:
        from artkg.models.signatures.run import write_run

        write_run(out, kg, config, backbone, metrics, history, works, parts, pairs, neg)
        ckpt_path.unlink(missing_ok=True)
    return SignatureResult(out, config, metrics, history, backbone)


def _checkpoint(path: Path, identity: str, epoch: int, backbone, optimizer, best_state, best_epoch: int,
                best_score: float, history: list) -> None:
    """Everything a resumed run needs, written atomically (read back with ``weights_only=True``)."""
    from artkg.kg.atomic import atomic_path

    state = {"identity": identity, "epoch": epoch, "model": backbone.state_dict(), "optimizer": optimizer.state_dict(),
             "best": best_state, "best_epoch": best_epoch, "best_score": float(best_score),
             "history": json.dumps(history)}
    with atomic_path(path) as tmp:
        torch.save(state, tmp)
