"""The multimodal recommendation table of the README: early vs late fusion on the offline world's raters.

For each seed the script runs what a user would::

    kgbuild synth --artists 150 --raters 300 --rater-taste both --seed S --image-size 64 --out W
    artkg features W --artwork-text --image-encoder-kwargs '{"image_size": 64}'   # EfficientNet-Lite0 + MiniLM

then fits every engine on the same held-out-ratings split (each rater's first half of ratings is the
profile, the rest held out; a held-out 4 or 5 is relevant; candidates: the whole collection minus
the profile) and reports accuracy (P/R/nDCG@9 and @20), beyond-accuracy at 9 (ILD in one fixed
space, novelty, serendipity against the popularity list, coverage, how alike users' lists are: IoU
and RBO), precision@9 for raters who lean to what paintings show (show weight > 0.8) and to what they
are about (< 0.2), the modality gap of each joint space, and IoU/RBO@9 between engines' lists.
Writes ``bench/out/multimodal_table.json`` and ``.md``.

    python bench/multimodal_table.py [--seeds 0 1 2] [--artists 150] [--raters 300] [--quick]
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

OUT = Path(__file__).resolve().parent / "out"
ENGINES = [
    ("planted taste (ceiling)", "planted", {}), ("random", "random", {}), ("popularity", "popularity", {}),
    ("image", "image_similarity", {}), ("text: LDA", "lda_topics", {}), ("text: MiniLM", "text_similarity", {}),
    ("late fusion LDA+image, total", "late_fusion", {"text": "lda_topics", "mode": "total"}),
    ("late fusion LDA+image, partial r=100", "late_fusion", {"text": "lda_topics", "mode": "partial", "r": 100}),
    ("late fusion MiniLM+image, total", "late_fusion", {"text": "text_similarity", "mode": "total"}),
    ("early fusion, learned, entangled", "early_fusion", {"gap": "entangled"}),
    ("early fusion, learned, separated", "early_fusion", {"gap": "separated"}),
    # The gap presets change three things at once; one knob at a time:
    ("  separated + centring", "early_fusion", {"gap": "separated", "center": True}),
    ("  separated + temperature 0.1", "early_fusion", {"gap": "separated", "temperature": 0.1}),
    ("  separated + shared head", "early_fusion", {"gap": "separated", "shared_head": True}),
    ("  entangled − centring", "early_fusion", {"gap": "entangled", "center": False}),
]
SHOWN = ["precision@9", "recall@9", "ndcg@9", "precision@20", "recall@20", "ndcg@20", "auc",
         "ild@9", "novelty@9", "serendipity@9", "coverage@9", "user_iou@9", "user_rbo@9"]


def world(root: Path, seed: int, artists: int, raters: int, image_size: int) -> Path:
    from artkg.kg.builders import build_graph
    from artkg.models.features import extract_features

    out = root / f"s{seed}-a{artists}-r{raters}-px{image_size}"
    if not (out / "manifest.json").exists():
        build_graph("synth", out, artists=artists, seed=seed, image_size=image_size, raters=raters,
                    rater_taste="both", build_store=False, progress=False)
    extract_features(out, "efficientnet_lite", {"image_size": image_size}, "minilm", batch_size=128, device="cpu",
                     progress=False, artwork_text=True)  # cached after the first run
    return out


class PlantedTaste:
    """The ceiling: each rater's planted utility (ground_truth.json), exactly as kg/synth_raters.py
    computes it — show: cosine of the latent to the rater's centre; about: share of the work's
    subjects among the favourites; each z-scored over the collection, mixed by the show weight."""

    uses_ratings = False

    def __init__(self, kg, truth: dict):
        works = {a["iri"]: a for a in truth["artworks"]}
        order = [works[iri] for iri in kg.iris["artwork"]]
        latent = np.array([a["latent"] for a in order])
        self.latent = latent / np.linalg.norm(latent, axis=1, keepdims=True)
        self.subjects = [set(a["subjects"]) for a in order]
        self.raters = {kg.index_of("user", r["iri"]): r for r in truth["raters"]["raters"]}

    def score(self, user, profile, candidates):
        r = self.raters[user]
        show = self.latent @ np.asarray(r["visual_centre"])
        fav = set(r["favourite_subjects"])
        about = np.array([len(s & fav) / len(s) if s else 0.0 for s in self.subjects])
        z = lambda x: (x - x.mean()) / (x.std() or 1.0)  # noqa: E731
        return (r["show_weight"] * z(show) + (1 - r["show_weight"]) * z(about))[candidates]


def run_seed(graph_dir: Path, seed: int, engines) -> dict:
    from artkg.kg.graph import load_graph
    from artkg.models.recsys import beyond as B
    from artkg.models.recsys.config import RecConfig
    from artkg.models.recsys.inputs import content_inputs
    from artkg.models.recsys.ratings import evaluate_rated
    from artkg.models.recsys.run import graph_inputs, make_split, resolved
    from artkg.models.recsys.zoo import build_recommender

    kg = load_graph(graph_dir)
    probe = build_recommender("early_fusion")  # needs image + text features: loads both
    config = resolved(RecConfig(model="early_fusion", seed=seed, kind="rated"), probe)
    features, _ = graph_inputs(kg, config, True)
    content, _ = content_inputs(kg, config, probe)
    split = make_split(kg, config, features, content)
    truth = json.loads((graph_dir / "ground_truth.json").read_text())["raters"]["raters"]
    show = {kg.index_of("user", r["iri"]): r["show_weight"] for r in truth}
    groups = {"show": [i for i, c in enumerate(split.cases) if show.get(c.user, 0.5) > 0.8],
              "about": [i for i, c in enumerate(split.cases) if show.get(c.user, 0.5) < 0.2]}
    rows, lists = {}, {}
    truth_all = json.loads((graph_dir / "ground_truth.json").read_text())
    for label, name, kwargs in engines:
        t0 = time.perf_counter()
        model = (PlantedTaste(kg, truth_all) if name == "planted" else build_recommender(name, **kwargs).fit(split.train))
        metrics, top = evaluate_rated(model, split, (9, 20), return_lists=True)
        per_case = _precision_at(top, split.cases, 9)
        metrics.update({f"precision@9 ({g})": float(np.mean(per_case[idx])) for g, idx in groups.items() if idx})
        gap = (getattr(model, "report", {}) or {}).get("modality_gap")
        if gap:
            metrics.update(gap_centroid=gap["centroid_distance"], gap_separability=gap["linear_separability"])
        metrics["seconds"] = round(time.perf_counter() - t0, 2)
        rows[label], lists[label] = metrics, [x[:9] for x in top]
        print(f"  seed {seed} {label:<40} P@9 {metrics['precision@9']:.4f}  nDCG@20 {metrics['ndcg@20']:.4f}  "
              f"({metrics['seconds']} s)", file=sys.stderr)
    labels = [e[0] for e in engines if not e[0].startswith(" ") and e[1] != "planted"]  # ablation rows: no between-engine pairs
    between = {f"{a} | {b}": {"iou@9": B.between(lists[a], lists[b], B.iou), "rbo@9": B.between(lists[a], lists[b], B.rbo)}
               for i, a in enumerate(labels) for b in labels[i + 1:]}
    return {"rows": rows, "between": between, "split": split.summary(),
            "groups": {g: len(idx) for g, idx in groups.items()}}


def _precision_at(lists, cases, k: int) -> np.ndarray:
    return np.array([np.isin(top[:k], c.held[c.held_ratings >= c.relevant_min]).sum() / k
                     for top, c in zip(lists, cases)])


def _mean_std(values: list[float]) -> str:
    return f"{np.mean(values):.3f} ± {np.std(values):.3f}" if len(values) > 1 else f"{values[0]:.3f}"


def markdown(result: dict) -> str:
    seeds = result["seeds"]
    labels = list(seeds[0]["rows"])
    cols = SHOWN + ["precision@9 (show)", "precision@9 (about)", "gap_centroid", "gap_separability"]
    lines = ["| engine | " + " | ".join(cols) + " |", "|---|" + "---|" * len(cols)]
    for label in labels:
        cells = []
        for c in cols:
            vals = [s["rows"][label][c] for s in seeds if c in s["rows"][label]]
            cells.append(_mean_std(vals) if vals else "")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    lines += ["", "| engines | IoU@9 | RBO@9 |", "|---|---|---|"]
    for pair in seeds[0]["between"]:
        iou = [s["between"][pair]["iou@9"] for s in seeds]
        rbo = [s["between"][pair]["rbo@9"] for s in seeds]
        lines.append(f"| {pair} | {_mean_std(iou)} | {_mean_std(rbo)} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> dict:
    import torch

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--artists", type=int, default=150)
    p.add_argument("--raters", type=int, default=300)
    p.add_argument("--image-size", type=int, default=64)
    p.add_argument("--quick", action="store_true", help="one small seed (a smoke run)")
    a = p.parse_args(argv)
    if a.quick:
        a.seeds, a.artists, a.raters, a.image_size = [0], 40, 60, 32
    torch.set_num_threads(1)
    root = OUT / "multimodal_worlds"
    root.mkdir(parents=True, exist_ok=True)
    seeds = []
    for seed in a.seeds:
        graph_dir = world(root, seed, a.artists, a.raters, a.image_size)
        seeds.append({"seed": seed, **run_seed(graph_dir, seed, ENGINES)})
    result = {"args": vars(a), "seeds": seeds}
    OUT.mkdir(exist_ok=True)
    name = "multimodal_table_quick" if a.quick else "multimodal_table"
    (OUT / f"{name}.json").write_text(json.dumps(result, indent=1))
    (OUT / f"{name}.md").write_text(markdown(result))
    print(markdown(result))
    return result


if __name__ == "__main__":
    main()
