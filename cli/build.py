"""``kgbuild``: build artkg graph directories from Wikidata, RDF files, WikiArt, ArtGraph or the synthetic world."""
from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from artkg.cli.common import emit, friendly_errors, setup_logging
from artkg.kg.influence import Direction

kgbuild_app = typer.Typer(
    name="kgbuild",
    help="Build an artkg graph directory (triples, Oxigraph store, PyG HeteroData, id maps, manifest).",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)

OutOption = typer.Option(..., "--out", "-o", help="Graph directory to write (created if missing).")
JsonOption = typer.Option(False, "--json", help="Print the manifest as JSON instead of a summary.")
VerboseOption = typer.Option(0, "--verbose", "-v", count=True, help="More log output on stderr (-vv: queries).")
QuietOption = typer.Option(False, "--quiet", "-q", help="Only warnings and errors on stderr.")
NoStoreOption = typer.Option(False, "--no-store", help="Skip the Oxigraph store (graph.nt and the tensors only).")
KeepIdsOption = typer.Option(
    None, "--keep-ids/--new-ids",
    help="Rebuilding into a directory that holds a graph: keep its node ids and append new nodes, so runs, "
         "indexes and features stay valid (default: when possible), or number every node afresh.")


def _summary(manifest: dict) -> str:
    counts = manifest["counts"]
    nodes = ", ".join(f"{n:,} {t}" for t, n in counts["nodes"].items())
    edges = "\n".join(f"  {k.replace('__', ' -', 1).replace('__', '-> ')}: {n:,}" for k, n in counts["edges"].items())
    return f"built {manifest['source']['kind']} graph: {manifest['triples']:,} triples\nnodes: {nodes}\nedges:\n{edges}"


def _finish(manifest: dict, as_json: bool, verbose: int, quiet: bool) -> None:
    """The manifest (or a summary) on stdout, then what the build skipped and why on stderr."""
    from artkg.kg.graphdir import drop_summary

    emit(manifest, as_json, _summary)
    if not quiet:
        typer.echo(drop_summary(manifest, examples=verbose > 0), err=True)


@kgbuild_app.command(epilog="Examples:\n\n  kgbuild wikidata Q5582 \"Paul Cézanne\" --hops 2 --out vangogh\n\n"
                            "  kgbuild wikidata --seeds-file painters.txt --endpoint http://127.0.0.1:7878/query --out g")
@friendly_errors
def wikidata(
    seeds: Optional[List[str]] = typer.Argument(None, help="Seed artists: QIDs (Q5582), IRIs or exact labels."),
    out: Path = OutOption,
    seeds_file: Optional[Path] = typer.Option(None, "--seeds-file", help="File with one seed per line (# comments)."),
    hops: int = typer.Option(1, "--hops", help="Steps to expand along influence (P737) from the seeds."),
    direction: Direction = typer.Option(Direction.influencers, "--direction",
                                        help="Expand towards influencers (who influenced) or the influenced."),
    endpoint: str = typer.Option("https://query.wikidata.org/sparql", "--endpoint", help="SPARQL endpoint URL."),
    max_artworks: int = typer.Option(20, "--max-artworks", help="Artworks fetched per artist (with image first); 0: none."),
    lang: List[str] = typer.Option(["en"], "--lang", help="Label languages, in order of preference."),
    batch_size: int = typer.Option(50, "--batch-size", help="Entities per VALUES block."),
    no_references: bool = typer.Option(False, "--no-references", help="Skip the P737 statements' references."),
    offline: bool = typer.Option(False, "--offline", help="Answer only from the cache in OUT/raw (no network)."),
    timeout: float = typer.Option(65.0, "--timeout", help="Seconds per query (Wikidata stops queries at 60 s)."),
    tries: int = typer.Option(6, "--tries", help="Attempts per query (429/503/time-outs are retried)."),
    wikipedia_lang: Optional[str] = typer.Option(
        None, "--wikipedia-lang",
        help="Also give class nodes (styles, genres, movements, subjects) the introduction of their Wikipedia "
             "article in this language (e.g. en), used by the text encoder; cached in OUT/raw/wikipedia."),
    wikipedia_url: Optional[str] = typer.Option(
        None, "--wikipedia-url", help="Wikipedia base URL (default https://LANG.wikipedia.org; a mirror or test server)."),
    no_store: bool = NoStoreOption,
    keep_ids: Optional[bool] = KeepIdsOption,
    as_json: bool = JsonOption,
    verbose: int = VerboseOption,
    quiet: bool = QuietOption,
) -> None:
    """Crawl Wikidata-style SPARQL: P737 influence plus student-of, movement, genre, life dates and artworks."""
    from artkg.kg.builders import build_graph
    from artkg.kg.wikidata import WikidataConfig, read_seeds_file

    setup_logging(verbose, quiet)
    all_seeds = list(seeds or []) + (read_seeds_file(seeds_file) if seeds_file else [])
    config = WikidataConfig(endpoint=endpoint, hops=hops, direction=direction, max_artworks=max_artworks,
                            languages=tuple(lang), batch_size=batch_size, references=not no_references,
                            offline=offline, timeout=timeout, max_tries=tries)
    manifest = build_graph("wikidata", out, seeds=all_seeds, config=config, progress=not quiet,
                           build_store=not no_store, keep_ids=keep_ids, wikipedia_lang=wikipedia_lang,
                           wikipedia_url=wikipedia_url)
    _finish(manifest, as_json, verbose, quiet)


