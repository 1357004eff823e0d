"""Class nodes of the offline art world: descriptions written from their prototypes, and class relations.

Each style and movement gets what a real KG gives a class with no labelled works yet: a description
(``schema:description``) written from its prototype in the renderer's terms — palette hue, spread,
saturation and value, stroke frequency and orientation, texture — each word replaced by a random one
with probability :data:`DESCRIPTION_NOISE`. Each style is part of (``wdt:P361``) the movement with the
nearest centroid and related (``akg:relatedStyle``) to its :data:`RELATED_STYLES` nearest styles.
"""
from __future__ import annotations

import math

import numpy as np

from artkg.kg.synth_render import _sigmoid
from artkg.kg.synth_world import LATENT_DIM, _stream, _World

# Class descriptions: words for the latent parameters the renderer reads (see synth_render._render_batch).
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
