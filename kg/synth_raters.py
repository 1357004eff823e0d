"""Raters of the offline art world: people who rate paintings 1–5, for what they show and what they are about.

Multimodal recommenders (image similarity, topic or sentence models of the text, their fusions) need
tastes planted in both modalities, so that an engine blind to one of them is measurably worse on the
raters who care about it. Each rater has

* a **show** part — what the paintings look like: a centre in the latent style space the renderer
  draws the images from (:mod:`artkg.kg.synth_render`), near one random artwork's latent;
  ``utility_show(w) = cos(latent_w, centre)``;
* an **about** part — what the paintings depict: two to four favourite subjects among those that occur;
  ``utility_about(w) = |subjects_w ∩ favourites| / |subjects_w|``. Subjects are graph facts (``wdt:P180``
  edges, with labels) and are never drawn into the images. They are, however, tied to the genre
  (each genre has its own subject list, :data:`~artkg.kg.synth_world.GENRES`) and the genre sets the
  image's layout: pixels show *which genre* a work is, never *which of its genre's subjects* it depicts.

Both parts are standardised over the whole collection per rater (``z``), then mixed:
``u = w_show · z(show) + (1 − w_show) · z(about)`` with ``w_show`` = 1 (``taste="show"``), 0
(``"about"``) or Beta(0.4, 0.4) (``"both"``, bimodal: most raters lean clearly to one side).

Each rater rates :data:`RATINGS_PER_RATER` distinct works in one elicitation session at a random time of
the store's life (:data:`~artkg.kg.synth_users.STORE_OPEN`, :data:`~artkg.kg.synth_users.STORE_DAYS`):
half drawn by a softmax of :data:`EXPOSURE_BETA` × ``u`` over the collection (people look at what they
like), the rest uniformly. The rating is the work's utility percentile in the whole collection (mid-rank
for ties) plus Gaussian noise (:data:`RATING_NOISE`), clipped to [0, 1] and cut at
:data:`RATING_CUTS` (≥ 0.95 → 5, ≥ 0.85 → 4, ≥ 0.60 → 3, ≥ 0.30 → 2, else 1). Ratings in a session are
a few seconds apart in a random order, so a rater's first *n* ratings are a random subset of them.
Everything is drawn from the stream ``"raters-<taste>"`` of the world seed.
"""
from __future__ import annotations

import numpy as np

from artkg.kg.errors import InputError

RATER_TASTES = ("both", "show", "about")
RATINGS_PER_RATER = 40
SHOW_BETA = (0.4, 0.4)  # Beta prior of w_show for taste="both"
CENTRE_NOISE = 0.15  # the visual centre: an artwork's latent + N(0, CENTRE_NOISE), normalised
EXPOSURE_BETA = 3.0  # the preferential half of the exposure: softmax(EXPOSURE_BETA · u)
RATING_NOISE = 0.1  # σ of the Gaussian noise on the utility percentile
RATING_CUTS = (0.30, 0.60, 0.85, 0.95)  # percentile thresholds of ratings 2, 3, 4, 5
FAVOURITES = (2, 4)  # favourite subjects per rater: uniform in [2, 4]
GAP_SECONDS = (2, 15)  # seconds between two ratings of a session: uniform in [2, 15]


def _zscore(x: np.ndarray) -> np.ndarray:
    """Standardise the rows of ``x`` (a constant row gives zeros)."""
    sd = x.std(axis=1, keepdims=True)
    return np.divide(x - x.mean(axis=1, keepdims=True), sd, out=np.zeros_like(x), where=sd > 1e-12)


def _percentiles(u: np.ndarray) -> np.ndarray:
    """Mid-rank percentile of every entry within its row, in [0, 1] (ties share one value)."""
    n = u.shape[1]
    if n == 1:
        return np.full_like(u, 0.5)
    s = np.sort(u, axis=1)
    below = np.stack([np.searchsorted(s[r], u[r], side="left") for r in range(len(u))])
    upto = np.stack([np.searchsorted(s[r], u[r], side="right") for r in range(len(u))])
    return (below + upto - 1) / (2.0 * (n - 1))


def ratings_from_percentiles(p: np.ndarray) -> np.ndarray:
    """Percentiles (already noisy) → ratings 1–5 by :data:`RATING_CUTS` (clipped to [0, 1] first)."""
    return 1 + np.searchsorted(np.array(RATING_CUTS), np.clip(p, 0.0, 1.0), side="right")


