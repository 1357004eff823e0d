"""Heterogeneous GNN encoders (GraphSAGE, GATv2) chosen by name through ``gnn_resolver``.

Each node type enters through its own input layer — a linear projection of its features where
the graph has them (image features on artworks, text features on metadata nodes), otherwise a
learnable embedding — then ``layers`` rounds of ``HeteroConv`` message passing with residual
connections, normalisation, activation and dropout.

``make_gnn("sage" | "gat" | class | instance, gnn_kwargs, metadata=…, num_nodes=…, in_dims=…)``
builds one (PyKEEN style); ``gnn.hparams`` holds the JSON-able options that rebuild it.
"""
from __future__ import annotations

from typing import Optional

import torch
from class_resolver import ClassResolver
from torch import Tensor, nn

from artkg.registry import public_names

NORMS = {"layer": nn.LayerNorm, "batch": nn.BatchNorm1d, "none": None, None: None}


class HeteroGNN(nn.Module):
    """Base class: subclasses choose the convolution in :meth:`make_conv`."""

    def __init__(
        self,
        metadata: tuple[list[str], list[tuple[str, str, str]]],
        num_nodes: dict[str, int],
        in_dims: Optional[dict[str, int]] = None,
        hidden: int = 128,
        out: Optional[int] = None,
        layers: int = 2,
        dropout: float = 0.2,
        norm: Optional[str] = "layer",
    ):
        super().__init__()
        from torch_geometric.nn import HeteroConv

        if layers < 1:
            raise ValueError("a GNN needs at least one layer")
        if norm not in NORMS:
            raise ValueError(f"unknown norm {norm!r}; choose one of layer, batch, none")
        node_types, edge_types = metadata
        edge_types = [tuple(et) for et in edge_types]  # JSON round trips turn tuples into lists
        in_dims = in_dims or {}
        self.hparams = {"hidden": hidden, "out": out, "layers": layers, "dropout": dropout, "norm": norm}
        self.node_types, self.edge_types = list(node_types), list(edge_types)
        self.hidden, self.out_dim, self.layers = hidden, out or hidden, layers
        self.inputs = nn.ModuleDict({
            t: nn.Linear(in_dims[t], hidden) if t in in_dims else nn.Embedding(num_nodes[t], hidden)
            for t in self.node_types
        })
        self.convs = nn.ModuleList(
            HeteroConv({et: self.make_conv(hidden) for et in self.edge_types}, aggr="sum")
            for _ in range(layers)
        )
        norm_cls = NORMS[norm]
        self.norms = nn.ModuleList(
            nn.ModuleDict({t: norm_cls(hidden) if norm_cls else nn.Identity() for t in self.node_types})
            for _ in range(layers)
        )
        self.dropout = nn.Dropout(dropout)
        self.head = nn.ModuleDict({t: nn.Linear(hidden, self.out_dim) for t in self.node_types})

    @torch.no_grad()
    def grow_embeddings(self, num_nodes: dict[str, int]) -> None:
        """Room for nodes a rebuild appended after training (``kgbuild --keep-ids``): each new node
        of a feature-less type starts from the mean of the trained embeddings; the others keep theirs."""
        for t, layer in self.inputs.items():
            n = num_nodes.get(t, 0)
            if isinstance(layer, nn.Embedding) and n > layer.num_embeddings:
                extra = layer.weight.mean(0, keepdim=True).expand(n - layer.num_embeddings, -1)
                grown = nn.Embedding(n, layer.embedding_dim).to(layer.weight.device, layer.weight.dtype)
                grown.weight.copy_(torch.cat([layer.weight, extra]))
                self.inputs[t] = grown

    def make_conv(self, hidden: int) -> nn.Module:  # pragma: no cover - abstract
        raise NotImplementedError

    def embed_inputs(self, x_dict: dict[str, Tensor], n_id_dict: Optional[dict[str, Tensor]] = None) -> dict[str, Tensor]:
        """Input layer: features through a linear map, feature-less types through embeddings."""
        h = {}
        for t, layer in self.inputs.items():
            if isinstance(layer, nn.Linear):
                h[t] = layer(x_dict[t])
            else:
                ids = n_id_dict[t] if n_id_dict is not None and t in n_id_dict else torch.arange(
                    layer.num_embeddings, device=layer.weight.device)
                h[t] = layer(ids)
        return h

    def forward(self, x_dict: dict[str, Tensor], edge_index_dict: dict[tuple, Tensor],
                n_id_dict: Optional[dict[str, Tensor]] = None) -> dict[str, Tensor]:
        h = self.embed_inputs(x_dict, n_id_dict)
        for conv, norms in zip(self.convs, self.norms):
            messages = conv(h, edge_index_dict)
            # Types that receive no message this layer keep their state (residual only).
            h = {t: self.dropout(torch.relu(norms[t](h[t] + messages[t]))) if t in messages else h[t]
                 for t in h}
        return {t: self.head[t](x) for t, x in h.items()}

    @torch.no_grad()
    def inference(self, x_dict: dict[str, Tensor], edge_index_dict: dict[tuple, Tensor],
                  chunk: int = 8192) -> dict[str, Tensor]:
        """Every node's embedding on the whole graph, layer by layer (PyG's layer-wise inference).

        The same function as :meth:`forward` in eval mode, without sampling: each layer runs over
        every node, ``chunk`` destination nodes at a time with all their incoming edges, so memory
        holds one layer's node states and one chunk's messages — never the whole graph's. The
        result depends on nothing random: what evaluation, validation and ``finalize`` of sampled
        runs use.
        """
        device = next(self.parameters()).device
        h = self.embed_inputs(x_dict, None)
        keys = [et for et in (tuple(k) for k in self.edge_types) if et in edge_index_dict]
        by_dst: dict[tuple, tuple[Tensor, Tensor, Tensor]] = {}
        for key in keys:  # edges sorted by destination (stable): a chunk of destinations is one slice
            ei = edge_index_dict[key].to(device)
            n_dst = h[key[2]].shape[0]
            order = torch.argsort(ei[1], stable=True)
            ptr = torch.zeros(n_dst + 1, dtype=torch.long, device=device)
            ptr[1:] = torch.cumsum(torch.bincount(ei[1], minlength=n_dst), 0)
            by_dst[key] = (ptr, ei[0][order], ei[1][order])
        for conv, norms in zip(self.convs, self.norms):
            new = {}
            for t, state in h.items():
                incoming = [k for k in keys if k[2] == t]
                if not incoming:
                    new[t] = state  # no message this layer: the state is kept (as in forward)
                    continue
                out = torch.empty_like(state)
                for a in range(0, state.shape[0], chunk):
                    b = min(a + chunk, state.shape[0])
                    messages = None
                    for key in incoming:
                        ptr, src, dst = by_dst[key]
                        lo, hi = int(ptr[a]), int(ptr[b])
                        part = conv.convs[key]((h[key[0]], state[a:b]), torch.stack([src[lo:hi], dst[lo:hi] - a]))
                        messages = part if messages is None else messages + part
                    out[a:b] = torch.relu(norms[t](state[a:b] + messages))
                new[t] = out
            h = new
        return {t: self.head[t](x) for t, x in h.items()}


