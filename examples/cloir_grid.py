"""CLOIR's grid on the offline art world, beside the raw-feature baseline: the table in the README.

Builds a synthetic world with planted influence (``kgbuild synth``), computes EfficientNet-Lite0
image features (``artkg features``), then trains CLOIR over the paper's grid — positive sampling
{random, similarity} × N {10, 100} × split {stratified, leave-out-agents} — for several seeds, and
prints P@10 and MRR (degree 1 and 2) as mean ± std with the baseline of each split::

    python examples/cloir_grid.py --out cloir_bench --jobs 2
    python examples/cloir_grid.py --out cloir_bench --table-only   # the table again

The training schedule is the paper's model and loss with a CPU-friendly batch (see ``SCHEDULE``);
``--paper`` uses batch 32, lr 5e-4 and 30 epochs instead.
"""
from __future__ import annotations

import argparse
import json
import logging
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import artkg  # noqa: F401  (installs the torchvision shim first)

GRID = [(sampling, n, split) for split in ("stratified", "leave_out_agents") for sampling in ("random", "similarity")
        for n in (10, 100)]
SCHEDULE = {"batch_size": 256, "lr": 1e-3, "epochs": 15, "patience": 5}
PAPER = {"batch_size": 32, "lr": 5e-4, "epochs": 30, "patience": 10}


def command(world: Path, sampling: str, n: int, split: str, seed: int, schedule: dict) -> str:
    extra = "" if schedule == PAPER else (f" --batch-size {schedule['batch_size']} --lr {schedule['lr']} "
                                          f"--epochs {schedule['epochs']}")
    return (f"artkg train cloir {world} --inputs image --sampling {sampling} --n {n} --split {split} "
            f"--seed {seed}{extra} --out runs/cloir-{sampling}-{n}-{split}-{seed}")


def run_one(world: str, sampling: str, n: int, split: str, seed: int, schedule: dict) -> dict:
    import torch

    from artkg.retrieval.cloir import train_cloir

    torch.set_num_threads(1)
    t0 = time.perf_counter()
    config = {"inputs": "image", "sampling": sampling, "n": n, "split": split, "seed": seed, **schedule}
    result = train_cloir(world, config, progress=False)
    return {"sampling": sampling, "n": n, "split": split, "seed": seed, "metrics": result.metrics,
            "command": command(Path(world), sampling, n, split, seed, schedule),
            "seconds": round(time.perf_counter() - t0, 1)}


def mean_std(values: list[float]) -> str:
    mean = statistics.fmean(values)
    std = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{mean:.3f} ± {std:.3f}"


