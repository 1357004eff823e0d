"""Visual signatures: fine-tuning an image backbone on known visual connections between artworks,
then clustering the signatures with an expert in the loop (Replica; Schaerf's semi-supervised
clustering of visual signatures).

Pure, tested foundations, one module each (heavy imports stay inside the functions):

- :mod:`~artkg.models.signatures.loss` — per-sample ``l2_normalise``, ``signature_pool`` (mean pooling
  of a feature map or tokens) and the ``compound_hinge`` loss with the anchor swap;
- :mod:`~artkg.models.signatures.split` — ``component_split``: train/val/test by connected component
  of the positive links, so no connection crosses parts; ``held_out_pairs``;
- :mod:`~artkg.models.signatures.mining` — ``hard_negatives``: a negative among each anchor's nearest
  unconnected works, in chunks;
- :mod:`~artkg.models.signatures.clusters` — ``cluster`` (OPTICS, DBSCAN, HDBSCAN, k-means or any
  estimator), ``family_scores`` (per-family recall and precision) and ``retrieval_scores``
  (ranks, mAP, recall@k of held-out connections).

Fine-tuning on a graph's visual links (torch; ``artkg train signatures``, ``artkg signatures``):

- :mod:`~artkg.models.signatures.backbone` — ``SignatureBackbone``: a registry image encoder cut at its
  last stage, pooled per sample, with ``stages()`` for staged unfreezing;
- :mod:`~artkg.models.signatures.config` — ``SignatureConfig`` (JSON options, no torch);
- :mod:`~artkg.models.signatures.train` — ``train_signatures``: triplets re-mined each epoch, the
  compound hinge, per-epoch checkpoints and resume;
- :mod:`~artkg.models.signatures.run` — the run directory, ``evaluate_signature_run`` and
  ``export_signatures`` (a feature folder ``signatures-<run>``).

The expert in the loop and the map (``artkg signatures propose / annotate / map``):

- :mod:`~artkg.models.signatures.loop` — ``propose`` (clusters → pairs the graph does not link yet,
  ``verdicts.csv``, ``proposals.json``, contact sheets), ``annotate`` (verdicts → links),
  ``simulate_annotator`` (verdicts from a motif world's ground truth);
- :mod:`~artkg.models.signatures.maps` — ``signature_map``: t-SNE/PCA/UMAP of the signatures as a PNG
  with clusters coloured and a self-contained HTML page (pan, zoom, hover with thumbnails).
"""
