"""``artkg signatures`` and the visual-signature side of ``artkg train`` / ``artkg eval``.

``artkg train signatures GRAPH_DIR --out RUN`` fine-tunes an image backbone on the graph's visual links
(:mod:`artkg.models.signatures.train`); ``artkg eval RUN`` recomputes its retrieval metrics;
``artkg signatures RUN`` writes the fine-tuned signature of every artwork as an image feature set.
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from artkg.cli import app
from artkg.cli.common import JsonOption, emit, friendly_errors, setup_logging

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


@app.command(epilog="Examples:\n\n  artkg signatures runs/sig\n\n  artkg signatures runs/sig --graph moved/world --json")
@friendly_errors
def signatures(
    run: Path = typer.Argument(..., help="A signatures run directory (`artkg train signatures`)."),
    graph: Optional[Path] = typer.Option(None, "--graph", help="The training graph, if it moved since."),
    image_root: Optional[Path] = typer.Option(None, "--image-root", help="Folder with the image files "
                                              "(default: the run's)."),
    device: str = typer.Option("auto", "--device", help="auto, cpu or cuda."),
    as_json: bool = JsonOption,
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Only warnings and errors on stderr (no progress)."),
) -> None:
    """Write the fine-tuned signature of every artwork as an image feature set of the graph."""
    from artkg.models.signatures.run import export_signatures

    setup_logging(quiet=quiet)
    meta = export_signatures(run, graph, image_root=image_root, device=device, progress=not quiet)
    emit(meta, as_json, lambda m: f"signatures of {m['encoded']:,} artworks ({m['dim']}-d, {m['skipped']:,} without "
                                  f"an image) written to {m['path']}\n  use them as the image feature set "
                                  f"{m['key']!r} (e.g. --features {m['key']})")
