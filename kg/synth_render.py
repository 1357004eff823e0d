"""The renderer of the offline art world: each artwork's image from its latent style and its genre's layout.

The latent sets the palette (hue, spread, saturation, value), the strokes (angle, frequency) and the
texture; the genre picks the layout of up to three regions; per-artwork uniforms add jitter.
Planted motifs (:mod:`artkg.kg.synth_motifs`) are pasted on top by :func:`draw_motif`.
"""
from __future__ import annotations

import colorsys
import io
import math
import sys
import zlib
from pathlib import Path

import numpy as np

from artkg.kg.atomic import write_bytes
from artkg.kg.synth_world import GENRES, LATENT_DIM, _stream, _World

RENDER_BATCH = 256
RENDER_PARAMS = 32  # uniform numbers drawn per artwork for layout/appearance jitter


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


MOTIF_SUPERSAMPLE = 4  # the patch is drawn this much larger, then box-averaged down (smooth edges)


def draw_motif(image, placement: dict):
    """``image`` (a PIL image) with the motif of ``placement`` pasted on (a new RGB image).

    ``placement`` (:func:`artkg.kg.synth_motifs.plant_motifs`) gives the shape (points in [-1, 1]²,
    HSV colours), the patch side and top-left corner as fractions of the image side, the mirroring,
    the hue shift and the cropped share of one side (0 left, 1 right, 2 top, 3 bottom)."""
    from PIL import Image, ImageDraw

    w, h = image.size
    side = max(3, round(placement["side"] * min(w, h)))
    big = side * MOTIF_SUPERSAMPLE
    shape = placement["shape"]
    colours = [tuple(round(255 * c) for c in colorsys.hsv_to_rgb((hh + placement["hue_shift"]) % 1.0, s, v))
               + (255,) for hh, s, v in shape["colours"]]

    def pts(points):
        return [((x + 1) / 2 * (big - 1), (y + 1) / 2 * (big - 1)) for x, y in points]

    patch = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    draw = ImageDraw.Draw(patch)
    draw.polygon(pts(shape["outer"]), fill=colours[0], outline=colours[1], width=max(1, big // 16))
    draw.polygon(pts(shape["inner"]), fill=colours[1])
    if shape.get("bar") is not None and len(colours) > 2:
        draw.line(pts(shape["bar"]), fill=colours[2], width=max(1, big // 7))
    if placement["flip"]:
        patch = patch.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    cut = round(placement["crop"] * big)
    if cut:  # the cropped strip becomes transparent: the painting shows through
        box = [(0, 0, cut, big), (big - cut, 0, big, big), (0, 0, big, cut), (0, big - cut, big, big)]
        ImageDraw.Draw(patch).rectangle(box[placement["crop_side"]], fill=(0, 0, 0, 0))
    patch = patch.resize((side, side), Image.Resampling.BOX)
    x = min(max(round(placement["x"] * w), 0), max(w - side, 0))
    y = min(max(round(placement["y"] * h), 0), max(h - side, 0))
    out = image.convert("RGBA")
    out.alpha_composite(patch, dest=(x, y))
    return out.convert("RGB")


def _render_images(world: _World, images_dir: Path, size: int, progress: bool,
                   motifs: dict[int, dict] | None = None) -> None:
    """Render every artwork into ``images_dir``; ``motifs`` maps works to motif placements."""
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
                if motifs and start + offset in motifs:
                    from PIL import Image

                    img = np.asarray(draw_motif(Image.fromarray(img), motifs[start + offset]))
                write_bytes(images_dir / world.image_file(start + offset), _png_bytes(img))
            bar.update(len(pixels))
