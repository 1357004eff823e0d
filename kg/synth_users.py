"""Users of the offline art world: planted tastes, an online store's inventory, purchases over time.

The store opens at :data:`STORE_OPEN` and runs for :data:`STORE_DAYS` days. Every artwork is uploaded
at a random time in the first 80% of it; most works are one of a kind (:data:`ONE_OF_A_KIND_P`) and
leave the inventory once bought, the rest are prints anyone may buy.

Each user has a taste — a mixture, in proportions that vary per user (Dirichlet), of

* **visual**: a region of the latent style space (a centre near one artwork, a sharpness);
* **artist**: one to three favourite artists;
* **movement**: one or two favourite movements (of the works' artists);
* **genre**: a favourite genre.

``taste="visual"`` keeps only the visual part, ``taste="kg"`` only the other three (the knowledge
graph's facts), ``taste="mixed"`` (default) all four. Users arrive over time and come back for one
to several purchase sessions; at each session they buy a basket of one to three works from the
inventory of that moment: each work is drawn from one part of the taste, chosen by the user's weights
(among the parts that have a work on offer), or — with probability :data:`NOISE_P` — from anything
on offer. The visual part draws by a softmax of :data:`KAPPA` × the cosine to the user's centre; the
artist, movement and genre parts uniformly among the matching works. Sessions of all users are
replayed in time order, so a sold one-of-a-kind work is gone for everyone after. Everything is
drawn from streams of the world seed: the same arguments give the same purchases.
"""
from __future__ import annotations

import numpy as np

STORE_OPEN = 1_420_070_400.0  # 2015-01-01T00:00:00Z
STORE_DAYS = 5 * 365
ONE_OF_A_KIND_P = 0.85
TASTES = ("visual", "artist", "movement", "genre")
TASTE_MIXES = ("mixed", "visual", "kg")
# The visual part: a softmax of KAPPA × the cosine to the user's centre over the works on offer.
KAPPA = 12.0
# The share of purchases made at random (whatever the taste).
NOISE_P = 0.1


def plant_users(world, n_users: int, taste: str = "mixed") -> dict:
    """Sample users, inventory and purchases for ``world`` (a :class:`~artkg.kg.synth_world._World`).

    Returns ``{"upload": (n_works,) seconds, "one_of_a_kind": bool (n_works,), "events": (user,
    artwork, time, basket) int/float arrays in time order, "tastes": [per-user dict]}``."""
    from artkg.kg.synth_world import _stream

    if taste not in TASTE_MIXES:
        raise ValueError(f"taste must be one of {', '.join(TASTE_MIXES)} (got {taste!r})")
    rng = _stream(world.seed, f"users-{taste}")
    n_works = len(world.work_artist)
    day = 86_400.0
    upload = STORE_OPEN + rng.uniform(0.0, 0.8 * STORE_DAYS, n_works) * day
    upload = np.round(upload)
    once = rng.random(n_works) < ONE_OF_A_KIND_P
    latent = world.work_latent
    work_movement = world.movement_of[world.work_artist]
    work_genre = world.work_genre
    n_genres = int(work_genre.max()) + 1 if n_works else 1

    # Tastes.
    if taste == "visual":
        weights = np.tile([1.0, 0.0, 0.0, 0.0], (n_users, 1))
    elif taste == "kg":
        weights = np.hstack([np.zeros((n_users, 1)), rng.dirichlet([0.5, 0.5, 0.5], size=n_users)])
    else:
        weights = rng.dirichlet([0.5, 0.5, 0.5, 0.5], size=n_users)
    centre_work = rng.integers(0, n_works, n_users)
    centres = latent[centre_work] + rng.normal(0, 0.15, (n_users, latent.shape[1]))
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    artists_with_works = np.unique(world.work_artist)
    movements = np.unique(work_movement)
    fav_artists = [rng.choice(artists_with_works, size=int(rng.integers(1, 4)), replace=False) for _ in range(n_users)]
    fav_movements = [rng.choice(movements, size=min(len(movements), int(rng.integers(1, 3))), replace=False)
                     for _ in range(n_users)]
    fav_genre = rng.integers(0, n_genres, n_users)

    # Sessions: arrival in the first 60% of the store's life, 1–6 sessions a few weeks apart.
    arrive = STORE_OPEN + rng.uniform(0.05, 0.6 * STORE_DAYS, n_users) * day
    sessions = []
    for u in range(n_users):
        n_sessions = min(1 + int(rng.geometric(0.35)), 6)
        gaps = rng.exponential(60.0, n_sessions) * day
        gaps[0] = 0.0
        times = np.minimum(arrive[u] + np.cumsum(gaps), STORE_OPEN + STORE_DAYS * day)
        sessions += [(float(np.round(t)), u, s) for s, t in enumerate(times)]
    sessions.sort()

    sold = np.zeros(n_works, dtype=bool)
    ev_user, ev_work, ev_time, ev_basket = [], [], [], []
    for basket, (t, u, _) in enumerate(sessions):
        available = np.flatnonzero((upload <= t) & ~sold)
        if not len(available):
            continue
        # Each part of the taste is a distribution over the works on offer; a purchase first picks
        # a part (by the user's weights, NOISE_P: anything), then a work from that part.
        visual = np.exp(KAPPA * (latent[available] @ centres[u] - 1.0))
        parts = [visual / visual.sum(),
                 np.isin(world.work_artist[available], fav_artists[u]).astype(float),
                 np.isin(work_movement[available], fav_movements[u]).astype(float),
                 (work_genre[available] == fav_genre[u]).astype(float)]
        mix = np.full(len(available), NOISE_P / len(available))
        weight = (1.0 - NOISE_P) * weights[u] * np.array([p.sum() > 0 for p in parts])
        weight = weight / weight.sum() * (1.0 - NOISE_P) if weight.sum() > 0 else weight
        for w_c, part in zip(weight, parts):
            if w_c > 0:
                mix += w_c * part / part.sum()
        size = min(len(available), int(rng.choice([1, 1, 1, 2, 2, 3])))
        picked = available[rng.choice(len(available), size=size, replace=False, p=mix / mix.sum())]
        sold[picked[once[picked]]] = True
        ev_user += [u] * size
        ev_work += picked.tolist()
        ev_time += [t] * size
        ev_basket += [basket] * size
    tastes = [{"weights": dict(zip(TASTES, map(float, np.round(weights[u], 4)))),
               "visual_centre_artwork": int(centre_work[u]),
               "favourite_artists": sorted(int(a) for a in fav_artists[u]),
               "favourite_movements": sorted(int(m) for m in fav_movements[u]),
               "favourite_genre": int(fav_genre[u])} for u in range(n_users)]
    return {"upload": upload, "one_of_a_kind": once, "tastes": tastes, "taste_mix": taste,
            "events": (np.array(ev_user, dtype=np.int64), np.array(ev_work, dtype=np.int64),
                       np.array(ev_time, dtype=np.float64), np.array(ev_basket, dtype=np.int64))}
