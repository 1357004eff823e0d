"""Reproductions of the same painting retrieve each other with the pretrained backbone (real images).

The 111 paintings of ../shared/data/paintings hold several reproductions of a few paintings (The
Starry Night, The Great Wave, The Scream, Udnie, the Minotaur), from different sources, cropped and
coloured differently. What a user would run::

    kgbuild rdf paintings.nt --out P                               # bench/_realdata.py
    python -c 'from artkg.kg.paintings_links import *; write_pairs_csv(duplicate_pairs_from_manifest(M), "dup.csv")'
    kgbuild links P dup.csv --source manifest                      # 12 DUPLICATE links

then the signatures of the pretrained backbone (EfficientNet-Lite0, ImageNet weights, last
convolutional stage, mean pooling, per-sample L2; no fine-tuning) of every painting, and for each
DUPLICATE link the rank of the partner among the 110 other paintings, both ways: mAP, recall@k, mean
and median rank; and OPTICS (cosine, max_eps 0.13, min_samples 2) clusters scored per reproduced
painting. Writes ``bench/out/signatures_real.json``.

    python bench/signatures_real.py [--image-size 224]
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _realdata import OUT, SHARED, paintings_graph  # noqa: E402


def main(argv: list[str] | None = None) -> dict:
    import torch

    from artkg.kg.graph import load_graph
    from artkg.kg.links_import import add_links
    from artkg.kg.paintings_links import duplicate_pairs_from_manifest, write_pairs_csv
    from artkg.models.images import load_image, resolve_image
    from artkg.models.signatures.backbone import SignatureBackbone
    from artkg.models.signatures.clusters import cluster, family_scores, retrieval_scores

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--image-size", type=int, default=224)
    a = p.parse_args(argv)
    torch.set_num_threads(1)
    graph_dir = paintings_graph()
    if graph_dir is None:
        print("../shared/data/paintings is absent: nothing to do", file=sys.stderr)
        return {}
    kg = load_graph(graph_dir)
    if not len(kg.visual_links.src):
        dup = OUT / "paintings_duplicates.csv"
        write_pairs_csv(duplicate_pairs_from_manifest(SHARED / "paintings" / "manifest.csv"), dup)
        add_links(graph_dir, [dup], source="manifest")
        kg = load_graph(graph_dir)
    links = kg.visual_links.of_kind("duplicate")
    pairs = np.stack([links.src, links.dst], axis=1)
    backbone = SignatureBackbone("efficientnet_lite", {"image_size": a.image_size}).eval()
    images = list(kg.images) + [None] * (kg.num_nodes("artwork") - len(kg.images))
    batch = []
    for iri in images:
        path, why = resolve_image(iri, kg.root, None)
        if path is None:
            raise SystemExit(f"an image is missing: {why}")
        batch.append(backbone.preprocess(load_image(path, backbone.image_size)))
    with torch.inference_mode():
        sig = torch.cat([backbone(torch.stack(batch[i:i + 16])) for i in range(0, len(batch), 16)]).numpy()
    retrieval = retrieval_scores(sig, pairs, ks=(1, 3, 5, 10, 20))
    families: dict[int, set] = {}
    parent = list(range(len(sig)))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for s, d in pairs.tolist():
        parent[find(s)] = find(d)
    for s, d in pairs.tolist():
        families.setdefault(find(s), set()).update((s, d))
    groups = [np.array(sorted(f)) for f in families.values()]
    labels = cluster(sig, "optics")
    scores = family_scores(labels, groups)
    result = {"paintings": len(sig), "duplicate_links": int(len(pairs)), "reproduced_paintings": len(groups),
              "image_size": a.image_size, "retrieval": retrieval,
              "optics": {"clusters": int(labels.max() + 1), "noise": int((labels < 0).sum()),
                         "mean_recall": float(scores["mean_recall"]), "mean_precision": float(scores["mean_precision"]),
                         "per_painting": [{"works": [kg.label_of("artwork", int(i)) for i in g][:1] + [len(g)],
                                           "recall": float(r), "precision": float(pr)}
                                          for g, r, pr in zip(groups, scores["recall"], scores["precision"])]}}
    (OUT / "signatures_real.json").write_text(json.dumps(result, indent=1, default=float))
    print(json.dumps(result, indent=1, default=float))
    return result


if __name__ == "__main__":
    main()
