"""``artkg signatures`` and the visual-signature side of ``artkg train`` / ``artkg eval``.

``artkg train signatures GRAPH_DIR --out RUN`` fine-tunes an image backbone on the graph's visual links
(:mod:`artkg.models.signatures.train`); ``artkg eval RUN`` recomputes its retrieval metrics;
``artkg signatures RUN`` (``artkg signatures export RUN``) writes the fine-tuned signature of every
artwork as an image feature set. The expert in the loop (:mod:`artkg.models.signatures.loop`):
``artkg signatures propose RUN --out DIR``, ``artkg signatures annotate GRAPH_DIR DIR/verdicts.csv``
(and, on synthetic worlds, ``artkg signatures simulate-annotator DIR --world GRAPH_DIR``);
``artkg signatures map RUN --out DIR`` draws the collection's 2D map.
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from artkg.cli import app
from artkg.cli.common import JsonOption, emit, friendly_errors, setup_logging
from typer.core import TyperGroup

SHOWN = ("mAP", "recall@20", "recall@50", "recall@100", "mean_rank", "median_rank")


def metrics_text(m: dict) -> list[str]:
    """Pretrained and fine-tuned retrieval side by side, per part."""
    lines = []
    for part in ("test", "val"):
        block = m.get(part)
        if not block:
            continue
        first = next(v for v in block.values() if v)
        lines.append(f"  {part} ({first['n_pairs']} held-out connections, {first['n_queries']} query works):")
        for variant in ("pretrained", "fine_tuned"):
            v = block.get(variant)
            if v:
                shown = "  ".join(f"{k} {v[k]:.3f}" if k in v else "" for k in SHOWN)
                lines.append(f"    {variant.replace('_', '-'):<11} {shown}")
    if "best_epoch" in m:
        lines.append(f"  kept epoch {m['best_epoch'] + 1} of {m['epochs_run']}")
    return lines


def train_signatures_cli(graph_dir: Path, out: Path, config: Optional[Path], seed: Optional[int],
                         epochs: Optional[int], batch_size: Optional[int], lr: Optional[float], device: Optional[str],
                         threads: Optional[int], overwrite: bool, resume: bool, as_json: bool, quiet: bool) -> None:
    """``artkg train signatures GRAPH_DIR --out RUN [--config cfg.json] [--resume]``."""
    from artkg.models.signatures.config import SignatureConfig
    from artkg.models.signatures.train import train_signatures

    changes = {k: v for k, v in (("seed", seed), ("epochs", epochs), ("batch_size", batch_size), ("lr", lr),
                                 ("device", device), ("threads", threads)) if v is not None}
    cfg = SignatureConfig.coerce(config, changes)
    result = train_signatures(graph_dir, cfg, out=out, progress=not quiet, overwrite=overwrite, resume=resume)
    report = {"run": str(result.run_dir), "model": "signatures", "metrics": result.metrics}
    emit(report, as_json, lambda r: "\n".join([f"signatures run written to {r['run']}", *metrics_text(r["metrics"])]))


def eval_signatures_cli(run: Path, graph: Optional[Path], device: str, as_json: bool) -> None:
    from artkg.models.signatures.run import evaluate_signature_run

    metrics = evaluate_signature_run(run, graph, device=device)
    emit(metrics, as_json, lambda m: "\n".join([f"{run}: metrics {'match' if m['matches_saved'] else 'DIFFER from'} "
                                                 "metrics.json", *metrics_text(m)]))


class _ExportByDefault(TyperGroup):
    """``artkg signatures RUN`` means ``artkg signatures export RUN``: a first argument that is not a
    sub-command (nor an option) is read as the run of ``export``."""

    def parse_args(self, ctx, args):
        if args and not args[0].startswith("-") and args[0] not in self.commands:
            args = ["export", *args]
        return super().parse_args(ctx, args)


signatures_app = typer.Typer(cls=_ExportByDefault, no_args_is_help=True, rich_markup_mode=None,
                             context_settings={"help_option_names": ["-h", "--help"]},
                             help="Visual signatures: export them, propose new connections, take verdicts back, "
                                  "draw the map. `artkg signatures RUN` = `artkg signatures export RUN`.",
                             epilog="Examples:\n\n  artkg signatures runs/sig\n\n  artkg signatures propose runs/sig "
                                    "--out proposals\n\n  artkg signatures annotate world proposals/verdicts.csv")
app.add_typer(signatures_app, name="signatures")

DeviceOption = typer.Option("auto", "--device", help="auto, cpu or cuda.")
QuietOption = typer.Option(False, "--quiet", "-q", help="Only warnings and errors on stderr (no progress).")
GraphOption = typer.Option(None, "--graph", help="The training graph, if it moved since.")
ImageRootOption = typer.Option(None, "--image-root", help="Folder with the image files (default: the run's).")


@signatures_app.command(epilog="Examples:\n\n  artkg signatures runs/sig\n\n  artkg signatures export runs/sig --json")
@friendly_errors
def export(
    run: Path = typer.Argument(..., help="A signatures run directory (`artkg train signatures`)."),
    graph: Optional[Path] = GraphOption,
    image_root: Optional[Path] = ImageRootOption,
    device: str = DeviceOption,
    as_json: bool = JsonOption,
    quiet: bool = QuietOption,
) -> None:
    """Write the fine-tuned signature of every artwork as an image feature set of the graph."""
    from artkg.models.signatures.run import export_signatures

    setup_logging(quiet=quiet)
    meta = export_signatures(run, graph, image_root=image_root, device=device, progress=not quiet)
    emit(meta, as_json, lambda m: f"signatures of {m['encoded']:,} artworks ({m['dim']}-d, {m['skipped']:,} without "
                                  f"an image) written to {m['path']}\n  use them as the image feature set "
                                  f"{m['key']!r} (e.g. --features {m['key']})")


def _max_eps(text: str):
    """``--max-eps``: ``"auto"`` or a cosine distance in (0, 2]."""
    from artkg.kg.errors import InputError

    if text.strip().lower() == "auto":
        return "auto"
    try:
        eps = float(text)
    except ValueError:
        raise InputError(f"--max-eps {text!r} is neither auto nor a number", "pass auto or e.g. 0.13") from None
    if not 0 < eps <= 2:
        raise InputError(f"--max-eps {text} is not a cosine distance in (0, 2]", "pass auto or e.g. 0.13")
    return eps


MaxEpsOption = typer.Option("auto", "--max-eps", help="OPTICS cut: auto (best on the run's validation and test "
                            "connections) or a cosine distance (the thesis: 0.13).")


def _method_kwargs(text: Optional[str]) -> dict:
    from artkg.cli.common import _json_kwargs

    return _json_kwargs(text, "--method-kwargs")


@signatures_app.command(epilog="Examples:\n\n  artkg signatures propose runs/sig --out proposals\n\n"
                               "  artkg signatures propose runs/sig --out p2 --method dbscan --method-kwargs '{\"eps\": 0.1}'")
@friendly_errors
def propose(
    run: Path = typer.Argument(..., help="A signatures run directory."),
    out: Path = typer.Option(..., "--out", help="Folder for verdicts.csv, proposals.json and sheets/."),
    method: str = typer.Option("optics", "--method", help="optics, dbscan, hdbscan or kmeans (scikit-learn), or "
                                                          "neighbours: each work's nearest pairs, ranked by CSLS."),
    method_kwargs: Optional[str] = typer.Option(None, "--method-kwargs", help="JSON options of the clusterer "
                                                "(neighbours: k and hub_k)."),
    max_eps: str = MaxEpsOption,
    max_cluster_size: int = typer.Option(12, "--max-cluster-size", help="Larger clusters are not proposed."),
    split: bool = typer.Option(False, "--split", help="Cut larger clusters again at smaller radii until they fit "
                                                      "(optics, dbscan) instead of leaving them out."),
    max_pairs: Optional[int] = typer.Option(None, "--max-pairs",
                                            help="The annotator's budget: export only this many pairs, the most similar."),
    no_sheets: bool = typer.Option(False, "--no-sheets", help="Skip the contact-sheet PNGs."),
    graph: Optional[Path] = GraphOption,
    image_root: Optional[Path] = ImageRootOption,
    device: str = DeviceOption,
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing --out folder."),
    as_json: bool = JsonOption,
    quiet: bool = QuietOption,
) -> None:
    """Cluster the run's signatures and export the pairs of works the graph does not link yet, for annotation."""
    from artkg.models.signatures.loop import propose as propose_pairs

    setup_logging(quiet=quiet)
    summary = propose_pairs(run, out, graph, method, _method_kwargs(method_kwargs), max_cluster_size, max_pairs,
                            sheets=not no_sheets, image_root=image_root, device=device, progress=not quiet,
                            overwrite=overwrite, max_eps=_max_eps(max_eps), split=split)
    emit(summary, as_json, lambda s: f"{s['proposed_pairs']:,} unknown pairs in {s['proposed_clusters']:,} of "
                                     f"{s['clusters']:,} clusters ({s['noise']:,} of {s['works']:,} works in none) "
                                     f"written to {out}\n  mark each pair positive or negative in the kind column "
                                     f"of {out}/verdicts.csv, then run `artkg signatures annotate GRAPH_DIR "
                                     f"{out}/verdicts.csv`")


