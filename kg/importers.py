"""Importers for published art datasets: they emit triples in the artkg schema's vocabulary.

* WikiArt (ArtGAN "WikiArt Dataset (Refined)" split files): the image path
  ``<Style>/<artist-slug>_<title-slug>.jpg`` gives the style and the artist (slug repaired into
  WikiArt's own); the genre split gives the genre; a trailing ``-YYYY`` or ``-YYYY-N`` in the title
  slug gives the inception year when it lies in the artist's plausible working life.
* ArtGraph (OGB-style raw export of its Neo4j graph): ``mapping/<type>_entidx2name.csv`` and
  ``raw/relations/<src>___<rel>___<dst>/edge.csv``, v1 or v2 relation names.
"""
from __future__ import annotations

import csv
import logging
import re
from collections import Counter
from pathlib import Path
from urllib.parse import quote

import numpy as np
import pyoxigraph as ox

from artkg.kg import schema as S
from artkg.kg.errors import InputError
from artkg.kg.triples import TripleSet

log = logging.getLogger("artkg")

WIKIART_NS = "https://w3id.org/artkg/wikiart/"
WIKIART_ARTIST_NS = "https://www.wikiart.org/en/"
ARTGRAPH_NS = "https://w3id.org/artkg/artgraph/"
XSD_DATETIME = ox.NamedNode("http://www.w3.org/2001/XMLSchema#dateTime")


def _iri(base: str, *parts: str) -> ox.NamedNode:
    return ox.NamedNode(base + "/".join(quote(p, safe="-_.~()") for p in parts))


def _label(node: ox.NamedNode, text: str, triples: TripleSet) -> None:
    triples.add(node, S.RDFS_LABEL, ox.Literal(text, language="en"))


def _year_literal(year: int) -> ox.Literal:
    return ox.Literal(f"{year:04d}-01-01T00:00:00Z", datatype=XSD_DATETIME)


def slug_to_name(slug: str) -> str:
    """``vincent-van-gogh`` → ``Vincent Van Gogh`` (WikiArt slugs lose the original casing)."""
    return " ".join(w.capitalize() for w in re.split(r"[-_]+", slug) if w)


# ---------------------------------------------------------------------- WikiArt
def _read_class_names(path: Path) -> dict[int, str]:
    names = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            idx, name = line.strip().split(" ", 1)
            names[int(idx)] = name.strip()
    return names


def _read_split(path: Path) -> list[tuple[str, int]]:
    """Rows ``path,label`` or ``path,,label`` (the artist files, after a header and a blank line)."""
    rows = []
    with open(path, encoding="utf-8", newline="") as fh:
        for line_no, row in enumerate(csv.reader(fh), start=1):
            if not row or not row[0].strip() or row[0].startswith("(Path"):
                continue
            label = row[-1].strip()
            if not label.lstrip("-").isdigit():
                raise InputError(f"{path}:{line_no}: expected `path,class_index`, got {','.join(row)[:80]!r}",
                                 "pass the ArtGAN WikiArt split folder (style_train.csv, genre_class.txt …)")
            rows.append((row[0].strip(), int(label)))
    return rows


def _find(directory: Path, stem: str) -> Path | None:
    for suffix in ("", ".csv", ".txt"):
        if (directory / f"{stem}{suffix}").is_file():
            return directory / f"{stem}{suffix}"
    return None


# ---------------------------------------------------------------------- WikiArt identities
# In 709 ArtGAN paths the artist slug is UTF-8 that was read as Latin-1 and then lower-cased
# (`joaquã\xadn-sorolla`): a lower-cased lead byte (Ã → ã, Â → â …) followed by a continuation byte.
_MOJIBAKE = re.compile("[\u00c2-\u00df\u00e2-\u00fe][\u0080-\u00bf]")
# WikiArt's own slugs replace each non-ASCII letter by "-" (`joaqu-n-sorolla`, `andr-lhote`),
# except older pages that transliterate (checked against WikiArt's artist pages: the ArtGraph splits
# and the wikiart_artist_relations scrape use the same slugs).
WIKIART_SLUG_EXCEPTIONS = {"arnold-b-cklin": "arnold-bocklin"}
#: the longest plausible working life (years) of one artist, for years read from titles
WORKING_LIFE = 85
_TITLE_YEAR = re.compile(r"-(\d{4})(?:-\d{1,2})?(?:\(\d+\))?$")  # `-1890`, `-1912-2`, `-1890(1)`


