"""DUPLICATE links from a manifest of image files: reproductions of the same painting.

A manifest CSV (the public-domain paintings of ``../shared/data/paintings/manifest.csv``: columns
``file``, ``artist``, ``title`` …) often holds several reproductions of one painting — four Starry
Nights, three Great Waves — taken from different sources, cropped and coloured differently. Two
images with the same artist and title (case, accents and spacing folded) show the same painting: a
DUPLICATE link, the cleanest visual signature there is. The pairs are named by image path, so
``kgbuild links`` resolves them against any graph whose artworks have those images (P18
``file://`` IRIs), without an id scheme in common::

    pairs = duplicate_pairs_from_manifest("../shared/data/paintings/manifest.csv")
    write_pairs_csv(pairs, "duplicates.csv")   # then: kgbuild links GRAPH duplicates.csv --source manifest
"""
from __future__ import annotations

import csv
from itertools import combinations
from pathlib import Path

from artkg.kg.errors import InputError
from artkg.kg.links_import import fold


def duplicate_pairs_from_manifest(manifest_csv: str | Path, absolute: bool = True) -> list[tuple[str, str]]:
    """Every pair of images of ``manifest_csv`` that reproduce the same painting (same artist and
    title, folded), each pair in file order, sorted; paths absolute (resolved) or as the manifest
    writes them (relative to its folder)."""
    manifest_csv = Path(manifest_csv)
    if not manifest_csv.is_file():
        raise InputError(f"no manifest at {manifest_csv}", "give a CSV with the columns file, artist, title")
    with manifest_csv.open(encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        missing = [c for c in ("file", "artist", "title") if c not in (reader.fieldnames or [])]
        if missing:
            raise InputError(f"{manifest_csv} lacks the column{'s' if len(missing) > 1 else ''} {', '.join(missing)}",
                             "the header must name file, artist and title")
        groups: dict[tuple[str, str], list[str]] = {}
        for row in reader:
            if row["file"] and row["title"].strip():
                groups.setdefault((fold(row["artist"]), fold(row["title"])), []).append(row["file"])
    root = manifest_csv.resolve().parent
    name = (lambda f: str((root / f).resolve())) if absolute else str
    return sorted((name(x), name(y)) for files in groups.values() for x, y in combinations(sorted(set(files)), 2))


def write_pairs_csv(pairs: list[tuple[str, str]], out: str | Path, kind: str = "duplicate",
                    source: str | None = None) -> Path:
    """Write ``pairs`` as a ``kgbuild links`` CSV (``a,b,kind`` and ``source`` when given)."""
    out = Path(out)
    with out.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["a", "b", "kind"] + (["source"] if source is not None else []))
        w.writerows([a, b, kind] + ([source] if source is not None else []) for a, b in pairs)
    return out
