"""GraphCLIP: classify an image by its similarity to class-node embeddings computed by a GNN.

``logits = exp(s) · cos(image_embedding, class_embedding)`` with a learnable scale ``s``. Because
the classes are graph nodes rather than rows of a weight matrix, a class with no training images
still has an embedding (from its neighbourhood in the graph) and can be predicted: zero-shot.
Several tasks (style, genre …) share the GNN and the image side; each has its own class projection.

An artwork that *is* in the graph gets a second expert, its **graph context**, scored against the
same class embeddings: ``label_dist @ class_embeddings`` — the class embeddings of the labels its
artist's other works carry in the message-passing graph (label propagation through the creator;
``label_mode="copy"`` keeps it parameter-free; in strict zero-shot it never counts a held-out
class, whose labels are nowhere in the graph — only transductive runs propagate them), plus, with
``context=True``, a projection of the GNN's embedding of the artwork node. The experts' logits are
added (a product of experts) and each is also trained on its own (``aux_weight``), so the image
expert alone stays a usable classifier for images outside the graph (``artkg predict``).
"""
from __future__ import annotations

from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from artkg.models.classifier import ArtworkClassifier, Batch, CosineLogits, GraphInputs, projection
from artkg.models.gnn import HeteroGNN, gnn_resolver, make_gnn

__all__ = ["GraphCLIP", "GraphInputs", "projection"]


