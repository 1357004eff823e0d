"""The expert in the loop (:mod:`artkg.models.signatures.loop`): `artkg signatures propose` exports the
clusters' unknown pairs with contact sheets, `simulate-annotator` judges them from a motif world's
ground truth, `annotate` adds the verdicts as links (unknown kinds: one line, graph untouched), and
`artkg signatures RUN` still means `export`."""
from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from artkg.kg.errors import InputError

pytestmark = pytest.mark.usefixtures("torch_one_thread")

CONFIG = {"encoder": "efficientnet_lite", "encoder_kwargs": {"image_size": 32}, "epochs": 1, "lr": 1e-3,
          "batch_size": 16, "eval_batch_size": 128, "seed": 1, "fractions": [0.6, 0.2, 0.2]}


def _cli(*args):
    from artkg.cli import app

    return CliRunner().invoke(app, [str(a) for a in args])


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> dict:
    """A 30-artist motif world at 32 px and a one-epoch run on its known links."""
    from artkg.kg.builders import build_graph

    root = tmp_path_factory.mktemp("loop")
    build_graph("synth", root / "world", artists=30, seed=4, image_size=32, works_per_artist=5, progress=False,
                motifs=8, known_links=0.5)
    cfg = root / "cfg.json"
    cfg.write_text(json.dumps(CONFIG), encoding="utf-8")
    result = _cli("train", "signatures", root / "world", "--out", root / "run", "--config", cfg, "--quiet")
    assert result.exit_code == 0, result.output
    truth = json.loads((root / "world" / "ground_truth.json").read_text(encoding="utf-8"))
    return {"root": root, "graph": root / "world", "run": root / "run", "truth": truth}


def _read(path: Path) -> list[dict]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _planted(world, kmeans: int = 12):
    """The run's collection with signatures replaced by one-hot family codes (works of a family share
    a vector; every other work its own): clusters are then exactly the families."""
    from artkg.models.signatures.loop import collection_signatures

    sig, works, paths, graph = collection_signatures(world["run"], device="cpu")
    iris = graph.iris["artwork"]
    fam = {w: f["motif"] for f in world["truth"]["motifs"]["families"] for w in f["works"]}
    codes = np.zeros((len(works), len(works) + 100))
    for r, w in enumerate(works.tolist()):
        codes[r, fam[iris[w]] if iris[w] in fam else 100 + r] = 1.0
    return codes.astype(np.float32), works, paths, graph


