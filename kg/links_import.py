"""``kgbuild links GRAPH_DIR FILE``: add visual links (visual signatures) between artworks to a built graph.

A plain CSV with the columns ``a``, ``b`` and ``kind`` (positive, similar, duplicate, negative; wrong
is read as negative; any case) and optionally ``source``. An artwork is named by its IRI, its id (QID,
local name), its label (exact up to case and accents, when only one artwork has it) or by an image
— the path of an image file (absolute, or relative to the CSV's folder), its IRI or its file name —
that one artwork of the graph shows (its P18). Every link records a source: the row's ``source``
cell, else ``--source NAME``, else the CSV's file name.

As ``kgbuild interactions`` (:mod:`artkg.kg.interactions_import`, whose helpers this reuses): rows
naming unknown artworks or images, unknown kinds, self-links and duplicates (in either order) are
left out, counted and reported with examples; a file with no usable row stops the import with one
line and the graph is untouched; the graph is rebuilt with its node ids kept, and the manifest's
``links`` block lets ``rebuild_command`` add the file again.
"""
from __future__ import annotations

import os
import re
import unicodedata
from pathlib import Path
from urllib.parse import unquote, urlsplit
from urllib.request import url2pathname

import numpy as np

from artkg.kg import schema as S
from artkg.kg.errors import InputError
from artkg.kg.interactions_import import add_to_graph, artwork_ids, drop, read_table, why_nothing
from artkg.kg.links import kind_code

ALIASES = {"a": ("a", "artwork_a", "image_a", "src", "left", "from"),
           "b": ("b", "artwork_b", "image_b", "dst", "right", "to"),
           "kind": ("kind", "link", "relation", "type"), "source": ("source", "annotator", "by")}
REQUIRED = ("a", "b", "kind")
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".gif", ".tif", ".tiff", ".webp", ".bmp", ".jp2")
ALLOWED = f"{', '.join(S.LINK_KINDS)} ({', '.join(f'{k} = {v}' for k, v in S.LINK_KIND_ALIASES.items())})"


