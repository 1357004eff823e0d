"""Explanations a person can read: the artwork connected to every fact, nodes with titles, years and
creators, facts as sentences, heatmaps titled with the artwork, artist, class and the terminal's score,
and a similarity map with the query and the candidate side by side.

The PNGs are rendered into a folder the tests print; with ``ARTKG_SCREENSHOTS=DIR`` one example set is
also copied to DIR (how ``docs/screenshots/`` was made).
"""
from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import pytest
import torch
from artkg.explain.config import GraphExplainConfig
from conftest import featured_world

pytestmark = pytest.mark.usefixtures("torch_one_thread")

FAST = {"epochs": 4, "batch_size": 128, "threads": 1, "gnn_kwargs": {"layers": 2, "hidden": 32, "dropout": 0.1},
        "model_kwargs": {"embed_dim": 32}, "patience": 0}
QUICK = GraphExplainConfig(epochs=20, top_k=12)


@pytest.fixture(scope="module")
def world(small_world, tmp_path_factory) -> Path:
    return featured_world(small_world, tmp_path_factory, "readable", image_size=128)


@pytest.fixture(scope="module")
def run_dir(world, tmp_path_factory) -> Path:
    from artkg.models.train import train
    from artkg.models.train_config import TrainConfig

    out = tmp_path_factory.mktemp("runs") / "graphclip"
    train(world, TrainConfig.from_dict({**FAST, "tasks": ["style"]}), out=out, progress=False)
    return out


@pytest.fixture(scope="module")
def ctx(run_dir):
    from artkg.explain.context import ExplainContext

    return ExplainContext.load(run_dir)


