"""``artkg``: query, inspect (and later train and explain on) artkg graph directories."""
from __future__ import annotations

from pathlib import Path

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
