"""``artkg influence`` and ``artkg index build``: influence chains and ranked artworks, FAISS indexes."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from artkg.cli import app
from artkg.cli.common import JsonOption, _json_kwargs, _renamed_inputs, emit, friendly_errors, setup_logging
from artkg.kg.influence import Direction


def _short(iri: str) -> str:
    return iri.rsplit("/", 1)[-1]


def _chains_text(report: dict) -> str:
    key = "influencers" if report["direction"] == "influencers" else "influenced"
    verb = "was influenced by" if key == "influencers" else "influenced"
    artist = report["artist"]
    who = artist.get("name", artist["label"])
    lines = [f"{who} ({_short(artist['id'])}) {verb} {len(report[key])} artists within degree {report['degree']}:"]
    arrow = " ← " if key == "influencers" else " → "
    for item in report[key]:
        lines.append(f"  [{item['degree']}] {item['path_names'][-1]}    {arrow.join(item['path_names'])}")
        for name, values in item.get("qualifiers", {}).items():  # e.g. sourcing circumstances: presumably
            lines.append(f"      {name}: {', '.join(values)}")
        for deprecated in item.get("deprecated", []):
            lines.append("      a deprecated claim of this influence: "
                         + "; ".join(f"{n}: {', '.join(v)}" for n, v in deprecated.items()))
        for claim in item.get("evidence", []):
            lines.append(f"      {claim['subject']} — influenced by — {claim['object']}"
                         + (f"  (source: {claim['source']})" if claim.get("source") else ""))
            for ref in claim["references"] or [{"no reference recorded": []}]:
                lines.append("        " + "; ".join(f"{p}: {', '.join(map(str, v))}" if v else p
                                                    for p, v in ref.items()))
    if report.get("note"):
        lines.append(f"  note: {report['note']}")
    return "\n".join(lines)


def _artworks_text(report: dict) -> str:
    art = report["artwork"]
    who = f" by {art['creator']['label']}" if art["creator"] else ""
    when = f" ({art['year']})" if art["year"] is not None else ""
    ranking = report["ranking"]
    how = f"the CLOIR run {ranking['run']}" if ranking.get("run") else f"{ranking.get('features')} features"
    reading = f"; similarity = {ranking['similarity']}" if ranking.get("similarity") else ""
    lines = [f"{art['label']}{when}{who} ({_short(art['id'])}) — {len(report['candidates'])} candidate influences "
             f"ranked by {how} ({ranking['metric']}{reading}):"]
    for c in report["candidates"]:
        who = c["creator"]["label"] if c["creator"] else "unknown artist"
        when = f" ({c['year']})" if c["year"] is not None else ""
        path = f"path (degree {c['degree']}): " + " ← ".join(c["path_names"]) if c["path"] else "no influence path"
        if c.get("similarity") is not None:
            score = f"similarity {c['similarity']:.3f} ({ranking['distance']} {c['distance']:.3f})"
        else:
            score = f"score {c['score']:+.4f}"
        lines.append(f"  {c['rank']:>2}. {score}  {c['label']}{when} by {who} ({_short(c['id'])})  [{path}]")
        if c.get("heatmap"):
            lines.append(f"      heatmap: {c['heatmap'].get('png') or next(iter(c['heatmap'].values()))}")
    if report.get("note"):
        lines.append(f"  note: {report['note']}")
    return "\n".join(lines)


@app.command(epilog="Examples:\n\n  artkg influence world --artist A0042 --degree 2\n\n"
                    "  artkg influence vangogh --artist \"Vincent van Gogh\" --direction influenced --json\n\n"
                    "  artkg influence world --artwork W01717 --k 10 --run runs/cloir --degree 2\n\n"
                    "  artkg influence world --artwork W01717 --index world_index --no-time-filter --json\n\n"
                    "  artkg influence world --artwork W01717 --run runs/cloir --k 3 --heatmaps heatmaps/W01717")
@friendly_errors
def influence(
    graph_dir: Path = typer.Argument(..., help="A graph directory built by kgbuild."),
    artist: Optional[str] = typer.Option(None, "--artist", "-a", help="IRI, QID / local id, or label (case, "
                                         "accents, parts and small typos forgiven when only one artist matches)."),
    artwork: Optional[str] = typer.Option(None, "--artwork", "-w",
                                          help="Rank candidate influencing artworks for this artwork instead."),
    degree: Optional[int] = typer.Option(None, "--degree", "-d", min=1,
                                         help="Influence hops to follow (artist default 2; artwork paths 1 or 2, "
                                              "default 1)."),
    direction: Direction = typer.Option(Direction.influencers, "--direction",
                                        help="influencers: who influenced X; influenced: whom X influenced."),
    evidence: bool = typer.Option(False, "--evidence", help="Artists: list each step's claim with its references "
                                  "(stated in, reference URL, source)."),
    k: int = typer.Option(10, "--k", "-k", min=1, help="Artworks: how many candidates to list."),
    run: Optional[Path] = typer.Option(None, "--run", help="Artworks: rank with this CLOIR run's embedding "
                                                            "(default: the raw input features)."),
    index: Optional[Path] = typer.Option(None, "--index", help="Artworks: a saved index (`artkg index build`)."),
    inputs: str = typer.Option("image", "--inputs", help="Artworks without --run: rank by image, text or "
                                                          "image+text features."),
    old_features: Optional[str] = typer.Option(None, "--features", hidden=True, help="Renamed --inputs."),
    time_filter: bool = typer.Option(True, "--time-filter/--no-time-filter",
                                     help="Artworks: drop candidates made after the query (when both dates are known)."),
    only_linked: bool = typer.Option(False, "--only-linked",
                                     help="Artworks: list only candidates whose artist is on an influence path."),
    heatmaps: Optional[Path] = typer.Option(None, "--heatmaps",
                                            help="Artworks: write a Grad-CAM per candidate here (which parts of "
                                                 "the query make it similar to the candidate)."),
    image_root: Optional[Path] = typer.Option(None, "--image-root", help="Artworks: folder with the image files."),
    as_json: bool = JsonOption,
) -> None:
    """Influence chains of an artist (each influencer once, minimal degree, one shortest path), or the
    artworks that may have influenced an artwork, each with the artist-level path that supports it."""
    from artkg.kg.errors import InputError
    from artkg.kg.graph import load_graph

    setup_logging(quiet=True)
    _renamed_inputs(old_features)
    if (artist is None) == (artwork is None):
        raise InputError("give exactly one of --artist and --artwork", "e.g. --artist A0042 or --artwork W01717")
    graph = load_graph(graph_dir)
    if artist is not None:
        from artkg.kg.influence import influence_report

        emit(influence_report(graph, artist, degree or 2, direction, evidence=evidence), as_json, _chains_text)
        return
    from artkg.retrieval.query import influencing_artworks

    report = influencing_artworks(graph, artwork, k=k, degree=degree or 1, run=run, features=inputs,
                                  index=index, time_filter=time_filter, only_linked=only_linked)
    if heatmaps is not None:
        from artkg.explain.similarity import explain_similarity

        for rank, cand in enumerate(report["candidates"], 1):
            folder = heatmaps / f"{rank:02d}_{cand['id'].rsplit('/', 1)[-1]}"
            cand["heatmap"] = explain_similarity(graph, report["artwork"]["id"], cand["id"], folder,
                                                 run=run or report["ranking"].get("run"), image_root=image_root,
                                                 ranked={**cand, "metric": report["ranking"]["metric"]})["files"]
        if not as_json:
            typer.echo(f"heatmaps written to {heatmaps}/", err=True)
    emit(report, as_json, _artworks_text)


index_app = typer.Typer(help="FAISS indexes over artwork vectors (raw features or a CLOIR run's embedding).",
                        epilog="Example:\n\n  artkg index build world --run runs/cloir --kind hnsw --out cloir_index",
                        no_args_is_help=True, rich_markup_mode=None, context_settings={"help_option_names": ["-h", "--help"]})
app.add_typer(index_app, name="index")


@index_app.command(name="build", epilog="Examples:\n\n  artkg index build world --out world_index\n\n"
                                        "  artkg index build world --run runs/cloir --kind hnsw "
                                        "--kind-kwargs '{\"M\": 32, \"ef_search\": 128}' --out cloir_index --json")
@friendly_errors
def index_build(
    graph_dir: Path = typer.Argument(..., help="A graph directory with features (`artkg features`)."),
    out: Path = typer.Option(..., "--out", "-o", help="The index directory to write."),
    run: Optional[Path] = typer.Option(None, "--run", help="Index this CLOIR run's embedding (default: raw features)."),
    inputs: str = typer.Option("image", "--inputs", help="Without --run: index image, text or image+text "
                                                          "features."),
    old_features: Optional[str] = typer.Option(None, "--features", hidden=True, help="Renamed --inputs."),
    kind: str = typer.Option("flat", "--kind", help="flat (exact), hnsw or ivf (see `artkg ls`)."),
    metric: Optional[str] = typer.Option(None, "--metric", help="l2, ip or cosine (default: cosine for raw "
                                                                 "features, l2 for a CLOIR run)."),
    kind_kwargs: Optional[str] = typer.Option(None, "--kind-kwargs", help="JSON object of index options "
                                              "(hnsw: M, ef_construction, ef_search; ivf: nlist, nprobe)."),
    as_json: bool = JsonOption,
) -> None:
    """Build a FAISS index over every artwork's vector, saved with the graph's id map (used by
    `artkg influence --artwork … --index DIR`)."""
    from artkg.kg.graph import load_graph
    from artkg.retrieval.query import build_artwork_index

    setup_logging(quiet=True)
    _renamed_inputs(old_features)
    report = build_artwork_index(load_graph(graph_dir), out, run=run, features=inputs, kind=kind,
                                 kind_kwargs=_json_kwargs(kind_kwargs, "--kind-kwargs"), metric=metric)
    emit(report, as_json, lambda r: f"{r['kind']} index of {r['vectors']:,} {r['dim']}-d vectors "
                                    f"({r['metric']}) written to {r['index']}")
