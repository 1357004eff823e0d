"""``artkg search``: find artists, artworks and classes by a loose spelling of their labels."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from artkg.cli import app
from artkg.cli.common import JsonOption, emit, friendly_errors


def _text(report: dict) -> str:
    if not report["results"]:
        return f"nothing in {report['graph']} matches {report['query']!r}" + (
            f" among {report['type']} nodes" if report["type"] else "") + " (try fewer letters or another --type)"
    from artkg.kg.search import display

    width = max(len(r["id"]) for r in report["results"])
    lines = [f"{r['id']:<{width}}  {r['type']:<9} {display(r)}   [{r['match']} {r['score']:.2f}]"
             for r in report["results"]]
    if report["more"]:
        lines.append(f"… more matches: raise --limit (now {report['limit']})")
    return "\n".join(lines)


@app.command(epilog="Examples:\n\n  artkg search world \"konrad fonley\"\n\n  artkg search world cezane --type artist\n\n"
                    "  artkg search world \"landscape no 1\" --type artwork --limit 5 --json")
@friendly_errors
def search(
    graph_dir: Path = typer.Argument(..., help="A graph directory built by kgbuild."),
    text: str = typer.Argument(..., help="A name, title or id; case, accents, parts and small typos are forgiven."),
    node_type: Optional[str] = typer.Option(None, "--type", "-t", help="Only this node type (artist, artwork, "
                                            "style, movement, genre …; see `artkg schema`)."),
    limit: int = typer.Option(20, "--limit", "-n", min=1, help="How many matches to list."),
    as_json: bool = JsonOption,
) -> None:
    """Find nodes by label or id: exact, prefix, every word, substring, then close spellings — with
    ids, types and dates (artists born–died, artworks year and creator)."""
    from artkg.kg.graph import load_graph
    from artkg.kg.search import search as run_search

    graph = load_graph(graph_dir)
    found = run_search(graph, text, node_type, limit=limit + 1)
    emit({"graph": str(graph_dir), "query": text, "type": node_type, "limit": limit, "more": len(found) > limit,
          "results": found[:limit]}, as_json, _text)
