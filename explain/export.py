"""Files people can open: an explanation subgraph as GraphML, JSON, RDF Turtle and a PNG drawing.

- **GraphML** (networkx): opens in Gephi, Cytoscape, yEd; node attributes ``type``, ``iri``, ``label``,
  ``role``, ``weight``, ``year``/``creator`` (artworks), ``born``/``died`` (artists), ``display``; edge
  attributes ``relation``, ``predicate``, ``role`` (fact, creator, path), ``sentence``, ``weight``, ``rank``.
- **JSON**: the subgraph as plain data (nodes, edges, weights, labels, IRIs, the prediction).
- **Turtle** (rdflib): the facts as the graph states them — the real predicate of each edge type
  (``wdt:P170`` for ``created_by`` …, see :data:`artkg.kg.schema.EDGE_SPECS`) — plus one
  ``akg:ExplanationEdge`` per fact with ``akg:source``, ``akg:target``, ``akg:predicate``,
  ``akg:weight`` and ``akg:rank``, hung from an ``akg:Explanation`` that names the artwork, the
  task, the explained class and the algorithm (plain RDF 1.1: no RDF-star needed).
- **PNG**: the subgraph drawn with matplotlib (nodes named by title, year and creator or life
  dates, colour by type with a legend, fact width by weight, dashed edges that tie the facts to
  the artwork, the artwork, its creator and the predicted class in the title).

Every file is written atomically (``artkg.kg.atomic``).
"""
from __future__ import annotations

import hashlib
from pathlib import Path

from artkg.kg.atomic import atomic_path, write_json

# One colour per node type (matplotlib's tab10/tab20), stable across drawings.
TYPE_COLOURS = {"artwork": "#1f77b4", "artist": "#ff7f0e", "style": "#2ca02c", "movement": "#d62728",
                "genre": "#9467bd", "material": "#8c564b", "subject": "#e377c2", "collection": "#7f7f7f",
                "place": "#bcbd22", "field": "#17becf", "training": "#aec7e8", "patron": "#ffbb78",
                "serie": "#98df8a", "period": "#ff9896", "emotion": "#c5b0d5"}


NODE_ATTRS = ("year", "creator", "born", "died", "display")


def to_networkx(subgraph):
    """The subgraph as a ``networkx.MultiDiGraph`` with GraphML-safe (scalar) attributes: the facts
    (``role`` "fact", ``rank`` 1…) and the edges that tie them to the artwork (``role`` "creator" or
    "path"); nodes carry ``year`` and ``creator`` (artworks), ``born``/``died`` (artists) and ``display``."""
    import networkx as nx

    g = nx.MultiDiGraph(task=subgraph.task, algorithm=subgraph.algorithm, artwork=subgraph.artwork["iri"],
                        explained_class=subgraph.explained_class["iri"],
                        predicted_class=subgraph.predicted_class["iri"])
    for n in subgraph.nodes:
        g.add_node(n["id"], type=n["type"], iri=n["iri"], label=n["label"] or "", role=n["role"],
                   weight=float(n["weight"]) if n.get("weight") is not None else 0.0,
                   **{k: n[k] for k in NODE_ATTRS if n.get(k) is not None})
    for e in subgraph.all_edges():
        extra = {k: v for k, v in (("weight", e.get("weight")), ("rank", e.get("rank"))) if v is not None}
        g.add_edge(e["source"], e["target"], key=f"{e['relation']}:{e.get('rank') or e.get('role')}",
                   relation=e["relation"], predicate=e["predicate"], property=e["property"],
                   role=e.get("role", "fact"), sentence=e.get("sentence", ""),
                   **{k: float(v) if k == "weight" else int(v) for k, v in extra.items()})
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
    for e in subgraph.links:  # the facts that tie the explanation to the artwork, as the graph states them
        g.add((iri[e["source"]], URIRef(e["predicate"]), iri[e["target"]]))
    return g


def write_turtle(subgraph, path: str | Path) -> Path:
    path = Path(path)
    with atomic_path(path) as tmp:
        tmp.write_text(to_rdf(subgraph).serialize(format="turtle"), encoding="utf-8")
    return path


def _layout_graph(g, roles: dict):
    """An undirected copy in which every component is tied to the artwork, so the layout keeps the
    pieces of an explanation the graph cannot connect together instead of flinging them to the corners."""
    import networkx as nx

    layout = g.to_undirected()
    anchor = next((v for v, r in roles.items() if r == "artwork"), next(iter(layout), None))
    for comp in list(nx.connected_components(layout)):
        if anchor is not None and anchor not in comp:
            layout.add_edge(anchor, next((v for v in comp if roles.get(v) != "context"), next(iter(comp))))
    return layout


def drawing_graph(subgraph):
    """The ``networkx.DiGraph`` the PNG draws: every node, and per node pair the heaviest fact (or the
    connecting edge); edge attribute ``role`` says which."""
    import networkx as nx

    g = nx.DiGraph()
    for n in subgraph.nodes:
        g.add_node(n["id"], **n)
    for e in subgraph.all_edges():  # parallel facts between two nodes: keep the heavier for the drawing
        w = abs(e["weight"]) if e.get("weight") is not None else 0.0
        old = g.edges[e["source"], e["target"]] if g.has_edge(e["source"], e["target"]) else None
        if old is None or (e.get("role", "fact") == "fact" and (old["role"] != "fact" or w > old["abs_weight"])):
            g.add_edge(e["source"], e["target"], abs_weight=w, relation=e["relation"], role=e.get("role", "fact"))
    return g


