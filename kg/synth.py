"""The offline art world: a synthetic, seeded knowledge graph of artists, artworks and images.

:func:`generate_world` plants facts that later stages must recover — influence edges, styles,
genres, movements — and writes them in the same Wikidata vocabulary the real builders use
(see :mod:`artkg.kg.schema`), so every downstream model can be trained and tested offline.

Generative model (all randomness from ``numpy.random.default_rng`` streams derived from the seed):

* **Artists** are born uniformly in 1300–1950 (index order = birth order) and live 35–90 years
  (deaths capped at :data:`PRESENT_YEAR`). Names come from syllable lists; the artist with index
  :data:`QUOTE_ARTIST_INDEX` is always :data:`QUOTE_ARTIST_LABEL` (quotes, apostrophe, braces)
  so SPARQL/N-Triples escaping can be tested.
* **Influence** (``wdt:P737``) only points from an artist to one born ≥ :data:`MIN_INFLUENCE_GAP`
  years earlier. Each artist with candidates gets ``1 + Poisson(1.5)`` influencers, drawn with
  preferential attachment × a recency kernel, which makes the out-degree heavy-tailed.
  About :data:`STUDENT_FRACTION` of artists also study (``wdt:P1066``) under an influencer
  whose life overlaps theirs. Half of the influence edges carry a Wikibase statement with a
  reference to a synthetic source (``p:/ps:/prov:/pr:``).
* **Latent style**: a unit vector in R^8, ``normalize(α·novelty + (1−α)·mean(influencers))``, so
  style drifts along influence lines. Movements (``wdt:P135``) and artwork styles
  (``akg:style``) are spherical k-means clusters of the artist styles at two granularities.
* **Class nodes** get what a real KG gives a class with no labelled works yet: a description
  (``schema:description``) written from their prototype in the renderer's terms — palette hue,
  spread, saturation and value, stroke frequency and orientation, texture — each word replaced by a
  random one with probability :data:`DESCRIPTION_NOISE`; each style is part of (``wdt:P361``) the
  movement with the nearest centroid and related (``akg:relatedStyle``) to its
  :data:`RELATED_STYLES` nearest styles.
* **Artworks**: ``1 + Poisson(works_per_artist − 1)`` per artist, dated within the artist's
  working life, with a genre from the artist's Dirichlet preference, era-dependent materials,
  genre-dependent subjects, a collection, and an image rendered from the artwork's latent
  (palette, stroke angle/frequency, texture) and its genre's layout, plus random jitter.

Outputs (each written to a temporary file, then moved into place): ``world.nt``,
``ground_truth.json`` and ``images/<artwork local name>.png``.
"""
from __future__ import annotations

import io
import json
import math
import os
import shutil
import sys
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from artkg.kg.atomic import replace_dir, write_bytes
from artkg.kg.schema import AKG, PR, PROV, PS, RDFS_LABEL, SCHEMA_DESCRIPTION, WDT, P

__all__ = [
    "generate_world",
    "world_iri",
    "QUOTE_ARTIST_INDEX",
    "QUOTE_ARTIST_LABEL",
    "GENRES",
]

XSD_DATETIME = "http://www.w3.org/2001/XMLSchema#dateTime"

# --- Parameters of the generative model --------------------------------------------------------
BIRTH_RANGE = (1300, 1950)
LIFETIME_RANGE = (35, 90)
PRESENT_YEAR = 2024  # nobody dies in the future
WORKING_AGE = 18  # first artwork at this age at the earliest
LATENT_DIM = 8
NOVELTY_ALPHA = 0.35  # weight of an artist's own novelty against the influencers' mean style
ARTWORK_STYLE_NOISE = 0.15  # std of the per-artwork deviation from the artist's latent
MIN_INFLUENCE_GAP = 10  # an influencer is born at least this many years before the influencee
RECENCY_PLATEAU = 80  # gaps of 10–80 years are equally likely …
RECENCY_DECAY = 25.0  # … older masters fade with this e-folding scale (years)
EXTRA_INFLUENCERS_MEAN = 1.5  # number of influencers = 1 + Poisson(this)
ATTACHMENT_EXPONENT = 1.0  # preferential attachment: weight ∝ (1 + times chosen)^exponent
STUDENT_FRACTION = 0.30
STUDENT_MIN_OVERLAP = 15  # a teacher is alive at least this long into the student's life
GENRE_DIRICHLET = 0.6  # < 1: artists specialise in a few genres
EVIDENCE_FRACTION = 0.5  # influence edges that also get a statement + reference
REFERENCE_URL_FRACTION = 0.35  # references that also cite a URL
HOME_COLLECTION_P = 0.5  # works often stay in a collection of the artist's city of death
NO_COLLECTION_P = 0.08  # "private collection": no P195
RENDER_BATCH = 256
RENDER_PARAMS = 32  # uniform numbers drawn per artwork for layout/appearance jitter

QUOTE_ARTIST_INDEX = 5
QUOTE_ARTIST_LABEL = 'Jean "Le Grand" O\'Brien {II}'

