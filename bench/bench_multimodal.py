"""Multimodal recommendation benchmark (issue 11): late fusion by reciprocal rank fusion over a
100k-painting collection against bare numpy.

Sections (each in its own child process, ``--threads`` BLAS/OpenMP threads, default 1):

1. **rrf** — "total late fusion over a 100k-painting collection (two full rankings + RRF)". Input:
   two seeded float32 score vectors over 100,000 items (uniform, rounded to 4 decimals, so ~10
   items share each value: ties). ``library`` =
   ``top_positions(reciprocal_rank_fusion([a, b], mode="total"), 20)`` from
   :mod:`artkg.models.recsys.fusion`; ``bare`` = the same in plain numpy: per model
   ``argsort(-s, kind="stable")``, ranks by scatter, ``fused += 1 / (60 + rank)``, then
   ``argsort(-fused, kind="stable")[:20]``. One more row, not a goal: ``partial`` mode with
   ``r = 100`` (each model's top 100 by a partition); and the fusion alone, without the top 20
   (``reciprocal_rank_fusion`` vs the bare fused sum), since most of the library's lead comes from
   :func:`top_positions`' partition against the bare full sort. ``--repeat`` interleaved rounds (A B, B A, …)
   after two warm-up rounds; figures: medians (ms) and **bare ÷ library** of the medians (goal
   ≥ 0.9) and the median of the per-round ratios. Both must give the same top 20 (checked, with the
   largest difference of the fused scores).

More sections are appended to :data:`SECTIONS` (name → (worker function, main-side report
function)); the LDA fit timing (``lda_fit_time``) is to come as the next one.

Usage: ``python bench/bench_multimodal.py [--quick] [--only rrf] [--repeat R] [--threads T]``.
Table on stdout, JSON in ``bench/out/bench_multimodal.json``.
"""
from __future__ import annotations

import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import interleaved, peak_rss_mib, sections_main, table

SCRIPT = Path(__file__).resolve()
SIZES = {"rrf": ({"items": 100_000, "models": 2, "top": 20, "k": 60.0, "partial_r": 100},  # (full, quick)
                 {"items": 10_000, "models": 2, "top": 20, "k": 60.0, "partial_r": 100}),
         "lda": ({"rows": None, "topics": 10, "select": [5, 10, 15, 20, 30], "repeat": 2},
                 {"rows": 300, "topics": 5, "select": [3, 5], "repeat": 1})}
REPEAT = (30, 5)  # (full, quick) interleaved rounds


# ---------------------------------------------------------------------------------- 1. rrf
def rrf_scores(items: int, models: int, seed: int = 0):
    """``models`` float32 score vectors over ``items`` items, uniform in [0, 1) rounded to 4 decimals."""
    import numpy as np

    rng = np.random.default_rng(seed)
    return [np.round(rng.random(items, dtype=np.float32), 4) for _ in range(models)]


def bare_rrf_top(scores, k: float, top: int):
    """Plain numpy: full stable descending sort per model, ranks by scatter, fused sum, then (unless
    ``top`` is 0) a full stable sort of the fused scores."""
    import numpy as np

    n = len(scores[0])
    fused = np.zeros(n)
    for s in scores:
        order = np.argsort(-s, kind="stable")
        ranks = np.empty(n, dtype=np.int64)
        ranks[order] = np.arange(1, n + 1)
        fused += 1.0 / (k + ranks)
    return (np.argsort(-fused, kind="stable")[:top] if top else None), fused


