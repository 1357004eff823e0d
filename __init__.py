"""artkg: art-historical knowledge graphs, influence chains and graph-aware models.

Data flows one way: :mod:`artkg.kg` (build and query graphs) → :mod:`artkg.models`
→ :mod:`artkg.retrieval` / :mod:`artkg.explain`. Heavy dependencies are imported lazily.
"""
from artkg._version import __version__
from artkg import _torchvision_compat  # noqa: F401  (must run before anything imports torchvision)

__all__ = ["__version__"]
