"""Graph-side explanations of GraphCLIP: which facts of the knowledge graph a prediction rests on.

:class:`GraphCLIPExplainModel` wraps a trained GraphCLIP for one artwork and one task so that PyG's
:class:`torch_geometric.explain.Explainer` can mask it: the artwork's image embedding is fixed, and
``forward(x_dict, edge_index_dict)`` returns the artwork's class logits ``[1, C]``, computed from
the class-node embeddings the GNN makes of the (masked) graph.

PyG's edge masks act only inside ``MessagePassing`` layers, keyed by edge type. The GNN's
``HeteroConv`` layers are such layers; the *graph expert* (label propagation: the class histogram of
the labels the artwork's creator's other works carry) is rebuilt here as three
:class:`LabelPropagation` steps over the corresponding edge types —
``class → other work`` (``rev_<label>``), ``other work → creator`` (``created_by``) and
``creator → this work`` (``rev_created_by``) — so those edges get masks too. With every mask at 1 the
wrapper's logits equal the model's own (tested).

Node masks act on ``x_dict``: the standardised image features of artworks, the inputs of feature
node types, and a column of ones that gates the learnt embedding of every other node type.

Algorithms are chosen by name (:data:`algorithm_resolver`): ``gnnexplainer`` (PyG's GNNExplainer,
masks in [0, 1]) and ``captum`` (PyG's CaptumExplainer, Integrated Gradients by default; signed
attributions). :func:`explain_graph` runs one and cuts the explanation subgraph:
the ``top_k`` heaviest *facts* (an edge and its reverse count as one fact, weighted by the larger
mask, or the summed attributions) within ``hops`` of the artwork or the explained class node.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any, ClassVar

import torch
from artkg.explain.config import Explained, GraphExplainConfig
from artkg.kg.errors import InputError
from artkg.kg.graph import reverse_edge_type
from artkg.models.tasks import CREATED_BY
from class_resolver import ClassResolver
from torch import Tensor, nn
from torch_geometric.nn import MessagePassing

log = logging.getLogger("artkg")

REV_CREATED_BY = reverse_edge_type(CREATED_BY)


def _key(edge_type: tuple[str, str, str]) -> str:
    return "__".join(edge_type)  # the key PyG's set_hetero_masks looks for in a ModuleDict


def forward_type(edge_type: tuple[str, str, str]) -> tuple[tuple[str, str, str], bool]:
    """The graph's own (forward) edge type of ``edge_type`` and whether ``edge_type`` is its reverse."""
    src, rel, dst = edge_type
    return ((dst, rel[4:], src), True) if rel.startswith("rev_") else (edge_type, False)


# ------------------------------------------------------------------ the wrapper
class LabelPropagation(MessagePassing):
    """``out[dst] = Σ_edges weight · x[src]``: one maskable step of label propagation."""

    def __init__(self):
        super().__init__(aggr="sum")

    def forward(self, x: Tensor, edge_index: Tensor, weight: Tensor, size: tuple[int, int]) -> Tensor:
        return self.propagate(edge_index, x=(x, None), weight=weight, size=size)

    def message(self, x_j: Tensor, weight: Tensor) -> Tensor:
        return x_j * weight[:, None]


