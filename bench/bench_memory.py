"""Memory benchmark: peak RSS of GraphCLIP training on the WikiArt-sized graph, against the 24 GiB limit.

Input (built once, cached under ``bench/out/memory_input/<hash>/``): the real WikiArt graph,
``build_graph("wikiart", …, path=<ArtGAN split files>, build_store=False)`` from
``../shared/data/wikiart/artgan`` (80,097 artworks, one per painting; 1,119 artists, 27 styles, 10 genres), with
synthetic 1280-d image features (EfficientNet-Lite0's size; noise plus a style signal), written by
``_common.write_synthetic_features`` in the layout ``load_features`` reads. Without the data the
benchmark says so and exits cleanly. ``--quick`` uses a small offline world instead.

Each variant runs in its own child process; its peak is ``os.wait4``'s ``ru_maxrss`` for that child
(with the child's own ``VmHWM`` beside it):

* ``graph load`` (baseline): ``load_graph(dir).data`` — the ``HeteroData`` with reverse edges;
* ``train style``: ``train(dir, TrainConfig(tasks=["style"], epochs=1, …))`` — the real entry point:
  features, ``TrainingData`` (split, leakage-free graph), model, one epoch (the ``auto`` sampler picks
  full-batch here), validation, calibration and evaluation on val and test;
* ``train style+genre``: the same, multi-task.

Per-step times come from an optimizer step hook (time between consecutive ``optimizer.step``
ends, so the first step is left out). ``--max-steps N`` stops each training after ``N`` steps (the
hook raises): every full-batch step runs the GNN over the whole graph, so the training peak is
reached in the first steps; the epoch's remaining steps, the validation and the evaluation are
then not run (the table says "first N steps").

Usage: ``python bench/bench_memory.py [--quick] [--data DIR] [--threads T] [--max-steps N]``. Table on
stdout, JSON in ``bench/out/bench_memory.json``.
"""
from __future__ import annotations

import argparse
import itertools
import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (
    cached_input,
    log,
    machine,
    peak_rss_mib,
    run_child_rusage,
    run_worker,
    table,
    write_json,
    write_synthetic_features,
)

SCRIPT = Path(__file__).resolve()
REPO = SCRIPT.parents[1]
DATA = Path(os.environ.get("ARTKG_SHARED_DATA", REPO.parent / "shared" / "data")) / "wikiart" / "artgan"
LIMIT_GIB = 24.0
FEATURE_DIM = 1280
VARIANTS = {"load": None, "style": ["style"], "style+genre": ["style", "genre"]}


def prepare(data: Path | None, dim: int) -> Path:
    """The cached graph directory (WikiArt from ``data``, or a small offline world) with features."""
    if data is not None:
        stamp = "".join(f"{p.name}:{p.stat().st_size}:{p.stat().st_mtime_ns};" for p in sorted(data.iterdir()))
    else:
        stamp = "synth:60"

    def build(graph: Path) -> None:
        from artkg.kg.builders import build_graph

        t0 = time.perf_counter()
        if data is not None:
            build_graph("wikiart", graph, path=data, build_store=False)
        else:
            build_graph("synth", graph, artists=60, seed=0, images=False, progress=False, build_store=False)
        t1 = time.perf_counter()
        write_synthetic_features(graph, dim=dim, task="style")
        log(f"[bench_memory] graph built in {t1 - t0:.1f} s, features written in {time.perf_counter() - t1:.1f} s")

    return cached_input("memory_input", f"{stamp}:dim{dim}:v1", build)


# ---------------------------------------------------------------------------------- worker
class _Stop(Exception):
    pass


def worker(name: str, graph_dir: Path, threads: int, max_steps: int) -> dict:
    import torch

    torch.set_num_threads(threads)
    t0 = time.perf_counter()
    if name == "load":
        from artkg.kg.graph import load_graph

        data = load_graph(graph_dir).data
        return {"nodes": {t: int(data[t].num_nodes) for t in data.node_types},
                "edges": int(sum(data[k].edge_index.shape[1] for k in data.edge_types)),
                "seconds": round(time.perf_counter() - t0, 2), "vmhwm_mib": round(peak_rss_mib(), 1)}
    import torch.optim.optimizer as opt
    from artkg.models.train import train
    from artkg.models.train_config import TrainConfig

    stamps: list[float] = []

    def after_step(optimizer, args, kwargs) -> None:
        stamps.append(time.perf_counter())
        if max_steps and len(stamps) >= max_steps:
            raise _Stop

    opt.register_optimizer_step_post_hook(after_step)
    from artkg.models import train_loop

    chosen: list[str] = []
    choose = train_loop.Trainer._choose_sampler

    def record_sampler(self) -> str:
        chosen.append(choose(self))
        return chosen[-1]

    train_loop.Trainer._choose_sampler = record_sampler
    fit = train_loop.Trainer.fit

    def fit_then_evaluate(self) -> list[dict]:
        """Stop after ``max_steps`` but still finalize, calibrate and evaluate (val + test, no
        gradients): the rest of a training's memory profile, without the remaining steps."""
        try:
            return fit(self)
        except _Stop:
            evaluated.append(True)
            self.model.eval()
            with torch.no_grad():
                self.model.finalize(self.batch(torch.empty(0, dtype=torch.long)))
            return [{"epoch": 1, "loss": float("nan"), "stopped_after_steps": len(stamps)}]

    evaluated: list[bool] = []
    train_loop.Trainer.fit = fit_then_evaluate
    config = TrainConfig.from_dict({"model": "graphclip", "tasks": VARIANTS[name], "epochs": 1, "threads": threads,
                                    "patience": 0})
    stopped, metrics = False, {}
    try:
        result = train(graph_dir, config, out=None, progress=False)
        metrics = {"training": result.metrics["training"],
                   "test_top1": {t: result.metrics[t]["test"]["top1"]
                                 for t in VARIANTS[name]}}
    except _Stop:  # pragma: no cover - fit_then_evaluate catches it
        stopped = True
    stopped = stopped or bool(evaluated)
    steps = [b - a for a, b in itertools.pairwise(stamps)]
    return {"tasks": VARIANTS[name], "steps": len(stamps), "stopped_after_max_steps": stopped,
            "sampler": chosen[0] if chosen else None,
            "to_first_step_s": round(stamps[0] - t0, 2) if stamps else None,
            "step_s_median": statistics.median(steps) if steps else None,
            "step_s_mean": statistics.fmean(steps) if steps else None, "step_s": steps,
            "seconds": round(time.perf_counter() - t0, 2), "vmhwm_mib": round(peak_rss_mib(), 1), **metrics}


