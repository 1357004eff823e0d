"""Why is this artwork close to that one? Grad-CAM with a similarity target for influence retrieval.

For a candidate of ``artkg influence --artwork`` the heatmap shows which parts of the *query*
picture raise the cosine similarity of its embedding with the candidate's: the embedding of a CLOIR
run (the image encoder that made its features, then the run's MLP as the head) or, without a run,
the image features themselves.
"""
from __future__ import annotations

from pathlib import Path
from artkg.kg.errors import InputError


def explain_similarity(graph, artwork: str, reference: str, out: str | Path, run: str | Path | None = None,
                       config=None, image_root: str | Path | None = None, ranked: dict | None = None) -> dict:
    """Write ``similarity.png`` / ``similarity.npy`` (+ JSON summary) for ``artwork`` vs ``reference``.

    ``similarity.png`` shows the query, the candidate and the map over the query side by side,
    titled with both artworks (title, year, artist) and the similarity as ``artkg influence`` prints
    it: in [0, 1] with the distance beside it. ``ranked`` — the candidate's record from the ranking
    (``score``, and ``metric``: cosine or l2) — makes it the ranking's own number; without it the
    reading comes from the cosine the map explains (the same where the ranking is by cosine).
    """
    from artkg.explain.cam import similarity_cam, write_cam_files
    from artkg.kg.atomic import write_json
    from artkg.models.encoders_image import encoder_for_features
    from artkg.models.features_cache import feature_meta
    from artkg.models.images import resolve_image

    head, record = None, None
    if run is not None:
        from artkg.models.run import check_run_graph
        from artkg.retrieval.cloir import load_cloir_run

        run_config, head, _ = load_cloir_run(run)
        check_run_graph(run_config, graph, run, "pass the graph the run was trained on")
        from artkg.models.cloir import CloirConfig

        inputs = CloirConfig.from_dict(run_config["train"]).inputs  # older runs say "features"
        if inputs != "image":
            raise InputError(f"the run {run} embeds {inputs} features; a heatmap needs an "
                             "image-only embedding", "explain a run trained with --inputs image, or drop --run")
        record = run_config["features"]["image"]
    else:
        record = feature_meta(graph.root, "image")
    encoder = encoder_for_features(record, "install the encoder weights the features were computed with")
    paths = []
    for query in (artwork, reference):
        index = graph.resolve("artwork", query)
        iri = graph.images[index] if index < len(graph.images) else None
        path, reason = resolve_image(iri, graph.root, image_root)
        if path is None:
            raise InputError(f"artwork {graph.iris['artwork'][index]} has no local image: {reason}",
                             "pass --image-root DIR with the image files")
        paths.append((index, path))
    result = similarity_cam(encoder, paths[0][1], paths[1][1], head=head, config=config)
    from artkg.explain.readable import node_details

    if ranked is not None and ranked.get("score") is not None:
        from artkg.explain.cam import similarity_reading

        metric = ranked.get("metric", "cosine")
        result.target["reading"] = similarity_reading(float(ranked["score"]), metric, "the ranking")

    result.subject, result.reference_subject = (
        {"label": graph.label_of("artwork", i), **node_details(graph, "artwork", i)} for i, _ in paths)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    files = write_cam_files(result, out, stem="similarity")
    summary = {"artwork": graph.iris["artwork"][paths[0][0]], "reference": graph.iris["artwork"][paths[1][0]],
               "title": result.title, "caption": result.caption,
               "cosine_similarity": result.target["cosine"],
               "embedding": {"kind": "cloir", "run": str(run)} if run is not None else
               {"kind": "features", "encoder": record["encoder"]},
               "heatmap": result.to_dict(), "files": files}
    write_json(out / "similarity.json", summary)
    summary["files"]["summary"] = str(out / "similarity.json")
    return summary