class GraphCLIP(ArtworkClassifier):
    """Image side: standardised features → projection; graph side: GNN + per-task class projection.

    ``metadata``, ``num_nodes`` and ``in_dims`` describe the message-passing graph (node types with
    features get a linear input layer, the others a learnable embedding); ``gnn`` is a name, class
    or instance (``gnn_kwargs``: hidden, layers, dropout, norm, heads). ``label_context`` turns on
    the label-propagation expert (``label_mode``: ``copy`` or ``mlp``, a learned projection),
    ``context`` adds the artwork node's GNN embedding to it. ``detach_classes`` stops the image
    loss from shaping the class embeddings (they then come from the graph expert's loss alone; an
    option for zero-shot, which did not help on the offline world).
    """

    kind = "graphclip"  # the name users type (`artkg ls`)

    uses_graph = True

    def __init__(self, tasks: dict[str, dict], image_dim: int, metadata, num_nodes: dict[str, int],
                 in_dims: dict[str, int], embed_dim: int = 128, gnn: str | HeteroGNN | type[HeteroGNN] = "sage",
                 gnn_kwargs: Optional[dict] = None, context: bool = False, label_context: bool = True,
                 aux_weight: float = 1.0, temperature: float = 0.07, dropout: float = 0.3,
                 input_dropout: float = 0.2, label_mode: str = "copy", detach_classes: bool = False):
        if label_mode not in ("copy", "mlp"):
            raise ValueError(f"unknown label_mode {label_mode!r}; use copy or mlp")
        gnn_module = make_gnn(gnn, gnn_kwargs, metadata=metadata, num_nodes=num_nodes, in_dims=in_dims)
        metadata = [list(metadata[0]), [list(et) for et in metadata[1]]]
        super().__init__(tasks, image_dim, metadata=metadata, num_nodes=dict(num_nodes), in_dims=dict(in_dims),
                         embed_dim=embed_dim, gnn=gnn_resolver.normalize_inst(gnn_module),
                         gnn_kwargs=gnn_module.hparams, context=context, label_context=label_context,
                         aux_weight=aux_weight, temperature=temperature, dropout=dropout, input_dropout=input_dropout,
                         label_mode=label_mode, detach_classes=detach_classes)
        self.detach_classes = bool(detach_classes)
        self.label_mode = label_mode if label_context else "mlp"
        self.gnn = gnn_module
        self.context, self.label_context, self.aux_weight = bool(context), bool(label_context), float(aux_weight)
        self.image_proj = nn.Sequential(nn.Dropout(input_dropout), projection(image_dim, embed_dim, dropout=dropout))
        self.class_proj = nn.ModuleDict({t: nn.Linear(self.gnn.out_dim, embed_dim) for t in self.tasks})
        self.image_logits = CosineLogits(temperature)
        context_dim = (self.gnn.out_dim if self.context else 0) + (
            embed_dim if self.label_context and self.label_mode == "mlp" else 0)
        self.context_proj = nn.ModuleDict({t: projection(context_dim, embed_dim, hidden=embed_dim, dropout=dropout)
                                           for t in self.tasks}) if context_dim else None
        self.graph_logits = CosineLogits(temperature) if context_dim or self.label_context else None
        for t in self.tasks:  # filled by finalize(): what the image-only path scores against
            self.register_buffer(f"classes_{t}", torch.zeros(self.num_classes(t), embed_dim))
            self.register_buffer(f"image_bias_{t}", torch.zeros(self.num_classes(t)))

    # ------------------------------------------------------------------ graph side
    def node_embeddings(self, graph: GraphInputs) -> dict[str, Tensor]:
        if graph.h_dict is not None:  # computed beforehand by inference_embeddings()
            return graph.h_dict
        x = dict(graph.x_dict)
        x["artwork"] = self.standardize(x["artwork"])
        return self.gnn(x, graph.edge_index_dict, graph.n_id_dict)

    @torch.no_grad()
    def inference_embeddings(self, graph: GraphInputs, chunk: int = 8192) -> dict[str, Tensor]:
        """Every node's embedding on the whole graph without sampling (:meth:`HeteroGNN.inference`)."""
        x = dict(graph.x_dict)
        x["artwork"] = self.standardize(x["artwork"])
        return self.gnn.inference(x, graph.edge_index_dict, chunk)

    def class_embeddings(self, h: dict[str, Tensor], class_local: dict[str, Tensor]) -> dict[str, Tensor]:
        out = {}
        for t, spec in self.tasks.items():
            nodes = h[spec["class_type"]]
            if spec["class_type"] in class_local:
                nodes = nodes[class_local[spec["class_type"]]]
            out[t] = F.normalize(self.class_proj[t](nodes), dim=-1)
        return out

    # ------------------------------------------------------------------ forward
    def forward(self, batch: Batch) -> dict[str, dict[str, Tensor]]:
        h = self.node_embeddings(batch.graph)
        classes = self.class_embeddings(h, batch.class_local)
        z = self.image_proj(self.standardize(self.batch_features(batch)))
        artwork = None
        if self.context:
            artwork = h["artwork"][batch.local] if batch.local is not None else h["artwork"][batch.nodes]
        out = {}
        for t, c in classes.items():
            image = self.image_logits(z, c.detach() if self.detach_classes else c)
            if self.graph_logits is None:
                out[t] = {"logits": image + self.bias(t)}
                continue
            if self.label_mode == "copy":
                dist = batch.label_dist.get(t)
                ctx = dist @ c if dist is not None else z.new_zeros(len(z), c.shape[1])
                if artwork is not None:
                    ctx = ctx + self.context_proj[t](artwork)
            else:
                parts = [artwork] if artwork is not None else []
                if self.label_context:
                    dist = batch.label_dist.get(t)
                    parts.append(dist @ c if dist is not None else z.new_zeros(len(z), c.shape[1]))
                ctx = self.context_proj[t](torch.cat(parts, dim=-1))
            graph = self.graph_logits(ctx, c)
            out[t] = {"logits": image + graph + self.bias(t), "image": image + getattr(self, f"image_bias_{t}"),
                      "graph": graph}
        return out

    @torch.no_grad()
    def finalize(self, batch_for_classes: Optional[Batch] = None) -> None:
        """Store the class embeddings of the whole (leakage-free) graph for the image-only path."""
        was_training = self.training
        self.eval()
        h = self.node_embeddings(batch_for_classes.graph)
        for t, c in self.class_embeddings(h, batch_for_classes.class_local).items():
            getattr(self, f"classes_{t}").copy_(c)
        self.train(was_training)

    def predict_features(self, features: Tensor) -> dict[str, Tensor]:
        z = self.image_proj(self.standardize(features))
        return {t: self.image_logits(z, getattr(self, f"classes_{t}")) + getattr(self, f"image_bias_{t}")
                for t in self.tasks}
