"""Explain a GraphCLIP prediction on the offline world: the facts it rests on, and a Grad-CAM heatmap.

Builds a small synthetic world, computes EfficientNet-Lite0 features (at 64 px: the last
convolution's map is then 2×2, enough for a heatmap; 32 px would give 1×1), trains GraphCLIP for
a few epochs, and explains the style of a test artwork (the first on which the full model and the
image expert agree and whose Grad-CAM map is not flat). The files land in ``OUT/explanation``:
``graph.{graphml,json,ttl,png}``, ``heatmap.{png,npy}`` and ``explanation.json``. Under a minute::

    python examples/explain_offline_world.py --out explain_demo

The same from the shell: ``artkg explain OUT/run --artwork W00012 --out OUT/explanation``.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import artkg  # noqa: F401  (installs the torchvision shim first)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("explain_demo"))
    parser.add_argument("--artists", type=int, default=60)
    args = parser.parse_args(argv)

    import torch
    from artkg.explain import GraphExplainConfig, explain
    from artkg.kg.builders import build_graph
    from artkg.models.features import extract_features
    from artkg.models.train import train
    from artkg.models.train_config import TrainConfig

    torch.set_num_threads(1)  # small shared machines: one thread is the fastest
    world, run = args.out / "world", args.out / "run"
    if not (world / "manifest.json").exists():
        build_graph("synth", world, artists=args.artists, seed=3, image_size=32, progress=False, build_store=False)
    extract_features(world, "efficientnet_lite", {"image_size": 64}, None, device="cpu", progress=False)
    config = TrainConfig(epochs=5, threads=1, gnn_kwargs={"layers": 2, "hidden": 32}, model_kwargs={"embed_dim": 32})
    result = train(world, config, out=run, progress=False)
    # At 64 px Grad-CAM has a 2×2 map, and all four cells can argue against a class (a flat heatmap).
    # Explain the first test artwork on which the full model and the image expert agree and whose
    # image-side map is not flat: the heatmap of "both" then shows that same map.
    import tempfile

    from artkg.models.train_loop import Trainer

    test = result.data.split.test
    out = Trainer(result.model, result.data, result.config, torch.device("cpu"), False).outputs(test)["style"]
    agree = test[out["logits"].argmax(1) == out["image"].argmax(1)].tolist()
    artwork = int(agree[0] if agree else test[0])
    with tempfile.TemporaryDirectory() as tmp:
        for candidate in agree[:20]:
            if not explain(run, artwork=candidate, task="style", out=Path(tmp) / str(candidate),
                           what="image")["image"]["constant"]:
                artwork = candidate
                break

    summary = explain(run, artwork=artwork, task="style", out=args.out / "explanation",
                      graph_config=GraphExplainConfig(top_k=12, epochs=50))
    print(f"{summary['artwork']['label']}: {summary['prediction']['label']} ({summary['prediction']['score']:.2f})")
    print(f"fidelity+ {summary['graph']['fidelity_plus']:.2f}, fidelity- {summary['graph']['fidelity_minus']:.2f}")
    for fact in summary["graph"]["top_facts"]:
        print("  ", fact)
    for name, path in summary["files"].items():
        print(f"{name:>14}: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
