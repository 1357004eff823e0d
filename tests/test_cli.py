"""The ``artkg`` and ``kgbuild`` console scripts, run as real subprocesses."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import artkg
from artkg.kg.graph import load_graph
from artkg.kg.influence import influence_report
from artkg.kg.schema import describe

BIN = Path(sys.executable).parent
ARTKG, KGBUILD = str(BIN / "artkg"), str(BIN / "kgbuild")
P737 = "http://www.wikidata.org/prop/direct/P737"


def run(*args: str, ok: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=120)
    if ok:
        assert proc.returncode == 0, proc.stderr
    return proc


def assert_one_line_error(proc: subprocess.CompletedProcess, *needles: str) -> str:
    assert proc.returncode != 0
    assert proc.stdout == ""
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    line = lines[0]
    assert line.startswith("error: ")
    problem, sep, fix = line.partition(" — ")
    assert sep and fix.strip(), f"no fix offered: {line}"
    for needle in needles:
        assert needle in line
    return line


@pytest.fixture(scope="module")
def chain_artist(small_world) -> dict:
    """An artist of the small world with degree-2 influencers, and the in-process answer."""
    graph = load_graph(small_world)
    for iri in graph.iris["artist"]:
        report = influence_report(graph, iri, degree=2)
        if any(x["degree"] == 2 for x in report["influencers"]):
            return {"iri": iri, "id": iri.rsplit("/", 1)[1], "report": report}
    raise AssertionError("the small world has no degree-2 chain")


def test_influence_json(small_world, chain_artist):
    proc = run(ARTKG, "influence", small_world, "--artist", chain_artist["id"], "--degree", "2", "--json")
    out = json.loads(proc.stdout)
    assert list(out) == ["artist", "degree", "direction", "influencers"]
    assert set(out["artist"]) == {"id", "label", "born", "died", "name"}
    assert out["degree"] == 2 and out["direction"] == "influencers"
    assert out["influencers"] and all(list(x) == ["id", "label", "born", "died", "degree", "path", "path_names"]
                                      for x in out["influencers"])
    assert {x["degree"] for x in out["influencers"]} == {1, 2}
    assert out == chain_artist["report"]
    assert proc.stderr == ""  # no log noise


def test_influence_human_output(small_world, chain_artist):
    report = chain_artist["report"]
    proc = run(ARTKG, "influence", small_world, "-a", report["artist"]["label"], "-d", "2")
    lines = proc.stdout.splitlines()
    n = len(report["influencers"])
    graph = load_graph(small_world)
    years = {iri: f"{label} ({b}–{d})" for iri, label, b, d in zip(
        graph.iris["artist"], graph.labels["artist"], graph.node_attr("artist", "birth_year").int().tolist(),
        graph.node_attr("artist", "death_year").int().tolist())}
    me = years[report["artist"]["id"]]
    assert lines[0] == f"{me} ({chain_artist['id']}) was influenced by {n} artists within degree 2:"
    assert len(lines) == 1 + n
    for line, item in zip(lines[1:], report["influencers"]):  # names and years along the path, no ids
        assert line == f"  [{item['degree']}] {years[item['id']]}    " + " ← ".join(years[p] for p in item["path"])
        assert "/" not in line and "A0" not in line


def test_influence_influenced_direction(small_world):
    graph = load_graph(small_world)
    oldest = graph.iris["artist"][0]  # index order = birth order: A0000 influenced many
    proc = run(ARTKG, "influence", small_world, "--artist", oldest, "--direction", "influenced", "--degree", "1", "--json")
    out = json.loads(proc.stdout)
    assert list(out) == ["artist", "degree", "direction", "influenced"]
    assert out == influence_report(graph, oldest, 1, "influenced")
    assert out["influenced"]


def test_influence_errors(small_world, tmp_path):
    assert_one_line_error(run(ARTKG, "influence", tmp_path / "missing", "--artist", "A0001", ok=False),
                          "no graph directory at", "kgbuild")
    (tmp_path / "empty").mkdir()
    assert_one_line_error(run(ARTKG, "info", tmp_path / "empty", ok=False), "not a finished artkg graph directory")
    graph = load_graph(small_world)
    label = graph.labels["artist"][3]
    cut = run(ARTKG, "influence", small_world, "--artist", label[:-1], "--json")  # a unique prefix is enough
    assert json.loads(cut.stdout)["artist"]["label"] == label
    assert_one_line_error(run(ARTKG, "influence", small_world, "--artist", "Qxw Zzyv", ok=False),
                          "no artist 'Qxw Zzyv'")
    assert_one_line_error(run(ARTKG, "info", tmp_path / "missing", ok=False), "no graph directory at")


def test_kgbuild_rdf_stdout_is_clean(tmp_path):
    nt = tmp_path / "in.nt"
    nt.write_text("".join(f"<http://x.example/{a}> <{P737}> <http://x.example/{b}> .\n"
                          for a, b in [("a", "b"), ("b", "c")]))
    proc = run(KGBUILD, "rdf", nt, "--out", tmp_path / "g", "--json", "--no-store")
    manifest = json.loads(proc.stdout)  # nothing but the JSON on stdout
    assert manifest == json.loads((tmp_path / "g" / "manifest.json").read_text())
    assert manifest["counts"]["edges"] == {"artist__influenced_by__artist": 2}
    assert "graph written to" in proc.stderr  # logs go to stderr
    proc = run(KGBUILD, "rdf", nt, "--out", tmp_path / "g")
    assert proc.stdout.splitlines()[:2] == ["built rdf graph: 2 triples", "nodes: 3 artist"]
    assert "graph written to" not in proc.stdout
    assert run(KGBUILD, "rdf", nt, "--out", tmp_path / "g", "-q").stderr == ""
    info = json.loads(run(ARTKG, "info", tmp_path / "g", "--json").stdout)
    verify = info.pop("verify")
    assert info == json.loads((tmp_path / "g" / "manifest.json").read_text())  # the manifest, and its check
    assert verify["ok"] and verify["problems"] == [] and "graph.nt" in verify["checked"]
    text = run(ARTKG, "info", tmp_path / "g").stdout
    assert "rdf graph, 2 triples" in text and "artist: 3" in text


def test_kgbuild_errors(small_world, tmp_path):
    assert_one_line_error(run(KGBUILD, "rdf", tmp_path / "nope.nt", "--out", tmp_path / "g", ok=False),
                          "no such RDF file")
    bad = tmp_path / "bad.ttl"
    bad.write_text("<http://x.example/a> <http://x.example/p> .\n")
    assert_one_line_error(run(KGBUILD, "rdf", bad, "--out", tmp_path / "g", ok=False), "bad.ttl is not valid Turtle")
    good = tmp_path / "good.nt"
    good.write_text(f"<http://x.example/a> <{P737}> <http://x.example/b> .\n")
    assert_one_line_error(run(KGBUILD, "rdf", good, "--out", small_world, ok=False),
                          "already holds a graph built by `kgbuild synth`")
    assert_one_line_error(run(KGBUILD, "wikiart", tmp_path / "none", "--out", tmp_path / "w", ok=False),
                          "no such directory")
    assert_one_line_error(run(KGBUILD, "artgraph", tmp_path, "--out", tmp_path / "a", ok=False),
                          "is not an ArtGraph raw export")


def test_ls_version_schema():
    from artkg.registry import registries

    table = json.loads(run(ARTKG, "ls", "--json").stdout)
    assert table["builder"] == ["artgraph", "rdf", "synth", "ugallery", "wikiart", "wikidata"]
    assert {"curatornet", "curatornet_kg", "vbpr", "visrank", "bpr_mf", "popularity", "random"} <= set(table["recommender"])
    resolvers = registries()
    assert table.keys() == resolvers.keys()
    for name, names in table.items():  # one spelling: every listed name is accepted, and names every component
        resolver = resolvers[name]
        assert len(names) == len(resolver.lookup_dict)
        assert {resolver.normalize_cls(resolver.lookup(n)) for n in names} == set(resolver.lookup_dict)
    assert "efficientnet_lite" in table["image_encoder"] and "image_head" in table["model"]
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    listed = {n for names in table.values() for n in names}
    for squashed in ("efficientnetlite", "imagehead", "linearprobe", "torchvisionresnet", "openclipimage"):
        assert squashed not in listed and f"`{squashed}`" not in readme  # only the spelling users type
    assert run(ARTKG, "ls").stdout.splitlines() == [f"{k}: {', '.join(v)}" for k, v in table.items()]
    assert run(ARTKG, "version").stdout.splitlines()[0] == f"artkg {artkg.__version__}"
    versions = json.loads(run(ARTKG, "version", "--json").stdout)
    assert versions["artkg"] == artkg.__version__ and "torch" in versions and "pyoxigraph" in versions
    assert json.loads(run(ARTKG, "schema", "--json").stdout) == describe()
    text = run(ARTKG, "schema").stdout
    assert text.startswith("node types: artist, artwork") and "(artist, influenced_by, artist)  P737" in text


def commands_of(cli: str) -> list[str]:
    text = run(BIN / cli, "--help").stdout
    return [line.split()[0] for line in text.split("Commands:", 1)[1].splitlines() if line.startswith("  ")]


@pytest.mark.parametrize("cli", ["kgbuild", "artkg"])
def test_every_command_help_shows_an_example(cli):
    """Every sub-command listed by `--help` (present and future ones) documents an example run."""
    commands = commands_of(cli)
    assert set(commands) >= {"kgbuild": {"wikidata", "rdf", "wikiart", "artgraph", "synth"},
                             "artkg": {"influence", "info", "schema", "ls", "version"}}[cli]
    for command in commands:
        out = run(BIN / cli, command, "--help").stdout
        assert "Example" in out, f"{cli} {command} --help has no example"
        assert f"{cli} {command}" in out.split("Example", 1)[1], f"{cli} {command}: the example runs another command"