class GraphCLIPExplainModel(nn.Module):
    """GraphCLIP for one artwork and task as ``(x_dict, edge_index_dict) → logits [1, C]``.

    ``image_features`` [1, d] are the artwork's raw image features (the image embedding is computed
    once from them and kept fixed); ``artist_of`` gives each artwork's first creator (-1 for none),
    which decides, as in training, whose works the graph expert reads; ``label_key`` is the task's
    ``(artwork, rel, class)`` label edge type, or ``None`` where the task has no graph expert input.
    """

    def __init__(self, model, task: str, artwork: int, image_features: Tensor, artist_of: Tensor,
                 label_key: tuple[str, str, str] | None, num_nodes: dict[str, int]):
        super().__init__()
        if task not in model.tasks:
            raise InputError(f"the model has no task {task!r}", f"use one of {', '.join(model.tasks)}")
        self.model, self.task, self.artwork = model.eval(), task, int(artwork)
        self.num_nodes = dict(num_nodes)
        self.class_type = model.tasks[task]["class_type"]
        self.num_classes = model.num_classes(task)
        with torch.no_grad():
            z = model.image_proj(model.standardize(image_features.float()))
        self.register_buffer("z", z)
        self.register_buffer("artist_of", artist_of.long().clone())
        self.label_key = label_key if getattr(model, "label_context", False) else None
        keys = [] if self.label_key is None else [reverse_edge_type(self.label_key), CREATED_BY, REV_CREATED_BY]
        # Keyed like HeteroConv's convs, so PyG gives each step the mask of its edge type.
        self.steps = nn.ModuleDict({_key(k): LabelPropagation() for k in keys})

    # ---------------------------------------------------------------- pieces
    def node_embeddings(self, x_dict: dict[str, Tensor], edge_index_dict: dict) -> dict[str, Tensor]:
        """HeteroGNN.forward, with every node type's input gated by ``x_dict`` (for node masks)."""
        gnn = self.model.gnn
        h = {}
        for t, layer in gnn.inputs.items():
            # An embedding row times its gate (1 unless masked) is the embedding itself.
            h[t] = layer(x_dict[t]) if isinstance(layer, nn.Linear) else layer.weight * x_dict[t]
        for conv, norms in zip(gnn.convs, gnn.norms):
            messages = conv(h, edge_index_dict)
            h = {t: gnn.dropout(torch.relu(norms[t](h[t] + messages[t]))) if t in messages else h[t] for t in h}
        return {t: gnn.head[t](x) for t, x in h.items()}

    def label_dist(self, edge_index_dict: dict) -> Tensor | None:
        """The artwork's class histogram of its creator's works' labels, by message passing [1, C]."""
        if self.label_key is None:
            return None
        n_art, n_artist, c = self.num_nodes["artwork"], self.num_nodes.get("artist", 0), self.num_classes
        rev_label = reverse_edge_type(self.label_key)
        ei = edge_index_dict[rev_label]  # class → artwork
        onehot = torch.eye(c, device=self.z.device)
        labels = self.steps[_key(rev_label)](onehot, ei, torch.ones(ei.shape[1], device=ei.device), (c, n_art))
        ei = edge_index_dict[CREATED_BY]  # artwork → artist, only the first creator counts (as in training)
        first = (self.artist_of[ei[0]] == ei[1]).float()
        counts = self.steps[_key(CREATED_BY)](labels, ei, first, (n_art, n_artist))
        dist = counts / counts.sum(1, keepdim=True).clamp(min=1)
        ei = edge_index_dict[REV_CREATED_BY]  # artist → artwork
        first = (self.artist_of[ei[1]] == ei[0]).float()
        mine = self.steps[_key(REV_CREATED_BY)](dist, ei, first, (n_artist, n_art))
        return mine[self.artwork:self.artwork + 1]

    def forward(self, x_dict: dict[str, Tensor], edge_index_dict: dict) -> Tensor:
        model, task = self.model, self.task
        h = self.node_embeddings(x_dict, edge_index_dict)
        c = model.class_embeddings(h, {})[task]
        logits = model.image_logits(self.z, c)
        if model.graph_logits is not None:  # GraphCLIP.forward's graph expert, for one artwork
            artwork = h["artwork"][self.artwork:self.artwork + 1] if model.context else None
            dist = self.label_dist(edge_index_dict)
            copied = dist @ c if dist is not None else self.z.new_zeros(1, c.shape[1])
            if model.label_mode == "copy":
                ctx = copied + model.context_proj[task](artwork) if artwork is not None else copied
            else:
                parts = [artwork] if artwork is not None else []
                if model.label_context:
                    parts.append(copied)
                ctx = model.context_proj[task](torch.cat(parts, dim=-1))
            logits = logits + model.graph_logits(ctx, c)
        logits = logits + model.bias(task)
        # Zero times every embedding: masks of edges that cannot reach the output get a zero
        # gradient (PyG's hard mask drops them) instead of none (which PyG rejects).
        anchor = sum(v.sum() for v in h.values())
        return logits + 0.0 * anchor


