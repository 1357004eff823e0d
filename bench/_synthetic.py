"""Fast, deterministic generators of benchmark inputs in the Wikidata vocabulary.

:func:`write_art_ntriples` writes a canonical, sorted N-Triples file (the same form as a graph
directory's ``graph.nt``: one ``<s> <p> <o> .`` per line, as ``pyoxigraph.Triple.__str__`` prints it)
with a realistic shape: artists with influences (``wdt:P737``), teachers (``P1066``), movements
(``P135``), life dates (``P569``/``P570``, a few BCE, a few with two candidate dates), places
(``P19``/``P20``), labels in several languages and descriptions; artworks with creator (``P170``),
inception (``P571``), genre (``P136``), depicted subjects (``P180``), materials (``P186``),
collection (``P195``), image (``P18``) and labels; a share of influence statements with
references (``p:``/``ps:``/``prov:``/``pr:``); and triples outside the schema (``P31``, ``P106``,
``schema:dateModified``) as a real extract has them. Some labels contain quotes, so the file
has escaped literals too.

:func:`influence_edges` draws a skewed influence graph where influence only points from a later
artist to an earlier one (index order = birth order).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pyoxigraph as ox

WD = "http://www.wikidata.org/entity/"
WDT = "http://www.wikidata.org/prop/direct/"
P = "http://www.wikidata.org/prop/"
PS = "http://www.wikidata.org/prop/statement/"
PR = "http://www.wikidata.org/prop/reference/"
PROV_DERIVED = "http://www.w3.org/ns/prov#wasDerivedFrom"
LABEL = "http://www.w3.org/2000/01/rdf-schema#label"
DESCRIPTION = "http://schema.org/description"
MODIFIED = "http://schema.org/dateModified"
XSD_DATETIME = "http://www.w3.org/2001/XMLSchema#dateTime"
COMMONS = "http://commons.wikimedia.org/wiki/Special:FilePath/"

GIVEN = ("Anselm", "Pieter", "Giovanni", "Maria", "Clara", "Jacob", "Elise", "Lorenzo", "Sofia",
         "Hendrik", "Isabella", "Matthias", "Agnes", "Francesco", "Camille", "Diego", "Helena",
         "Otto", "Marguerite", "Tomas", "Beatrix", "Nicolas", "Judith", "Felix", "Artemisia")
HEADS = ("Ver", "Mon", "Cas", "Del", "Bra", "Fon", "Gal", "Hal", "Lin", "Mar", "Ros", "San", "Tor")
TAILS = ("que", "ni", "ghe", "zano", "mont", "ens", "ard", "ini", "aux", "berg", "ez", "ovic")
TITLES = ("Portrait of a Lady", "Landscape with a River", "Still Life with Fruit", "View of the Harbour",
          "Composition", "Madonna and Child", "The Card Players", "Self-Portrait", "Winter Evening")


def influence_edges(n: int, mean: float, rng: np.random.Generator, *, min_gap: int = 1,
                    window: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``(influencee, influencer)`` pairs, influencer index < influencee index (earlier → later).

    Each artist gets ``Poisson(mean)`` influencers (capped by how many earlier artists exist),
    chosen with a heavy-tailed popularity (Zipf-like weights over a random permutation), so a few
    masters influence many; ``window`` (default ``n // 10``) keeps most influence recent.
    Duplicate pairs are removed.
    """
    window = window or max(10, n // 10)
    popularity = rng.pareto(1.2, size=n) + 1.0  # heavy tail
    k = rng.poisson(mean, size=n)
    # Vectorised: draw candidates uniformly in [i - window, i - min_gap], 4 per edge, keep the
    # most popular candidate of each group (a tournament: skew without a Python loop per edge).
    who = np.repeat(np.arange(n), k)
    lo = np.maximum(who - window, 0)
    hi = who - min_gap
    ok = hi >= 0
    who, lo, hi = who[ok], lo[ok], hi[ok]
    cand = lo[:, None] + (rng.random((len(who), 4)) * (hi - lo + 1)[:, None]).astype(np.int64)
    best = cand[np.arange(len(who)), popularity[cand].argmax(axis=1)]
    # A share of influences reaches far back (old masters): uniform over all earlier artists,
    # weighted by popularity through the same tournament.
    far = rng.random(len(who)) < 0.15
    cand_far = (rng.random((int(far.sum()), 4)) * (who[far] - min_gap + 1)[:, None]).astype(np.int64)
    best[far] = cand_far[np.arange(len(cand_far)), popularity[cand_far].argmax(axis=1)]
    pairs = np.unique(np.stack([who, best], axis=1), axis=0)
    return pairs[:, 0], pairs[:, 1]


def _lit(value: str, lang: str | None = None) -> str:
    if '"' in value or "\\" in value:
        return str(ox.Literal(value, language=lang)) if lang else str(ox.Literal(value))
    return f'"{value}"@{lang}' if lang else f'"{value}"'


def _date(year: int) -> str:
    text = f"-{-year:04d}" if year < 0 else f"{year:04d}"
    return f'"{text}-01-01T00:00:00Z"^^<{XSD_DATETIME}>'


def art_lines(n_artists: int, works_per_artist: float = 8.0, seed: int = 0,
              influence_mean: float = 2.5) -> list[str]:
    """The lines (canonical N-Triples, unsorted) of an art world with ``n_artists`` artists."""
    rng = np.random.default_rng(seed)
    n = n_artists
    artist = [f"<{WD}Q{100000 + 3 * i}>" for i in range(n)]
    # Index order = birth order; a few ancient artists (BCE dates), most born 1200–1990.
    births = np.sort(np.where(rng.random(n) < 0.02, rng.integers(-500, 0, size=n), rng.integers(1200, 1990, size=n)))
    deaths = births + rng.integers(25, 95, size=n)
    n_mov, n_genre, n_subj, n_mat, n_coll, n_place = 60, 40, 400, 30, 300, 500
    movement = [f"<{WD}Q{10 + i}>" for i in range(n_mov)]
    genre = [f"<{WD}Q{1000 + i}>" for i in range(n_genre)]
    subject = [f"<{WD}Q{2000 + i}>" for i in range(n_subj)]
    material = [f"<{WD}Q{5000 + i}>" for i in range(n_mat)]
    collection = [f"<{WD}Q{6000 + i}>" for i in range(n_coll)]
    place = [f"<{WD}Q{8000 + i}>" for i in range(n_place)]
    p = {k: f"<{WDT}{k}>" for k in ("P31", "P106", "P737", "P1066", "P135", "P136", "P569", "P570", "P19",
                                    "P20", "P170", "P571", "P180", "P186", "P195", "P18", "P131", "P17")}
    label, desc, modified = f"<{LABEL}>", f"<{DESCRIPTION}>", f"<{MODIFIED}>"
    human, painting, painter = f"<{WD}Q5>", f"<{WD}Q3305213>", f"<{WD}Q1028181>"
    out: list[str] = []
    add = out.append

    # Classes: labels for the metadata nodes, collections in places, places in countries.
    for kind, iris in (("movement", movement), ("genre", genre), ("subject", subject),
                       ("material", material), ("collection", collection), ("place", place)):
        for j, iri in enumerate(iris):
            add(f'{iri} {label} "{kind} {j}"@en .\n')
            if kind == "collection":
                add(f"{iri} {p['P131']} {place[j % n_place]} .\n")
            if kind == "place" and j >= 50:
                add(f"{iri} {p['P17']} {place[j % 50]} .\n")

    names = [f"{GIVEN[a]} {HEADS[b]}{TAILS[c]}" for a, b, c in
             zip(rng.integers(0, len(GIVEN), n), rng.integers(0, len(HEADS), n), rng.integers(0, len(TAILS), n))]
    quoted = rng.random(n) < 0.01
    fr = rng.random(n) < 0.4
    de = rng.random(n) < 0.25
    two_births = rng.random(n) < 0.03
    n_mov_of = rng.integers(0, 3, size=n)
    mov_pick = rng.integers(0, n_mov, size=(n, 2))
    has_teacher = rng.random(n) < 0.3
    bp, dp = rng.integers(0, n_place, size=n), rng.integers(0, n_place, size=n)
    for i in range(n):
        a = artist[i]
        name = names[i] + (' "the Elder"' if quoted[i] else "")
        add(f"{a} {label} {_lit(name, 'en')} .\n")
        if fr[i]:
            add(f"{a} {label} {_lit(name, 'fr')} .\n")
        if de[i]:
            add(f"{a} {label} {_lit(name, 'de')} .\n")
        add(f'{a} {desc} "painter ({births[i]}–{deaths[i]})"@en .\n')
        add(f"{a} {p['P31']} {human} .\n")
        add(f"{a} {p['P106']} {painter} .\n")
        add(f"{a} {p['P569']} {_date(int(births[i]))} .\n")
        if two_births[i]:
            add(f"{a} {p['P569']} {_date(int(births[i]) + 1)} .\n")
        add(f"{a} {p['P570']} {_date(int(deaths[i]))} .\n")
        add(f"{a} {p['P19']} {place[bp[i]]} .\n")
        add(f"{a} {p['P20']} {place[dp[i]]} .\n")
        for m in set(mov_pick[i, :n_mov_of[i]].tolist()):
            add(f"{a} {p['P135']} {movement[m]} .\n")
        add(f'{a} {modified} "2024-05-0{i % 9 + 1}T00:00:00Z"^^<{XSD_DATETIME}> .\n')

    who, by = influence_edges(n, influence_mean, rng)
    with_ref = rng.random(len(who)) < 0.2
    for e, (i, j) in enumerate(zip(who.tolist(), by.tolist())):
        add(f"{artist[i]} {p['P737']} {artist[j]} .\n")
        if with_ref[e]:
            stmt = f"<{WD}statement/Q{100000 + 3 * i}-{e}>"
            ref = f"<{WD}reference/R{e}>"
            add(f"{artist[i]} <{P}P737> {stmt} .\n")
            add(f"{stmt} <{PS}P737> {artist[j]} .\n")
            add(f"{stmt} <{PROV_DERIVED}> {ref} .\n")
            add(f"{ref} <{PR}P248> <{WD}Q{900 + e % 7}> .\n")
    for i in np.flatnonzero(has_teacher).tolist():
        if i > 0:
            add(f"{artist[i]} {p['P1066']} {artist[int(rng.integers(max(0, i - 50), i))]} .\n")

    # Artworks: 1 + Poisson(works_per_artist - 1) per artist, Wikidata ids after the artists'.
    n_works = 1 + rng.poisson(works_per_artist - 1, size=n)
    work_artist = np.repeat(np.arange(n), n_works)
    m = len(work_artist)
    year = births[work_artist] + 20 + (rng.random(m) * np.maximum(deaths - births - 20, 1)[work_artist]).astype(int)
    g = rng.integers(0, n_genre, size=m)
    n_s = rng.integers(1, 4, size=m)
    s_pick = rng.integers(0, n_subj, size=(m, 3))
    n_m = rng.integers(1, 3, size=m)
    m_pick = rng.integers(0, n_mat, size=(m, 2))
    coll = rng.integers(0, n_coll, size=m)
    no_coll = rng.random(m) < 0.08
    title_pick = rng.integers(0, len(TITLES), size=m)
    quoted_w = rng.random(m) < 0.02
    fr_w = rng.random(m) < 0.3
    for w in range(m):
        x = f"<{WD}Q{1000000 + w}>"
        title = TITLES[title_pick[w]] + (' "Study"' if quoted_w[w] else f" {w}")
        add(f"{x} {label} {_lit(title, 'en')} .\n")
        if fr_w[w]:
            add(f"{x} {label} {_lit(title, 'fr')} .\n")
        add(f"{x} {p['P31']} {painting} .\n")
        add(f"{x} {p['P170']} {artist[work_artist[w]]} .\n")
        add(f"{x} {p['P571']} {_date(int(year[w]))} .\n")
        add(f"{x} {p['P136']} {genre[g[w]]} .\n")
        for s in set(s_pick[w, :n_s[w]].tolist()):
            add(f"{x} {p['P180']} {subject[s]} .\n")
        for t in set(m_pick[w, :n_m[w]].tolist()):
            add(f"{x} {p['P186']} {material[t]} .\n")
        if not no_coll[w]:
            add(f"{x} {p['P195']} {collection[coll[w]]} .\n")
        add(f"{x} {p['P18']} <{COMMONS}Artwork_{w}.jpg> .\n")
    return out


def artists_for_triples(n_triples: int, works_per_artist: float = 8.0) -> int:
    """About how many artists give ``n_triples`` triples (measured: ~10.7 per artwork, ~13.5 per artist)."""
    per_artist = 13.5 + works_per_artist * 10.7
    return max(20, round((n_triples - 3000) / per_artist))


def write_art_ntriples(path: str | Path, n_triples: int = 1_000_000, seed: int = 0,
                       works_per_artist: float = 8.0) -> int:
    """Write about ``n_triples`` sorted canonical N-Triples to ``path``; returns the exact count."""
    lines = sorted(set(art_lines(artists_for_triples(n_triples, works_per_artist), works_per_artist, seed)))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as fh:
        fh.writelines(lines)
    return len(lines)


def write_influence_ntriples(path: str | Path, n_artists: int = 100_000, mean: float = 2.5,
                             seed: int = 0) -> dict:
    """An influence-only graph: ``n_artists`` artists (index order = birth order) with labels,
    birth dates and ``wdt:P737`` edges from :func:`influence_edges`. Returns counts and the IRIs."""
    rng = np.random.default_rng(seed)
    iris = [f"{WD}Q{100000 + 3 * i}" for i in range(n_artists)]
    births = np.sort(rng.integers(1200, 2000, size=n_artists))
    who, by = influence_edges(n_artists, mean, rng)
    label, p569, p737 = f"<{LABEL}>", f"<{WDT}P569>", f"<{WDT}P737>"
    lines = [f'<{iri}> {label} "Artist {i}"@en .\n' for i, iri in enumerate(iris)]
    lines += [f"<{iri}> {p569} {_date(int(b))} .\n" for iri, b in zip(iris, births.tolist())]
    lines += [f"<{iris[i]}> {p737} <{iris[j]}> .\n" for i, j in zip(who.tolist(), by.tolist())]
    lines.sort()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as fh:
        fh.writelines(lines)
    indeg = np.bincount(who, minlength=n_artists)
    outdeg = np.bincount(by, minlength=n_artists)
    return {"artists": n_artists, "edges": len(who), "triples": len(lines),
            "mean_influencers": float(indeg.mean()), "max_influencers": int(indeg.max()),
            "max_influenced": int(outdeg.max()), "iris": iris}
