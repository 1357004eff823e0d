"""The modality gap of a joint space (:mod:`artkg.models.recsys.gap`): numbers checked on constructed
geometry where the answer is known by hand, and the 2D map written as a real PNG."""
from __future__ import annotations

import sys

import numpy as np
import pytest
import torch
from PIL import Image

from artkg.kg.errors import InputError
from artkg.models.recsys.gap import gap_map, modality_gap


def cones(n: int = 200, dim: int = 16, theta: float = 0.3, seed: int = 0, scale: bool = True):
    """Image row i = (cos θ·u_i, +sin θ), text row i = (cos θ·u_i, −sin θ) for random unit u_i: every row
    has norm 1, the pairs differ only in the last coordinate, so the centroid distance is 2 sin θ exactly.
    With ``scale``, rows are multiplied by random positive factors (the measure normalises them away)."""
    rng = np.random.default_rng(seed)
    u = rng.normal(size=(n, dim - 1))
    u /= np.linalg.norm(u, axis=1, keepdims=True)
    image = np.hstack([np.cos(theta) * u, np.full((n, 1), np.sin(theta))])
    text = np.hstack([np.cos(theta) * u, np.full((n, 1), -np.sin(theta))])
    if scale:
        image *= rng.uniform(0.5, 3.0, size=(n, 1))
        text *= rng.uniform(0.5, 3.0, size=(n, 1))
    return image, text


def test_far_apart_clouds_are_separated():
    rng = np.random.default_rng(1)
    image = rng.normal(size=(150, 8)) + 6 * np.eye(8)[0]
    text = rng.normal(size=(150, 8)) - 6 * np.eye(8)[0]
    gap = modality_gap(image, text)
    assert gap["linear_separability"] > 0.98
    assert gap["centroid_distance"] > 1.5  # two cones pointing almost opposite ways (max 2)
    assert gap["n"] == 150 and gap["dim"] == 8


def test_one_distribution_for_both_modalities_is_entangled():
    rng = np.random.default_rng(2)
    image, text = rng.normal(size=(300, 16)), rng.normal(size=(300, 16))
    gap = modality_gap(image, text)
    assert 0.35 < gap["linear_separability"] < 0.65
    assert gap["centroid_distance"] < 0.2  # two means of 300 random unit vectors in 16-d: about 0.08
    assert abs(gap["paired_cosine"]) < 0.1 and abs(gap["unpaired_cosine"]) < 0.1


def test_shifted_copy_distance_is_known_by_hand():
    for theta in (0.1, 0.4, 1.0):
        image, text = cones(theta=theta)
        gap = modality_gap(image, text)
        assert gap["centroid_distance"] == pytest.approx(2 * np.sin(theta), abs=1e-12)
        # pairs share cos θ·u_i: cos(image_i, text_i) = cos²θ − sin²θ = cos 2θ
        assert gap["paired_cosine"] == pytest.approx(np.cos(2 * theta), abs=1e-12)
        assert gap["linear_separability"] == 1.0  # the sign of the last coordinate


def test_generic_shift_matches_a_by_hand_computation():
    rng = np.random.default_rng(3)
    image = rng.normal(size=(40, 5))
    shift = np.array([2.0, -1.0, 0.0, 0.5, 0.0])
    text = image + shift
    expected_image = np.array([row / np.sqrt(sum(x * x for x in row)) for row in image])
    expected_text = np.array([row / np.sqrt(sum(x * x for x in row)) for row in text])
    expected = np.sqrt(((expected_image.mean(0) - expected_text.mean(0)) ** 2).sum())
    assert modality_gap(image, text)["centroid_distance"] == pytest.approx(expected, rel=1e-12)
    # a shift that does not change any row's direction leaves no gap
    assert modality_gap(image, 3.0 * image)["centroid_distance"] == pytest.approx(0.0, abs=1e-12)


def test_cosines_and_determinism():
    rng = np.random.default_rng(4)
    image = rng.normal(size=(50, 6))
    text = image + 0.1 * rng.normal(size=(50, 6))
    gap = modality_gap(image, text, seed=5)
    a = image / np.linalg.norm(image, axis=1, keepdims=True)
    b = text / np.linalg.norm(text, axis=1, keepdims=True)
    sims = a @ b.T
    assert gap["paired_cosine"] == pytest.approx(float(np.diag(sims).mean()), abs=1e-12)
    off_diagonal = sims[~np.eye(50, dtype=bool)].mean()  # the sample estimates this mean
    assert gap["unpaired_cosine"] == pytest.approx(float(off_diagonal), abs=0.03)
    assert gap["paired_cosine"] > gap["unpaired_cosine"] + 0.5
    assert modality_gap(image, text, seed=5) == gap
    assert modality_gap(torch.from_numpy(image).float(), torch.from_numpy(text).float(), seed=5)["paired_cosine"] \
        == pytest.approx(gap["paired_cosine"], abs=1e-6)  # tensors are accepted


def test_separability_sample_on_large_inputs():
    image, text = cones(n=400, theta=0.05, scale=False)
    gap = modality_gap(image, text, max_separability_rows=60)
    assert gap["n"] == 400 and gap["linear_separability"] >= 0.9


def test_bad_inputs_raise():
    rng = np.random.default_rng(0)
    with pytest.raises(InputError, match="do not pair up"):
        modality_gap(rng.normal(size=(20, 4)), rng.normal(size=(19, 4)))
    with pytest.raises(InputError, match="do not pair up"):
        modality_gap(rng.normal(size=(20, 4)), rng.normal(size=(20, 5)))
    with pytest.raises(InputError, match="too few"):
        modality_gap(rng.normal(size=(9, 4)), rng.normal(size=(9, 4)))
    with pytest.raises(InputError, match="shape"):
        modality_gap(rng.normal(size=20), rng.normal(size=20))
    zeros = rng.normal(size=(20, 4))
    zeros[3] = 0
    with pytest.raises(InputError, match="all zeros"):
        modality_gap(zeros, rng.normal(size=(20, 4)))
    nans = rng.normal(size=(20, 4))
    nans[0, 0] = np.nan
    with pytest.raises(InputError, match="NaN"):
        modality_gap(rng.normal(size=(20, 4)), nans)


def test_gap_map_writes_a_png(tmp_path):
    image, text = cones(n=60, theta=0.6)
    out = gap_map(image, text, tmp_path / "maps" / "gap.png", title="tiny CLIP", seed=0, max_points=80)
    assert out == tmp_path / "maps" / "gap.png"
    with Image.open(out) as png:
        png.verify()
    with Image.open(out) as png:
        assert png.format == "PNG" and png.size[0] > 300 and png.size[1] > 300
        pixels = np.asarray(png.convert("RGB")).reshape(-1, 3)
        assert len(np.unique(pixels, axis=0)) > 10  # something was drawn
    assert sorted(p.name for p in out.parent.iterdir()) == ["gap.png"]  # no staging file left behind


def test_gap_map_bad_method_and_missing_umap(tmp_path, monkeypatch):
    image, text = cones(n=20)
    with pytest.raises(InputError, match="unknown map method"):
        gap_map(image, text, tmp_path / "x.png", method="pca")
    monkeypatch.setitem(sys.modules, "umap", None)  # import umap → ImportError
    with pytest.raises(InputError, match="pip install umap-learn"):
        gap_map(image, text, tmp_path / "x.png", method="umap")
    assert not (tmp_path / "x.png").exists()
