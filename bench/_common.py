"""Shared helpers of the benchmarks: timing, child processes, peak memory, tables, JSON output.

Every measured variant runs in its own child process (``python bench_x.py --worker NAME …``), so
its peak RSS (``VmHWM``, see :func:`peak_rss_mib`) is its own, and one variant's garbage cannot
slow the next. Times are wall-clock (``time.perf_counter``) with CPU time
(``time.process_time``) beside them: on a shared machine the CPU time is the steadier figure.
"""
from __future__ import annotations

import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
OUT = BENCH / "out"


def log(*args) -> None:
    print(*args, file=sys.stderr, flush=True)


def peak_rss_mib() -> float:
    """Peak resident set size of this process so far, in MiB.

    On Linux this is ``VmHWM`` from ``/proc/self/status``: ``getrusage().ru_maxrss`` survives
    ``exec``, so a child process would report its parent's size if the parent was bigger.
    Elsewhere, ``resource.getrusage(RUSAGE_SELF).ru_maxrss``.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kib / 1024 if sys.platform != "darwin" else kib / 2**20


def timed(fn, repeat: int) -> dict:
    """Run ``fn`` ``repeat`` times; wall and CPU seconds of each run."""
    walls, cpus = [], []
    for _ in range(repeat):
        w0, c0 = time.perf_counter(), time.process_time()
        fn()
        walls.append(time.perf_counter() - w0)
        cpus.append(time.process_time() - c0)
    return {"wall": walls, "cpu": cpus}


def summary(times: list[float]) -> dict:
    return {"best": min(times), "median": statistics.median(times), "runs": times}


def run_worker(script: Path, name: str, args: list[str], timeout: float | None = None) -> dict:
    """Run ``script --worker name args…`` in a fresh interpreter; its last stdout line is JSON."""
    cmd = [sys.executable, str(script), "--worker", name, *args]
    log(f"[{script.stem}] {name} …")
    t0 = time.perf_counter()
    done = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, timeout=timeout, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{name} failed (exit {done.returncode}): {' '.join(cmd)}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    log(f"[{script.stem}] {name}: done in {time.perf_counter() - t0:.1f} s")
    return result


def machine() -> dict:
    info = {"python": platform.python_version(), "platform": platform.platform(),
            "cpus": os.cpu_count()}
    try:
        info["mem_total_gib"] = round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)
        info["load_avg"] = [round(x, 2) for x in os.getloadavg()]
    except (ValueError, OSError, AttributeError):
        pass
    try:
        import numpy
        import pyoxigraph
        info["pyoxigraph"] = pyoxigraph.__version__
        info["numpy"] = numpy.__version__
    except ImportError:
        pass
    return info


def table(rows: list[list], header: list[str]) -> str:
    cells = [[str(c) for c in row] for row in [header, *rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    lines = []
    for k, row in enumerate(cells):
        lines.append("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths))))
        if k == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def write_json(name: str, payload: dict) -> Path:
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"{name}.json"
    path.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    return path


def write_report(args, results: list, table: str) -> dict:
    """A table bench's report: its arguments, per-seed results and markdown table, written to
    ``args.report`` (JSON) and the table printed."""
    report = {"args": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()}, "results": results,
              "table": table}
    args.report.parent.mkdir(parents=True, exist_ok=True)
    args.report.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    print(table)
    return report


def ensure_importable() -> None:
    """Allow ``python bench/x.py`` from anywhere: bench/ itself on sys.path."""
    if str(BENCH) not in sys.path:
        sys.path.insert(0, str(BENCH))


# ------------------------------------------------------------------ additions for the model benchmarks
def set_threads(threads: int) -> None:
    """Pin torch's intra-op threads (and OpenMP's) for a measurement; both variants use the same."""
    import torch

    torch.set_num_threads(int(threads))
    os.environ["OMP_NUM_THREADS"] = str(int(threads))


def interleaved(variants: dict, repeat: int, warmup: int = 0) -> dict:
    """Run each variant (name → callable returning extra figures or None, or ``(setup, callable)``
    with an untimed ``setup``) ``repeat`` times, alternating between them (A B A B …, the order
    flipped every other round), so that a change of load on a shared machine hits every variant
    alike. ``warmup`` untimed rounds come first (lazy imports, first allocations). Returns name →
    list of wall seconds, ``name + "/cpu"`` → the process's CPU seconds (all its threads), and
    ``name + "/extra"`` → what the callables returned."""
    names = list(variants)
    walls: dict = {n: [] for n in names}
    cpus: dict = {f"{n}/cpu": [] for n in names}
    extras: dict = {f"{n}/extra": [] for n in names}
    for r in range(-warmup, repeat):
        for name in (names if r % 2 == 0 else names[::-1]):
            setup, fn = variants[name] if isinstance(variants[name], tuple) else (None, variants[name])
            if setup is not None:
                setup()
            t0, c0 = time.perf_counter(), time.process_time()
            extra = fn()
            if r >= 0:
                walls[name].append(time.perf_counter() - t0)
                cpus[f"{name}/cpu"].append(time.process_time() - c0)
                extras[f"{name}/extra"].append(extra)
    return {**walls, **cpus, **extras}


def run_child_rusage(cmd: list[str], timeout: float | None = None, env: dict | None = None) -> tuple[dict, float]:
    """Run ``cmd`` (its last stdout line is JSON) and return ``(result, child ru_maxrss in MiB)``.

    The peak is ``os.wait4``'s ``ru_maxrss`` of that very child (KiB on Linux). It counts from the
    ``fork``, so it includes the bench parent's own size before the ``exec`` — tens of MiB here.
    """
    import tempfile

    with tempfile.TemporaryFile(mode="w+") as out:
        proc = subprocess.Popen(cmd, stdout=out, env=env)
        t0 = time.perf_counter()
        try:
            while True:
                pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
                if pid:
                    break
                if timeout is not None and time.perf_counter() - t0 > timeout:
                    proc.kill()
                    pid, status, usage = os.wait4(proc.pid, 0)
                    raise RuntimeError(f"timed out after {timeout:.0f} s: {' '.join(cmd)}")
                time.sleep(0.05)
        finally:
            proc.returncode = 0  # reaped here: keep Popen from waiting again
        code = os.waitstatus_to_exitcode(status)
        if code != 0:
            raise RuntimeError(f"exit {code}: {' '.join(cmd)}")
        out.seek(0)
        lines = out.read().strip().splitlines()
    kib = usage.ru_maxrss
    return json.loads(lines[-1]), (kib / 1024 if sys.platform != "darwin" else kib / 2**20)


def cached_input(kind: str, stamp: str, build) -> Path:
    """``OUT/kind/<hash of stamp>/graph``, made once by ``build(path)``; a half-built one is redone."""
    import hashlib
    import shutil

    root = OUT / kind / hashlib.sha256(stamp.encode()).hexdigest()[:12]
    if (root / "done").exists():
        return root / "graph"
    if root.exists():
        shutil.rmtree(root)
    build(root / "graph")
    (root / "done").write_text("ok\n")
    return root / "graph"


def write_synthetic_features(graph_dir: str | Path, dim: int = 1280, seed: int = 0, task: str | None = "style",
                             signal: float = 0.5, chunk: int = 8192, name: str = "synthetic") -> dict:
    """Write random image features where ``load_features`` / ``train`` read them.

    The folder follows :mod:`artkg.models.features_cache`' layout, ``GRAPH_DIR/features/<slug>/`` with
    ``meta.json`` (``kind="image"``, ``complete``, the graph's ``id_map_hash``), ``artwork.npy``
    (float32 ``[N, dim]``) and ``artwork_mask.npy`` (all true), written chunk by chunk through
    ``.npy`` memory maps. Each row is standard normal noise plus ``signal`` × a random unit-variance
    vector of the artwork's ``task`` class (when the graph has that task), so a classifier has
    something to learn. Returns the meta.
    """
    import numpy as np
    from artkg.kg.atomic import write_json as atomic_json
    from artkg.kg.graph import load_graph
    from artkg.models.features_cache import FEATURES, FORMAT_VERSION, feature_slug

    graph = load_graph(graph_dir)
    n = graph.num_nodes("artwork")
    labels = None
    if task:
        from artkg.models.tasks import make_task

        try:
            labels = make_task(graph, task).labels(graph).numpy()
        except Exception:  # noqa: BLE001 - no such task in this graph: plain noise
            labels = None
    cache_key = f"{name}:dim={dim}:seed={seed}:task={task}:signal={signal}"
    folder = Path(graph.root) / FEATURES / feature_slug(cache_key)
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    centers = rng.standard_normal((int(labels.max()) + 2 if labels is not None and len(labels) else 1, dim),
                                  dtype=np.float32)
    feats = np.lib.format.open_memmap(folder / "artwork.npy", mode="w+", dtype=np.float32, shape=(n, dim))
    for start in range(0, n, chunk):
        stop = min(n, start + chunk)
        block = rng.standard_normal((stop - start, dim), dtype=np.float32)
        if labels is not None:
            block += signal * centers[labels[start:stop]]  # label -1 → the last (extra) centre
        feats[start:stop] = block
    feats.flush()
    del feats
    mask = np.lib.format.open_memmap(folder / "artwork_mask.npy", mode="w+", dtype=np.bool_, shape=(n,))
    mask[:] = True
    mask.flush()
    del mask
    meta = {"kind": "image", "encoder": name, "encoder_class": "bench._common.write_synthetic_features",
            "encoder_kwargs": {"dim": dim, "seed": seed, "task": task, "signal": signal}, "cache_key": cache_key,
            "id_map_hash": graph.manifest.get("id_map_hash"), "inputs_hash": "synthetic",
            "format_version": FORMAT_VERSION, "dim": int(dim), "node_types": ["artwork"], "counts": {"artwork": n},
            "created": _utc_now(), "complete": True, "completed": _utc_now(), "encoded": n, "skipped": 0,
            "normalized": False}
    atomic_json(folder / "meta.json", meta)
    return {**meta, "key": folder.name, "path": str(folder)}


def _utc_now() -> str:
    import datetime as dt

    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="microseconds")


def sections_main(bench: str, doc: str, script: Path, sections: dict, sizes: dict, repeat_defaults: tuple[int, int],
                  argv: list[str] | None = None, worker_threads: bool = False, quick_help: str = "a minute") -> int:
    """The ``main`` of a benchmark made of sections, each ``name -> (worker(cfg, repeat[, threads]),
    report(result, threads, machine) -> ratios)`` with ``sizes[name] = (full, quick)``: parses
    ``--quick/--only/--repeat/--threads``, runs each section's worker in a child process
    (``--worker``) and writes ``bench/out/<bench>.json``."""
    import argparse

    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help=f"small sizes (smoke test, {quick_help})")
    parser.add_argument("--only", nargs="+", choices=tuple(sections), help="run only these sections")
    parser.add_argument("--repeat", type=int, default=None,
                        help=f"interleaved rounds (default {repeat_defaults[0]}; quick {repeat_defaults[1]})")
    parser.add_argument("--threads", type=int, default=1, help="BLAS/OpenMP threads of every child (default 1)")
    parser.add_argument("--worker", nargs=4 if worker_threads else 3, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        name, cfg, repeat = args.worker[0], json.loads(args.worker[1]), int(args.worker[2])
        extra = (int(args.worker[3]),) if worker_threads else ()
        print(json.dumps(sections[name][0](cfg, repeat, *extra)))
        return 0
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):  # the children's numpy
        os.environ[var] = str(args.threads)
    q = 1 if args.quick else 0
    chosen = {name: sizes[name][q] for name in sections}
    repeat = args.repeat or repeat_defaults[q]
    info = machine()
    res, ratios = {}, {}
    for name in args.only or list(sections):
        res[name] = run_worker(script, name, [json.dumps(chosen[name]), str(repeat)]
                               + ([str(args.threads)] if worker_threads else []))
        ratios.update(sections[name][1](res[name], args.threads, info))
    write_json(bench, {"quick": args.quick, "machine": info,
                       "config": {"sizes": chosen, "repeat": repeat, "threads": args.threads},
                       "result": res, "ratios": ratios})
    return 0
