"""FAISS benchmark: our ``VectorIndex`` wrapper against raw FAISS, and HNSW recall and speed against exact search.

Two workers, each in its own process, on deterministic synthetic vectors (seed ``--seed``), with
``faiss.omp_set_num_threads(--threads)`` (default: all CPUs) set before anything is built:

* ``exact``: ``--base`` × ``--dim`` Gaussian vectors (default 200,000 × 128) and ``--queries``
  queries (1,000), k = 10. Raw ``faiss.IndexFlatL2`` (baseline) and ``build_index(x, "flat")``
  hold the same vectors; each of ``--repeat`` rounds times both searches, in alternating order,
  on the same queries — as one batch, and one query per call (``--single`` calls: where a thin
  wrapper's per-call overhead would show). Throughput ratio ours / raw: the median of the
  per-round ratios (the ratio of the medians is in the JSON too); the ids must be identical.
* ``hnsw``: ``--hnsw-base`` clustered vectors (default 1,000,000 × 128: ``--centroids`` 1,000
  Gaussian centres N(0, 1), points at σ = 0.5 around them) and ``--hnsw-queries`` (1,000) new
  points from the same mixture. Ground truth and the exact timing from ``build_index(x, "flat")``
  (one run: it is long); ``build_index(x, "hnsw", {M, ef_construction})`` timed; then for each
  ``ef_search`` in ``--ef-search`` the median of ``--repeat`` searches: recall@10 against exact,
  queries/s and the speed-up over exact. The headline is the smallest ``ef_search`` with recall@10
  ≥ 0.95.

Usage: ``python bench/bench_faiss.py [--quick] [--base N] [--hnsw-base N] [--M M] [--ef-search E …]``.
Table on stdout, JSON in ``bench/out/bench_faiss.json``, progress on stderr.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine, peak_rss_mib, run_worker, table, write_json

SCRIPT = Path(__file__).resolve()
K = 10
RECALL_GOAL = 0.95


def gaussian(n: int, dim: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((n, dim), dtype=np.float32)


def mixture(n: int, q: int, dim: int, centroids: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` base points and ``q`` queries from one Gaussian mixture (σ = 0.5 around N(0, 1) centres)."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((centroids, dim), dtype=np.float32)
    out = []
    for m in (n, q):
        x = rng.standard_normal((m, dim), dtype=np.float32)
        x *= 0.5
        x += centres[rng.integers(centroids, size=m)]
        out.append(x)
    return out[0], out[1]


def clock(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


# ---------------------------------------------------------------------------------- workers
def worker_exact(args) -> dict:
    import faiss
    from artkg.retrieval.index import build_index

    x = gaussian(args.base, args.dim, args.seed)
    q = gaussian(args.queries, args.dim, args.seed + 1)
    raw = faiss.IndexFlatL2(args.dim)
    raw.add(x)
    ours = build_index(x, "flat")
    singles = q[: args.single]
    same = bool((raw.search(q, K)[1] == ours.search(q, K)[1]).all())

    def one_by_one(search):
        for row in singles:
            search(row[None, :], K)

    times = {"raw_batch": [], "ours_batch": [], "raw_single": [], "ours_single": []}
    indexes = {"raw": raw, "ours": ours}
    for r in range(args.repeat):  # alternate who goes first: drift on a shared machine hits both
        order = ("raw", "ours") if r % 2 == 0 else ("ours", "raw")
        for who in order:
            times[f"{who}_batch"].append(clock(lambda i=indexes[who]: i.search(q, K)))
        for who in order:
            times[f"{who}_single"].append(clock(lambda i=indexes[who]: one_by_one(i.search)))
    return {"base": args.base, "dim": args.dim, "queries": args.queries, "single": len(singles),
            "identical_ids": same, "times": times, "peak_rss_mib": peak_rss_mib()}


def worker_hnsw(args) -> dict:
    from artkg.retrieval.index import build_index

    t0 = time.perf_counter()
    x, q = mixture(args.hnsw_base, args.hnsw_queries, args.dim, args.centroids, args.seed + 2)
    gen_s = time.perf_counter() - t0
    exact = build_index(x, "flat")
    t0 = time.perf_counter()
    _, truth = exact.search(q, K)
    exact_s = time.perf_counter() - t0
    del exact
    t0 = time.perf_counter()
    hnsw = build_index(x, "hnsw", {"M": args.M, "ef_construction": args.ef_construction})
    build_s = time.perf_counter() - t0
    truth_sets = [set(row) for row in truth.tolist()]
    sweep = []
    for ef in args.ef_search:
        hnsw.ef_search = ef
        walls, ids = [], None
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            _, ids = hnsw.search(q, K)
            walls.append(time.perf_counter() - t0)
        recall = float(np.mean([len(t & set(row)) / K for t, row in zip(truth_sets, ids.tolist())]))
        wall = statistics.median(walls)
        sweep.append({"ef_search": ef, "recall_at_10": round(recall, 4), "wall_s": wall,
                      "qps": len(q) / wall, "speedup_over_exact": exact_s / wall})
    return {"base": args.hnsw_base, "dim": args.dim, "queries": args.hnsw_queries, "centroids": args.centroids,
            "M": args.M, "ef_construction": args.ef_construction, "generate_s": gen_s, "build_s": build_s,
            "exact_s": exact_s, "exact_qps": len(q) / exact_s, "sweep": sweep, "peak_rss_mib": peak_rss_mib()}


WORKERS = {"exact": worker_exact, "hnsw": worker_hnsw}


# ---------------------------------------------------------------------------------- driver
def parse(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="small sizes (CI smoke test)")
    p.add_argument("--base", type=int, help="exact: base vectors (default 200,000; quick 20,000)")
    p.add_argument("--queries", type=int, help="exact: queries per batch (default 1,000; quick 200)")
    p.add_argument("--single", type=int, help="exact: one-query calls per round (default 200; quick 50)")
    p.add_argument("--dim", type=int, help="dimension (default 128; quick 32)")
    p.add_argument("--hnsw-base", type=int, help="hnsw: base vectors (default 1,000,000; quick 20,000)")
    p.add_argument("--hnsw-queries", type=int, help="hnsw: queries (default 1,000; quick 200)")
    p.add_argument("--centroids", type=int, help="hnsw: mixture components (default 1,000; quick 50)")
    p.add_argument("--M", type=int, help="hnsw: links per node (default 32; quick 16)")
    p.add_argument("--ef-construction", type=int, help="hnsw: build candidate list (default 80; quick 40)")
    p.add_argument("--ef-search", type=int, nargs="+", help="hnsw: search candidate lists to sweep "
                   "(default 16 32 64 128 256)")
    p.add_argument("--repeat", type=int, help="rounds per measurement, median kept (default 5; quick 3)")
    p.add_argument("--threads", type=int, default=os.cpu_count(), help="faiss.omp_set_num_threads (default: all CPUs)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--skip", nargs="*", default=[], choices=sorted(WORKERS), help="workers to leave out")
    p.add_argument("--worker", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    quick = args.quick
    defaults = {"base": (200_000, 20_000), "queries": (1000, 200), "single": (200, 50), "dim": (128, 32),
                "hnsw_base": (1_000_000, 20_000), "hnsw_queries": (1000, 200), "centroids": (1000, 50),
                "M": (32, 16), "ef_construction": (80, 40), "ef_search": ([16, 32, 64, 128, 256],) * 2,
                "repeat": (5, 3)}
    for name, (full, small) in defaults.items():
        if getattr(args, name) is None:
            setattr(args, name, small if quick else full)
    return args


def forward(args) -> list[str]:
    """The resolved options, passed to each worker unchanged."""
    out = ["--threads", str(args.threads), "--seed", str(args.seed), "--ef-search", *map(str, args.ef_search)]
    for name in ("base", "queries", "single", "dim", "hnsw_base", "hnsw_queries", "centroids", "M",
                 "ef_construction", "repeat"):
        out += [f"--{name.replace('_', '-')}", str(getattr(args, name))]
    return out


def main(argv: list[str] | None = None) -> dict:
    args = parse(argv)
    if args.worker:
        import faiss

        faiss.omp_set_num_threads(args.threads)
        import artkg.retrieval.index  # noqa: F401 - imports are not part of the measurement

        print(json.dumps({**WORKERS[args.worker](args), "threads": faiss.omp_get_max_threads(),
                          "faiss": faiss.__version__}))
        return {}

    results = {name: run_worker(SCRIPT, name, forward(args)) for name in WORKERS if name not in args.skip}
    report = {"benchmark": "bench_faiss", "quick": args.quick, "k": K, "threads": args.threads,
              "repeat": args.repeat, "machine": machine(), "ratios": {}, **results}
    ratios = report["ratios"]
    if "exact" in results:
        t = {k: statistics.median(v) for k, v in results["exact"]["times"].items()}
        times = results["exact"]["times"]
        # each round times both back to back: the median of the per-round ratios cancels load drift
        ratios["ours_over_raw_qps"] = round(statistics.median(
            r / o for r, o in zip(times["raw_batch"], times["ours_batch"])), 3)
        ratios["ours_over_raw_qps_single"] = round(statistics.median(
            r / o for r, o in zip(times["raw_single"], times["ours_single"])), 3)
        ratios["ours_over_raw_qps_of_medians"] = round(t["raw_batch"] / t["ours_batch"], 3)
        results["exact"]["median_s"] = t
    if "hnsw" in results:
        sweep = results["hnsw"]["sweep"]
        best = next((s for s in sweep if s["recall_at_10"] >= RECALL_GOAL), max(sweep, key=lambda s: s["recall_at_10"]))
        results["hnsw"]["headline"] = best
        ratios["hnsw_recall_at_10"] = best["recall_at_10"]
        ratios["hnsw_ef_search"] = best["ef_search"]
        ratios["hnsw_speedup_over_exact"] = round(best["speedup_over_exact"], 2)
        ratios["hnsw_build_s"] = round(results["hnsw"]["build_s"], 1)
    ratios["goals"] = {"ours_over_raw_qps": ">= 0.9", "hnsw_recall_at_10": f">= {RECALL_GOAL}"}
    write_json("bench_faiss", report)
    print(render(report))
    return report


def render(report: dict) -> str:
    out, r = [], report["ratios"]
    head = (f"bench_faiss: k={report['k']}, {report['threads']} FAISS threads, median of {report['repeat']}, "
            f"{report['machine'].get('cpus')} CPUs, load {report['machine'].get('load_avg')}, "
            f"faiss {next((report[w]['faiss'] for w in WORKERS if w in report), '?')}")
    out.append(head)
    if "exact" in report:
        e, t = report["exact"], report["exact"]["median_s"]
        rows = [["raw faiss.IndexFlatL2", f"{t['raw_batch']:.3f}", f"{e['queries'] / t['raw_batch']:.0f}",
                 f"{t['raw_single'] / e['single'] * 1000:.3f}", "1.00", "1.00"],
                ["ours: build_index(x, 'flat')", f"{t['ours_batch']:.3f}", f"{e['queries'] / t['ours_batch']:.0f}",
                 f"{t['ours_single'] / e['single'] * 1000:.3f}", f"{r['ours_over_raw_qps']:.3f}",
                 f"{r['ours_over_raw_qps_single']:.3f}"]]
        out.append(f"exact search, {e['base']:,} × {e['dim']} base, {e['queries']:,} queries per batch, "
                   f"{e['single']} one-query calls; identical ids: {e['identical_ids']}")
        out.append(table(rows, ["variant", "batch s", "batch q/s", "one query ms", "q/s ÷ raw (batch)*",
                                "q/s ÷ raw (one query)*"]))
        out.append("* median of the per-round ratios (each round times raw and ours back to back)")
        out.append(f"ours / raw throughput = {r['ours_over_raw_qps']:.3f} (goal ≥ 0.9; one query per call "
                   f"{r['ours_over_raw_qps_single']:.3f})")
    if "hnsw" in report:
        h = report["hnsw"]
        rows = [[s["ef_search"], f"{s['recall_at_10']:.4f}", f"{s['qps']:.0f}", f"{s['speedup_over_exact']:.1f}×"]
                for s in h["sweep"]]
        out.append(f"hnsw, {h['base']:,} × {h['dim']} clustered ({h['centroids']} centres), {h['queries']:,} queries, "
                   f"M={h['M']}, ef_construction={h['ef_construction']}: build {h['build_s']:.1f} s; exact search "
                   f"{h['exact_s']:.2f} s ({h['exact_qps']:.0f} q/s); peak RSS {h['peak_rss_mib']:.0f} MiB")
        out.append(table(rows, ["ef_search", "recall@10", "q/s", "÷ exact time"]))
        out.append(f"hnsw recall@10 = {r['hnsw_recall_at_10']:.4f} at ef_search={r['hnsw_ef_search']} "
                   f"(goal ≥ {RECALL_GOAL}), {r['hnsw_speedup_over_exact']:.1f}× the exact search's queries/s")
    return "\n".join(out)


if __name__ == "__main__":
    main()
