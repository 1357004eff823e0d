"""After every build, a short summary on stderr of what was skipped and why (``-v``: examples),
also kept in the manifest's ``dropped``: here for a crawl of the Wikidata-shaped fixture, whose
three "unknown value" skolem IRIs (an influencer, a death date, a co-creator) make no node."""
from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from artkg.kg.server import OxigraphServer
from artkg.kg.wikidata_statements import UNKNOWN_DROPPED

KGBUILD = str(Path(sys.executable).parent / "kgbuild")
SHAPE = Path(__file__).parent / "data" / "wikidata_shape.ttl"
WD = "http://www.wikidata.org/entity/"


def test_wikidata_build_counts_unknown_values_and_prints_the_summary(tmp_path):
    text = SHAPE.read_text(encoding="utf-8")
    skolem = set(re.findall(r"genid:(\w+)", text))  # the distinct unknown values of the fixture
    with OxigraphServer(files=[SHAPE]) as srv:
        done = subprocess.run([KGBUILD, "wikidata", "Q1", "Q103", "--endpoint", srv.query_url, "--out",
                               str(tmp_path / "g"), "--hops", "1", "--no-store", "-v", "--json"],
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        quiet = subprocess.run([KGBUILD, "wikidata", "Q1", "Q103", "--endpoint", srv.query_url, "--out",
                                str(tmp_path / "q"), "--hops", "1", "--no-store"],
                               capture_output=True, text=True, timeout=120)
    manifest = json.loads(done.stdout)  # stdout stays machine-readable
    entry = manifest["dropped"][UNKNOWN_DROPPED]
    assert entry["count"] == len(skolem) == 3
    assert sorted(entry["examples"]) == sorted([f"{WD}Q1 P737 (unknown)", f"{WD}Q1 P570 (unknown)",
                                                f"{WD}Q60 P170 (unknown)"])
    assert "skipped:" in done.stderr and UNKNOWN_DROPPED in done.stderr
    assert f"e.g. {WD}Q60 P170 (unknown)" in done.stderr  # -v lists examples
    assert UNKNOWN_DROPPED in quiet.stderr and "(-v lists examples)" in quiet.stderr
    assert "e.g. " not in quiet.stderr
