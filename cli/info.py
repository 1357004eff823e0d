"""``artkg info``, ``schema``, ``ls``, ``version``: inspect a graph directory and the installation."""
from __future__ import annotations

from pathlib import Path

import typer

from artkg.cli import app
from artkg.cli.common import JsonOption, emit, friendly_errors


@app.command(epilog="Example:\n\n  artkg info world --json\n\n"
                    "Exit codes: 0 the directory is intact; 1 it is damaged (the problems are listed, with the "
                    "kgbuild command that rebuilds it); 2 it is not a graph directory.")
@friendly_errors
def info(graph_dir: Path = typer.Argument(..., help="A graph directory."), as_json: bool = JsonOption) -> None:
    """Show a graph directory's manifest (source, counts, versions) and check every file against it
    (presence, size, sha256)."""
    from artkg.kg.graphdir import GraphDir
    from artkg.kg.integrity import rebuild_command
    from artkg.kg.lock import is_locked

    gdir = GraphDir(graph_dir)
    manifest = gdir.manifest()
    problems = gdir.verify(deep=True)
    busy = is_locked(gdir.root)
    manifest["verify"] = {"ok": not problems, "problems": problems, "checked": sorted(manifest.get("files", {})),
                          "rebuild": rebuild_command(gdir.root, manifest) if problems else None,
                          "being_written_by": busy}

    def text(m: dict) -> str:
        nodes = "\n".join(f"  {t}: {n:,}" for t, n in m["counts"]["nodes"].items())
        edges = "\n".join(f"  ({k.replace('__', ', ')}): {n:,}" for k, n in m["counts"]["edges"].items())
        v = m["verify"]
        if v["ok"]:
            state = (f"verified: {len(v['checked'])} recorded files match the manifest" if v["checked"] else
                     "verified: core files present (built before sizes and hashes were recorded)")
        else:
            state = "DAMAGED:\n" + "\n".join(f"  {p}" for p in v["problems"]) + f"\nrebuild it: {v['rebuild']}"
        if v["being_written_by"]:
            state += f"\nbeing written now by {v['being_written_by']}"
        return (f"{graph_dir}: {m['source']['kind']} graph, {m['triples']:,} triples, built {m['created']} "
                f"by artkg {m['artkg_version']}\nnodes:\n{nodes}\nedges:\n{edges}\n{state}")

    emit(manifest, as_json, text)
    if problems:
        raise typer.Exit(1)


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
    from artkg.registry import public_names, registries

    table = {name: public_names(resolver) for name, resolver in registries().items()}
    emit(table, as_json, lambda t: "\n".join(f"{k}: {', '.join(v)}" for k, v in t.items()))


@app.command(epilog="Example:\n\n  artkg version --json")
def version(as_json: bool = JsonOption) -> None:
    """Print the artkg version and the versions of its core dependencies."""
    from artkg.registry import versions

    v = versions()
    emit(v, as_json, lambda d: f"artkg {d['artkg']}\n" + "\n".join(f"  {k} {x}" for k, x in d.items() if k != "artkg"))
