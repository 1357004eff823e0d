"""The benchmarks keep running (small sizes). Their figures are reported, never asserted here."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "bench"


def test_benchmarks_run_quick():
    done = subprocess.run([sys.executable, str(BENCH / "run_all.py"), "--quick"],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    summary = json.loads((BENCH / "out" / "run_all.json").read_text(encoding="utf-8"))
    assert "summary" in done.stdout
    text = json.dumps(summary)
    for key in ("ours_over_bare", "rdflib_over_ours", "networkx p50"):
        assert key in text, key
