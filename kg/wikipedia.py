"""Wikipedia introductions for class nodes (styles, genres, movements, subjects), as GraphCLIP does.

Wikidata's one-line descriptions say little about a style; the introduction of its Wikipedia
article says what it looks like. For each class item the article comes from its sitelink — in
Wikidata's RDF ``?article schema:about ?item ; schema:isPartOf <https://en.wikipedia.org/>`` —
and its introduction from the Wikipedia REST summary endpoint
``https://{lang}.wikipedia.org/api/rest_v1/page/summary/{title}`` (the ``extract`` field).

Polite like :mod:`artkg.kg.sparql`: one request at a time, a User-Agent naming artkg with a
contact (``ARTKG_USER_AGENT`` replaces it), retries with backoff that wait at least ``Retry-After``
on 429/503, and every answer — a missing article too — cached on disk, so a rebuild (or
``--offline``) needs no network. The summaries become ``<item> akg:wikipediaSummary "…"@lang``
triples, kept per node in ``nodes.json`` (``summary``) and read by the text encoder.
"""
from __future__ import annotations

import hashlib
import json
import logging
import re
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, unquote

import pyoxigraph as ox
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt

from artkg.kg import schema as S
from artkg.kg.atomic import write_bytes
from artkg.kg.errors import EndpointError, InputError
from artkg.kg.sparql import USER_AGENT as SPARQL_USER_AGENT
from artkg.kg.sparql import _describe, _exponential_jitter, _is_transient, _retry_after_seconds, sparql_iri, values_block

log = logging.getLogger("artkg")

SCHEMA_ABOUT = "http://schema.org/about"
SCHEMA_IS_PART_OF = "http://schema.org/isPartOf"
USER_AGENT = SPARQL_USER_AGENT.replace(" SPARQLWrapper", "")
#: node types that are classes: what their Wikipedia introduction describes
CLASS_TYPES = ("style", "genre", "movement", "subject")
_LANG = re.compile(r"^[a-z]{2,3}(-[a-z0-9]{1,10})*$")


def check_lang(lang: str) -> str:
    """A Wikipedia language code (``en``, ``fr``, ``zh-yue`` …), or an InputError."""
    if not isinstance(lang, str) or not _LANG.match(lang):
        raise InputError(f"invalid Wikipedia language {lang!r}", "use a Wikipedia language code such as en, fr or de")
    return lang


def site_iri(lang: str) -> str:
    """The ``schema:isPartOf`` object of a Wikipedia sitelink in Wikidata's RDF."""
    return f"https://{check_lang(lang)}.wikipedia.org/"


def title_of(article_iri: str) -> str:
    """``https://en.wikipedia.org/wiki/Art_Nouveau`` → ``Art Nouveau``."""
    return unquote(article_iri.rsplit("/wiki/", 1)[-1]).replace("_", " ")


