"""A polite, caching SPARQL client and the helpers that keep user text out of query syntax.

Politeness towards public endpoints (Wikidata's rules): one query at a time, a User-Agent that
names artkg with a contact, a client timeout just above the service's 60 s limit, and on
HTTP 429/503 a wait of at least ``Retry-After`` before the next try. Every raw response is cached
on disk under ``sha256(endpoint + query)`` so a rerun needs no network and an interrupted build
resumes where it stopped.
"""
from __future__ import annotations

import email.utils
import hashlib
import http.client
import json
import logging
import math
import os
import re
import socket
import time
import urllib.error
from dataclasses import dataclass, field
from pathlib import Path

from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt, wait_exponential_jitter

from artkg._version import __version__
from artkg.kg.atomic import write_bytes
from artkg.kg.errors import EndpointError, InputError

log = logging.getLogger("artkg")

WIKIDATA_ENDPOINT = "https://query.wikidata.org/sparql"
# Wikimedia's policy asks for a User-Agent that names the tool and a way to reach its operator:
# set ARTKG_USER_AGENT (e.g. "my-museum-lab/1.0 (me@example.org) artkg") to identify yourself.
USER_AGENT = os.environ.get("ARTKG_USER_AGENT") or (
    f"artkg/{__version__} (https://github.com/artkg/artkg; artkg-maintainers@googlegroups.com) "
    "SPARQLWrapper"
)
# 500 is how a WDQS query timeout comes back (the body names java.util.concurrent.TimeoutException):
# the same query would time out again, so it is not retried as it is (:class:`QueryTimeout`; the
# crawler splits its VALUES batch instead). Other 500s are retried like 502–504.
TRANSIENT_HTTP = {429, 500, 502, 503, 504}
TIMEOUT_HTTP = 500
_TIMEOUT_BODY = re.compile(rb"TimeoutException|timed? ?out|timeout", re.IGNORECASE)
# SPARQLWrapper raises its own exceptions for these statuses instead of urllib's HTTPError.
_SPARQLWRAPPER_STATUS = {"QueryBadFormed": 400, "Unauthorized": 401, "EndPointNotFound": 404,
                         "URITooLong": 414, "EndPointInternalError": 500}

_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t", "\b": "\\b", "\f": "\\f"}
_IRI_FORBIDDEN = re.compile(r'[\x00-\x20<>"{}|^`\\]')
QID = re.compile(r"^Q[1-9][0-9]*$")


def sparql_string(text: str, lang: str | None = None) -> str:
    """``text`` as a SPARQL string literal: quotes, backslashes and control characters escaped."""
    body = "".join(_ESCAPES.get(ch, ch) for ch in text)
    if lang is not None and not re.fullmatch(r"[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8})*", lang):
        raise InputError(f"invalid language tag {lang!r}", "use a BCP-47 tag such as en or fr")
    return f'"{body}"' + (f"@{lang}" if lang else "")


def sparql_iri(iri: str) -> str:
    """``iri`` as ``<iri>``; refuses characters that could close the IRI and change the query."""
    if not iri or _IRI_FORBIDDEN.search(iri) or ":" not in iri:
        raise InputError(f"not a usable IRI: {iri!r}", "give an absolute IRI such as http://www.wikidata.org/entity/Q296")
    return f"<{iri}>"


def values_block(var: str, terms: list[str]) -> str:
    """A ``VALUES ?var { … }`` block from already-escaped terms."""
    return f"VALUES ?{var} {{ " + " ".join(terms) + " }"


def query_hash(endpoint: str, query: str) -> str:
    return hashlib.sha256(f"{endpoint}\n{query}".encode()).hexdigest()


class QueryTimeout(EndpointError):
    """The endpoint answered HTTP 500, how a query timeout comes back from WDQS: ask less at once."""


class MalformedResponse(Exception):
    """The endpoint answered 200 but the body is not a SPARQL JSON result (truncated or garbled)."""


def _retry_after_seconds(exc: BaseException) -> float | None:
    headers = getattr(exc, "headers", None)
    value = headers.get("Retry-After") if headers is not None else None
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:  # HTTP-date form
        when = email.utils.parsedate_to_datetime(value)
        return max(0.0, when.timestamp() - time.time())
    except (TypeError, ValueError):
        return None