def worker_rrf(cfg: dict, repeat: int) -> dict:
    import numpy as np
    from artkg.models.recsys.fusion import reciprocal_rank_fusion, top_positions

    scores = rrf_scores(cfg["items"], cfg["models"])
    k, top, r = cfg["k"], cfg["top"], cfg["partial_r"]
    distinct = [len(np.unique(s)) for s in scores]
    ours_top, ours_fused = None, None

    def library():
        nonlocal ours_top, ours_fused
        ours_fused = reciprocal_rank_fusion(scores, k=k, mode="total")
        ours_top = top_positions(ours_fused, top)

    def partial():
        return top_positions(reciprocal_rank_fusion(scores, k=k, mode="partial", r=r), top)

    res = interleaved({"bare": lambda: bare_rrf_top(scores, k, top)[0], "library": library, "partial": partial,
                       "bare_fusion": lambda: bare_rrf_top(scores, k, 0)[1],
                       "library_fusion": lambda: reciprocal_rank_fusion(scores, k=k, mode="total")},
                      repeat, warmup=2)
    bare_top, bare_fused = bare_rrf_top(scores, k, top)
    return {"items": cfg["items"], "models": cfg["models"], "distinct_scores": distinct, "repeat": repeat,
            **{f"{v}_s": res[v] for v in ("bare", "library", "partial", "bare_fusion", "library_fusion")},
            "same_top": bool(np.array_equal(ours_top, bare_top)),
            "max_abs_fused_diff": float(np.max(np.abs(ours_fused - bare_fused))),
            "top": ours_top.tolist(), "peak_rss_mib": peak_rss_mib()}


def report_rrf(r: dict, threads: int, info: dict) -> dict:
    bare, ours, part, bare_f, ours_f = (statistics.median(r[f"{v}_s"]) for v in (
        "bare", "library", "partial", "bare_fusion", "library_fusion"))
    ratios = {"bare_over_library_total": round(bare / ours, 3),
              "bare_over_library_total_paired": round(statistics.median(
                  b / o for b, o in zip(r["bare_s"], r["library_s"])), 3),
              "library_total_ms": round(ours * 1e3, 3), "bare_total_ms": round(bare * 1e3, 3),
              "library_partial_ms": round(part * 1e3, 3),
              "bare_over_library_fusion_only": round(bare_f / ours_f, 3)}
    print(f"bench_multimodal rrf: total late fusion over {r['items']:,} items, {r['models']} models (float32, "
          f"{min(r['distinct_scores']):,}–{max(r['distinct_scores']):,} distinct scores each: ties), top 20, "
          f"median of {r['repeat']} interleaved rounds, {threads} thread(s); load average {info.get('load_avg')}")
    print(table([["bare numpy: argsort + scatter ranks + fused sum + argsort (baseline)", f"{bare * 1e3:.2f}",
                  f"{min(r['bare_s']) * 1e3:.2f}", "1.000×"],
                 ["library: reciprocal_rank_fusion(total) + top_positions", f"{ours * 1e3:.2f}",
                  f"{min(r['library_s']) * 1e3:.2f}", f"{ratios['bare_over_library_total']:.3f}×"],
                 ["library: reciprocal_rank_fusion(partial, r=100) + top_positions", f"{part * 1e3:.2f}",
                  f"{min(r['partial_s']) * 1e3:.2f}", f"{bare / part:.3f}×"],
                 ["fusion only, bare: argsort + scatter ranks + fused sum (baseline)", f"{bare_f * 1e3:.2f}",
                  f"{min(r['bare_fusion_s']) * 1e3:.2f}", "1.000×"],
                 ["fusion only, library: reciprocal_rank_fusion(total)", f"{ours_f * 1e3:.2f}",
                  f"{min(r['library_fusion_s']) * 1e3:.2f}", f"{ratios['bare_over_library_fusion_only']:.3f}×"]],
                ["variant", "median (ms)", "best (ms)", "bare ÷ variant"]))
    print(f"multimodal: total late fusion bare/library {ratios['bare_over_library_total']}× of the medians, "
          f"{ratios['bare_over_library_total_paired']}× median of the per-round ratios (goal ≥ 0.9); fusion alone "
          f"{ratios['bare_over_library_fusion_only']}×; same top 20: "
          f"{r['same_top']}, max |Δ fused| {r['max_abs_fused_diff']:.1e}\n")
    return ratios


