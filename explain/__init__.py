"""artkg.explain: why a prediction — the graph facts it rests on, and where in the picture.

Names load lazily (importing ``artkg.explain`` pulls in neither torch nor PyG)::

    from artkg.explain import explain, GraphExplainConfig
    explain("runs/style", artwork="W00012", out="expl/W00012")

- :mod:`artkg.explain.graph`: GNNExplainer / Captum on GraphCLIP, the explanation subgraph (the wrapper
  they mask: :mod:`artkg.explain.graph_model`; masks → facts: :mod:`artkg.explain.graph_facts`);
- :mod:`artkg.explain.readable`: what makes it readable — nodes with titles, years and creators, facts
  as sentences, and the edges that tie every fact to the artwork;
- :mod:`artkg.explain.export`: GraphML, JSON, Turtle and PNG files of a subgraph;
- :mod:`artkg.explain.cam`: Grad-CAM heatmaps (class and similarity targets);
- :mod:`artkg.explain.api`: :func:`explain`, what ``artkg explain`` runs.
"""
from __future__ import annotations

from importlib import import_module

_NAMES = {
    "explain": "artkg.explain.api",
    "ExplainContext": "artkg.explain.context",
    "explain_graph": "artkg.explain.graph",
    "algorithm_resolver": "artkg.explain.graph",
    "GraphCLIPExplainModel": "artkg.explain.graph_model",
    "write_graph_files": "artkg.explain.export",
    "explain_image": "artkg.explain.cam",
    "similarity_cam": "artkg.explain.cam",
    "write_cam_files": "artkg.explain.cam",
    "GraphExplainConfig": "artkg.explain.config",
    "CamConfig": "artkg.explain.config",
    "ExplainWhat": "artkg.explain.config",
}
__all__ = ["CamConfig", "ExplainContext", "ExplainWhat", "GraphCLIPExplainModel", "GraphExplainConfig",
           "algorithm_resolver", "explain", "explain_graph", "explain_image", "similarity_cam", "write_cam_files",
           "write_graph_files"]


def __getattr__(name: str):
    if name in _NAMES:
        return getattr(import_module(_NAMES[name]), name)
    raise AttributeError(f"module 'artkg.explain' has no attribute {name!r}")
