"""``artkg recommend RUN --user ID`` / ``--liked W1 W2 …``: the top works for a user or a new visitor.

Candidates are the inventory now (or at ``at``): works uploaded by then that are not one of a kind
already sold, minus what the user has. Each recommendation says why: the profile work it is visually
nearest to (cosine of the image features, where the graph has them) and the artist, movement, genre
or style it shares with the profile according to the knowledge graph.

Models that score by an inner product of a user vector and item vectors (CuratorNet and its KG
variant) serve large catalogues (``index_from`` candidates and more) through the retrieval layer's
FAISS index over the candidates' item vectors — ``flat`` (exact, the default: the same items as
scoring every candidate) or an approximate kind (``hnsw``, ``ivf``). The index of a catalogue is
kept in memory for the next request of the same process.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from artkg.kg.errors import InputError
from artkg.models.recsys.protocol import item_context

INDEX_FROM = 50_000  # candidates from which an inner-product model goes through a FAISS index
_INDEXES: dict = {}  # (model id, catalogue hash, kind) → VectorIndex; a few recent catalogues


def top_k(model, user: int, profile: np.ndarray, candidates: np.ndarray, k: int, index: str | None = "flat",
          index_from: int = INDEX_FROM, ratings: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` best candidates for a user and their scores, best first (ties: candidate order);
    ``ratings`` (one per profile item) for the engines that weigh the profile by them."""
    extra = {"ratings": ratings} if ratings is not None and getattr(model, "uses_ratings", False) else {}
    k = min(k, len(candidates))
    vectors = getattr(model, "item_vectors", None)
    if index and len(candidates) >= index_from and vectors is not None and hasattr(model, "user_vector"):
        import hashlib

        from artkg.retrieval.index import build_index

        key = (id(model), hashlib.sha1(np.ascontiguousarray(candidates).tobytes()).hexdigest(), index)
        if key not in _INDEXES:
            if len(_INDEXES) >= 4:
                _INDEXES.pop(next(iter(_INDEXES)))
            _INDEXES[key] = build_index(np.asarray(vectors(), dtype=np.float32)[candidates], index, metric="ip")
        q = np.asarray(model.user_vector(profile, **extra), dtype=np.float32)[None]
        scores, ids = _INDEXES[key].search(q, k)
        keep = ids[0] >= 0
        return candidates[ids[0][keep]], scores[0][keep].astype(np.float64)
    scores = np.asarray(model.score(user, profile, candidates, **extra), dtype=np.float64)
    top = best_k(scores, k)
    return candidates[top], scores[top]


def best_k(scores: np.ndarray, k: int) -> np.ndarray:
    """Positions of the ``k`` highest scores, best first, ties by position, NaN last — exactly what a
    full stable sort gives, at the cost of a partition (O(n)) and a sort of ``k``
    (:func:`artkg.models.recsys.fusion.top_positions`)."""
    from artkg.models.recsys.fusion import top_positions

    return top_positions(scores, k)


def inventory(graph, at: float | None = None, kind: str = "purchased") -> np.ndarray:
    """Bool mask of the works available at time ``at`` (default: after the last interaction)."""
    it = graph.interactions
    at = float(np.nanmax(it.time)) + 1.0 if at is None and len(it) and np.isfinite(it.time).any() else (
        np.inf if at is None else at)
    avail = np.nan_to_num(it.available_from, nan=-np.inf) <= at
    bought = it.of_kind(kind)
    sold = np.zeros(it.n_items, dtype=bool)
    sold[bought.item[np.nan_to_num(bought.time, nan=-np.inf) < at]] = True
    return avail & ~(sold & it.one_of_a_kind)


