"""Run every benchmark (full sizes by default; ``--quick`` is passed through) and summarise them.

Usage: ``python bench/run_all.py [--quick]``. Each benchmark prints its own table; this script
adds a summary of the headline ratios, writes ``bench/out/run_all.json`` and exits non-zero if a
benchmark failed (goals are reported, not enforced: timings depend on the machine).
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
from _common import OUT, log, write_json

BENCHMARKS = ("bench_build", "bench_influence", "bench_faiss", "bench_search", "bench_features", "bench_epoch",
              "bench_memory", "bench_recsys", "bench_multimodal", "bench_signatures")
# Full-size runs only: a full-batch step on WikiArt reads the whole graph, so its memory peak is
# reached in the first steps; whole epochs (~20 min each here) stay with `bench_memory.py` alone.
FULL_ARGS = {"bench_memory": ["--max-steps", "10"]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (CI smoke test)")
    parser.add_argument("--only", nargs="*", choices=BENCHMARKS, help="run only these")
    args = parser.parse_args(argv)
    failed, results = [], {}
    for name in args.only or BENCHMARKS:
        cmd = [sys.executable, str(BENCH / f"{name}.py")] + (["--quick"] if args.quick else FULL_ARGS.get(name, []))
        log(f"== {name}: {' '.join(cmd)}")
        t0 = time.perf_counter()
        done = subprocess.run(cmd, check=False)
        elapsed = time.perf_counter() - t0
        if done.returncode != 0:
            failed.append(name)
            log(f"== {name} FAILED (exit {done.returncode})")
            continue
        results[name] = json.loads((OUT / f"{name}.json").read_text(encoding="utf-8"))
        results[name]["elapsed_s"] = round(elapsed, 1)
        print(flush=True)

    lines = ["summary:"]
    build = results.get("bench_build")
    if build:
        r = build["ratios"]
        lines.append(f"  build ({build['triples']:,} triples): ours/bare parse {r['ours_over_bare']}× (goal ≤ 1.5), "
                     f"process_ntriples/bare {r['process_over_bare']}×, kgbuild rdf/bare {r['kgbuild_over_bare']}×, "
                     f"rdflib/ours {r['rdflib_over_ours']}× (goal ≥ 10)")
    infl = results.get("bench_influence")
    if infl:
        lat = infl["ours"]["latency"]
        lines.append(f"  influence ({infl['graph']['artists']:,} artists): influence_report p50 "
                     f"{lat['report_as_called/influencers']['p50_ms']:.3f} ms (goal ≤ 10 ms), p99 "
                     f"{lat['report_as_called/influencers']['p99_ms']:.3f} ms, ÷ networkx "
                     f"{infl['ratios']['report_as_called/influencers p50 ÷ networkx p50']}×; "
                     f"load_graph {infl['ours']['load_s']:.2f} s")
    search = results.get("bench_search")
    if search:
        worst = max(search["queries"].values(), key=lambda q: q["ours_s"])
        lines.append(f"  search ({search['args']['artworks']:,} artworks): slowest query {worst['ours_s'] * 1e3:.0f} ms; "
                     "ratios " + ", ".join(f"{q['ratio']:.1f}× (≤ {q['goal']:g})" for q in search["queries"].values())
                     + f"; goals {'met' if search['ok'] else 'MISSED'}")
    faiss_r = results.get("bench_faiss", {}).get("ratios")
    if faiss_r:
        lines.append(f"  faiss: exact search ours/raw faiss throughput {faiss_r.get('ours_over_raw_qps')} (goal ≥ 0.9); "
                     f"hnsw recall@10 {faiss_r.get('hnsw_recall_at_10')} (goal ≥ 0.95) at ef_search "
                     f"{faiss_r.get('hnsw_ef_search')}, {faiss_r.get('hnsw_speedup_over_exact')}× exact q/s")
    feats = results.get("bench_features")
    if feats:
        c, r = feats["config"], feats["ratios"]
        lines.append(f"  features ({c['images']} JPEGs, EfficientNet-Lite0 at {c['image_size']} px, batch "
                     f"{c['batch_size']}, {c['threads']} thread(s)): extract_features / bare forward throughput "
                     f"{r['ours_over_bare_throughput']}× (goal ≥ 0.9)")
    epoch = results.get("bench_epoch")
    if epoch:
        r = epoch["ratios"]
        lines.append(f"  GraphCLIP epoch ({epoch['config']['artists']} artists, {'+'.join(epoch['config']['tasks'])}): "
                     f"Trainer / bare PyG loop {r['ours_over_bare_epoch']}× (goal ≤ 1.2), steps alone "
                     f"{r['ours_over_bare_steps']}×, max |Δ loss| {epoch['result']['max_abs_loss_diff']:.1e}")
    mem = results.get("bench_memory")
    if mem and mem.get("skipped"):
        lines.append(f"  memory: {mem['skipped']}")
    elif mem:
        r = mem["ratios"]
        where = "offline world (quick)" if mem["quick"] else "WikiArt"
        steps = ", ".join(f"{k.removesuffix('_step_s')} {v:.2f} s/step" for k, v in r.items() if k.endswith("_step_s"))
        lines.append(f"  memory ({where}): peak RSS {r['peak_gib']:.2f} GiB (goal ≤ 24 GiB), graph load alone "
                     f"{r.get('load_peak_gib', float('nan')):.2f} GiB" + (f"; {steps}" if steps else ""))
    recsys = results.get("bench_recsys")
    if recsys:
        r, sz = recsys["ratios"], recsys["config"]["sizes"]
        lines.append(f"  recsys: curatornet fit / bare loop throughput {r.get('ours_over_bare_throughput')}× (goal ≥ 0.9); "
                     f"recommend over {sz['latency']['items']:,} items p50 {r.get('recommend_p50_ms')} ms (bare/ours "
                     f"{r.get('bare_over_ours_latency')}×), visrank p50 {r.get('visrank_p50_ms')} ms; peak RSS "
                     f"{sz['memory']['users']:,} users × {sz['memory']['items']:,} items: fit {r.get('fit_peak_gib')} GiB, "
                     f"evaluate {r.get('eval_peak_gib')} GiB ({r.get('fit_peak_over_raw')}× / "
                     f"{r.get('eval_peak_over_raw')}× the raw inputs)")
    sig = results.get("bench_signatures")
    if sig:
        r = sig["ratios"]
        lines.append(f"  signatures: extraction ours/bare throughput {r.get('ours_over_bare_throughput')}× (goal ≥ 0.9); "
                     f"OPTICS on {r.get('cluster_large_n'):,} signatures {r.get('cluster_large_s')} s, "
                     f"peak RSS {r.get('cluster_large_peak_mib')} MiB; plain sklearn / radius graph "
                     f"{r.get('plain_over_fast')}× at {r.get('compare_n'):,} (identical labels: {r.get('identical_labels')})")
    if failed:
        lines.append(f"  FAILED: {', '.join(failed)}")
    print("\n".join(lines))
    write_json("run_all", {"quick": args.quick, "failed": failed,
                           "results": {k: {"elapsed_s": v["elapsed_s"], "ratios": v.get("ratios")}
                                       for k, v in results.items()}})
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
