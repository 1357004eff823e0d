"""The SPARQL client and the helpers that keep user text out of query syntax (:mod:`artkg.kg.sparql`).

Round trips go through a real Oxigraph server on 127.0.0.1 (``world_server``): a string is sent
inside a query and must come back unchanged, which proves the escaping is what the server parses.
"""
from __future__ import annotations

import email.message
import email.utils
import hashlib
import json
import time
import urllib.error

import pytest

from artkg.kg.errors import EndpointError, InputError
from artkg.kg.sparql import (
    MalformedResponse,
    SparqlClient,
    _parse_results,
    _retry_after_seconds,
    binding_rows,
    query_hash,
    sparql_iri,
    sparql_string,
    values_block,
)

NASTY_STRINGS = [
    "plain",
    'Jean "Le Grand" O\'Brien {II}',
    'x"} . ?s ?p ?o . #',
    'x" . } UNION { ?s ?p ?o } #',
    "back\\slash \\\" and \\u0022 and \\n (literally)",
    "line one\nline two\r\n\ttabbed\b\f",
    "Ünïcödé — 北斎 🎨",
    "'''triple single''' and \"\"\"triple double\"\"\"",
    "<http://example.org/not-an-iri> ; }",
    "",
]


# ---------------------------------------------------------------- pure helpers
def test_sparql_string_escapes_quotes_backslashes_and_controls():
    assert sparql_string("plain") == '"plain"'
    assert sparql_string('a"b') == '"a\\"b"'
    assert sparql_string("a\\b") == '"a\\\\b"'
    assert sparql_string("a\nb\rc\td") == '"a\\nb\\rc\\td"'
    assert sparql_string("Claude Monet", "en") == '"Claude Monet"@en'
    assert sparql_string("x", "pt-BR") == '"x"@pt-BR'
    for text in NASTY_STRINGS:
        literal = sparql_string(text)
        body = literal[1:-1]
        # No unescaped quote and no raw line break can end the literal early.
        assert '"' not in body.replace('\\\\', '').replace('\\"', '')
        assert "\n" not in literal and "\r" not in literal


@pytest.mark.parametrize("lang", ["", "en fr", 'en"', "en}", "123456789", "en--x"])
def test_sparql_string_refuses_bad_language_tags(lang):
    with pytest.raises(InputError, match="language tag"):
        sparql_string("x", lang)


def test_sparql_iri_accepts_absolute_iris():
    assert sparql_iri("http://www.wikidata.org/entity/Q296") == "<http://www.wikidata.org/entity/Q296>"
    assert sparql_iri("urn:isbn:0451450523") == "<urn:isbn:0451450523>"
    assert sparql_iri("https://w3id.org/artkg/synth/7/artist/A0005") == "<https://w3id.org/artkg/synth/7/artist/A0005>"


@pytest.mark.parametrize("iri", [
    "http://example.org/a>b",
    "http://example.org/a> . ?s ?p ?o . <x:y",
    "http://example.org/a b",
    "http://example.org/a\tb",
    "http://example.org/a\nb",
    'http://example.org/"quoted"',
    "http://example.org/{x}",
    "http://example.org/a<b",
    "http://example.org/a|b",
    "http://example.org/a\\b",
    "http://example.org/a^b",
    "http://example.org/a`b",
    "no-colon-so-relative",
    "",
])
def test_sparql_iri_refuses_what_could_close_the_iri(iri):
    with pytest.raises(InputError, match="not a usable IRI"):
        sparql_iri(iri)


def test_values_block_and_query_hash():
    assert values_block("e", ["<x:a>", '"b"@en']) == 'VALUES ?e { <x:a> "b"@en }'
    assert query_hash("http://e/q", "SELECT 1") == hashlib.sha256(b"http://e/q\nSELECT 1").hexdigest()
    assert query_hash("http://e/q", "SELECT 1") != query_hash("http://f/q", "SELECT 1")


