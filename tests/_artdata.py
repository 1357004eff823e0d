"""Real data from ../shared/data turned into importer inputs, and the facts those inputs must give.

Everything here is computed straight from the raw files with the standard library (csv, json,
urllib) and networkx — never with artkg — so the tests compare artkg against an independent answer.

* :func:`pryce_turtle` — the Pryce22/ARTGRAPH Wikidata rows as Turtle (``wd:``/``wdt:`` prefixes);
  :func:`pryce_expected` — nodes and edges those rows must give under the schema's typing rules.
* :func:`artonwikidata_ntriples` — the first rows of the artonwikidata painting table as N-Triples.
* :func:`read_wikiart` — the ArtGAN WikiArt split files, parsed independently; :func:`read_wikiart_artists`
  — WikiArt's artist pages (slug, name, life span) from the relations scrape.
* :func:`write_artgraph_export` — an OGB-style ArtGraph raw export assembled from the real ArtGraph
  test/valid split file names joined with the WikiArt style files.
* :func:`nx_influence` / :func:`nx_reach` — the influence graph and breadth-first distances in networkx.
"""
from __future__ import annotations

import csv
import json
import re
import shutil
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import networkx as nx

WD = "http://www.wikidata.org/entity/"
WDT = "http://www.wikidata.org/prop/direct/"
RDFS = "http://www.w3.org/2000/01/rdf-schema#"
RDFS_LABEL = RDFS + "label"
XSD = "http://www.w3.org/2001/XMLSchema#"
AKG = "https://w3id.org/artkg/vocab#"
P737, P1066, P135 = WDT + "P737", WDT + "P1066", WDT + "P135"


def rdf_string(text: str) -> str:
    """A Turtle / N-Triples string literal (JSON string escapes are a subset of both)."""
    return json.dumps(text, ensure_ascii=False)


# ---------------------------------------------------------------- Pryce22 Wikidata rows
@dataclass
class PryceExpected:
    triples: set[tuple[str, str, str]]  # distinct (artist, property IRI, target)
    labels: dict[str, str]
    artists: set[str]
    movements: set[str]
    edges: dict[str, set[tuple[str, str]]]  # influenced_by / student_of / movement
    dropped: dict[str, int] = field(default_factory=dict)  # property -> rows no edge type fits


def load_pryce(links: Path, seeds: Path) -> tuple[list[dict], list[dict]]:
    return json.loads(links.read_text(encoding="utf-8")), json.loads(seeds.read_text(encoding="utf-8"))


def pryce_turtle(rows: list[dict], seeds: list[dict], out: Path) -> Path:
    """Write the rows as Turtle: ``wd:A wdt:Pxxx wd:B .`` plus one English label per entity."""
    def qname(iri: str, ns: str, prefix: str) -> str:
        assert iri.startswith(ns), iri
        return f"{prefix}:{iri[len(ns):]}"

    labels = {WD + s["qid"]: s["label"] for s in seeds}
    labels.update({r["target"]: r["targetLabel"] for r in rows})  # targets keep their row label
    lines = [f"@prefix wd: <{WD}> .", f"@prefix wdt: <{WDT}> .", f"@prefix rdfs: <{RDFS}> .", ""]
    for r in rows:  # duplicates kept on purpose: the importer must de-duplicate
        lines.append(f"{qname(r['artist'], WD, 'wd')} {qname(r['prop'], WDT, 'wdt')} {qname(r['target'], WD, 'wd')} .")
    for iri, label in sorted(labels.items()):
        lines.append(f"{qname(iri, WD, 'wd')} rdfs:label {rdf_string(label)}@en .")
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return out


def pryce_expected(rows: list[dict], seeds: list[dict]) -> PryceExpected:
    """What the rows give under the documented typing (schema.TYPE_RULES, strongest first): either
    end of P1066 is an artist; a P135 object is a movement; then either end of P737 and any P135
    subject left untyped is an artist. An edge is kept only where its schema types fit."""
    triples = {(r["artist"], r["prop"], r["target"]) for r in rows}
    labels = {WD + s["qid"]: s["label"] for s in seeds}
    labels.update({r["target"]: r["targetLabel"] for r in rows})
    strong = {x for a, p, t in triples if p == P1066 for x in (a, t)}
    movements = {t for a, p, t in triples if p == P135} - strong
    weak = {x for a, p, t in triples if p == P737 for x in (a, t)} | {a for a, p, t in triples if p == P135}
    artists = strong | (weak - movements)
    edges = {
        "influenced_by": {(a, t) for a, p, t in triples if p == P737 and a in artists and t in artists},
        "influenced_by_movement": {(a, t) for a, p, t in triples if p == P737 and a in artists and t in movements},
        "student_of": {(a, t) for a, p, t in triples if p == P1066},
        "movement": {(a, t) for a, p, t in triples if p == P135 and a in artists and t in movements},
    }
    dropped = {"P135": sum(1 for a, p, t in triples if p == P135) - len(edges["movement"])}
    return PryceExpected(triples, labels, artists, movements, edges, dropped)


