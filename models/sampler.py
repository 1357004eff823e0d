"""A torch-only heterogeneous neighbour sampler, for graphs too large for one full-batch GNN pass.

PyG's ``NeighborLoader`` needs pyg-lib or torch-sparse; this needs neither. Around the seed nodes
(a batch's artworks plus every class node of the tasks) it samples, hop by hop, up to ``k`` incoming
edges per edge type for each node reached in the previous hop — GraphSAGE's sampling. Message
passing then runs on the union of the sampled edges; nodes keep their graph indices in
``n_id_dict`` (learnable embeddings are looked up with them).
"""
from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor

Key = tuple[str, str, str]


class NeighborSampler:
    """``sample({"artwork": ids, "style": ids}) -> (n_id_dict, edge_index_dict)`` in local indices.

    ``num_neighbors[h]`` is the fan-out per edge type at hop ``h`` (``-1``: every neighbour); the
    seeds come first in each type's ``n_id``, in the order given.
    """

    def __init__(self, edge_index_dict: dict[Key, Tensor], num_nodes: dict[str, int], num_neighbors: list[int]):
        if not num_neighbors:
            raise ValueError("num_neighbors needs one fan-out per hop")
        self.num_nodes, self.num_neighbors = dict(num_nodes), [int(k) for k in num_neighbors]
        self.keys = list(edge_index_dict)
        self.csc: dict[Key, tuple[Tensor, Tensor]] = {}
        for (src, rel, dst), ei in edge_index_dict.items():
            order = torch.argsort(ei[1], stable=True)
            ptr = torch.zeros(self.num_nodes[dst] + 1, dtype=torch.long)
            ptr[1:] = torch.cumsum(torch.bincount(ei[1], minlength=self.num_nodes[dst]), 0)
            self.csc[(src, rel, dst)] = (ptr, ei[0][order])
        # global → local position, reused between calls (only the touched entries are reset)
        self._local = {t: torch.full((n,), -1, dtype=torch.long) for t, n in self.num_nodes.items()}

    def sample(self, seeds: dict[str, Tensor], generator: Optional[torch.Generator] = None
               ) -> tuple[dict[str, Tensor], dict[Key, Tensor]]:
        n_id = {t: torch.empty(0, dtype=torch.long) for t in self.num_nodes}
        for t, ids in seeds.items():
            n_id[t] = self._add(t, n_id[t], ids)  # seeds are distinct within a type
        frontier = {t: ids for t, ids in n_id.items() if len(ids)}
        edges: dict[Key, list[tuple[Tensor, Tensor]]] = {k: [] for k in self.keys}
        try:
            for k in self.num_neighbors:
                reached: dict[str, list[Tensor]] = {}
                for key in self.keys:
                    src_t, _, dst_t = key
                    if dst_t not in frontier:
                        continue
                    src, dst = self._sample_in_edges(key, frontier[dst_t], k, generator)
                    if len(src) == 0:
                        continue
                    edges[key].append((src, dst))
                    reached.setdefault(src_t, []).append(src)
                frontier = {}
                for t, parts in reached.items():
                    candidates = torch.cat(parts).unique()
                    new = candidates[self._local[t][candidates] < 0]
                    if len(new):
                        n_id[t] = self._add(t, n_id[t], new)
                        frontier[t] = new
                if not frontier:
                    break
            local_edges = {}
            for key, parts in edges.items():
                if parts:
                    src = torch.cat([s for s, _ in parts])
                    dst = torch.cat([d for _, d in parts])
                    local_edges[key] = torch.stack([self._local[key[0]][src], self._local[key[2]][dst]])
                else:
                    local_edges[key] = torch.empty(2, 0, dtype=torch.long)
        finally:
            for t, ids in n_id.items():
                self._local[t][ids] = -1
        return n_id, local_edges

    def _add(self, node_type: str, have: Tensor, new: Tensor) -> Tensor:
        self._local[node_type][new] = torch.arange(len(have), len(have) + len(new))
        return torch.cat([have, new])

    def _sample_in_edges(self, key: Key, dst_nodes: Tensor, k: int, generator) -> tuple[Tensor, Tensor]:
        """Up to ``k`` random incoming edges of each node in ``dst_nodes`` (global ids)."""
        ptr, col = self.csc[key]
        start, count = ptr[dst_nodes], ptr[dst_nodes + 1] - ptr[dst_nodes]
        total = int(count.sum())
        if total == 0:
            return torch.empty(0, dtype=torch.long), torch.empty(0, dtype=torch.long)
        group = torch.repeat_interleave(torch.arange(len(dst_nodes)), count)
        offset = torch.arange(total) - torch.repeat_interleave(torch.cumsum(count, 0) - count, count)
        position = start[group] + offset
        if k >= 0:
            # A random rank within each node's edges: sort by (node, random key), keep ranks < k.
            order = torch.argsort(group.double() + torch.rand(total, generator=generator, dtype=torch.double) * 0.5)
            keep = order[offset < k]  # after sorting, the i-th edge of a group sits at group start + i
            position, group = position[keep], group[keep]
        return col[position], dst_nodes[group]
