"""Object-level influence: which artworks may have influenced this one (``artkg influence --artwork``).

Candidates are ranked by a CLOIR run's embedding (``run``) or by the raw input features, through a
FAISS index (built on the fly, or a saved one from ``artkg index build``). Each candidate carries
the artist-level path — from the query's creator back to the candidate's creator along
``influenced_by``, the same breadth-first search as ``artkg influence --artist`` — that makes it a
plausible influence, or ``null`` when the graph knows none within ``degree``.
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import numpy as np

from artkg.kg.errors import InputError
from artkg.kg.influence import Direction
from artkg.models.triplets import artwork_creators, artwork_years
from artkg.retrieval.rank import Gallery


def artwork_vectors(graph, run: str | Path | None = None, features: str = "image",
                    image_key: Optional[str] = None) -> tuple[np.ndarray, np.ndarray, dict]:
    """``(vectors [N_artworks, d], usable mask, description)`` from a CLOIR run or raw features."""
    from artkg.retrieval.embeddings import input_features

    if run is not None:
        from artkg.models.run import check_run_graph
        from artkg.retrieval.cloir import MODEL_METRIC, load_cloir_run, run_features

        config, model, _ = load_cloir_run(run)
        check_run_graph(config, graph, run, "pass the graph the run was trained on, or train a run on this graph")
        feats, mask = run_features(config, graph)
        return model.embed(feats).numpy().astype(np.float32), mask.numpy(), \
            {"kind": "cloir", "run": str(run), "metric": MODEL_METRIC}
    from artkg.retrieval.cloir import BASELINE_METRIC

    feats, mask, record = input_features(graph, features, image_key)
    source = {"kind": "features", "features": features, "metric": BASELINE_METRIC}
    if "image" in record:
        source["image"] = record["image"]["key"]
    return feats.numpy().astype(np.float32), mask.numpy(), source


def influencing_artworks(graph, artwork: str, k: int = 10, degree: int = 1, run: str | Path | None = None,
                         features: str = "image", index: str | Path | None = None, time_filter: bool = True,
                         only_linked: bool = False) -> dict:
    """The ``artkg influence --artwork`` answer as plain data."""
    if k < 1:
        raise InputError(f"k must be at least 1 (got {k})", "pass --k 10")
    if degree not in (1, 2):
        raise InputError(f"degree must be 1 or 2 for artworks (got {degree})", "pass --degree 1 or --degree 2")
    query = graph.resolve("artwork", artwork)
    creator, years = artwork_creators(graph), artwork_years(graph)
    if index is not None:
        vectors, usable, source, gallery = _saved_gallery(graph, index, run, features, creator, years)
    else:
        vectors, usable, source = artwork_vectors(graph, run, features)
        gallery = Gallery.for_graph(graph, vectors, usable, metric=source["metric"])
    if not usable[query]:
        raise InputError(f"the artwork {graph.iris['artwork'][query]} has no "
                         f"{source.get('features', 'input')} features (no readable image?)",
                         f"run `artkg features {graph.root}`, or pick another artwork")
    chains = {c.index: c for c in graph.influence.chains(int(creator[query]), degree, Direction.influencers)} \
        if creator[query] >= 0 else {}
    q = np.array([query])
    pool = int(gallery.valid(q, np.arange(len(gallery))[None, :], time_filter).sum())
    if pool == 0:
        raise InputError(f"no candidate artworks for {graph.iris['artwork'][query]}: every work in the index is "
                         "by its own artist" + (" or later than it" if time_filter else ""),
                         "try --no-time-filter, or a graph with more artists")
    want = pool if only_linked else k
    if not only_linked and k > pool:
        raise InputError(f"k={k} is larger than the pool of {pool} candidate artworks",
                         f"pass --k {pool} or less" + ("" if not time_filter else " (or --no-time-filter)"))
    cand, scores, valid = gallery.search(vectors, q, want, time_filter)
    from artkg.kg.search import describe, display

    def names(path: list[int]) -> list[str]:
        return [display(describe(graph, "artist", i)) for i in path]

    results = []
    for art, score, ok in zip(cand[0].tolist(), scores[0].tolist(), valid[0].tolist()):
        if not ok or len(results) >= k:
            break
        who = int(creator[art])
        chain = chains.get(who)
        if only_linked and chain is None:
            continue
        results.append({
            "rank": len(results) + 1, "id": graph.iris["artwork"][art], "label": graph.label_of("artwork", art),
            "score": round(float(score), 6), **readable_score(float(score), source["metric"]),
            "year": _year(years[art]),
            "creator": {"id": graph.iris["artist"][who], "label": graph.label_of("artist", who)} if who >= 0 else None,
            "degree": chain.degree if chain else None,
            "path": [graph.iris["artist"][i] for i in chain.path] if chain else None,
            "path_names": names(chain.path) if chain else None,
        })
    who = int(creator[query])
    source = {**source, "similarity": SIMILARITY.get(source["metric"]), "distance": DISTANCE.get(source["metric"])}
    note = None
    if not any(r["path"] for r in results):
        from artkg.kg.influence import no_influence_note

        note = no_influence_note(graph, display(describe(graph, "artist", who)) if who >= 0 else "its artist",
                                 Direction.influencers) if (who < 0 or not chains) else \
            f"none of these candidates' artists is within {degree} influence hop(s) of the query's artist"
    return {
        "artwork": {"id": graph.iris["artwork"][query], "label": graph.label_of("artwork", query),
                    "year": _year(years[query]),
                    "creator": {"id": graph.iris["artist"][who], "label": graph.label_of("artist", who)}
                    if who >= 0 else None},
        "k": k, "degree": degree, "time_filter": time_filter, "only_linked": only_linked,
        "ranking": source, "candidates": results, **({"note": note} if note else {}),
    }


#: how each metric's score becomes a similarity in [0, 1] and a distance (shown beside it)
SIMILARITY = {"l2": "1 / (1 + L2 distance)", "cosine": "(1 + cosine) / 2", "ip": None}
DISTANCE = {"l2": "L2 distance", "cosine": "cosine distance (1 - cosine)", "ip": None}


def readable_score(score: float, metric: str) -> dict:
    """A ranking score (higher is better: a cosine, or minus the squared L2 distance) as a person
    reads it: ``similarity`` in [0, 1] (1: the same vector) and the ``distance`` it comes from."""
    if metric == "l2":
        distance = float(np.sqrt(max(-score, 0.0)))
        return {"similarity": round(1.0 / (1.0 + distance), 4), "distance": round(distance, 4)}
    if metric == "cosine":
        cosine = min(max(score, -1.0), 1.0)
        return {"similarity": round((1.0 + cosine) / 2.0, 4), "distance": round(1.0 - cosine, 4)}
    return {"similarity": None, "distance": None}  # a raw inner product has no bounded reading


def _year(value: float):
    return None if np.isnan(value) else int(value)


def _saved_gallery(graph, index_dir, run, features, creator, years):
    """A gallery over a saved index; its vectors must come from the same graph and source."""
    from artkg.retrieval.index import load_index

    from artkg.kg.ids import id_map_hashes

    index = load_index(index_dir, expected_id_map_hash=id_map_hashes(graph.manifest))
    source = dict(index.source)
    rows = np.asarray(source.pop("artworks", []), dtype=np.int64)
    if run is None and source.get("run"):
        run = source["run"]
    vectors, usable, described = artwork_vectors(graph, run, source.get("features", features))
    if len(rows) != index.ntotal:
        raise InputError(f"the index at {index_dir} does not list its artworks", "rebuild it with `artkg index build`")
    described["metric"] = source.get("metric", described["metric"])  # what the index was built with
    return vectors, usable, {**described, "index": str(index_dir), "index_kind": index.kind}, \
        Gallery(rows, creator, years, index)


def build_artwork_index(graph, out: str | Path, run: str | Path | None = None, features: str = "image",
                        kind: str = "flat", kind_kwargs: Optional[dict] = None, metric: Optional[str] = None) -> dict:
    """``artkg index build``: a FAISS index over every artwork's vector, saved with the id map.

    ``metric`` (l2, ip or cosine) defaults to the one the vectors are meant for: cosine for raw
    features, l2 for a CLOIR embedding."""
    from artkg.retrieval.index import build_index
    from artkg.retrieval.rank import METRICS

    vectors, usable, source = artwork_vectors(graph, run, features)
    creator = artwork_creators(graph)
    rows = np.flatnonzero(usable & (creator >= 0))
    if metric is not None and metric not in METRICS:
        raise InputError(f"unknown metric {metric!r}", f"choose one of {', '.join(METRICS)}")
    metric = metric or source["metric"]
    source["metric"] = metric
    index = build_index(vectors[rows], kind, kind_kwargs, metric="l2" if metric == "l2" else "ip",
                        normalize=metric == "cosine", id_map_hash=graph.manifest.get("id_map_hash"),
                        source={**source, "graph": str(graph.root.resolve()), "artworks": rows.tolist()})
    path = index.save(out, id_map_hash=index.id_map_hash, source=index.source)
    return {"index": str(path), "kind": index.kind, "metric": metric, "vectors": int(index.ntotal),
            "dim": int(index.dim), "ranking": source}