# ---------------------------------------------------------------- artonwikidata paintings
ARTIST_NS = "https://example.org/artonwikidata/artist/"
FACET_NS = "https://example.org/artonwikidata/"
FACETS = {"_genre": ("genre", "P136"), "_material": ("material", "P186"),
          "_movement": ("movement", "P135"), "_museum": ("collection", "P195")}


def split_values(cell: str) -> list[str]:
    return [v.strip() for v in cell.split(", ") if v.strip()]


def artist_iri(label: str) -> str:
    return ARTIST_NS + quote(label, safe="")


def facet_iri(kind: str, label: str) -> str:
    return f"{FACET_NS}{kind}/{quote(label, safe='')}"


def read_artonwikidata(path: Path, n: int) -> list[dict]:
    with open(path, encoding="utf-8", newline="") as fh:
        return [row for _, row in zip(range(n), csv.DictReader(fh))]


def artonwikidata_ntriples(rows: list[dict], out: Path) -> Path:
    """painting wdt:P170 artist (IRI minted from the _artist label), P571 year, P136/P186/P135/P195
    from the facet columns, and English labels for everything."""
    lines = []

    def label(iri: str, text: str) -> None:
        lines.append(f"<{iri}> <{RDFS_LABEL}> {rdf_string(text)}@en .")

    for row in rows:
        work = WD + row["id"]
        label(work, row["_title"])
        for name in split_values(row["_artist"]):
            lines.append(f"<{work}> <{WDT}P170> <{artist_iri(name)}> .")
            label(artist_iri(name), name)
        if row["year"].strip():
            lines.append(f'<{work}> <{WDT}P571> "{int(row["year"]):04d}-01-01T00:00:00Z"^^<{XSD}dateTime> .')
        for column, (kind, prop) in FACETS.items():
            for value in split_values(row[column]):
                lines.append(f"<{work}> <{WDT}{prop}> <{facet_iri(kind, value)}> .")
                label(facet_iri(kind, value), value)
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return out


# ---------------------------------------------------------------- WikiArt (ArtGAN splits)
@dataclass
class WikiArt:
    classes: dict[str, dict[int, str]]  # task -> index -> class name
    rows: dict[tuple[str, str], list[tuple[str, int]]]  # (task, split) -> (path, class index)

    @property
    def paths(self) -> set[str]:
        return {p for rows in self.rows.values() for p, _ in rows}

    def labels_of(self, task: str) -> dict[str, set[str]]:
        found: dict[str, set[str]] = defaultdict(set)
        for (t, _), rows in self.rows.items():
            if t == task:
                for p, idx in rows:
                    found[p].add(self.classes[task][idx])
        return found


def read_wikiart(directory: Path) -> WikiArt:
    classes = {}
    for task, name in (("style", "style_class.txt"), ("genre", "genre_class"), ("artist", "artist_class")):
        table = {}
        for line in (directory / name).read_text(encoding="utf-8").splitlines():
            if line.strip():
                idx, cls = line.split(" ", 1)
                table[int(idx)] = cls.strip()
        classes[task] = table
    rows = {}
    for task, split, name in (("style", "train", "style_train.csv"), ("style", "val", "style_val.csv"),
                              ("genre", "train", "genre_train.csv"), ("genre", "val", "genre_val.csv"),
                              ("artist", "train", "artist_train"), ("artist", "val", "artist_val")):
        found = []
        with open(directory / name, encoding="utf-8", newline="") as fh:
            for row in csv.reader(fh):
                if row and row[0].strip() and not row[0].startswith("(Path"):
                    found.append((row[0].strip(), int(row[-1])))
        rows[(task, split)] = found
    return WikiArt(classes, rows)