def repair_mojibake(text: str) -> str:
    """``joaquã\\xadn-sorolla`` → ``joaquín-sorolla``; text without such pairs is returned as is."""
    def fix(m: re.Match) -> str:
        lead, cont = m.group(0)
        if "\u00e2" <= lead <= "\u00fe" and lead != "\u00f7":  # undo the lower-casing of the lead byte
            lead = chr(ord(lead) - 0x20)
        try:
            return (lead + cont).encode("latin-1").decode("utf-8")
        except UnicodeError:
            return m.group(0)
    return _MOJIBAKE.sub(fix, text)


def wikiart_identity(raw_slug: str) -> tuple[str, str]:
    """(WikiArt's slug, the name with its accents) of an artist slug as ArtGAN file names spell it."""
    name_slug = repair_mojibake(raw_slug).strip("\u00a0 -").replace("\u00a0", "-")
    slug = re.sub("-+", "-", "".join(ch if ch.isascii() else "-" for ch in name_slug)).strip("-")
    return WIKIART_SLUG_EXCEPTIONS.get(slug, slug), name_slug


def title_year(title_slug: str) -> int | None:
    """The year at the end of a WikiArt title slug (``-1890``, ``-1912-2``, ``-1890(1)``), or None."""
    m = _TITLE_YEAR.search(title_slug)
    return int(m.group(1)) if m and 1000 <= int(m.group(1)) <= 2030 else None


def plausible_years(years: list[int], span: int = WORKING_LIFE) -> tuple[int, int] | None:
    """The artist's plausible working life from the years of their titles: the ``span``-year window
    holding the most of them (ties: from the first such window to the end of the last). A title year
    outside it (`statesmen-no-1280` by Tissot, a battle of 1692 by Benjamin West) names something else."""
    ys = sorted(years)
    if not ys:
        return None
    ends = np.searchsorted(ys, np.asarray(ys) + span, side="right") - np.arange(len(ys))
    best = np.flatnonzero(ends == ends.max())
    return ys[int(best[0])], ys[int(best[-1])] + span