@kgbuild_app.command(epilog="Example:\n\n  kgbuild rdf paintings.ttl --out paintings")
@friendly_errors
def rdf(
    file: Path = typer.Argument(..., help="N-Triples, Turtle, N-Quads, TriG or RDF/XML using the Wikidata vocabulary."),
    out: Path = OutOption,
    fmt: Optional[str] = typer.Option(None, "--format", help="nt | turtle | nquads | trig | xml (default: from the extension)."),
    no_store: bool = NoStoreOption,
    keep_ids: Optional[bool] = KeepIdsOption,
    as_json: bool = JsonOption,
    verbose: int = VerboseOption,
    quiet: bool = QuietOption,
) -> None:
    """Import an RDF file (wdt:P737, wdt:P170 … as in Wikidata; entities may have any IRI)."""
    from artkg.kg.builders import build_graph

    setup_logging(verbose, quiet)
    _finish(build_graph("rdf", out, path=file, fmt=fmt, build_store=not no_store, keep_ids=keep_ids),
            as_json, verbose, quiet)


@kgbuild_app.command(epilog="Example:\n\n  kgbuild wikiart ../shared/data/wikiart/artgan --out wikiart")
@friendly_errors
def wikiart(
    directory: Path = typer.Argument(..., help="Folder of the ArtGAN WikiArt split files (style_train.csv, genre_class.txt …)."),
    out: Path = OutOption,
    no_store: bool = NoStoreOption,
    keep_ids: Optional[bool] = KeepIdsOption,
    as_json: bool = JsonOption,
    verbose: int = VerboseOption,
    quiet: bool = QuietOption,
) -> None:
    """Import WikiArt: artist and style from each image path, genre from the genre split; splits.json keeps the splits."""
    from artkg.kg.builders import build_graph

    setup_logging(verbose, quiet)
    _finish(build_graph("wikiart", out, path=directory, build_store=not no_store, keep_ids=keep_ids),
            as_json, verbose, quiet)


@kgbuild_app.command(epilog="Example:\n\n  kgbuild artgraph artgraph-raw/ --out artgraph")
@friendly_errors
def artgraph(
    directory: Path = typer.Argument(..., help="ArtGraph OGB-style export: mapping/ and raw/relations/."),
    out: Path = OutOption,
    no_store: bool = NoStoreOption,
    keep_ids: Optional[bool] = KeepIdsOption,
    as_json: bool = JsonOption,
    verbose: int = VerboseOption,
    quiet: bool = QuietOption,
) -> None:
    """Import ArtGraph's raw export (v1 or v2 relation names) into the artkg schema."""
    from artkg.kg.builders import build_graph

    setup_logging(verbose, quiet)
    _finish(build_graph("artgraph", out, path=directory, build_store=not no_store, keep_ids=keep_ids),
            as_json, verbose, quiet)