def wikiart_artist_slug(path: str) -> str:
    return path.rsplit("/", 1)[-1].split("_", 1)[0]


def undo_latin1(slug: str) -> str:
    """A mojibake slug as its UTF-8 bytes: ``joaquã\xadn-sorolla`` → ``joaquín-sorolla`` (``ã``/``â``
    are the lower-cased lead bytes Ã/Â); plain slugs are returned unchanged."""
    if not any(ord(ch) > 127 for ch in slug):
        return slug
    return slug.replace("ã", "Ã").replace("â", "Â").encode("latin-1").decode("utf-8").strip("\u00a0")


@dataclass
class WikiArtArtist:
    slug: str  # WikiArt's slug (its page /en/<slug>)
    name: str  # display name, e.g. "Joaquín Sorolla"
    life: str  # "1863 - 1923", "born 1937", "c.1610 - c.1650" …


def read_wikiart_artists(path: Path) -> dict[str, WikiArtArtist]:
    """The scraped WikiArt artist pages (wikiart_artist_relations/artists.csv), by slug."""
    with open(path, encoding="utf-8", newline="") as fh:
        return {r["artistUrl"].rsplit("/", 1)[-1]: WikiArtArtist(r["artistUrl"].rsplit("/", 1)[-1], r["title"], r["year"])
                for r in csv.DictReader(fh)}


def life_years(life: str) -> tuple[int, int] | None:
    """(birth, death) from WikiArt's life span text; death = birth + 100 for the living; None if unclear."""
    found = [int(y) for y in re.findall(r"\b(\d{3,4})\b", life)]
    if "BC" in life or not found:
        return None
    return (found[0], found[1]) if len(found) > 1 else (found[0], found[0] + 100)


# ---------------------------------------------------------------- ArtGraph raw export
@dataclass
class ArtGraphExport:
    root: Path
    artworks: list[str]  # artwork file names, index order
    artists: list[str]
    styles: list[str]
    author: list[tuple[int, int]]
    style: list[tuple[int, int]]
    influenced: list[tuple[str, str]]  # (a, b): a influenced b, as ArtGraph stores it
    trainedby: list[tuple[str, str]]  # (student, teacher)
    split_members: dict[str, set[str]]  # split -> artwork file names


