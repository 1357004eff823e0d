"""Build, store and query art-historical knowledge graphs.

* :mod:`artkg.kg.schema` — node/edge types and the Wikidata properties behind them
* :mod:`artkg.kg.builders` — ``build_graph("wikidata" | "rdf" | "wikiart" | "artgraph" | "synth", out, …)``
* :mod:`artkg.kg.graph` — ``load_graph(dir)`` → :class:`KnowledgeGraph` (``.data`` is a PyG ``HeteroData``)
* :mod:`artkg.kg.influence` — influence chains (``InfluenceIndex``, ``influence_report``)
* :mod:`artkg.kg.sparql` — the polite, caching SPARQL client
"""
from __future__ import annotations

from importlib import import_module

_LAZY = {
    "build_graph": "artkg.kg.builders",
    "builder_resolver": "artkg.kg.builders",
    "load_graph": "artkg.kg.graph",
    "KnowledgeGraph": "artkg.kg.graph",
    "InfluenceIndex": "artkg.kg.influence",
    "influence_report": "artkg.kg.influence",
    "Direction": "artkg.kg.influence",
    "ArtkgError": "artkg.kg.errors",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str):
    # Lazy: `import artkg.kg` stays cheap; torch/PyG load only when a graph is used.
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'artkg.kg' has no attribute {name!r}")
