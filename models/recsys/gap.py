"""The modality gap of a joint image–text space: :func:`modality_gap` (numbers), :func:`gap_map` (a picture).

Early fusion ("Together Yet Apart", Yilma & Leiva, UMAP 2023) represents a painting by one point of a
joint image–text space (CLIP, BLIP, artkg's own learned space). Contrastively trained joint spaces
are known not to mix the two modalities: image embeddings and text embeddings sit in two separate
cones, however well each image matches its own text (Liang et al. 2022, "Mind the Gap"). Averaging
an image vector with a text vector then mostly moves a painting towards the text cone, which is why
the gap matters for early fusion. Measured here, for paired rows (row ``i`` of both arrays is
painting ``i``), after L2-normalising every row:

- ``centroid_distance``: ‖mean(image) − mean(text)‖, the gap of Liang et al. (0 for two modalities
  that share one distribution; up to 2 for opposite ones);
- ``linear_separability``: 5-fold stratified cross-validated accuracy of a logistic regression (on
  standardised coordinates) telling the modality from the vector (1.0: fully separated, 0.5: entangled);
- ``paired_cosine`` / ``unpaired_cosine``: the mean cosine of an image with its own text, and with
  another painting's text (a seeded sample of pairs ``i ≠ j``): how much the space aligns the pairs
  beyond the common offset between the modalities.

:func:`gap_map` draws both modalities in one 2D map (t-SNE, or UMAP when umap-learn is installed)
with a few pairs joined, like the paper's Figure 6.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from artkg.kg.errors import InputError

MIN_ROWS = 10
FOLDS = 5


def modality_gap(image_emb, text_emb, seed: int = 0, max_separability_rows: int = 5000,
                 unpaired_samples: int = 100_000) -> dict:
    """The modality gap of paired embeddings ``[n, d]`` (see the module docstring).

    Deterministic for a ``seed``. The linear probe reads at most ``max_separability_rows`` pairs (a
    seeded sample) so that a large collection stays quick; the centroids and cosines read every row.
    Returns ``{"centroid_distance", "linear_separability", "paired_cosine", "unpaired_cosine", "n", "dim"}``.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    image, text = _paired(image_emb, text_emb)
    n, dim = image.shape
    rng = np.random.default_rng(seed)
    centroid_distance = float(np.linalg.norm(image.mean(0) - text.mean(0)))
    paired = float(np.einsum("ij,ij->i", image, text).mean())
    k = int(min(n * (n - 1), unpaired_samples))
    i = rng.integers(0, n, size=k)
    j = (i + rng.integers(1, n, size=k)) % n  # uniform over j ≠ i
    unpaired = float(np.einsum("ij,ij->i", image[i], text[j]).mean())

    rows = np.sort(rng.choice(n, size=max_separability_rows, replace=False)) if n > max_separability_rows \
        else np.arange(n)
    x = np.concatenate([image[rows], text[rows]])
    y = np.repeat([0, 1], len(rows))
    folds = StratifiedKFold(n_splits=FOLDS, shuffle=True, random_state=seed)
    # Standardised coordinates: unit rows in a wide space have tiny coordinates (~1/√d), which the
    # probe's L2 penalty would otherwise shrink to "entangled" even for a clean but narrow gap.
    probe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
    accuracy = cross_val_score(probe, x, y, cv=folds, scoring="accuracy")
    return {"centroid_distance": centroid_distance, "linear_separability": float(accuracy.mean()),
            "paired_cosine": paired, "unpaired_cosine": unpaired, "n": int(n), "dim": int(dim)}


