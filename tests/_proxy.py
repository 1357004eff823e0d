"""A tiny scriptable HTTP proxy on 127.0.0.1, put in front of a real Oxigraph server to inject faults.

``script(n, proxy)`` is called for the n-th request (1-based) and returns one of the actions

* ``"forward"`` — pass the request to the upstream server and its answer back;
* ``"429"`` / ``"503"`` / ``"500"`` — answer that status (``Retry-After`` from ``proxy.retry_after``);
* ``"timeout"`` — HTTP 500 with the body WDQS sends when a query runs out of time;
* ``"truncate"`` — forward, then send only the first half of the upstream body (a consistent
  ``Content-Length``, so the client sees a complete but malformed JSON document);
* ``"drop"`` — close the connection without any answer (what a dead server looks like);
* ``"stall"`` — say nothing for ``stall_seconds`` (longer than the client's timeout), then drop;
* a callable ``(proxy) -> str`` — run it first (e.g. stop the upstream), then act on its return.

If the upstream cannot be reached, a ``"forward"`` becomes a ``"drop"``. Every request is logged
in ``proxy.log`` as ``(monotonic arrival time, action taken, status sent or None)``. The proxy is bounded: it serves
at most ``max_requests`` requests (later ones are dropped) and stops by itself after ``lifetime``
seconds; ``stop()`` (or leaving the ``with`` block) shuts it down and joins its thread.
"""
from __future__ import annotations

import http.client
import http.server
import threading
import time
import urllib.parse
from typing import Callable

Action = str | Callable[["ScriptedProxy"], str]


def always(action: Action) -> Callable[[int, "ScriptedProxy"], Action]:
    return lambda n, proxy: action


def first(k: int, action: Action, then: Action = "forward") -> Callable[[int, "ScriptedProxy"], Action]:
    """``action`` for the first ``k`` requests, ``then`` afterwards."""
    return lambda n, proxy: action if n <= k else then


class ScriptedProxy:
    def __init__(self, upstream: str, script: Callable[[int, "ScriptedProxy"], Action] = always("forward"),
                 *, retry_after: str | None = None, max_requests: int = 500, lifetime: float = 120.0,
                 upstream_timeout: float = 10.0, stall_seconds: float = 3.0):
        self.upstream = upstream  # base URL, e.g. http://127.0.0.1:7878 (may be changed while running)
        self.script = script
        self.retry_after = retry_after
        self.max_requests = max_requests
        self.lifetime = lifetime
        self.upstream_timeout = upstream_timeout
        self.stall_seconds = stall_seconds
        self.log: list[tuple[float, str, int | None]] = []
        self._lock = threading.Lock()
        self._count = 0
        self._server: http.server.ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._timer: threading.Timer | None = None

    # ------------------------------------------------------------ lifecycle
    @property
    def port(self) -> int:
        assert self._server is not None
        return self._server.server_address[1]

    @property
    def query_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/query"

    @property
    def requests(self) -> int:
        return self._count

    def actions(self) -> list[str]:
        return [action for _, action, _ in self.log]

    def start(self) -> "ScriptedProxy":
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            timeout = 15  # a stuck client cannot hold a handler thread for long

            def log_message(self, *args) -> None:  # keep pytest output clean
                pass

            def do_GET(self) -> None:
                proxy._handle(self, b"")

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                proxy._handle(self, self.rfile.read(length))

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="scripted-proxy", daemon=True)
        self._thread.start()
        self._timer = threading.Timer(self.lifetime, self.stop)
        self._timer.daemon = True
        self._timer.start()
        return self

    def stop(self) -> None:
        if self._timer is not None and self._timer is not threading.current_thread():
            self._timer.cancel()
        server = self._server
        if server is not None and self._thread is not None and self._thread.is_alive():
            server.shutdown()
            self._thread.join(timeout=10)
            server.server_close()

    def __enter__(self) -> "ScriptedProxy":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # ------------------------------------------------------------ serving
    def _next(self) -> tuple[int, Action]:
        with self._lock:
            self._count += 1
            n = self._count
        if n > self.max_requests:
            return n, "drop"
        return n, self.script(n, self)

    def _handle(self, handler: http.server.BaseHTTPRequestHandler, body: bytes) -> None:
        arrived = time.monotonic()
        _, action = self._next()
        if callable(action):
            action = action(self)
        response: tuple[int, dict, bytes] | None = None
        if action in ("429", "503", "500"):
            headers = {"Content-Type": "text/plain", "Retry-After": self.retry_after}
            response = (int(action), headers, f"scripted {action}\n".encode())
        elif action == "timeout":
            response = (500, {"Content-Type": "text/plain"},
                        b"SPARQL-QUERY: queryStr=...\njava.util.concurrent.ExecutionException: "
                        b"java.util.concurrent.TimeoutException\n")
        elif action in ("forward", "truncate"):
            response = self._forward(handler, body)
            if response is None:
                action = "drop"  # the upstream is down: so is the proxy, as far as the client can tell
            elif action == "truncate" and response[0] == 200:
                response = (response[0], response[1], response[2][: len(response[2]) // 2])
        elif action == "stall":
            time.sleep(self.stall_seconds)  # longer than the client's timeout; then hang up
            action = "drop"
        elif action != "drop":
            raise ValueError(f"unknown proxy action {action!r}")
        # Log before answering: the client may look at the log as soon as it has the answer.
        self.log.append((arrived, action, response[0] if response else None))
        if response is None:
            handler.close_connection = True  # nothing written: the client sees the connection closed
            return
        status, headers, data = response
        handler.send_response(status)
        for name, value in headers.items():
            if value:
                handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)

    def _forward(self, handler, body: bytes):
        url = urllib.parse.urlsplit(self.upstream)
        conn = http.client.HTTPConnection(url.hostname, url.port, timeout=self.upstream_timeout)
        headers = {k: v for k, v in handler.headers.items()
                   if k.lower() in ("content-type", "accept", "user-agent")}
        try:
            conn.request(handler.command, handler.path, body=body or None, headers=headers)
            response = conn.getresponse()
            data = response.read()
            headers = {name: response.getheader(name) for name in ("Content-Type", "Retry-After")}
            return response.status, headers, data
        except OSError:
            return None
        finally:
            conn.close()
