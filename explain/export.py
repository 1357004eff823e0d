"""Files people can open: an explanation subgraph as GraphML, JSON, RDF Turtle and a PNG drawing.

- **GraphML** (networkx): opens in Gephi, Cytoscape, yEd; node attributes ``type``, ``iri``, ``label``,
  ``role``, ``weight``; edge attributes ``relation``, ``predicate``, ``weight``, ``rank``.
- **JSON**: the subgraph as plain data (nodes, edges, weights, labels, IRIs, the prediction).
- **Turtle** (rdflib): the facts as the graph states them — the real predicate of each edge type
  (``wdt:P170`` for ``created_by`` …, see :data:`artkg.kg.schema.EDGE_SPECS`) — plus one
  ``akg:ExplanationEdge`` per fact with ``akg:source``, ``akg:target``, ``akg:predicate``,
  ``akg:weight`` and ``akg:rank``, hung from an ``akg:Explanation`` that names the artwork, the
  task, the explained class and the algorithm (plain RDF 1.1: no RDF-star needed).
- **PNG**: the subgraph drawn with matplotlib (node colour by type with a legend, edge width by
  weight, the predicted class in the title).

Every file is written atomically (``artkg.kg.atomic``).
"""
from __future__ import annotations

import hashlib
import textwrap
from pathlib import Path

from artkg.kg.atomic import atomic_path, write_json

# One colour per node type (matplotlib's tab10/tab20), stable across drawings.
TYPE_COLOURS = {"artwork": "#1f77b4", "artist": "#ff7f0e", "style": "#2ca02c", "movement": "#d62728",
                "genre": "#9467bd", "material": "#8c564b", "subject": "#e377c2", "collection": "#7f7f7f",
                "place": "#bcbd22", "field": "#17becf", "training": "#aec7e8", "patron": "#ffbb78",
                "serie": "#98df8a", "period": "#ff9896", "emotion": "#c5b0d5"}


def to_networkx(subgraph):
    """The subgraph as a ``networkx.MultiDiGraph`` with GraphML-safe (scalar) attributes."""
    import networkx as nx

    g = nx.MultiDiGraph(task=subgraph.task, algorithm=subgraph.algorithm, artwork=subgraph.artwork["iri"],
                        explained_class=subgraph.explained_class["iri"],
                        predicted_class=subgraph.predicted_class["iri"])
    for n in subgraph.nodes:
        g.add_node(n["id"], type=n["type"], iri=n["iri"], label=n["label"] or "", role=n["role"],
                   weight=float(n["weight"]) if n.get("weight") is not None else 0.0)
    for e in subgraph.edges:
        g.add_edge(e["source"], e["target"], key=f"{e['relation']}:{e['rank']}", relation=e["relation"],
                   predicate=e["predicate"], property=e["property"], weight=float(e["weight"]), rank=int(e["rank"]))
    return g


def write_graphml(subgraph, path: str | Path) -> Path:
    import networkx as nx

    path = Path(path)
    with atomic_path(path) as tmp:
        nx.write_graphml(to_networkx(subgraph), tmp)
    return path


def write_subgraph_json(subgraph, path: str | Path) -> Path:
    path = Path(path)
    write_json(path, subgraph.to_dict())
    return path


def to_rdf(subgraph):
    """The subgraph's facts and their weights as an rdflib ``Graph``."""
    from artkg.kg.schema import PREFIXES
    from rdflib import RDF, RDFS, XSD, BNode, Graph, Literal, Namespace, URIRef

    akg = Namespace(PREFIXES["akg"])
    g = Graph()
    for prefix, ns in PREFIXES.items():
        g.bind(prefix, Namespace(ns))
    iri = {n["id"]: URIRef(n["iri"]) for n in subgraph.nodes}
    # A stable IRI for the explanation itself (same inputs → same IRI), under the artkg vocabulary.
    digest = hashlib.sha256(f"{subgraph.artwork['iri']}|{subgraph.task}|{subgraph.explained_class['iri']}|"
                            f"{subgraph.algorithm}".encode()).hexdigest()[:16]
    explanation = URIRef(f"{PREFIXES['akg']}explanation/{digest}")
    g.add((explanation, RDF.type, akg.Explanation))
    g.add((explanation, akg.explains, URIRef(subgraph.artwork["iri"])))
    g.add((explanation, akg.task, Literal(subgraph.task)))
    g.add((explanation, akg.explainedClass, URIRef(subgraph.explained_class["iri"])))
    g.add((explanation, akg.predictedClass, URIRef(subgraph.predicted_class["iri"])))
    g.add((explanation, akg.algorithm, Literal(subgraph.algorithm)))
    for n in subgraph.nodes:
        if n.get("label"):
            g.add((iri[n["id"]], RDFS.label, Literal(n["label"])))
        g.add((iri[n["id"]], akg.nodeType, Literal(n["type"])))
        if n.get("weight") is not None:
            node = BNode()
            g.add((explanation, akg.hasNode, node))
            g.add((node, RDF.type, akg.ExplanationNode))
            g.add((node, akg.node, iri[n["id"]]))
            g.add((node, akg.weight, Literal(float(n["weight"]), datatype=XSD.double)))
    for e in subgraph.edges:
        s, p, o = iri[e["source"]], URIRef(e["predicate"]), iri[e["target"]]
        g.add((s, p, o))  # the fact itself, in the graph's own vocabulary
        edge = BNode()
        g.add((explanation, akg.hasEdge, edge))
        g.add((edge, RDF.type, akg.ExplanationEdge))
        g.add((edge, akg.source, s))
        g.add((edge, akg.target, o))
        g.add((edge, akg.predicate, p))
        g.add((edge, akg.edgeType, Literal(",".join(e["type"]))))
        g.add((edge, akg.weight, Literal(float(e["weight"]), datatype=XSD.double)))
        g.add((edge, akg.rank, Literal(int(e["rank"]), datatype=XSD.integer)))
    return g