# ------------------------------------------------------------------ algorithms (registry)
class GraphAlgorithm:
    """A PyG explainer algorithm and the masks it needs; registered by name in :data:`algorithm_resolver`."""

    node_mask_type: ClassVar[str] = "object"
    #: how the masks of an edge and its reverse merge into one fact's weight
    combine: ClassVar[str] = "max"
    signed: ClassVar[bool] = False

    def __init__(self, **kwargs: Any):
        self.kwargs = kwargs

    def make(self, config: GraphExplainConfig):
        raise NotImplementedError


class GNNExplainerAlgorithm(GraphAlgorithm):
    """PyG's GNNExplainer: soft node and edge masks in [0, 1], learnt to keep the prediction."""

    def make(self, config: GraphExplainConfig):
        from torch_geometric.explain import GNNExplainer

        return GNNExplainer(epochs=config.epochs, lr=config.lr, **self.kwargs)


class CaptumAlgorithm(GraphAlgorithm):
    """PyG's CaptumExplainer (Integrated Gradients unless ``method`` names another Captum method)."""

    node_mask_type = "attributes"  # Captum attributes every input feature
    combine = "sum"  # attributions add up
    signed = True

    def __init__(self, method: str = "IntegratedGradients", **kwargs: Any):
        super().__init__(**kwargs)
        self.method = method

    def make(self, config: GraphExplainConfig):
        try:
            import captum  # noqa: F401
            from torch_geometric.explain import CaptumExplainer
        except ImportError as exc:
            raise InputError("the captum algorithm needs the package captum",
                             "pip install captum, or use --algorithm gnnexplainer") from exc
        try:
            return CaptumExplainer(self.method, **self.kwargs)
        except (ValueError, AttributeError) as exc:
            raise InputError(f"unknown Captum method {self.method!r}: {exc}",
                             "use IntegratedGradients, Saliency, InputXGradient …") from exc


algorithm_resolver: ClassResolver[GraphAlgorithm] = ClassResolver(
    [GNNExplainerAlgorithm, CaptumAlgorithm], base=GraphAlgorithm, suffix="Algorithm",
    default=GNNExplainerAlgorithm, synonyms={"gnn_explainer": GNNExplainerAlgorithm,
                                             "integrated_gradients": CaptumAlgorithm, "ig": CaptumAlgorithm})


def make_algorithm(name: str | GraphAlgorithm, kwargs: dict | None = None) -> GraphAlgorithm:
    if isinstance(name, GraphAlgorithm):
        return name
    normal = algorithm_resolver.normalize(name)
    if normal not in algorithm_resolver.lookup_dict and normal not in algorithm_resolver.synonyms:
        raise InputError(f"unknown explanation algorithm {name!r}",
                         f"choose one of {', '.join(sorted(algorithm_resolver.lookup_dict))}")
    try:
        return algorithm_resolver.make(name, kwargs or {})
    except TypeError as exc:
        raise InputError(f"bad options for the {normal} algorithm: {exc}", "see `artkg explain --help`") from exc


# ------------------------------------------------------------------ results
@dataclass
class Subgraph:
    """The explanation subgraph: nodes and facts with weights, labels, types and IRIs (JSON-able)."""

    task: str
    artwork: dict  # {"id", "iri", "label"}
    explained_class: dict  # {"id", "iri", "label", "index"}
    predicted_class: dict
    algorithm: str
    nodes: list[dict]
    edges: list[dict]
    candidates: int  # facts the top-k were chosen from
    meta: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"task": self.task, "artwork": self.artwork, "explained_class": self.explained_class,
                "predicted_class": self.predicted_class, "algorithm": self.algorithm, "candidates": self.candidates,
                "nodes": self.nodes, "edges": self.edges, "meta": self.meta}

    def node_ids(self) -> set[str]:
        return {n["id"] for n in self.nodes}


