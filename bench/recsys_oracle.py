"""How well can the offline world's purchases be predicted at all? The planted-taste oracle.

For the worlds of ``bench/recsys_table.py`` (already built there), score every test basket's
candidates by the user's *true* taste from ``ground_truth.json`` — the mixture, with the user's
weights, of the visual part (softmax of KAPPA × cosine of the works' latent styles to the user's
centre), the favourite artists, movements and genre — through the same split, candidates and metrics
as the table. A ceiling for the models (purchases also have 10% noise and depend on what is on offer).

    python bench/recsys_oracle.py [--seeds 0 1 2] [--tastes mixed kg visual]
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

OUT = Path(__file__).resolve().parent / "out"


def oracle(world: Path) -> dict:
    from artkg.kg.graph import load_graph
    from artkg.kg.synth_users import KAPPA
    from artkg.models.recsys.metrics import average, rank_metrics
    from artkg.models.recsys.protocol import TimeOrderedSplit, item_context

    kg = load_graph(world)
    truth = json.loads((world / "ground_truth.json").read_text())
    latent = np.array([a["latent"] for a in truth["artworks"]])
    assert [a["iri"] for a in truth["artworks"]] == kg.iris["artwork"]
    ctx, sizes = item_context(kg)
    split = TimeOrderedSplit().split(kg.interactions, context=ctx, context_sizes=sizes)
    users = {u["iri"]: u for u in truth["users"]["users"]}
    per_user = []
    for case in split.cases:
        u = users[kg.iris["user"][case.user]]
        cand, relevant = case.arrays()
        centre = latent[kg.index_of("artwork", u["visual_centre_artwork"])]
        visual = np.exp(KAPPA * (latent[cand] @ centre - 1.0))
        parts = [visual / visual.sum()]
        for match in (np.isin(ctx["created_by"][cand], [kg.index_of("artist", a) for a in u["favourite_artists"]]),
                      np.isin(ctx["movement"][cand], [kg.index_of("movement", m) for m in u["favourite_movements"]]),
                      ctx["genre"][cand] == kg.index_of("genre", u["favourite_genre"])):
            parts.append(match / max(match.sum(), 1))
        w = [u["weights"][k] for k in ("visual", "artist", "movement", "genre")]
        per_user.append(rank_metrics(sum(wi * p for wi, p in zip(w, parts)), relevant, ks=(20,)))
    return {k: round(float(v), 4) for k, v in average(per_user).items()}


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--tastes", nargs="+", default=["mixed", "kg", "visual"])
    p.add_argument("--work", type=Path, default=OUT / "recsys_worlds")
    p.add_argument("--name", default="a400-u1200-px64", help="the worlds' parameter suffix")
    args = p.parse_args(argv)
    results = {}
    for taste in args.tastes:
        rows = [oracle(args.work / f"{taste}-s{seed}-{args.name}") for seed in args.seeds]
        auc, r20 = np.array([r["auc"] for r in rows]), np.array([r["recall@20"] for r in rows])
        results[taste] = {"per_seed": rows, "auc": f"{auc.mean():.4f} ± {auc.std():.4f}",
                          "recall@20": f"{r20.mean():.4f} ± {r20.std():.4f}"}
        print(f"{taste}: planted-taste oracle AUC {results[taste]['auc']}, recall@20 {results[taste]['recall@20']}")
    OUT.mkdir(exist_ok=True)
    (OUT / "recsys_oracle.json").write_text(json.dumps(results, indent=1))
    return results


if __name__ == "__main__":
    sys.exit(main() and 0)