# ---------------------------------------------------------------------------------- main
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a small offline world instead of WikiArt (smoke test)")
    parser.add_argument("--data", type=Path, default=DATA, help=f"the ArtGAN WikiArt split files (default {DATA})")
    parser.add_argument("--threads", type=int, default=2, help="torch threads (default 2)")
    parser.add_argument("--max-steps", type=int, default=0, help="stop each training after N steps (default: the "
                                                                 "whole epoch and evaluation)")
    parser.add_argument("--only", nargs="*", choices=list(VARIANTS), help="run only these variants")
    parser.add_argument("--worker", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        if args.worker[0] == "prepare":  # in a child, so that this parent stays small (see below)
            print(json.dumps({"graph": str(prepare(None if args.worker[1] == "-" else Path(args.worker[1]),
                                                   FEATURE_DIM))}))
            return 0
        name, graph_dir, threads, max_steps = args.worker
        print(json.dumps(worker(name, Path(graph_dir), int(threads), int(max_steps))))
        return 0
    data = None
    if not args.quick:
        if not (args.data / "style_train.csv").exists():
            msg = f"skipped: the WikiArt split files are not available at {args.data}"
            print(f"bench_memory: {msg}")
            write_json("bench_memory", {"quick": False, "skipped": msg, "ratios": None})
            return 0
        data = args.data
    # The graph is built in a child process: a child's ru_maxrss counts from the fork, so the parent
    # must stay small (a Python process without torch, ~20 MiB) for the children's peaks to be theirs.
    graph_dir = Path(run_worker(SCRIPT, "prepare", [str(data) if data is not None else "-"])["graph"])
    env = {**os.environ, "OMP_NUM_THREADS": str(args.threads)}
    results = {}
    # The quick smoke run skips the multi-task variant: each child spends most of its time importing.
    for name in args.only or (["load", "style"] if args.quick else VARIANTS):
        cmd = [sys.executable, str(SCRIPT), "--worker", name, str(graph_dir), str(args.threads), str(args.max_steps)]
        log(f"[bench_memory] {name} …")
        t0 = time.perf_counter()
        res, maxrss_mib = run_child_rusage(cmd, env=env)
        res["ru_maxrss_mib"] = round(maxrss_mib, 1)
        results[name] = res
        log(f"[bench_memory] {name}: {maxrss_mib / 1024:.2f} GiB peak, {time.perf_counter() - t0:.1f} s")
    info = machine()
    graph = results.get("load", {})
    what = "WikiArt (ArtGAN splits)" if data is not None else "offline world (60 artists) — quick smoke run"
    nodes = graph.get("nodes")
    print(f"bench_memory: {what}" + (f": {nodes}, {graph['edges']:,} edges with reverse ones" if nodes else "")
          + f"; synthetic {FEATURE_DIM}-d image features; {args.threads} torch thread(s); limit {LIMIT_GIB:g} GiB; "
          f"load average {info.get('load_avg')}")
    rows = []
    for name, res in results.items():
        label = ("graph load alone (baseline)" if name == "load" else
                 f"train GraphCLIP {name}, first {res['steps']} steps + val/test evaluation"
                 if res.get("stopped_after_max_steps") else
                 f"train GraphCLIP {name}, 1 epoch + evaluation")
        gib = res["ru_maxrss_mib"] / 1024
        step = f"{res['step_s_median']:.3f}" if res.get("step_s_median") is not None else "—"
        steps = str(res.get("steps", "—"))
        sampler = res.get("sampler") or "—"
        rows.append([label, f"{gib:.2f}", f"{res['vmhwm_mib'] / 1024:.2f}", f"{gib / LIMIT_GIB * 100:.1f}%",
                     steps, step, sampler, f"{res['seconds']:.1f}"])
    print(table(rows, ["variant", "peak RSS ru_maxrss (GiB)", "VmHWM (GiB)", "of 24 GiB", "steps",
                       "step median (s)", "sampler", "wall (s)"]))
    peak = max(r["ru_maxrss_mib"] for r in results.values()) / 1024
    print(f"largest peak {peak:.2f} GiB: {'inside' if peak <= LIMIT_GIB else 'OVER'} the {LIMIT_GIB:g} GiB limit")
    ratios = {"peak_gib": round(peak, 3), "peak_over_limit": round(peak / LIMIT_GIB, 4)}
    for name, res in results.items():
        ratios[f"{name}_peak_gib"] = round(res["ru_maxrss_mib"] / 1024, 3)
        if res.get("step_s_median") is not None:
            ratios[f"{name}_step_s"] = round(res["step_s_median"], 4)
    write_json("bench_memory", {"quick": args.quick, "machine": info, "data": str(data) if data else None,
                                "threads": args.threads, "max_steps": args.max_steps, "limit_gib": LIMIT_GIB,
                                "results": results, "ratios": ratios})
    return 0


if __name__ == "__main__":
    sys.exit(main())
