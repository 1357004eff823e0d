"""What an explanation reads: a run, its graph, the message-passing graph it was trained on, its encoder.

:class:`ExplainContext` loads each part on first use, so an image-only explanation of a file outside
the graph never builds the message-passing graph, and a graph explanation never builds the encoder.
"""
from __future__ import annotations

import difflib
import logging
from functools import cached_property
from pathlib import Path

import torch
from artkg.kg.errors import InputError, NotFoundError

log = logging.getLogger("artkg")


class ExplainContext:
    """A loaded run (``artkg train``) with lazy access to its graph, training data and image encoder."""

    def __init__(self, run, graph_dir: str | Path | None = None):
        from artkg.models.run import Run, load_run

        self.run: Run = run if isinstance(run, Run) else load_run(run, "cpu")
        self._graph_dir = graph_dir

    @classmethod
    def load(cls, run_dir: str | Path, graph_dir: str | Path | None = None) -> ExplainContext:
        return cls(run_dir, graph_dir)

    # ------------------------------------------------------------------ parts
    @property
    def model(self):
        return self.run.model

    @property
    def config(self) -> dict:
        return self.run.config

    @property
    def model_name(self) -> str:
        return str(self.config.get("model", "?"))

    @cached_property
    def graph(self):
        from artkg.models.run import run_graph

        return run_graph(self.config, self._graph_dir, self.run.path)

    @cached_property
    def data(self):
        """The run's :class:`~artkg.models.data.TrainingData`: its split, features and leakage-free graph."""
        from artkg.models.run import run_training_data

        self.require_graph_side()
        return run_training_data(self.run, self.graph)

    @cached_property
    def encoder(self):
        """The image encoder that made the run's features (its fine-tuned tower where it has one)."""
        from artkg.models.encoders_image import encoder_for_features

        if self.model.image_tower is not None:
            return self.model.image_tower.eval()
        return encoder_for_features(self.config["features"]["image"]).eval()

    # ------------------------------------------------------------------ checks and lookups
    def require_graph_side(self) -> None:
        if not getattr(self.model, "uses_graph", False) or not hasattr(self.model, "gnn"):
            raise InputError(f"the run {self.run.path} ({self.model_name}) has no graph side to explain",
                             "explain a graphclip run, or pass --what image for a Grad-CAM heatmap only")

    def task(self, task: str | None) -> str:
        """The task to explain: the one given, or the run's first."""
        tasks = list(self.config["tasks"])
        if task is None:
            return tasks[0]
        if task not in tasks:
            raise InputError(f"the run {self.run.path} was not trained on the task {task!r}",
                             f"use --task {' or --task '.join(tasks)}")
        return task

    def classes(self, task: str) -> list[dict]:
        """``[{"iri", "label"}]`` of a task's classes, in logit order."""
        return list(self.config["tasks"][task]["classes"])

    def class_index(self, task: str, query: str | int) -> int:
        """A class of ``task`` by index, IRI, local id or exact label."""
        classes = self.classes(task)
        if isinstance(query, int) or (isinstance(query, str) and query.isdigit()):
            i = int(query)
            if 0 <= i < len(classes):
                return i
        from artkg.kg.schema import local_name

        for i, c in enumerate(classes):
            if query in (c["iri"], local_name(c["iri"]), c["label"]):
                return i
        close = difflib.get_close_matches(str(query), [c["label"] for c in classes], n=5, cutoff=0.5)
        raise NotFoundError(f"no {task} class {query!r} in the run {self.run.path}",
                            f"did you mean {', '.join(map(repr, close))}?" if close
                            else f"use a class label, IRI or index 0–{len(classes) - 1}")

    def artwork_index(self, query: str | int) -> int:
        """An artwork of the run's graph by IRI, local id (``W00012``) or exact title.

        The graph's own lookup suggests close titles; an id that is not there gets close ids too.
        """
        graph = self.graph
        if isinstance(query, int):
            if 0 <= query < graph.num_nodes("artwork"):
                return query
            raise NotFoundError(f"artwork index {query} is outside the graph at {graph.root}",
                                f"use 0–{graph.num_nodes('artwork') - 1}, an IRI or a local id")
        try:
            return graph.resolve("artwork", query)  # suggests close titles and close ids
        except NotFoundError as exc:
            from artkg.kg.schema import local_name

            if exc.fix and exc.fix.startswith("did you mean"):
                raise
            names = [local_name(i) for i in graph.iris["artwork"]]
            raise NotFoundError(f"no artwork {query!r} in {graph.root}",
                                f"its artwork ids run from {min(names)} to {max(names)}; titles are matched exactly "
                                f"(try `artkg info {graph.root}`)") from exc

    def artwork_image(self, index: int) -> Path:
        """The local image file of an artwork of the graph."""
        from artkg.models.images import resolve_image

        graph = self.graph
        iri = graph.images[index] if index < len(graph.images) else None
        path, reason = resolve_image(iri, graph.root)
        if path is None:
            raise InputError(f"artwork {graph.iris['artwork'][index]} has no local image: {reason}",
                             "pass the picture with --image FILE, or explain the graph side only (--what graph)")
        return path

    def split_of(self, index: int) -> str:
        split = self.run.split
        for name in ("train", "val", "test"):
            if bool((getattr(split, name) == index).any()):
                return name
        return "none"

    @torch.no_grad()
    def artwork_features(self, index: int) -> torch.Tensor:
        """The artwork's image features [1, d] as the model's image side reads them."""
        if self.model.image_tower is not None:  # a fine-tuned tower: encode the picture again
            from artkg.models.images import load_image

            encoder = self.encoder
            path = self.artwork_image(index)
            pixels = encoder.preprocess(load_image(path, encoder.image_size))[None]
            return encoder(pixels).float()
        return self.data.features[index:index + 1].float()