class SAGE(HeteroGNN):
    """GraphSAGE (mean aggregation) per edge type, summed over edge types."""

    def make_conv(self, hidden: int) -> nn.Module:
        from torch_geometric.nn import SAGEConv

        return SAGEConv((hidden, hidden), hidden)


class GAT(HeteroGNN):
    """GATv2 attention per edge type (``heads`` heads, concatenated back to ``hidden``)."""

    def __init__(self, *args, heads: int = 4, **kwargs):
        self.heads = heads
        super().__init__(*args, **kwargs)
        self.hparams["heads"] = heads

    def make_conv(self, hidden: int) -> nn.Module:
        from torch_geometric.nn import GATv2Conv

        if hidden % self.heads:
            raise ValueError(f"hidden size {hidden} must be divisible by heads={self.heads}")
        return GATv2Conv((hidden, hidden), hidden // self.heads, heads=self.heads, add_self_loops=False)


gnn_resolver: ClassResolver[HeteroGNN] = ClassResolver([SAGE, GAT], base=HeteroGNN, default=SAGE,
                                                      synonyms={"graphsage": SAGE, "gatv2": GAT})


def make_gnn(gnn: str | HeteroGNN | type[HeteroGNN] | None = "sage", gnn_kwargs: Optional[dict] = None,
             **graph_kwargs) -> HeteroGNN:
    """A GNN by name, class or instance (an instance passes through); ``graph_kwargs`` are what the
    graph decides (``metadata``, ``num_nodes``, ``in_dims``), ``gnn_kwargs`` what the user chooses."""
    from artkg.kg.errors import InputError

    if isinstance(gnn, HeteroGNN):
        return gnn
    if isinstance(gnn, str) and gnn_resolver.normalize(gnn) not in gnn_resolver.lookup_dict \
            and gnn_resolver.normalize(gnn) not in gnn_resolver.synonyms:
        raise InputError(f"unknown GNN {gnn!r}", f"choose one of {', '.join(public_names(gnn_resolver))} "
                                                 "(or graphsage, gatv2)")
    try:
        return gnn_resolver.make(gnn, {**(gnn_kwargs or {}), **graph_kwargs})
    except TypeError as exc:
        raise InputError(f"bad GNN options {sorted(gnn_kwargs or {})}: {exc}",
                         "use hidden, layers, dropout, norm (and heads for gat)") from exc
    except ValueError as exc:
        raise InputError(f"bad GNN options: {exc}", "see `artkg train --help`") from exc
