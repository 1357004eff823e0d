"""Real collections as graph directories, for the multimodal benchmarks (read from ../shared/data by path).

* :func:`wikidata_paintings_graph` — the 9,336 Wikidata paintings of ``wikidata/artonwikidata_paintings.csv``
  as N-Triples in the Wikidata vocabulary (title as label, P170 creator, P180 depicts, P136 genre,
  P186 material, P135 movement, P195 collection, P571 year), built with ``kgbuild rdf``.
* :func:`paintings_graph` — the 111 public-domain paintings of ``paintings/manifest.csv`` (title,
  creator, year, image file), built the same way; several are reproductions of the same painting.

Both are cached under ``bench/out``; ``None`` when the data is absent (the caller skips).
"""
from __future__ import annotations

import csv
import json
import unicodedata
from pathlib import Path
from urllib.parse import quote

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
OUT = Path(__file__).resolve().parent / "out"
WD, WDT = "http://www.wikidata.org/entity/", "http://www.wikidata.org/prop/direct/"
LABEL = "http://www.w3.org/2000/01/rdf-schema#label"
XSD_DATETIME = "http://www.w3.org/2001/XMLSchema#dateTime"
NS = "https://w3id.org/artkg/bench/"
COLUMNS = {"_depicts": ("subject", "P180"), "_genre": ("genre", "P136"), "_material": ("material", "P186"),
           "_movement": ("movement", "P135"), "_museum": ("collection", "P195")}


def _lit(text: str) -> str:
    return json.dumps(unicodedata.normalize("NFC", text), ensure_ascii=False) + "@en"


def _iri(kind: str, name: str) -> str:
    return f"{NS}{kind}/{quote(name, safe='')}"


def wikidata_paintings_ntriples(csv_path: Path, out: Path, rows: int | None = None) -> Path:
    lines = set()
    with open(csv_path, encoding="utf-8", newline="") as fh:
        for n, row in enumerate(csv.DictReader(fh)):
            if rows is not None and n >= rows:
                break
            work = f"<{WD}{row['id']}>"
            if row["_title"].strip():
                lines.add(f"{work} <{LABEL}> {_lit(row['_title'].strip())} .")
            for name in filter(None, (v.strip() for v in row["_artist"].split(", "))):
                lines.add(f"{work} <{WDT}P170> <{_iri('artist', name)}> .")
                lines.add(f"<{_iri('artist', name)}> <{LABEL}> {_lit(name)} .")
            if row["year"].strip().lstrip("-").isdigit():
                lines.add(f'{work} <{WDT}P571> "{int(row["year"]):04d}-01-01T00:00:00Z"^^<{XSD_DATETIME}> .')
            for column, (kind, prop) in COLUMNS.items():
                for value in filter(None, (v.strip() for v in row[column].split(", "))):
                    lines.add(f"{work} <{WDT}{prop}> <{_iri(kind, value)}> .")
                    lines.add(f"<{_iri(kind, value)}> <{LABEL}> {_lit(value)} .")
    out.write_text("\n".join(sorted(lines)) + "\n", encoding="utf-8")
    return out


def _build(name: str, write) -> Path:
    from artkg.kg.builders import build_graph

    graph = OUT / name
    if not (graph / "manifest.json").exists():
        OUT.mkdir(parents=True, exist_ok=True)
        nt = write(OUT / f"{name}.nt")
        build_graph("rdf", graph, path=nt, build_store=False)
    return graph


def wikidata_paintings_graph(rows: int | None = None) -> Path | None:
    csv_path = SHARED / "wikidata" / "artonwikidata_paintings.csv"
    if not csv_path.exists():
        return None
    return _build(f"wikidata_paintings{'' if rows is None else f'_{rows}'}",
                  lambda nt: wikidata_paintings_ntriples(csv_path, nt, rows))


def painting_rows() -> list[dict]:
    root = SHARED / "paintings"
    with open(root / "manifest.csv", encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    for row in rows:
        row["path"] = (root / row["file"]).resolve()
        row["iri"] = _iri("painting", Path(row["file"]).stem)
        plain = unicodedata.normalize("NFKD", row["artist"]).encode("ascii", "ignore").decode().casefold()
        row["artist_iri"] = _iri("artist", plain.replace(" ", "-"))
    return rows


def paintings_graph() -> Path | None:
    if not (SHARED / "paintings" / "manifest.csv").exists():
        return None

    def write(nt: Path) -> Path:
        lines = set()
        for row in painting_rows():
            work = f"<{row['iri']}>"
            lines.add(f"{work} <{LABEL}> {_lit(row['title'])} .")
            lines.add(f"{work} <{WDT}P170> <{row['artist_iri']}> .")
            lines.add(f"<{row['artist_iri']}> <{LABEL}> {_lit(row['artist'])} .")
            lines.add(f"{work} <{WDT}P18> <{row['path'].as_uri()}> .")
            year = row["date"].strip()[:4]
            if year.isdigit():
                lines.add(f'{work} <{WDT}P571> "{int(year):04d}-01-01T00:00:00Z"^^<{XSD_DATETIME}> .')
        nt.write_text("\n".join(sorted(lines)) + "\n", encoding="utf-8")
        return nt

    return _build("paintings", write)
