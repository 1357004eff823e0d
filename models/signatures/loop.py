"""The expert in the loop: propose new connections from clusters, take an annotator's verdicts back.

One round is three commands::

    artkg signatures propose RUN --out proposals/          # clusters → pairs not yet known, sheets
    (an art historian fills the kind column of proposals/verdicts.csv: positive or negative)
    artkg signatures annotate GRAPH_DIR proposals/verdicts.csv
    artkg train signatures GRAPH_DIR --out RUN2            # retrains on the new positives and negatives

:func:`propose` computes the fine-tuned signature of every artwork with an image, clusters them
(:func:`~artkg.models.signatures.clusters.cluster`, OPTICS by default) and keeps the clusters holding at
least one pair of works that the graph does not link yet (in any kind: a pair once judged negative
is not proposed again); or, with ``method="neighbours"``, it takes the unknown pairs among each work's
nearest works, ranked against hubs (CSLS), and groups the best of them. It writes, staged and
renamed into place:

- ``verdicts.csv`` — one row per proposed pair: ``a``, ``b`` (artwork IRIs), an empty ``kind`` for the
  annotator, ``cluster``, ``similarity`` (cosine of the signatures), both labels and image paths;
- ``proposals.json`` — the run, the method, and per cluster its works (IRI, label, image) and pairs;
- ``sheets/cluster_<id>.png`` — a contact sheet per proposed cluster, the works numbered as in the JSON.

:func:`annotate` adds the reviewed rows as ``visually_linked`` links (rows with an empty kind are
counted as not reviewed; any other kind than positive, similar, duplicate, negative or wrong stops it
with one line before the graph is touched). :func:`simulate_annotator` fills the kind column from a
synthetic world's ground truth (the motif families of ``kgbuild synth --motifs``), so that rounds of
the loop can be measured offline.
"""
from __future__ import annotations

import json
import logging
import shutil
import tempfile
from pathlib import Path

import numpy as np

from artkg.kg.errors import InputError

log = logging.getLogger("artkg")

NEIGHBOURS = "neighbours"  # propose's method of nearest pairs, ranked by CSLS (see neighbours.py)
VERDICTS = "verdicts.csv"
PROPOSALS = "proposals.json"
SHEETS = "sheets"
COLUMNS = ["a", "b", "kind", "cluster", "similarity", "a_label", "b_label", "a_image", "b_image"]


def collection_signatures(run_dir, graph_dir=None, image_root=None, device: str = "auto", progress: bool = False,
                          pretrained: bool = False):
    """``(signatures [m, d], artwork indices [m], image paths, graph)`` of every artwork of the run's
    graph whose image is found and decodes (fine-tuned weights unless ``pretrained``)."""
    from artkg.models.features import resolve_device
    from artkg.models.signatures.config import SignatureConfig
    from artkg.models.signatures.run import load_signature_run
    from artkg.models.signatures.train import Images, compute_signatures, locate

    dev = resolve_device(device)
    backbone, cfg, graph = load_signature_run(run_dir, graph_dir, dev, pretrained=pretrained)
    config = SignatureConfig.from_dict(cfg["train"], where=f"{run_dir}/config.json")
    works, paths, _ = locate(graph, image_root or config.image_root)
    if not len(works):
        raise InputError(f"none of the {graph.num_nodes('artwork')} artwork images of {graph.root} is available "
                         "locally", "pass --image-root DIR with the image files")
    sig, bad = compute_signatures(backbone, Images(paths, backbone, 0), config.eval_batch_size, dev, progress,
                                  "signatures", tolerant=True)
    keep = np.setdiff1d(np.arange(len(works)), list(bad))
    return sig[keep], works[keep], [paths[i] for i in keep], graph


def known_pairs(graph) -> set[tuple[int, int]]:
    """Every linked pair of artworks of ``graph`` (any kind), as ``(low, high)`` artwork indices."""
    links = graph.visual_links
    lo, hi = np.minimum(links.src, links.dst), np.maximum(links.src, links.dst)
    return set(zip(lo.tolist(), hi.tolist()))


