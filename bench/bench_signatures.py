"""Visual signatures benchmark (issue 12): signature extraction against the bare backbone forward, and
clustering 100k signatures.

Sections (each in its own child process, ``--threads`` torch/BLAS/OpenMP threads, default 1):

1. **extraction** — ``compute_signatures`` (:mod:`artkg.models.signatures.train`) with a
   ``SignatureBackbone("efficientnet_lite")`` (pretrained Lite0 weights, 224 px) over N painting-like
   images already decoded and preprocessed in memory (an object with the ``.get(i)`` / ``__len__`` /
   ``.paths`` of ``train.Images``), against the **bare** forward: ``backbone.net.extract_features(x)``
   under ``torch.no_grad()`` over the same batches, stacked before the clock starts. Same batch
   size, same threads; one warm-up round, then ``--repeat`` interleaved rounds (A B, B A, …).
   Headline: **bare ÷ ours** of the median times (= ours / bare throughput, goal ≥ 0.9). The
   signatures must equal the bare feature maps mean-pooled and L2-normalised (max |Δ| reported).
2. **cluster_large** — ``cluster(sig, "optics")`` (cosine, max_eps 0.13, min_samples 2, DBSCAN
   extraction; the radius-graph path) on 100,000 synthetic 1,280-d float32 signatures, once: wall
   and CPU seconds, the graph's share, and the child's peak RSS (``VmHWM``) beside its RSS with the
   data alone. Recipe: 5,000 families of 2–8 works (uniform), each work ``normalise(c + σ·g/√d)``
   around a random unit centre ``c`` with ``g ~ N(0, I)`` and σ ~ U(0.1, 0.3) per family (pairwise
   cosine distance ≈ σ²/(1 + σ²): 0.01–0.08, under 0.13); the other ~75,000 works isotropic random
   unit vectors (pairwise distance 1 ± 0.03: far apart); rows shuffled, seed 0. The families'
   recovery (``family_scores``) is reported as a sanity check.
3. **pairs_large** — ``nearest_pairs`` (each work's 10 nearest, CSLS over 10: the candidates of
   ``propose --method neighbours``) on the cluster_large rows, against ``cluster(sig, "optics")`` on
   the same rows in the same process: **pairs ÷ optics** of the wall times, and the share of family
   pairs among the top-scoring pairs (as many as there are family pairs).
4. **cluster_compare** — the same recipe at 5,000 works (250 families): plain scikit-learn
   (``fast=False``: ``OPTICS(metric="cosine")``, brute force per work) against the radius graph
   (``fast=True``), interleaved; **plain ÷ fast** of the medians and whether the labels are identical.

Usage: ``python bench/bench_signatures.py [--quick] [--only extraction cluster_large pairs_large cluster_compare]
[--repeat R] [--threads T]``. Table on stdout, JSON in ``bench/out/bench_signatures.json``.
"""
from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import interleaved, peak_rss_mib, sections_main, set_threads, table  # noqa: E402

SCRIPT = Path(__file__).resolve()
SIZES = {"extraction": ({"images": 160, "batch_size": 32, "image_size": 224},  # (full, quick)
                        {"images": 24, "batch_size": 8, "image_size": 224}),
         "cluster_large": ({"n": 100_000, "dim": 1280, "families": 5000},
                           {"n": 10_000, "dim": 1280, "families": 500}),
         "pairs_large": ({"n": 100_000, "dim": 1280, "families": 5000},
                         {"n": 10_000, "dim": 1280, "families": 500}),
         "cluster_compare": ({"n": 5000, "dim": 1280, "families": 250},
                             {"n": 1000, "dim": 256, "families": 50})}
REPEAT = (5, 2)  # (full, quick) interleaved rounds


def _rss_mib() -> float:
    with open("/proc/self/status", encoding="ascii") as fh:
        return next(int(line.split()[1]) / 1024 for line in fh if line.startswith("VmRSS:"))


# ---------------------------------------------------------------------------------- 1. extraction
class Preprocessed:
    """Decoded, preprocessed images in memory, with the interface ``compute_signatures`` reads."""

    def __init__(self, tensors: list):
        self.tensors = tensors
        self.paths = [f"memory://{i}" for i in range(len(tensors))]

    def __len__(self) -> int:
        return len(self.tensors)

    def get(self, i: int):
        return self.tensors[i]