@signatures_app.command(epilog="Examples:\n\n  artkg signatures annotate world proposals/verdicts.csv")
@friendly_errors
def annotate(
    graph_dir: Path = typer.Argument(..., help="The graph directory to add the verdicts to."),
    verdicts: Path = typer.Argument(..., help="verdicts.csv with the kind column filled (empty: not reviewed)."),
    source: Optional[str] = typer.Option(None, "--source", help="Who judged (default: annotation)."),
    as_json: bool = JsonOption,
    quiet: bool = QuietOption,
) -> None:
    """Add an annotator's verdicts as visual links (positive, negative, ...); retrain to use them."""
    from artkg.models.signatures.loop import annotate as add_verdicts

    setup_logging(quiet=quiet)
    result = add_verdicts(graph_dir, verdicts, source)
    report = {"graph": str(graph_dir), "verdicts": result["verdicts"], "links": result["links"]}
    emit(report, as_json, lambda r: f"{r['links'].get('usable', 0):,} verdicts added to {graph_dir} "
                                    f"({', '.join(f'{v} {k}' for k, v in r['verdicts'].items() if k not in ('rows', 'reviewed'))})"
                                    f"\n  retrain: `artkg train signatures {graph_dir} --out RUN`")


@signatures_app.command("simulate-annotator",
                        epilog="Examples:\n\n  artkg signatures simulate-annotator proposals --world world")
