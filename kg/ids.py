"""Stable node ids across rebuilds: keep a graph directory's id map and append new nodes.

A fresh build numbers each node type's IRIs in sorted order. Rebuilding into a directory that
already holds a graph keeps that graph's id map instead (``keep_ids``, the default there): every
IRI it had keeps its index and new IRIs are appended (in sorted order), so runs, indexes and
feature sets computed on the earlier build index the same nodes. The manifest then lists the
earlier map's hash in ``id_map_history``; :func:`id_map_compatible` accepts a hash from it.
When a node of the earlier build is gone (or changed type), its map cannot be extended: the
build renumbers (a warning, and the build summary says so) or, with ``keep_ids=True``, stops.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from artkg.kg import schema as S


def id_map_hash(nodes: dict[str, list[str]]) -> str:
    """Hash of the IRI ↔ index maps: indices built on another graph are detected by it."""
    h = hashlib.sha256()
    for t in sorted(nodes):
        h.update(t.encode() + b"\0")
        for iri in nodes[t]:
            h.update(iri.encode() + b"\n")
    return h.hexdigest()[:20]


def id_map_hashes(manifest: dict) -> list[str]:
    """The graph's id-map hash and those of the earlier builds whose maps it extends."""
    current = manifest.get("id_map_hash")
    return ([current] if current else []) + list(manifest.get("id_map_history", []))


def id_map_compatible(manifest: dict, saved_hash: str | None) -> bool:
    """True when indices saved against ``saved_hash`` still name the same nodes in this graph."""
    return saved_hash is not None and saved_hash in id_map_hashes(manifest)


def previous_id_map(root: Path) -> tuple[dict[str, list[str]], dict] | None:
    """The id map (node type → IRIs in index order) and manifest of the finished graph in ``root``."""
    manifest, nodes = root / "manifest.json", root / "processed" / "nodes.json"
    if not manifest.is_file() or not nodes.is_file():
        return None
    try:
        table = json.loads(nodes.read_text(encoding="utf-8"))
        return {t: list(v["iri"]) for t, v in table.items()}, json.loads(manifest.read_text(encoding="utf-8"))
    except (ValueError, KeyError, TypeError):
        return None


def why_not_extendable(nodes: dict[str, list[str]], previous: dict[str, list[str]]) -> str | None:
    """None when every IRI of ``previous`` is still a node of the same type; else the reason."""
    for t, old in previous.items():
        present = set(nodes.get(t, ()))
        gone = [iri for iri in old if iri not in present]
        if gone:
            return f"{len(gone):,} {t} node(s) of the previous build are gone or changed type (e.g. {gone[0]})"
    return None


def extend_id_map(graph, previous: dict[str, list[str]]) -> None:
    """Renumber ``graph`` (a :class:`~artkg.kg.process.ProcessedGraph`, in place) so every IRI of
    ``previous`` keeps its index and the others follow in sorted order; edges stay sorted by
    (source, target) and the influence evidence stays aligned with its edges.
    Call :func:`why_not_extendable` first."""
    inverse: dict[str, np.ndarray] = {}
    for t, iris in graph.nodes.items():
        old = previous.get(t)
        if not old:
            continue
        position = {iri: i for i, iri in enumerate(iris)}
        kept = set(old)
        perm = np.array([position[iri] for iri in old] + [i for i, iri in enumerate(iris) if iri not in kept],
                        dtype=np.int64)  # new index -> current index
        if np.array_equal(perm, np.arange(len(perm))):
            continue
        inv = np.empty_like(perm)
        inv[perm] = np.arange(len(perm))
        inverse[t] = inv
        order = perm.tolist()
        graph.nodes[t] = [iris[i] for i in order]
        graph.labels[t] = [graph.labels[t][i] for i in order]
        graph.descriptions[t] = [graph.descriptions[t][i] for i in order]
        if t in graph.summaries:
            graph.summaries[t] = [graph.summaries[t][i] for i in order]
        for name, values in graph.node_attrs.get(t, {}).items():
            graph.node_attrs[t][name] = np.ascontiguousarray(values[perm])
        if t == "artwork" and graph.images:
            graph.images = [graph.images[i] for i in order]
    if not inverse:
        return
    for key, index in list(graph.edges.items()):
        src, _, dst = key
        if src not in inverse and dst not in inverse:
            continue
        a = inverse[src][index[0]] if src in inverse else index[0]
        b = inverse[dst][index[1]] if dst in inverse else index[1]
        order = np.lexsort((b, a))
        graph.edges[key] = np.ascontiguousarray(np.stack([a[order], b[order]]).astype(np.int64))
        for name, values in graph.edge_attrs.get(key, {}).items():  # stay aligned with their edges
            graph.edge_attrs[key][name] = np.ascontiguousarray(np.asarray(values)[order])
        if key == S.INFLUENCE.key and graph.evidence:
            graph.evidence = [graph.evidence[i] for i in order.tolist()]
