"""``kgbuild wikidata --wikipedia-lang``: class nodes get the introduction of their Wikipedia article
(sitelink from Wikidata's RDF, Wikipedia REST summary endpoint), politely and cached, and the text
encoder reads it. Sitelinks come from a real ``oxigraph serve``; Wikipedia is a loopback
``http.server`` that answers like the REST API (one 429 with Retry-After first). No network."""
from __future__ import annotations

import json
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote

import pytest

from artkg.kg.errors import EndpointError, InputError
from artkg.kg.graph import load_graph
from artkg.kg.server import OxigraphServer
from artkg.kg.wikipedia import WikipediaClient, check_lang, title_of
from artkg.models.features import node_texts

KGBUILD = str(Path(sys.executable).parent / "kgbuild")
SITELINKS = Path(__file__).parent / "data" / "wikipedia_sitelinks.ttl"
WD = "http://www.wikidata.org/entity/"
PAGES = {  # title -> the REST summary's extract (English Wikipedia)
    "Luminism (American art)": "Luminism is an American landscape painting style of the 1850s–1870s, "
                               "characterized by effects of light in landscape, through using aerial perspective.",
    "Tonalism": "Tonalism was an artistic style that emerged in the 1880s when American artists began to paint "
                "landscape forms with an overall tone of colored atmosphere or mist.",
    "Landscape painting": "Landscape painting is the depiction of natural scenery such as mountains, valleys, "
                          "trees, rivers, and forests.",
}


class FakeWikipedia(BaseHTTPRequestHandler):
    requests: list[tuple[str, str]] = []  # (title, User-Agent)
    throttled: set[str] = set()  # titles already answered once with 429

    def do_GET(self):  # noqa: N802 (http.server's name)
        prefix = "/api/rest_v1/page/summary/"
        title = unquote(self.path[len(prefix):]).replace("_", " ") if self.path.startswith(prefix) else ""
        type(self).requests.append((title, self.headers.get("User-Agent", "")))
        if title == "Tonalism" and title not in type(self).throttled:
            type(self).throttled.add(title)
            self.send_response(429)
            self.send_header("Retry-After", "0")
            self.end_headers()
            return
        if title not in PAGES:
            self.send_response(404)
            self.send_header("Content-Type", "application/problem+json")
            self.end_headers()
            self.wfile.write(b'{"type":"https://mediawiki.org/wiki/HyperSwitch/errors/not_found"}')
            return
        body = json.dumps({"type": "standard", "title": title, "extract": PAGES[title]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):  # quiet
        pass


@pytest.fixture(scope="module")
def wikipedia():
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeWikipedia)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def sparql():
    with OxigraphServer(files=[SITELINKS]) as srv:
        yield srv.query_url


def kgbuild(*args) -> subprocess.CompletedProcess:
    return subprocess.run([KGBUILD, *map(str, args)], capture_output=True, text=True, timeout=120)


