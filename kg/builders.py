"""Graph builders, one per source, behind a class-resolver registry (``builder_resolver``).

Every builder turns its source into triples in the artkg vocabulary and hands them to
:meth:`GraphDir.finalize`, so all sources end up in the same schema and directory layout.
"""
from __future__ import annotations

import logging
import shutil
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, Iterable

from class_resolver import ClassResolver

from artkg.kg.atomic import write_json
from artkg.kg.errors import InputError
from artkg.kg.graphdir import GraphDir
from artkg.kg.triples import read_rdf_file

log = logging.getLogger("artkg")


class GraphBuilder(ABC):
    """Builds a graph directory from one kind of source."""

    #: the ``kgbuild`` sub-command and the name in the registry
    kind: str = ""

    @abstractmethod
    def build(self, out: str | Path, **kwargs: Any) -> dict:
        """Build the graph directory ``out``; returns its manifest."""


class WikidataBuilder(GraphBuilder):
    """Crawl P737 influence plus context from a SPARQL endpoint (default: Wikidata)."""

    kind = "wikidata"

    def build(self, out, seeds: Iterable[str] = (), config=None, progress: bool = True,
              build_store: bool = True, keep_ids: bool | None = None, wikipedia_lang: str | None = None,
              wikipedia_url: str | None = None, **kwargs) -> dict:
        """``wikipedia_lang``: class nodes also get the introduction of their Wikipedia article in
        that language (:mod:`artkg.kg.wikipedia`; ``wikipedia_url`` replaces ``https://{lang}.wikipedia.org``)."""
        from artkg.kg.wikidata import WikidataConfig, WikidataCrawler

        if wikipedia_lang is not None:
            from artkg.kg.wikipedia import check_lang

            check_lang(wikipedia_lang)
        config = config or WikidataConfig(**kwargs)
        seeds = list(seeds)
        if not seeds:  # before anything is created in --out
            raise InputError("no seeds given", "pass QIDs, IRIs or labels, or --seeds-file FILE")
        from urllib.parse import urlparse

        url = urlparse(str(config.endpoint))
        if url.scheme not in ("http", "https") or not url.netloc:
            raise InputError(f"--endpoint {config.endpoint!r} is not an http(s) URL",
                             "e.g. --endpoint https://query.wikidata.org/sparql or http://127.0.0.1:7878/query")
        gdir = GraphDir(out)
        gdir.prepare(overwrite_other_source=self.kind)
        crawler = WikidataCrawler(config, cache_dir=gdir.raw, progress=progress)
        result = crawler.crawl(seeds)
        stats = crawler.client.stats
        log.info("queries: %d from the network, %d from the cache, %d retries",
                 stats["network"], stats["cached"], stats["retries"])
        source = {"kind": self.kind, "endpoint": config.endpoint, "seeds": result.seeds, "hops": config.hops,
                  "direction": config.direction.value, "max_artworks": config.max_artworks,
                  "languages": list(config.languages)}
        if result.redirects:  # alias -> canonical entity (redirects followed during the crawl)
            source["redirects"] = dict(sorted(result.redirects.items()))
        extra = {"requests": dict(stats)}
        dropped = dict(getattr(crawler, "dropped", {}) or {})
        if wikipedia_lang is not None:
            from artkg.kg.wikipedia import WikipediaClient, add_class_summaries

            client = WikipediaClient(lang=wikipedia_lang, cache_dir=gdir.raw / "wikipedia", base_url=wikipedia_url,
                                     offline=config.offline, timeout=config.timeout,
                                     backoff_initial=config.backoff_initial)
            info = add_class_summaries(result.triples, crawler.client.select, client, batch_size=config.batch_size)
            source["wikipedia_lang"] = wikipedia_lang
            extra["wikipedia"] = {"lang": wikipedia_lang, "class_items": info["class_items"],
                                  "summaries": info["summaries"], "requests": dict(client.stats)}
            dropped[f"class items without a {wikipedia_lang} Wikipedia introduction"] = info["without"]
        return gdir.finalize(result.triples, source=source, queries=result.queries,
                             languages=config.languages, extra=extra,
                             build_store=build_store, keep_ids=keep_ids, dropped=dropped)


class RdfBuilder(GraphBuilder):
    """Import an RDF file (N-Triples, Turtle, RDF/XML …) that uses the Wikidata vocabulary."""

    kind = "rdf"

    def build(self, out, path: str | Path = "", fmt: str | None = None, **kwargs) -> dict:
        triples = read_rdf_file(path, fmt)
        if len(triples) == 0:
            raise InputError(f"{path} holds no triples", "pass a non-empty RDF file in the Wikidata vocabulary")
        gdir = GraphDir(out)
        gdir.prepare(overwrite_other_source=self.kind)
        return gdir.finalize(triples, source={"kind": self.kind, "path": str(Path(path).resolve())}, **kwargs)


class WikiArtBuilder(GraphBuilder):
    """Import the ArtGAN WikiArt split files (style, genre, artist)."""

    kind = "wikiart"

    def build(self, out, path: str | Path = "", **kwargs) -> dict:
        from artkg.kg.importers import wikiart_triples

        triples, splits, info = wikiart_triples(path)
        gdir = GraphDir(out)
        gdir.prepare(overwrite_other_source=self.kind)
        extra = {"wikiart": {"repaired_slugs": info["repaired_slugs"],
                             "merged_paintings": len(info["merged_paintings"]),
                             "split_conflicts": {t: len(v) for t, v in info["split_conflicts"].items()},
                             "rejected_title_years": len(info["rejected_title_years"])}}
        dropped = {"title years outside the artist's working life (no year)": info["rejected_title_years"],
                   **{f"{t} split: paintings listed in train and val (kept in train)": v
                      for t, v in info["split_conflicts"].items()}}
        staged = gdir.scratch("parts")
        write_json(staged / "splits.json", splits, indent=None)
        try:
            return gdir.finalize(triples, source={"kind": self.kind, "path": str(Path(path).resolve())},
                                 extra=extra, dropped=dropped, parts={"splits.json": staged / "splits.json"},
                                 **kwargs)
        finally:
            shutil.rmtree(staged, ignore_errors=True)


