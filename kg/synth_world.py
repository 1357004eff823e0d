"""The offline art world's latent model: its vocabulary, its artists and their artworks, as plain arrays.

:func:`artkg.kg.synth.generate_world` plants facts that later stages must recover — influence edges,
styles, genres, movements. This module samples them (all randomness from ``numpy.random.default_rng``
streams derived from the seed); :mod:`artkg.kg.synth_classes` describes the class nodes,
:mod:`artkg.kg.synth_render` draws the images and :mod:`artkg.kg.synth` writes the files.

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
* **Artworks**: ``1 + Poisson(works_per_artist − 1)`` per artist, dated within the artist's
  working life, with a genre from the artist's Dirichlet preference, era-dependent materials,
  genre-dependent subjects, a collection, and an image rendered from the artwork's latent
  (palette, stroke angle/frequency, texture) and its genre's layout, plus random jitter.
"""
from __future__ import annotations

import zlib
from dataclasses import dataclass, field

import numpy as np

__all__ = [
    "world_iri",
    "QUOTE_ARTIST_INDEX",
    "QUOTE_ARTIST_LABEL",
    "GENRES",
]


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
