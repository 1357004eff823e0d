"""``artkg``: query, inspect (and later train and explain on) artkg graph directories."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from artkg._cli_common import emit, friendly_errors, setup_logging
from artkg.kg.influence import Direction

app = typer.Typer(
    name="artkg",
    help="Computational art history on knowledge graphs. Build graphs with `kgbuild`; query them here.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)

JsonOption = typer.Option(False, "--json", help="Machine-readable JSON on stdout.")


def _chains_text(report: dict) -> str:
    key = "influencers" if report["direction"] == "influencers" else "influenced"
    verb = "was influenced by" if key == "influencers" else "influenced"
    artist = report["artist"]
    lines = [f"{artist['label']} ({artist['id']}) {verb} {len(report[key])} artists within degree {report['degree']}:"]
    labels = {artist["id"]: artist["label"], **{i["id"]: i["label"] for i in report[key]}}
    for item in report[key]:
        chain = " ← " if key == "influencers" else " → "
        path = chain.join(labels.get(p, p) for p in item["path"])
        lines.append(f"  [{item['degree']}] {item['label']}    {path}")
    return "\n".join(lines)


@app.command(epilog="Examples:\n\n  artkg influence world --artist A0042 --degree 2\n\n"
                    "  artkg influence vangogh --artist \"Vincent van Gogh\" --direction influenced --json")
@friendly_errors
def influence(
    graph_dir: Path = typer.Argument(..., help="A graph directory built by kgbuild."),
    artist: str = typer.Option(..., "--artist", "-a", help="IRI, QID / local id, or exact label."),
    degree: int = typer.Option(2, "--degree", "-d", min=1, help="How many influence hops to follow."),
    direction: Direction = typer.Option(Direction.influencers, "--direction",
                                        help="influencers: who influenced X; influenced: whom X influenced."),
    as_json: bool = JsonOption,
) -> None:
    """Influence chains of an artist up to DEGREE: each influencer once, minimal degree, one shortest path."""
    from artkg.kg.graph import load_graph
    from artkg.kg.influence import influence_report

    setup_logging(quiet=True)
    report = influence_report(load_graph(graph_dir), artist, degree, direction)
    emit(report, as_json, _chains_text)


@app.command(epilog="Example:\n\n  artkg info world --json")
@friendly_errors
def info(graph_dir: Path = typer.Argument(..., help="A graph directory."), as_json: bool = JsonOption) -> None:
    """Show a graph directory's manifest: source, counts, versions."""
    from artkg.kg.graphdir import GraphDir

    manifest = GraphDir(graph_dir).manifest()

    def text(m: dict) -> str:
        nodes = "\n".join(f"  {t}: {n:,}" for t, n in m["counts"]["nodes"].items())
        edges = "\n".join(f"  ({k.replace('__', ', ')}): {n:,}" for k, n in m["counts"]["edges"].items())
        return (f"{graph_dir}: {m['source']['kind']} graph, {m['triples']:,} triples, built {m['created']} "
                f"by artkg {m['artkg_version']}\nnodes:\n{nodes}\nedges:\n{edges}")

    emit(manifest, as_json, text)


def _features_text(report: dict) -> str:
    lines = []
    for f in report["features"]:
        state = "cached" if f["cached"] else (f"resumed after {f['resumed_from']} rows" if f["resumed_from"] else "written")
        lines.append(f"{f['kind']} features {state}: {f['path']}  ({f['encoder']}, {f['dim']}-d)")
        if f["kind"] == "image":
            lines.append(f"  artwork: {f['counts']['artwork']:,} rows, {f['encoded']:,} encoded, {f['skipped']:,} skipped")
            lines += [f"    skipped {s['id']}: {s['reason']}" for s in f["skipped_examples"]]
            if f["skipped"] > len(f["skipped_examples"]):
                lines.append(f"    … all skips in {f['path']}/skipped.json")
        else:
            lines.append("  " + ", ".join(f"{t}: {n:,}" for t, n in f["counts"].items()))
    return "\n".join(lines)