def _write_rows(path: Path, rows, header: list[str] | None = None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        if header:
            writer.writerow(header)
        writer.writerows(rows)


def write_artgraph_export(root: Path, artgraph_dir: Path, wikiart_dir: Path, influence_dict: Path,
                          per_split: int = 300) -> ArtGraphExport:
    """OGB layout from real files: the first ``per_split`` artworks of the published ArtGraph test and
    valid splits whose file name is in a WikiArt style split (the folder gives the style), their
    authors (the artist slug of the file name), a few real influence links (CLOIR, WikiArt-scraped
    ``influenced by`` lists, stored ArtGraph-style as influencer -[:influenced]-> influencee), two
    teacher links under the v2 name ``trainedby``, and relation folders artkg does not know."""
    style_of: dict[str, set[str]] = defaultdict(set)
    for name in ("style_train.csv", "style_val.csv"):
        with open(wikiart_dir / name, encoding="utf-8", newline="") as fh:
            for row in csv.reader(fh):
                folder, _, file_name = row[0].rpartition("/")
                style_of[file_name].add(folder.replace("_", " "))
    split_members: dict[str, set[str]] = {}
    picked: list[str] = []
    for split in ("test", "valid"):
        with open(artgraph_dir / f"split_{split}.csv", encoding="utf-8", newline="") as fh:
            names = [r[1] for r in csv.reader(fh) if len(r) == 2 and r[0].strip()]
        multi = [n for n in names if len(style_of.get(n, ())) > 1][:5]  # a few with two styles
        chosen = multi + [n for n in names if n in style_of and n not in multi][:per_split - len(multi)]
        split_members[split] = set(chosen)
        picked += chosen
    artworks = sorted(set(picked))
    artists = sorted({n.split("_", 1)[0] for n in artworks})
    influenced_by = json.loads(influence_dict.read_text(encoding="utf-8"))
    influenced: list[tuple[str, str]] = []
    for artist in artists:
        for influencer in influenced_by.get(artist, [])[:3]:
            influenced.append((influencer, artist))
        if len(influenced) >= 8:
            break
    trainedby = [("claude-monet", "eugene-boudin"), ("pierre-auguste-renoir", "charles-gleyre")]
    artists = sorted(set(artists) | {x for pair in influenced + trainedby for x in pair})
    styles = sorted({s for n in artworks for s in style_of[n]})
    aw, ar, st = ({n: i for i, n in enumerate(v)} for v in (artworks, artists, styles))
    author = [(aw[n], ar[n.split("_", 1)[0]]) for n in artworks]
    style = [(aw[n], st[s]) for n in artworks for s in sorted(style_of[n])]

    header = ["ent idx", "ent name"]
    _write_rows(root / "mapping" / "artwork_entidx2name.csv", list(enumerate(artworks)), header)
    _write_rows(root / "mapping" / "artist_entidx2name.csv", list(enumerate(artists)), header)
    _write_rows(root / "mapping" / "style_entidx2name.csv", list(enumerate(styles)), header)
    _write_rows(root / "mapping" / "auction_entidx2name.csv", [(0, "christies")], header)
    rel = root / "raw" / "relations"
    _write_rows(rel / "artwork___author___artist" / "edge.csv", author)
    _write_rows(rel / "artwork___style___style" / "edge.csv", style)
    _write_rows(rel / "artist___influenced___artist" / "edge.csv", [(ar[a], ar[b]) for a, b in influenced])
    _write_rows(rel / "artist___trainedby___artist" / "edge.csv", [(ar[a], ar[b]) for a, b in trainedby])
    _write_rows(rel / "artwork___auction___auction" / "edge.csv", [(0, 0)])  # v1 relation artkg skips
    _write_rows(rel / "user___rates___artwork" / "edge.csv", [(0, 0)])  # v2 relation, no user mapping
    (root / "split").mkdir()
    for split in ("test", "valid"):  # the published files as they are: header ",0", then `index,file name`
        shutil.copyfile(artgraph_dir / f"split_{split}.csv", root / "split" / f"{split}.csv")
    return ArtGraphExport(root, artworks, artists, styles, author, style, influenced, trainedby, split_members)


# ---------------------------------------------------------------- influence in networkx
def nx_influence(pairs) -> nx.DiGraph:
    """``(a, b)`` for every ``a wdt:P737 b``: an edge a → b (towards the influencer)."""
    graph = nx.DiGraph()
    graph.add_edges_from(pairs)
    return graph


def nx_reach(graph: nx.DiGraph, source: str, degree: int, direction: str = "influencers") -> dict[str, int]:
    """Every node within ``degree`` hops of ``source`` (not itself) with its shortest distance."""
    g = graph if direction == "influencers" else graph.reverse(copy=False)
    if source not in g:
        return {}
    dist = nx.single_source_shortest_path_length(g, source, cutoff=degree)
    dist.pop(source)
    return dist


def p737_pairs_from_ntriples(path: Path) -> set[tuple[str, str]]:
    """The P737 pairs of an N-Triples file, parsed with rdflib (only the P737 lines)."""
    import rdflib

    text = "".join(line for line in path.read_text(encoding="utf-8").splitlines(keepends=True)
                   if f"<{P737}>" in line)
    graph = rdflib.Graph()
    graph.parse(data=text, format="nt")
    return {(str(s), str(o)) for s, o in graph.subject_objects(rdflib.URIRef(P737))}


def edge_pairs(graph, key: tuple[str, str, str]) -> set[tuple[str, str]]:
    """The edges of one type as (source IRI, target IRI) pairs."""
    src_iris, dst_iris = graph.iris.get(key[0], []), graph.iris.get(key[2], [])
    return {(src_iris[a], dst_iris[b]) for a, b in graph.edge_index(key).t().tolist()}


def targets_of(graph, key, iri: str) -> set[str]:
    """Labels of the targets of ``iri`` along edge type ``key``."""
    src_t, _, dst_t = key
    i = graph.index_of(src_t, iri)
    assert i is not None, iri
    ei = graph.edge_index(key).numpy()
    return {graph.label_of(dst_t, b) for b in ei[1][ei[0] == i].tolist()}


def slug_name(slug: str) -> str:
    """A WikiArt slug as the name WikiArt shows (``pablo-picasso`` → ``Pablo Picasso``)."""
    return " ".join(w.capitalize() for w in slug.replace("_", "-").split("-") if w)
