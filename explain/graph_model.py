"""The explainable wrapper of GraphCLIP: :class:`GraphCLIPExplainModel`, what PyG's ``Explainer`` masks.

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
"""
from __future__ import annotations

import torch
from torch import Tensor, nn
from torch_geometric.nn import MessagePassing

from artkg.kg.errors import InputError
from artkg.kg.graph import reverse_edge_type
from artkg.models.tasks import CREATED_BY

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