def graph_title(subgraph) -> str:
    """The drawing's title: the artwork as a person names it, the prediction and what is drawn."""
    art, pred, expl = subgraph.artwork, subgraph.predicted_class, subgraph.explained_class
    p = subgraph.meta.get("probability")
    line1 = f"{art.get('display') or art['label']} [{art['id'].split(':', 1)[-1]}]"
    line2 = (f"{subgraph.task}: predicted '{pred['label']}'" +
             (f", explaining '{expl['label']}'" if expl["index"] != pred["index"] else "") +
             (f" (probability {p:.2f})" if p is not None else ""))
    line3 = (f"{subgraph.algorithm}: top {len(subgraph.edges)} facts of {subgraph.candidates} "
             "(solid, width = weight); dashed: how they reach the artwork")
    return f"{line1}\n{line2}\n{line3}"


def graph_figure(subgraph):
    """The matplotlib figure of the subgraph and what was drawn on it: ``(fig, {"graph", "labels",
    "title", "positions"})`` — tests read the drawn labels and title from there."""
    import matplotlib

    matplotlib.use("Agg")  # files only, never a window
    import matplotlib.pyplot as plt
    import networkx as nx
    from artkg.explain.readable import relation_words, short_label
    from matplotlib.lines import Line2D

    g = drawing_graph(subgraph)
    n = g.number_of_nodes()
    size = min(18.0, 8.0 + 0.3 * n)
    fig, ax = plt.subplots(figsize=(size, size * 0.72))
    roles = nx.get_node_attributes(g, "role")
    pos = nx.kamada_kawai_layout(_layout_graph(g, roles)) if n > 2 else nx.spring_layout(g, seed=0)
    pos = nx.spring_layout(_layout_graph(g, roles), pos=pos, seed=0, k=3.0 / max(1, n) ** 0.5, iterations=30,
                           weight=None)
    colours = [TYPE_COLOURS.get(g.nodes[v]["type"], "#333333") for v in g]
    sizes = [1100 if roles.get(v) in ("artwork", "explained_class", "predicted_class") else 420 for v in g]
    edgecolors = ["black" if roles.get(v) != "context" else "white" for v in g]
    heaviest = max((d["abs_weight"] for *_, d in g.edges(data=True) if d["role"] == "fact"), default=1.0) or 1.0
    facts = [(u, v) for u, v, d in g.edges(data=True) if d["role"] == "fact"]
    links = [(u, v) for u, v, d in g.edges(data=True) if d["role"] != "fact"]
    nx.draw_networkx_edges(g, pos, edgelist=facts, ax=ax, edge_color="#444444", alpha=0.75, arrows=True,
                           width=[0.8 + 4.5 * g.edges[e]["abs_weight"] / heaviest for e in facts],
                           arrowsize=11, node_size=sizes, nodelist=list(g), connectionstyle="arc3,rad=0.06")
    nx.draw_networkx_edges(g, pos, edgelist=links, ax=ax, edge_color="#888888", style="dashed", width=1.2,
                           arrows=True, arrowsize=9, node_size=sizes, nodelist=list(g),
                           connectionstyle="arc3,rad=0.06")
    nx.draw_networkx_nodes(g, pos, ax=ax, node_color=colours, node_size=sizes, edgecolors=edgecolors, linewidths=1.5)
    labels = {v: short_label(g.nodes[v]) for v in g}
    ys = [y for _, y in pos.values()]
    drop = 0.035 * ((max(ys) - min(ys)) or 1.0)  # labels under their nodes, so the colours show
    nx.draw_networkx_labels(g, {v: (x, y - drop) for v, (x, y) in pos.items()}, labels, ax=ax, font_size=8,
                            verticalalignment="top",
                            bbox={"boxstyle": "round,pad=0.2", "fc": "white", "ec": "#cccccc", "alpha": 0.8})
    if g.number_of_edges() <= 40:  # relation names stay readable only on small drawings
        nx.draw_networkx_edge_labels(g, pos, {(u, v): relation_words(d["relation"]) for u, v, d in g.edges(data=True)},
                                     ax=ax, font_size=7, font_color="#8b0000", rotate=False,
                                     bbox={"boxstyle": "round,pad=0.1", "fc": "white", "ec": "none", "alpha": 0.6})
    types = sorted({g.nodes[v]["type"] for v in g})
    handles = [Line2D([0], [0], marker="o", linestyle="", markersize=9, markerfacecolor=TYPE_COLOURS.get(t, "#333333"),
                      markeredgecolor="none", label=t) for t in types]
    handles += [Line2D([0], [0], color="#444444", lw=2.5, label="fact (width = weight)"),
                Line2D([0], [0], color="#888888", lw=1.2, linestyle="--", label="link to the artwork")]
    ax.legend(handles=handles, loc="upper left", fontsize=8, frameon=True, framealpha=0.9)
    title = graph_title(subgraph)
    ax.set_title(title, fontsize=11)
    ax.axis("off")
    ax.margins(0.08)
    fig.tight_layout()
    return fig, {"graph": g, "labels": labels, "title": title, "positions": pos}


def draw_png(subgraph, path: str | Path, dpi: int = 110) -> Path:
    """Draw the subgraph: node labels with titles, years and creators, colour by node type, fact
    width by |weight|, dashed edges tying the facts to the artwork, the prediction in the title."""
    import matplotlib.pyplot as plt

    path = Path(path)
    fig, _ = graph_figure(subgraph)
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