def _exponential_jitter(initial: float, maximum: float) -> wait_exponential_jitter:
    # Jitter scales with the first wait, so a fast test backoff is not padded by a second of noise.
    return wait_exponential_jitter(multiplier=initial, max=maximum, jitter=initial)


def _is_query_timeout(exc: BaseException) -> bool:
    return (isinstance(exc, urllib.error.HTTPError) and exc.code == TIMEOUT_HTTP
            and bool(_TIMEOUT_BODY.search(getattr(exc, "body", b"") or b"")))


def _is_transient(exc: BaseException) -> bool:
    if isinstance(exc, urllib.error.HTTPError):
        return exc.code in TRANSIENT_HTTP and not _is_query_timeout(exc)
    return isinstance(exc, (urllib.error.URLError, socket.timeout, TimeoutError, ConnectionError,
                            http.client.HTTPException, MalformedResponse))


@dataclass
class SparqlClient:
    """Sends SELECT queries to one endpoint, caching each raw JSON response on disk.

    ``offline=True`` answers only from the cache (a miss is an error), which makes a rebuild
    reproducible without any network.
    """

    endpoint: str = WIKIDATA_ENDPOINT
    cache_dir: Path | None = None
    user_agent: str = USER_AGENT
    timeout: float = 65.0
    max_tries: int = 6
    backoff_initial: float = 1.0
    backoff_max: float = 60.0
    max_retry_after: float = 900.0
    offline: bool = False
    stats: dict = field(default_factory=lambda: {"network": 0, "cached": 0, "retries": 0})

    def __post_init__(self) -> None:
        if self.cache_dir is not None:
            self.cache_dir = Path(self.cache_dir)
            self.cache_dir.mkdir(parents=True, exist_ok=True)
        self._fallback_wait = _exponential_jitter(self.backoff_initial, self.backoff_max)

    # ------------------------------------------------------------------ public
    def select(self, query: str) -> dict:
        """Run a SELECT query and return the parsed SPARQL JSON result."""
        key = query_hash(self.endpoint, query)
        cached = self._cache_file(key)
        if cached is not None and cached.exists():
            try:
                result = _parse_results(cached.read_bytes())
                self.stats["cached"] += 1
                return result
            except MalformedResponse:
                log.warning("cached response %s is corrupt; fetching it again", cached.name)
        if self.offline:
            raise EndpointError(
                f"query {key[:12]} is not in the cache and --offline forbids the network",
                "rerun without --offline, or give --out the directory of an earlier build with the same options",
            )
        raw, result = self._fetch_with_retries(query)
        if cached is not None:
            write_bytes(cached, raw)
        return result

    def cache_key(self, query: str) -> str:
        return query_hash(self.endpoint, query)

    # ----------------------------------------------------------------- private
    def _cache_file(self, key: str) -> Path | None:
        return None if self.cache_dir is None else self.cache_dir / f"{key}.json"

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        fallback = self._fallback_wait(state)
        retry_after = _retry_after_seconds(exc) if exc is not None else None
        if retry_after is None:
            return fallback
        if retry_after > self.max_retry_after:
            raise EndpointError(
                f"{self.endpoint} asks to wait {retry_after:.0f} s before the next query",
                "try again later; cached answers are kept, so the rerun resumes",
            )
        return max(retry_after, 0.0)

    def _before_sleep(self, state: RetryCallState) -> None:
        self.stats["retries"] += 1
        exc = state.outcome.exception()
        log.warning("SPARQL try %d at %s failed (%s); waiting %.1f s",
                    state.attempt_number, self.endpoint, _describe(exc), state.next_action.sleep)

    def _fetch_with_retries(self, query: str) -> tuple[bytes, dict]:
        retrying = Retrying(
            retry=retry_if_exception(_is_transient),
            wait=self._wait,
            stop=stop_after_attempt(self.max_tries),
            before_sleep=self._before_sleep,
            reraise=True,
        )
        try:
            return retrying(self._fetch_once, query)
        except EndpointError:
            raise
        except urllib.error.HTTPError as exc:
            if _is_query_timeout(exc):
                raise QueryTimeout(
                    f"SPARQL endpoint {self.endpoint} answered HTTP 500 (the query timed out)",
                    "lower --batch-size, or try again later; cached answers are kept") from exc
            raise EndpointError(
                f"SPARQL endpoint {self.endpoint} answered HTTP {exc.code} ({exc.reason})",
                _endpoint_fix(exc.code),
            ) from exc
        except MalformedResponse as exc:
            raise EndpointError(
                f"SPARQL endpoint {self.endpoint} returned malformed JSON ({exc}) after {self.max_tries} tries",
                "the answer was truncated or is not SPARQL JSON; check --endpoint or retry later",
            ) from exc
        except Exception as exc:  # URLError, timeouts, connection resets, SPARQLWrapper errors
            if _is_transient(exc):
                raise EndpointError(
                    f"cannot reach SPARQL endpoint {self.endpoint} after {self.max_tries} tries ({_describe(exc)})",
                    "check --endpoint URL, or try the offline world with `make demo`",
                ) from exc
            raise EndpointError(f"SPARQL endpoint {self.endpoint} rejected the query ({_describe(exc)})",
                                "report this as an artkg bug with the query from --verbose") from exc

    def _fetch_once(self, query: str) -> tuple[bytes, dict]:
        from SPARQLWrapper import JSON, POST, SPARQLWrapper  # lazy: only builds that query need it
        from SPARQLWrapper.SPARQLExceptions import SPARQLWrapperException

        client = SPARQLWrapper(self.endpoint, agent=self.user_agent)
        client.setQuery(query)
        client.setMethod(POST)  # long VALUES blocks exceed URL limits on GET
        client.setReturnFormat(JSON)
        # SPARQLWrapper keeps whole seconds and treats 0 as "no timeout": never round down to 0.
        client.setTimeout(max(1, math.ceil(self.timeout)))
        self.stats["network"] += 1
        log.debug("SPARQL %s\n%s", self.endpoint, query)
        try:
            response = client.query().response
        except SPARQLWrapperException as exc:
            code = _SPARQLWRAPPER_STATUS.get(type(exc).__name__)
            if code is None:
                raise
            # Give the HTTP status (and headers) back, so that 500 is retried like 502–504 and a 404
            # says "check --endpoint" instead of "report this as an artkg bug".
            headers = getattr(exc.__context__, "headers", None)
            error = urllib.error.HTTPError(self.endpoint, code, http.client.responses.get(code, "error"),
                                           headers, None)
            error.body = str(exc).encode("utf-8", "replace")  # holds the response body: a timeout says so
            raise error from exc
        raw = response.read()
        return raw, _parse_results(raw)