def markdown_table(results: list[dict], meta: dict) -> str:
    lines = [f"Offline world `kgbuild synth --artists {meta['artists']} --seed {meta['world_seed']}`, EfficientNet-Lite0 "
             f"image features at {meta['image_size']} px; {len(meta['seeds'])} seeds (split, triplets, "
             f"initialisation); mean ± std. P@10 and MRR: relevant = a work by a direct influencer of the query's "
             f"artist (degree 1) or by any artist within two hops (degree 2); time filter on.", "",
             "| split | ranking | sampling | N | P@10 | MRR | P@10 (deg 2) | MRR (deg 2) | P@10 vs baseline |",
             "|---|---|---|---|---|---|---|---|---|"]
    for split in ("stratified", "leave_out_agents"):
        rows = [r for r in results if r["split"] == split]
        if not rows:
            continue
        seeds = sorted({r["seed"] for r in rows})
        base = {s: next(r["metrics"]["baseline"] for r in rows if r["seed"] == s) for s in seeds}
        b = [base[s] for s in seeds]
        b10 = statistics.fmean(m["degree_1"]["P@10"] for m in b)
        lines.append(f"| {split} | raw features (cosine) | – | – | {mean_std([m['degree_1']['P@10'] for m in b])} | "
                     f"{mean_std([m['degree_1']['MRR'] for m in b])} | {mean_std([m['degree_2']['P@10'] for m in b])} "
                     f"| {mean_std([m['degree_2']['MRR'] for m in b])} | 1.00× |")
        for sampling, n, sp in GRID:
            if sp != split:
                continue
            ms = [r["metrics"]["model"] for r in rows if (r["sampling"], r["n"]) == (sampling, n)]
            if not ms:
                continue
            p10 = statistics.fmean(m["degree_1"]["P@10"] for m in ms)
            lines.append(f"| {split} | CLOIR | {sampling} | {n} | {mean_std([m['degree_1']['P@10'] for m in ms])} | "
                         f"{mean_std([m['degree_1']['MRR'] for m in ms])} | "
                         f"{mean_std([m['degree_2']['P@10'] for m in ms])} | "
                         f"{mean_std([m['degree_2']['MRR'] for m in ms])} | {p10 / b10:.2f}× |")
        chance = statistics.fmean(m["degree_1"]["chance"] for m in b)
        lines.append(f"| {split} | random ranking (chance) | – | – | {chance:.3f} | | "
                     f"{statistics.fmean(m['degree_2']['chance'] for m in b):.3f} | | {chance / b10:.2f}× |")
    lines += ["", "Commands (one seed shown; the others differ in `--seed`):", ""]
    seen = set()
    for r in results:
        key = (r["sampling"], r["n"], r["split"])
        if key not in seen:
            seen.add(key)
            lines.append(f"    {r['command']}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("cloir_bench"))
    parser.add_argument("--artists", type=int, default=300)
    parser.add_argument("--world-seed", type=int, default=0)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--image-size", type=int, default=128, help="EfficientNet-Lite0 input size.")
    parser.add_argument("--jobs", type=int, default=1, help="Runs in parallel (one torch thread each).")
    parser.add_argument("--paper", action="store_true", help="The paper's batch 32, lr 5e-4, 30 epochs.")
    parser.add_argument("--epochs", type=int, default=None, help="Override the schedule's epochs.")
    parser.add_argument("--table-only", action="store_true", help="Print the table of an earlier results.json.")
    args = parser.parse_args(argv)
    meta = {"artists": args.artists, "world_seed": args.world_seed, "seeds": args.seeds, "image_size": args.image_size}
    if args.table_only:
        saved = json.loads((args.out / "results.json").read_text())
        print(markdown_table(saved["results"], saved["meta"]))
        return 0

    from artkg.kg.builders import build_graph
    from artkg.models.features import extract_features

    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(message)s")
    world = args.out / "world"
    if not (world / "manifest.json").exists():
        print(f"$ kgbuild synth --artists {args.artists} --seed {args.world_seed} --out {world}", file=sys.stderr)
        build_graph("synth", world, artists=args.artists, seed=args.world_seed, progress=False, build_store=False)
    kwargs = {"image_size": args.image_size}
    print(f"$ artkg features {world} --image-encoder-kwargs '{json.dumps(kwargs)}' --text-encoder none",
          file=sys.stderr)
    extract_features(world, "efficientnet_lite", kwargs, None, device="cpu", progress=False)
    schedule = dict(PAPER if args.paper else SCHEDULE)
    if args.epochs:
        schedule["epochs"] = args.epochs
    meta["schedule"] = schedule
    jobs = [(str(world), s, n, sp, seed, schedule) for seed in args.seeds for s, n, sp in GRID]
    results = []
    with ProcessPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        for row in pool.map(run_one, *zip(*jobs)):
            results.append(row)
            m = row["metrics"]
            print(f"{row['split']:<17} {row['sampling']:<10} N={row['n']:<3} seed {row['seed']}: P@10 "
                  f"{m['model']['degree_1']['P@10']:.3f} vs baseline {m['baseline']['degree_1']['P@10']:.3f} "
                  f"({row['seconds']:.0f} s)", file=sys.stderr, flush=True)
    (args.out / "results.json").write_text(json.dumps({"meta": meta, "results": results}, indent=1))
    table = markdown_table(results, meta)
    (args.out / "table.md").write_text(table + "\n")
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
