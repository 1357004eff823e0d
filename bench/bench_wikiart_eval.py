"""WikiArt at full size through the published split and the neighbour sampler: eval = saved metrics.

Input (built once, cached under ``bench/out/wikiart_eval_input/<hash>/``): the real WikiArt import,
``build_graph("wikiart", …, path=<ArtGAN split files>, build_store=False)`` from
``../shared/data/wikiart/artgan`` (every painting of the ArtGAN style, genre and artist files; the
node counts are read from the graph, not assumed), with synthetic image features
(``_common.write_synthetic_features``: noise plus a centre per style label, ``--dim`` wide — they
encode the label, so the top-1 figures it prints are not accuracies; only eval = saved is the result). The cache key
includes the importer's source, so a changed importer rebuilds the graph.

The run: ``train(graph, TrainConfig(split="published", sampler="auto", full_batch_limit=1000, …))``
— the published ArtGAN style split (its ``val`` part is the test part, validation is drawn from its
``train`` part), the automatic sampler switched to ``neighbor`` by the low ``full_batch_limit``,
``--epochs`` epochs of ``--batch-size`` artworks per step. Then ``artkg eval RUN --json`` in a
separate process, and the figures of both compared exactly (top-1, top-k, macro-F1, n per task and
part). Without the data the benchmark says so and exits cleanly.

Usage: ``python bench/bench_wikiart_eval.py [--data DIR] [--dim D] [--epochs E] [--batch-size B]
[--threads T]``. Summary on stdout, JSON in ``bench/out/bench_wikiart_eval.json``.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import OUT, cached_input, log, machine, write_json, write_synthetic_features  # noqa: E402

SCRIPT = Path(__file__).resolve()
REPO = SCRIPT.parents[1]
DATA = Path(os.environ.get("ARTKG_SHARED_DATA", REPO.parent / "shared" / "data")) / "wikiart" / "artgan"


def prepare(data: Path, dim: int) -> Path:
    importer = hashlib.sha256((REPO / "kg" / "importers.py").read_bytes()).hexdigest()[:12]
    stamp = "".join(f"{p.name}:{p.stat().st_size}:{p.stat().st_mtime_ns};" for p in sorted(data.iterdir()))

    def build(graph: Path) -> None:
        from artkg.kg.builders import build_graph

        t0 = time.perf_counter()
        build_graph("wikiart", graph, path=data, build_store=False)
        t1 = time.perf_counter()
        write_synthetic_features(graph, dim=dim, task="style")
        log(f"[bench_wikiart_eval] graph built in {t1 - t0:.1f} s, features written in {time.perf_counter() - t1:.1f} s")

    return cached_input("wikiart_eval_input", f"{stamp}:importer={importer}:dim{dim}:v1", build)


def figures(metrics: dict) -> dict:
    return {f"{task}/{part}/{key}": values[key] for task, parts in metrics.items()
            if isinstance(parts, dict) and task != "training" for part, values in parts.items()
            if isinstance(values, dict) for key in values if key in ("n", "top1", "top5", "macro_f1")}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--dim", type=int, default=128)
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--batch-size", type=int, default=4096)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    if not args.data.is_dir():
        print(f"WikiArt split files not found at {args.data}: nothing to benchmark")
        return
    import torch

    from artkg.kg.graph import load_graph
    from artkg.models.train import train
    from artkg.models.train_config import TrainConfig

    torch.set_num_threads(args.threads)
    t0 = time.perf_counter()
    graph_dir = prepare(args.data, args.dim)
    prepared = time.perf_counter() - t0
    graph = load_graph(graph_dir)
    counts = {t: graph.num_nodes(t) for t in graph.iris}
    edges = int(sum(graph.data[k].edge_index.shape[1] for k in graph.data.edge_types))
    config = TrainConfig(tasks=["style"], split="published", sampler="auto", full_batch_limit=1000,
                         num_neighbors=[10, 5], epochs=args.epochs, batch_size=args.batch_size, patience=0,
                         gnn_kwargs={"layers": 2, "hidden": 64, "dropout": 0.1, "norm": "layer"},
                         model_kwargs={"embed_dim": 64}, threads=args.threads, device="cpu")
    run_dir = OUT / "wikiart_eval_run"
    t1 = time.perf_counter()
    result = train(graph_dir, config, out=run_dir, progress=False)
    trained = time.perf_counter() - t1
    t2 = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "artkg.cli", "eval", str(run_dir), "--json", "--device", "cpu"],
                          capture_output=True, text=True, cwd=REPO.parent,
                          env={**os.environ, "OMP_NUM_THREADS": str(args.threads)})
    evaluated = time.perf_counter() - t2
    if done.returncode != 0:
        raise SystemExit(f"artkg eval failed: {done.stderr.strip()}")
    again = json.loads(done.stdout)
    saved = json.loads((run_dir / "metrics.json").read_text(encoding="utf-8"))
    same = figures(again) == figures(saved) and bool(figures(saved))
    training = result.metrics["training"]
    steps = sum(-(-len(result.data.trainable()) // args.batch_size) for _ in range(training["epochs_run"]))
    report = {
        "machine": machine(), "graph": str(graph_dir), "artworks": counts.get("artwork"), "nodes": counts,
        "edges_with_reverse": edges, "split": training["split"], "sampler": training["sampler"],
        "epochs": training["epochs_run"], "steps": steps, "batch_size": args.batch_size, "feature_dim": args.dim,
        "seconds": {"prepare": round(prepared, 1), "train_and_evaluate": round(trained, 1),
                    "artkg_eval": round(evaluated, 1)},
        "saved": figures(saved), "eval": figures(again), "eval_equals_saved": same,
        "matches_saved_flag": again.get("matches_saved"),
    }
    path = write_json("bench_wikiart_eval", report)
    print(f"WikiArt: {counts.get('artwork')} artworks, {edges} edges (with reverse); split {training['split']}")
    print(f"sampler {training['sampler']}, {training['epochs_run']} epoch(s), {steps} steps of {args.batch_size}; "
          f"train+evaluate {trained:.1f} s, artkg eval {evaluated:.1f} s")
    for key, value in figures(saved).items():
        print(f"  {key:<32} saved {value}  eval {figures(again).get(key)}")
    print(f"eval == saved metrics: {same}  (JSON: {path})")
    print("  (the figures above are not accuracies to quote: the synthetic features are noise plus a centre per "
          "style label, so they encode the label; this benchmark checks only that evaluation is reproducible)")
    if not same:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
