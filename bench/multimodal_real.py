"""Every multimodal engine end to end on the 111 real paintings of ../shared/data/paintings.

The collection holds several reproductions of the same paintings (The Starry Night, The Great Wave,
The Scream …: ``manifest.csv``). What a user would run::

    kgbuild rdf paintings.nt --out P         # title, creator, year, image file per painting (bench/_realdata.py)
    artkg features P --artwork-text          # EfficientNet-Lite0 (ImageNet) at 224 px + MiniLM
    artkg train ENGINE P --out runs/ENGINE   # nobody rated these: fitted for --rate, not evaluated
    artkg recommend runs/ENGINE --rate W=5 --k 9

and for each painting that has other reproductions, a visitor who rates it 5 is recommended 9
paintings: recall@9 of its other reproductions and their mean rank among the 110 candidates. The
image side is the real check here; the documents of this graph are just titles (the manifest has no
subjects or materials), and reproductions share their title, so the text engines find them by name.

    python bench/multimodal_real.py      # writes bench/out/multimodal_real.json
"""
from __future__ import annotations

import json
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _realdata import OUT, painting_rows, paintings_graph  # noqa: E402

ENGINES = [("image", "image_similarity", {}), ("text: LDA", "lda_topics", {}), ("text: MiniLM", "text_similarity", {}),
           ("late fusion MiniLM+image", "late_fusion", {"text": "text_similarity"}),
           ("late fusion LDA+image", "late_fusion", {"text": "lda_topics"}),
           ("early fusion entangled", "early_fusion", {"gap": "entangled", "epochs": 60}),
           ("early fusion separated", "early_fusion", {"gap": "separated", "epochs": 60})]


def main() -> dict:
    import torch

    from artkg.kg.graph import load_graph
    from artkg.models.features import extract_features
    from artkg.models.recsys.config import RecConfig
    from artkg.models.recsys.run import load_recommender, train_recommender
    from artkg.retrieval.recommend import recommend

    torch.set_num_threads(1)
    graph_dir = paintings_graph()
    if graph_dir is None:
        print("../shared/data/paintings is absent: nothing to do", file=sys.stderr)
        return {}
    extract_features(graph_dir, "efficientnet_lite", None, "minilm", device="cpu", progress=False, artwork_text=True)
    kg = load_graph(graph_dir)
    works = defaultdict(list)  # (artist, title) → artwork indices: reproductions of one painting
    for row in painting_rows():
        works[(row["artist"].casefold(), row["title"].casefold())].append(kg.index_of("artwork", row["iri"]))
    groups = [g for g in works.values() if len(g) > 1]
    result = {"paintings": kg.num_nodes("artwork"), "reproduced_works": len(groups),
              "queries": sum(len(g) for g in groups), "engines": {}}
    for label, name, kwargs in ENGINES:
        run = OUT / "multimodal_real_runs" / name.replace("_", "-") / "-".join(f"{k}-{v}" for k, v in kwargs.items())
        train_recommender(graph_dir, RecConfig(model=name, model_kwargs=kwargs), out=run, overwrite=True)
        model, _, _ = load_recommender(run)
        hits, ranks, first = [], [], None
        for group in groups:
            for q in group:
                others = [o for o in group if o != q]
                top = recommend(run, rated=[(kg.iris["artwork"][q], 5)], k=9)
                got = [kg.index_of("artwork", it["artwork"]) for it in top["items"]]
                hits.append(len(set(got) & set(others)) / len(others))
                candidates = np.setdiff1d(np.arange(kg.num_nodes("artwork")), [q])
                scores = model.score(-1, np.array([q]), candidates, ratings=np.array([5.0]))
                order = candidates[np.argsort(-scores, kind="stable")]
                ranks += [int(np.flatnonzero(order == o)[0]) + 1 for o in others]
                first = first or {"query": top["profile"][0]["label"], "top": [it["label"] for it in top["items"]]}
        result["engines"][label] = {"recall@9": round(float(np.mean(hits)), 4), "mean_rank": round(float(np.mean(ranks)), 2),
                                    "median_rank": float(np.median(ranks)), "example": first}
        print(f"{label:<28} recall@9 {np.mean(hits):.3f}  mean rank {np.mean(ranks):6.2f}  median {np.median(ranks):.0f}"
              f"  (of {kg.num_nodes('artwork') - 1} candidates)")
    (OUT / "multimodal_real.json").write_text(json.dumps(result, indent=1))
    return result


if __name__ == "__main__":
    main()
