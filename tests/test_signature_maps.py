"""2D maps of visual signatures: embedding, PNG, self-contained HTML, the three files together.

Tiny random data: three well-separated blobs of unit vectors, a few tiny PNGs written with PIL.
"""
from __future__ import annotations

import json
import re

import numpy as np
import pytest
from PIL import Image

from artkg.kg.errors import InputError
from artkg.models.signatures import maps
from artkg.models.signatures.maps import embed_2d, map_html, map_png, signature_map


def blobs(per=12, k=3, d=16, spread=0.05, seed=0):
    """k tight groups of unit vectors around orthogonal centres; labels 0..k-1."""
    rng = np.random.default_rng(seed)
    centres = np.eye(d)[:k]
    x = np.concatenate([c + spread * rng.standard_normal((per, d)) for c in centres])
    return x / np.linalg.norm(x, axis=1, keepdims=True), np.repeat(np.arange(k), per)


def nn_agreement(xy, labels):
    """Share of points whose nearest other point (2D) has the same label."""
    d = ((xy[:, None] - xy[None]) ** 2).sum(-1)
    np.fill_diagonal(d, np.inf)
    return float(np.mean(labels[d.argmin(1)] == labels))


def page_data(text):
    block = re.search(r'<script type="application/json" id="map-data">(.*?)</script>', text, re.DOTALL).group(1)
    thumbs = re.search(r'<script type="application/json" id="map-thumbs">(.*?)</script>', text, re.DOTALL).group(1)
    return json.loads(block), json.loads(thumbs)


def tiny_pngs(tmp_path, n, colour=(200, 30, 30)):
    paths = []
    for i in range(n):
        p = tmp_path / f"img{i}.png"
        Image.new("RGB", (20 + i, 12), colour).save(p)
        paths.append(str(p))
    return paths


# ------------------------------------------------------------------------------------ embed_2d
@pytest.mark.parametrize("method", ["tsne", "pca"])
def test_embed_is_deterministic_and_keeps_blobs_apart(method):
    x, lab = blobs()
    a = embed_2d(x, method, seed=3)
    b = embed_2d(x, method, seed=3)
    assert a.shape == (len(x), 2) and a.dtype == np.float64
    np.testing.assert_array_equal(a, b)
    assert nn_agreement(a, lab) > 0.9
    # a random layout would agree about a third of the time: the check can fail
    assert nn_agreement(np.random.default_rng(0).standard_normal(a.shape), lab) < 0.9


def test_pca_matches_the_leading_components_up_to_sign():
    x, _ = blobs(per=5, d=6)
    xy = embed_2d(x, "pca")
    u = x / np.linalg.norm(x, axis=1, keepdims=True)
    c = u - u.mean(0)
    _, vecs = np.linalg.eigh(c.T @ c)
    ref = c @ vecs[:, ::-1][:, :2]
    np.testing.assert_allclose(np.abs(xy), np.abs(ref), atol=1e-9)


def test_tsne_works_on_three_points_and_takes_options():
    x, _ = blobs(per=1, k=3, d=4)
    assert embed_2d(x, "tsne", max_iter=250).shape == (3, 2)


def test_embed_rejects_bad_input(monkeypatch):
    x, _ = blobs()
    with pytest.raises(InputError, match="tsne, pca, umap"):
        embed_2d(x, "mds")
    with pytest.raises(InputError, match="at least 3 works, got 2"):
        embed_2d(x[:2])
    bad = x.copy()
    bad[0, 0] = np.nan
    with pytest.raises(InputError, match="NaN"):
        embed_2d(bad)
    monkeypatch.setitem(__import__("sys").modules, "umap", None)  # import umap -> ImportError
    with pytest.raises(InputError, match="umap-learn"):
        embed_2d(x, "umap")


def test_large_tsne_warns_but_runs(monkeypatch, caplog):
    monkeypatch.setattr(maps, "TSNE_SLOW", 10)
    x, _ = blobs(per=4)
    with caplog.at_level("WARNING", logger="artkg"):
        embed_2d(x, "tsne", max_iter=250)
    assert "pca" in caplog.text


# ------------------------------------------------------------------------------------- map_png
def test_png_is_written_and_decodes(tmp_path):
    x, lab = blobs()
    lab[0] = -1
    xy = embed_2d(x, "pca")
    out = map_png(xy, lab, tmp_path / "sub" / "m.png", titles=[f"t{i}" for i in range(len(x))],
                  highlight=[0, 5], title="blobs")
    with Image.open(out) as im:
        im.load()
        assert im.format == "PNG" and im.size == (1500, 1200)
    assert [p.name for p in out.parent.iterdir()] == ["m.png"]  # no temporary file left


def test_failed_png_write_leaves_no_file(tmp_path, monkeypatch):
    from matplotlib.figure import Figure

    def half_write(self, fname, **kwargs):
        with open(fname, "wb") as f:
            f.write(b"\x89PNG partial")
        raise OSError("disk full")

    monkeypatch.setattr(Figure, "savefig", half_write)
    x, lab = blobs()
    with pytest.raises(OSError, match="disk full"):
        map_png(embed_2d(x, "pca"), lab, tmp_path / "m.png")
    assert list(tmp_path.iterdir()) == []


def test_png_rejects_wrong_lengths(tmp_path):
    xy = np.zeros((5, 2))
    with pytest.raises(InputError, match="4 labels for 5 works"):
        map_png(xy, [0, 0, 1, 1], tmp_path / "m.png")
    with pytest.raises(InputError, match="highlight"):
        map_png(xy, [0] * 5, tmp_path / "m.png", highlight=[7])
    assert not (tmp_path / "m.png").exists()