# Genres: (local key, label, layout name used by the renderer, depicted subjects).
GENRES: tuple[tuple[str, str, str, tuple[str, ...]], ...] = (
    ("G0", "portrait", "portrait", ("woman", "man", "child", "dog")),
    ("G1", "landscape", "landscape", ("tree", "river", "mountain", "cloud", "field")),
    ("G2", "still life", "still_life", ("fruit", "flower", "vase", "skull", "book")),
    ("G3", "cityscape", "cityscape", ("building", "street", "bridge", "church", "harbour")),
    ("G4", "abstract art", "abstract", ("circle", "grid", "colour field", "line")),
    ("G5", "religious painting", "religious", ("Madonna", "saint", "angel", "cross", "child")),
)
TITLE_WORDS = ("Portrait", "Landscape", "Still Life", "Cityscape", "Composition", "Altarpiece")

# Materials as (medium, support) mixtures per era: (era end year, [(medium, support, weight)]).
MATERIAL_ERAS: tuple[tuple[int, tuple[tuple[str, str, float], ...]], ...] = (
    (1500, (("tempera", "panel", 0.6), ("fresco", "plaster", 0.25), ("oil paint", "panel", 0.15))),
    (1600, (("oil paint", "panel", 0.45), ("oil paint", "canvas", 0.35), ("fresco", "plaster", 0.2))),
    (1850, (("oil paint", "canvas", 0.85), ("oil paint", "panel", 0.1), ("watercolour", "paper", 0.05))),
    (1940, (("oil paint", "canvas", 0.7), ("watercolour", "paper", 0.2), ("gouache", "paper", 0.1))),
    (10**6, (("acrylic paint", "canvas", 0.45), ("oil paint", "canvas", 0.4),
             ("watercolour", "paper", 0.15))),
)

# Cities: (name, country, year around which artists are born there) — gives era-plausible geography.
CITIES: tuple[tuple[str, str, int], ...] = (
    ("Siena", "Italy", 1350), ("Florence", "Italy", 1450), ("Bruges", "Flanders", 1450),
    ("Venice", "Italy", 1550), ("Rome", "Italy", 1600), ("Antwerp", "Flanders", 1600),
    ("Seville", "Spain", 1620), ("Haarlem", "Dutch Republic", 1630),
    ("Amsterdam", "Dutch Republic", 1650), ("Madrid", "Spain", 1650), ("London", "England", 1780),
    ("Paris", "France", 1850), ("Munich", "Germany", 1870), ("Vienna", "Austria", 1900),
    ("New York", "United States", 1940),
)
CITY_SPREAD = 150.0  # years
# Collections: (name, city). Twelve synthetic museums.
COLLECTIONS: tuple[tuple[str, str], ...] = (
    ("Pinacoteca Sintetica", "Siena"), ("Galleria degli Artefatti", "Florence"),
    ("Groeninge Synthetic Museum", "Bruges"), ("Accademia dei Modelli", "Venice"),
    ("Galleria Nazionale Fittizia", "Rome"), ("Royal Museum of Synthetic Arts", "Antwerp"),
    ("Museo del Simulacro", "Madrid"), ("Frans Hals Synthetic Collection", "Haarlem"),
    ("Rijks Synthetic Museum", "Amsterdam"), ("National Gallery of Samples", "London"),
    ("Musée du Modèle", "Paris"), ("Museum of Generated Art", "New York"),
)
SOURCES: tuple[str, ...] = (
    "Vasari's Lives (synthetic)",
    "Van Mander's Schilder-boeck (synthetic)",
    "Bellori's Vite (synthetic)",
    "Journal of Synthetic Art History",
    "Catalogue raisonné (synthetic)",
)
MOVEMENT_NAMES = (
    "Luminism", "Tenebrism", "Verism", "Tonalism", "Synthetism", "Orphism", "Purism",
    "Rayonism", "Vorticism", "Chromism", "Linearism", "Mannerism", "Intimism", "Precisionism",
)
STYLE_ADJECTIVES = ("Velvet", "Gilded", "Misty", "Angular", "Radiant", "Sombre", "Brisk", "Serene")
STYLE_NOUNS = ("Chiaroscuro", "Naturalism", "Idyll", "Geometry", "Impasto", "Sfumato", "Realism")

# Class descriptions: words for the latent parameters the renderer reads (see _render_batch).
HUE_WORDS = ("red", "orange", "amber", "yellow", "olive", "green", "teal", "cyan", "azure", "blue", "violet",
             "magenta")
LEVEL_WORDS = {  # attribute → (low, middle, high) phrases
    "spread": ("a close, harmonious palette", "a moderately varied palette", "a wide, contrasting palette"),
    "saturation": ("muted, greyish colours", "moderately saturated colours", "vivid, saturated colours"),
    "value": ("dark, low-key tones", "mid-toned light", "bright, high-key tones"),
    "frequency": ("broad, sweeping strokes", "medium strokes", "fine, dense hatching"),
    "texture": ("a smooth, flat surface", "a lightly textured surface", "a heavy, impasto texture"),
}
ORIENTATION_WORDS = ("horizontal", "rising diagonal", "vertical", "falling diagonal")
DESCRIPTION_NOISE = 0.15  # chance that one attribute's word is replaced by a random other one
RELATED_STYLES = 2  # each style is related to its nearest other styles (by prototype)

