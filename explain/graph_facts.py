"""From masks to the explanation subgraph: facts within reach, their weights, the top facts, their fidelity.

An edge and its reverse count as one *fact*, weighted by the larger mask or the summed attributions;
the explanation keeps the ``top_k`` heaviest facts within ``hops`` of the artwork or the explained
class node, and PyG's fidelity measures them as a hard edge mask. The subgraph also carries the
edges that tie every fact to the artwork (:func:`artkg.explain.readable.connecting_edges`), and its
nodes and facts read as a person reads them (titles, years, creators, sentences).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import Tensor

from artkg.explain.graph_model import forward_type
from artkg.kg.graph import reverse_edge_type


@dataclass
class Subgraph:
    """The explanation subgraph: nodes and facts with weights, labels, types and IRIs (JSON-able)."""

    task: str
    artwork: dict  # {"id", "iri", "label"}
    explained_class: dict  # {"id", "iri", "label", "index"}
    predicted_class: dict
    algorithm: str
    nodes: list[dict]
    edges: list[dict]  # the explanation's facts, heaviest first (``rank`` 1…)
    candidates: int  # facts the top-k were chosen from
    meta: dict = field(default_factory=dict)
    #: edges that are no facts of the explanation but tie them to the artwork: its creator edge
    #: (``role`` "creator") and the shortest paths to pieces the facts leave apart (``role`` "path")
    links: list[dict] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"task": self.task, "artwork": self.artwork, "explained_class": self.explained_class,
                "predicted_class": self.predicted_class, "algorithm": self.algorithm, "candidates": self.candidates,
                "nodes": self.nodes, "edges": self.edges, "links": self.links, "meta": self.meta}

    def all_edges(self) -> list[dict]:
        """The facts, then the edges that connect them to the artwork."""
        return self.edges + self.links

    def node_ids(self) -> set[str]:
        return {n["id"] for n in self.nodes}


def _node_id(graph, node_type: str, index: int) -> str:
    from artkg.kg.schema import local_name

    return f"{node_type}:{local_name(graph.iris[node_type][index])}"


def _node_record(graph, node_type: str, index: int) -> dict:
    from artkg.explain.readable import node_details

    return {"id": _node_id(graph, node_type, index), "type": node_type, "index": int(index),
            "iri": graph.iris[node_type][index], "label": graph.label_of(node_type, index),
            **node_details(graph, node_type, index)}


def within_hops(edges: dict, seeds: dict[str, list[int]], hops: int, num_nodes: dict[str, int]) -> dict[tuple, Tensor]:
    """Per forward edge type, which edges lie within ``hops`` (undirected) of the seed nodes."""
    reached = {t: torch.zeros(n, dtype=torch.bool) for t, n in num_nodes.items()}
    for t, idx in seeds.items():
        reached[t][torch.tensor(idx, dtype=torch.long)] = True
    forward = {k: v for k, v in edges.items() if not k[1].startswith("rev_")}
    inside = {k: torch.zeros(v.shape[1], dtype=torch.bool) for k, v in forward.items()}
    for _ in range(hops):
        frontier = {t: r.clone() for t, r in reached.items()}
        for (src, _, dst), ei in forward.items():
            touch = reached[src][ei[0]] | reached[dst][ei[1]]
            inside[(src, _, dst)] |= touch
            frontier[src][ei[0][touch]] = True
            frontier[dst][ei[1][touch]] = True
        reached = frontier
    return inside


def fact_weights(edge_masks: dict[tuple, Tensor], edges: dict, combine: str) -> dict[tuple, Tensor]:
    """Merge each edge's mask with its reverse's (``max`` or ``sum``): one weight per graph fact."""
    out = {}
    for k, ei in edges.items():
        fwd, is_rev = forward_type(k)
        if is_rev:
            continue
        w = edge_masks.get(k, torch.zeros(ei.shape[1])).detach().float()
        rev = edge_masks.get(reverse_edge_type(k))
        if rev is not None:  # TrainingData stores a reverse as the flipped forward: same edge order
            rev = rev.detach().float()
            if combine == "max":
                w = torch.where(w.abs() >= rev.abs(), w, rev)
            else:
                w = w + rev
        out[fwd] = w
    return out


def node_weights(node_masks: dict[str, Tensor]) -> dict[str, Tensor]:
    """One weight per node: the mask itself (object masks) or the summed |attribution| (attribute masks)."""
    return {t: (m.detach().float().abs().sum(-1) if m.dim() == 2 and m.shape[1] > 1 else m.detach().float().flatten())
            for t, m in node_masks.items() if m is not None}


def top_facts(weights: dict[tuple, Tensor], candidates: dict[tuple, Tensor], k: int) -> list[tuple[tuple, int, float]]:
    """The ``k`` candidate facts of largest |weight|: ``(edge type, position, weight)``, heaviest first."""
    keys, pos, vals = [], [], []
    for et, w in weights.items():
        mask = candidates.get(et)
        idx = torch.nonzero(mask).flatten() if mask is not None else torch.arange(len(w))
        idx = idx[w[idx] != 0]  # PyG's hard mask: facts without any gradient do not explain anything
        keys += [et] * len(idx)
        pos.append(idx)
        vals.append(w[idx])
    if not keys:
        return []
    pos_t, vals_t = torch.cat(pos), torch.cat(vals)
    order = torch.argsort(vals_t.abs(), descending=True, stable=True)[:k]
    return [(keys[i], int(pos_t[i]), float(vals_t[i])) for i in order.tolist()]


def build_subgraph(ctx, task: str, artwork: int, target: int, predicted: int, algorithm: str,
                   facts: list[tuple[tuple, int, float]], edges: dict, nodes_w: dict[str, Tensor],
                   n_candidates: int, meta: dict, weights: dict[tuple, Tensor] | None = None) -> Subgraph:
    """The subgraph of ``facts``, with the edges that connect them to the artwork (``weights``: every
    fact's weight, for those connecting edges; without it they carry none)."""
    from artkg.explain.readable import connecting_edges, sentence
    from artkg.kg.schema import AKG, EDGE_BY_KEY

    graph, data = ctx.graph, ctx.data
    class_type = next(t.class_type for t in data.tasks if t.name == task)
    seeds = {("artwork", artwork): "artwork", (class_type, target): "explained_class"}
    if predicted != target:
        seeds[(class_type, predicted)] = "predicted_class"
    nodes: dict[tuple[str, int], dict] = {}

    def add(t: str, i: int) -> str:
        if (t, i) not in nodes:
            rec = _node_record(graph, t, i)
            rec["weight"] = round(float(nodes_w[t][i]), 6) if t in nodes_w else None
            rec["role"] = seeds.get((t, i), "context")
            nodes[(t, i)] = rec
        return nodes[(t, i)]["id"]

    def record(et: tuple, pos: int, w: float | None, rank: int | None, role: str) -> dict:
        src, dst = (int(v) for v in edges[et][:, pos])
        spec = EDGE_BY_KEY.get(et)
        predicate = spec.predicate if spec is not None else AKG + et[1]
        s_id, d_id = add(et[0], src), add(et[2], dst)
        return {"source": s_id, "target": d_id, "type": list(et), "relation": et[1],
                "predicate": predicate, "property": spec.prop if spec is not None else f"akg:{et[1]}",
                "weight": round(w, 6) if w is not None else None, "rank": rank, "role": role,
                "sentence": sentence(nodes[(et[0], src)], et[1], nodes[(et[2], dst)])}

    for t, i in seeds:
        add(t, i)
    out_edges = [record(et, pos, w, rank, "fact") for rank, (et, pos, w) in enumerate(facts, 1)]
    links = []
    for role, et, pos in connecting_edges(edges, data.num_nodes, artwork, set(nodes),
                                          {(et, pos) for et, pos, _ in facts}):
        w = float(weights[et][pos]) if weights is not None and et in weights else None
        links.append(record(et, pos, w, None, role))
    classes = ctx.classes(task)

    def class_record(i: int) -> dict:
        return {"id": _node_id(graph, class_type, i), "index": i, "iri": classes[i]["iri"],
                "label": classes[i]["label"]}

    return Subgraph(task=task, artwork=_node_record(graph, "artwork", artwork), explained_class=class_record(target),
                    predicted_class=class_record(predicted), algorithm=algorithm, nodes=list(nodes.values()),
                    edges=out_edges, candidates=n_candidates, meta=meta, links=links)


def subgraph_masks(edges: dict, selected: dict[tuple, Tensor]) -> dict[tuple, Tensor]:
    """Hard edge masks (both directions) that keep exactly the selected facts."""
    out = {}
    for k, ei in edges.items():
        fwd, _ = forward_type(k)
        m = torch.zeros(ei.shape[1])
        if fwd in selected and len(selected[fwd]):
            m[selected[fwd]] = 1.0
        out[k] = m
    return out


def hard_fidelity(explainer, x_dict: dict, edges: dict, selected: dict[tuple, Tensor], target: Tensor) -> dict:
    """PyG's fidelity (``torch_geometric.explain.metric.fidelity``) of the subgraph as a hard edge mask.

    fidelity+ : does the prediction change when the subgraph's facts are removed? (higher: necessary)
    fidelity− : does it change when only the subgraph's facts are kept? (lower: sufficient)
    """
    from torch_geometric.explain.metric import fidelity

    plus, minus = fidelity(explainer, _HeteroMasks(x_dict, edges, subgraph_masks(edges, selected), target))
    return {"fidelity_plus": round(plus, 4), "fidelity_minus": round(minus, 4)}


class _MaskDict(dict):
    """Edge masks per type that support ``1 - masks`` (what PyG's fidelity computes for the complement)."""

    def __rsub__(self, other: float) -> _MaskDict:
        return _MaskDict({k: other - v for k, v in self.items()})


class _HeteroMasks:
    """A heterogeneous explanation as PyG's ``fidelity`` reads one: it asks for ``x``, ``edge_index``,
    ``edge_mask``… by attribute and subtracts masks from 1, which a ``HeteroExplanation`` (per-type
    stores) does not offer; ``Explainer.get_masked_prediction`` itself takes mask dictionaries."""

    _model_args: tuple = ()

    def __init__(self, x_dict: dict, edges: dict, edge_mask: dict, target: Tensor):
        self.x, self.edge_index, self.target = x_dict, edges, target
        self._values = {"edge_mask": _MaskDict(edge_mask), "node_mask": None, "index": None}

    def get(self, key: str, default=None):
        return self._values.get(key, default)