@friendly_errors
def simulate_annotator(
    proposals: Path = typer.Argument(..., help="A folder written by `artkg signatures propose` (or its verdicts.csv)."),
    world: Path = typer.Option(..., "--world", help="A world of `kgbuild synth --motifs N` (its ground_truth.json)."),
    as_json: bool = JsonOption,
) -> None:
    """Fill verdicts.csv from a synthetic world's motif families (positive: same family), to measure the loop."""
    from artkg.models.signatures.loop import VERDICTS, simulate_annotator as simulate

    path = proposals / VERDICTS if proposals.is_dir() else proposals
    counts = simulate(path, world)
    emit(counts, as_json, lambda c: f"{c['positive']:,} positive and {c['negative']:,} negative verdicts written to "
                                    f"{path} (proposal precision {c['precision'] or 0:.3f})")


@signatures_app.command("map", epilog="Examples:\n\n  artkg signatures map runs/sig --out maps/sig")
@friendly_errors
def map_(
    run: Path = typer.Argument(..., help="A signatures run directory."),
    out: Path = typer.Option(..., "--out", help="Folder for map.png, map.html and map.json."),
    embedding: str = typer.Option("tsne", "--embedding", help="tsne, pca or umap (umap-learn)."),
    method: str = typer.Option("optics", "--method", help="The clustering that colours the map."),
    method_kwargs: Optional[str] = typer.Option(None, "--method-kwargs", help="JSON options of the clusterer."),
    max_eps: str = MaxEpsOption,
    pretrained: bool = typer.Option(False, "--pretrained", help="Map the pretrained backbone's signatures instead."),
    seed: int = typer.Option(0, "--seed"),
    graph: Optional[Path] = GraphOption,
    image_root: Optional[Path] = ImageRootOption,
    device: str = DeviceOption,
    as_json: bool = JsonOption,
    quiet: bool = QuietOption,
) -> None:
    """A 2D map of the collection's signatures: map.png (clusters coloured) and map.html (pan, zoom, hover)."""
    from artkg.models.signatures.loop import collection_signatures, run_clusters
    from artkg.models.signatures.maps import signature_map

    setup_logging(quiet=quiet)
    eps, kwargs = _max_eps(max_eps), _method_kwargs(method_kwargs)
    sig, works, paths, kg = collection_signatures(run, graph, image_root, device, not quiet, pretrained=pretrained)
    labels = run_clusters(run, sig, works, kg, method, kwargs, eps)[0]  # the cut propose would choose
    names = kg.labels.get("artwork", [])
    titles = [names[w] if w < len(names) and names[w] else kg.iris["artwork"][w] for w in works.tolist()]
    result = signature_map(sig, labels, out, titles=titles, image_paths=[str(p) for p in paths], method=embedding,
                           seed=seed)
    emit(result, as_json, lambda r: f"map of {r['n']:,} works ({r['clusters']:,} clusters, {r['noise']:,} noise) "
                                    f"written to {r['png']} and {r['html']}")