GIVEN_NAMES = (
    "Anselm", "Pieter", "Giovanni", "Maria", "Clara", "Jacob", "Elise", "Lorenzo", "Sofia",
    "Hendrik", "Isabella", "Matthias", "Agnes", "Francesco", "Camille", "Diego", "Helena",
    "Rembert", "Lucia", "Otto", "Marguerite", "Tomas", "Beatrix", "Nicolas", "Judith", "Felix",
    "Artemisia", "Willem", "Rosa", "Adrian", "Greta", "Julien", "Teresa", "Konrad", "Ines",
)
SURNAME_HEADS = (
    "Ver", "Mon", "Cas", "Del", "Bra", "Fon", "Gal", "Hal", "Lin", "Mar", "Ros", "San", "Tor",
    "Val", "Wes", "Ald", "Ber", "Cor", "Dun", "Ev", "Fir", "Gro", "Kel", "Lau",
)
SURNAME_MIDDLES = ("la", "ri", "do", "ne", "ta", "vi", "ma", "lo", "", "ber", "quin")
SURNAME_TAILS = (
    "que", "ni", "ghe", "zano", "mont", "ens", "ard", "ini", "aux", "berg", "ez", "ovic", "ley",
    "etti", "hout",
)


def world_iri(seed: int) -> str:
    """The namespace of the synthetic world generated with ``seed``."""
    return f"https://w3id.org/artkg/synth/{seed}/"


# --- Random streams ----------------------------------------------------------------------------
def _stream(seed: int, name: str) -> np.random.Generator:
    """An independent generator per named stage, so changing one stage leaves the others intact."""
    return np.random.default_rng([seed, zlib.crc32(name.encode())])


# --- The world, as plain arrays ------------------------------------------------------------------
@dataclass
class _World:
    seed: int
    ns: str
    names: list[str]
    births: np.ndarray
    deaths: np.ndarray
    influencers: list[list[int]]
    teachers: list[int | None]
    styles: np.ndarray  # (n_artists, LATENT_DIM), unit rows
    movement_of: np.ndarray
    movement_centroids: np.ndarray
    style_protos: np.ndarray
    genre_pref: np.ndarray  # (n_artists, n_genres)
    birth_place: np.ndarray
    death_place: np.ndarray
    # Artworks (one row each, in artist order then year order).
    work_artist: np.ndarray = field(default_factory=lambda: np.zeros(0, int))
    work_year: np.ndarray = field(default_factory=lambda: np.zeros(0, int))
    work_latent: np.ndarray = field(default_factory=lambda: np.zeros((0, LATENT_DIM)))
    work_style: np.ndarray = field(default_factory=lambda: np.zeros(0, int))
    work_genre: np.ndarray = field(default_factory=lambda: np.zeros(0, int))
    work_materials: list[tuple[str, str]] = field(default_factory=list)
    work_subjects: list[list[str]] = field(default_factory=list)
    work_collection: list[int | None] = field(default_factory=list)
    work_titles: list[str] = field(default_factory=list)
    # Evidence per influence edge (influencee, influencer) → (source index, url or None).
    evidence: dict[tuple[int, int], tuple[int, str | None]] = field(default_factory=dict)

    @property
    def n_artists(self) -> int:
        return len(self.names)

    @property
    def n_artworks(self) -> int:
        return len(self.work_artist)

    # IRIs — one place that decides every local name.
    def artist(self, i: int) -> str:
        return f"{self.ns}artist/A{i:04d}"

    def artwork_local(self, w: int) -> str:
        return f"W{w:05d}"

    def artwork(self, w: int) -> str:
        return f"{self.ns}artwork/{self.artwork_local(w)}"

    def image_file(self, w: int) -> str:
        return f"{self.artwork_local(w)}.png"

    def image(self, w: int) -> str:
        return f"{self.ns}image/{self.image_file(w)}"

    def movement(self, m: int) -> str:
        return f"{self.ns}movement/M{m:02d}"

    def style(self, s: int) -> str:
        return f"{self.ns}style/S{s:02d}"

    def genre(self, g: int) -> str:
        return f"{self.ns}genre/{GENRES[g][0]}"

    def slug_iri(self, kind: str, name: str) -> str:
        slug = "".join(c if c.isascii() and c.isalnum() else "_" for c in name.lower())
        return f"{self.ns}{kind}/{slug}"

    def place(self, c: int) -> str:
        return self.slug_iri("place", CITIES[c][0])

    def collection(self, c: int) -> str:
        return f"{self.ns}collection/C{c:02d}"

    def source(self, s: int) -> str:
        return f"{self.ns}source/B{s}"


