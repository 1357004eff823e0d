"""Never corrupt, never lose, never lie: one writer per directory, damage found and named, runs
replaced only on request and only once the new one is whole."""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from artkg.kg.errors import InputError
from artkg.kg.graph import load_graph
from artkg.kg.lock import output_lock

BIN = Path(sys.executable).parent
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "COLUMNS": "200"}
SYNTH = ["--artists", "60", "--image-size", "16", "--works-per-artist", "4"]


def cli(*args, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / args[0]), *map(str, args[1:])], capture_output=True, text=True, timeout=300,
                          env=ENV, cwd=cwd)


def one_line(done: subprocess.CompletedProcess) -> str:
    lines = [x for x in done.stderr.splitlines() if x.strip()]
    assert "Traceback" not in done.stderr and len(lines) == 1 and lines[0].startswith("error: "), done.stderr
    return lines[0]


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def tree(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): digest(p) for p in sorted(root.rglob("*"))
            if p.is_file() and "store" not in p.parts and not p.name.startswith(".artkg.lock")}


@pytest.fixture(scope="module")
def references(tmp_path_factory) -> dict[int, Path]:
    """Builds of seeds 1 and 2 made alone, to compare the contested directory with."""
    root = tmp_path_factory.mktemp("refs")
    out = {}
    for seed in (1, 2):
        done = cli("kgbuild", "synth", *SYNTH, "--seed", seed, "--out", root / f"seed{seed}", "-q")
        assert done.returncode == 0, done.stderr
        out[seed] = root / f"seed{seed}"
    return out


def same_build(a: Path, b: Path) -> bool:
    """The same graph, ground truth and images (the manifest differs only in its date and paths)."""
    ta, tb = tree(a), tree(b)
    ta.pop("manifest.json"), tb.pop("manifest.json")
    return ta == tb