# ------------------------------------------------------------------------------------ map_html
def test_html_points_thumbnails_and_escaping(tmp_path):
    x, lab = blobs(per=3)
    n = len(x)
    lab[1] = -1
    evil = "</script><img src=x onerror=alert(1)>"
    titles = [evil if i == 2 else f"Work & co {i}" for i in range(n)]
    images = tiny_pngs(tmp_path, n)
    images[0] = str(tmp_path / "missing.jpg")             # absent
    (tmp_path / "broken.png").write_bytes(b"not an image")
    images[3] = str(tmp_path / "broken.png")             # unreadable
    images[4] = None                                      # no image at all
    out = map_html(embed_2d(x, "pca"), lab, tmp_path / "map.html", titles=titles, image_paths=images,
                   thumb_size=16, title="<b>mine</b>")
    text = out.read_text(encoding="utf-8")
    data, thumbs = page_data(text)
    assert len(data["points"]) == n
    assert [p[2] for p in data["points"]] == lab.tolist()
    assert text.count("data:image/jpeg;base64,") == n - 3 == len(thumbs)
    assert set(thumbs) == {str(i) for i in range(n)} - {"0", "3", "4"}
    with Image.open(__import__("io").BytesIO(__import__("base64").b64decode(thumbs["5"].split(",")[1]))) as im:
        assert im.format == "JPEG" and max(im.size) == 16
    assert evil not in text and "<img src=x" not in text and "<b>mine</b>" not in text
    assert data["points"][2][3] == "&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;"
    assert data["points"][5][3] == "Work &amp; co 5"
    assert text.count("</script>") == text.count("<script")      # no title closes a script block
    assert not re.search(r"(src|href)\s*=\s*[\"']?\s*(https?:)?//", text)
    assert "http://" not in text and "https://" not in text
    assert f"{n} works, 3 clusters, 1 noise" in text  # label 0 keeps members besides the noise point


def test_html_caps_thumbnails(tmp_path):
    x, lab = blobs(per=3)
    images = tiny_pngs(tmp_path, len(x))
    images[0] = str(tmp_path / "nope.png")
    text = map_html(embed_2d(x, "pca"), lab, tmp_path / "m.html", image_paths=images, max_thumbnails=4).read_text()
    _, thumbs = page_data(text)
    assert sorted(thumbs, key=int) == ["1", "2", "3", "4"]  # the first 4 readable ones


def test_failed_html_write_leaves_no_file(tmp_path, monkeypatch):
    x, lab = blobs(per=3)
    images = tiny_pngs(tmp_path, len(x))
    calls = []

    def thumb_then_crash(path, size):
        calls.append(path)
        if len(calls) == 3:
            raise RuntimeError("decoder crashed")
        return "data:image/jpeg;base64,AAAA"

    monkeypatch.setattr(maps, "_thumbnail", thumb_then_crash)
    with pytest.raises(RuntimeError):
        map_html(embed_2d(x, "pca"), lab, tmp_path / "out" / "map.html", image_paths=images)
    assert list((tmp_path / "out").iterdir()) == []


# ------------------------------------------------------------------------------- signature_map
def test_signature_map_writes_three_files(tmp_path):
    x, lab = blobs(per=4)
    lab[:2] = -1
    images = tiny_pngs(tmp_path, len(x))
    images[-1] = str(tmp_path / "gone.png")
    titles = [f"w{i}" for i in range(len(x))]
    res = signature_map(x, lab, tmp_path / "maps", titles=titles, image_paths=images, method="pca")
    assert res["n"] == len(x) and res["clusters"] == 3 and res["noise"] == 2
    assert res["thumbnails"] == len(x) - 1 and res["missing_images"] == 1
    doc = json.loads((tmp_path / "maps" / "map.json").read_text())
    assert [w["label"] for w in doc["works"]] == lab.tolist()
    assert [w["title"] for w in doc["works"]] == titles
    np.testing.assert_allclose([[w["x"], w["y"]] for w in doc["works"]], embed_2d(x, "pca"))
    assert sorted(p.name for p in (tmp_path / "maps").iterdir()) == ["map.html", "map.json", "map.png"]
    for key in ("png", "html", "json"):
        assert res[key].endswith(f"map.{key}")


def test_signature_map_validates(tmp_path):
    x, lab = blobs(per=2)
    with pytest.raises(InputError, match=f"{len(x) - 1} labels for {len(x)} works"):
        signature_map(x, lab[:-1], tmp_path)
    with pytest.raises(InputError, match="titles"):
        signature_map(x, lab, tmp_path, titles=["a"])
    with pytest.raises(InputError, match="image_paths"):
        signature_map(x, lab, tmp_path, image_paths=[None] * (len(x) + 1))
    with pytest.raises(InputError, match="unknown map method"):
        signature_map(x, lab, tmp_path, method="nope")
    with pytest.raises(InputError, match="not \\[n, d\\]"):
        signature_map(x[0], lab, tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_umap_gets_cosine_seed_and_options(monkeypatch):
    import sys
    import types

    seen = {}

    class FakeUMAP:
        def __init__(self, **kw):
            seen.update(kw)

        def fit_transform(self, x):
            return x[:, :2] * 2

    monkeypatch.setitem(sys.modules, "umap", types.SimpleNamespace(UMAP=FakeUMAP))
    x, _ = blobs(per=2)
    out = embed_2d(x, "umap", seed=7, min_dist=0.3)
    np.testing.assert_allclose(out, 2 * x[:, :2])
    assert seen == {"n_components": 2, "metric": "cosine", "random_state": 7, "n_neighbors": 5, "min_dist": 0.3}