# --- Artists -------------------------------------------------------------------------------------
def _sample_lives(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Birth years sorted (so index order is time order) and death years."""
    births = np.sort(rng.integers(BIRTH_RANGE[0], BIRTH_RANGE[1] + 1, size=n))
    lifetimes = rng.integers(LIFETIME_RANGE[0], LIFETIME_RANGE[1] + 1, size=n)
    deaths = np.minimum(births + lifetimes, PRESENT_YEAR)
    return births, deaths


def _make_names(n: int, rng: np.random.Generator) -> list[str]:
    """Unique, plausible-looking names from syllables; one fixed tricky name for escaping tests."""
    names: list[str] = []
    seen = {QUOTE_ARTIST_LABEL}
    for i in range(n):
        if i == QUOTE_ARTIST_INDEX:
            names.append(QUOTE_ARTIST_LABEL)
            continue
        for attempt in range(1000):
            surname = (SURNAME_HEADS[rng.integers(len(SURNAME_HEADS))]
                       + SURNAME_MIDDLES[rng.integers(len(SURNAME_MIDDLES))]
                       + SURNAME_TAILS[rng.integers(len(SURNAME_TAILS))])
            name = f"{GIVEN_NAMES[rng.integers(len(GIVEN_NAMES))]} {surname}"
            if attempt >= 100:  # name space crowded (huge worlds): disambiguate like real archives
                name = f"{name} ({i})"
            if name not in seen:
                break
        seen.add(name)
        names.append(name)
    return names


def _recency_kernel(gap: np.ndarray) -> np.ndarray:
    """Weight of an influencer born ``gap`` years earlier: flat on 10–80 years, fading after."""
    weight = np.exp(-np.maximum(gap - RECENCY_PLATEAU, 0) / RECENCY_DECAY)
    return np.where(gap >= MIN_INFLUENCE_GAP, weight, 0.0)


def _sample_influence(births: np.ndarray, rng: np.random.Generator) -> list[list[int]]:
    """Influencers per artist: earlier-born only, preferential attachment × recency."""
    n = len(births)
    chosen_count = np.zeros(n)
    influencers: list[list[int]] = []
    for i in range(n):
        # Births are sorted, so the candidates (born ≥ gap years earlier) are a prefix.
        m = int(np.searchsorted(births, births[i] - MIN_INFLUENCE_GAP, side="right"))
        if m == 0:
            influencers.append([])
            continue
        weights = (1.0 + chosen_count[:m]) ** ATTACHMENT_EXPONENT * _recency_kernel(births[i] - births[:m])
        k = min(1 + int(rng.poisson(EXTRA_INFLUENCERS_MEAN)), int(np.count_nonzero(weights)))
        picks = rng.choice(m, size=k, replace=False, p=weights / weights.sum())
        picks = sorted(int(j) for j in picks)
        chosen_count[picks] += 1
        influencers.append(picks)
    return influencers


def _sample_teachers(births: np.ndarray, deaths: np.ndarray, influencers: list[list[int]],
                     rng: np.random.Generator) -> list[int | None]:
    """A teacher for ~STUDENT_FRACTION of all artists, among influencers alive into their youth."""
    eligible = {
        i: [j for j in infl if deaths[j] - births[i] >= STUDENT_MIN_OVERLAP]
        for i, infl in enumerate(influencers)
    }
    eligible = {i: js for i, js in eligible.items() if js}
    # Scale the per-artist probability so the expected share over *all* artists is STUDENT_FRACTION.
    p = min(1.0, STUDENT_FRACTION * len(births) / max(len(eligible), 1))
    teachers: list[int | None] = [None] * len(births)
    for i in sorted(eligible):
        if rng.random() < p:
            teachers[i] = int(eligible[i][rng.integers(len(eligible[i]))])
    return teachers


def _normalize(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)


def _sample_styles(influencers: list[list[int]], rng: np.random.Generator) -> np.ndarray:
    """Latent styles in time order: novelty blended with the influencers' mean style."""
    styles = np.zeros((len(influencers), LATENT_DIM))
    for i, infl in enumerate(influencers):
        novelty = _normalize(rng.standard_normal(LATENT_DIM))
        if infl:
            novelty = NOVELTY_ALPHA * novelty + (1 - NOVELTY_ALPHA) * styles[infl].mean(axis=0)
        styles[i] = _normalize(novelty)
    return styles


def _spherical_kmeans(x: np.ndarray, k: int, rng: np.random.Generator,
                      n_iter: int = 100) -> tuple[np.ndarray, np.ndarray]:
    """Spherical k-means with k-means++ seeding; returns (unit centroids, assignment)."""
    k = min(k, len(x))
    # Elementwise products rather than matmul: identical floats on every BLAS build.
    def sim(a: np.ndarray, c: np.ndarray) -> np.ndarray:
        return (a[:, None, :] * c[None, :, :]).sum(-1)

    centroids = [x[rng.integers(len(x))]]
    for _ in range(1, k):
        d = np.maximum(1.0 - sim(x, np.array(centroids)).max(axis=1), 0.0)
        p = d / d.sum() if d.sum() > 0 else np.full(len(x), 1.0 / len(x))
        centroids.append(x[rng.choice(len(x), p=p)])
    c = np.array(centroids)
    assign = np.full(len(x), -1)
    for _ in range(n_iter):
        new_assign = sim(x, c).argmax(axis=1)
        if np.array_equal(new_assign, assign):
            break
        assign = new_assign
        for j in range(k):
            members = x[assign == j]
            if len(members):
                c[j] = _normalize(members.sum(axis=0))
            else:  # an empty cluster takes over the worst-fitting point
                worst = int(sim(x, c).max(axis=1).argmin())
                c[j] = x[worst]
    return c, sim(x, c).argmax(axis=1)


def _order_by_time(centroids: np.ndarray, assign: np.ndarray,
                   births: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Renumber clusters by the mean birth year of their members (cluster 0 is the earliest)."""
    k = len(centroids)
    mean_birth = np.array([births[assign == j].mean() if np.any(assign == j) else np.inf
                           for j in range(k)])
    order = np.argsort(mean_birth, kind="stable")
    rank = np.empty(k, dtype=int)
    rank[order] = np.arange(k)
    return centroids[order], rank[assign]


def _sample_places(years: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A city per year, favouring cities whose artistic heyday is close to that year."""
    centers = np.array([c[2] for c in CITIES], dtype=float)
    logits = -0.5 * ((years[:, None] - centers[None, :]) / CITY_SPREAD) ** 2
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    u = rng.random(len(years))[:, None]
    return np.minimum((u > np.cumsum(p, axis=1)).sum(axis=1), len(CITIES) - 1)


def _build_artists(n: int, seed: int) -> _World:
    births, deaths = _sample_lives(n, _stream(seed, "lives"))
    names = _make_names(n, _stream(seed, "names"))
    influencers = _sample_influence(births, _stream(seed, "influence"))
    teachers = _sample_teachers(births, deaths, influencers, _stream(seed, "teachers"))
    styles = _sample_styles(influencers, _stream(seed, "styles"))
    n_movements = max(4, round(n / 40))
    n_styles = max(6, round(n / 25))
    mv_c, mv_a = _spherical_kmeans(styles, n_movements, _stream(seed, "kmeans-movements"))
    mv_c, mv_a = _order_by_time(mv_c, mv_a, births)
    st_c, st_a = _spherical_kmeans(styles, n_styles, _stream(seed, "kmeans-styles"))
    st_c, _ = _order_by_time(st_c, st_a, births)
    genre_pref = _stream(seed, "genre-pref").dirichlet(np.full(len(GENRES), GENRE_DIRICHLET), size=n)
    place_rng = _stream(seed, "places")
    birth_place = _sample_places(births.astype(float), place_rng)
    death_place = _sample_places(deaths.astype(float), place_rng)
    stays = place_rng.random(n) < 0.5  # half of the artists die where they were born
    death_place = np.where(stays, birth_place, death_place)
    return _World(seed=seed, ns=world_iri(seed), names=names, births=births, deaths=deaths,
                  influencers=influencers, teachers=teachers, styles=styles, movement_of=mv_a,
                  movement_centroids=mv_c, style_protos=st_c, genre_pref=genre_pref,
                  birth_place=birth_place, death_place=death_place)


# --- Artworks ------------------------------------------------------------------------------------
def _materials_for(year: int, rng: np.random.Generator) -> tuple[str, str]:
    for era_end, options in MATERIAL_ERAS:
        if year < era_end:
            weights = np.array([o[2] for o in options])
            medium, support, _ = options[rng.choice(len(options), p=weights / weights.sum())]
            return medium, support
    raise AssertionError("unreachable: the last era is open-ended")


def _add_artworks(world: _World, works_per_artist: float) -> None:
    """Sample every artwork's year, latent, style, genre, materials, subjects and collection."""
    rng = _stream(world.seed, "artworks")
    city_collections = {city: [c for c, (_, cc) in enumerate(COLLECTIONS) if cc == city]
                        for city, _, _ in CITIES}
    artists, years = [], []
    for i in range(world.n_artists):
        n_works = 1 + int(rng.poisson(max(works_per_artist - 1.0, 0.0)))
        lo, hi = int(world.births[i]) + WORKING_AGE, int(world.deaths[i])
        artists += [i] * n_works
        years += sorted(int(y) for y in rng.integers(lo, hi + 1, size=n_works))
    world.work_artist = np.array(artists, dtype=int)
    world.work_year = np.array(years, dtype=int)
    n_works = len(artists)

    noise = rng.normal(0.0, ARTWORK_STYLE_NOISE, size=(n_works, LATENT_DIM))
    world.work_latent = _normalize(world.styles[world.work_artist] + noise)
    sims = (world.work_latent[:, None, :] * world.style_protos[None, :, :]).sum(-1)
    world.work_style = sims.argmax(axis=1)
    cum = np.cumsum(world.genre_pref[world.work_artist], axis=1)
    world.work_genre = np.minimum((rng.random(n_works)[:, None] > cum).sum(axis=1), len(GENRES) - 1)

    genre_counter = [0] * len(GENRES)
    for w in range(n_works):
        g = int(world.work_genre[w])
        genre_counter[g] += 1
        world.work_titles.append(f"{TITLE_WORDS[g]} No. {genre_counter[g]}")
        world.work_materials.append(_materials_for(int(world.work_year[w]), rng))
        subjects = GENRES[g][3]
        n_subj = int(rng.integers(1, min(3, len(subjects)) + 1))
        picked = rng.choice(len(subjects), n_subj, replace=False)
        world.work_subjects.append(sorted(subjects[s] for s in picked))
        home = city_collections[CITIES[int(world.death_place[world.work_artist[w]])][0]]
        r = rng.random()
        if r < NO_COLLECTION_P:
            world.work_collection.append(None)
        elif home and r < NO_COLLECTION_P + HOME_COLLECTION_P:
            world.work_collection.append(int(home[rng.integers(len(home))]))
        else:
            world.work_collection.append(int(rng.integers(len(COLLECTIONS))))


def _add_evidence(world: _World) -> None:
    """References for about half of the influence edges, some of them with a URL."""
    rng = _stream(world.seed, "evidence")
    for i, infl in enumerate(world.influencers):
        for j in infl:
            if rng.random() < EVIDENCE_FRACTION:
                src = int(rng.integers(len(SOURCES)))
                has_url = rng.random() < REFERENCE_URL_FRACTION
                url = f"https://example.org/artkg-synth/{world.seed}/A{i:04d}-A{j:04d}" if has_url else None
                world.evidence[(i, j)] = (src, url)


# --- Class descriptions and class-to-class relations ---------------------------------------------
def _level(x: float) -> int:
    return 0 if x < 1 / 3 else 1 if x < 2 / 3 else 2


def _latent_words(latent: np.ndarray) -> dict[str, str]:
    """What a painting with this latent looks like, in the renderer's own terms (palette, strokes, texture)."""
    z = latent * math.sqrt(LATENT_DIM)
    hue = (math.atan2(z[1], z[0]) / (2 * math.pi)) % 1.0
    sig = lambda v: float(_sigmoid(np.asarray(v)))  # noqa: E731
    # Stripes run perpendicular to the stroke direction θ = atan2(z6, z5) of the renderer.
    stripes = (math.atan2(z[6], z[5]) + math.pi / 2) % math.pi
    return {
        "hue": HUE_WORDS[int(round(hue * len(HUE_WORDS))) % len(HUE_WORDS)],
        "spread": LEVEL_WORDS["spread"][_level(sig(z[2]))],
        "saturation": LEVEL_WORDS["saturation"][_level(sig(z[3]))],
        "value": LEVEL_WORDS["value"][_level(sig(z[4]))],
        "orientation": ORIENTATION_WORDS[int(round(stripes / (math.pi / 4))) % 4],
        "frequency": LEVEL_WORDS["frequency"][_level(sig(z[7]))],
        "texture": LEVEL_WORDS["texture"][_level(sig(z[2] - z[4]))],
    }


def _noisy(words: dict[str, str], rng: np.random.Generator) -> dict[str, str]:
    """Each attribute's word replaced by a random other choice with probability DESCRIPTION_NOISE."""
    out = {}
    for key, word in words.items():
        choices = HUE_WORDS if key == "hue" else ORIENTATION_WORDS if key == "orientation" else LEVEL_WORDS[key]
        out[key] = str(choices[rng.integers(len(choices))]) if rng.random() < DESCRIPTION_NOISE else word
    return out


def _describe_latent(kind: str, latent: np.ndarray, rng: np.random.Generator) -> str:
    w = _noisy(_latent_words(latent), rng)
    return (f"synthetic {kind}: {w['saturation']} around {w['hue']}, {w['spread']}, {w['value']}; "
            f"{w['frequency']} in {w['orientation']} bands; {w['texture']}")


def _class_texts(world: _World) -> tuple[list[str], list[str]]:
    """Descriptions of the styles and movements from their planted prototypes, with noise."""
    rng = _stream(world.seed, "class-descriptions")
    styles = [_describe_latent("painting style", p, rng) for p in world.style_protos]
    movements = [_describe_latent("art movement", c, rng) for c in world.movement_centroids]
    return styles, movements


def _class_relations(world: _World) -> tuple[np.ndarray, list[list[int]]]:
    """Each style's movement (the nearest movement centroid) and its nearest other styles."""
    sim = (world.style_protos[:, None, :] * world.movement_centroids[None, :, :]).sum(-1)
    part_of = sim.argmax(axis=1)
    between = (world.style_protos[:, None, :] * world.style_protos[None, :, :]).sum(-1)
    np.fill_diagonal(between, -np.inf)
    k = min(RELATED_STYLES, len(world.style_protos) - 1)
    related = [sorted(int(j) for j in np.argsort(-row, kind="stable")[:k]) for row in between]
    return part_of, related


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


# --- Images --------------------------------------------------------------------------------------
def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _hsv_to_rgb(h: np.ndarray, s: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Vectorised HSV → RGB (all in [0, 1]); returns shape ``h.shape + (3,)``."""
    h6 = (h % 1.0) * 6.0
    i = np.floor(h6).astype(int) % 6
    f = h6 - np.floor(h6)
    p, q, t = v * (1 - s), v * (1 - f * s), v * (1 - (1 - f) * s)
    cases = [i == k for k in range(6)]
    r = np.select(cases, [v, q, p, p, t, v])
    g = np.select(cases, [t, v, v, q, p, p])
    b = np.select(cases, [p, p, t, v, v, q])
    return np.stack([r, g, b], axis=-1)


# Layouts map per-artwork uniforms ``u`` (B, RENDER_PARAMS; columns 0–19 are theirs) and the pixel
# grid (X, Y in [0, 1], shape (H, W)) to a region index per pixel: 0, 1 or 2.
def _col(u: np.ndarray, k: int, lo: float = 0.0, hi: float = 1.0) -> np.ndarray:
    return (lo + (hi - lo) * u[:, k])[:, None, None]


def _layout_portrait(u: np.ndarray, X: np.ndarray, Y: np.ndarray) -> np.ndarray:
    # Plain background, torso (1) rising from the bottom, head (2) on top.
    cx = _col(u, 0, 0.4, 0.6)
    head_cy, head_r = _col(u, 1, 0.28, 0.42), _col(u, 2, 0.12, 0.2)
    torso_rx, torso_ry = _col(u, 3, 0.25, 0.4), _col(u, 4, 0.35, 0.5)
    torso = ((X - cx) / torso_rx) ** 2 + ((Y - 1.0) / torso_ry) ** 2 < 1
    head = ((X - cx) / head_r) ** 2 + ((Y - head_cy) / (1.25 * head_r)) ** 2 < 1
    return np.where(head, 2, np.where(torso, 1, 0))


def _layout_landscape(u: np.ndarray, X: np.ndarray, Y: np.ndarray) -> np.ndarray:
    # Sky (0) above a wavy horizon, ground (1) below, a hill (2) rising from the horizon.
    horizon = _col(u, 0, 0.4, 0.65) + _col(u, 1, 0.0, 0.04) * np.sin(
        2 * np.pi * (X * _col(u, 2, 0.5, 2.0) + _col(u, 3)))
    cx, w, h = _col(u, 4, 0.1, 0.9), _col(u, 5, 0.12, 0.35), _col(u, 6, 0.1, 0.28)
    hill = (Y <= horizon) & (Y > horizon - h * np.exp(-(((X - cx) / w) ** 2)))
    return np.where(Y > horizon, 1, np.where(hill, 2, 0))


def _layout_still_life(u: np.ndarray, X: np.ndarray, Y: np.ndarray) -> np.ndarray:
    # Background (0), a table band (1), two to four round objects (2) standing on it.
    top = _col(u, 0, 0.55, 0.72)
    n_blobs = 2 + np.floor(u[:, 1] * 3)[:, None, None]
    blobs = np.zeros(np.broadcast_shapes(top.shape, X.shape), dtype=bool)
    for k in range(4):
        cx, r = _col(u, 2 + 2 * k, 0.12, 0.88), _col(u, 3 + 2 * k, 0.07, 0.15)
        blobs |= ((X - cx) ** 2 + (Y - (top - 0.6 * r)) ** 2 < r ** 2) & (k < n_blobs)
    return np.where(blobs, 2, np.where(Y > top, 1, 0))


def _layout_cityscape(u: np.ndarray, X: np.ndarray, Y: np.ndarray) -> np.ndarray:
    # Sky (0), a row of buildings (1) of varied height, a grid of windows (2).
    n_cols = 4 + np.floor(u[:, 0] * 5)[:, None, None]
    pos = (X + _col(u, 1)) * n_cols
    col = np.floor(pos).astype(int) % 12
    heights = 0.25 + 0.55 * u[:, 4:16]  # (B, 12)
    height = np.take_along_axis(heights[:, None, :], col.reshape(len(u), 1, -1), axis=2)
    height = height.reshape(col.shape)
    building = (Y > 1.0 - height) & (pos % 1.0 > 0.08)
    rows = 6 + np.floor(u[:, 2] * 6)[:, None, None]
    window = building & ((pos * 3) % 1.0 > 0.35) & ((pos * 3) % 1.0 < 0.7) & ((Y * rows) % 1.0 > 0.4)
    return np.where(window, 2, np.where(building, 1, 0))


def _layout_abstract(u: np.ndarray, X: np.ndarray, Y: np.ndarray) -> np.ndarray:
    # A random half-plane, a large disc and a rectangle that cycles the regions it covers.
    phi = _col(u, 0, 0.0, 2 * np.pi)
    half = (X - 0.5) * np.cos(phi) + (Y - 0.5) * np.sin(phi) > _col(u, 1, -0.25, 0.25)
    disc = (X - _col(u, 2, 0.2, 0.8)) ** 2 + (Y - _col(u, 3, 0.2, 0.8)) ** 2 < _col(u, 4, 0.15, 0.35) ** 2
    x0, y0 = _col(u, 5, 0.0, 0.6), _col(u, 6, 0.0, 0.6)
    rect = (X > x0) & (X < x0 + _col(u, 7, 0.2, 0.4)) & (Y > y0) & (Y < y0 + _col(u, 8, 0.2, 0.4))
    region = np.where(disc, 2, half.astype(int))
    return np.where(rect, (region + 1) % 3, region)


def _layout_religious(u: np.ndarray, X: np.ndarray, Y: np.ndarray) -> np.ndarray:
    # Symmetric composition: a round-topped arch (1) framing a triangular figure (2) with a halo.
    cx = _col(u, 0, 0.47, 0.53)
    w, top = _col(u, 1, 0.22, 0.32), _col(u, 2, 0.3, 0.42)
    arch = ((np.abs(X - cx) < w) & (Y > top)) | ((X - cx) ** 2 + (Y - top) ** 2 < w ** 2)
    apex, slope = _col(u, 3, 0.35, 0.48), _col(u, 4, 0.3, 0.5)
    figure = (Y > apex) & (np.abs(X - cx) < (Y - apex) * slope) & (Y < 0.95)
    halo = (X - cx) ** 2 + (Y - (apex - 0.05)) ** 2 < _col(u, 5, 0.04, 0.07) ** 2
    return np.where(figure | halo, 2, np.where(arch, 1, 0))


_LAYOUTS = {
    "portrait": _layout_portrait,
    "landscape": _layout_landscape,
    "still_life": _layout_still_life,
    "cityscape": _layout_cityscape,
    "abstract": _layout_abstract,
    "religious": _layout_religious,
}


def _render_batch(latent: np.ndarray, genre: np.ndarray, u: np.ndarray, noise_rng: np.random.Generator,
                  size: int) -> np.ndarray:
    """Render a batch of artworks to uint8 RGB images of shape (B, size, size, 3)."""
    B = len(latent)
    Y, X = np.mgrid[0:size, 0:size] / max(size - 1, 1)
    region = np.zeros((B, size, size), dtype=int)
    for g, (_, _, layout, _) in enumerate(GENRES):
        idx = np.flatnonzero(genre == g)
        if len(idx):
            region[idx] = _LAYOUTS[layout](u[idx], X, Y)

    z = latent * math.sqrt(LATENT_DIM)  # roughly standard normal coordinates
    # Palette: three hues spread from a base hue (latent dims 0–2), saturation (3), value (4).
    hue0 = np.arctan2(z[:, 1], z[:, 0]) / (2 * np.pi) + (u[:, 20] - 0.5) * 0.06
    spread = 0.05 + 0.3 * _sigmoid(z[:, 2])
    hues = hue0[:, None] + spread[:, None] * np.array([0.0, 1.0, 2.0])
    sat = np.clip((0.2 + 0.7 * _sigmoid(z[:, 3]) + (u[:, 21] - 0.5) * 0.12)[:, None]
                  * np.array([1.0, 0.8, 1.1]), 0, 1)
    val = np.clip((0.35 + 0.55 * _sigmoid(z[:, 4]) + (u[:, 22] - 0.5) * 0.12)[:, None]
                  * np.array([1.0, 0.7, 1.15]), 0, 1)
    palette = _hsv_to_rgb(hues, sat, val)  # (B, 3 regions, 3 channels)
    base = np.take_along_axis(palette[:, None, :, :], region.reshape(B, -1, 1, 1), axis=2)
    base = base.reshape(B, size, size, 3)

    # Oriented strokes: angle from dims 5–6, frequency from dim 7, amplitude from dims 2 and 4.
    theta = np.arctan2(z[:, 6], z[:, 5]) + (u[:, 24] - 0.5) * 0.3
    freq = (2.0 + 10.0 * _sigmoid(z[:, 7])) * np.exp((u[:, 25] - 0.5) * 0.3)
    amp = 0.06 + 0.2 * _sigmoid(z[:, 2] - z[:, 4])
    phase = u[:, 23] * 2 * np.pi
    proj = X[None] * np.cos(theta)[:, None, None] + Y[None] * np.sin(theta)[:, None, None]
    strokes = np.sin(2 * np.pi * freq[:, None, None] * proj + phase[:, None, None])
    img = base * (1.0 + amp[:, None, None, None] * strokes[..., None])
    img += noise_rng.normal(0.0, 0.04, size=img.shape)
    return (np.clip(img, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def _png_bytes(pixels: np.ndarray) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, format="PNG")
    return buf.getvalue()


def _render_images(world: _World, images_dir: Path, size: int, progress: bool) -> None:
    from tqdm import tqdm

    images_dir.mkdir(parents=True, exist_ok=True)
    u = _stream(world.seed, "render-params").random((world.n_artworks, RENDER_PARAMS))
    with tqdm(total=world.n_artworks, desc="rendering artworks", unit="img", file=sys.stderr,
              disable=not progress) as bar:
        for start in range(0, world.n_artworks, RENDER_BATCH):
            sl = slice(start, min(start + RENDER_BATCH, world.n_artworks))
            noise_rng = np.random.default_rng([world.seed, zlib.crc32(b"render-noise"), start])
            pixels = _render_batch(world.work_latent[sl], world.work_genre[sl], u[sl], noise_rng, size)
            for offset, img in enumerate(pixels):
                write_bytes(images_dir / world.image_file(start + offset), _png_bytes(img))
            bar.update(len(pixels))


# --- Files ---------------------------------------------------------------------------------------
def generate_world(out_dir: str | Path, n_artists: int = 300, seed: int = 0, image_size: int = 64,
                   works_per_artist: float = 10.0, render_images: bool = True,
                   progress: bool = True) -> dict:
    """Generate the synthetic art world for ``seed`` into ``out_dir``.

    Writes ``world.nt`` (sorted N-Triples), ``ground_truth.json`` (the planted facts) and, if
    ``render_images``, ``images/<W…>.png``. The same arguments give byte-identical ``world.nt``
    and ``ground_truth.json``. Returns a summary: counts (``artists``, ``artworks``,
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
    params = {"n_artists": int(n_artists), "seed": int(seed), "image_size": int(image_size),
              "works_per_artist": float(works_per_artist), "latent_dim": LATENT_DIM,
              "novelty_alpha": NOVELTY_ALPHA, "artwork_style_noise": ARTWORK_STYLE_NOISE,
              "min_influence_gap": MIN_INFLUENCE_GAP}
    truth = _ground_truth(world, params)
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
            _render_images(world, staging / images_dir.name, int(image_size), progress)
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
