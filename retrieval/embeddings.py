"""Artwork vectors to retrieve with: a graph's input features, or a trained CLOIR model's embedding.

Inputs (``CloirConfig.inputs``, ``--inputs``):

- ``image``: the artwork image features of ``artkg features``;
- ``text``: the mean text feature of the artwork's metadata neighbours (genre, movement, style,
  depicted subjects, materials, collection, place …; never its creator, whose name would identify
  the artist) — the artwork's context in words;
- ``image+text``: both, each L2-normalised, concatenated.

An artwork without an image feature (or without any metadata neighbour, for ``text``) is masked out.
"""
from __future__ import annotations

import torch

from artkg.kg.errors import InputError


def input_features(graph, inputs: str = "image", image_key: str | None = None,
                   text_key: str | None = None) -> tuple[torch.Tensor, torch.Tensor, dict]:
    """``(features [N_artworks, d], usable mask [N_artworks], record)`` for ``inputs``."""
    from artkg.models.features_cache import feature_meta, feature_record, load_features

    parts, masks, record = [], [], {"inputs": inputs}
    if inputs not in ("image", "text", "image+text"):
        raise InputError(f"unknown input features {inputs!r}", "choose image, text or image+text")
    if "image" in inputs:
        meta = feature_meta(graph.root, "image", image_key)
        feats, mask = load_features(graph.root, "image", meta["key"])
        parts.append(feats.float())
        masks.append(mask.bool())
        record["image"] = feature_record(meta)
    if "text" in inputs:
        meta = feature_meta(graph.root, "text", text_key)
        text = load_features(graph.root, "text", meta["key"])
        feats, mask = artwork_context_text(graph, text)
        parts.append(feats)
        masks.append(mask)
        record["text"] = feature_record(meta)
    if len(parts) > 1:
        parts = [torch.nn.functional.normalize(p, dim=1) for p in parts]
    mask = masks[0]
    for m in masks[1:]:
        mask = mask & m
    if not bool(mask.any()):
        raise InputError(f"no artwork in {graph.root} has {inputs} features",
                         f"compute them with `artkg features {graph.root}`")
    return torch.cat(parts, dim=1).contiguous(), mask, record


def artwork_context_text(graph, text: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean text feature of each artwork's metadata neighbours (not its creator)."""
    n = graph.num_nodes("artwork")
    dim = int(next(iter(text.values())).shape[1]) if text else 0
    if dim == 0:
        raise InputError(f"the graph at {graph.root} has no text features", f"run `artkg features {graph.root}`")
    total = torch.zeros(n, dim)
    count = torch.zeros(n)
    for key in graph.edge_types:
        src, rel, dst = key
        if src != "artwork" or dst == "artist" or dst not in text:
            continue
        ei = graph.edge_index(key)
        total.index_add_(0, ei[0], text[dst][ei[1]].float())
        count.index_add_(0, ei[0], torch.ones(ei.shape[1]))
    mask = count > 0
    total[mask] /= count[mask, None]
    return total, mask