def wikiart_triples(directory: str | Path) -> tuple[TripleSet, dict, dict]:
    """Triples and the published train/val splits from the ArtGAN WikiArt split files.

    One artwork per painting: the file name ``<artist-slug>_<title-slug>.jpg`` (artist slug repaired
    into WikiArt's own slug) identifies it, so a painting filed under two style folders is one node
    with both styles, and each task's split puts it in one part only (the first of train, val).
    Also returns what the import changed (``info``: repaired slugs, merged paintings …).
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise InputError(f"no such directory: {directory}", "pass the folder with style_train.csv, genre_train.csv …")
    tasks = {}
    for task in ("style", "genre", "artist"):
        classes = _find(directory, f"{task}_class")
        splits = {s: _find(directory, f"{task}_{s}") for s in ("train", "val")}
        if classes and any(splits.values()):
            tasks[task] = (_read_class_names(classes), {s: p for s, p in splits.items() if p})
    if "style" not in tasks and "genre" not in tasks:
        raise InputError(f"{directory} has no WikiArt split files",
                         "expected style_class.txt with style_train.csv/style_val.csv, or genre_class + genre_*.csv")

    triples = TripleSet()
    p170, p18, p571, p136, style_p = (ox.NamedNode(S.WDT + "P170"), ox.NamedNode(S.WDT + "P18"),
                                     ox.NamedNode(S.WDT + "P571"), ox.NamedNode(S.WDT + "P136"),
                                     ox.NamedNode(S.AKG + "style"))
    identities: dict[str, tuple[str, str]] = {}  # raw artist slug -> (WikiArt slug, accented name slug)
    works: dict[str, dict] = {}  # painting key `<slug>_<title>` -> {artist, title, paths}
    part_of: dict[str, dict[str, str]] = {}  # task -> painting key -> split part
    conflicts: dict[str, list[str]] = {}  # task -> paintings listed in two parts
    artist_names: dict[str, str] = {}
    for task, (names, splits) in tasks.items():
        if task != "artist":
            for idx, name in names.items():
                _label(_iri(WIKIART_NS, task, name), name.replace("_", " "), triples)
        for split, path in splits.items():
            for rel_path, idx in _read_split(path):
                folder, _, file_name = rel_path.rpartition("/")
                raw_slug, _, title_slug = file_name.rsplit(".", 1)[0].partition("_")
                if raw_slug not in identities:
                    identities[raw_slug] = wikiart_identity(raw_slug)
                slug = identities[raw_slug][0]
                key = f"{slug}_{title_slug}"
                work = works.setdefault(key, {"artist": slug, "title": title_slug, "paths": set(), "iri": None})
                if rel_path not in work["paths"]:
                    work["paths"].add(rel_path)
                    if work["iri"] is None:
                        work["iri"] = _iri(WIKIART_NS, "artwork", key)
                        triples.add(work["iri"], p170, _iri(WIKIART_ARTIST_NS, slug))
                    triples.add(work["iri"], p18, _iri(WIKIART_NS + "image/", *rel_path.split("/")))
                    if folder:  # the image folder is the style, whichever split named the file
                        triples.add(work["iri"], style_p, _iri(WIKIART_NS, "style", folder))
                        _label(_iri(WIKIART_NS, "style", folder), folder.replace("_", " "), triples)
                if task == "genre":
                    triples.add(work["iri"], p136, _iri(WIKIART_NS, task, names[idx]))
                elif task == "artist":
                    artist_names[slug] = names.get(idx, "").replace("_", " ")
                parts = part_of.setdefault(task, {})
                if parts.setdefault(key, split) != split:
                    conflicts.setdefault(task, []).append(key)
    # Years from titles, kept only inside the artist's plausible working life (same data).
    candidates: dict[str, list[tuple[str, int]]] = {}
    for key, work in works.items():
        year = title_year(work["title"])
        if year is not None:
            candidates.setdefault(work["artist"], []).append((key, year))
    rejected = []
    for artist, found in candidates.items():
        lo, hi = plausible_years([y for _, y in found])
        for key, year in found:
            if lo <= year <= hi:
                triples.add(works[key]["iri"], p571, _year_literal(year))
            else:
                rejected.append(f"{key} ({year}; titles of this artist: {lo}–{hi})")
    for work in works.values():
        title = re.sub(r"(-\d{4}(-\d{1,2})?)?(\(\d+\))?$", "", work["title"])
        _label(work["iri"], slug_to_name(title) or work["title"], triples)
    for raw_slug, (slug, name_slug) in identities.items():
        _label(_iri(WIKIART_ARTIST_NS, slug), artist_names.get(slug) or slug_to_name(name_slug), triples)
    splits = {task: {s: sorted(works[k]["iri"].value for k, p in parts.items() if p == s)
                     for s in tasks[task][1]} for task, parts in part_of.items()}
    info = {
        "repaired_slugs": {raw: slug for raw, (slug, _) in sorted(identities.items()) if raw != slug},
        "merged_paintings": sorted(k for k, w in works.items() if len(w["paths"]) > 1),
        "split_conflicts": {t: sorted(set(v)) for t, v in sorted(conflicts.items())},
        "rejected_title_years": sorted(rejected),
    }
    return triples, splits, info


# ---------------------------------------------------------------------- ArtGraph
# (src, rel, dst) of ArtGraph (v1 and v2 relation names) → (artkg predicate, reversed?, src type, dst type)
_ARTGRAPH_REL: dict[tuple[str, str], tuple[str, bool]] = {}
for _rels, _pred, _rev in [
    (("author", "createdby"), S.WDT + "P170", False),
    (("style", "hasstyle"), S.AKG + "style", False),
    (("genre", "hasgenre"), S.WDT + "P136", False),
    (("media", "madeof"), S.WDT + "P186", False),
    (("about",), S.WDT + "P180", False),
    (("period", "hasperiod"), S.AKG + "period", False),
    (("serie", "partof"), S.AKG + "serie", False),
    (("elicits",), S.AKG + "elicits", False),
]:
    for _rel in _rels:
        _ARTGRAPH_REL[("artwork", _rel)] = (_pred, _rev)
for _rels, _pred, _rev in [
    # ArtGraph's (a)-[:influenced]->(b) reads "a influenced b", i.e. b wdt:P737 a.
    (("influenced",), S.WDT + "P737", True),
    (("teacher", "trainedby"), S.WDT + "P1066", False),
    (("movement", "belongstomovement"), S.WDT + "P135", False),
    (("field", "belongstofield"), S.AKG + "field", False),
    (("training", "relatedtoschool"), S.AKG + "training", False),
    (("patrons", "haspatron"), S.AKG + "patron", False),
    (("subject", "hassubject"), S.AKG + "subject", False),
]:
    for _rel in _rels:
        _ARTGRAPH_REL[("artist", _rel)] = (_pred, _rev)
_ARTGRAPH_REL[("people", "patrons")] = (S.AKG + "patron", True)

# ArtGraph node type → artkg node type (only where they differ).
ARTGRAPH_TYPES = {"media": "material", "tag": "subject", "gallery": "collection", "city": "place",
                  "country": "place", "people": "patron"}


def _artgraph_predicate(src: str, rel: str, dst: str) -> tuple[str, bool] | None:
    if (src, rel) in _ARTGRAPH_REL:
        return _ARTGRAPH_REL[(src, rel)]
    if src == "artwork" and rel in ("locatedin", "completedin"):
        return (S.WDT + "P195", False) if dst == "gallery" else (S.WDT + "P276", False)
    if src == "gallery" and dst in ("city", "country"):
        return S.WDT + "P131", False
    if src == "city" and dst == "country":
        return S.WDT + "P17", False
    return None


def _read_mapping(path: Path) -> dict[int, str]:
    with open(path, encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    if not rows:
        raise InputError(f"{path} is empty", "export the mapping with `ent idx,ent name` rows")
    start = 0 if rows[0][0].strip().isdigit() else 1
    try:
        return {int(r[0]): ",".join(r[1:]).strip() for r in rows[start:] if r}
    except ValueError:
        raise InputError(f"{path} is not an OGB mapping file (`ent idx,ent name`)", "check the ArtGraph export") from None


def _count_rows(path: Path) -> int:
    if not path.is_file():
        return 0
    with open(path, "rb") as fh:
        return sum(1 for line in fh if line.strip())


def artgraph_triples(directory: str | Path) -> tuple[TripleSet, dict]:
    """Triples from an ArtGraph OGB-style raw export, plus its artwork splits when present."""
    directory = Path(directory)
    mapping_dir = directory / "mapping"
    relations_dir = directory / "raw" / "relations"
    if not mapping_dir.is_dir() or not relations_dir.is_dir():
        raise InputError(f"{directory} is not an ArtGraph raw export",
                         "expected mapping/<type>_entidx2name.csv and raw/relations/<src>___<rel>___<dst>/edge.csv")
    names: dict[str, dict[int, str]] = {}
    for path in sorted(mapping_dir.glob("*_entidx2name.csv")):
        names[path.name[: -len("_entidx2name.csv")].lower()] = _read_mapping(path)
    if "artwork" not in names and "artist" not in names:
        raise InputError(f"{mapping_dir} has no artwork or artist mapping", "check the ArtGraph export")

    def node(ag_type: str, idx: int) -> ox.NamedNode:
        return _iri(ARTGRAPH_NS, ARTGRAPH_TYPES.get(ag_type, ag_type), names[ag_type][idx])

    triples = TripleSet()
    skipped: Counter = Counter()  # relation folder -> edge rows left out
    for rel_dir in sorted(p for p in relations_dir.iterdir() if p.is_dir()):
        parts = rel_dir.name.split("___")
        if len(parts) != 3:
            raise InputError(f"unexpected relation folder {rel_dir.name}", "name it <src>___<rel>___<dst>")
        src, rel, dst = (p.lower() for p in parts)
        mapped = _artgraph_predicate(src, rel, dst)
        if mapped is None or src not in names or dst not in names:
            skipped[rel_dir.name] = _count_rows(rel_dir / "edge.csv")
            continue
        predicate, reverse = mapped
        pred_node = ox.NamedNode(predicate)
        if not (rel_dir / "edge.csv").is_file():
            raise InputError(f"{rel_dir} has no edge.csv", "export each relation as raw/relations/<src>___<rel>___<dst>/edge.csv")
        with open(rel_dir / "edge.csv", encoding="utf-8", newline="") as fh:
            for line_no, row in enumerate(csv.reader(fh), start=1):
                if not row:
                    continue
                try:
                    a, b = node(src, int(row[0])), node(dst, int(row[1]))
                except (ValueError, KeyError, IndexError):
                    raise InputError(f"{rel_dir / 'edge.csv'}:{line_no}: bad edge row {row!r}",
                                     "each row must be `src_idx,dst_idx` with ids from the mapping files") from None
                triples.add(*((b, pred_node, a) if reverse else (a, pred_node, b)))
    for ag_type, table in names.items():
        for idx, name in table.items():
            text = name.rsplit(".", 1)[0] if ag_type == "artwork" else name
            if ag_type in ("artist", "artwork"):
                text = slug_to_name(text.split("_", 1)[-1] if ag_type == "artwork" else text)
            _label(node(ag_type, idx), text, triples)
    if skipped:
        log.warning("skipped ArtGraph relations outside the artkg schema: %s", ", ".join(sorted(skipped)))
    splits = {}
    missing: list[str] = []  # split rows whose artwork is not in the mapping
    if "artwork" in names:
        by_name = {name: node("artwork", idx).value for idx, name in names["artwork"].items()}
        for split in ("train", "valid", "test"):
            # split/<split>.csv lists artwork file names (`idx,name`, as published with ArtGraph);
            # neo4j2raw's export writes raw/split/artwork/<split>.csv with artwork indices instead.
            by_names, by_ids = directory / "split" / f"{split}.csv", directory / "raw" / "split" / "artwork" / f"{split}.csv"
            if by_names.is_file():
                with open(by_names, encoding="utf-8", newline="") as fh:
                    rows = [r for r in csv.reader(fh) if r and not (len(r) > 1 and not r[0].strip())]  # header ",0"
                members = [by_name[r[-1]] for r in rows if r[-1] in by_name]
                missing += [f"{split}: {r[-1]}" for r in rows if r[-1] not in by_name]
            elif by_ids.is_file():
                with open(by_ids, encoding="utf-8", newline="") as fh:
                    rows = [r for r in csv.reader(fh) if r and r[0].strip()]
                try:
                    members = [node("artwork", int(r[0])).value for r in rows]
                except (ValueError, KeyError):
                    raise InputError(f"{by_ids} is not a list of artwork indices",
                                     "each row must be an index from mapping/artwork_entidx2name.csv") from None
            else:
                continue
            splits.setdefault("artwork", {})[split] = sorted(set(members))
    dropped = {"ArtGraph split rows whose artwork is not in mapping/artwork_entidx2name.csv": missing,
               "ArtGraph edges in relations outside the artkg schema":
                   (sum(skipped.values()), [f"{name}: {n:,} edges" for name, n in sorted(skipped.items())])}
    return triples, {"splits": splits, "skipped_relations": sorted(skipped), "dropped": dropped}
