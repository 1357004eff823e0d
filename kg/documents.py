"""What an artwork is *about*, as text: :func:`artwork_documents`.

One short document per artwork, in the graph's artwork order, from its metadata in the graph — the
text the multimodal recommenders' text side reads (LDA topics, MiniLM sentence embeddings, the text
tower of a joint image–text model):

    "Jean Wauquelin presenting his Chroniques de Hainaut. Depicts: Philip III the Good, Dog.
     Genre: history painting. Movement: Early Netherlandish. Material: parchment, ink, gold. <description>"

Fields, in this order and only when the graph has them: the title (the artwork's label), what it
depicts (``depicts``), genre, movement, style, material (``made_of``) and the description. The
creator is not a field: it says who made a painting, not what it shows or is about. Descriptions
often name it all the same — Wikidata's ("painting by Vincent van Gogh") and the offline world's
("synthetic painting by Konrad Wesquinaux (1323)") — so a text model can still match works by
artist, and since an artist's works share a style, reach part of what paintings *show* that way
(measured in the README's multimodal section). An artwork with none of these has an empty document
(:func:`has_text` tells which do).
"""
from __future__ import annotations

import numpy as np

# (edge relation from the artwork, heading in the document)
FIELDS: tuple[tuple[str, str], ...] = (
    ("depicts", "Depicts"), ("genre", "Genre"), ("movement", "Movement"), ("style", "Style"),
    ("made_of", "Material"))


def artwork_documents(graph, with_title: bool = True) -> list[str]:
    """One metadata document per artwork (see the module docstring); ``""`` where nothing is known."""
    n = graph.num_nodes("artwork")
    parts: list[list[str]] = [[] for _ in range(n)]
    if with_title:
        labels = graph.labels.get("artwork", [])
        for i in range(min(n, len(labels))):
            if labels[i]:
                parts[i].append(_sentence(labels[i]))
    for rel, heading in FIELDS:
        keys = [k for k in graph.edge_types if k[0] == "artwork" and k[1] == rel]
        values: list[list[str]] = [[] for _ in range(n)]
        for key in keys:
            src, dst = graph.edge_index(key).numpy()
            order = np.lexsort((dst, src))
            names = [graph.label_of(key[2], int(d)) for d in range(graph.num_nodes(key[2]))]
            for s, d in zip(src[order].tolist(), dst[order].tolist()):
                name = names[d]
                if name and name not in values[s]:
                    values[s].append(name)
        for i, vals in enumerate(values):
            if vals:
                parts[i].append(f"{heading}: {', '.join(vals)}.")
    descriptions = graph.descriptions.get("artwork", [])
    for i in range(min(n, len(descriptions))):
        if descriptions[i]:
            parts[i].append(_sentence(descriptions[i]))
    return [" ".join(p) for p in parts]


def has_text(documents: list[str]) -> np.ndarray:
    """Bool per artwork: its document is not empty."""
    return np.array([bool(d.strip()) for d in documents], dtype=bool)


def _sentence(text: str) -> str:
    text = " ".join(str(text).split())
    return text if text.endswith((".", "!", "?")) else text + "."