def write_turtle(subgraph, path: str | Path) -> Path:
    path = Path(path)
    with atomic_path(path) as tmp:
        tmp.write_text(to_rdf(subgraph).serialize(format="turtle"), encoding="utf-8")
    return path


def _short(text: str, width: int = 22) -> str:
    text = " ".join(str(text).split())
    return "\n".join(textwrap.wrap(text, width, max_lines=2, placeholder="…")) or "?"


def _layout_graph(g, roles: dict):
    """An undirected copy in which every component is tied to the artwork, so the layout keeps the
    pieces of a disconnected explanation together instead of flinging them to the corners."""
    import networkx as nx

    layout = g.to_undirected()
    anchor = next((v for v, r in roles.items() if r == "artwork"), next(iter(layout), None))
    for comp in list(nx.connected_components(layout)):
        if anchor is not None and anchor not in comp:
            layout.add_edge(anchor, next((v for v in comp if roles.get(v) != "context"), next(iter(comp))))
    return layout


def draw_png(subgraph, path: str | Path, dpi: int = 150) -> Path:
    """Draw the subgraph: colour by node type (legend), width by |weight|, the prediction in the title."""
    import matplotlib

    matplotlib.use("Agg")  # files only, never a window
    import matplotlib.pyplot as plt
    import networkx as nx
    from matplotlib.lines import Line2D

    path = Path(path)
    g = nx.DiGraph()
    for n in subgraph.nodes:
        g.add_node(n["id"], **n)
    heaviest = max((abs(e["weight"]) for e in subgraph.edges), default=1.0) or 1.0
    for e in subgraph.edges:  # parallel facts between two nodes: keep the heavier for the drawing
        if not g.has_edge(e["source"], e["target"]) or abs(e["weight"]) > abs(g.edges[e["source"], e["target"]]["weight"]):
            g.add_edge(e["source"], e["target"], weight=e["weight"], relation=e["relation"])
    n = g.number_of_nodes()
    size = min(16.0, 6.0 + 0.35 * n)
    fig, ax = plt.subplots(figsize=(size, size * 0.75))
    roles = nx.get_node_attributes(g, "role")
    pos = nx.spring_layout(_layout_graph(g, roles), seed=0, k=2.2 / max(1, n) ** 0.5, iterations=200, weight=None)
    colours = [TYPE_COLOURS.get(g.nodes[v]["type"], "#333333") for v in g]
    sizes = [900 if roles.get(v) in ("artwork", "explained_class", "predicted_class") else 380 for v in g]
    edgecolors = ["black" if roles.get(v) != "context" else "white" for v in g]
    widths = [0.6 + 5.0 * abs(d["weight"]) / heaviest for _, _, d in g.edges(data=True)]
    nx.draw_networkx_edges(g, pos, ax=ax, width=widths, edge_color="#555555", alpha=0.7, arrows=True,
                           arrowsize=10, node_size=sizes, connectionstyle="arc3,rad=0.06")
    nx.draw_networkx_nodes(g, pos, ax=ax, node_color=colours, node_size=sizes, edgecolors=edgecolors, linewidths=1.5)
    labels = {v: _short(g.nodes[v].get("label") or v) for v in g}
    nx.draw_networkx_labels(g, pos, labels, ax=ax, font_size=7,
                            bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.75})
    if g.number_of_edges() <= 30:  # relation names stay readable only on small drawings
        nx.draw_networkx_edge_labels(g, pos, nx.get_edge_attributes(g, "relation"), ax=ax, font_size=6,
                                     font_color="#444444", rotate=False)
    types = sorted({g.nodes[v]["type"] for v in g})
    handles = [Line2D([0], [0], marker="o", linestyle="", markersize=9, markerfacecolor=TYPE_COLOURS.get(t, "#333333"),
                      markeredgecolor="none", label=t) for t in types]
    ax.legend(handles=handles, title="node type", loc="upper left", fontsize=8, title_fontsize=8, frameon=True)
    pred, expl = subgraph.predicted_class, subgraph.explained_class
    title = (f"{subgraph.artwork['label']} ({subgraph.artwork['id']}) — {subgraph.task}: predicted {pred['label']}"
             + (f", explaining {expl['label']}" if expl["index"] != pred["index"] else "")
             + f"\n{subgraph.algorithm}: top {len(subgraph.edges)} facts of {subgraph.candidates}; edge width = weight")
    ax.set_title(title, fontsize=10)
    ax.axis("off")
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=dpi, format="png")
    plt.close(fig)
    return path


def write_graph_files(subgraph, out: str | Path, stem: str = "graph") -> dict[str, str]:
    """All four files into ``out``: ``{"graphml", "json", "turtle", "png"}`` → paths."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    return {"graphml": str(write_graphml(subgraph, out / f"{stem}.graphml")),
            "json": str(write_subgraph_json(subgraph, out / f"{stem}.json")),
            "turtle": str(write_turtle(subgraph, out / f"{stem}.ttl")),
            "png": str(draw_png(subgraph, out / f"{stem}.png"))}
