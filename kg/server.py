"""Run a real Oxigraph SPARQL server on loopback (``oxigraph serve``, from the PyPI package ``oxigraph``).

Used by ``make demo`` to serve the offline world and by the tests to exercise the SPARQL path for
real. The server only ever binds 127.0.0.1.
"""
from __future__ import annotations

import logging
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from artkg.kg.errors import InputError

log = logging.getLogger("artkg")


def oxigraph_binary() -> str:
    """Path of the ``oxigraph`` CLI (next to this Python first, then on PATH)."""
    candidates = [Path(sys.executable).parent / "oxigraph", shutil.which("oxigraph")]
    for candidate in candidates:
        if candidate and Path(candidate).is_file():
            return str(candidate)
    raise InputError("the `oxigraph` server binary is not installed", "pip install oxigraph (or `pip install artkg[server]`)")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class OxigraphServer:
    """``with OxigraphServer(files=["world.nt"]) as server: server.query_url`` — loads, serves, stops.

    ``location`` keeps the database (a temporary directory by default, removed on stop).
    """

    def __init__(self, files: list[str | Path] = (), location: str | Path | None = None,
                 port: int | None = None, startup_timeout: float = 60.0):
        self.files = [Path(f) for f in files]
        self._tmp = None if location else tempfile.mkdtemp(prefix="artkg-oxigraph-")
        self.location = Path(location or self._tmp)
        self.port = port or free_port()
        self.startup_timeout = startup_timeout
        self.process: subprocess.Popen | None = None
        self._stderr = None  # the server's stderr (a temporary file: it only says why it could not start)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def query_url(self) -> str:
        return f"{self.base_url}/query"

    def load(self) -> None:
        binary = oxigraph_binary()
        for path in self.files:
            if not path.is_file():
                raise InputError(f"no such RDF file to serve: {path}", "check the path")
            subprocess.run([binary, "load", "--location", str(self.location), "--file", str(path)],
                           check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def start(self) -> "OxigraphServer":
        try:
            self.load()
        except BaseException:
            self.stop()  # remove the temporary store
            raise
        self._stderr = tempfile.TemporaryFile()
        self.process = subprocess.Popen(
            [oxigraph_binary(), "serve", "--location", str(self.location), "--bind", f"127.0.0.1:{self.port}"],
            stdout=subprocess.DEVNULL, stderr=self._stderr, start_new_session=True)
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                code, reason = self.process.returncode, self._first_error_line()
                self.stop()  # remove the temporary store: `with` never calls __exit__ when __enter__ fails
                raise RuntimeError(f"oxigraph serve on 127.0.0.1:{self.port} exited with code {code}"
                                   + (f" ({reason})" if reason else ""))
            if self.ready():
                log.info("Oxigraph serving %s at %s", ", ".join(p.name for p in self.files) or "an empty store",
                         self.query_url)
                return self
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"oxigraph did not answer on {self.base_url} within {self.startup_timeout:.0f} s")

    def _first_error_line(self) -> str:
        if self._stderr is None:
            return ""
        self._stderr.seek(0)
        lines = self._stderr.read(4096).decode("utf-8", "replace").splitlines()
        return next((line.strip() for line in lines if line.strip().startswith("Error")), "")

    def ready(self) -> bool:
        url = self.query_url + "?" + urllib.parse.urlencode({"query": "ASK { }"})
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                return response.status == 200
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
            return False

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None
        if self._tmp and os.path.isdir(self._tmp):
            shutil.rmtree(self._tmp, ignore_errors=True)

    def __enter__(self) -> "OxigraphServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