def test_parse_results_refuses_truncated_or_foreign_json():
    good = json.dumps({"head": {"vars": ["x"]}, "results": {"bindings": []}}).encode()
    assert binding_rows(_parse_results(good)) == []
    for bad in (good[: len(good) // 2], b"", b"<html>busy</html>", b'{"results": {}}', b"[]", b"\xff\xfe"):
        with pytest.raises(MalformedResponse):
            _parse_results(bad)


def test_retry_after_header_in_seconds_and_as_http_date():
    def error(value):
        headers = email.message.Message()
        if value is not None:
            headers["Retry-After"] = value
        return urllib.error.HTTPError("http://e/q", 429, "Too Many Requests", headers, None)

    assert _retry_after_seconds(error("7")) == 7.0
    assert _retry_after_seconds(error(" 2 ")) == 2.0
    assert _retry_after_seconds(error(None)) is None
    assert _retry_after_seconds(error("soon")) is None
    when = email.utils.formatdate(time.time() + 30, usegmt=True)
    assert 25 <= _retry_after_seconds(error(when)) <= 31
    past = email.utils.formatdate(time.time() - 300, usegmt=True)
    assert _retry_after_seconds(error(past)) == 0.0
    assert _retry_after_seconds(ValueError("no headers")) is None


# ---------------------------------------------------------------- against a real server
@pytest.mark.parametrize("text", NASTY_STRINGS)
def test_string_round_trips_through_the_server(world_server, tmp_path, text):
    client = SparqlClient(endpoint=world_server.query_url, cache_dir=tmp_path, timeout=10)
    rows = binding_rows(client.select(f"SELECT ?x WHERE {{ BIND({sparql_string(text, 'en')} AS ?x) }}"))
    assert len(rows) == 1
    assert rows[0]["x"]["value"] == text
    assert rows[0]["x"]["xml:lang"] == "en"


def test_injection_in_a_literal_matches_nothing(world_server, tmp_path):
    """The world has thousands of labels; a 'label' that tries to break out of the literal finds none."""
    client = SparqlClient(endpoint=world_server.query_url, cache_dir=tmp_path, timeout=10)
    total = binding_rows(client.select(
        "SELECT (COUNT(*) AS ?n) WHERE { ?s <http://www.w3.org/2000/01/rdf-schema#label> ?l }"))
    assert int(total[0]["n"]["value"]) > 500
    for text in ('x"@en } UNION { ?s ?p ?name } #', 'x"} . ?s ?p ?o . #'):
        rows = binding_rows(client.select(
            f"SELECT ?s WHERE {{ ?s <http://www.w3.org/2000/01/rdf-schema#label> {sparql_string(text, 'en')} }}"))
        assert rows == []


def test_iri_round_trips_through_the_server(world_server, tmp_path):
    client = SparqlClient(endpoint=world_server.query_url, cache_dir=tmp_path, timeout=10)
    iri = "https://w3id.org/artkg/synth/7/artist/A0005"
    rows = binding_rows(client.select(f"SELECT ?x WHERE {{ BIND({sparql_iri(iri)} AS ?x) }}"))
    assert rows == [{"x": {"type": "uri", "value": iri}}]


def test_client_caches_by_endpoint_and_query(world_server, tmp_path):
    client = SparqlClient(endpoint=world_server.query_url, cache_dir=tmp_path, timeout=10)
    query = "SELECT ?s WHERE { ?s <http://www.wikidata.org/prop/direct/P737> ?o } ORDER BY ?s LIMIT 3"
    first = client.select(query)
    assert client.stats == {"network": 1, "cached": 0, "retries": 0}
    cache_file = tmp_path / f"{query_hash(world_server.query_url, query)}.json"
    assert cache_file.is_file() and json.loads(cache_file.read_bytes()) == first
    assert client.cache_key(query) == cache_file.stem
    assert client.select(query) == first
    assert client.stats == {"network": 1, "cached": 1, "retries": 0}
    assert len(binding_rows(first)) == 3

    # Offline: a hit is served, a miss is a clear error that names the cure.
    offline = SparqlClient(endpoint=world_server.query_url, cache_dir=tmp_path, offline=True)
    assert offline.select(query) == first
    with pytest.raises(EndpointError, match="not in the cache and --offline forbids the network") as info:
        offline.select(query + " # another query")
    assert "rerun without --offline" in str(info.value)
    assert offline.stats["network"] == 0

    # A corrupt cache entry is fetched again and rewritten.
    cache_file.write_bytes(cache_file.read_bytes()[:20])
    again = SparqlClient(endpoint=world_server.query_url, cache_dir=tmp_path, timeout=10)
    assert again.select(query) == first
    assert again.stats == {"network": 1, "cached": 0, "retries": 0}
    assert json.loads(cache_file.read_bytes()) == first


def test_no_cache_dir_means_every_query_goes_out(world_server):
    client = SparqlClient(endpoint=world_server.query_url, cache_dir=None, timeout=10)
    for _ in range(2):
        client.select("SELECT * WHERE { } LIMIT 1")
    assert client.stats["network"] == 2 and client.stats["cached"] == 0


def test_wrong_path_is_a_404_that_points_at_endpoint(world_server, tmp_path):
    url = world_server.base_url + "/no-sparql-here"
    client = SparqlClient(endpoint=url, cache_dir=tmp_path, timeout=10, max_tries=3, backoff_initial=0.05)
    with pytest.raises(EndpointError) as info:
        client.select("SELECT * WHERE { } LIMIT 1")
    message = str(info.value)
    assert url in message and "HTTP 404" in message and "--endpoint" in message
    assert "artkg bug" not in message
    assert client.stats["network"] == 1, "a 404 is not retried"
    assert not list(tmp_path.iterdir()), "nothing is cached for a failed query"


def test_syntax_error_is_a_400_not_retried(world_server, tmp_path):
    client = SparqlClient(endpoint=world_server.query_url, cache_dir=tmp_path, timeout=10, max_tries=3,
                          backoff_initial=0.05)
    with pytest.raises(EndpointError, match="HTTP 400"):
        client.select("SELECT ?s WHERE { ?s ?p ")
    assert client.stats["network"] == 1 and client.stats["retries"] == 0


def test_server_that_cannot_start_says_why_and_cleans_up():
    """`oxigraph serve` on a busy port: the error names the reason, the temporary store is removed."""
    import socket

    from artkg.kg.server import OxigraphServer

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        server = OxigraphServer(port=busy.getsockname()[1], startup_timeout=20)
        with pytest.raises(RuntimeError, match="exited with code .*Address already in use"):
            server.start()
    assert not server.location.exists(), "the temporary store of a server that never started must go"
    assert server.process is None
