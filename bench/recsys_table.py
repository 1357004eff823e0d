"""The recommender table of the README: the offline world with users, 3 seeds, mean ± std.

For each taste mix (``mixed``: visual + artist + movement + genre; ``kg``: artist/movement/genre only;
``visual``: pixels only) and seed, the script runs exactly what a user would::

    kgbuild synth --artists 400 --users 1200 --taste mixed --seed S --image-size 64 --out W
    artkg features W --text-encoder none --image-encoder-kwargs '{"image_size": 64}'   # EfficientNet-Lite0
    Experiment(TimeOrderedSplit(), models, metrics, visitor=3).run(W)

and writes ``bench/out/recsys_table.json`` and ``.md``. Every model of a (taste, seed) sees the same
split, candidates and image features; the ``visitor_*`` columns score the same test baskets for a
new visitor who liked only the last 3 works of the profile (cold start, no retraining).

    python bench/recsys_table.py [--seeds 0 1 2] [--artists 400] [--users 1200] [--quick]
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

OUT = Path(__file__).resolve().parent / "out"
METRICS = ["auc", "recall@20", "ndcg@20", "mrr"]
ALL_MODELS = [
    "random", "popularity", "bpr_mf",
    ("vbpr", "vbpr", {}), ("vbpr (random negatives)", "vbpr", {"sampler": "random"}),
    "visrank",
    ("curatornet", "curatornet", {}), ("curatornet (random negatives)", "curatornet", {"sampler": "random"}),
    ("curatornet_kg", "curatornet_kg", {}),
    # Projected on 32 principal components of the training works' features first (small data).
    ("curatornet (pca 32)", "curatornet", {"pca": 32}),
    ("curatornet (pca 32, random negatives)", "curatornet", {"pca": 32, "sampler": "random"}),
    ("curatornet_kg (pca 32)", "curatornet_kg", {"pca": 32}),
]
TASTE_MODELS = ["popularity", "visrank", ("curatornet", "curatornet", {}), ("curatornet_kg", "curatornet_kg", {}),
                ("curatornet (pca 32)", "curatornet", {"pca": 32}),
                ("curatornet_kg (pca 32)", "curatornet_kg", {"pca": 32})]


def world(root: Path, taste: str, seed: int, artists: int, users: int, image_size: int) -> Path:
    from artkg.kg.builders import build_graph
    from artkg.models.features import extract_features

    out = root / f"{taste}-s{seed}-a{artists}-u{users}-px{image_size}"
    if not (out / "manifest.json").exists():
        build_graph("synth", out, artists=artists, seed=seed, image_size=image_size, users=users, taste=taste,
                    build_store=False, progress=False)
    extract_features(out, "efficientnet_lite", {"image_size": image_size}, None, batch_size=128, device="cpu",
                     progress=False)  # cached after the first run
    return out


def main(argv: list[str] | None = None) -> dict:
    import torch

    from artkg.models.recsys.experiment import Experiment, markdown
    from artkg.models.recsys.protocol import TimeOrderedSplit

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--artists", type=int, default=400)
    p.add_argument("--users", type=int, default=1200)
    p.add_argument("--image-size", type=int, default=64)
    p.add_argument("--tastes", nargs="+", default=["mixed", "kg", "visual"])
    p.add_argument("--work", type=Path, default=OUT / "recsys_worlds")
    p.add_argument("--quick", action="store_true", help="a tiny run (smoke test)")
    args = p.parse_args(argv)
    if args.quick:
        args.seeds, args.artists, args.users, args.image_size, args.tastes = [0], 30, 120, 16, ["mixed"]
    torch.set_num_threads(max(1, torch.get_num_threads()))
    results: dict = {"args": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()}, "tables": {}}
    md = []
    for taste in args.tastes:
        models = ALL_MODELS if taste == "mixed" else TASTE_MODELS
        tables = []
        for seed in args.seeds:
            t0 = time.perf_counter()
            w = world(args.work, taste, seed, args.artists, args.users, args.image_size)
            exp = Experiment(TimeOrderedSplit(), models=models, metrics=METRICS, seed=seed, visitor=3)
            tables.append(exp.run(w))
            print(f"{taste} seed {seed}: {time.perf_counter() - t0:.0f} s  {tables[-1]['_split']}", file=sys.stderr)
        results["tables"][taste] = tables
        cols = METRICS + ["visitor_auc", "visitor_recall@20"]
        md.append(f"### taste = {taste} ({len(args.seeds)} seeds, mean ± std)\n\n" + markdown(tables, cols))
    OUT.mkdir(exist_ok=True)
    name = "recsys_table_quick" if args.quick else "recsys_table"
    (OUT / f"{name}.json").write_text(json.dumps(results, indent=1))
    (OUT / f"{name}.md").write_text("\n\n".join(md) + "\n")
    print("\n\n".join(md))
    return results


if __name__ == "__main__":
    main()