def test_two_builds_at_once_leave_one_of_them_whole(references, tmp_path):
    """The second build starts while the first holds the directory (its lock record is on disk), so
    the two really overlap: the second must fail at once, and the directory is the first's, whole."""
    import time

    same = tmp_path / "same"

    big = ["--artists", "250", "--image-size", "16", "--works-per-artist", "4"]  # the first holds the lock ~3 s
    reference = tmp_path / "reference"
    assert cli("kgbuild", "synth", *big, "--seed", 1, "--out", reference, "-q").returncode == 0

    def start(seed: int, size: list[str]) -> subprocess.Popen:
        return subprocess.Popen([str(BIN / "kgbuild"), "synth", *size, "--seed", str(seed), "--out", str(same),
                                 "-q"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV)

    first = start(1, big)
    deadline = time.monotonic() + 60
    while not (same / ".artkg.lock.json").exists() and first.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert first.poll() is None, "the first build ended before the second could start: make it bigger"
    second = start(2, SYNTH)
    codes = (first.wait(timeout=300), second.wait(timeout=300))
    err = second.stderr.read()
    assert codes == (0, 2), (codes, first.stderr.read(), err)
    assert f"being written by another artkg process (pid {first.pid}" in err and len(err.strip().splitlines()) == 1
    manifest = json.loads((same / "manifest.json").read_text())
    assert manifest["source"]["seed"] == 1
    assert same_build(same, reference), "the directory mixes two builds"
    assert not [p for p in same.iterdir() if p.name.startswith((".staging", ".synth", ".parts"))]


def test_a_build_into_a_locked_directory_fails_at_once_and_changes_nothing(references, tmp_path):
    target = Path(shutil.copytree(references[1], tmp_path / "world"))
    before = tree(target)
    with output_lock(target):
        done = cli("kgbuild", "synth", *SYNTH, "--seed", 2, "--out", target, "-q")
    assert done.returncode == 2
    assert f"pid {os.getpid()}" in one_line(done)
    assert tree(target) == before
    done = cli("kgbuild", "synth", *SYNTH, "--seed", 2, "--out", target, "-q")  # once free, a rebuild is whole
    assert done.returncode == 0, done.stderr
    assert same_build(target, references[2])


def test_features_and_training_hold_their_directories(references, tmp_path):
    world = Path(shutil.copytree(references[1], tmp_path / "world"))
    with output_lock(world):
        done = cli("artkg", "features", world, "--text-encoder", "none", "-q")
    assert done.returncode == 2 and "being written by another artkg process" in one_line(done)
    assert not (world / "features").exists()
    done = cli("artkg", "features", world, "--text-encoder", "none", "--image-encoder-kwargs", '{"image_size": 32}',
               "-q")
    assert done.returncode == 0, done.stderr
    run = tmp_path / "run"
    with output_lock(run):
        done = cli("artkg", "train", "image_head", world, "--epochs", 1, "--out", run, "-q")
    assert done.returncode == 2 and "being written by another artkg process" in one_line(done)
    assert not run.exists()  # the lock's own folder is gone again


def test_train_refuses_a_finished_run_and_overwrite_keeps_it_whole_until_the_new_one_is(references, tmp_path):
    world = Path(shutil.copytree(references[2], tmp_path / "world"))
    assert cli("artkg", "features", world, "--text-encoder", "none", "--image-encoder-kwargs",
               '{"image_size": 32}', "-q").returncode == 0
    run = tmp_path / "run"
    first = cli("artkg", "train", "image_head", world, "--epochs", 1, "--out", run, "-q")
    assert first.returncode == 0, first.stderr
    old = tree(run)
    again = cli("artkg", "train", "image_head", world, "--epochs", 1, "--seed", 5, "--out", run, "-q")
    assert again.returncode == 2 and "--overwrite" in one_line(again) and tree(run) == old
    failing = cli("artkg", "train", "image_head", world, "--task", "colour", "--overwrite", "--out", run, "-q")
    assert failing.returncode == 2 and tree(run) == old  # failed inside the lock: the old run is untouched
    replaced = cli("artkg", "train", "image_head", world, "--epochs", 1, "--seed", 5, "--overwrite", "--out", run,
                   "-q")
    assert replaced.returncode == 0, replaced.stderr
    config = json.loads((run / "config.json").read_text())
    assert config["train"]["seed"] == 5 and tree(run) != old
    assert not [p for p in run.iterdir() if p.name.startswith(".staging")]


@pytest.fixture()
def damaged(references, tmp_path):
    def make(how: str) -> Path:
        world = Path(shutil.copytree(references[1], tmp_path / how))
        tensors = world / "processed" / "tensors.safetensors"
        if how == "truncated":
            tensors.write_bytes(tensors.read_bytes()[:100])
        elif how == "flipped":  # same size, one byte changed: only the hash sees it
            data = bytearray(tensors.read_bytes())
            data[-1] ^= 0xFF
            tensors.write_bytes(bytes(data))
        elif how == "deleted":
            tensors.unlink()
        elif how == "no_nodes":
            (world / "processed" / "nodes.json").unlink()
        return world
    return make


def test_info_verifies_a_healthy_directory(references):
    done = cli("artkg", "info", references[1])
    assert done.returncode == 0 and "verified: 6 recorded files match the manifest" in done.stdout, done.stdout
    report = json.loads(cli("artkg", "info", references[1], "--json").stdout)
    assert report["verify"]["ok"] and "graph.nt" in report["verify"]["checked"]


@pytest.mark.parametrize("how,named", [("truncated", "tensors.safetensors is 100 bytes"),
                                       ("flipped", "tensors.safetensors differs"),
                                       ("deleted", "tensors.safetensors is missing"),
                                       ("no_nodes", "nodes.json is missing")])
def test_info_reports_damage_and_exits_1(damaged, how, named):
    world = damaged(how)
    done = cli("artkg", "info", world)
    assert done.returncode == 1 and "DAMAGED" in done.stdout and named in done.stdout, done.stdout
    assert "kgbuild synth --artists 60 --seed 1" in done.stdout  # how to rebuild it
    report = json.loads(cli("artkg", "info", world, "--json").stdout)
    assert not report["verify"]["ok"] and any(named in p for p in report["verify"]["problems"])


@pytest.mark.parametrize("how", ["truncated", "deleted", "no_nodes"])
def test_loading_a_damaged_directory_is_one_line_naming_the_file_and_the_rebuild(damaged, how):
    world = damaged(how)
    name = "nodes.json" if how == "no_nodes" else "tensors.safetensors"
    with pytest.raises(InputError, match=f"damaged: processed/{name}.*kgbuild synth"):
        load_graph(world)
    done = cli("artkg", "influence", world, "--artist", "A0001")
    assert done.returncode == 2 and name in one_line(done)


def test_a_same_size_corruption_of_the_tensors_is_still_one_line(damaged):
    world = damaged("flipped")  # sizes match, so loading reaches safetensors, which must not traceback
    done = cli("artkg", "influence", world, "--artist", "A0001")
    assert done.returncode in (0, 2) and "Traceback" not in done.stderr