def plant_raters(world, n_raters: int, taste: str = "both", ratings_per_rater: int = RATINGS_PER_RATER) -> dict:
    """Sample raters with planted show/about tastes and their ratings for ``world``
    (a :class:`~artkg.kg.synth_world._World` with artworks).

    Returns ``{"events": (rater, artwork, time, rating) int64/int64/float64/int64 arrays in time order,
    "tastes": [{"show_weight", "visual_centre_artwork", "favourite_subjects"}] per rater, "taste",
    "ratings_per_rater"}`` (``ratings_per_rater`` capped at the number of artworks)."""
    from artkg.kg.synth_users import STORE_DAYS, STORE_OPEN
    from artkg.kg.synth_world import _stream

    if taste not in RATER_TASTES:
        raise InputError(f"unknown rater taste {taste!r}", f"choose one of {', '.join(RATER_TASTES)}")
    if int(n_raters) < 0:
        raise InputError(f"the number of raters cannot be negative (got {n_raters})", "give 0 or more raters")
    if int(ratings_per_rater) < 1:
        raise InputError(f"each rater must rate at least one work (got {ratings_per_rater})",
                         "give ratings_per_rater >= 1")
    n_raters = int(n_raters)
    latent = np.asarray(world.work_latent, dtype=np.float64)
    n_works = len(latent)
    if n_works == 0:
        raise InputError("the world has no artworks to rate", "add artworks before planting raters")
    k = min(int(ratings_per_rater), n_works)
    rng = _stream(world.seed, f"raters-{taste}")

    # Tastes.
    if taste == "show":
        show_weight = np.ones(n_raters)
    elif taste == "about":
        show_weight = np.zeros(n_raters)
    else:
        show_weight = rng.beta(*SHOW_BETA, size=n_raters)
    centre_work = rng.integers(0, n_works, n_raters)
    centres = latent[centre_work] + rng.normal(0.0, CENTRE_NOISE, (n_raters, latent.shape[1]))
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    vocab = sorted({s for subjects in world.work_subjects for s in subjects})
    col = {s: j for j, s in enumerate(vocab)}
    depicts = np.zeros((n_works, len(vocab)))  # work × subject incidence
    for w, subjects in enumerate(world.work_subjects):
        depicts[w, [col[s] for s in subjects]] = 1.0
    n_fav = rng.integers(FAVOURITES[0], FAVOURITES[1] + 1, n_raters)
    favourites = [np.sort(rng.choice(len(vocab), size=min(int(m), len(vocab)), replace=False)) for m in n_fav]
    fav = np.zeros((n_raters, len(vocab)))
    for r, f in enumerate(favourites):
        fav[r, f] = 1.0

    # Utilities over the whole collection (raters × works).
    show = centres @ (latent / np.linalg.norm(latent, axis=1, keepdims=True)).T
    n_subj = depicts.sum(axis=1)
    about = np.divide(fav @ depicts.T, n_subj, out=np.zeros((n_raters, n_works)), where=n_subj > 0)
    utility = show_weight[:, None] * _zscore(show) + (1.0 - show_weight[:, None]) * _zscore(about)
    pct = _percentiles(utility)

    # Exposure, ratings and one session per rater.
    day = 86_400.0
    start = np.round(STORE_OPEN + rng.uniform(0.0, STORE_DAYS - 1.0, n_raters) * day)
    n_liked = k // 2
    ev_user, ev_work, ev_time, ev_rating = [], [], [], []
    for r in range(n_raters):
        logits = EXPOSURE_BETA * utility[r]
        p = np.exp(logits - logits.max())
        liked = rng.choice(n_works, size=n_liked, replace=False, p=p / p.sum())
        rest = np.setdiff1d(np.arange(n_works), liked)
        works = np.concatenate([liked, rng.choice(rest, size=k - n_liked, replace=False)])
        rng.shuffle(works)  # the order of the session: first ratings are a random subset
        noisy = pct[r, works] + rng.normal(0.0, RATING_NOISE, k)
        ev_user.append(np.full(k, r))
        ev_work.append(works)
        ev_time.append(start[r] + np.cumsum(rng.integers(GAP_SECONDS[0], GAP_SECONDS[1] + 1, k)))
        ev_rating.append(ratings_from_percentiles(noisy))
    if n_raters:
        user, work, time, rating = (np.concatenate(x) for x in (ev_user, ev_work, ev_time, ev_rating))
    else:
        user, work, rating, time = np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0)
    order = np.lexsort((work, user, time))
    tastes = [{"show_weight": float(show_weight[r]),
               "visual_centre_artwork": int(centre_work[r]),
               "visual_centre": [float(x) for x in centres[r]],
               "favourite_subjects": [vocab[j] for j in favourites[r]]} for r in range(n_raters)]
    return {"events": (user[order].astype(np.int64), work[order].astype(np.int64),
                       time[order].astype(np.float64), rating[order].astype(np.int64)),
            "tastes": tastes, "taste": taste, "ratings_per_rater": k}