def run_families(run_dir, graph, works: np.ndarray, parts=("val", "test")) -> list[list[int]]:
    """The connected groups of the run's ``parts`` connections (never trained on), as rows of ``works``."""
    from artkg.models.signatures.split import components
    from artkg.models.signatures.train import split_rows

    split, run_rows = split_rows(run_dir, graph, works)
    pairs = np.concatenate([np.asarray(split["connections"].get(p, []), dtype=np.int64).reshape(-1, 2)
                            for p in parts])
    pairs = run_rows[pairs] if len(pairs) else pairs
    pairs = pairs[(pairs >= 0).all(axis=1)]
    if not len(pairs):
        return []
    comp = components(len(works), pairs)
    linked = np.unique(pairs)
    return [linked[comp[linked] == c].tolist() for c in np.unique(comp[linked])]


def calibrate_eps(signatures, families, grid=None, min_samples: int = 2, beta: float = 0.5,
                  max_cluster_size: int | None = None) -> dict:
    """The OPTICS cut (``max_eps``) that best recovers ``families`` (lists of rows): OPTICS is fitted
    once up to the largest candidate, then cut at each (:func:`sklearn.cluster.cluster_optics_dbscan`);
    the score is the F-beta of the families' mean recall and mean precision
    (:func:`~artkg.models.signatures.clusters.family_scores`); ``beta = 0.5`` weighs precision more,
    since every wrong pair in a cluster costs the annotator a look. With ``max_cluster_size``, larger
    clusters count as noise, as :func:`propose` leaves them out. ``grid`` defaults to 40 quantiles of the
    works' nearest-neighbour distances and 1.25–3 times the largest, so it follows the signatures' own scale. Returns
    ``{"max_eps", "score", "recall", "precision", "grid": [[eps, score], ...]}``."""
    from sklearn.cluster import OPTICS, cluster_optics_dbscan

    from artkg.models.signatures.clusters import FAST_MIN_N, _as_matrix, _fit_on_graph, family_scores

    x = _as_matrix(signatures)
    fams = [f for f in families if len(set(f)) > 1]
    if not fams:
        raise InputError("no family of two or more works to calibrate the clustering on",
                         "pass max_eps explicitly (e.g. --max-eps 0.13)")
    if grid is None:
        nn = np.empty(len(x))
        step = max(1, (1 << 24) // len(x))
        for start in range(0, len(x), step):  # nearest-neighbour distances, a block of rows at a time
            d = 1.0 - x[start:start + step] @ x.T
            d[np.arange(len(d)), np.arange(start, start + len(d))] = np.inf
            nn[start:start + len(d)] = np.maximum(d.min(axis=1), 0.0)
        grid = np.unique(np.r_[np.quantile(nn, np.linspace(0.02, 1.0, 40)), nn.max() * np.array([1.25, 1.5, 2, 3])])
        grid = grid[grid > 0] if (grid > 0).any() else np.array([1e-6])
    grid = np.asarray(grid, dtype=np.float64)
    top = float(grid.max())
    opt = OPTICS(metric="cosine", max_eps=top, eps=top, min_samples=min_samples, cluster_method="dbscan")
    if len(x) >= FAST_MIN_N and top < 1:  # the sparse radius graph of cluster()'s fast path
        _fit_on_graph("optics", opt, x)
    else:
        opt.fit(x)
    table, best = [], None
    for eps in grid.tolist():
        labels = cluster_optics_dbscan(reachability=opt.reachability_, core_distances=opt.core_distances_,
                                       ordering=opt.ordering_, eps=eps)
        if max_cluster_size is not None and (labels >= 0).any():
            sizes = np.bincount(labels[labels >= 0])
            labels = np.where((labels >= 0) & (sizes[np.maximum(labels, 0)] > max_cluster_size), -1, labels)
        f = family_scores(labels, fams)
        r, p = f["mean_recall"], f["mean_precision"]
        score = (1 + beta ** 2) * r * p / (beta ** 2 * r + p) if r + p > 0 else 0.0
        table.append([round(eps, 6), round(score, 6)])
        if best is None or score > best["score"]:
            best = {"max_eps": float(eps), "score": score, "recall": r, "precision": p}
    return {**best, "families": len(fams), "grid": table}


def run_clusters(run_dir, sig, works, graph, method="optics", method_kwargs: dict | None = None, max_eps="auto",
                 max_cluster_size: int | None = 12, split: bool = False):
    """``(labels, the clusterer's kwargs, calibration or None)`` of a run's collection signatures; for
    OPTICS, ``max_eps="auto"`` is :func:`calibrate_eps` on the run's validation and test connections
    (see :func:`propose`), a number fixes it, ``None`` leaves ``method_kwargs`` alone. ``split``: cut
    clusters above ``max_cluster_size`` again at smaller radii
    (:func:`~artkg.models.signatures.clusters.split_large`) instead of leaving them whole."""
    from artkg.models.signatures.clusters import cluster, split_large

    method_kwargs = dict(method_kwargs or {})
    calibration = None
    if isinstance(method, str) and method.strip().lower() == "optics" and max_eps is not None:
        if max_eps == "auto":
            fams = run_families(run_dir, graph, works)
            if not fams:
                raise InputError(f"the run {run_dir} has no validation or test connection to calibrate max_eps on",
                                 "pass --max-eps (e.g. 0.13)")
            calibration = calibrate_eps(sig, fams, min_samples=int(method_kwargs.get("min_samples", 2)),
                                        max_cluster_size=max_cluster_size)
            method_kwargs["max_eps"] = calibration["max_eps"]
            log.info("OPTICS max_eps %.4g (recovers %d held-out known groups: recall %.2f, precision %.2f)",
                     calibration["max_eps"], calibration["families"], calibration["recall"], calibration["precision"])
        else:
            method_kwargs["max_eps"] = float(max_eps)
    labels = cluster(sig, method, **method_kwargs)
    if split and max_cluster_size is not None:
        labels = split_large(sig, labels, max_cluster_size, method, **method_kwargs)
    return labels, method_kwargs, calibration


def propose(run_dir, out, graph_dir=None, method="optics", method_kwargs: dict | None = None,
            max_cluster_size: int = 12, max_pairs: int | None = None, sheets: bool = True, image_root=None,
            device: str = "auto", progress: bool = False, overwrite: bool = False, signatures=None,
            max_eps="auto", split: bool = False) -> dict:
    """Export the clusters of ``run_dir``'s signatures that hold unknown pairs (see the module docstring).

    ``max_eps`` (OPTICS only): ``"auto"`` cuts the OPTICS ordering where it best recovers the run's
    validation and test connections (:func:`calibrate_eps`; fine-tuning changes the signatures' scale,
    and a fixed 0.13 may chain everything into one cluster or nothing at all); a number fixes it (the
    thesis: 0.13); ``None`` leaves ``method_kwargs`` alone. ``signatures``: an optional ``(signatures,
    artwork indices, paths, graph)`` tuple as returned by :func:`collection_signatures`, to skip
    recomputing them. Clusters above ``max_cluster_size`` works are not proposed (their pairs would
    swamp the annotator; they are counted in ``too_large``). ``max_pairs``: the annotator's budget; only
    that many unknown pairs are exported, the most similar of all clusters (a cluster left without a pair
    is not exported; the rest are counted in ``beyond_max_pairs`` and come back in the next round).
    ``split`` (OPTICS and DBSCAN): cut such clusters again at smaller radii until the pieces fit
    (:func:`~artkg.models.signatures.clusters.split_large`; a chained cluster of hundreds of works then
    yields proposals too). ``method="neighbours"`` proposes pairs instead of clusters: the unknown pairs
    among each work's ``k`` nearest, ranked by CSLS (:func:`~artkg.models.signatures.neighbours.nearest_pairs`,
    ``method_kwargs`` ``k`` and ``hub_k``, both 10 by default), the best ``max_pairs`` of them (without a
    budget, those scoring above 0); the kept pairs' connected groups are the exported clusters
    (``max_cluster_size``, ``split`` and ``max_eps`` do not apply). Returns the summary written to
    ``proposals.json`` (without the clusters)."""
    from artkg.models.signatures.loss import l2_normalise

    out = Path(out)
    if out.exists() and any(out.iterdir()) and not overwrite:
        raise InputError(f"{out} already holds files", "choose another --out, or pass --overwrite to replace it")
    if max_cluster_size < 2:
        raise InputError(f"max_cluster_size {max_cluster_size} leaves no cluster to propose", "pass 2 or more")
    if max_pairs is not None and max_pairs < 1:
        raise InputError(f"max_pairs {max_pairs} leaves no pair to propose", "pass 1 or more, or leave it unset")
    sig, works, paths, graph = signatures or collection_signatures(run_dir, graph_dir, image_root, device, progress)
    links = graph.visual_links
    n_art = int(max(graph.num_nodes("artwork"), 1))
    known = np.unique(np.minimum(links.src, links.dst).astype(np.int64) * n_art + np.maximum(links.src, links.dst))

    def unknown(a, b):  # rows -> True where the graph links neither way
        wa, wb = works[a].astype(np.int64), works[b].astype(np.int64)
        return ~np.isin(np.minimum(wa, wb) * n_art + np.maximum(wa, wb), known)

    calibration, too_large, members_of = None, [], {}
    if isinstance(method, str) and method.strip().lower() == NEIGHBOURS:
        method_kwargs, labels, cand = _neighbour_candidates(sig, method_kwargs, max_pairs, unknown)
    else:
        labels, method_kwargs, calibration = run_clusters(run_dir, sig, works, graph, method, method_kwargs, max_eps,
                                                          max_cluster_size, split)
        x = l2_normalise(sig)
        cand = []
        for c in np.unique(labels[labels >= 0]).tolist():
            members = members_of[c] = np.flatnonzero(labels == c)
            if len(members) > max_cluster_size:
                too_large.append(int(len(members)))
                continue
            i, j = np.triu_indices(len(members), k=1)
            new = unknown(members[i], members[j])
            sims = (x[members] @ x[members].T)[i[new], j[new]]
            cand.append(np.stack([-sims, np.full(int(new.sum()), c), members[i[new]], members[j[new]], sims], axis=1))
        cand = np.concatenate(cand) if cand else np.zeros((0, 5))
        cand = cand[np.lexsort((cand[:, 3], cand[:, 2], cand[:, 1], cand[:, 0]))]  # most similar first, then by cluster
    dropped = max(0, len(cand) - max_pairs) if max_pairs is not None else 0
    cand = cand[:len(cand) - dropped]
    if labels is None:  # neighbours: the kept pairs' connected groups are the clusters
        labels = _pair_groups(len(sig), cand[:, 2:4].astype(np.int64))
        cand[:, 1] = labels[cand[:, 2].astype(np.int64)]
    iris, names = graph.iris["artwork"], graph.labels.get("artwork", [])
    by_cluster = {}
    for _, c, a, b, sim in cand.tolist():
        c, a, b = int(c), int(a), int(b)
        if c not in members_of:  # neighbours' groups (the clusters' members were kept above)
            members_of[c] = np.flatnonzero(labels == c)
        m = members_of[c]
        by_cluster.setdefault(c, []).append((int(np.searchsorted(m, a)), int(np.searchsorted(m, b)), sim))
    clusters, rows = [], []
    for c, pairs in sorted(by_cluster.items()):
        members = members_of[c]
        entry = {"cluster": int(c), "works": [{"id": iris[works[m]], "label": names[works[m]] if works[m] < len(names)
                                                else "", "image": str(paths[m])} for m in members],
                 "pairs": [[i, j, round(s, 6)] for i, j, s in pairs]}
        clusters.append(entry)
        for i, j, s in pairs:
            wa, wb = entry["works"][i], entry["works"][j]
            rows.append([wa["id"], wb["id"], "", int(c), round(s, 6), wa["label"], wb["label"], wa["image"], wb["image"]])
    if dropped:
        log.info("%d of %d unknown pairs kept (max_pairs), the most similar; %d left for a later round",
                 len(rows), len(rows) + dropped, dropped)
    if too_large:
        log.warning("%d clusters above %d works were not proposed (sizes %s); tighten the clustering "
                    "(e.g. max_eps) or raise max_cluster_size", len(too_large), max_cluster_size, too_large[:5])
    summary = {"run": str(Path(run_dir).resolve()), "graph": str(Path(graph.root).resolve()),
               "method": method if isinstance(method, str) else type(method).__name__,
               "method_kwargs": method_kwargs, "calibration": calibration, "works": int(len(works)),
               "clusters": int(len(np.unique(labels[labels >= 0]))), "noise": int((labels < 0).sum()),
               "proposed_clusters": len(clusters), "proposed_pairs": len(rows), "too_large": too_large,
               "max_cluster_size": int(max_cluster_size), "max_pairs": max_pairs, "beyond_max_pairs": dropped,
               "split": bool(split)}
    _write(out, summary, clusters, rows, sheets)
    return summary


def _neighbour_candidates(sig, method_kwargs, max_pairs, unknown):
    """``(kwargs, None, [m, 5] rows of (−score, −1, i, j, cosine)))``: the unknown pairs among each
    work's nearest, best CSLS score first (without a budget, those scoring above 0)."""
    from artkg.models.signatures.neighbours import nearest_pairs

    kwargs = {"k": 10, "hub_k": 10, **(method_kwargs or {})}
    bad = sorted(set(kwargs) - {"k", "hub_k", "chunk_size"})
    if bad:
        raise InputError(f"the neighbours method takes no {bad}", 'pass k and hub_k only, e.g. {"k": 10, "hub_k": 10}')
    p = nearest_pairs(sig, **kwargs)
    keep = unknown(p["i"], p["j"])
    if max_pairs is None and kwargs["hub_k"]:
        keep &= p["score"] > 0
    cand = np.stack([-p["score"], np.full(len(p["i"]), -1.0), p["i"], p["j"], p["cosine"]], axis=1)[keep]
    return kwargs, None, cand


def _pair_groups(n: int, pairs: np.ndarray) -> np.ndarray:
    """``[n]`` labels: the connected groups of ``pairs`` numbered 0.. by their lowest row; ``-1`` for rows
    in no pair."""
    from artkg.models.signatures.split import components

    labels = np.full(n, -1, dtype=np.int64)
    if len(pairs):
        comp = components(n, pairs)
        linked = np.unique(pairs)
        labels[linked] = np.unique(comp[linked], return_inverse=True)[1]
    return labels


def _write(out: Path, summary: dict, clusters: list, rows: list, sheets: bool) -> None:
    """Stage the proposals folder beside ``out`` and rename it into place."""
    import pandas as pd

    from artkg.kg.atomic import replace_dir

    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        pd.DataFrame(rows, columns=COLUMNS).to_csv(tmp / VERDICTS, index=False)
        (tmp / PROPOSALS).write_text(json.dumps({**summary, "clusters_proposed": clusters}, indent=1,
                                                ensure_ascii=False) + "\n", encoding="utf-8")
        if sheets:
            (tmp / SHEETS).mkdir()
            for entry in clusters:
                contact_sheet([w["image"] for w in entry["works"]],
                              [f"{k} {w['label'] or w['id'].rsplit('/', 1)[-1]}" for k, w in enumerate(entry["works"])],
                              tmp / SHEETS / f"cluster_{entry['cluster']:04d}.png",
                              title=f"cluster {entry['cluster']}: {len(entry['works'])} works, "
                                    f"{len(entry['pairs'])} unknown pairs")
        replace_dir(tmp, out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def contact_sheet(paths, captions, path, thumb: int = 160, columns: int = 6, title: str | None = None) -> Path:
    """A grid of ``paths``' thumbnails with ``captions`` below them, saved as PNG at ``path``
    (an unreadable image is a grey tile)."""
    from PIL import Image, ImageDraw, ImageFont

    n = len(paths)
    cols = max(1, min(columns, n))
    rows = (n + cols - 1) // cols
    pad, cap, head = 6, 16, 22 if title else 0
    sheet = Image.new("RGB", (cols * (thumb + pad) + pad, head + rows * (thumb + cap + pad) + pad), "white")
    draw = ImageDraw.Draw(sheet)
    font = ImageFont.load_default()
    if title:
        draw.text((pad, 5), title, fill="black", font=font)
    for k, (p, text) in enumerate(zip(paths, captions)):
        x, y = pad + (k % cols) * (thumb + pad), head + pad + (k // cols) * (thumb + cap + pad)
        try:
            with Image.open(p) as im:
                im = im.convert("RGB")
                im.thumbnail((thumb, thumb))
                sheet.paste(im, (x + (thumb - im.width) // 2, y + (thumb - im.height) // 2))
        except (OSError, ValueError):
            draw.rectangle([x, y, x + thumb, y + thumb], fill=(200, 200, 200))
        draw.text((x, y + thumb + 2), str(text)[: max(8, thumb // 6)], fill="black", font=font)
    sheet.save(path)
    return Path(path)


# ------------------------------------------------------------------ verdicts back into the graph
def read_verdicts(path) -> tuple[object, dict]:
    """The reviewed rows of a verdicts CSV and counts; unknown kinds raise one line naming them."""
    from artkg.kg.interactions_import import read_table
    from artkg.kg.links import kind_code
    from artkg.kg.links_import import ALIASES, ALLOWED, REQUIRED

    frame, cols = read_table(path, ALIASES, REQUIRED, what="verdicts", header="a,b,kind",
                             needs="a, b and kind (positive or negative)")
    kinds = frame[cols["kind"]].str.strip()
    reviewed = kinds != ""
    unknown = reviewed & np.array([kind_code(k) < 0 for k in kinds], dtype=bool)
    if unknown.any():
        first = int(np.flatnonzero(unknown.to_numpy())[0]) + 2
        seen = ", ".join(repr(k) for k in sorted(set(kinds[unknown]))[:3])
        raise InputError(f"{path} has {int(unknown.sum())} verdicts of unknown kind ({seen}; first on line {first}); "
                         "nothing was added", f"write one of {ALLOWED} in the kind column (leave it empty to skip a pair)")
    if not reviewed.any():
        raise InputError(f"no pair of {path} has a verdict (its kind column is empty in all {len(frame)} rows)",
                         "write positive or negative in the kind column of the pairs you reviewed")
    counts = {"rows": int(len(frame)), "reviewed": int(reviewed.sum()), "not_reviewed": int((~reviewed).sum())}
    for k in sorted(set(kinds[reviewed].str.lower())):
        counts[k] = int((kinds[reviewed].str.lower() == k).sum())
    return frame[reviewed.to_numpy()], counts


def annotate(graph_dir, verdicts, source: str | None = None) -> dict:
    """Add the reviewed verdicts of ``verdicts`` to the graph in ``graph_dir`` as visual links (source:
    ``source``, else the file's ``source`` column, else ``annotation``). Returns ``{"verdicts": counts,
    "links": the import report, "manifest": the new manifest}``."""
    from artkg.kg.links_import import add_links

    _, counts = read_verdicts(verdicts)  # checks every kind before the graph is touched
    manifest = add_links(graph_dir, [verdicts], source=source or "annotation")
    return {"verdicts": counts, "links": manifest.get("links", [{}])[-1], "manifest": manifest}


def simulate_annotator(verdicts, truth, out=None) -> dict:
    """Fill the kind column of ``verdicts`` from a synthetic world's ground truth (``ground_truth.json``
    of ``kgbuild synth --motifs``, or its folder): positive when both works belong to the same motif
    family, negative otherwise. Writes ``out`` (default: ``verdicts`` itself, atomically) and returns
    the counts (``positive``, ``negative``, ``precision`` of the proposals)."""
    import pandas as pd

    from artkg.kg.atomic import atomic_path

    truth = Path(truth)
    truth = truth / "ground_truth.json" if truth.is_dir() else truth
    if not truth.is_file():
        raise InputError(f"no ground truth at {truth}", "pass a world built by `kgbuild synth --motifs N`")
    motifs = json.loads(truth.read_text(encoding="utf-8")).get("motifs")
    if not motifs:
        raise InputError(f"{truth} has no motif families", "build the world with `kgbuild synth --motifs N`")
    family = {w: f["motif"] for f in motifs["families"] for w in f["works"]}
    frame = pd.read_csv(verdicts, dtype=str, keep_default_na=False)
    if not {"a", "b", "kind"} <= set(frame.columns):
        raise InputError(f"{verdicts} lacks the columns a, b, kind", "pass the verdicts.csv that `propose` wrote")
    same = [family.get(a, -1) >= 0 and family.get(a) == family.get(b, -2) for a, b in zip(frame["a"], frame["b"])]
    frame["kind"] = np.where(same, "positive", "negative")
    with atomic_path(out or verdicts) as tmp:
        frame.to_csv(tmp, index=False)
    n_pos = int(np.sum(same))
    return {"pairs": int(len(frame)), "positive": n_pos, "negative": int(len(frame) - n_pos),
            "precision": n_pos / len(frame) if len(frame) else None}


__all__ = ["annotate", "collection_signatures", "contact_sheet", "known_pairs", "propose", "read_verdicts",
           "simulate_annotator"]