@dataclass
class GraphExplanation:
    """One artwork's graph explanation: the raw PyG masks, the subgraph and the fidelity figures."""

    artwork: int
    task: str
    target: int  # the explained class
    prediction: Tensor  # logits [C]
    node_masks: dict[str, Tensor]  # one weight per node
    fact_weights: dict[tuple, Tensor]  # forward edge type → weight per edge (both directions merged)
    candidates: dict[tuple, Tensor]  # forward edge type → bool per edge: within hops of the seeds
    subgraph: Subgraph
    fidelity: dict  # {"fidelity_plus", "fidelity_minus"} (PyG), for the subgraph as a hard mask
    seconds: float
    explanation: Any = None  # the PyG HeteroExplanation
    selected: dict[tuple, Tensor] = field(default_factory=dict)  # forward edge type → selected edge positions


def _node_id(graph, node_type: str, index: int) -> str:
    from artkg.kg.schema import local_name

    return f"{node_type}:{local_name(graph.iris[node_type][index])}"


def _node_record(graph, node_type: str, index: int) -> dict:
    return {"id": _node_id(graph, node_type, index), "type": node_type, "index": int(index),
            "iri": graph.iris[node_type][index], "label": graph.label_of(node_type, index)}


def explain_inputs(ctx, model: GraphCLIPExplainModel) -> tuple[dict, dict]:
    """``x_dict`` (standardised artwork features, feature inputs, gates of ones) and the run's edges."""
    data, gnn = ctx.data, ctx.model.gnn
    x_dict = {}
    for t, layer in gnn.inputs.items():
        if t == "artwork":
            x_dict[t] = ctx.model.standardize(data.x_dict["artwork"].float())
        elif isinstance(layer, nn.Linear):
            x_dict[t] = data.x_dict[t].float()
        else:
            x_dict[t] = torch.ones(data.num_nodes[t], 1)
    return x_dict, dict(data.edges)


def wrap(ctx, artwork: int, task: str) -> GraphCLIPExplainModel:
    """The explainable wrapper of the context's GraphCLIP for one artwork."""
    from artkg.models.tasks import CREATED_BY as LABEL_IS_ARTIST

    ctx.require_graph_side()
    data = ctx.data
    task_data = next(t for t in data.tasks if t.name == task)
    label_key = task_data.direct
    # TrainingData.label_dist's rule: a direct artwork → class label edge that is not the creator itself.
    if label_key not in data.direct_keys or label_key == LABEL_IS_ARTIST or data.num_nodes.get("artist", 0) == 0:
        label_key = None
    return GraphCLIPExplainModel(ctx.model, task, artwork, ctx.artwork_features(artwork), data.artist_of,
                                 label_key, data.num_nodes)


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
                   n_candidates: int, meta: dict) -> Subgraph:
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

    for t, i in seeds:
        add(t, i)
    out_edges = []
    for rank, (et, pos, w) in enumerate(facts, 1):
        src, dst = (int(v) for v in edges[et][:, pos])
        spec = EDGE_BY_KEY.get(et)
        predicate = spec.predicate if spec is not None else AKG + et[1]
        out_edges.append({"source": add(et[0], src), "target": add(et[2], dst), "type": list(et), "relation": et[1],
                          "predicate": predicate, "property": spec.prop if spec is not None else f"akg:{et[1]}",
                          "weight": round(w, 6), "rank": rank})
    classes = ctx.classes(task)

    def class_record(i: int) -> dict:
        return {"id": _node_id(graph, class_type, i), "index": i, "iri": classes[i]["iri"],
                "label": classes[i]["label"]}

    return Subgraph(task=task, artwork=_node_record(graph, "artwork", artwork), explained_class=class_record(target),
                    predicted_class=class_record(predicted), algorithm=algorithm, nodes=list(nodes.values()),
                    edges=out_edges, candidates=n_candidates, meta=meta)


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


def reset_masks(model: nn.Module) -> None:
    """Remove every explanation mask from ``model``'s message-passing layers.

    PyG's ``clear_masks`` sets ``_edge_mask`` to ``None`` but leaves it registered as a parameter
    after GNNExplainer; the next explainer's masks would then be wrapped into new leaf parameters,
    cut off from its inputs (Captum then fails: "appears to not have been used in the graph").
    """
    from torch_geometric.explain.algorithm.utils import clear_masks

    clear_masks(model)
    for module in model.modules():
        if isinstance(module, MessagePassing):
            module._parameters.pop("_edge_mask", None)
            module._edge_mask = None


