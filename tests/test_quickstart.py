"""The README's quick start, run verbatim on a fresh 120-artist world: what a new user types first."""
from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def quickstart_commands() -> list[str]:
    """The lines of the first bash block under "## Quick start" (the activation line aside)."""
    text = README.read_text()
    section = text[text.index("## Quick start"):]
    block = re.search(r"```bash\n(.*?)```", section, re.S).group(1)
    lines = [line for line in block.splitlines() if line.strip() and not line.startswith(". ")]
    assert lines[0].startswith("kgbuild synth --artists 120"), "the quick start starts from a fresh 120-artist world"
    return lines


@pytest.mark.slow
def test_readme_quick_start_runs_verbatim(tmp_path):
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
           "OMP_NUM_THREADS": "2"}
    outputs: list[str] = []
    for line in quickstart_commands():
        argv = shlex.split(line, comments=True)
        done = subprocess.run(argv, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, f"{line}\n{done.stderr[-2000:]}"
        assert "Traceback" not in done.stderr, line
        outputs.append(done.stdout)
    # What the comments promise: names found, chains with names and years, a verified directory,
    # an explanation on disk, candidates with readable similarities.
    lines = quickstart_commands()

    def out(start: str) -> str:
        return outputs[next(i for i, line in enumerate(lines) if line.startswith(start))]

    assert "Konrad Fonley (1856–1902)" in out("artkg search")
    assert out("artkg influence world --artist \"konrad").startswith("Konrad Fonley (1856–1902) (A0100) was influenced")
    assert "— influenced by —" in out("artkg influence world --artist \"Clara")  # --evidence
    assert "verified: 6 recorded files match the manifest" in out("artkg info")
    assert (tmp_path / "expl" / "explanation.json").exists() and (tmp_path / "expl" / "graph.png").exists()
    ranked = outputs[-1].splitlines()
    assert ranked[0].startswith("Landscape No. 60 (") and "similarity = 1 / (1 + L2 distance)" in ranked[0]
    assert sum(" similarity 0." in line for line in ranked) == 5
