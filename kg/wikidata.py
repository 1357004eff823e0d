"""``kgbuild wikidata``: crawl influence ("influenced by", P737) and its context over SPARQL.

Only standard SPARQL 1.1 is used — no ``SERVICE wikibase:label``; labels come from
``rdfs:label`` with a language filter — so the same queries run on Wikidata, QLever and a local
Oxigraph server. Entities are batched into ``VALUES`` blocks; every response is cached (see
:class:`~artkg.kg.sparql.SparqlClient`), so an interrupted crawl resumes without refetching; a
batch whose query times out (HTTP 500 on WDQS) is asked again as two halves.

Wikidata as WDQS serves it — unknown values as skolem IRIs, redirects, classes (P31/P279), statement
ranks, references and qualifiers, date precision, ``mul`` labels — is read by
:mod:`artkg.kg.wikidata_statements`.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

import pyoxigraph as ox
from tqdm.auto import tqdm

from artkg.kg import schema as S
from artkg.kg.errors import InputError, NotFoundError
from artkg.kg.influence import Direction
from artkg.kg.sparql import (QID, QueryTimeout, SparqlClient, WIKIDATA_ENDPOINT, binding_rows, sparql_iri,
                              sparql_string, values_block)
from artkg.kg.triples import TripleSet, term_from_binding
from artkg.kg.wikidata_statements import DATE_PROPS, UNKNOWN_DROPPED, StatementsMixin, is_unknown

log = logging.getLogger("artkg")

ARTIST_PROPS = tuple(S.WDT + p for p in ("P1066", "P135", "P136", "P569", "P570", "P19", "P20"))
# akg:style has no Wikidata counterpart (no rows there) but keeps styles of artkg-vocabulary endpoints.
# P170 again for the artworks: co-creators, known or unknown.
ARTWORK_PROPS = tuple(S.WDT + p for p in ("P571", "P18", "P180", "P186", "P136", "P135", "P195", "P276",
                                          "P170")) + (
    S.AKG + "style",)
PREFIXES = "\n".join(f"PREFIX {k}: <{v}>" for k, v in S.PREFIXES.items())


@dataclass
class WikidataConfig:
    """What to crawl. Defaults suit the public Wikidata endpoint."""

    endpoint: str = WIKIDATA_ENDPOINT
    hops: int = 1
    direction: Direction = Direction.influencers
    max_artworks: int = 20  # per artist; works with an image come first
    languages: tuple[str, ...] = ("en",)
    batch_size: int = 50
    references: bool = True  # fetch the P737 statements' references (evidence)
    suggest_scan: bool | None = None  # label search by substring for close matches (not on Wikidata)
    offline: bool = False
    timeout: float = 65.0
    max_tries: int = 6
    backoff_initial: float = 1.0

    def __post_init__(self) -> None:
        self.direction = Direction(self.direction)
        if self.hops < 0:
            raise InputError(f"--hops must be ≥ 0, got {self.hops}", "use --hops 1 or 2")
        if self.batch_size < 1:
            raise InputError("--batch-size must be ≥ 1", "use e.g. --batch-size 50")
        if self.suggest_scan is None:
            # A substring scan over all labels is too heavy for the public service's 60 s limit.
            self.suggest_scan = "wikidata.org" not in self.endpoint


@dataclass
class CrawlResult:
    triples: TripleSet
    seeds: list[str]
    artists: list[str]
    artworks: list[str]
    queries: list[str] = field(default_factory=list)
    redirects: dict[str, str] = field(default_factory=dict)  # alias -> canonical entity


class WikidataCrawler(StatementsMixin):
    """Runs the crawl: resolve seeds → expand influence → artist context → artworks → labels.

    Along the way: redirects followed, classes (P31/P279) fetched, unknown values recorded, dates
    chosen by rank with their precision (:mod:`artkg.kg.wikidata_statements`).
    """

    def __init__(self, config: WikidataConfig, cache_dir: str | Path | None, progress: bool = True):
        self.config = config
        self.client = SparqlClient(endpoint=config.endpoint, cache_dir=cache_dir, offline=config.offline,
                                   timeout=config.timeout, max_tries=config.max_tries,
                                   backoff_initial=config.backoff_initial)
        self.triples = TripleSet()
        self.queries: list[str] = []
        self.progress = progress
        self._context_objects: set[str] = set()
        self.redirects: dict[str, str] = {}
        self._checked: set[str] = set()  # IRIs whose redirect status is known
        self.classes: dict[str, set[str]] = {}
        self._class_parents: dict[str, set[str]] = {}
        self.unknown_count = 0
        self.timeout_splits = 0
        self.dropped: dict[str, list[str]] = {}  # reason -> query results left out (the build summary)

    # ------------------------------------------------------------ driving
    def crawl(self, seeds: Iterable[str]) -> CrawlResult:
        seed_iris = self.resolve_seeds(list(seeds))
        artists = self.expand(seed_iris)
        self.artist_context(artists)
        artworks = self.artworks(artists)
        self.artwork_context(artworks)
        self.follow_redirects(sorted(self._context_objects, key=_natural_key))
        self.record_redirects()
        self.fetch_classes(sorted(self._entities(), key=_natural_key))
        self.labels()
        if self.unknown_count:
            log.info("%d unknown value(s) recorded (no node made for them)", self.unknown_count)
        return CrawlResult(self.triples, seed_iris, artists, artworks, self.queries, dict(self.redirects))

    def _select(self, query: str) -> list[dict]:
        query = PREFIXES + "\n" + query
        rows = binding_rows(self.client.select(query))
        self.queries.append(self.client.cache_key(query))
        return rows

    def _select_batched(self, batch: list[str], make_query) -> list[dict]:
        """The rows of ``make_query(batch)``; when the endpoint times out (HTTP 500 on WDQS), the
        two halves of the ``VALUES`` batch are asked instead — the same query would time out again."""
        try:
            return self._select(make_query(batch))
        except QueryTimeout as exc:
            if len(batch) < 2:
                raise QueryTimeout(f"{exc.problem} for the query about {S.local_name(batch[0])} alone",
                                   exc.fix) from exc
            self.timeout_splits += 1
            mid = len(batch) // 2
            log.warning("a query over %d entities timed out; asking for %d and %d of them",
                        len(batch), mid, len(batch) - mid)
            return self._select_batched(batch[:mid], make_query) + self._select_batched(batch[mid:], make_query)

    def _batches(self, iris: list[str], desc: str):
        size = self.config.batch_size
        chunks = [iris[i:i + size] for i in range(0, len(iris), size)]
        return tqdm(chunks, desc=desc, unit="batch", disable=not self.progress or len(chunks) < 2, leave=False)

    # ------------------------------------------------------------ seeds
    def resolve_seeds(self, seeds: list[str]) -> list[str]:
        """QIDs and IRIs are taken as they are; labels are looked up exactly (``rdfs:label``)."""
        if not seeds:
            raise InputError("no seeds given", "pass QIDs, IRIs or labels, or --seeds-file FILE")
        iris: list[str] = []
        for seed in (s.strip() for s in seeds):
            if not seed:
                continue
            if QID.match(seed):
                iris.append(S.WD + seed)
            elif seed.startswith("wd:") and QID.match(seed[3:]):
                iris.append(S.WD + seed[3:])
            elif re.match(r"^(https?|urn|file):", seed):
                sparql_iri(seed)  # validates
                iris.append(seed)
            else:
                iris.append(self._resolve_label(seed))  # keeps the user's order
        iris = self.follow_redirects(iris)  # a redirect "exists" (owl:sameAs) but holds no data
        self._check_exist(iris)
        return list(dict.fromkeys(iris))

    def _resolve_label(self, label: str) -> str:
        lang = self.config.languages[0]
        rows = self._select(
            "SELECT DISTINCT ?item WHERE {\n"
            f"  {values_block('name', [sparql_string(label, lang)])}\n"
            "  ?item rdfs:label ?name .\n"
            "  FILTER EXISTS { { ?item wdt:P737|wdt:P1066|wdt:P569|wdt:P135 [] } UNION { [] wdt:P170|wdt:P737 ?item } }\n"
            "} ORDER BY ?item LIMIT 20")
        items = [r["item"]["value"] for r in rows]
        if len(items) == 1:
            return items[0]
        if len(items) > 1:
            raise InputError(f"{len(items)} artists are labelled {label!r}: "
                             + ", ".join(S.local_name(i) for i in items[:8]),
                             "pass the QID or IRI of the one you mean")
        close = self._close_labels(label)
        raise NotFoundError(f"no artist labelled {label!r} at {self.config.endpoint}",
                            f"did you mean {', '.join(repr(c) for c in close)}?" if close
                            else "check the spelling, or pass a QID (e.g. Q296 for Claude Monet)")

    def _close_labels(self, label: str) -> list[str]:
        """Close labels: case/alias variants everywhere; a substring scan where the endpoint can afford it."""
        import difflib

        lang = self.config.languages[0]
        variants = sorted({label.title(), label.lower(), label.upper(), label.capitalize()} - {label})
        rows = self._select(
            "SELECT DISTINCT ?name WHERE {\n"
            f"  {values_block('v', [sparql_string(v, lang) for v in variants])}\n"
            "  { ?item rdfs:label ?v } UNION { ?item <http://www.w3.org/2004/02/skos/core#altLabel> ?v }\n"
            "  ?item rdfs:label ?name . FILTER(LANG(?name) = " + sparql_string(lang) + ")\n"
            "} LIMIT 20")
        names = [r["name"]["value"] for r in rows]
        if self.config.suggest_scan:
            longest = max(re.findall(r"\w+", label), key=len, default="")
            if len(longest) >= 3:
                rows = self._select(
                    "SELECT DISTINCT ?name WHERE {\n"
                    "  ?item rdfs:label ?name .\n"
                    "  { ?item wdt:P737|wdt:P569 [] } UNION { [] wdt:P170|wdt:P737 ?item }\n"
                    f"  FILTER(CONTAINS(LCASE(STR(?name)), {sparql_string(longest.lower())}))\n"
                    "} LIMIT 200")
                names += [r["name"]["value"] for r in rows]
        names = list(dict.fromkeys(names))
        return difflib.get_close_matches(label, names, n=5, cutoff=0.5) or names[:5]

    def _check_exist(self, iris: list[str]) -> None:
        present: set[str] = set()
        for batch in self._batches(iris, "checking seeds"):
            rows = self._select_batched(batch, lambda b: (
                "SELECT ?e WHERE {\n"
                f"  {values_block('e', [sparql_iri(i) for i in b])}\n"
                "  FILTER EXISTS { ?e ?p ?o FILTER(?p != owl:sameAs) }\n}"))
            present.update(r["e"]["value"] for r in rows)
        missing = [i for i in iris if i not in present]
        if missing:
            raise NotFoundError(f"seed {S.local_name(missing[0])} has no data at {self.config.endpoint}"
                                + (f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""),
                                "check the QID/IRI, or the --endpoint it belongs to")

    # ------------------------------------------------------------ influence
    def expand(self, seeds: list[str]) -> list[str]:
        """Breadth-first along P737 for ``hops`` steps; returns all artists reached (seeds first).

        A reached entity whose classes (P31) make it something other than an artist — a movement,
        a genre, a work — keeps its edge but is not expanded; its label and class are fetched later.
        """
        reached = dict.fromkeys(seeds)
        frontier = list(seeds)
        direction = self.config.direction
        for hop in range(1, self.config.hops + 1):
            new: list[str] = []
            for batch in self._batches(frontier, f"influence hop {hop}"):
                for a, b in self._influence_edges(batch, direction):
                    other = b if direction is Direction.influencers else a
                    if other not in reached:
                        reached[other] = None
                        new.append(other)
            self.fetch_classes(new)
            others = [e for e in new if self.class_type(e) not in (S.NodeType.artist, False)]
            for e in others:
                del reached[e]
                self._context_objects.add(e)
            new = [e for e in new if e not in set(others)]
            log.info("hop %d: %d new artists (%d in all)%s", hop, len(new), len(reached),
                     f"; {len(others)} reached entities are not artists" if others else "")
            if not new:
                break
            frontier = new
        return list(reached)

    def _influence_edges(self, batch: list[str], direction: Direction) -> list[tuple[str, str]]:
        var_fixed = "a" if direction is Direction.influencers else "b"
        rows = self._select_batched(batch, lambda b: (
            f"SELECT ?a ?b WHERE {{\n  {values_block(var_fixed, [sparql_iri(i) for i in b])}\n"
            "  ?a wdt:P737 ?b .\n}"))
        found = []
        for r in rows:
            if is_unknown(r["a"]):
                self.dropped.setdefault(UNKNOWN_DROPPED, []).append(f"(unknown) P737 {r['b']['value']}")
                continue
            if is_unknown(r["b"]):  # an unknown influencer: no node, but recorded on the artist
                self.record_unknown(r["a"], S.WDT + "P737")
                continue
            if r["b"]["type"] == "uri":
                found.append((r["a"]["value"], r["b"]["value"]))
        canonical = self.follow_redirects([x for pair in found for x in pair])
        pairs = list(dict.fromkeys(zip(canonical[0::2], canonical[1::2])))
        p737 = ox.NamedNode(S.WDT + "P737")
        for a, b in pairs:
            self.triples.add(ox.NamedNode(a), p737, ox.NamedNode(b))
        if self.config.references and pairs:
            self.influence_evidence(batch, var_fixed)
        return pairs

    # ------------------------------------------------------------ context
    def _property_rows(self, subjects: list[str], props: tuple[str, ...], desc: str) -> set[str]:
        """``?s ?p ?o`` for the given direct properties; returns IRI objects (to label later)."""
        objects: set[str] = set()
        prop_terms = [sparql_iri(p) for p in props]
        for batch in self._batches(subjects, desc):
            rows = self._select_batched(batch, lambda b: (
                f"SELECT ?s ?p ?o WHERE {{\n  {values_block('s', [sparql_iri(i) for i in b])}\n"
                f"  {values_block('p', prop_terms)}\n  ?s ?p ?o .\n}}"))
            for r in rows:
                if is_unknown(r["o"]):  # "unknown value": no node; recorded where it matters
                    self.record_unknown(r["s"], r["p"]["value"])
                    continue
                obj = term_from_binding(r["o"])
                self.triples.add(term_from_binding(r["s"]), r["p"]["value"], obj)
                if r["o"]["type"] == "uri" and r["p"]["value"] != S.WDT + "P18":
                    objects.add(r["o"]["value"])
        self.dates(subjects, tuple(S.local_name(p) for p in props if S.local_name(p) in DATE_PROPS))
        return objects

    def artist_context(self, artists: list[str]) -> None:
        self._context_objects |= self._property_rows(artists, ARTIST_PROPS, "artist context")

    def artworks(self, artists: list[str]) -> list[str]:
        """Up to ``max_artworks`` works per artist (works with an image first, then by IRI)."""
        cap = self.config.max_artworks
        if cap <= 0:
            return []
        p170 = ox.NamedNode(S.WDT + "P170")
        chosen: list[str] = []
        # The cap is applied by the server: one sub-query per artist, each ordered (works with an
        # image first, then by IRI length and IRI: numeric order for Q-ids) and LIMITed, so an artist
        # with thousands of works never sends them all.
        def query(b: list[str]) -> str:
            parts = [f"{{ SELECT ?w ?a (SAMPLE(?img) AS ?image) WHERE {{\n    VALUES ?a {{ {sparql_iri(i)} }}\n"
                     "    ?w wdt:P170 ?a .\n    OPTIONAL { ?w wdt:P18 ?img }\n  } GROUP BY ?w ?a\n"
                     f"  ORDER BY IF(BOUND(?image), 0, 1) STRLEN(STR(?w)) STR(?w) LIMIT {int(cap)} }}" for i in b]
            return "SELECT ?w ?a ?image WHERE {\n  " + "\n  UNION\n  ".join(parts) + "\n}"

        for batch in self._batches(artists, "artworks"):
            rows = self._select_batched(batch, query)
            by_artist: dict[str, list[tuple[bool, str]]] = {}
            for r in rows:
                if r["w"]["type"] != "uri":
                    continue
                by_artist.setdefault(r["a"]["value"], []).append(("image" not in r, r["w"]["value"]))
            for artist in batch:  # the batch's order, not the server's row order: the same queries follow
                works = by_artist.get(artist, [])
                for _, work in sorted(works, key=lambda x: (x[0], _natural_key(x[1])))[:cap]:
                    self.triples.add(ox.NamedNode(work), p170, ox.NamedNode(artist))
                    chosen.append(work)
        return list(dict.fromkeys(chosen))

    def artwork_context(self, artworks: list[str]) -> None:
        self._context_objects |= self._property_rows(artworks, ARTWORK_PROPS, "artwork context")

    def _entities(self) -> set[str]:
        """Every entity of the graph: subjects and objects of direct properties, context objects."""
        entities = {self.redirects.get(e, e) for e in self._context_objects}
        for t in self.triples:
            pred = t.predicate.value
            if isinstance(t.subject, ox.NamedNode) and pred.startswith(S.WDT) and pred not in (
                    S.INSTANCE_OF, S.SUBCLASS_OF):
                entities.add(t.subject.value)
                if isinstance(t.object, ox.NamedNode) and pred != S.WDT + "P18":
                    entities.add(t.object.value)
        return entities

    def labels(self) -> None:
        """Labels (requested languages, then ``mul``, then any) and descriptions for every entity."""
        entities = sorted(self._entities(), key=_natural_key)
        langs = ", ".join(sparql_string(lang) for lang in dict.fromkeys((*self.config.languages, "mul")))
        desc_langs = ", ".join(sparql_string(lang) for lang in self.config.languages)
        for batch in self._batches(entities, "labels"):
            rows = self._select_batched(batch, lambda b: (
                f"SELECT ?e ?p ?text WHERE {{\n  {values_block('e', [sparql_iri(i) for i in b])}\n"
                "  { ?e rdfs:label ?text . BIND(rdfs:label AS ?p) " f"FILTER(LANG(?text) IN ({langs})) }}\n"
                "  UNION { ?e schema:description ?text . BIND(schema:description AS ?p) "
                f"FILTER(LANG(?text) IN ({desc_langs})) }}\n}}"))
            for r in rows:
                self.triples.add(term_from_binding(r["e"]), r["p"]["value"], term_from_binding(r["text"]))
        self.labels_any_language(entities)


def _natural_key(iri: str) -> tuple:
    name = S.local_name(iri)
    digits = re.sub(r"\D", "", name)
    return (re.sub(r"\d", "", name), int(digits) if digits else 0, iri)


def read_seeds_file(path: str | Path) -> list[str]:
    """One seed per line (QID, IRI or label); blank lines and ``#`` comments are ignored."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read seeds file {path}: {exc}", "give a UTF-8 text file, one seed per line") from None
    return [line.split("#", 1)[0].strip() for line in text.splitlines() if line.split("#", 1)[0].strip()]