def test_propose_exports_unknown_pairs_of_clusters_with_sheets(world, tmp_path):
    from PIL import Image

    from artkg.models.signatures.loop import known_pairs, propose

    planted = _planted(world)
    out = tmp_path / "prop"
    summary = propose(world["run"], out, method="dbscan", method_kwargs={"eps": 0.01}, signatures=planted)
    families = world["truth"]["motifs"]["families"]
    held = [f for f in families if not f["known"]]
    # every family is a cluster; only the held-out ones have unknown pairs
    assert summary["clusters"] == len(families)
    assert summary["proposed_clusters"] == len(held)
    n_pairs = sum(len(f["works"]) * (len(f["works"]) - 1) // 2 for f in held)
    rows = _read(out / "verdicts.csv")
    assert summary["proposed_pairs"] == len(rows) == n_pairs
    assert list(rows[0]) == ["a", "b", "kind", "cluster", "similarity", "a_label", "b_label", "a_image", "b_image"]
    assert all(r["kind"] == "" for r in rows) and all(Path(r["a_image"]).is_file() for r in rows)
    held_pairs = {tuple(p) for p in world["truth"]["motifs"]["held_out_pairs"]}
    assert {tuple(sorted((r["a"], r["b"]))) for r in rows} == held_pairs
    graph = planted[3]
    index = {iri: i for i, iri in enumerate(graph.iris["artwork"])}
    known = known_pairs(graph)
    assert not any(tuple(sorted((index[r["a"]], index[r["b"]]))) in known for r in rows)
    data = json.loads((out / "proposals.json").read_text(encoding="utf-8"))
    assert len(data["clusters_proposed"]) == len(held)
    sheets = sorted((out / "sheets").glob("cluster_*.png"))
    assert len(sheets) == len(held)
    with Image.open(sheets[0]) as im:
        assert im.width > 32 and im.height > 32
    # an existing folder is not replaced without overwrite; with it, it is
    with pytest.raises(InputError, match="already holds files"):
        propose(world["run"], out, signatures=planted)
    small = propose(world["run"], out, method="dbscan", method_kwargs={"eps": 0.01}, signatures=planted,
                    overwrite=True, max_cluster_size=3, sheets=False)
    assert small["too_large"] and all(s > 3 for s in small["too_large"]) and not (out / "sheets").exists()
    # a budget keeps the most similar pairs of all clusters, and says how many it left
    sig = planted[0] + np.random.default_rng(0).normal(0, 0.001, planted[0].shape).astype(np.float32)
    full = propose(world["run"], tmp_path / "all", method="dbscan", method_kwargs={"eps": 0.01},
                   signatures=(sig, *planted[1:]), sheets=False)
    budget = propose(world["run"], tmp_path / "budget", method="dbscan", method_kwargs={"eps": 0.01},
                     signatures=(sig, *planted[1:]), sheets=False, max_pairs=5)
    everything, kept = _read(tmp_path / "all" / "verdicts.csv"), _read(tmp_path / "budget" / "verdicts.csv")
    assert full["proposed_pairs"] > 5 and budget["proposed_pairs"] == len(kept) == 5
    assert budget["beyond_max_pairs"] == full["proposed_pairs"] - 5 and full["beyond_max_pairs"] == 0
    top = sorted(everything, key=lambda r: -float(r["similarity"]))[:5]
    assert {(r["a"], r["b"]) for r in kept} == {(r["a"], r["b"]) for r in top}
    assert budget["proposed_clusters"] == len({r["cluster"] for r in kept})
    with pytest.raises(InputError, match="max_pairs 0"):
        propose(world["run"], tmp_path / "none", signatures=planted, max_pairs=0)
    # split: the families above 3 works are cut again at smaller radii instead of left out
    cut = propose(world["run"], tmp_path / "split", method="dbscan", method_kwargs={"eps": 0.01},
                  signatures=(sig, *planted[1:]), sheets=False, max_cluster_size=3, split=True)
    assert cut["split"] and not cut["too_large"] and cut["proposed_pairs"] > 0
    pieces = json.loads((tmp_path / "split" / "proposals.json").read_text(encoding="utf-8"))["clusters_proposed"]
    assert all(2 <= len(c["works"]) <= 3 for c in pieces)
    family = {w: f["motif"] for f in families for w in f["works"]}
    assert all(len({family[w["id"]] for w in c["works"]}) == 1 for c in pieces)  # pieces of one family each
    assert {tuple(sorted((r["a"], r["b"]))) for r in _read(tmp_path / "split" / "verdicts.csv")} <= held_pairs
    # neighbours: the best-scoring unknown pairs among each work's nearest, grouped into clusters
    near = propose(world["run"], tmp_path / "near", method="neighbours", method_kwargs={"k": 3},
                   signatures=(sig, *planted[1:]), sheets=False, max_pairs=6)
    pairs = _read(tmp_path / "near" / "verdicts.csv")
    assert near["proposed_pairs"] == len(pairs) == 6 and near["beyond_max_pairs"] > 0
    assert near["method_kwargs"] == {"k": 3, "hub_k": 10}
    assert not any(tuple(sorted((index[r["a"]], index[r["b"]]))) in known for r in pairs)
    groups = json.loads((tmp_path / "near" / "proposals.json").read_text(encoding="utf-8"))["clusters_proposed"]
    assert sum(len(g["pairs"]) for g in groups) == 6 and near["proposed_clusters"] == len(groups)
    for g in groups:  # each group is the works its pairs connect
        assert sorted({i for p in g["pairs"] for i in p[:2]}) == list(range(len(g["works"])))
    with pytest.raises(InputError, match="takes no"):
        propose(world["run"], tmp_path / "bad", method="neighbours", method_kwargs={"eps": 0.1}, signatures=planted)


def test_round_trip_simulate_annotate_adds_links_and_next_round_skips_them(world, tmp_path):
    import shutil

    from artkg.kg.graph import load_graph
    from artkg.models.signatures.loop import annotate, propose, simulate_annotator

    graph = tmp_path / "g"
    shutil.copytree(world["graph"], graph)
    planted = _planted(world)
    # merge two families' codes so that the clusters hold wrong pairs too
    sig = planted[0].copy()
    fams = world["truth"]["motifs"]["families"]
    iris = planted[3].iris["artwork"]
    a_f, b_f = [f for f in fams if not f["known"]][:2]
    rows_b = [r for r, w in enumerate(planted[1].tolist()) if iris[w] in b_f["works"]]
    sig[rows_b] = sig[[r for r, w in enumerate(planted[1].tolist()) if iris[w] == a_f["works"][0]][0]]
    out = tmp_path / "prop"
    propose(world["run"], out, method="dbscan", method_kwargs={"eps": 0.01}, signatures=(sig, *planted[1:]))
    counts = simulate_annotator(out / "verdicts.csv", world["graph"])
    wrong = len(a_f["works"]) * len(b_f["works"])
    assert counts["negative"] == wrong and counts["positive"] == counts["pairs"] - wrong
    assert counts["precision"] == pytest.approx(counts["positive"] / counts["pairs"])
    before = load_graph(graph).visual_links
    result = _cli("signatures", "annotate", graph, out / "verdicts.csv", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["verdicts"]["positive"] == counts["positive"] and report["verdicts"]["negative"] == wrong
    after = load_graph(graph).visual_links
    assert len(after) == len(before) + counts["pairs"]
    assert len(after.of_kind("negative")) == len(before.of_kind("negative")) + wrong
    assert set(after.source_names()) >= {"annotation"}
    # the next round proposes none of the judged pairs again
    moved = load_graph(graph)
    again = propose(world["run"], tmp_path / "prop2", graph_dir=graph, method="dbscan", method_kwargs={"eps": 0.01},
                    signatures=(sig, planted[1], planted[2], moved))
    assert again["proposed_pairs"] == 0


def test_verdicts_with_unknown_kinds_or_none_stop_before_the_graph_changes(world, tmp_path):
    import shutil

    from artkg.kg.graph import load_graph
    from artkg.models.signatures.loop import annotate

    graph = tmp_path / "g"
    shutil.copytree(world["graph"], graph)
    pairs = world["truth"]["motifs"]["held_out_pairs"][:3]
    nt_before = (graph / "graph.nt").read_bytes()

    def write(name, kinds):
        path = tmp_path / name
        with path.open("w", newline="", encoding="utf-8") as f:
            csv.writer(f).writerows([["a", "b", "kind"], *([a, b, k] for (a, b), k in zip(pairs, kinds))])
        return path

    bad = write("bad.csv", ["positive", "maybe", "yes"])
    result = _cli("signatures", "annotate", graph, bad)
    assert result.exit_code == 2
    line = result.output.strip()
    assert "\n" not in line and "unknown kind" in line and "'maybe'" in line and "line 3" in line
    with pytest.raises(InputError, match="has a verdict"):
        annotate(graph, write("empty.csv", ["", "", ""]))
    assert (graph / "graph.nt").read_bytes() == nt_before
    partly = annotate(graph, write("partly.csv", ["Positive", "", "wrong"]), source="expert:ann")
    assert partly["verdicts"] == {"rows": 3, "reviewed": 2, "not_reviewed": 1, "positive": 1, "wrong": 1}
    assert partly["links"]["dropped"]["rows without a kind (not reviewed)"]["count"] == 1
    links = load_graph(graph).visual_links
    assert sorted(k for k, s in zip(links.kind_names(), links.source_names()) if s == "expert:ann") == \
        ["negative", "positive"]


def test_simulate_annotator_needs_a_motif_world(world, tmp_path):
    from artkg.kg.synth import generate_world
    from artkg.models.signatures.loop import simulate_annotator

    plain = tmp_path / "plain"
    generate_world(plain, n_artists=6, seed=1, image_size=16, works_per_artist=2, progress=False)
    verdicts = tmp_path / "v.csv"
    verdicts.write_text("a,b,kind\nx,y,\n", encoding="utf-8")
    with pytest.raises(InputError, match="no motif families"):
        simulate_annotator(verdicts, plain)
    with pytest.raises(InputError, match="no ground truth"):
        simulate_annotator(verdicts, tmp_path / "nowhere")


def test_cli_propose_on_the_run_and_export_stays_the_default(world, tmp_path):
    out = tmp_path / "p"
    result = _cli("signatures", "propose", world["run"], "--out", out, "--method", "kmeans", "--method-kwargs",
                  '{"n_clusters": 40}', "--quiet", "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["clusters"] == 40 and (out / "verdicts.csv").is_file()
    assert summary["proposed_pairs"] == len(_read(out / "verdicts.csv"))
    again = _cli("signatures", "propose", world["run"], "--out", out, "--quiet")
    assert again.exit_code == 2 and "--overwrite" in again.output
    bad = _cli("signatures", "propose", world["run"], "--out", tmp_path / "q", "--method", "spectral")
    assert bad.exit_code == 2 and "unknown clustering method" in bad.output
    assert not (tmp_path / "q").exists()
    kmeans_split = _cli("signatures", "propose", world["run"], "--out", tmp_path / "s", "--method", "kmeans",
                        "--method-kwargs", '{"n_clusters": 4}', "--max-cluster-size", "3", "--split")
    assert kmeans_split.exit_code == 2 and "needs OPTICS or DBSCAN" in kmeans_split.output
    assert not (tmp_path / "s").exists()
    export = _cli("signatures", world["run"], "--quiet", "--json")
    assert export.exit_code == 0, export.output
    assert json.loads(export.stdout)["key"] == "signatures-run"


def test_cli_map_writes_png_html_and_json(world, tmp_path):
    out = tmp_path / "map"
    result = _cli("signatures", "map", world["run"], "--out", out, "--embedding", "pca", "--method", "kmeans",
                  "--method-kwargs", '{"n_clusters": 5}', "--quiet", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    data = json.loads((out / "map.json").read_text(encoding="utf-8"))
    n = len(list((world["graph"] / "images").glob("*.png")))
    assert report["n"] == len(data["works"]) == n and report["clusters"] == 5 and report["noise"] == 0
    assert report["thumbnails"] == n and (out / "map.png").stat().st_size > 1000
    assert (out / "map.html").read_text(encoding="utf-8").count("data:image/jpeg;base64") == n
    bad = _cli("signatures", "map", world["run"], "--out", tmp_path / "m2", "--embedding", "mds")
    assert bad.exit_code == 2 and "mds" in bad.output and not (tmp_path / "m2").exists()


def test_calibrate_eps_cuts_between_the_families_and_the_rest():
    from artkg.models.signatures.loop import calibrate_eps

    rng = np.random.default_rng(0)
    centres = rng.normal(size=(12, 16))
    # 12 families of 3 works at cosine distance ~1e-4 of their centre, far from each other
    x = np.repeat(centres, 3, axis=0) + 1e-3 * rng.normal(size=(36, 16))
    fams = [list(range(3 * k, 3 * k + 3)) for k in range(12)]
    cal = calibrate_eps(x, fams[:6])
    assert cal["recall"] == 1.0 and cal["precision"] == 1.0
    xn = x / np.linalg.norm(x, axis=1, keepdims=True)
    d = 1 - xn @ xn.T
    intra = max(d[i, j] for f in fams for i in f for j in f)
    inter = min(d[i, j] for a in range(12) for b in range(12) if a != b for i in fams[a] for j in fams[b])
    assert intra <= cal["max_eps"] < inter
    with pytest.raises(InputError, match="max-eps"):
        calibrate_eps(x, [[1]])


def test_propose_calibrates_optics_on_the_runs_held_out_known_links(world, tmp_path):
    result = _cli("signatures", "propose", world["run"], "--out", tmp_path / "p", "--quiet", "--json", "--no-sheets")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    cal = summary["calibration"]
    assert cal["families"] >= 1 and summary["method_kwargs"]["max_eps"] == cal["max_eps"]
    assert max(s for _, s in cal["grid"]) == round(cal["score"], 6)
    fixed = _cli("signatures", "propose", world["run"], "--out", tmp_path / "q", "--max-eps", "0.13", "--quiet",
                 "--json", "--no-sheets")
    assert fixed.exit_code == 0 and json.loads(fixed.stdout)["method_kwargs"]["max_eps"] == 0.13
    assert json.loads(fixed.stdout)["calibration"] is None
    bad = _cli("signatures", "propose", world["run"], "--out", tmp_path / "r", "--max-eps", "wide")
    assert bad.exit_code == 2 and "--max-eps" in bad.output


def test_calibrate_eps_on_the_radius_graph_matches_plain_optics(monkeypatch):
    import artkg.models.signatures.clusters as clusters
    from artkg.models.signatures.loop import calibrate_eps

    rng = np.random.default_rng(1)
    x = np.repeat(rng.normal(size=(30, 8)), 3, axis=0) + 0.05 * rng.normal(size=(90, 8))
    fams = [list(range(3 * k, 3 * k + 3)) for k in range(10)]
    plain = calibrate_eps(x, fams)
    calls = []
    real = clusters._fit_on_graph
    monkeypatch.setattr(clusters, "FAST_MIN_N", 10)
    monkeypatch.setattr(clusters, "_fit_on_graph", lambda *a: calls.append(1) or real(*a))
    fast = calibrate_eps(x, fams)
    assert calls and fast == plain


def test_calibrate_eps_with_a_cluster_cap_scores_what_propose_would_show():
    from artkg.models.signatures.loop import calibrate_eps

    rng = np.random.default_rng(2)
    # 8 families of 3 near-duplicates, all inside one loose blob: wide cuts chain them into one cluster
    centre = rng.normal(size=16)
    x = np.repeat(centre + 0.05 * rng.normal(size=(8, 16)), 3, axis=0) + 1e-4 * rng.normal(size=(24, 16))
    fams = [list(range(3 * k, 3 * k + 3)) for k in range(8)]
    grid = [0.5, 1e-3]  # 0.5 joins everything (precision ~0.09); 1e-3 cuts each family alone
    assert calibrate_eps(x, fams, grid=[0.5])["recall"] == 1.0
    capped = calibrate_eps(x, fams, grid=grid, max_cluster_size=5)
    assert capped["max_eps"] == 1e-3 and capped["precision"] == 1.0
    assert dict(map(tuple, capped["grid"]))[0.5] == 0.0  # the one big cluster is left out, as propose would