def test_class_nodes_get_their_wikipedia_introduction(sparql, wikipedia, tmp_path):
    FakeWikipedia.requests.clear()
    out = tmp_path / "g"
    done = kgbuild("wikidata", "Q1", "--endpoint", sparql, "--out", out, "--hops", "1", "--no-store",
                   "--wikipedia-lang", "en", "--wikipedia-url", wikipedia, "--json", "-v")
    assert done.returncode == 0, done.stderr
    manifest = json.loads(done.stdout)
    g = load_graph(out)
    summary = {t: dict(zip(g.iris[t], s)) for t, s in g.summaries.items()}
    assert summary["movement"] == {WD + "Q40": PAGES["Luminism (American art)"], WD + "Q41": PAGES["Tonalism"],
                                   WD + "Q42": None, WD + "Q43": None}  # Q42: no page (404); Q43: no English article
    assert summary["genre"] == {WD + "Q50": PAGES["Landscape painting"]}
    assert "artist" not in g.summaries and "artwork" not in g.summaries  # only class nodes
    # the text encoder reads label, description and introduction
    texts = dict(zip(g.iris["movement"], node_texts(g)["movement"]))
    assert texts[WD + "Q41"] == "Tonalism. art movement. " + PAGES["Tonalism"]
    assert texts[WD + "Q42"] == "Vapourism"
    assert dict(zip(g.iris["genre"], node_texts(g)["genre"]))[WD + "Q50"] == "landscape art. " + PAGES["Landscape painting"]
    # polite: artkg's User-Agent with a contact, Retry-After honoured (429 then 200), one request per page
    titles = [t for t, _ in FakeWikipedia.requests]
    assert sorted(titles) == sorted(["Luminism (American art)", "Tonalism", "Tonalism", "Vapourism", "Landscape painting"])
    assert all(ua.startswith("artkg/") and "@" in ua for _, ua in FakeWikipedia.requests)
    assert manifest["wikipedia"] == {"lang": "en", "class_items": 5, "summaries": 3,
                                     "requests": {"network": 5, "cached": 0, "retries": 1, "missing": 1}}
    missing = manifest["dropped"]["class items without a en Wikipedia introduction"]
    assert missing["count"] == 2 and f"{WD}Q43 (no sitelink)" in missing["examples"]
    assert "class items without a en Wikipedia introduction" in done.stderr
    # the triples keep it too (graph.nt, and so a re-import with kgbuild rdf)
    nt = (out / "graph.nt").read_text(encoding="utf-8")
    assert f'<{WD}Q41> <https://w3id.org/artkg/vocab#wikipediaSummary> "{PAGES["Tonalism"]}"@en .' in nt

    # a rebuild asks Wikipedia nothing (disk cache), and --offline needs no Wikipedia at all
    FakeWikipedia.requests.clear()
    again = kgbuild("wikidata", "Q1", "--endpoint", sparql, "--out", out, "--hops", "1", "--no-store",
                    "--wikipedia-lang", "en", "--wikipedia-url", "http://127.0.0.1:9", "--json", "--offline")
    assert again.returncode == 0, again.stderr
    assert FakeWikipedia.requests == []
    assert json.loads(again.stdout)["wikipedia"]["requests"]["cached"] == 4  # the four pages asked for
    assert load_graph(out).summaries == g.summaries


def test_wikipedia_lang_selects_the_sitelink_language(sparql, wikipedia, tmp_path):
    FakeWikipedia.requests.clear()
    done = kgbuild("wikidata", "Q1", "--endpoint", sparql, "--out", tmp_path / "g", "--hops", "1", "--no-store",
                   "--wikipedia-lang", "fr", "--wikipedia-url", wikipedia, "--json", "-q")
    assert done.returncode == 0, done.stderr
    assert sorted(t for t, _ in FakeWikipedia.requests) == ["Lumière nordique", "Tonalisme"]  # French titles only
    assert json.loads(done.stdout)["wikipedia"]["summaries"] == 0  # the fake serves English pages only


def test_bad_wikipedia_language_is_a_one_line_error(tmp_path):
    done = kgbuild("wikidata", "Q1", "--endpoint", "http://127.0.0.1:9/query", "--out", tmp_path / "g",
                   "--wikipedia-lang", "en.evil/../x")
    assert done.returncode == 2
    assert done.stderr.strip().startswith("error: invalid Wikipedia language") and len(done.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "g").exists()
    with pytest.raises(InputError):
        check_lang("EN")
    assert check_lang("zh-yue") == "zh-yue"


def test_client_units(wikipedia, tmp_path):
    assert title_of("https://en.wikipedia.org/wiki/Luminism_(American_art)") == "Luminism (American art)"
    client = WikipediaClient("en", cache_dir=tmp_path, base_url=wikipedia, backoff_initial=0.01)
    assert client.url("Luminism (American art)").endswith("/api/rest_v1/page/summary/Luminism_%28American_art%29")
    assert client.extract("Landscape painting") == PAGES["Landscape painting"]
    assert client.extract("Nope") is None and client.stats["missing"] == 1
    offline = WikipediaClient("en", cache_dir=tmp_path, base_url="http://127.0.0.1:9", offline=True)
    assert offline.extract("Landscape painting") == PAGES["Landscape painting"]  # from the cache
    with pytest.raises(EndpointError, match="not in the cache"):
        offline.extract("Tonalism")
    down = WikipediaClient("en", base_url="http://127.0.0.1:9", max_tries=2, backoff_initial=0.01, timeout=2)
    with pytest.raises(EndpointError, match="cannot read Wikipedia summaries"):
        down.extract("Tonalism")