def _parse_results(raw: bytes) -> dict:
    try:
        result = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise MalformedResponse(f"{exc.__class__.__name__} at byte {getattr(exc, 'pos', '?')}") from None
    if not isinstance(result, dict) or not isinstance(result.get("results", {}).get("bindings"), list):
        raise MalformedResponse("no results.bindings list")
    return result


def _describe(exc: BaseException | None) -> str:
    if exc is None:
        return "unknown error"
    if isinstance(exc, urllib.error.HTTPError):
        return f"HTTP {exc.code}"
    if isinstance(exc, urllib.error.URLError):
        return str(exc.reason)
    text = str(exc).splitlines()[0] if str(exc) else ""
    return f"{exc.__class__.__name__}: {text}"[:200]


def _endpoint_fix(code: int) -> str:
    if code == 429:
        return "the endpoint is rate-limiting this client; wait and rerun (cached answers are kept)"
    if code in (400, 414):
        return "the query was refused; lower --batch-size, or report this as an artkg bug"
    if code == 404:
        return "check the --endpoint URL (Oxigraph serves SPARQL at /query)"
    return "check --endpoint, or try again later"


def binding_rows(result: dict) -> list[dict]:
    """The bindings of a SPARQL JSON result."""
    return result["results"]["bindings"]
