"""The 111 public-domain paintings in ../shared/data/paintings as a small RDF graph.

Artwork IRIs come from the image file names, creators (wdt:P170) from the manifest's ``artist``
column with accents and case folded ("Paul Cezanne" and "Paul Cézanne" are one person), images
(wdt:P18) are ``file://`` IRIs of the local files. Written with the standard library only.
"""
from __future__ import annotations

import csv
import json
import re
import unicodedata
from pathlib import Path

NS = "https://w3id.org/artkg/paintings/"
WDT = "http://www.wikidata.org/prop/direct/"
RDFS_LABEL = "http://www.w3.org/2000/01/rdf-schema#label"


def artist_key(name: str) -> str:
    """Accent- and case-insensitive slug of an artist's name."""
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", plain.casefold()).strip("-")


def read_paintings(root: Path) -> list[dict]:
    """Manifest rows with ``iri``, ``artist_iri`` and the absolute image ``path`` added."""
    rows = []
    with (root / "manifest.csv").open(encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            path = (root / row["file"]).resolve()
            rows.append({**row, "path": path, "iri": f"{NS}artwork/{path.stem}",
                         "artist_iri": f"{NS}artist/{artist_key(row['artist'])}"})
    return rows


def _literal(text: str) -> str:
    return json.dumps(text, ensure_ascii=False) + "@en"  # JSON string escapes are valid N-Triples


def write_paintings_ntriples(rows: list[dict], out: Path) -> Path:
    lines = set()
    for row in rows:
        work, artist = f"<{row['iri']}>", f"<{row['artist_iri']}>"
        lines.add(f"{work} <{WDT}P170> {artist} .")
        lines.add(f"{work} <{WDT}P18> <{row['path'].as_uri()}> .")
        lines.add(f"{work} <{RDFS_LABEL}> {_literal(row['title'])} .")
        lines.add(f"{artist} <{RDFS_LABEL}> {_literal(row['artist'])} .")
    out.write_text("\n".join(sorted(lines)) + "\n", encoding="utf-8")
    return out
