"""An explanation a person can read: nodes with their titles, years and creators, facts as sentences,
and the artwork always connected to every fact it is explained by.

- :func:`node_details`: what :func:`artkg.kg.search.describe` knows of a node (an artwork's year and
  creator, an artist's years) plus ``display`` (``Altarpiece No. 28 (1502) by Konrad Wesquinaux``);
- :func:`sentence`: a fact as ``*Altarpiece No. 28* (1502) — created by — Konrad Wesquinaux``;
- :func:`connecting_edges`: the artwork's creator edge and, for every piece of the explanation the
  facts leave apart from the artwork, the shortest path of the message-passing graph that ties it
  to the artwork (a fact about the artist's movement shows artwork —created by→ artist —movement→
  movement).
"""
from __future__ import annotations

import numpy as np


def node_details(graph, node_type: str, index: int) -> dict:
    """``year``/``creator`` (artworks), ``born``/``died`` (artists) where known, and ``display``."""
    from artkg.kg.search import describe, display

    record = describe(graph, node_type, index)
    out = {k: record[k] for k in ("year", "creator", "born", "died") if record.get(k) is not None}
    out["display"] = display(record)
    return out


def phrase(node: dict) -> str:
    """A node inside a sentence: ``*Title* (1502)`` for artworks, ``Name (1452–1519)`` for artists."""
    label = node.get("label") or node.get("id", "?")
    if node.get("type") == "artwork":
        return f"*{label}*" + (f" ({node['year']})" if node.get("year") is not None else "")
    return node.get("display") or label


def relation_words(relation: str) -> str:
    return relation.replace("_", " ")


def sentence(source: dict, relation: str, target: dict) -> str:
    return f"{phrase(source)} — {relation_words(relation)} — {phrase(target)}"


def short_label(node: dict, width: int = 24) -> str:
    """The label drawn on a node: the title (at most two lines), then year and creator / life dates."""
    import textwrap

    text = " ".join(str(node.get("label") or node.get("id") or "?").split())
    lines = textwrap.wrap(text, width, max_lines=2, placeholder="…") or ["?"]
    if node.get("type") == "artwork":
        extra = " · ".join(str(v) for v in (node.get("year"), node.get("creator")) if v is not None)
        if extra:
            lines.append(textwrap.shorten(extra, width + 4, placeholder="…"))
    elif node.get("type") == "artist" and (node.get("born") is not None or node.get("died") is not None):
        lines.append(f"({node.get('born', '?')}–{node.get('died', '')})")
    return "\n".join(lines)


# ------------------------------------------------------------------ connecting the artwork
def _find_edge(forward: dict, a: tuple[str, int], b: tuple[str, int]) -> tuple[tuple, int] | None:
    """A forward edge between nodes ``a`` and ``b`` (either direction): ``(edge type, position)``."""
    for (src, rel, dst), ei in forward.items():
        for (s, i), (d, j) in ((a, b), (b, a)):
            if (src, dst) == (s, d):
                hit = ((ei[0] == i) & (ei[1] == j)).nonzero()
                if len(hit):
                    return (src, rel, dst), int(hit[0, 0])
    return None


def connecting_edges(edges: dict, num_nodes: dict[str, int], artwork: int,
                     nodes: set[tuple[str, int]], facts: set[tuple[tuple, int]],
                     creator_key: tuple = ("artwork", "created_by", "artist")) -> list[tuple[str, tuple, int]]:
    """``(role, edge type, position)`` of the edges to add so that every node of ``nodes`` is tied to
    the artwork: ``creator`` edges first, then ``path`` edges (shortest paths, undirected, over the
    forward edges of ``edges``). Nodes the graph cannot reach from the artwork stay apart."""
    import scipy.sparse as sp
    from scipy.sparse.csgraph import dijkstra

    forward = {k: v for k, v in edges.items() if not k[1].startswith("rev_")}
    types = sorted(num_nodes)
    offset, total = {}, 0
    for t in types:
        offset[t], total = total, total + int(num_nodes[t])

    def gid(t: str, i: int) -> int:
        return offset[t] + int(i)

    def node_of(g: int) -> tuple[str, int]:
        t = max((t for t in types if offset[t] <= g and num_nodes[t] > 0), key=lambda t: offset[t])
        return t, g - offset[t]

    added: list[tuple[str, tuple, int]] = []
    chosen = set(facts)
    parent: dict[int, int] = {}

    def find(x: int) -> int:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def union(a: int, b: int) -> None:
        parent[find(a)] = find(b)

    def take(role: str, et: tuple, pos: int) -> None:
        s, d = (int(v) for v in edges[et][:, pos])
        union(gid(et[0], s), gid(et[2], d))
        if (et, pos) not in chosen:
            chosen.add((et, pos))
            added.append((role, et, pos))

    for t, i in nodes:
        find(gid(t, i))
    for et, pos in facts:
        s, d = (int(v) for v in edges[et][:, pos])
        union(gid(et[0], s), gid(et[2], d))
    root = gid("artwork", artwork)
    if creator_key in forward:
        for pos in (forward[creator_key][0] == artwork).nonzero().flatten().tolist():
            take("creator", creator_key, pos)
    if all(find(g) == find(root) for g in list(parent)):
        return added
    rows, cols = [], []
    for (src, _, dst), ei in forward.items():
        if ei.shape[1]:
            rows.append(ei[0].numpy() + offset[src])
            cols.append(ei[1].numpy() + offset[dst])
    if not rows:
        return added
    r, c = np.concatenate(rows), np.concatenate(cols)
    adjacency = sp.coo_matrix((np.ones(len(r)), (r, c)), shape=(total, total)).tocsr()
    while True:  # the nearest piece first, from everything already tied to the artwork; repeat
        apart = [g for g in list(parent) if find(g) != find(root)]
        if not apart:
            break
        tied = [g for g in list(parent) if find(g) == find(root)]
        dist, pred = dijkstra(adjacency, directed=False, indices=tied, unweighted=True, min_only=True,
                              return_predecessors=True)[:2]
        g = min(apart, key=lambda g: dist[g])
        if not np.isfinite(dist[g]):
            break  # the rest lies out of the artwork's reach in this graph
        node = g
        while find(node) != find(root):
            up = int(pred[node])
            hit = _find_edge(forward, node_of(up), node_of(node)) if up >= 0 else None
            if hit is None:
                return added
            take("path", *hit)
            node = up
    return added