def gap_map(image_emb, text_emb, out_png: str | Path, title: str = "", method: str = "tsne", seed: int = 0,
            max_points: int = 2000, pairs_drawn: int = 25) -> Path:
    """A 2D map of both modalities in one scatter, a few pairs joined by thin grey lines; returns the PNG's path.

    At most ``max_points`` points are drawn (``max_points // 2`` pairs, a seeded sample); the title
    gives the centroid distance of all rows. ``method`` is ``"tsne"`` (scikit-learn, PCA
    initialisation) or ``"umap"`` (needs umap-learn). The file is written whole or not at all.
    """
    image, text = _paired(image_emb, text_emb)
    if method not in ("tsne", "umap"):
        raise InputError(f"unknown map method {method!r}", "use tsne or umap")
    if max_points < 2 * MIN_ROWS:
        raise InputError(f"max_points={max_points} leaves fewer than {MIN_ROWS} pairs to draw",
                         f"pass max_points of {2 * MIN_ROWS} or more")
    n = len(image)
    rng = np.random.default_rng(seed)
    keep = np.sort(rng.choice(n, size=max_points // 2, replace=False)) if n > max_points // 2 else np.arange(n)
    points = np.concatenate([image[keep], text[keep]])
    xy = _embed_2d(points, method, seed)
    m = len(keep)
    distance = float(np.linalg.norm(image.mean(0) - text.mean(0)))

    import matplotlib

    matplotlib.use("Agg")  # files only, never a window
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.collections import LineCollection
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6.4, 5.6), dpi=120)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    joined = rng.choice(m, size=min(pairs_drawn, m), replace=False)
    ax.add_collection(LineCollection(np.stack([xy[joined], xy[m + joined]], axis=1), colors="0.6",
                                     linewidths=0.5, alpha=0.8, zorder=1))
    ax.scatter(xy[:m, 0], xy[:m, 1], s=6, c="tab:blue", alpha=0.7, label="image", zorder=2, linewidths=0)
    ax.scatter(xy[m:, 0], xy[m:, 1], s=6, c="tab:orange", alpha=0.7, label="text", zorder=2, linewidths=0)
    ax.legend(loc="best", markerscale=3, frameon=False)
    ax.set_xticks([])
    ax.set_yticks([])
    label = {"tsne": "t-SNE", "umap": "UMAP"}[method]
    heading = f"{title} — " if title else ""
    ax.set_title(f"{heading}{label} of {m:,} pairs; centroid distance {distance:.3f}", fontsize=10)
    fig.tight_layout()

    from artkg.kg.atomic import atomic_path

    out = Path(out_png)
    with atomic_path(out) as tmp:
        fig.savefig(tmp, format="png")
    return out


# ------------------------------------------------------------------ helpers
def _paired(image_emb, text_emb) -> tuple[np.ndarray, np.ndarray]:
    """Both arrays as float64 with unit rows, after checking they pair up."""
    image, text = _as_array(image_emb, "image"), _as_array(text_emb, "text")
    if image.shape != text.shape:
        raise InputError(f"image embeddings {image.shape} and text embeddings {text.shape} do not pair up",
                         "give one image row and one text row per painting, in the same space (same dim)")
    if len(image) < MIN_ROWS:
        raise InputError(f"{len(image)} pairs are too few to measure a modality gap",
                         f"give at least {MIN_ROWS} paired rows")
    return _unit_rows(image, "image"), _unit_rows(text, "text")


def _as_array(x, what: str) -> np.ndarray:
    if hasattr(x, "detach"):  # a torch tensor
        x = x.detach().cpu().numpy()
    array = np.asarray(x, dtype=np.float64)
    if array.ndim != 2 or array.shape[1] == 0:
        raise InputError(f"the {what} embeddings have shape {array.shape}", "give a 2-d array [paintings, dim]")
    if not np.isfinite(array).all():
        raise InputError(f"the {what} embeddings hold NaN or infinite values", "drop or recompute those rows")
    return array


def _unit_rows(array: np.ndarray, what: str) -> np.ndarray:
    norms = np.linalg.norm(array, axis=1, keepdims=True)
    if (norms == 0).any():
        raise InputError(f"{int((norms == 0).sum())} {what} embeddings are all zeros (no direction)",
                         "drop the masked rows (the feature folder's mask) before measuring the gap")
    return array / norms


def _embed_2d(points: np.ndarray, method: str, seed: int) -> np.ndarray:
    if method == "umap":
        try:
            import umap
        except ImportError as exc:
            raise InputError("the umap map method needs the package umap-learn",
                             "pip install umap-learn, or use method='tsne'") from exc
        reducer = umap.UMAP(n_components=2, n_neighbors=min(15, len(points) - 1), random_state=seed)
        return np.asarray(reducer.fit_transform(points), dtype=np.float64)
    from sklearn.manifold import TSNE

    perplexity = float(min(30.0, (len(points) - 1) / 3))
    return TSNE(n_components=2, init="pca", perplexity=perplexity, learning_rate="auto",
                random_state=seed).fit_transform(points)
