"""Motif propagation in the offline art world: small visual motifs that travel along influence.

Art historians trace how a motif moves from one work to another; the visual-signature models
(:mod:`artkg.models.signatures`) learn to find such borrowings. :func:`plant_motifs` plants them so
that they can be measured: each motif is a small patch with its own shape (an outer polygon or star
from 5–8 random control points, an inner polygon, and with three colours a glyph stroke) and 2–3
colours. It appears in a **source work** by an artist who influenced someone and is copied into
works of the artists that creator influenced (``world.influencers``), dated no earlier than the
source. Each copy is transformed: scaled (:data:`COPY_SCALE`), maybe mirrored, recoloured (a hue
shift of up to :data:`HUE_SHIFT`), maybe partly cropped (up to :data:`MAX_CROP` of one side) and
placed elsewhere in the image. A **family** is the source and its copies (``copies`` = (2, 6):
3–7 works); a work carries at most one motif.

Fallback: copies come from the influencees' works only. Only when no artist with unused works has
enough influencee works left (a small or exhausted world) is the source taken from any artist and
its copies from works by artists born later; those copies are listed in the family's ``fallback``.

Known and held-out links are split **by family**: ``known_share`` of the families (rounded) are fully
known — every pair of their works becomes a POSITIVE ``visually_linked`` link in the graph with source
``"synth"`` — and the rest are fully held out, so discovery means finding whole unknown families, not
completing families that are partly given.

All randomness comes from the stream ``_stream(world.seed, "motifs")``: worlds built without motifs
are unchanged. Every float is rounded to 6 decimals here, so the placements written to the ground
truth re-render exactly what the images show (:func:`artkg.kg.synth_render.draw_motif`).
"""
from __future__ import annotations

import itertools

import numpy as np

from artkg.kg.errors import InputError
from artkg.kg.synth_world import _stream, _World

__all__ = ["motif_block", "plant_motifs"]

MOTIF_SIDE = 0.22  # side of the source's patch, as a fraction of the image side (the shape spans most of it)
COPY_SCALE = (0.6, 1.4)  # a copy's patch side is MOTIF_SIDE × this (about 13–31 % of the image side)
HUE_SHIFT = 0.2  # copies shift all the motif's hues by up to ± this (of the colour circle)
FLIP_P = 0.5
CROP_P = 0.5
MAX_CROP = 0.3  # a cropped copy loses up to this share of its patch on one side


def _r(x) -> float:
    return round(float(x), 6)


def _shape(rng: np.random.Generator) -> dict:
    """A motif's shape and colours, in patch coordinates [-1, 1]² and HSV."""
    k = int(rng.integers(5, 9))
    rot = rng.uniform(0, 2 * np.pi)
    angles = rot + 2 * np.pi * (np.arange(k) + rng.uniform(-0.3, 0.3, k)) / k
    if rng.random() < 0.5:  # a star: alternating long and short rays
        radii = np.where(np.arange(k) % 2 == 0, rng.uniform(0.85, 1.0, k), rng.uniform(0.35, 0.55, k))
    else:
        radii = rng.uniform(0.7, 1.0, k)
    outer = np.stack([radii * np.cos(angles), radii * np.sin(angles)], axis=1)
    m = int(rng.integers(3, 5))
    centre = rng.uniform(-0.15, 0.15, 2)
    a2 = rng.uniform(0, 2 * np.pi) + 2 * np.pi * np.arange(m) / m
    r2 = rng.uniform(0.15, 0.45, m)
    inner = centre + np.stack([r2 * np.cos(a2), r2 * np.sin(a2)], axis=1)
    n_colours = int(rng.integers(2, 4))
    h0 = rng.random()
    hues = (h0 + np.array([0.0, 0.33, 0.6]) + rng.uniform(-0.08, 0.08, 3)) % 1.0
    sats = rng.uniform(0.65, 1.0, 3)
    vals = np.array([rng.uniform(0.75, 1.0), rng.uniform(0.2, 0.5), rng.uniform(0.85, 1.0)])
    ends = rng.uniform(0, 2 * np.pi, 2)
    bar = 0.75 * np.stack([np.cos(ends), np.sin(ends)], axis=1)
    return {"outer": [[_r(x), _r(y)] for x, y in outer], "inner": [[_r(x), _r(y)] for x, y in inner],
            "bar": [[_r(x), _r(y)] for x, y in bar] if n_colours == 3 else None,
            "colours": [[_r(h), _r(s), _r(v)] for h, s, v in zip(hues, sats, vals)][:n_colours]}


def _placement(rng: np.random.Generator, motif: int, shape: dict, copy: bool, motif_side: float = MOTIF_SIDE) -> dict:
    """Where and how one work shows the motif (the source: unscaled, unmirrored, uncropped)."""
    scale = rng.uniform(*COPY_SCALE) if copy else 1.0
    flip = bool(copy and rng.random() < FLIP_P)
    hue = rng.uniform(-HUE_SHIFT, HUE_SHIFT) if copy else 0.0
    cropped = copy and rng.random() < CROP_P
    crop_side, crop = (int(rng.integers(4)), rng.uniform(0.1, MAX_CROP)) if cropped else (0, 0.0)
    side = motif_side * scale
    x, y = rng.uniform(0.0, 1.0 - side, 2)
    return {"motif": motif, "shape": shape, "side": _r(side), "x": _r(x), "y": _r(y), "scale": _r(scale),
            "flip": flip, "hue_shift": _r(hue), "crop_side": crop_side, "crop": _r(crop)}