def _json_kwargs(text: str | None, option: str) -> dict:
    import json

    from artkg.kg.errors import InputError

    if not text:
        return {}
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise InputError(f"{option} is not valid JSON: {exc}", f"pass an object, e.g. {option} '{{\"image_size\": 128}}'")
    if not isinstance(value, dict):
        raise InputError(f"{option} must be a JSON object", f"e.g. {option} '{{\"image_size\": 128}}'")
    return value


@app.command(epilog="Examples:\n\n  artkg features world\n\n"
                    "  artkg features wikiart --image-root ../shared/data/wikiart/images --workers 4 --json\n\n"
                    "  artkg features world --image-encoder torchvision_resnet "
                    "--image-encoder-kwargs '{\"arch\": \"resnet18\"}' --text-encoder none")
@friendly_errors
def features(
    graph_dir: Path = typer.Argument(..., help="A graph directory built by kgbuild."),
    image_encoder: str = typer.Option("efficientnet_lite", "--image-encoder",
                                      help="Image encoder (see `artkg ls`), or none."),
    image_encoder_kwargs: Optional[str] = typer.Option(None, "--image-encoder-kwargs",
                                                       help="JSON object of image encoder options."),
    text_encoder: str = typer.Option("minilm", "--text-encoder", help="Text encoder (see `artkg ls`), or none."),
    text_encoder_kwargs: Optional[str] = typer.Option(None, "--text-encoder-kwargs",
                                                      help="JSON object of text encoder options."),
    batch_size: int = typer.Option(64, "--batch-size", min=1, help="Images or texts per forward pass."),
    device: str = typer.Option("auto", "--device", help="auto (CUDA when available), cpu or cuda."),
    image_root: Optional[Path] = typer.Option(None, "--image-root",
                                              help="Folder with the image files (P18 file names or paths under it)."),
    workers: int = typer.Option(0, "--workers", min=0, help="Image-decoding worker processes (0: none)."),
    as_json: bool = JsonOption,
    verbose: int = typer.Option(0, "--verbose", "-v", count=True, help="More log output on stderr."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Only warnings and errors on stderr (no progress)."),
) -> None:
    """Image features for artworks and text features for the other nodes, cached in GRAPH_DIR/features/."""
    from artkg.models.features import extract_features

    setup_logging(verbose, quiet)
    report = extract_features(
        graph_dir, image_encoder=image_encoder,
        image_encoder_kwargs=_json_kwargs(image_encoder_kwargs, "--image-encoder-kwargs"),
        text_encoder=text_encoder, text_encoder_kwargs=_json_kwargs(text_encoder_kwargs, "--text-encoder-kwargs"),
        batch_size=batch_size, device=device, image_root=image_root, num_workers=workers, progress=not quiet)
    emit(report, as_json, _features_text)


@app.command(epilog="Example:\n\n  artkg schema --json")
def schema(as_json: bool = JsonOption) -> None:
    """The graph schema: node types, edge types and the Wikidata property behind each."""
    from artkg.kg.schema import describe

    def text(d: dict) -> str:
        rows = [f"  ({', '.join(e['edge'])})  {e['property']:<12} {e['doc']}" for e in d["edge_types"]]
        return "node types: " + ", ".join(d["node_types"]) + "\nedge types:\n" + "\n".join(rows)

    emit(describe(), as_json, text)


@app.command(name="ls", epilog="Example:\n\n  artkg ls --json")
def list_components(as_json: bool = JsonOption) -> None:
    """List the registered components (builders, …) by registry."""
    from artkg.registry import registries

    table = {name: sorted(resolver.lookup_dict) for name, resolver in registries().items()}
    emit(table, as_json, lambda t: "\n".join(f"{k}: {', '.join(v)}" for k, v in t.items()))


@app.command(epilog="Example:\n\n  artkg version --json")
def version(as_json: bool = JsonOption) -> None:
    """Print the artkg version and the versions of its core dependencies."""
    from artkg.registry import versions

    v = versions()
    emit(v, as_json, lambda d: f"artkg {d['artkg']}\n" + "\n".join(f"  {k} {x}" for k, x in d.items() if k != "artkg"))


def main() -> None:  # pragma: no cover
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
