"""One call that explains a prediction and writes the files: what ``artkg explain`` runs.

``explain(run_dir, artwork="W00012", out="expl/")`` writes, into ``out``:

- ``graph.graphml``, ``graph.json``, ``graph.ttl``, ``graph.png`` — the explanation subgraph
  (:mod:`artkg.explain.graph`, :mod:`artkg.explain.export`);
- ``heatmap.png``, ``heatmap.npy`` — the Grad-CAM heatmap (:mod:`artkg.explain.cam`);
- ``explanation.json`` — the summary: the prediction, the explained class, the fidelity figures and
  every file written.

With ``what="both"`` the two sides explain the same class: ``target`` where one is given, else the
full model's prediction (graph and image experts together) — the heatmap then shows what in the
picture speaks for the class the model predicts, even where the image expert alone would rank
another class first. ``explained_class`` in the summary (and each side's own record, and the
heatmap's title) names it.
"""
from __future__ import annotations

import logging
from pathlib import Path

from artkg.explain.config import CamConfig, ExplainWhat, GraphExplainConfig
from artkg.kg.atomic import write_json
from artkg.kg.errors import InputError

log = logging.getLogger("artkg")

SUMMARY = "explanation.json"


def resolve_what(what: ExplainWhat | str | None, artwork, image) -> ExplainWhat:
    """``None`` means: both sides for an artwork of the graph, the image side for a file."""
    if artwork is None and image is None:
        raise InputError("nothing to explain", "pass --artwork ID (an artwork of the run's graph) or --image FILE")
    if artwork is not None and image is not None:
        raise InputError("both --artwork and --image are given", "pass one of them")
    if what is None:
        return ExplainWhat.both if artwork is not None else ExplainWhat.image
    what = ExplainWhat(what)
    if image is not None and what is not ExplainWhat.image:
        raise InputError(f"--what {what.value} needs an artwork of the graph, and an image file is not one",
                         "pass --artwork ID for the graph side, or --what image")
    return what


def explain(run, artwork: str | int | None = None, image: str | Path | None = None, task: str | None = None,
            what: ExplainWhat | str | None = None, out: str | Path = "explanation", target: str | None = None,
            graph_config: GraphExplainConfig | None = None, cam_config: CamConfig | None = None,
            graph_dir: str | Path | None = None) -> dict:
    """Explain a run's prediction for an artwork (or an image file) and write the files to ``out``.

    Returns the summary that is also written to ``out/explanation.json``.
    """
    from artkg.explain.context import ExplainContext

    what = resolve_what(what, artwork, image)
    ctx = run if isinstance(run, ExplainContext) else ExplainContext.load(run, graph_dir)
    if what in (ExplainWhat.graph, ExplainWhat.both):
        ctx.require_graph_side()  # before any slow work
    task = ctx.task(task)
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise InputError(f"{out} exists and is not a folder", "choose another --out")
    summary: dict = {"run": str(ctx.run.path), "model": ctx.model_name, "task": task, "what": what.value, "files": {}}
    index = None
    if artwork is not None:
        index = ctx.artwork_index(artwork)
        graph = ctx.graph
        from artkg.explain.readable import node_details

        summary["artwork"] = {"index": index, "iri": graph.iris["artwork"][index],
                              "label": graph.label_of("artwork", index), "split": ctx.split_of(index),
                              **node_details(graph, "artwork", index)}
    if what in (ExplainWhat.graph, ExplainWhat.both):
        from artkg.explain.export import write_graph_files
        from artkg.explain.graph import explain_graph

        result = explain_graph(ctx, index, task, graph_config, target=target)
        files = write_graph_files(result.subgraph, out)
        probs = result.prediction.softmax(-1)
        classes = ctx.classes(task)
        top = probs.topk(min(5, len(classes)))
        summary["prediction"] = {
            "source": "graph and image (GraphCLIP)", "class": result.subgraph.predicted_class["iri"],
            "label": result.subgraph.predicted_class["label"],
            "score": round(float(probs[result.subgraph.predicted_class["index"]]), 4),
            "top": [{"class": classes[j]["iri"], "label": classes[j]["label"], "score": round(float(s), 4)}
                    for s, j in zip(top.values.tolist(), top.indices.tolist())]}
        sub = result.subgraph
        summary["graph"] = {"algorithm": sub.algorithm, "explained_class": sub.explained_class,
                            "facts": len(sub.edges), "nodes": len(sub.nodes), "candidates": sub.candidates,
                            **{k: sub.meta[k] for k in ("fidelity_plus", "fidelity_minus", "seconds", "hops", "top_k")},
                            # every fact as a sentence, heaviest first, its weight beside it
                            "top_facts": [f"{e['sentence']}  ({e['weight']:.3f})" for e in sub.edges],
                            "links": [e["sentence"] for e in sub.links]}
        summary["files"].update({f"graph_{k}": v for k, v in files.items()})
        summary["explained_class"] = {**{k: sub.explained_class[k] for k in ("index", "iri", "label")},
                                      "source": "given (--target)" if target is not None
                                      else "predicted by the full model (graph and image)"}
    if what in (ExplainWhat.image, ExplainWhat.both):
        from artkg.explain.cam import explain_image, write_cam_files

        # Both sides: the heatmap explains the class the graph side explained (the full model's
        # prediction or the given target), not whatever the image expert alone ranks first.
        cam_target = summary["explained_class"]["index"] if what is ExplainWhat.both else target
        cam = explain_image(ctx, image=image, artwork=index, task=task, target=cam_target, config=cam_config)
        if what is ExplainWhat.both and target is None:
            cam.target["explained"] = "full_model_prediction"
        files = write_cam_files(cam, out)
        summary["image"] = cam.to_dict()
        summary.setdefault("prediction", {"source": "image only", "class": cam.predictions[0]["iri"],
                                          "label": cam.predictions[0]["label"], "score": cam.predictions[0]["score"],
                                          "top": cam.predictions})
        summary["files"].update({f"heatmap_{k}": v for k, v in files.items()})
        summary.setdefault("explained_class", {**{k: cam.target[k] for k in ("index", "iri", "label")},
                                               "source": "given (--target)" if target is not None
                                               else "predicted by the image expert"})
        if cam.to_dict()["constant"]:
            log.warning("the heatmap is constant: the layer's map is probably 1×1 at this input size "
                        "(try --cam-layer with an earlier block)")
    summary["files"]["summary"] = str(out / SUMMARY)
    write_json(out / SUMMARY, summary)
    return summary
