"""The offline art world: a synthetic, seeded knowledge graph of artists, artworks and images.

:func:`generate_world` plants facts that later stages must recover — influence edges, styles,
genres, movements — and writes them in the same Wikidata vocabulary the real builders use
(see :mod:`artkg.kg.schema`), so every downstream model can be trained and tested offline.

The world is sampled in :mod:`artkg.kg.synth_world` (the generative model is described there), its
class nodes are described in :mod:`artkg.kg.synth_classes` and its images drawn by
:mod:`artkg.kg.synth_render`; this module writes it: the N-Triples, the ground truth and the files.

Outputs (each written to a temporary file, then moved into place): ``world.nt``,
``ground_truth.json`` and ``images/<artwork local name>.png``.
"""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np

from artkg.kg.atomic import replace_dir, write_bytes
from artkg.kg.schema import AKG, PR, PROV, PS, RDFS_LABEL, SCHEMA_DESCRIPTION, WDT, P
from artkg.kg.synth_classes import _class_relations, _class_texts, _latent_words
from artkg.kg.synth_render import _render_images
from artkg.kg.synth_world import (
    ARTWORK_STYLE_NOISE, CITIES, COLLECTIONS, GENRES, LATENT_DIM, MIN_INFLUENCE_GAP, NOVELTY_ALPHA,
    QUOTE_ARTIST_INDEX, QUOTE_ARTIST_LABEL, SOURCES, _add_artworks, _add_evidence, _build_artists, _World,
)

__all__ = ["generate_world"]

XSD_DATETIME = "http://www.w3.org/2001/XMLSchema#dateTime"
MOVEMENT_NAMES = (
    "Luminism", "Tenebrism", "Verism", "Tonalism", "Synthetism", "Orphism", "Purism",
    "Rayonism", "Vorticism", "Chromism", "Linearism", "Mannerism", "Intimism", "Precisionism",
)
STYLE_ADJECTIVES = ("Velvet", "Gilded", "Misty", "Angular", "Radiant", "Sombre", "Brisk", "Serene")
STYLE_NOUNS = ("Chiaroscuro", "Naturalism", "Idyll", "Geometry", "Impasto", "Sfumato", "Realism")


# --- N-Triples -----------------------------------------------------------------------------------
_LITERAL_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"}
_IRI_FORBIDDEN = set('<>"{}|^`\\ ') | {chr(c) for c in range(0x21)}


def _iri(value: str) -> str:
    if _IRI_FORBIDDEN.intersection(value):
        raise ValueError(f"not a valid IRI for N-Triples: {value!r}")
    return f"<{value}>"


def _escape(text: str) -> str:
    return "".join(_LITERAL_ESCAPES.get(ch, ch) for ch in text)


def _lit_en(text: str) -> str:
    return f'"{_escape(text)}"@en'


def _lit_year(year: int) -> str:
    # Year precision, as Wikidata stores it: January 1st, midnight UTC.
    return f'"{int(year):04d}-01-01T00:00:00Z"^^{_iri(XSD_DATETIME)}'


class _Triples:
    """Collects N-Triples lines (deduplicated, sorted on output for byte-identical files)."""

    def __init__(self) -> None:
        self.lines: set[str] = set()

    def add(self, s: str, p: str, o: str) -> None:
        """``s`` and ``p`` are IRIs; ``o`` is an already formatted term."""
        self.lines.add(f"{_iri(s)} {_iri(p)} {o} .")

    def link(self, s: str, p: str, o: str) -> None:
        self.add(s, p, _iri(o))

    def named(self, s: str, label: str, description: str | None = None) -> None:
        self.add(s, RDFS_LABEL, _lit_en(label))
        if description is not None:
            self.add(s, SCHEMA_DESCRIPTION, _lit_en(description))

    def text(self) -> str:
        return "".join(line + "\n" for line in sorted(self.lines))


