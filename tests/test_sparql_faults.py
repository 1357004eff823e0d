"""Faults on the SPARQL path: rate limits, server errors, truncated answers, a server that dies mid-build.

A scripted HTTP proxy (:mod:`tests._proxy`) stands between ``kgbuild wikidata`` and a real Oxigraph
server on 127.0.0.1; nothing on the SPARQL path is mocked. Backoff is small (``backoff_initial=0.05``,
``max_tries=3``) so the whole file runs in seconds.
"""
from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from artkg.kg.builders import build_graph
from artkg.kg.errors import EndpointError
from artkg.kg.graph import load_graph
from artkg.kg.server import OxigraphServer, free_port
from artkg.kg.wikidata import WikidataConfig

from _proxy import ScriptedProxy, always, first  # tests/ is on sys.path (rootdir-relative test modules)
from conftest import fast_crawl_config

KGBUILD = str(Path(sys.executable).parent / "kgbuild")


def _config(endpoint: str, **overrides) -> WikidataConfig:
    return fast_crawl_config(endpoint, **{"hops": 1, "timeout": 5, **overrides})


@pytest.fixture(scope="module")
def seeds(small_world) -> list[str]:
    """The artist with the most planted influencers (ties: lowest IRI) and the artist labelled with quotes."""
    truth = json.loads((small_world / "ground_truth.json").read_text(encoding="utf-8"))
    best = sorted(truth["artists"], key=lambda a: (-len(a["influencers"]), a["iri"]))[0]
    return [best["iri"], truth["quote_artist"]["iri"]]


@pytest.fixture(scope="module")
def reference(world_server, seeds, tmp_path_factory) -> dict:
    """The same build straight against the server, without the proxy."""
    out = tmp_path_factory.mktemp("reference") / "graph"
    manifest = build_graph("wikidata", out, seeds=seeds, config=_config(world_server.query_url), progress=False)
    assert manifest["requests"]["retries"] == 0
    return {"out": out, "manifest": manifest, "nt": (out / "graph.nt").read_bytes(),
            "queries": manifest["requests"]["network"]}


def _build(out: Path, seeds: list[str], endpoint: str, **overrides) -> dict:
    return build_graph("wikidata", out, seeds=seeds, config=_config(endpoint, **overrides), progress=False)


def _snapshot(root: Path) -> dict[str, bytes]:
    """Every finished-graph file (not the raw cache) by relative path."""
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and p.relative_to(root).parts[0] != "raw"}


# ---------------------------------------------------------------- transient faults are retried
def test_429_waits_for_retry_after(world_server, seeds, reference, tmp_path):
    with ScriptedProxy(world_server.base_url, first(1, "429"), retry_after="1") as proxy:
        t0 = time.monotonic()
        manifest = _build(tmp_path / "g", seeds, proxy.query_url)
        elapsed = time.monotonic() - t0
    (t_429, action_429, status), (t_next, action_next, _) = proxy.log[:2]
    assert (action_429, status, action_next) == ("429", 429, "forward")
    assert t_next - t_429 >= 1.0, "the client must wait at least Retry-After before the next try"
    assert elapsed >= 1.0
    assert manifest["requests"]["retries"] >= 1
    assert manifest["requests"]["network"] == proxy.requests == reference["queries"] + 1
    assert (tmp_path / "g" / "graph.nt").read_bytes() == reference["nt"]


@pytest.mark.parametrize("fault", ["503", "500", "truncate", "drop"])
def test_one_fault_then_success(world_server, seeds, reference, tmp_path, fault):
    def script(n: int, proxy: ScriptedProxy) -> str:  # fault the third request (mid-crawl), forward the rest
        return fault if n == 3 else "forward"

    with ScriptedProxy(world_server.base_url, script) as proxy:
        manifest = _build(tmp_path / "g", seeds, proxy.query_url)
    assert proxy.actions()[2] == fault
    assert manifest["requests"]["retries"] == 1
    assert manifest["requests"]["network"] == reference["queries"] + 1
    assert manifest["counts"] == reference["manifest"]["counts"]
    assert (tmp_path / "g" / "graph.nt").read_bytes() == reference["nt"]
    cached = {p.stem for p in (tmp_path / "g" / "raw").glob("*.json")}
    assert cached == set(manifest["queries"]), "exactly the good answers are cached"