def explain_graph(ctx, artwork: int | str, task: str | None = None,
                  config: GraphExplainConfig | None = None, target: str | int | None = None) -> GraphExplanation:
    """Explain the context's GraphCLIP prediction for one artwork of its graph.

    ``target`` names a class to explain instead of the predicted one (PyG's *phenomenon*
    explanation); by default the predicted class is explained (PyG's *model* explanation).
    """
    from torch_geometric.explain import Explainer

    config = (config or GraphExplainConfig()).validate()
    ctx.require_graph_side()
    task = ctx.task(task)
    index = ctx.artwork_index(artwork)
    algorithm = make_algorithm(config.algorithm, config.algorithm_kwargs)
    wrapper = wrap(ctx, index, task)
    x_dict, edges = explain_inputs(ctx, wrapper)
    with torch.no_grad():
        logits = wrapper(x_dict, edges)[0]
    predicted = int(logits.argmax())
    explained = Explained.predicted if target is None else Explained.given
    target_index = predicted if target is None else ctx.class_index(task, target)
    explainer = Explainer(
        model=wrapper, algorithm=algorithm.make(config),
        explanation_type="model" if explained is Explained.predicted else "phenomenon",
        node_mask_type=algorithm.node_mask_type, edge_mask_type="object",
        model_config={"mode": "multiclass_classification", "task_level": "graph", "return_type": "raw"})
    t0 = time.perf_counter()
    reset_masks(wrapper)  # the GraphCLIP inside is shared with earlier explanations
    try:
        with torch.random.fork_rng(devices=[]):  # GNNExplainer's random initial masks, reproducibly
            torch.manual_seed(config.seed)
            explanation = explainer(x_dict, edges, target=torch.tensor([target_index]) if target is not None else None)
    finally:
        reset_masks(wrapper)
    seconds = time.perf_counter() - t0
    edge_masks = {k: explanation[k].edge_mask for k in edges if "edge_mask" in explanation[k]}
    node_masks = {t: explanation[t].node_mask for t in x_dict if "node_mask" in explanation[t]}
    weights = fact_weights(edge_masks, edges, algorithm.combine)
    class_type = wrapper.class_type
    seeds = {"artwork": [index]}
    seeds.setdefault(class_type, []).append(target_index)
    candidates = within_hops(edges, seeds, config.hops, ctx.data.num_nodes)
    facts = top_facts(weights, candidates, config.top_k)
    selected: dict[tuple, list[int]] = {}
    for et, pos, _ in facts:
        selected.setdefault(et, []).append(pos)
    selected_t = {k: torch.tensor(v, dtype=torch.long) for k, v in selected.items()}
    fid = hard_fidelity(explainer, x_dict, edges, selected_t,
                        explanation.target if explained is Explained.predicted else torch.tensor([target_index]))
    n_candidates = int(sum(int(c.sum()) for c in candidates.values()))
    probs = logits.softmax(-1)
    meta = {"split": ctx.split_of(index), "top_k": config.top_k, "hops": config.hops, "explained": explained.value,
            "probability": round(float(probs[target_index]), 4), "seconds": round(seconds, 2),
            "algorithm_options": ({"epochs": config.epochs, "lr": config.lr, **config.algorithm_kwargs}
                                  if isinstance(algorithm, GNNExplainerAlgorithm) else dict(config.algorithm_kwargs)),
            **fid}
    name = algorithm_resolver.normalize_inst(algorithm)
    subgraph = build_subgraph(ctx, task, index, target_index, predicted, name, facts, edges,
                              node_weights(node_masks), n_candidates, meta)
    log.info("explained %s (%s) in %.1f s: %d facts of %d candidates, fidelity+ %.2f, fidelity- %.2f",
             subgraph.artwork["id"], task, seconds, len(facts), n_candidates, fid["fidelity_plus"],
             fid["fidelity_minus"])
    return GraphExplanation(index, task, target_index, logits.detach(), node_masks, weights, candidates, subgraph,
                            fid, seconds, explanation, selected_t)
