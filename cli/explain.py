"""``artkg explain``: registered on the main ``artkg`` app by :func:`register` (typer only at import)."""
from __future__ import annotations

from enum import Enum
from pathlib import Path

import typer


class _What(str, Enum):  # mirrors artkg.explain.config.ExplainWhat without importing it at load time
    graph = "graph"
    image = "image"
    both = "both"


def _text(summary: dict) -> str:
    lines = []
    if "artwork" in summary:
        a = summary["artwork"]
        lines.append(f"{a.get('display') or a['label']} ({a['iri']}, {a['split']} split)")
    p = summary.get("prediction")
    if p:
        lines.append(f"  {summary['task']}: {p['label']} {p['score']:.3f} ({p['source']})")
    e = summary.get("explained_class")
    if e:
        lines.append(f"  explained class: {e['label']} ({e['source']})")
    g = summary.get("graph")
    if g:
        lines.append(f"  graph: {g['algorithm']}, {g['facts']} facts of {g['candidates']}, "
                     f"fidelity+ {g['fidelity_plus']:.2f}, fidelity- {g['fidelity_minus']:.2f}; "
                     "the facts, heaviest first (weight):")
        lines += [f"    {n:2d}. {f}" for n, f in enumerate(g["top_facts"], 1)]
        if g.get("links"):
            lines.append("    tied to the artwork by:")
            lines += [f"        {f}" for f in g["links"]]
    i = summary.get("image")
    if i:
        lines.append(f"  image: {i.get('caption') or i['target']['label']} on {i['layer']}")
    lines.append("  files written:")
    lines += [f"    {v}" for v in summary["files"].values()]
    return "\n".join(lines)


def register(app: typer.Typer) -> None:
    """Add the explain command(s) to ``app``."""
    from artkg.cli.common import emit, friendly_errors, setup_logging

    @app.command(epilog="Examples:\n\n  artkg explain runs/style --artwork W00012 --out expl/W00012\n\n"
                        "  artkg explain runs/style --artwork \"Portrait No. 3\" --what graph --top-k 30 "
                        "--algorithm captum --out expl/p3 --json\n\n"
                        "  artkg explain runs/style --image painting.jpg --target \"Style 02\" --out expl/painting\n\n"
                        "  artkg explain runs/multi --artwork W00012 --task genre --what image --out expl/genre")
    @friendly_errors
    def explain(
        run: Path = typer.Argument(..., help="A run directory written by `artkg train`."),  # noqa: B008  (typer's idiom)
        artwork: str | None = typer.Option(None, "--artwork", "-a", help="An artwork of the run's graph: IRI, "
                                              "local id (W00012) or exact title."),
        image: Path | None = typer.Option(None, "--image", help="An image file (need not be in the graph): "  # noqa: B008  (typer's idiom)
                                             "image side only."),
        out: Path = typer.Option(..., "--out", "-o", help="Folder for the files (created if missing)."),  # noqa: B008  (typer's idiom)
        task: str | None = typer.Option(None, "--task", "-t", help="The task to explain (default: the run's first)."),
        what: _What | None = typer.Option(None, "--what", help="graph, image or both (default: both for an "  # noqa: B008  (typer's idiom)
                                             "artwork, image for a file)."),
        top_k: int = typer.Option(20, "--top-k", "-k", min=1, help="Facts in the explanation subgraph."),
        algorithm: str = typer.Option("gnnexplainer", "--algorithm", help="gnnexplainer or captum "
                                      "(Integrated Gradients)."),
        target: str | None = typer.Option(None, "--target", help="Explain this class instead of the predicted "
                                             "one (label, IRI or index)."),
        epochs: int = typer.Option(100, "--epochs", min=1, help="GNNExplainer optimisation steps."),
        hops: int = typer.Option(2, "--hops", min=1, help="Facts are chosen within this many hops of the artwork "
                                 "or the class node."),
        cam_layer: str | None = typer.Option(None, "--cam-layer", help="Encoder layer for Grad-CAM "
                                                "(module path; default: chosen from the encoder)."),
        graph: Path | None = typer.Option(None, "--graph", help="The training graph, if it moved since."),  # noqa: B008  (typer's idiom)
        threads: int | None = typer.Option(None, "--threads", min=1, help="CPU threads for torch."),
        as_json: bool = typer.Option(False, "--json", help="Machine-readable JSON on stdout."),
        verbose: int = typer.Option(0, "--verbose", "-v", count=True, help="More log output on stderr."),
        quiet: bool = typer.Option(False, "--quiet", "-q", help="Only warnings and errors on stderr."),
    ) -> None:
        """Explain a prediction: the facts of the graph it rests on (GNNExplainer) and a Grad-CAM heatmap."""
        setup_logging(verbose, quiet)
        import torch
        from artkg.explain.api import explain as run_explain
        from artkg.explain.config import CamConfig, ExplainWhat, GraphExplainConfig

        if threads:
            torch.set_num_threads(threads)
        summary = run_explain(run, artwork=artwork, image=image, task=task,
                              what=ExplainWhat(what.value) if what is not None else None, out=out, target=target,
                              graph_config=GraphExplainConfig(algorithm=algorithm, top_k=top_k, epochs=epochs, hops=hops,
                                                              progress=not quiet),
                              cam_config=CamConfig(layer=cam_layer), graph_dir=graph)
        emit(summary, as_json, _text)
