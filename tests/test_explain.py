"""Explanations: the maskable GraphCLIP wrapper, explanation subgraphs, exports, Grad-CAM, errors, CLI.

One run on the 120-artist test world (EfficientNet-Lite0 features at 128 px, so the last block's
map is 4×4 rather than 1×1; style + genre, few epochs). `bench/explain_eval.py` measures the
quality of the explanations on a better-trained model.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from artkg.explain.config import CamConfig, GraphExplainConfig
from artkg.kg.errors import InputError, NotFoundError
from conftest import featured_world

pytestmark = pytest.mark.usefixtures("torch_one_thread")

LITE128 = {"image_size": 128}
FAST = {"epochs": 5, "batch_size": 128, "threads": 1, "gnn_kwargs": {"layers": 2, "hidden": 32, "dropout": 0.1},
        "model_kwargs": {"embed_dim": 32}, "patience": 0}
QUICK = GraphExplainConfig(epochs=30, top_k=12)


@pytest.fixture(scope="module")
def world(small_world, tmp_path_factory) -> Path:
    return featured_world(small_world, tmp_path_factory, "explain", image_size=LITE128["image_size"])


@pytest.fixture(scope="module")
def run_dir(world, tmp_path_factory) -> Path:
    from artkg.models.train import train
    from artkg.models.train_config import TrainConfig

    out = tmp_path_factory.mktemp("runs") / "graphclip"
    train(world, TrainConfig.from_dict({**FAST, "tasks": ["style", "genre"]}), out=out, progress=False)
    return out


@pytest.fixture(scope="module")
def ctx(run_dir):
    from artkg.explain.context import ExplainContext

    return ExplainContext.load(run_dir)


@pytest.fixture(scope="module")
def explained(ctx):
    from artkg.explain.graph import explain_graph

    artwork = int(ctx.run.split.test[0])
    return explain_graph(ctx, artwork, "style", QUICK)


# ------------------------------------------------------------------ the wrapper
def test_wrapper_reproduces_the_model_and_its_label_propagation_is_maskable(ctx):
    from artkg.explain.graph_model import (
        REV_CREATED_BY,
        explain_inputs,
        wrap,
    )
    from artkg.models.tasks import CREATED_BY
    from artkg.kg.graph import reverse_edge_type as reverse
    from torch_geometric.explain.algorithm.utils import clear_masks, set_hetero_masks

    data = ctx.data
    nodes = torch.cat([ctx.run.split.test[:3], ctx.run.split.train[:2]])
    batch = data.full_batch(nodes)
    with torch.no_grad():
        expected = ctx.model(batch)
    changed = 0
    for j, artwork in enumerate(nodes.tolist()):
        for task in ("style", "genre"):
            wrapper = wrap(ctx, artwork, task)
            x, edges = explain_inputs(ctx, wrapper)
            ones = {k: torch.ones(v.shape[1]) for k, v in edges.items()}
            with torch.no_grad():
                plain = wrapper(x, edges)
                set_hetero_masks(wrapper, ones, edges, apply_sigmoid=False)
                masked_ones = wrapper(x, edges)
                assert wrapper.label_dist(edges) is not None
                torch.testing.assert_close(wrapper.label_dist(edges)[0], batch.label_dist[task][j])
                # The label-propagation steps read their own edge masks: zero them, the graph expert changes.
                label_key = wrapper.label_key
                zero = {**ones, **{k: torch.zeros(edges[k].shape[1])
                                   for k in (reverse(label_key), CREATED_BY, REV_CREATED_BY)}}
                clear_masks(wrapper)
                set_hetero_masks(wrapper, zero, edges, apply_sigmoid=False)
                cut = wrapper(x, edges)
                clear_masks(wrapper)
            # The README's promise: with all masks at 1 the wrapped logits equal the model's to a relative
            # 2e-6 (float32 rounding at logits of ~10; 1e-6 absolute near zero).
            torch.testing.assert_close(plain[0], expected[task]["logits"][j], atol=1e-6, rtol=2e-6)
            torch.testing.assert_close(masked_ones[0], expected[task]["logits"][j], atol=1e-6, rtol=2e-6)
            if batch.label_dist[task][j].sum() > 0:
                changed += int(not torch.allclose(cut, plain, atol=1e-4))
    assert changed >= 3


def test_explanation_subgraph_is_around_the_artwork_with_labels_and_weights(ctx, explained):
    sub = explained.subgraph
    graph = ctx.graph
    assert 1 <= len(sub.edges) <= QUICK.top_k and sub.candidates >= len(sub.edges)
    roles = {n["id"]: n["role"] for n in sub.nodes}
    assert roles[sub.artwork["id"]] == "artwork" and roles[sub.explained_class["id"]] == "explained_class"
    assert sub.explained_class == sub.predicted_class  # the predicted class is explained by default
    assert sub.predicted_class["index"] == int(explained.prediction.argmax())
    for n in sub.nodes:
        assert graph.iris[n["type"]][n["index"]] == n["iri"] and n["label"] == graph.label_of(n["type"], n["index"])
    weights = [abs(e["weight"]) for e in sub.edges]
    assert weights == sorted(weights, reverse=True) and all(0 < w <= 1 for w in weights)  # GNNExplainer: (0, 1]
    by_id = {n["id"]: n for n in sub.nodes}
    positions = {et: iter(p.tolist()) for et, p in explained.selected.items()}  # each type's facts, in rank order
    assert [e["rank"] for e in sub.edges] == list(range(1, len(sub.edges) + 1))
    for e in sub.edges:
        assert e["source"] in by_id and e["target"] in by_id and not e["relation"].startswith("rev_")
        assert e["predicate"].startswith(("http://www.wikidata.org/prop/direct/", "https://w3id.org/artkg/vocab#"))
        et = tuple(e["type"])
        pos = next(positions[et])
        # The fact's weight is its own mask weight, and its ends are that edge's nodes.
        assert e["weight"] == pytest.approx(float(explained.fact_weights[et][pos]), abs=1e-6)
        src, dst = explained.explanation[et].edge_index[:, pos].tolist()
        assert (by_id[e["source"]]["index"], by_id[e["target"]]["index"]) == (src, dst)
    # No candidate fact left out weighs more than the lightest one kept.
    lightest = min(weights)
    for et, w in explained.fact_weights.items():
        rest = explained.candidates[et].clone() if et in explained.candidates else torch.ones(len(w), dtype=torch.bool)
        rest[explained.selected.get(et, torch.empty(0, dtype=torch.long))] = False
        left_out = w[rest].abs()
        assert len(left_out) == 0 or float(left_out.max()) <= lightest + 1e-6, et
    # Every chosen fact lies within the hops of the seeds, and the masks cover the label propagation.
    for et, positions in explained.selected.items():
        assert bool(explained.candidates[et][positions].all())
    assert ("artist", "rev_created_by", "artwork") in {k for k in explained.explanation.edge_types}
    assert 0.0 <= sub.meta["fidelity_plus"] <= 1.0 and 0.0 <= sub.meta["fidelity_minus"] <= 1.0


def test_explaining_a_given_class_and_unknown_algorithm(ctx):
    from artkg.explain.graph import explain_graph

    artwork = int(ctx.run.split.test[1])
    other = ctx.classes("style")[-1]["label"]
    result = explain_graph(ctx, artwork, "style", GraphExplainConfig(epochs=10, top_k=5), target=other)
    assert result.subgraph.explained_class["label"] == other and result.subgraph.meta["explained"] == "given"
    with pytest.raises(InputError, match="unknown explanation algorithm 'shap'.*gnnexplainer"):
        explain_graph(ctx, artwork, "style", GraphExplainConfig(algorithm="shap"))
    with pytest.raises(NotFoundError, match="no style class"):
        explain_graph(ctx, artwork, "style", QUICK, target="Style 99 (Nowhere)")


def test_captum_integrated_gradients_by_name(ctx):
    pytest.importorskip("captum")
    from artkg.explain.graph import explain_graph

    artwork = int(ctx.run.split.test[0])
    result = explain_graph(ctx, artwork, "style", GraphExplainConfig(algorithm="captum", top_k=8))
    sub = result.subgraph
    assert sub.algorithm == "captum" and 1 <= len(sub.edges) <= 8
    weights = [abs(e["weight"]) for e in sub.edges]
    assert weights == sorted(weights, reverse=True) and weights[0] > 0


# ------------------------------------------------------------------ exports
def test_exports_read_back(explained, tmp_path):
    import networkx as nx
    import rdflib
    from artkg.explain.export import write_graph_files
    from artkg.kg.schema import AKG
    from PIL import Image

    sub = explained.subgraph
    files = write_graph_files(sub, tmp_path)
    g = nx.read_graphml(files["graphml"])
    # The facts and the links that tie them to the artwork (its creator edge at least).
    assert g.number_of_nodes() == len(sub.nodes) and g.number_of_edges() == len(sub.edges) + len(sub.links)
    assert sum(d["role"] == "fact" for *_, d in g.edges(data=True)) == len(sub.edges) and sub.links
    node = g.nodes[sub.artwork["id"]]
    assert node["iri"] == sub.artwork["iri"] and node["type"] == "artwork" and node["role"] == "artwork"
    assert {d["relation"] for _, _, d in g.edges(data=True)} == {e["relation"] for e in sub.all_edges()}
    assert json.loads(Path(files["json"]).read_text()) == json.loads(json.dumps(sub.to_dict()))
    rdf = rdflib.Graph().parse(files["turtle"], format="turtle")
    akg = rdflib.Namespace(AKG)
    for e in sub.all_edges():  # the facts (and links) in the graph's own vocabulary …
        s, o = (rdflib.URIRef(next(n["iri"] for n in sub.nodes if n["id"] == x)) for x in (e["source"], e["target"]))
        assert (s, rdflib.URIRef(e["predicate"]), o) in rdf
    reified = list(rdf.subjects(rdflib.RDF.type, akg.ExplanationEdge))  # … and their weights beside them
    assert len(reified) == len(sub.edges)
    weights = sorted(float(rdf.value(r, akg.weight)) for r in reified)
    assert weights == pytest.approx(sorted(e["weight"] for e in sub.edges))
    (explanation,) = rdf.subjects(rdflib.RDF.type, akg.Explanation)
    assert rdf.value(explanation, akg.explains) == rdflib.URIRef(sub.artwork["iri"])
    with Image.open(files["png"]) as img:
        pixels = np.asarray(img.convert("L"), dtype=np.float32)
    assert img.width >= 600 and pixels.std() > 5  # drawn, not blank


# ------------------------------------------------------------------ Grad-CAM
def test_gradcam_moves_with_the_target_class(ctx):
    """Portrait and landscape lay out an image differently (kg/synth_render.py): the maps for the two
    classes differ on the same image, and are not constant; the same target twice is identical."""
    from artkg.explain.cam import explain_image

    truth = json.loads((ctx.graph.root / "ground_truth.json").read_text())
    names = [c["label"] for c in ctx.classes("genre")]
    portrait, landscape = names.index("portrait"), names.index("landscape")
    picked = [i for i, a in enumerate(truth["artworks"]) if a["genre"].endswith(("/G0", "/G1"))][:6]
    diffs, constant = [], 0
    for i in picked:
        a = explain_image(ctx, artwork=i, task="genre", target=portrait)
        b = explain_image(ctx, artwork=i, task="genre", target=landscape)
        assert a.heatmap.shape == (128, 128) and a.layer == "encoder.net._bn1"
        constant += int(a.heatmap.std() == 0) + int(b.heatmap.std() == 0)
        diffs.append(float(np.abs(a.heatmap - b.heatmap).mean()))
    again = explain_image(ctx, artwork=picked[0], task="genre", target=portrait)
    first = explain_image(ctx, artwork=picked[0], task="genre", target=portrait)
    assert np.array_equal(again.heatmap, first.heatmap)
    assert constant <= 2, constant
    assert np.median(diffs) > 0.05, diffs


def test_cam_files_and_layer_override(ctx, tmp_path):
    from artkg.explain.cam import explain_image, write_cam_files
    from PIL import Image

    result = explain_image(ctx, artwork=int(ctx.run.split.test[0]), task="genre",
                           config=CamConfig(layer="net._blocks.10"))
    assert result.layer == "encoder.net._blocks.10" and result.target["explained"] == "predicted"
    files = write_cam_files(result, tmp_path)
    assert np.array_equal(np.load(files["npy"]), result.heatmap)
    with Image.open(files["png"]) as img:
        assert np.asarray(img.convert("L"), dtype=np.float32).std() > 5
    with pytest.raises(InputError, match="no layer 'net.nothing'"):
        explain_image(ctx, artwork=0, config=CamConfig(layer="net.nothing"))


def test_vit_layer_drops_the_class_token_and_similarity_target(world):
    from artkg.explain.cam import (
        SimilarityTarget,
        pick_layer,
        similarity_cam,
        tokens_to_grid,
    )
    from artkg.models.encoders_image import make_image_encoder

    tiny = {"embed_dim": 16, "vision_cfg": {"image_size": 32, "layers": 2, "width": 32, "head_width": 16,
                                            "patch_size": 8},
            "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 2}}
    vit = make_image_encoder("open_clip_image", arch="ViT-B-32", pretrained=None, model_kwargs=tiny)
    name, layer = pick_layer(vit)
    assert name == "visual.transformer.resblocks.-1.ln_1" and layer is vit.visual.transformer.resblocks[-1].ln_1
    tokens = torch.arange(2 * 17 * 3, dtype=torch.float32).reshape(2, 17, 3)
    grid = tokens_to_grid(tokens, 2)
    assert grid.shape == (2, 3, 4, 4) and torch.equal(grid[:, :, 0, 0], tokens[:, 1])  # class token dropped
    assert torch.equal(tokens_to_grid(tokens.transpose(0, 1), 2), grid)  # sequence-first layout too
    resnet = make_image_encoder("torchvision_resnet", arch="resnet18", image_size=64)
    assert pick_layer(resnet)[0] == "net.layer4.-1"
    images = sorted((world / "images").glob("*.png"))
    head = torch.nn.Linear(16, 8)
    result = similarity_cam(vit, images[0], images[1], head=head)
    assert result.heatmap.shape == (32, 32) and result.heatmap.std() > 0
    assert result.target["kind"] == "similarity" and -1 <= result.target["cosine"] <= 1
    same = SimilarityTarget(head(torch.ones(16)), head)(torch.ones(16))
    assert float(same.detach()) == pytest.approx(1.0, abs=1e-5)


# ------------------------------------------------------------------ API, CLI, errors
@pytest.fixture(scope="module")
def baseline_run(world, tmp_path_factory) -> Path:
    from artkg.models.train import train
    from artkg.models.train_config import TrainConfig

    out = tmp_path_factory.mktemp("runs") / "head"
    train(world, TrainConfig.from_dict({**FAST, "epochs": 1, "model": "image_head", "tasks": ["genre"]}), out=out,
          progress=False)
    return out


def test_bad_input_is_one_clear_error(ctx, baseline_run, tmp_path):
    from artkg.explain.api import explain

    with pytest.raises(InputError, match="has no graph side.*--what image"):
        explain(baseline_run, artwork="W00001", out=tmp_path / "a")
    image_only = explain(baseline_run, artwork="W00001", what="image", out=tmp_path / "b")  # the image side works
    assert Path(image_only["files"]["heatmap_png"]).is_file()
    with pytest.raises(NotFoundError, match="no artwork .W0001.*did you mean W00"):
        explain(ctx, artwork="W0001", out=tmp_path / "c")
    with pytest.raises(NotFoundError, match="no artwork 'W99999'.*run from W00000 to W"):
        explain(ctx, artwork="W99999", out=tmp_path / "c")
    garbage = tmp_path / "broken.png"
    garbage.write_bytes(b"not a picture")
    with pytest.raises(InputError, match="cannot read the image .*broken.png"):
        explain(ctx, image=garbage, out=tmp_path / "d")
    with pytest.raises(InputError, match="needs an artwork of the graph"):
        explain(ctx, image=garbage, what="graph", out=tmp_path / "d")
    with pytest.raises(InputError, match="was not trained on the task 'movement'"):
        explain(ctx, artwork="W00001", task="movement", out=tmp_path / "d")


def test_cli_explain_writes_every_file_and_reports_errors(run_dir, baseline_run, world, tmp_path):
    from artkg.cli import app
    from typer.testing import CliRunner

    runner = CliRunner()
    out = tmp_path / "expl"
    done = runner.invoke(app, ["explain", str(run_dir), "--artwork", "W00003", "--top-k", "6", "--epochs", "20",
                               "--out", str(out), "--json", "--quiet"])
    assert done.exit_code == 0, done.output
    summary = json.loads(done.stdout)
    assert summary["what"] == "both" and summary["artwork"]["iri"].endswith("/W00003")
    assert summary["graph"]["facts"] <= 6 and summary["prediction"]["label"]
    expected = {"graph_graphml", "graph_json", "graph_turtle", "graph_png", "heatmap_png", "heatmap_npy", "summary"}
    assert set(summary["files"]) == expected and all(Path(p).is_file() for p in summary["files"].values())
    assert json.loads((out / "explanation.json").read_text()) == summary
    image = min((world / "images").glob("*.png"))
    done = runner.invoke(app, ["explain", str(run_dir), "--image", str(image), "--task", "genre", "--out",
                               str(tmp_path / "img"), "--quiet"])
    assert done.exit_code == 0, done.output
    assert "heatmap.png" in done.stdout and "genre:" in done.stdout
    garbage = tmp_path / "x.jpg"
    garbage.write_text("no")
    for args, message in (
            ([str(baseline_run), "--artwork", "W00001"], "has no graph side"),
            ([str(run_dir), "--artwork", "W0001"], "did you mean W00"),
            ([str(run_dir), "--image", str(garbage)], "cannot read the image"),
            ([str(run_dir), "--artwork", "W00001", "--algorithm", "shap"], "unknown explanation algorithm")):
        done = runner.invoke(app, ["explain", *args, "--out", str(tmp_path / "bad")])
        assert done.exit_code == 2, done.output
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0] and " — " in lines[0]


def test_both_sides_explain_the_full_models_class(ctx, run_dir, tmp_path):
    """`--what both`: the heatmap explains the class the full model predicts (the graph side's),
    even where the image expert alone ranks another first; a given target is used by both."""
    import torch

    from artkg.explain.api import explain
    from artkg.models.train_loop import Trainer

    trainer = Trainer(ctx.run.model, ctx.data, ctx.run.train_config, torch.device("cpu"), False)
    test = ctx.run.split.test
    out = trainer.outputs(test)["style"]
    differ = torch.nonzero(out["logits"].argmax(1) != out["image"].argmax(1)).flatten()
    assert len(differ) > 0  # artworks where the image expert alone would explain another class
    artwork = int(test[differ[0]])
    full_class = int(out["logits"][differ[0]].argmax())
    summary = explain(ctx, artwork=artwork, task="style", what="both", out=tmp_path / "both", graph_config=QUICK)
    assert summary["graph"]["explained_class"]["index"] == full_class
    assert summary["image"]["target"]["index"] == full_class
    assert summary["image"]["target"]["explained"] == "full_model_prediction"
    assert summary["explained_class"]["index"] == full_class and "full model" in summary["explained_class"]["source"]
    saved = json.loads((tmp_path / "both" / "explanation.json").read_text())
    assert saved["explained_class"] == summary["explained_class"]
    graph_file = json.loads((tmp_path / "both" / "graph.json").read_text())
    assert json.dumps(graph_file).count(summary["explained_class"]["iri"]) > 0
    given = explain(ctx, artwork=artwork, task="style", what="both", out=tmp_path / "given", graph_config=QUICK,
                    target=str(int(out["image"][differ[0]].argmax())))
    target = int(out["image"][differ[0]].argmax())
    assert given["graph"]["explained_class"]["index"] == given["image"]["target"]["index"] == target
    assert given["explained_class"]["source"].startswith("given")