@kgbuild_app.command(epilog="Example:\n\n  kgbuild synth --artists 300 --seed 0 --out world")
@friendly_errors
def synth(
    out: Path = OutOption,
    artists: int = typer.Option(300, "--artists", help="Number of artists."),
    seed: int = typer.Option(0, "--seed", help="Random seed (the world is deterministic per seed)."),
    image_size: int = typer.Option(64, "--image-size", help="Side of the rendered artwork images, in pixels."),
    works_per_artist: float = typer.Option(10.0, "--works-per-artist", help="Mean artworks per artist."),
    no_images: bool = typer.Option(False, "--no-images", help="Skip rendering images."),
    users: int = typer.Option(0, "--users", help="Plant this many users who buy works over time (recommenders)."),
    taste: str = typer.Option("mixed", "--taste", help="What the users' tastes follow: mixed, visual (pixels "
                              "only) or kg (artists, movements, genres only)."),
    raters: int = typer.Option(0, "--raters", help="Plant this many users who rate works 1–5 (multimodal "
                               "recommenders; they coexist with --users)."),
    rater_taste: str = typer.Option("both", "--rater-taste", help="What the raters like: both, show (what the "
                                    "paintings look like) or about (the subjects they depict)."),
    motifs: int = typer.Option(0, "--motifs", help="Plant this many motif families: a patch in a source work "
                               "copied (scaled, mirrored, recoloured, cropped) into works of the artists its "
                               "creator influenced (visual signatures)."),
    known_links: float = typer.Option(0.5, "--known-links", help="Share of the motif families whose pairs "
                                      "become visual links in the graph (the rest are held out, by family)."),
    motif_size: Optional[float] = typer.Option(None, "--motif-size", help="Side of a source's motif patch, as a "
                                               "share of the image side (default 0.22; copies are 0.6–1.4× it)."),
    no_store: bool = NoStoreOption,
    keep_ids: Optional[bool] = KeepIdsOption,
    as_json: bool = JsonOption,
    verbose: int = VerboseOption,
    quiet: bool = QuietOption,
) -> None:
    """Generate the offline art world: planted influence, styles, movements, genres, rendered images."""
    from artkg.kg.builders import build_graph

    setup_logging(verbose, quiet)
    if artists <= 5:
        raise typer.BadParameter("the world needs more than 5 artists", param_hint="--artists")
    if users < 0:
        raise typer.BadParameter(f"the number of users cannot be negative (got {users})", param_hint="--users")
    if taste not in ("mixed", "visual", "kg"):
        raise typer.BadParameter(f"unknown taste {taste!r}: choose mixed, visual or kg", param_hint="--taste")
    if raters < 0:
        raise typer.BadParameter(f"the number of raters cannot be negative (got {raters})", param_hint="--raters")
    if rater_taste not in ("both", "show", "about"):
        raise typer.BadParameter(f"unknown rater taste {rater_taste!r}: choose both, show or about",
                                 param_hint="--rater-taste")
    if motifs < 0:
        raise typer.BadParameter(f"the number of motifs cannot be negative (got {motifs})", param_hint="--motifs")
    if not 0.0 <= known_links <= 1.0:
        raise typer.BadParameter(f"the known share must lie in [0, 1] (got {known_links})", param_hint="--known-links")
    manifest = build_graph("synth", out, artists=artists, seed=seed, image_size=image_size,
                           works_per_artist=works_per_artist, images=not no_images, progress=not quiet,
                           build_store=not no_store, keep_ids=keep_ids, users=users, taste=taste,
                           raters=raters, rater_taste=rater_taste, motifs=motifs, known_links=known_links,
                           motif_size=motif_size)
    _finish(manifest, as_json, verbose, quiet)


@kgbuild_app.command(epilog="Example:\n\n  kgbuild ugallery --purchases purchases.csv --inventory inventory.csv "
                            "--embeddings embeddings.npy --embedding-ids ids.txt --out ugallery")