# ---------------------------------------------------------------------------------- 2. lda
def worker_lda(cfg: dict, repeat: int) -> dict:
    """LDA on the Wikidata paintings' metadata documents (built through ``kgbuild rdf`` and
    ``artwork_documents``): ``fit_topics`` with one number of topics vs bare scikit-learn
    (CountVectorizer + LatentDirichletAllocation, same parameters), interleaved; then the full
    selection over the candidate numbers of topics, once."""
    import time

    import sklearn.decomposition  # noqa: F401 - imported before timing, not inside the first round
    import sklearn.feature_extraction.text  # noqa: F401
    from _realdata import wikidata_paintings_graph

    from artkg.kg.documents import artwork_documents, has_text
    from artkg.kg.graph import load_graph
    from artkg.models.recsys.topics import TOKEN_PATTERN, fit_topics

    graph = wikidata_paintings_graph(cfg["rows"])
    if graph is None:
        return {"skipped": "../shared/data/wikidata/artonwikidata_paintings.csv is absent"}
    docs = artwork_documents(load_graph(graph))
    docs = [d for d, ok in zip(docs, has_text(docs)) if ok]

    def bare():
        from sklearn.decomposition import LatentDirichletAllocation
        from sklearn.feature_extraction.text import CountVectorizer

        from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

        from artkg.kg.documents import FIELDS

        stop = sorted(ENGLISH_STOP_WORDS | {h.lower() for _, h in FIELDS})
        counts = CountVectorizer(stop_words=stop, token_pattern=TOKEN_PATTERN, min_df=2, max_df=0.5).fit_transform(docs)
        LatentDirichletAllocation(n_components=cfg["topics"], learning_method="batch", max_iter=20, random_state=0,
                                  n_jobs=1).fit_transform(counts)

    def library():
        fit_topics(docs, cfg["topics"], seed=0)

    res = interleaved({"bare": bare, "library": library}, cfg["repeat"], warmup=0)
    t0 = time.perf_counter()
    model = fit_topics(docs, cfg["select"], seed=0)
    return {"documents": len(docs), "topics": cfg["topics"], "repeat": cfg["repeat"], "bare_s": res["bare"],
            "library_s": res["library"], "select_s": time.perf_counter() - t0, "selected": model.summary(8, 6),
            "peak_rss_mib": peak_rss_mib()}


def report_lda(r: dict, threads: int, info: dict) -> dict:
    if r.get("skipped"):
        print(f"bench_multimodal lda: skipped ({r['skipped']})\n")
        return {}
    bare, ours = statistics.median(r["bare_s"]), statistics.median(r["library_s"])
    sel = r["selected"]
    ratios = {"lda_bare_over_library": round(bare / ours, 3), "lda_fit_s": round(ours, 2),
              "lda_select_s": round(r["select_s"], 2), "lda_documents": r["documents"],
              "lda_selected_topics": sel["n_topics"], "lda_coherence": sel["coherence"]}
    print(f"bench_multimodal lda: {r['documents']:,} Wikidata painting documents, {r['topics']} topics, "
          f"median of {r['repeat']}, {threads} thread(s)")
    print(table([["bare scikit-learn: CountVectorizer + LatentDirichletAllocation (baseline)", f"{bare:.2f}", "1.000×"],
                 ["library: fit_topics (+ NPMI coherence)", f"{ours:.2f}", f"{bare / ours:.3f}×"]],
                ["variant", "median (s)", "bare ÷ variant"]))
    print(f"topic selection over {list(sel['tried'])}: {r['select_s']:.1f} s → {sel['n_topics']} topics, "
          f"coherence (NPMI) {sel['coherence']}; tried {sel['tried']}")
    for i, words in enumerate(sel["top_words"]):
        print(f"  topic {i}: {' '.join(words)}")
    print()
    return ratios


# ---------------------------------------------------------------------------------- sections
# name → (worker(cfg, repeat) → JSON-able dict in the child, report(result, threads, machine) → ratios).
SECTIONS = {"rrf": (worker_rrf, report_rrf), "lda": (worker_lda, report_lda)}


def main(argv: list[str] | None = None) -> int:
    return sections_main("bench_multimodal", __doc__, SCRIPT, SECTIONS, SIZES, REPEAT, argv, worker_threads=False,
                         quick_help="seconds")


if __name__ == "__main__":
    sys.exit(main())
