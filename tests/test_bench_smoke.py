"""The benchmarks keep running (small sizes). Their figures are reported, never asserted here."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench"


def test_benchmarks_run_quick():
    # The graph benchmarks; the others have their own tests below (each is a minute or so on 2 cores).
    done = subprocess.run([sys.executable, str(BENCH / "run_all.py"), "--quick", "--only", "bench_build",
                           "bench_influence", "bench_search"], check=False, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    summary = json.loads((BENCH / "out" / "run_all.json").read_text(encoding="utf-8"))
    assert "summary" in done.stdout
    text = json.dumps(summary)
    for key in ("ours_over_bare", "rdflib_over_ours", "networkx p50"):
        assert key in text, key
    search = json.loads((BENCH / "out" / "bench_search.json").read_text(encoding="utf-8"))
    assert all(q["top"] is not None and q["matches"] >= 1 for q in search["queries"].values())
    assert search["queries"]["misspelt name"]["top_match"] == "fuzzy"  # the typo path ran and found the name


def test_bench_faiss_quick():
    pytest.importorskip("faiss")
    done = subprocess.run([sys.executable, str(BENCH / "run_all.py"), "--quick", "--only", "bench_faiss"],
                          check=False, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "faiss: exact search ours/raw" in done.stdout
    report = json.loads((BENCH / "out" / "bench_faiss.json").read_text(encoding="utf-8"))
    assert report["quick"] and report["exact"]["identical_ids"]
    for key in ("ours_over_raw_qps", "hnsw_recall_at_10", "hnsw_speedup_over_exact"):
        assert key in report["ratios"], key


@pytest.mark.parametrize("name, line, keys", [
    ("bench_features", "extract_features / bare forward throughput", ("ours_over_bare_throughput",)),
    ("bench_epoch", "Trainer / bare PyG loop", ("ours_over_bare_epoch", "ours_over_bare_steps")),
    ("bench_memory", "memory (offline world (quick)): peak RSS", ("peak_gib", "load_peak_gib", "style_peak_gib")),
    ("bench_recsys", "recsys: curatornet fit / bare loop throughput",
     ("ours_over_bare_throughput", "bare_over_ours_latency", "fit_peak_gib", "eval_peak_over_raw")),
    ("bench_multimodal", "multimodal: total late fusion bare/library", ("bare_over_library_total",)),
    ("bench_signatures", "signatures: extraction ours/bare throughput",
     ("ours_over_bare_throughput", "cluster_large_s", "plain_over_fast", "pairs_over_optics")),
])
def test_learning_benchmarks_quick(name, line, keys):
    """Issue 3's benchmarks (features, GraphCLIP epoch, memory) in their small --quick variants."""
    done = subprocess.run([sys.executable, str(BENCH / "run_all.py"), "--quick", "--only", name],
                          check=False, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    assert line in done.stdout, done.stdout[-2000:]
    report = json.loads((BENCH / "out" / f"{name}.json").read_text(encoding="utf-8"))
    assert report["quick"]
    for key in keys:
        assert key in report["ratios"], key
    if name == "bench_features":  # the pipeline wrote exactly the bare forward's features
        assert report["result"]["max_abs_diff_ours_vs_bare"] < 1e-4 and report["result"]["all_encoded"]
    if name == "bench_epoch":  # the bare loop does the same computation as the Trainer
        assert report["result"]["max_abs_loss_diff"] < 1e-3
    if name == "bench_signatures":  # the fast clustering gave plain scikit-learn's labels
        assert report["ratios"]["identical_labels"] is True
        assert report["ratios"]["pairs_large_precision"] > 0.9  # CSLS finds the planted families' pairs
    if name == "bench_recsys":  # the bare loop trains the same network; the bare top 20 are ours
        assert report["result"]["throughput"]["max_abs_loss_diff"] < 1e-3
        assert all(report["result"]["latency"]["same_top20"].values())


def test_signatures_round_compare_pools_families_and_brackets_the_difference():
    # the round bench's statistics (its training is too long for the suite): per-family scores
    # pooled with their weights, arms averaged over runs, a bootstrap interval over families
    sys.path.insert(0, str(BENCH))
    import signatures_round as sr

    def fam(m, r, q, d):
        return {"mAP": m, "recall@20": r, "queries": q, "directed": d}

    control = [fam(0.2, 0.5, 2, 2), fam(0.4, 1.0, 6, 12)]
    assert sr.pooled(control) == pytest.approx({"mAP": (0.4 + 2.4) / 8, "recall@20": (1 + 12) / 14})
    better = [fam(0.3, 0.5, 2, 2), fam(0.6, 1.0, 6, 12)]
    out = sr.compare({"retrained": [better, control], "control_matched": [control, control]}, boot=200)
    half = (sr.pooled(better)["mAP"] - sr.pooled(control)["mAP"]) / 2  # one of R1's two runs is better
    assert out["mAP"]["difference"] == pytest.approx(half)
    low, high = out["mAP"]["interval"]
    assert 0 < low <= half <= high  # every family gains, so every resample does
    assert out["recall@20"]["difference"] == 0 and out["recall@20"]["interval"] == [0, 0]
    assert out["mAP"]["runs"]["retrained"] == [sr.pooled(better)["mAP"], sr.pooled(control)["mAP"]]
    assert out["families"] == 2 and out["pairs"] == 7