@friendly_errors
def ugallery(
    out: Path = OutOption,
    purchases: Path = typer.Option(..., "--purchases", help="CSV: user_id_hash, purchased_artwork_ids_hash, "
                                   "purchase_timestamp."),
    inventory: Path = typer.Option(..., "--inventory", help="CSV: artwork_id_hash, artist_id_hash, upload_timestamp."),
    embeddings: Optional[Path] = typer.Option(None, "--embeddings", help="Precomputed visual embeddings: .npy "
                                              "(with --embedding-ids) or .npz (embeddings, ids)."),
    embedding_ids: Optional[Path] = typer.Option(None, "--embedding-ids", help="Artwork id of each .npy row, one per line."),
    no_store: bool = NoStoreOption,
    as_json: bool = JsonOption,
    verbose: int = VerboseOption,
    quiet: bool = QuietOption,
) -> None:
    """An online art store in the CuratorNet / UGallery layout: its artworks, artists, purchases (and embeddings)."""
    from artkg.kg.builders import build_graph

    setup_logging(verbose, quiet)
    manifest = build_graph("ugallery", out, purchases=purchases, inventory=inventory, build_store=not no_store)
    if embeddings is not None:
        from artkg.models.features_cache import import_features

        meta = import_features(out, embeddings, embedding_ids, name="ugallery")
        manifest["features"] = {"path": meta["path"], "dim": meta["dim"], "artworks": meta["encoded"],
                                "unknown_ids": meta["unknown_ids"]}
    _finish(manifest, as_json, verbose, quiet)


@kgbuild_app.command(epilog="Examples:\n\n  kgbuild interactions world purchases.csv\n\n"
                            "  kgbuild interactions museum likes.csv ratings.csv --json")
@friendly_errors
def interactions(
    graph_dir: Path = typer.Argument(..., help="A graph directory built by kgbuild."),
    files: List[Path] = typer.Argument(..., help="CSV files: user, artwork, timestamp[, rating][, kind][, basket]."),
    as_json: bool = JsonOption,
    verbose: int = VerboseOption,
    quiet: bool = QuietOption,
) -> None:
    """Add users' purchases, likes and ratings to a graph (node ids kept; users appended)."""
    from artkg.kg.interactions_import import add_interactions

    setup_logging(verbose, quiet)
    manifest = add_interactions(graph_dir, list(files), progress=not quiet)
    _finish(manifest, as_json, verbose, quiet)
    if not quiet:
        for rep in manifest["interactions"][-len(files):]:
            dropped = "; ".join(f"{v['count']} {k} (e.g. {', '.join(map(str, v['examples']))})"
                                for k, v in rep["dropped"].items())
            typer.echo(f"{rep['file']}: {rep['usable']:,} of {rep['rows']:,} rows added"
                       + (f"; left out: {dropped}" if dropped else ""), err=True)


@kgbuild_app.command(epilog="Examples:\n\n  kgbuild links world pairs.csv --source annotator:alice\n\n"
                            "  kgbuild links paintings duplicates.csv --source manifest --json")
@friendly_errors
def links(
    graph_dir: Path = typer.Argument(..., help="A graph directory built by kgbuild."),
    files: List[Path] = typer.Argument(..., help="CSV files: a, b, kind[, source]; artworks by IRI, id, label or "
                                                 "image path; kinds positive, similar, duplicate, negative (wrong)."),
    source: Optional[str] = typer.Option(None, "--source", help="Who or what made the links (default: the file "
                                                                  "name; a source column wins)."),
    as_json: bool = JsonOption,
    verbose: int = VerboseOption,
    quiet: bool = QuietOption,
) -> None:
    """Add visual links (visual signatures) between artworks to a graph (node ids kept)."""
    from artkg.kg.links_import import add_links

    setup_logging(verbose, quiet)
    manifest = add_links(graph_dir, list(files), source=source)
    _finish(manifest, as_json, verbose, quiet)
    if not quiet:
        _file_reports(manifest["links"][-len(files):], "links")


def _file_reports(reports: list[dict], what: str) -> None:
    for rep in reports:
        dropped = "; ".join(f"{v['count']} {k} (e.g. {', '.join(map(str, v['examples']))})"
                            for k, v in rep["dropped"].items())
        typer.echo(f"{rep['file']}: {rep['usable']:,} of {rep['rows']:,} rows added as {what}"
                   + (f"; left out: {dropped}" if dropped else ""), err=True)


def main() -> None:  # pragma: no cover - console entry point
    kgbuild_app()