def painting_tensors(backbone, n: int, seed: int = 0, side: int = 320) -> list:
    """``n`` painting-like pictures (smooth colour fields, brush strokes, grain) through the backbone's preprocess."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(seed)
    out = []
    yy, xx = np.mgrid[0:side, 0:side].astype(np.float32)
    for _ in range(n):
        coarse = (rng.random((rng.integers(3, 7), rng.integers(3, 7), 3)) * 255).astype(np.uint8)
        base = np.asarray(Image.fromarray(coarse).resize((side, side), Image.Resampling.BICUBIC), dtype=np.float32)
        angle, freq = rng.random() * np.pi, 0.05 + rng.random() * 0.25
        strokes = np.sin((xx * np.cos(angle) + yy * np.sin(angle)) * freq)[..., None] * 20
        pixels = np.clip(base + strokes + rng.normal(0, 6, (side, side, 1)), 0, 255).astype(np.uint8)
        out.append(backbone.preprocess(Image.fromarray(pixels)))
    return out


def worker_extraction(cfg: dict, repeat: int, threads: int) -> dict:
    import numpy as np
    import torch
    from artkg.models.signatures.backbone import SignatureBackbone
    from artkg.models.signatures.train import compute_signatures

    set_threads(threads)
    backbone = SignatureBackbone("efficientnet_lite", {"image_size": cfg["image_size"]}).eval()
    images = Preprocessed(painting_tensors(backbone, cfg["images"]))
    bs = cfg["batch_size"]
    batches = [torch.stack(images.tensors[s:s + bs]) for s in range(0, len(images), bs)]
    outs: dict = {}

    def bare():
        with torch.no_grad():
            outs["bare"] = [backbone.net.extract_features(x) for x in batches]

    def ours():
        outs["ours"] = compute_signatures(backbone, images, bs, "cpu")[0]

    res = interleaved({"bare": bare, "ours": ours}, repeat, warmup=1)
    pooled = torch.cat([f.mean(dim=(2, 3)) for f in outs["bare"]]).double()
    pooled = (pooled / pooled.norm(dim=1, keepdim=True)).numpy()
    return {**cfg, "threads": threads, "repeat": repeat, "bare_s": res["bare"], "ours_s": res["ours"],
            "bare_cpu_s": res["bare/cpu"], "ours_cpu_s": res["ours/cpu"], "dim": backbone.dim,
            "max_abs_diff_vs_bare_pooled": float(np.abs(outs["ours"] - pooled).max()),
            "peak_rss_mib": round(peak_rss_mib(), 1)}


def report_extraction(r: dict, threads: int, info: dict) -> dict:
    bare, ours = statistics.median(r["bare_s"]), statistics.median(r["ours_s"])
    n = r["images"]
    ratios = {"ours_over_bare_throughput": round(bare / ours, 3),
              "ours_over_bare_throughput_paired": round(statistics.median(
                  b / o for b, o in zip(r["bare_s"], r["ours_s"])), 3),
              "ours_images_per_s": round(n / ours, 2), "bare_images_per_s": round(n / bare, 2)}
    print(f"bench_signatures extraction: {n} preprocessed images in memory, EfficientNet-Lite0 at "
          f"{r['image_size']} px ({r['dim']}-d), batch {r['batch_size']}, {threads} thread(s), median of "
          f"{r['repeat']} interleaved rounds after 1 warm-up; load average {info.get('load_avg')}")
    print(table([["bare: net.extract_features(x), pre-stacked batches (baseline)", f"{bare:.3f}", f"{n / bare:.1f}",
                  "1.000×"],
                 ["ours: compute_signatures(backbone, images, B)", f"{ours:.3f}", f"{n / ours:.1f}",
                  f"{ratios['ours_over_bare_throughput']:.3f}×"]],
                ["variant", "median (s)", "images/s", "throughput ÷ bare"]))
    print(f"signatures: extraction ours/bare throughput {ratios['ours_over_bare_throughput']}× of the medians, "
          f"{ratios['ours_over_bare_throughput_paired']}× median of the per-round ratios (goal ≥ 0.9); max |Δ| vs "
          f"the bare maps mean-pooled and normalised {r['max_abs_diff_vs_bare_pooled']:.1e}\n")
    return ratios


# ---------------------------------------------------------------------------------- 2./3. clustering
def synthetic_signatures(n: int, dim: int, families: int, seed: int = 0):
    """The recipe of the module docstring: ``(float32 [n, dim] unit rows, list of family row arrays)``."""
    import numpy as np

    rng = np.random.default_rng(seed)
    sizes = rng.integers(2, 9, size=families)
    members = int(sizes.sum())
    if members > n:
        raise ValueError(f"{families} families hold {members} works, more than n = {n}")
    x = rng.standard_normal((n, dim), dtype=np.float32)  # rows beyond the families: isotropic background
    centre = rng.standard_normal((families, dim), dtype=np.float32)
    centre /= np.linalg.norm(centre, axis=1, keepdims=True)
    sigma = rng.uniform(0.1, 0.3, size=families).astype(np.float32)
    fam = np.repeat(np.arange(families), sizes)
    x[:members] = centre[fam] + (sigma[fam, None] / np.sqrt(dim)) * x[:members]
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    perm = rng.permutation(n)
    x = x[perm]
    where = np.argsort(perm)  # old row -> new row
    bounds = np.concatenate([[0], np.cumsum(sizes)])
    groups = [np.sort(where[bounds[f]:bounds[f + 1]]) for f in range(families)]
    return x, groups


def _graph_timer():
    """Wrap ``clusters._radius_graph`` to time it and count its entries."""
    from artkg.models.signatures import clusters

    real, seen = clusters._radius_graph, {}

    def timed(*args, **kwargs):
        t0 = time.perf_counter()
        g = real(*args, **kwargs)
        seen.update(graph_s=time.perf_counter() - t0, nnz=int(g.nnz))
        return g

    clusters._radius_graph = timed
    return seen


def worker_cluster_large(cfg: dict, repeat: int, threads: int) -> dict:

    from artkg.models.signatures.clusters import cluster, family_scores

    set_threads(threads)
    x, groups = synthetic_signatures(cfg["n"], cfg["dim"], cfg["families"])
    rss_data = _rss_mib()
    seen = _graph_timer()
    t0, c0 = time.perf_counter(), time.process_time()
    labels = cluster(x, "optics")
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    s = family_scores(labels, groups)
    return {**cfg, "threads": threads, "wall_s": wall, "cpu_s": cpu, "graph_s": seen.get("graph_s"),
            "graph_nnz": seen.get("nnz"), "clusters": int(labels.max() + 1), "noise": int((labels < 0).sum()),
            "members": int(sum(len(g) for g in groups)), "mean_recall": s["mean_recall"],
            "mean_precision": s["mean_precision"], "rss_data_mib": round(rss_data, 1),
            "peak_rss_mib": round(peak_rss_mib(), 1), "data_mib": round(x.nbytes / 2**20, 1),
            "fast_path": seen.get("graph_s") is not None}


def report_cluster_large(r: dict, threads: int, info: dict) -> dict:
    ratios = {"cluster_large_s": round(r["wall_s"], 2),
              "cluster_large_n": r["n"], "cluster_large_peak_mib": r["peak_rss_mib"]}
    print(f"bench_signatures cluster_large: cluster(sig, 'optics') on {r['n']:,} × {r['dim']} float32 signatures "
          f"({r['families']:,} families, {r['members']:,} works in them), {threads} thread(s), once; load average "
          f"{info.get('load_avg')}")
    print(table([["wall (s)", f"{r['wall_s']:.1f}"], ["CPU (s)", f"{r['cpu_s']:.1f}"],
                 ["  of which the radius graph (s)", f"{r['graph_s']:.1f}"],
                 ["graph entries (incl. diagonal)", f"{r['graph_nnz']:,}"],
                 ["peak RSS (MiB)", f"{r['peak_rss_mib']:.0f}"],
                 ["RSS with the data alone (MiB)", f"{r['rss_data_mib']:.0f}"],
                 ["clusters / noise", f"{r['clusters']:,} / {r['noise']:,}"],
                 ["family recall / precision", f"{r['mean_recall']:.3f} / {r['mean_precision']:.3f}"]],
                ["measure", "value"]))
    print(f"signatures: cluster {r['n']:,} signatures (optics) {r['wall_s']:.1f} s, peak RSS "
          f"{r['peak_rss_mib'] / 1024:.2f} GiB\n")
    return ratios


def worker_cluster_compare(cfg: dict, repeat: int, threads: int) -> dict:
    import numpy as np
    from artkg.models.signatures.clusters import cluster

    set_threads(threads)
    x, _ = synthetic_signatures(cfg["n"], cfg["dim"], cfg["families"])
    out: dict = {}
    reps = max(1, min(repeat, 3))  # plain scikit-learn is the slow one

    def plain():
        out["plain"] = cluster(x, "optics", fast=False)

    def fast():
        out["fast"] = cluster(x, "optics", fast=True)

    res = interleaved({"plain": plain, "fast": fast}, reps)
    dbscan_same = bool(np.array_equal(cluster(x, "dbscan", fast=False), cluster(x, "dbscan", fast=True)))
    return {**cfg, "threads": threads, "repeat": reps, "plain_s": res["plain"], "fast_s": res["fast"],
            "identical_labels": bool(np.array_equal(out["plain"], out["fast"])), "identical_labels_dbscan": dbscan_same,
            "clusters": int(out["fast"].max() + 1)}


def report_cluster_compare(r: dict, threads: int, info: dict) -> dict:
    plain, fast = statistics.median(r["plain_s"]), statistics.median(r["fast_s"])
    ratios = {"plain_over_fast": round(plain / fast, 2), "compare_n": r["n"],
              "identical_labels": r["identical_labels"] and r["identical_labels_dbscan"]}
    print(f"bench_signatures cluster_compare: {r['n']:,} × {r['dim']} signatures ({r['families']} families), "
          f"{threads} thread(s), median of {r['repeat']} interleaved rounds")
    print(table([["plain scikit-learn: OPTICS(metric='cosine') (baseline)", f"{plain:.2f}", "1.0×"],
                 ["radius graph: cluster(..., fast=True)", f"{fast:.2f}", f"{plain / fast:.1f}×"]],
                ["variant", "median (s)", "plain ÷ variant"]))
    print(f"signatures: clustering plain/fast {ratios['plain_over_fast']}× at {r['n']:,}; identical labels "
          f"(optics, dbscan): {r['identical_labels']}, {r['identical_labels_dbscan']}\n")
    return ratios


def worker_pairs_large(cfg: dict, repeat: int, threads: int) -> dict:
    import numpy as np
    from artkg.models.signatures.clusters import cluster
    from artkg.models.signatures.neighbours import nearest_pairs

    set_threads(threads)
    x, groups = synthetic_signatures(cfg["n"], cfg["dim"], cfg["families"])
    t0 = time.perf_counter()
    cluster(x, "optics")  # the baseline, in the same process and on the same rows
    optics_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    p = nearest_pairs(x, k=10, hub_k=10)
    pairs_s = time.perf_counter() - t0
    fam = np.full(len(x), -1)
    for f, g in enumerate(groups):
        fam[g] = f
    n_true = sum(len(g) * (len(g) - 1) // 2 for g in groups)
    top_i, top_j = p["i"][:n_true], p["j"][:n_true]
    return {**cfg, "threads": threads, "optics_s": optics_s, "pairs_s": pairs_s, "pairs": int(len(p["i"])),
            "family_pairs": n_true, "precision_at_family_pairs": float(np.mean((fam[top_i] >= 0) & (fam[top_i] == fam[top_j]))),
            "peak_rss_mib": round(peak_rss_mib(), 1)}


def report_pairs_large(r: dict, threads: int, info: dict) -> dict:
    ratios = {"pairs_large_n": r["n"], "pairs_over_optics": round(r["pairs_s"] / r["optics_s"], 2),
              "pairs_large_precision": round(r["precision_at_family_pairs"], 3)}
    print(f"bench_signatures pairs_large: nearest_pairs (10 nearest, CSLS over 10) on {r['n']:,} × {r['dim']} "
          f"signatures, {threads} thread(s), once, against cluster(sig, 'optics') on the same rows")
    print(table([["cluster(sig, 'optics') (baseline)", f"{r['optics_s']:.1f}", "1.0×"],
                 ["nearest_pairs(sig, k=10, hub_k=10)", f"{r['pairs_s']:.1f}", f"{ratios['pairs_over_optics']}×"]],
                ["variant", "wall (s)", "variant ÷ baseline"]))
    print(f"signatures: {r['pairs']:,} candidate pairs; the top {r['family_pairs']:,} by CSLS are family pairs in "
          f"{100 * r['precision_at_family_pairs']:.1f} %; peak RSS {r['peak_rss_mib'] / 1024:.2f} GiB\n")
    return ratios


# ---------------------------------------------------------------------------------- sections
SECTIONS = {"extraction": (worker_extraction, report_extraction),
            "cluster_large": (worker_cluster_large, report_cluster_large),
            "pairs_large": (worker_pairs_large, report_pairs_large),
            "cluster_compare": (worker_cluster_compare, report_cluster_compare)}


def main(argv: list[str] | None = None) -> int:
    return sections_main("bench_signatures", __doc__, SCRIPT, SECTIONS, SIZES, REPEAT, argv, worker_threads=True,
                         quick_help="a minute")


if __name__ == "__main__":
    sys.exit(main())