@pytest.fixture(scope="module")
def shots(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("screenshots")
    print(f"\nrendered PNGs: {folder}")
    return folder


def _keep(path: Path, shots: Path, name: str, docs: bool = True) -> None:
    shutil.copyfile(path, shots / name)
    if docs and os.environ.get("ARTKG_SCREENSHOTS"):
        target = Path(os.environ["ARTKG_SCREENSHOTS"])
        target.mkdir(parents=True, exist_ok=True)
        from PIL import Image

        with Image.open(path) as img:  # 256 colours: small enough to commit, still sharp text
            img.convert("RGB").quantize(256).save(target / name, optimize=True)


def _undirected(sub):
    from artkg.explain.export import to_networkx

    return to_networkx(sub).to_undirected(as_view=False)


# ------------------------------------------------------------------ connecting paths (exact, small graphs)
def test_connecting_edges_tie_each_piece_to_the_artwork_by_the_shortest_path():
    from artkg.explain.readable import connecting_edges

    created = ("artwork", "created_by", "artist")
    movement = ("artist", "movement", "movement")
    style = ("artwork", "style", "style")
    edges = {created: torch.tensor([[0, 1, 2], [0, 1, 2]]), movement: torch.tensor([[0, 1], [0, 0]]),
             style: torch.tensor([[0, 1, 2], [0, 0, 1]]),
             ("artist", "rev_created_by", "artwork"): torch.tensor([[0, 1, 2], [0, 1, 2]])}
    num = {"artwork": 4, "artist": 3, "movement": 1, "style": 2}
    # A fact about the artist's movement: the creator edge alone ties it (artwork → artist → movement).
    links = connecting_edges(edges, num, 0, {("artwork", 0), ("artist", 0), ("movement", 0)}, {(movement, 0)})
    assert links == [("creator", created, 0)]
    # A fact about another artist's movement: artwork 0 —style→ Style 0 ←style— artwork 1 —created by→ artist 1.
    links = connecting_edges(edges, num, 0, {("artwork", 0), ("artist", 1), ("movement", 0)}, {(movement, 1)})
    assert links[0] == ("creator", created, 0)
    # The shortest path is artwork 0 → artist 0 → movement 0 ← artist 1, already half made by the creator edge.
    assert set(links[1:]) == {("path", movement, 0)}
    # A node the graph cannot reach (artwork 3 has no edges) stays apart; nothing is invented.
    links = connecting_edges(edges, num, 0, {("artwork", 0), ("artwork", 3)}, set())
    assert links == [("creator", created, 0)]
    # A fact that is the creator edge itself is not repeated.
    assert connecting_edges(edges, num, 0, {("artwork", 0), ("artist", 0)}, {(created, 0)}) == []


# ------------------------------------------------------------------ the explanation subgraph
@pytest.fixture(scope="module")
def explained(ctx):
    """Test-split artworks (their own label edge is held out, so facts can float) until one needed a path."""
    from artkg.explain.graph import explain_graph

    results = [explain_graph(ctx, int(a), "style", QUICK) for a in ctx.run.split.test[:4]]
    return results


def test_explained_artwork_is_connected_to_every_fact(ctx, explained):
    import networkx as nx
    from artkg.kg.search import creators

    paths = 0
    for result in explained:
        sub = result.subgraph
        g = _undirected(sub)
        art = sub.artwork["id"]
        assert nx.is_connected(g), [c for c in nx.connected_components(g) if art not in c]
        creator = creators(ctx.graph)[result.artwork]
        creator_id = next(n["id"] for n in sub.nodes if n["type"] == "artist" and n["index"] == creator)
        assert any({e["source"], e["target"]} == {art, creator_id} and e["relation"] == "created_by"
                   for e in sub.all_edges())
        # Without the links, some explanations fall apart: the links are what connects them.
        facts_only = nx.Graph([(e["source"], e["target"]) for e in sub.edges])
        facts_only.add_nodes_from(n["id"] for n in sub.nodes)
        paths += int(not nx.is_connected(facts_only) and any(e["role"] == "path" for e in sub.links))
        for e in sub.links:  # links are real edges of the graph, in its own direction
            assert e["role"] in ("creator", "path") and e["rank"] is None and not e["relation"].startswith("rev_")
    assert paths >= 1


def test_nodes_carry_creator_and_year_and_facts_read_as_sentences(ctx, explained, tmp_path):
    import networkx as nx
    from artkg.explain.export import write_graph_files
    from artkg.kg.search import describe

    sub = explained[0].subgraph
    files = write_graph_files(sub, tmp_path)
    graphml = nx.read_graphml(files["graphml"])
    seen = set()
    for n in sub.nodes:
        known = describe(ctx.graph, n["type"], n["index"])
        for key in ("year", "creator", "born", "died"):
            if known.get(key) is not None:
                assert n[key] == known[key] and str(graphml.nodes[n["id"]][key]) == str(known[key])
                seen.add((n["type"], key))
    assert {("artwork", "year"), ("artwork", "creator"), ("artist", "born")} <= seen
    by_id = {n["id"]: n for n in sub.nodes}
    for e in sub.all_edges():
        src, dst = by_id[e["source"]], by_id[e["target"]]
        assert e["sentence"].startswith(f"*{src['label']}*" if src["type"] == "artwork" else src["label"])
        assert f" — {e['relation'].replace('_', ' ')} — " in e["sentence"] and dst["label"] in e["sentence"]
        assert not re.search(r"\b(artwork|artist|style):[A-Z]?\d", e["sentence"])  # labels, not ids
    saved = json.loads(Path(files["json"]).read_text())
    assert saved["links"] == sub.links and {e["role"] for e in saved["edges"]} == {"fact"}


def test_graph_png_shows_the_connected_artwork_titled(explained, shots):
    import matplotlib.pyplot as plt
    import networkx as nx
    from artkg.explain.export import draw_png, graph_figure

    result = max(explained, key=lambda r: len(r.subgraph.links))  # the one that needed most linking
    sub = result.subgraph
    fig, drawn = graph_figure(sub)
    plt.close(fig)
    art = sub.artwork
    assert nx.is_connected(drawn["graph"].to_undirected())
    assert art["label"] in drawn["title"] and art["creator"] in drawn["title"]
    assert f"predicted '{sub.predicted_class['label']}'" in drawn["title"]
    assert f"(probability {sub.meta['probability']:.2f})" in drawn["title"]
    label = drawn["labels"][art["id"]]
    assert str(art["year"]) in label and art["label"].split()[0] in label
    for text in drawn["labels"].values():  # short enough to stay apart: at most 3 lines of ~28 characters
        assert len(text.splitlines()) <= 3 and max(map(len, text.splitlines())) <= 30, text
    path = draw_png(sub, shots / "graph.png")
    _keep(path, shots, "explanation_graph_linked.png", docs=False)
    assert path.stat().st_size < 300_000


# ------------------------------------------------------------------ heatmaps
def test_heatmap_title_names_the_artwork_the_class_and_the_terminals_score(run_dir, ctx, shots, tmp_path):
    from artkg.cli import app
    from artkg.kg.search import describe
    from typer.testing import CliRunner

    artwork = int(ctx.run.split.test[0])
    known = describe(ctx.graph, "artwork", artwork)
    out = tmp_path / "expl"
    done = CliRunner().invoke(app, ["explain", str(run_dir), "--artwork", known["id"], "--top-k", "8",
                                    "--epochs", "15", "--out", str(out), "--quiet"])
    assert done.exit_code == 0, done.output
    summary = json.loads((out / "explanation.json").read_text())
    drawn = " ".join(summary["image"]["drawn"]["suptitle"].split())  # as one line
    printed = re.search(r"image: (.*) on encoder", done.stdout).group(1)
    score = re.search(r"image-only probability (\d\.\d\d)", printed).group(1)
    assert printed == summary["image"]["caption"] and printed in drawn  # the same words and number
    assert float(score) == pytest.approx(summary["image"]["target"]["score"], abs=0.005)
    assert known["label"] in drawn and known["creator"] in drawn and str(known["year"]) in drawn
    assert f"'{summary['explained_class']['label']}'" in drawn
    # The terminal reads as sentences with labels, and says where every file went.
    assert f"*{known['label']}* ({known['year']}) — created by — {known['creator']}" in done.stdout
    for path in summary["files"].values():
        assert path in done.stdout and Path(path).is_file()
    _keep(out / "heatmap.png", shots, "explanation_heatmap.png")
    _keep(out / "graph.png", shots, "explanation_graph.png")


def test_similarity_png_shows_query_and_candidate_side_by_side(world, shots, tmp_path):
    from artkg.explain.similarity import explain_similarity
    from artkg.kg.graph import load_graph
    from artkg.kg.search import describe, display
    from artkg.retrieval.query import readable_score
    from PIL import Image

    graph = load_graph(world)
    query, candidate = (describe(graph, "artwork", i) for i in (0, 5))
    summary = explain_similarity(graph, query["id"], candidate["id"], tmp_path / "sim")
    drawn = summary["heatmap"]["drawn"]
    assert len(drawn["titles"]) == 3  # query | candidate | map over the query
    flat = [" ".join(t.split()) for t in drawn["titles"]]
    drawn["suptitle"] = " ".join(drawn["suptitle"].split())
    assert f"query: {display(query)}".startswith(flat[0].rstrip("…")) and query["label"] in flat[0]
    assert flat[1].startswith("candidate: ") and candidate["label"] in flat[1]
    assert display(query) in drawn["suptitle"] and display(candidate) in drawn["suptitle"]
    # The number as `artkg influence` prints it: a similarity in [0, 1] with the distance beside it.
    reading = readable_score(summary["cosine_similarity"], "cosine")
    assert f"similarity {reading['similarity']:.3f} (cosine distance (1 - cosine) {reading['distance']:.3f})" \
        in drawn["suptitle"]
    assert summary["caption"] in drawn["suptitle"] and summary["title"] in drawn["suptitle"]
    png = Path(summary["files"]["png"])
    with Image.open(png) as img:
        assert img.width > 1.8 * img.height  # three panels side by side
    _keep(png, shots, "similarity.png")
    # Given the ranking's candidate record, the map shows the ranking's own number (here an L2 ranking).
    ranked = explain_similarity(graph, query["id"], candidate["id"], tmp_path / "ranked",
                                ranked={"score": -0.25, "metric": "l2"})
    assert "similarity 0.667 (L2 distance 0.500)" in " ".join(ranked["heatmap"]["drawn"]["suptitle"].split())