def fold(text: str) -> str:
    """Case-, accent- and spacing-insensitive form of a label or title."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"\s+", " ", plain.casefold()).strip()


def _file_name(value: str) -> str:
    return unquote(urlsplit(value).path.rstrip("/").rsplit("/", 1)[-1]) if "://" in value else Path(value).name


def _local_path(value: str, base: Path) -> str | None:
    """An image value as an absolute local path (file:// IRIs and bare paths); None for web IRIs."""
    parts = urlsplit(value)
    if parts.scheme == "file":
        return os.path.abspath(url2pathname(unquote(parts.path)))
    if "://" in value or not value:
        return None
    return os.path.abspath(base / value)


class ArtworkResolver:
    """Names in a links file → artwork IRIs of a graph: ``(IRI, None)`` or ``(None, reason)``."""

    def __init__(self, kg):
        self.ids = artwork_ids(kg)
        iris = kg.iris.get("artwork", [])
        self.images: dict[str, set[str]] = {}  # image IRI, local path or file name → artworks showing it
        for iri, image in zip(iris, kg.images):
            if image:
                for key in {image, _local_path(image, kg.root), "name:" + _file_name(image)} - {None}:
                    self.images.setdefault(key, set()).add(iri)
        self.labels: dict[str, set[str]] = {}
        for iri, label in zip(iris, kg.labels.get("artwork", [])):
            if label:
                self.labels.setdefault(fold(label), set()).add(iri)

    def __call__(self, value: str, base: Path) -> tuple[str | None, str | None]:
        value = value.strip().strip("<>")
        if not value:
            return None, "rows without two artworks"
        if value in self.ids:
            return self.ids[value], None
        path = _local_path(value, base)
        keys = [value] + ([path, os.path.realpath(path)] if path else []) + ["name:" + _file_name(value)]
        for key in keys:
            found = self.images.get(key)
            if found:
                return (next(iter(found)), None) if len(found) == 1 else (None, "images several artworks show")
        found = self.labels.get(fold(value))
        if found:
            return (next(iter(found)), None) if len(found) == 1 else (None, "labels of several artworks")
        if value.lower().endswith(IMAGE_SUFFIXES):
            return None, "images no artwork of the graph shows"
        return None, "artworks not in the graph"


def read_links(path: str | Path, kg, source: str | None = None,
               resolver: ArtworkResolver | None = None) -> tuple[dict, dict]:
    """Read a links CSV against the graph ``kg``: ``(columns, report)``; ``columns`` holds the usable
    rows (``a``, ``b`` artwork IRIs, ``kind`` names, ``source`` texts)."""
    import pandas as pd

    frame, cols = read_table(path, ALIASES, REQUIRED, what="links", header="a,b,kind[,source]",
                             needs="a, b and kind (source optional)")
    path = Path(path)
    report: dict = {"rows": int(len(frame)), "source": source, "dropped": {}}
    kinds_raw = frame[cols["kind"]].str.strip().to_numpy(dtype=object)
    codes = np.array([kind_code(k) for k in kinds_raw], dtype=np.int64)
    if len(frame) and (codes < 0).all() and (kinds_raw != "").any():
        seen = ", ".join(repr(k) for k in sorted(set(kinds_raw.tolist()))[:3])
        raise InputError(f"no row of {path} has a known link kind (it has {seen})",
                         f"write one of {ALLOWED} in the kind column")
    resolver = resolver or ArtworkResolver(kg)
    base = path.resolve().parent
    ends, why = [], []
    for col in ("a", "b"):
        values = frame[cols[col]].str.strip().to_numpy(dtype=object)
        table = {v: resolver(v, base) for v in set(values.tolist())}  # each distinct name once
        ends.append(np.array([table[v][0] or "" for v in values], dtype=object))
        why.append(np.array([table[v][1] or "" for v in values], dtype=object))
    a, b = ends
    rest = np.ones(len(frame), dtype=bool)
    for reason in ("rows without two artworks", "artworks not in the graph", "images no artwork of the graph shows",
                   "images several artworks show", "labels of several artworks"):
        hit = rest & ((why[0] == reason) | (why[1] == reason))
        names = frame[cols["a"]].to_numpy(dtype=object), frame[cols["b"]].to_numpy(dtype=object)
        examples = sorted({str(n[i]) for n, w in zip(names, why) for i in np.flatnonzero(hit & (w == reason))})
        drop(report, hit, reason, examples if reason != "rows without two artworks"
             else [int(i) + 2 for i in np.flatnonzero(hit)])
        rest &= ~hit
    unreviewed = rest & (kinds_raw == "")  # a verdicts file's pairs nobody judged yet
    drop(report, unreviewed, "rows without a kind (not reviewed)", [int(i) + 2 for i in np.flatnonzero(unreviewed)])
    rest &= ~unreviewed
    bad_kind = rest & (codes < 0)
    drop(report, bad_kind, f"kinds other than {ALLOWED}", sorted({str(k) for k in kinds_raw[bad_kind]}))
    rest &= ~bad_kind
    itself = rest & (a == b)
    drop(report, itself, "links of an artwork to itself", sorted({str(x) for x in a[itself]}))
    rest &= ~itself
    default = source if source is not None else path.name
    sources = frame[cols["source"]].str.strip().to_numpy(dtype=object) if "source" in cols \
        else np.full(len(frame), "", dtype=object)
    sources = np.where(sources == "", default, sources)
    lo, hi = np.where(a < b, a, b), np.where(a < b, b, a)  # either order: the same link
    key = pd.DataFrame({"a": np.where(rest, lo, ""), "b": np.where(rest, hi, ""), "k": codes,
                        "s": sources}).duplicated().to_numpy()
    drop(report, key & rest, "duplicate rows (in either order)", [int(i) + 2 for i in np.flatnonzero(key & rest)])
    rest &= ~key
    if not rest.any():
        raise InputError(f"no usable link in {path} ({why_nothing(report)})",
                         "name artworks by IRI, id, label or image path of this graph (`artkg search GRAPH_DIR "
                         f"TEXT`) and kinds as {ALLOWED}")
    report["usable"] = int(rest.sum())
    columns = {"a": a[rest].tolist(), "b": b[rest].tolist(),
               "kind": [S.LINK_KINDS[k] for k in codes[rest].tolist()], "source": sources[rest].tolist()}
    return columns, report


def add_links(graph_dir: str | Path, files: list[str | Path], source: str | None = None) -> dict:
    """Add the visual links of ``files`` to the graph in ``graph_dir`` (under its lock); returns the new
    manifest with a ``links`` block (per file: source, rows, usable, dropped with examples)."""
    from artkg.kg.links import link_lines

    resolver: list[ArtworkResolver] = []

    def read(kg, f):
        if not resolver:
            resolver.append(ArtworkResolver(kg))
        cols, report = read_links(f, kg, source, resolver[0])
        return link_lines(cols["a"], cols["b"], cols["kind"], cols["source"]), report

    return add_to_graph(graph_dir, "links", files, read)