# ---------------------------------------------------------------- query timeouts (HTTP 500 on WDQS)
def test_timeout_splits_the_values_batch_instead_of_retrying(world_server, seeds, reference, tmp_path):
    """The first query (both seeds in one VALUES batch) times out: its halves are asked, once each."""
    with ScriptedProxy(world_server.base_url, first(1, "timeout")) as proxy:
        manifest = _build(tmp_path / "g", seeds, proxy.query_url)
    assert proxy.actions()[:3] == ["timeout", "forward", "forward"]
    assert manifest["requests"]["retries"] == 0, "the query that timed out is never sent again as it was"
    assert manifest["requests"]["network"] == reference["queries"] + 2  # the 500 and two halves for one
    assert len(manifest["queries"]) == len(reference["manifest"]["queries"]) + 1
    assert (tmp_path / "g" / "graph.nt").read_bytes() == reference["nt"]


def test_timeout_of_one_entity_fails_in_one_line_without_retrying(world_server, seeds, tmp_path):
    with ScriptedProxy(world_server.base_url, always("timeout")) as proxy:
        with pytest.raises(EndpointError) as info:
            _build(tmp_path / "g", seeds, proxy.query_url)
    assert proxy.requests == 2, "the batch of two, then its first half alone: no query is sent twice"
    message = str(info.value)
    assert "answered HTTP 500 (the query timed out)" in message and "alone" in message and "--batch-size" in message
    assert "\n" not in message


@pytest.mark.parametrize("status", ["503", "500"])
def test_other_server_errors_are_retried_a_bounded_number_of_times(world_server, seeds, tmp_path, status):
    """503, and a 500 that is no timeout: the same query max_tries times, then one clear error."""
    with ScriptedProxy(world_server.base_url, always(status)) as proxy:
        with pytest.raises(EndpointError) as info:
            _build(tmp_path / "g", seeds, proxy.query_url)
    assert proxy.requests == 3, "max_tries attempts of the same query, then give up"
    assert f"answered HTTP {status}" in str(info.value) and "timed out" not in str(info.value)


def test_retry_after_beyond_the_limit_fails_at_once(world_server, seeds, tmp_path):
    with ScriptedProxy(world_server.base_url, always("429"), retry_after="3600") as proxy:
        t0 = time.monotonic()
        with pytest.raises(EndpointError) as info:
            _build(tmp_path / "g", seeds, proxy.query_url)
    assert time.monotonic() - t0 < 5
    assert proxy.requests == 1
    assert "asks to wait 3600 s" in str(info.value) and proxy.query_url in str(info.value)


def test_rate_limit_that_never_ends_names_the_status(world_server, seeds, tmp_path):
    with ScriptedProxy(world_server.base_url, always("429"), retry_after="0") as proxy:
        with pytest.raises(EndpointError) as info:
            _build(tmp_path / "g", seeds, proxy.query_url)
    assert proxy.requests == 3, "max_tries attempts, then give up"
    message = str(info.value)
    assert f"SPARQL endpoint {proxy.query_url} answered HTTP 429" in message and "rate-limiting" in message
    assert not (tmp_path / "g" / "manifest.json").exists()


def test_a_silent_server_times_out(world_server, seeds, tmp_path):
    """--timeout below one second still times out (SPARQLWrapper keeps whole seconds; 0 would mean never)."""
    with ScriptedProxy(world_server.base_url, always("stall"), stall_seconds=4) as proxy:
        t0 = time.monotonic()
        with pytest.raises(EndpointError) as info:
            _build(tmp_path / "g", seeds, proxy.query_url, timeout=0.5, max_tries=1)
        elapsed = time.monotonic() - t0
    assert elapsed < 3.5, f"the client waited {elapsed:.1f} s for a 0.5 s timeout"
    message = str(info.value)
    assert "timed out" in message and proxy.query_url in message and "--endpoint" in message


# ---------------------------------------------------------------- malformed answers
def test_always_truncated_json_fails_cleanly(world_server, seeds, tmp_path):
    out = tmp_path / "g"
    with ScriptedProxy(world_server.base_url, always("truncate")) as proxy:
        with pytest.raises(EndpointError) as info:
            _build(out, seeds, proxy.query_url)
    message = str(info.value)
    assert "malformed JSON" in message and proxy.query_url in message and "after 3 tries" in message
    assert proxy.requests == 3 and proxy.actions() == ["truncate"] * 3
    assert not (out / "manifest.json").exists(), "a failed build must not look finished"
    assert not (out / "processed").exists() and not (out / "graph.nt").exists()
    assert not list((out / "raw").glob("*.json")), "malformed answers are never cached"
    assert not list(out.rglob("*.tmp"))