@dataclass
class WikipediaClient:
    """Fetches page summaries from one Wikipedia's REST API, caching each answer on disk.

    ``base_url`` replaces ``https://{lang}.wikipedia.org`` (a mirror, or a local test server).
    """

    lang: str = "en"
    cache_dir: Path | None = None
    base_url: str | None = None
    user_agent: str = USER_AGENT
    timeout: float = 30.0
    max_tries: int = 5
    backoff_initial: float = 1.0
    backoff_max: float = 60.0
    max_retry_after: float = 900.0
    offline: bool = False
    stats: dict = field(default_factory=lambda: {"network": 0, "cached": 0, "retries": 0, "missing": 0})

    def __post_init__(self) -> None:
        check_lang(self.lang)
        self.base_url = (self.base_url or f"https://{self.lang}.wikipedia.org").rstrip("/")
        if self.cache_dir is not None:
            self.cache_dir = Path(self.cache_dir)
            self.cache_dir.mkdir(parents=True, exist_ok=True)
        self._fallback_wait = _exponential_jitter(self.backoff_initial, self.backoff_max)

    def url(self, title: str) -> str:
        return f"{self.base_url}/api/rest_v1/page/summary/{quote(title.replace(' ', '_'), safe='')}"

    def summary(self, title: str) -> dict | None:
        """The REST summary of the article ``title`` (``None``: no such article)."""
        url = self.url(title)
        key = hashlib.sha256(f"{self.lang}\n{title}".encode()).hexdigest()  # the article, whichever mirror served it
        cached = None if self.cache_dir is None else self.cache_dir / f"{key}.json"
        if cached is not None and cached.exists():
            try:
                self.stats["cached"] += 1
                return json.loads(cached.read_bytes())["summary"]
            except (ValueError, KeyError):
                log.warning("cached Wikipedia answer %s is corrupt; fetching it again", cached.name)
        if self.offline:
            raise EndpointError(f"the Wikipedia summary of {title!r} is not in the cache and --offline forbids "
                                "the network", "rerun without --offline, or without --wikipedia-lang")
        result = self._fetch_with_retries(url)
        if result is None:
            self.stats["missing"] += 1
        if cached is not None:
            write_bytes(cached, json.dumps({"url": url, "summary": result}, ensure_ascii=False).encode("utf-8"))
        return result

    def extract(self, title: str) -> str | None:
        """The introduction's plain text; ``None`` for a missing article or a disambiguation page."""
        page = self.summary(title)
        if not page or page.get("type") == "disambiguation":
            return None
        text = (page.get("extract") or "").strip()
        return text or None

    # ----------------------------------------------------------------- private
    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        retry_after = _retry_after_seconds(exc) if exc is not None else None
        if retry_after is None:
            return self._fallback_wait(state)
        if retry_after > self.max_retry_after:
            raise EndpointError(f"{self.base_url} asks to wait {retry_after:.0f} s before the next request",
                                "try again later; cached answers are kept, so the rerun resumes")
        return max(retry_after, 0.0)

    def _before_sleep(self, state: RetryCallState) -> None:
        self.stats["retries"] += 1
        log.warning("Wikipedia try %d at %s failed (%s); waiting %.1f s", state.attempt_number, self.base_url,
                    _describe(state.outcome.exception()), state.next_action.sleep)

    def _fetch_with_retries(self, url: str) -> dict | None:
        retrying = Retrying(retry=retry_if_exception(_is_transient), wait=self._wait,
                            stop=stop_after_attempt(self.max_tries), before_sleep=self._before_sleep, reraise=True)
        try:
            return retrying(self._fetch_once, url)
        except EndpointError:
            raise
        except urllib.error.HTTPError as exc:
            raise EndpointError(f"Wikipedia at {self.base_url} answered HTTP {exc.code} for {url}",
                                "try again later, or build without --wikipedia-lang") from exc
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise EndpointError(f"cannot read Wikipedia summaries from {self.base_url} ({_describe(exc)})",
                                "check the network, or build without --wikipedia-lang") from exc

    def _fetch_once(self, url: str) -> dict | None:
        request = urllib.request.Request(url, headers={"User-Agent": self.user_agent, "Accept": "application/json"})
        self.stats["network"] += 1
        log.debug("Wikipedia GET %s", url)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                return None  # no such article: cached like an answer
            raise


def class_items(triples) -> list[str]:
    """Wikidata items at the class end (style, genre, movement, subject) of an edge whose target is
    always a class (P135, P136, P180, akg:style …; not P737, whose targets are mostly artists)."""
    preds = {pred for pred, specs in S.EDGES_BY_PREDICATE.items()
             if specs and all(spec.dst.value in CLASS_TYPES for spec in specs)}
    found = {t.object.value for t in triples
             if t.predicate.value in preds and isinstance(t.object, ox.NamedNode)
             and t.object.value.startswith(S.WD)}
    return sorted(found)


def sitelinks(select, items: list[str], lang: str, batch_size: int = 50) -> dict[str, str]:
    """Item IRI → article title on ``lang`` Wikipedia, from ``schema:about`` / ``schema:isPartOf``.

    ``select`` runs a SPARQL SELECT (e.g. :meth:`SparqlClient.select`) and returns SPARQL JSON."""
    site = site_iri(lang)
    titles: dict[str, str] = {}
    for start in range(0, len(items), batch_size):
        batch = items[start:start + batch_size]
        query = ("SELECT ?item ?article WHERE {\n"
                 f"  {values_block('item', [sparql_iri(i) for i in batch])}\n"
                 f"  ?article <{SCHEMA_ABOUT}> ?item ; <{SCHEMA_IS_PART_OF}> {sparql_iri(site)} .\n}}")
        for row in select(query)["results"]["bindings"]:
            if row.get("article", {}).get("type") == "uri":
                titles.setdefault(row["item"]["value"], title_of(row["article"]["value"]))
    return titles


def add_class_summaries(triples, select, client: WikipediaClient, batch_size: int = 50) -> dict:
    """Add ``<item> akg:wikipediaSummary "introduction"@lang`` for every class item of ``triples``
    with an article on ``client.lang`` Wikipedia; returns counts (and what had none, for the summary)."""
    items = class_items(triples)
    titles = sitelinks(select, items, client.lang, batch_size)
    predicate = ox.NamedNode(S.WIKIPEDIA_SUMMARY)
    added, missing = 0, []
    for item in items:
        title = titles.get(item)
        text = client.extract(title) if title else None
        if text is None:
            missing.append(f"{item}" + (f" ({title})" if title else " (no sitelink)"))
            continue
        triples.add(ox.NamedNode(item), predicate, ox.Literal(text, language=client.lang))
        added += 1
    log.info("Wikipedia (%s): %d of %d class items have an introduction (%d requests, %d cached)",
             client.lang, added, len(items), client.stats["network"], client.stats["cached"])
    return {"lang": client.lang, "class_items": len(items), "summaries": added, "without": missing}
