"""What explains the multimodal table (an audit, rerunnable): on the worlds of ``multimodal_table.py``.

For each seed, on the same held-out-ratings split as the table:

* how well the image engine's similarity tracks the latent style space the planted visual taste is
  defined in: the correlation of the centred EfficientNet cosine with the latent cosine over 200,000
  random pairs of paintings;
* precision@9 (all / show-leaning / about-leaning raters) of the same profile scoring over
  - the true latent vectors (centred): what the image engine could reach with perfect features;
  - a one-hot of the artist: what knowing the artist alone gives;
  - MiniLM embeddings of the documents as the table has them, and without the offline world's
    description sentence "synthetic painting by ARTIST (year)" (re-encoded here).

    python bench/multimodal_shortcuts.py [--seeds 0 1 2]     # after bench/multimodal_table.py
"""
from __future__ import annotations

import argparse
import copy
import json
import re
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
OUT = Path(__file__).resolve().parent / "out"


def main(argv: list[str] | None = None) -> dict:
    import torch

    from multimodal_table import world

    from artkg.kg.graph import load_graph
    from artkg.models.encoders_text import make_text_encoder
    from artkg.models.recsys.config import RecConfig
    from artkg.models.recsys.content import ProfileEngine, TextSimilarity, unit_rows
    from artkg.models.recsys.inputs import content_inputs
    from artkg.models.recsys.ratings import evaluate_rated
    from artkg.models.recsys.run import graph_inputs, make_split, resolved
    from artkg.models.recsys.zoo import build_recommender

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    a = p.parse_args(argv)
    torch.set_num_threads(1)
    encoder = make_text_encoder("minilm")

    class Fixed(ProfileEngine):
        def __init__(self, items):
            super().__init__()
            self._x = items

        def represent(self, train, progress=False):
            return self._x

    result = {}
    for seed in a.seeds:
        graph_dir = world(OUT / "multimodal_worlds", seed, 150, 300, 64)
        kg = load_graph(graph_dir)
        probe = build_recommender("early_fusion")
        config = resolved(RecConfig(model="early_fusion", seed=seed, kind="rated"), probe)
        features, _ = graph_inputs(kg, config, True)
        content, _ = content_inputs(kg, config, probe)
        split = make_split(kg, config, features, content)
        truth = json.loads((graph_dir / "ground_truth.json").read_text())
        works = {w["iri"]: w for w in truth["artworks"]}
        order = [works[iri] for iri in kg.iris["artwork"]]
        latent = np.array([w["latent"] for w in order])
        artists = {c: i for i, c in enumerate(sorted({w["creator"] for w in order}))}
        artist = np.array([artists[w["creator"]] for w in order])
        show = {kg.index_of("user", r["iri"]): r["show_weight"] for r in truth["raters"]["raters"]}
        groups = {"show": [i for i, c in enumerate(split.cases) if show[c.user] > 0.8],
                  "about": [i for i, c in enumerate(split.cases) if show[c.user] < 0.2]}

        def p_at_9(engine) -> dict:
            _, top = evaluate_rated(engine, split, (9,), return_lists=True)
            hits = np.array([np.isin(t[:9], c.held[c.held_ratings >= c.relevant_min]).sum() / 9
                             for t, c in zip(top, split.cases)])
            return {"all": round(float(hits.mean()), 4),
                    **{g: round(float(hits[idx].mean()), 4) for g, idx in groups.items()}}

        rng = np.random.default_rng(seed)
        i, j = rng.integers(0, len(latent), (2, 200_000))
        keep = i != j
        img, lat = unit_rows(features, None, center=True), unit_rows(latent, None, center=False)
        corr = float(np.corrcoef((img[i] * img[j]).sum(1)[keep], (lat[i] * lat[j]).sum(1)[keep])[0, 1])
        one_hot = np.zeros((len(artist), artist.max() + 1), np.float32)
        one_hot[np.arange(len(artist)), artist] = 1.0
        docs = split.train.documents
        no_artist = [re.sub(r" synthetic painting by .*$", "", d) for d in docs]
        without = copy.copy(split.train)
        without.text_features = encoder.encode(no_artist, 128).numpy()
        row = {"image_latent_cosine_correlation": round(corr, 4),
               "true latent (centred)": p_at_9(Fixed(unit_rows(latent, None, center=True)).fit(split.train)),
               "artist one-hot": p_at_9(Fixed(unit_rows(one_hot, None, center=True)).fit(split.train)),
               "image (table)": p_at_9(build_recommender("image_similarity").fit(split.train)),
               "MiniLM (table)": p_at_9(TextSimilarity().fit(split.train)),
               "MiniLM without the artist sentence": p_at_9(TextSimilarity().fit(without))}
        result[seed] = row
        print(f"seed {seed}: {json.dumps(row)}", file=sys.stderr)
    (OUT / "multimodal_shortcuts.json").write_text(json.dumps(result, indent=1))
    print(json.dumps(result, indent=1))
    return result


if __name__ == "__main__":
    main()