def _vocabulary_triples(world: _World, t: _Triples) -> None:
    """Movements, styles, genres, places, collections, materials, subjects, sources."""
    style_texts, movement_texts = _class_texts(world)
    for m in range(len(world.movement_centroids)):
        members = world.births[world.movement_of == m]
        span = f"{members.min()}–{members.max()}" if len(members) else "no members"
        name = MOVEMENT_NAMES[m % len(MOVEMENT_NAMES)]
        t.named(world.movement(m), f"Movement {m} ({name}-like)", f"{movement_texts[m]} (members born {span})")
    part_of, related = _class_relations(world)
    for s in range(len(world.style_protos)):
        adj = STYLE_ADJECTIVES[s % len(STYLE_ADJECTIVES)]
        noun = STYLE_NOUNS[(s // len(STYLE_ADJECTIVES) + s) % len(STYLE_NOUNS)]
        t.named(world.style(s), f"Style {s:02d} ({adj} {noun})", style_texts[s])
        t.link(world.style(s), WDT + "P361", world.movement(int(part_of[s])))
        for other in related[s]:
            t.link(world.style(s), AKG + "relatedStyle", world.style(other))
    for g, (_, label, layout, _) in enumerate(GENRES):
        t.named(world.genre(g), label, f"synthetic genre rendered with the {layout.replace('_', ' ')} layout")
    for c, (city, country, _) in enumerate(CITIES):
        t.named(world.place(c), city, f"city in {country}")
        country_iri = world.slug_iri("place", country)
        t.named(country_iri, country, "country")
        t.link(world.place(c), WDT + "P17", country_iri)
    city_index = {city: c for c, (city, _, _) in enumerate(CITIES)}
    for c, (name, city) in enumerate(COLLECTIONS):
        t.named(world.collection(c), name, f"synthetic museum in {city}")
        t.link(world.collection(c), WDT + "P131", world.place(city_index[city]))
    for s, label in enumerate(SOURCES):
        t.named(world.source(s), label, "synthetic art-historical source")


def _artist_triples(world: _World, t: _Triples) -> None:
    for i in range(world.n_artists):
        a = world.artist(i)
        b, d = int(world.births[i]), int(world.deaths[i])
        t.named(a, world.names[i], f"synthetic painter ({b}–{d})")
        t.add(a, WDT + "P569", _lit_year(b))
        t.add(a, WDT + "P570", _lit_year(d))
        t.link(a, WDT + "P19", world.place(int(world.birth_place[i])))
        t.link(a, WDT + "P20", world.place(int(world.death_place[i])))
        t.link(a, WDT + "P135", world.movement(int(world.movement_of[i])))
        t.link(a, WDT + "P136", world.genre(int(world.genre_pref[i].argmax())))
        for j in world.influencers[i]:
            t.link(a, WDT + "P737", world.artist(j))
        if world.teachers[i] is not None:
            t.link(a, WDT + "P1066", world.artist(world.teachers[i]))
    for n, ((i, j), (src, url)) in enumerate(sorted(world.evidence.items())):
        stmt = f"{world.ns}statement/A{i:04d}-P737-A{j:04d}"
        ref = f"{world.ns}reference/R{n:05d}"
        t.link(world.artist(i), P + "P737", stmt)
        t.link(stmt, PS + "P737", world.artist(j))
        t.link(stmt, PROV + "wasDerivedFrom", ref)
        t.link(ref, PR + "P248", world.source(src))
        if url is not None:
            t.link(ref, PR + "P854", url)


def _artwork_triples(world: _World, t: _Triples) -> None:
    for w in range(world.n_artworks):
        a = world.artwork(w)
        i = int(world.work_artist[w])
        year = int(world.work_year[w])
        t.named(a, world.work_titles[w], f"synthetic painting by {world.names[i]} ({year})")
        t.link(a, WDT + "P170", world.artist(i))
        t.add(a, WDT + "P571", _lit_year(year))
        t.link(a, WDT + "P136", world.genre(int(world.work_genre[w])))
        t.link(a, AKG + "style", world.style(int(world.work_style[w])))
        t.link(a, WDT + "P18", world.image(w))
        for material in world.work_materials[w]:
            m_iri = world.slug_iri("material", material)
            t.link(a, WDT + "P186", m_iri)
            t.named(m_iri, material)
        for subject in world.work_subjects[w]:
            s_iri = world.slug_iri("subject", subject)
            t.link(a, WDT + "P180", s_iri)
            t.named(s_iri, subject)
        if world.work_collection[w] is not None:
            t.link(a, WDT + "P195", world.collection(world.work_collection[w]))


def _world_triples(world: _World) -> _Triples:
    t = _Triples()
    _vocabulary_triples(world, t)
    _artist_triples(world, t)
    _artwork_triples(world, t)
    return t


# --- Ground truth --------------------------------------------------------------------------------
def _floats(x: np.ndarray) -> list[float]:
    return [round(float(v), 6) for v in x]


def _add_users(world: _World, triples: _Triples, n_users: int, taste: str) -> dict:
    """Plant users (:mod:`artkg.kg.synth_users`): their purchases and the inventory go into the
    triples, their tastes into the returned ground-truth block."""
    from artkg.kg.interactions import event_lines, inventory_lines
    from artkg.kg.synth_users import plant_users

    planted = plant_users(world, n_users, taste)
    users = [f"{world.ns}U{u:05d}" for u in range(n_users)]
    works = [world.artwork(w) for w in range(world.n_artworks)]
    ev_user, ev_work, ev_time, ev_basket = planted["events"]
    triples.lines.update(event_lines(
        [users[u] for u in ev_user.tolist()], ["purchased"] * len(ev_user), [works[w] for w in ev_work.tolist()],
        ev_time, basket=[f"{world.seed}-{b}" for b in ev_basket.tolist()],
        user_labels={iri: f"User U{u:05d}" for u, iri in enumerate(users)}))
    triples.lines.update(inventory_lines(works, planted["upload"], planted["one_of_a_kind"]))
    return {
        "taste_mix": taste,
        "purchases": int(len(ev_user)),
        "users": [{"iri": users[u], "label": f"User U{u:05d}", **{
            "weights": t["weights"],
            "visual_centre_artwork": works[t["visual_centre_artwork"]],
            "favourite_artists": [world.artist(a) for a in t["favourite_artists"]],
            "favourite_movements": [world.movement(m) for m in t["favourite_movements"]],
            "favourite_genre": world.genre(t["favourite_genre"])}} for u, t in enumerate(planted["tastes"])],
    }


def _add_raters(world: _World, triples: _Triples, n_raters: int, taste: str) -> dict:
    """Plant raters (:mod:`artkg.kg.synth_raters`): their ratings go into the triples as ``rated``
    events, their tastes into the returned ground-truth block."""
    from artkg.kg.interactions import event_lines
    from artkg.kg.synth_raters import plant_raters

    planted = plant_raters(world, n_raters, taste)
    raters = [f"{world.ns}R{r:05d}" for r in range(n_raters)]
    works = [world.artwork(w) for w in range(world.n_artworks)]
    ev_user, ev_work, ev_time, ev_rating = planted["events"]
    triples.lines.update(event_lines(
        [raters[r] for r in ev_user.tolist()], ["rated"] * len(ev_user), [works[w] for w in ev_work.tolist()],
        ev_time, rating=ev_rating.astype(np.float64),
        user_labels={iri: f"Rater R{r:05d}" for r, iri in enumerate(raters)}))
    return {
        "taste": taste,
        "ratings_per_rater": planted["ratings_per_rater"],
        "ratings": int(len(ev_user)),
        "raters": [{"iri": raters[r], "label": f"Rater R{r:05d}", "show_weight": t["show_weight"],
                    "visual_centre_artwork": works[t["visual_centre_artwork"]],
                    "visual_centre": [round(x, 6) for x in t["visual_centre"]],
                    "favourite_subjects": t["favourite_subjects"]} for r, t in enumerate(planted["tastes"])],
    }


def _add_motifs(world: _World, triples: _Triples, n_motifs: int, known_share: float,
                motif_side: float | None = None) -> tuple[dict, dict]:
    """Plant motif families (:mod:`artkg.kg.synth_motifs`): the known families' pairs go into the
    triples as POSITIVE visual links with source ``synth``; returns the ground-truth block and the
    placements the renderer pastes."""
    from artkg.kg.links import link_lines
    from artkg.kg.synth_motifs import motif_block, plant_motifs

    kw = {} if motif_side is None else {"motif_side": float(motif_side)}
    planted = plant_motifs(world, n_motifs, known_share=known_share, **kw)
    block = motif_block(world, planted)
    a, b = [p[0] for p in block["known_pairs"]], [p[1] for p in block["known_pairs"]]
    triples.lines.update(link_lines(a, b, ["positive"] * len(a), "synth"))
    return block, planted["placements"]


def _ground_truth(world: _World, params: dict) -> dict:
    w_ = world  # short alias: the comprehension below is dense
    part_of, related = _class_relations(world)
    return {
        "params": params,
        "namespace": w_.ns,
        "quote_artist": {"index": QUOTE_ARTIST_INDEX, "iri": w_.artist(QUOTE_ARTIST_INDEX),
                         "label": QUOTE_ARTIST_LABEL},
        "artists": [
            {
                "index": i,
                "iri": w_.artist(i),
                "label": w_.names[i],
                "birth": int(w_.births[i]),
                "death": int(w_.deaths[i]),
                "style": _floats(w_.styles[i]),
                "movement": w_.movement(int(w_.movement_of[i])),
                "top_genre": w_.genre(int(w_.genre_pref[i].argmax())),
                "genre_preference": _floats(w_.genre_pref[i]),
                "influencers": [w_.artist(j) for j in w_.influencers[i]],
                "teacher": None if w_.teachers[i] is None else w_.artist(w_.teachers[i]),
                "birth_place": w_.place(int(w_.birth_place[i])),
                "death_place": w_.place(int(w_.death_place[i])),
            }
            for i in range(w_.n_artists)
        ],
        "influence_edges": [
            {
                "influencee": w_.artist(i),
                "influencer": w_.artist(j),
                "source": w_.source(w_.evidence[(i, j)][0]) if (i, j) in w_.evidence else None,
                "url": w_.evidence[(i, j)][1] if (i, j) in w_.evidence else None,
            }
            for i, infl in enumerate(w_.influencers) for j in infl
        ],
        "student_edges": [
            {"student": w_.artist(i), "teacher": w_.artist(t)}
            for i, t in enumerate(w_.teachers) if t is not None
        ],
        "movements": [
            {"iri": w_.movement(m), "centroid": _floats(c)} for m, c in enumerate(w_.movement_centroids)
        ],
        "styles": [{"iri": w_.style(s), "prototype": _floats(c), "words": _latent_words(c),
                    "part_of": w_.movement(int(part_of[s])), "related": [w_.style(o) for o in related[s]]}
                   for s, c in enumerate(w_.style_protos)],
        "genres": [{"iri": w_.genre(g), "label": label, "layout": layout}
                   for g, (_, label, layout, _) in enumerate(GENRES)],
        "artworks": [
            {
                "iri": w_.artwork(w),
                "creator": w_.artist(int(w_.work_artist[w])),
                "style": w_.style(int(w_.work_style[w])),
                "genre": w_.genre(int(w_.work_genre[w])),
                "year": int(w_.work_year[w]),
                "image": w_.image_file(w),
                "latent": _floats(w_.work_latent[w]),
                "materials": list(w_.work_materials[w]),
                "subjects": list(w_.work_subjects[w]),
                "collection": None if w_.work_collection[w] is None else w_.collection(w_.work_collection[w]),
            }
            for w in range(w_.n_artworks)
        ],
    }


# --- Files ---------------------------------------------------------------------------------------
def generate_world(out_dir: str | Path, n_artists: int = 300, seed: int = 0, image_size: int = 64,
                   works_per_artist: float = 10.0, render_images: bool = True,
                   progress: bool = True, n_users: int = 0, taste: str = "mixed", n_raters: int = 0,
                   rater_taste: str = "both", n_motifs: int = 0, known_links: float = 0.5,
                   motif_size: float | None = None) -> dict:
    """Generate the synthetic art world for ``seed`` into ``out_dir``.

    Writes ``world.nt`` (sorted N-Triples), ``ground_truth.json`` (the planted facts) and, if
    ``render_images``, ``images/<W…>.png``. The same arguments give byte-identical ``world.nt``
    and ``ground_truth.json``. ``n_users`` plants buyers (:mod:`artkg.kg.synth_users`, ``taste``),
    ``n_raters`` people who rate works 1–5 (:mod:`artkg.kg.synth_raters`, ``rater_taste``); both are
    ``user`` nodes of the graph. ``n_motifs`` plants motif families copied along influence
    (:mod:`artkg.kg.synth_motifs`; pasted into the images), and that share ``known_links`` of the
    families becomes visual links. Returns a summary: counts (``artists``, ``artworks``,
    ``influence_edges``, ``student_edges``, ``movements``, ``styles``, ``genres``, ``triples``),
    ``namespace`` and the paths ``out_dir``, ``world_nt``, ``ground_truth``, ``images_dir``.
    """
    if n_artists <= QUOTE_ARTIST_INDEX:
        raise ValueError(f"n_artists must be > {QUOTE_ARTIST_INDEX} (artist {QUOTE_ARTIST_INDEX} is fixed)")
    if image_size < 8:
        raise ValueError("image_size must be at least 8 pixels")
    if works_per_artist < 1:
        raise ValueError("works_per_artist must be at least 1")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)

    world = _build_artists(int(n_artists), int(seed))
    _add_artworks(world, float(works_per_artist))
    _add_evidence(world)

    triples = _world_triples(world)
    users = _add_users(world, triples, int(n_users), taste) if n_users else None
    raters = _add_raters(world, triples, int(n_raters), rater_taste) if n_raters else None
    motifs, placements = _add_motifs(world, triples, int(n_motifs), float(known_links), motif_size) if n_motifs \
        else (None, None)
    params = {"n_artists": int(n_artists), "seed": int(seed), "image_size": int(image_size),
              "works_per_artist": float(works_per_artist), "latent_dim": LATENT_DIM,
              "novelty_alpha": NOVELTY_ALPHA, "artwork_style_noise": ARTWORK_STYLE_NOISE,
              "min_influence_gap": MIN_INFLUENCE_GAP}
    truth = _ground_truth(world, params)
    if users is not None:
        params.update(n_users=int(n_users), taste=taste)
        truth["users"] = users
    if raters is not None:
        params.update(n_raters=int(n_raters), rater_taste=rater_taste)
        truth["raters"] = raters
    if motifs is not None:
        params.update(n_motifs=int(n_motifs), known_links=float(known_links))
        if motif_size is not None:
            params["motif_size"] = float(motif_size)
        truth["motifs"] = motifs
    world_nt, truth_path, images_dir = out / "world.nt", out / "ground_truth.json", out / "images"
    # Everything is written into a staging folder first and moved into place only once all of it
    # exists: a failure never leaves a world whose triples, ground truth and images disagree.
    staging = out / ".synth-staging"
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir()
    try:
        write_bytes(staging / world_nt.name, triples.text().encode("utf-8"))
        write_bytes(staging / truth_path.name, json.dumps(truth, ensure_ascii=False, indent=1).encode("utf-8"))
        if render_images:
            _render_images(world, staging / images_dir.name, int(image_size), progress, motifs=placements)
            replace_dir(staging / images_dir.name, images_dir)
        os.replace(staging / truth_path.name, truth_path)
        os.replace(staging / world_nt.name, world_nt)
    finally:
        shutil.rmtree(staging, ignore_errors=True)

    return {
        "artists": world.n_artists,
        "artworks": world.n_artworks,
        "influence_edges": len(truth["influence_edges"]),
        "student_edges": len(truth["student_edges"]),
        "movements": len(world.movement_centroids),
        "styles": len(world.style_protos),
        "genres": len(GENRES),
        "triples": len(triples.lines),
        "namespace": world.ns,
        "out_dir": str(out),
        "world_nt": str(world_nt),
        "ground_truth": str(truth_path),
        "images_dir": str(images_dir),
    }