class ArtGraphBuilder(GraphBuilder):
    """Import ArtGraph's OGB-style raw export (mapping/ and raw/relations/)."""

    kind = "artgraph"

    def build(self, out, path: str | Path = "", **kwargs) -> dict:
        from artkg.kg.importers import artgraph_triples

        triples, info = artgraph_triples(path)
        gdir = GraphDir(out)
        gdir.prepare(overwrite_other_source=self.kind)
        staged = gdir.scratch("parts")
        parts: dict = {"splits.json": None}
        if info["splits"]:
            write_json(staged / "splits.json", info["splits"], indent=None)
            parts["splits.json"] = staged / "splits.json"
        try:
            return gdir.finalize(triples, source={"kind": self.kind, "path": str(Path(path).resolve())},
                                 extra={"skipped_relations": info["skipped_relations"]},
                                 dropped=info["dropped"], parts=parts, **kwargs)
        finally:
            shutil.rmtree(staged, ignore_errors=True)


class SynthBuilder(GraphBuilder):
    """Generate the offline art world (known answers: planted influence, styles, genres)."""

    kind = "synth"

    def build(self, out, artists: int = 300, seed: int = 0, image_size: int = 64,
              works_per_artist: float = 10.0, images: bool = True, progress: bool = True,
              users: int = 0, taste: str = "mixed", raters: int = 0, rater_taste: str = "both",
              motifs: int = 0, known_links: float = 0.5, motif_size: float | None = None, **kwargs) -> dict:
        """``users``: plant that many users with purchases over time (``taste``: mixed, visual or kg;
        see :mod:`artkg.kg.synth_users`); ``raters``: that many users who rate works 1–5
        (``rater_taste``: both, show or about; see :mod:`artkg.kg.synth_raters`); ``motifs``: that
        many motif families copied along influence, ``known_links`` of them as visual links, a source's
        patch ``motif_size`` of the image side (default 0.22; :mod:`artkg.kg.synth_motifs`)."""
        from artkg.kg.synth import generate_world

        gdir = GraphDir(out)
        gdir.prepare(overwrite_other_source=self.kind)
        # The world (ground truth, images) is generated beside the graph and moved in with it: a
        # failed rebuild leaves the previous directory byte-identical.
        staged = gdir.scratch("synth")
        try:
            summary = generate_world(staged, n_artists=artists, seed=seed, image_size=image_size,
                                     works_per_artist=works_per_artist, render_images=images, progress=progress,
                                     n_users=users, taste=taste, n_raters=raters, rater_taste=rater_taste,
                                     n_motifs=motifs, known_links=known_links, motif_size=motif_size)
            triples = read_rdf_file(Path(summary["world_nt"]))  # graph.nt holds the same triples
            source = {"kind": self.kind, "artists": artists, "seed": seed, "image_size": image_size,
                      "works_per_artist": works_per_artist, "namespace": summary["namespace"]}
            if users:
                source.update(users=users, taste=taste)
            if raters:
                source.update(raters=raters, rater_taste=rater_taste)
            if motifs:
                source.update(motifs=motifs, known_links=known_links)
                if motif_size is not None:
                    source["motif_size"] = float(motif_size)
            parts = {"ground_truth.json": staged / "ground_truth.json", "images": staged / "images" if images else None}
            return gdir.finalize(triples, source=source, extra={"images": "images/" if images else None},
                                 parts=parts, **kwargs)
        finally:
            shutil.rmtree(staged, ignore_errors=True)


class UGalleryBuilder(GraphBuilder):
    """An online art store in the CuratorNet / UGallery layout: purchases and inventory CSVs."""

    kind = "ugallery"

    def build(self, out, purchases: str | Path = "", inventory: str | Path = "", **kwargs) -> dict:
        from artkg.kg.ugallery import ugallery_lines

        gdir = GraphDir(out)
        lines, dropped = ugallery_lines(purchases, inventory)  # reads and checks before --out is touched
        gdir.prepare(overwrite_other_source=self.kind)
        staged = gdir.scratch("parts")
        staged.mkdir(parents=True, exist_ok=True)
        try:
            nt = staged / "ugallery.nt"
            nt.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
            source = {"kind": self.kind, "purchases": str(Path(purchases).resolve()),
                      "inventory": str(Path(inventory).resolve())}
            return gdir.finalize(read_rdf_file(nt), source=source, dropped=dropped, **kwargs)
        finally:
            shutil.rmtree(staged, ignore_errors=True)


builder_resolver: ClassResolver[GraphBuilder] = ClassResolver.from_subclasses(
    GraphBuilder, suffix="Builder", default=WikidataBuilder)


def build_graph(kind: str | GraphBuilder | type[GraphBuilder], out: str | Path, **kwargs) -> dict:
    """Build a graph directory with the named builder, e.g. ``build_graph("synth", "world", artists=200)``.

    The build holds ``out``'s lock: a second build into the same directory at the same time fails at
    once with one line naming the process that holds it (:func:`artkg.kg.lock.output_lock`)."""
    from artkg.kg.lock import output_lock

    builder = builder_resolver.make(kind)
    with output_lock(out, what="--out"):
        return builder.build(out, **kwargs)
