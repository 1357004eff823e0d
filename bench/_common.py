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


def ensure_importable() -> None:
    """Allow ``python bench/x.py`` from anywhere: bench/ itself on sys.path."""
    if str(BENCH) not in sys.path:
        sys.path.insert(0, str(BENCH))