def _pick_spread(rng: np.random.Generator, works: np.ndarray, artist: np.ndarray, n: int) -> list[int]:
    """Up to ``n`` of ``works`` in random order, one per artist before any artist's second."""
    if not len(works):
        return []
    perm = rng.permutation(len(works))
    w, a = works[perm], artist[works[perm]]
    order = np.argsort(a, kind="stable")
    rank = np.empty(len(w), dtype=int)  # how many works of the same artist come earlier in perm
    starts = np.r_[0, np.flatnonzero(np.diff(a[order])) + 1]
    rank[order] = np.arange(len(w)) - np.repeat(starts, np.diff(np.r_[starts, len(w)]))
    return [int(v) for v in w[np.argsort(rank, kind="stable")][:n]]


def plant_motifs(world: _World, n_motifs: int, copies: tuple[int, int] = (2, 6),
                 known_share: float = 0.5, motif_side: float = MOTIF_SIDE) -> dict:
    """Plant ``n_motifs`` motif families into ``world`` (see the module docstring).

    Returns ``{"families": [{"motif", "source", "works" (source first), "known", "fallback",
    "shape"}], "placements": {work: placement}, "known_share", "copies"}`` with works as indices;
    a placement is what :func:`artkg.kg.synth_render.draw_motif` needs."""
    if n_motifs < 0:
        raise InputError(f"the number of motifs cannot be negative (got {n_motifs})", "pass --motifs 0 or more")
    if not 0.0 <= known_share <= 1.0:
        raise InputError(f"the known share of motif links must lie in [0, 1] (got {known_share})",
                         "pass e.g. --known-links 0.5")
    if not 0.05 <= motif_side <= 1.0 / max(COPY_SCALE):
        raise InputError(f"the motif size must lie in [0.05, {1.0 / max(COPY_SCALE):.3f}] of the image side "
                         f"(got {motif_side})", f"pass e.g. --motif-size {MOTIF_SIDE}")
    lo, hi = int(copies[0]), int(copies[1])
    if not 1 <= lo <= hi:
        raise InputError(f"copies per motif must be a range 1 <= low <= high (got {copies})", "e.g. copies=(2, 6)")
    rng = _stream(world.seed, "motifs")
    artist, year, births = world.work_artist, world.work_year, world.births
    influencees: list[list[int]] = [[] for _ in range(world.n_artists)]
    for i, infl in enumerate(world.influencers):
        for j in infl:
            influencees[j].append(i)
    free = np.ones(world.n_artworks, dtype=bool)
    families: list[dict] = []
    placements: dict[int, dict] = {}

    def candidates(j: int, fallback: bool) -> np.ndarray:
        """Unused works that may copy from artist ``j`` (any date)."""
        ok = births[artist] > births[j] if fallback else np.isin(artist, influencees[j])
        return np.flatnonzero(free & ok & (artist != j))

    for m in range(int(n_motifs)):
        for fallback in (False, True):
            options = []  # (artist, its usable source works)
            for j in range(world.n_artists):
                if not fallback and not influencees[j]:
                    continue
                own = np.flatnonzero(free & (artist == j))
                if not len(own):
                    continue
                cand_years = np.sort(year[candidates(j, fallback)])
                n_later = len(cand_years) - np.searchsorted(cand_years, year[own], side="left")
                if (n_later >= lo).any():
                    options.append((j, own[n_later >= lo]))
            if options:
                break
        else:
            raise InputError(f"the world has no room for motif {m + 1} of {n_motifs}: too few unused works "
                             f"for a source and {lo} copies", "plant fewer motifs (--motifs) or more artists")
        j, own = options[int(rng.integers(len(options)))]
        source = int(own[rng.integers(len(own))])
        cand = candidates(j, fallback)
        cand = cand[year[cand] >= year[source]]
        picked = _pick_spread(rng, cand, artist, int(rng.integers(lo, hi + 1)))
        shape = _shape(rng)
        works = [source] + picked
        free[works] = False
        for k, w in enumerate(works):
            placements[w] = _placement(rng, m, shape, copy=k > 0, motif_side=float(motif_side))
        families.append({"motif": m, "source": source, "works": works, "known": False,
                         "fallback": picked if fallback else [], "shape": shape})
    n_known = int(np.floor(known_share * len(families) + 0.5))
    for f in rng.permutation(len(families))[:n_known].tolist():
        families[f]["known"] = True
    return {"families": families, "placements": placements, "known_share": float(known_share),
            "copies": [lo, hi]}


def _pairs(iris: list[str]) -> list[list[str]]:
    return [sorted(p) for p in itertools.combinations(iris, 2)]


def motif_block(world: _World, planted: dict) -> dict:
    """The ground truth's ``motifs`` block (IRIs): families, the split by family, and the pairs."""
    families, known, held = [], [], []
    for f in planted["families"]:
        iris = [world.artwork(w) for w in f["works"]]
        families.append({
            "motif": f["motif"], "source": iris[0], "works": iris, "known": f["known"],
            "fallback": [world.artwork(w) for w in f["fallback"]], "shape": f["shape"],
            "placements": {world.artwork(w): {k: v for k, v in planted["placements"][w].items()
                                              if k not in ("motif", "shape")} for w in f["works"]}})
        (known if f["known"] else held).extend(_pairs(iris))
    return {"split": "by family", "known_share": planted["known_share"], "copies": planted["copies"],
            "families": families, "known_pairs": sorted(known), "held_out_pairs": sorted(held)}
