"""Art recommenders on the knowledge graph: VisRank, VBPR, CuratorNet (and a KG-aware CuratorNet),
their baselines, the sampling guidelines, a time-ordered evaluation and the metrics.

Contract in :mod:`artkg.models.recsys.base`; heavy imports stay inside the modules that need them.
"""
