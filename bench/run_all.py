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

BENCHMARKS = ("bench_build", "bench_influence")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (CI smoke test)")
    parser.add_argument("--only", nargs="*", choices=BENCHMARKS, help="run only these")
    args = parser.parse_args(argv)
    failed, results = [], {}
    for name in args.only or BENCHMARKS:
        cmd = [sys.executable, str(BENCH / f"{name}.py")] + (["--quick"] if args.quick else [])
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
    if failed:
        lines.append(f"  FAILED: {', '.join(failed)}")
    print("\n".join(lines))
    write_json("run_all", {"quick": args.quick, "failed": failed,
                           "results": {k: {"elapsed_s": v["elapsed_s"], "ratios": v.get("ratios")}
                                       for k, v in results.items()}})
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