def recommend(run_dir: str | Path, user: str | None = None, liked: list[str] | None = None, k: int = 20,
              graph_dir: str | Path | None = None, at: float | None = None, index: str | None = "flat",
              index_from: int = INDEX_FROM, rated: dict[str, float] | list[tuple[str, float]] | None = None) -> dict:
    """Top-``k`` works for a graph user (``user``), a new visitor who liked ``liked``, or one who rated
    paintings 1–5 (``rated``: work → rating, the study's elicitation; no retraining for profile-based
    models). Returns the user, the profile and per item: rank, id, label, score, why."""
    from artkg.models.recsys.run import load_recommender

    if sum(x is not None and x != [] and x != {} for x in (user, liked, rated)) != 1:
        raise InputError("give one of --user ID, --liked W1 W2 … or --rate W1=5 W2=3 …",
                         "e.g. `artkg recommend RUN --user U00012`")
    if k < 1:
        raise InputError(f"--k must be at least 1 (got {k})", "e.g. --k 20")
    model, cfg, graph = load_recommender(run_dir, graph_dir)
    kind = cfg.get("train", {}).get("kind") or model.default_kind
    ratings = None
    if rated:
        from artkg.models.recsys.content import rating_weights

        pairs = list(rated.items()) if isinstance(rated, dict) else list(rated)
        rating_weights([r for _, r in pairs])  # 1–5, or a one-line error naming the bad rating
        index_of = {}
        for work, r in pairs:  # a painting named twice: its last rating
            index_of[graph.resolve("artwork", work)] = float(r)
        profile = np.array(list(index_of), dtype=np.int64)
        ratings = np.array(list(index_of.values()), dtype=np.float64)
        who = {"user": None, "label": "new visitor"}
        u_model = -1
    elif user is not None:
        u = graph.resolve("user", user)
        it = graph.interactions
        mine = it.user == u
        if kind == "rated":  # a rated collection's profile: the user's ratings only
            from artkg.kg.interactions import KIND_CODE

            mine &= it.kind == KIND_CODE["rated"]
        order = np.argsort(it.time[mine], kind="stable")
        profile, given = it.item[mine][order], it.rating[mine][order]
        first = np.sort(np.unique(profile, return_index=True)[1])
        profile, given = profile[first], given[first]
        if kind == "rated" and np.isfinite(given).all() and len(given):
            ratings = given.astype(np.float64)
        who = {"user": graph.iris["user"][u], "label": graph.label_of("user", u)}
        u_model = u
    else:
        profile = np.array([graph.resolve("artwork", w) for w in liked], dtype=np.int64)
        who = {"user": None, "label": "new visitor"}
        u_model = -1
    if not len(profile) and not model.needs_user:
        raise InputError(f"{who['label']} has no interactions to recommend from",
                         "pass --liked W1 W2 … (works they like) instead")
    # Rated collections (a museum's): everything is on offer. Purchases: the inventory of that moment.
    mask = np.ones(graph.num_nodes("artwork"), dtype=bool) if kind == "rated" else inventory(graph, at, kind)
    mask[profile] = False
    candidates = np.flatnonzero(mask).astype(np.int64)
    if not len(candidates):
        raise InputError("no work is available to recommend (all sold or owned)", "pass an earlier --at time")
    best, scores = top_k(model, u_model, profile, candidates, k, index=index, index_from=index_from, ratings=ratings)
    reasons = _why(graph, cfg, profile, best, model)
    items = [{"rank": r + 1, "artwork": graph.iris["artwork"][int(i)], "label": graph.label_of("artwork", int(i)),
              "score": round(float(scores[r]), 6), **reasons[r]} for r, i in enumerate(best.tolist())]
    return {**who, "model": cfg["model"], "run": str(run_dir), "profile": [
        {"artwork": graph.iris["artwork"][int(p)], "label": graph.label_of("artwork", int(p)),
         **({"rating": float(ratings[j])} if ratings is not None else {})} for j, p in enumerate(profile)],
        "candidates": int(len(candidates)), "items": items}


def _why(graph, cfg: dict, profile: np.ndarray, items: np.ndarray, model=None) -> list[dict]:
    """Per recommended item: the nearest profile work (in a content engine's own space, else by the
    image features) and what the KG says it shares."""
    context, _ = item_context(graph)
    out = [{"nearest": None, "shares": []} for _ in items]
    if not len(profile):
        return out
    own = getattr(model, "item_vectors", None) if getattr(model, "uses_ratings", False) else None
    if own is not None or cfg.get("features"):
        from artkg.models.features_cache import load_features

        feats = (np.asarray(own(), dtype=np.float32) if own is not None
                 else load_features(graph.root, "image", cfg["features"])[0].numpy().astype(np.float32))
        f = feats / np.maximum(np.linalg.norm(feats, axis=1, keepdims=True), 1e-12)
        sims = f[items] @ f[profile].T
        for r, row in enumerate(sims):
            j = int(row.argmax())
            out[r]["nearest"] = {"artwork": graph.iris["artwork"][int(profile[j])],
                                 "label": graph.label_of("artwork", int(profile[j])), "similarity": round(float(row[j]), 4),
                                 "space": cfg.get("model") if own is not None else "image"}
    types = {"created_by": "artist", "movement": "movement", "genre": "genre", "style": "style"}
    for rel, values in context.items():
        node_type = types[rel]
        if node_type not in graph.iris:
            continue
        liked = set(values[profile].tolist()) - {-1}
        for r, i in enumerate(items.tolist()):
            v = int(values[i])
            if v in liked:
                out[r]["shares"].append({"relation": "artist" if rel == "created_by" else rel,
                                         "node": graph.iris[node_type][v], "label": graph.label_of(node_type, v)})
    return out
