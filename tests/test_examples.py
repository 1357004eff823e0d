"""Examples run as tests: what the README promises must work."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def test_demo_serves_crawls_and_prints_chains(tmp_path):
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / "demo.py"), "--out", str(tmp_path), "--artists", "80", "--chains", "2"],
        capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    reports = [block for block in done.stdout.split("\n\n") if "within degree 2" in block]
    assert len(reports) == 2
    # The crawl went through a real SPARQL server and stopped it afterwards.
    assert "Oxigraph SPARQL server on http://127.0.0.1:" in done.stderr
    assert "(server stopped)" in done.stderr
    manifest = json.loads((tmp_path / "crawled" / "manifest.json").read_text())
    assert manifest["source"]["kind"] == "wikidata"
    assert manifest["source"]["endpoint"].startswith("http://127.0.0.1:")
    assert manifest["requests"]["network"] > 0
    # Each printed chain has degree-2 entries whose path runs through a degree-1 influencer.
    truth = json.loads((tmp_path / "world" / "ground_truth.json").read_text())
    planted = {(e["influencee"], e["influencer"]) for e in truth["influence_edges"]}
    for block in reports:
        assert "[1]" in block
    seeds = manifest["source"]["seeds"]
    assert all(any(a == s for a, _ in planted) for s in seeds)