def test_failed_rebuild_keeps_the_previous_graph(world_server, seeds, reference, tmp_path):
    """Nothing is half-written: a finished graph in the same directory stays intact and loadable."""
    out = tmp_path / "g"
    finished = _build(out, seeds, world_server.query_url)
    before = _snapshot(out)
    assert "manifest.json" in before and "processed/evidence.json" in before
    # Rebuild into the same directory with other settings through a proxy that garbles everything.
    with ScriptedProxy(world_server.base_url, always("truncate")) as proxy:
        with pytest.raises(EndpointError, match="malformed JSON"):
            _build(out, seeds, proxy.query_url, hops=2)
    assert _snapshot(out) == before, "the finished graph must survive a failed rebuild untouched"
    graph = load_graph(out)
    assert graph.manifest == finished
    assert graph.num_nodes("artist") == reference["manifest"]["counts"]["nodes"]["artist"]
    assert len(graph.evidence) == graph.edge_index(("artist", "influenced_by", "artist")).shape[1]


# ---------------------------------------------------------------- the server dies mid-build
def test_server_stopped_mid_build_then_resume(small_world, seeds, reference, tmp_path):
    location = tmp_path / "db"
    total = reference["queries"]
    answered = total // 2
    assert answered >= 2
    upstream = OxigraphServer(files=[small_world / "graph.nt"], location=location).start()
    restarted = None
    try:
        def stop_upstream(proxy: ScriptedProxy) -> str:
            upstream.stop()
            return "forward"  # the upstream is gone: the proxy hangs up like a dead server

        def script(n: int, proxy: ScriptedProxy):
            return stop_upstream if n == answered + 1 else "forward"

        out = tmp_path / "g"
        with ScriptedProxy(upstream.base_url, script) as proxy:
            with pytest.raises(EndpointError) as info:
                _build(out, seeds, proxy.query_url)
            message = str(info.value)
            assert f"cannot reach SPARQL endpoint {proxy.query_url} after 3 tries" in message
            assert "--endpoint" in message and "make demo" in message
            assert not (out / "manifest.json").exists()
            assert len(list((out / "raw").glob("*.json"))) == answered
            assert proxy.actions() == ["forward"] * answered + ["drop"] * 3

            # Same data, same store, new port behind the same proxy URL (the cache key includes the URL).
            restarted = OxigraphServer(location=location).start()
            proxy.upstream = restarted.base_url
            manifest = _build(out, seeds, proxy.query_url)
        assert manifest["requests"] == {"network": total - answered, "cached": answered, "retries": 0}
        assert (out / "graph.nt").read_bytes() == reference["nt"]
        assert load_graph(out).manifest["counts"] == reference["manifest"]["counts"]
    finally:
        upstream.stop()
        if restarted is not None:
            restarted.stop()


# ---------------------------------------------------------------- the CLI's one-line errors
def test_cli_unreachable_endpoint_is_one_line(tmp_path):
    port = free_port()  # bound and released: nothing listens there
    out = tmp_path / "g"
    done = subprocess.run(
        [KGBUILD, "wikidata", "Q296", "--endpoint", f"http://127.0.0.1:{port}/query", "--out", str(out),
         "--tries", "1", "--timeout", "5"],
        capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("error: cannot reach SPARQL endpoint http://127.0.0.1:")
    assert "--endpoint" in lines[0]
    assert done.stdout == ""
    assert not (out / "manifest.json").exists()


def test_cli_truncated_answers_are_one_line(world_server, seeds, tmp_path):
    out = tmp_path / "g"
    with ScriptedProxy(world_server.base_url, always("truncate")) as proxy:
        done = subprocess.run(
            [KGBUILD, "wikidata", *seeds, "--endpoint", proxy.query_url, "--out", str(out), "--tries", "1",
             "--timeout", "5", "--quiet"],
            capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: SPARQL endpoint "), done.stderr
    assert "malformed JSON" in lines[0] and proxy.query_url in lines[0] and "--endpoint" in lines[0]
    assert not (out / "manifest.json").exists()
