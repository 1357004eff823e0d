"""Everything a classifier is trained on, prepared once from a graph directory.

- labels per task, the split (``split.json`` of a run) and which labels training may see;
- image features per artwork (``artkg features``), text features of the class nodes (prototype);
- the **message-passing graph**: the graph's edges minus the label edges training may not see —
  those of non-training artworks and, in strict zero-shot, every one of a held-out class (decided by
  :class:`~artkg.models.visibility.Visibility`, which label propagation, the loss, early stopping and
  the calibration also ask) — with reverse edges, and the GNN's input per node type;
- the optional **label trick** (``TrainConfig.label_trick``): the label edges of the artworks a
  training step is trained on are removed too, so a training artwork never reads its own label off
  the graph — exactly the situation of a test artwork.

The *label distribution* of an artwork is the class histogram of the label edges its (first)
artist's other works have in the current message-passing graph; GraphCLIP turns it into a context
embedding (see :mod:`artkg.models.graphclip`).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Optional

import torch
from torch import Tensor

from artkg.kg.errors import InputError, NotFoundError
from artkg.kg.graph import reverse_edge_type
from artkg.models.classifier import Batch, GraphInputs
from artkg.models.tasks import CREATED_BY, Split, Task, artwork_creators, leakage_free_edges, make_split, make_task
from artkg.models.visibility import Visibility, label_counts

log = logging.getLogger("artkg")

INPUT_MODES = ("embedding", "constant", "text")


@dataclass
class TaskData:
    task: Task
    labels: Tensor  # [N_artworks], -1 where unknown
    direct: Optional[tuple[str, str, str]]  # (artwork, rel, class) label edges
    via_artist: Optional[tuple[str, str, str]]  # (artist, rel, class) label edges
    class_names: list[str]
    class_iris: list[str]

    @property
    def name(self) -> str:
        return self.task.name

    @property
    def class_type(self) -> str:
        return self.task.class_type

    @property
    def num_classes(self) -> int:
        return len(self.class_iris)


class TrainingData:
    """Labels, split, features and the leakage-free message-passing graph of one training run."""

    def __init__(self, graph, task_names: list[str], features: Tensor, feature_mask: Tensor, feature_meta: dict,
                 split: Optional[Split] = None, seed: int = 0, fractions=(0.7, 0.1, 0.2),
                 unseen_fraction: float = 0.0, unseen_classes: Optional[dict[str, list[str]]] = None,
                 text_features: Optional[dict[str, Tensor]] = None, class_inputs: str = "constant",
                 node_inputs: str = "embedding", unseen_mode: str = "strict"):
        if not task_names:
            raise InputError("no task given", "pass --task style (see `artkg info GRAPH_DIR` for node types)")
        if len(set(task_names)) != len(task_names):
            raise InputError(f"a task is given twice: {task_names}", "name each task once")
        for what, mode in (("class inputs", class_inputs), ("node inputs", node_inputs)):
            if mode not in INPUT_MODES:
                raise InputError(f"unknown {what} {mode!r}", f"choose one of {', '.join(INPUT_MODES)}")
        self.graph, self.features, self.feature_mask, self.feature_meta = graph, features, feature_mask, feature_meta
        self.num_artworks = graph.num_nodes("artwork")
        if features.shape[0] != self.num_artworks:
            raise InputError(f"the image features have {features.shape[0]} rows for {self.num_artworks} artworks",
                             f"recompute them with `artkg features {graph.root}`")
        self.tasks: list[TaskData] = []
        for name in task_names:
            task = make_task(graph, name)
            direct, via = task.label_edge(graph)
            self.tasks.append(TaskData(task, task.labels(graph), direct, via, task.class_names(graph),
                                       list(graph.iris[task.class_type])))
        inherited = any(t.task.inherited(graph) for t in self.tasks)
        self.artist_of = self._first_artist()
        if split is None:
            unseen_ids = self._unseen_ids(unseen_classes or {})
            split = make_split({t.name: t.labels for t in self.tasks}, {t.name: t.num_classes for t in self.tasks},
                               seed=seed, fractions=tuple(fractions), unseen_fraction=unseen_fraction,
                               usable=feature_mask, groups=self.artist_of if inherited else None,
                               unseen_classes=unseen_ids)
        self.split = split
        self.visibility = Visibility(split, self.tasks, unseen_mode, self.artist_of, graph.num_nodes("artist"), graph)
        if any(t.direct == CREATED_BY for t in self.tasks):  # the artist is a label: only training artworks show it
            hidden = torch.ones(self.num_artworks, dtype=torch.bool)
            hidden[split.train] = False
            self.artist_of[hidden] = -1
        if len(split.train) == 0:
            raise InputError("no artwork can be trained on: none has both image features and a label for every task",
                             f"check the tasks ({', '.join(task_names)}) and `artkg features {graph.root}`")
        self.text_features = text_features
        self.class_inputs, self.node_inputs = class_inputs, node_inputs
        self._build_graph()

    # ------------------------------------------------------------------ labels and split
    def _first_artist(self) -> Tensor:
        return torch.from_numpy(artwork_creators(self.graph))  # several creators: the lowest index

    def _unseen_ids(self, names: dict[str, list[str]]) -> dict[str, list[int]]:
        by_task = {t.name: t for t in self.tasks}
        out = {}
        for task_name, classes in names.items():
            if task_name not in by_task:
                raise InputError(f"unseen classes are given for {task_name!r}, which is not a task of this run",
                                 f"use one of {', '.join(by_task)}")
            out[task_name] = [by_task[task_name].task.class_index(self.graph, c) for c in classes]
        return out

    def seen(self, task: TaskData) -> Tensor:
        """Bool per artwork: its label for ``task`` is known and not a held-out (zero-shot) class."""
        return self.visibility.seen(task)

    def trainable(self) -> Tensor:
        """Training artworks with at least one seen label (a loss term)."""
        train = self.split.train
        keep = torch.zeros(len(train), dtype=torch.bool)
        for t in self.tasks:
            keep |= self.seen(t)[train]
        return train[keep]

    # ------------------------------------------------------------------ message-passing graph
    def _build_graph(self) -> None:
        data = self.graph.data
        forward = {k: data[k].edge_index for k in data.edge_types if not k[1].startswith("rev_")}
        self.direct_keys, self.via_keys = self.visibility.direct_keys, self.visibility.via_keys
        forward = self.visibility.message_passing_edges(forward)  # what the split and zero-shot mode allow
        self.edges = {}
        for key, ei in forward.items():
            self.edges[key] = ei
            self.edges[reverse_edge_type(key)] = ei.flip(0)
        node_types = [t for t in self.graph.iris if self.graph.num_nodes(t) > 0]
        self.metadata = (node_types, list(self.edges))
        self.num_nodes = {t: self.graph.num_nodes(t) for t in node_types}
        class_types = {t.class_type for t in self.tasks}
        self.x_dict = {"artwork": self.features}
        for t in node_types:
            if t == "artwork":
                continue
            mode = self.class_inputs if t in class_types else self.node_inputs
            if mode == "constant":  # structure only: a class is what its neighbourhood makes it
                self.x_dict[t] = torch.ones(self.num_nodes[t], 1)
            elif mode == "text":
                if self.text_features is None or t not in self.text_features:
                    raise NotFoundError(f"no text features for {t} nodes in {self.graph.root}",
                                        f"compute them with `artkg features {self.graph.root}`, "
                                        "or use class/node inputs 'constant' or 'embedding'")
                self.x_dict[t] = self.text_features[t].float()
        self.in_dims = {t: int(x.shape[1]) for t, x in self.x_dict.items()}

    def masked_edges(self, targets: Optional[Tensor]) -> dict:
        """The message-passing edges without the label edges of ``targets`` (the label trick)."""
        if targets is None or len(targets) == 0:
            return self.edges
        visible = torch.ones(self.num_artworks, dtype=torch.bool)
        visible[targets] = False
        keys = self.direct_keys + self.via_keys
        label_edges = {k: self.edges[k] for k in keys} | {r: self.edges[r] for r in map(reverse_edge_type, keys)}
        label_edges = leakage_free_edges(label_edges, self.direct_keys, torch.nonzero(visible).flatten(),
                                         self.num_artworks)
        if self.via_keys:
            artists = self.artist_of[targets]
            shown = torch.ones(self.graph.num_nodes("artist"), dtype=torch.bool)
            shown[artists[artists >= 0]] = False
            label_edges = leakage_free_edges(label_edges, self.via_keys, torch.nonzero(shown).flatten(),
                                             self.graph.num_nodes("artist"))
        return {**self.edges, **label_edges}

    def label_dist(self, edges: dict, nodes: Tensor) -> dict[str, Tensor]:
        """Per task, the class histogram (normalised) of the labels ``nodes``' artists show in ``edges``."""
        out = {}
        n_artists = self.graph.num_nodes("artist")
        for t in self.tasks:
            if t.direct not in self.direct_keys or t.direct == CREATED_BY or n_artists == 0:
                continue
            counts = label_counts(edges[t.direct], self.artist_of, n_artists, self.visibility.readable_classes(t),
                                  t.num_classes)
            dist = counts / counts.sum(1, keepdim=True).clamp(min=1)
            mine = self.artist_of[nodes]
            out[t.name] = torch.where((mine >= 0)[:, None], dist[mine.clamp(min=0)], 0.0)
        return out

    def full_batch(self, nodes: Tensor, targets: Optional[Tensor] = None, graph_side: bool = True,
                   hide_classes: Optional[dict[str, Tensor]] = None) -> Batch:
        """``nodes`` on the whole graph; ``targets``' label edges hidden (training) or none (evaluation);
        ``hide_classes`` ({task: classes}) loses its label edges too (simulated unseen classes)."""
        if not graph_side:
            return Batch(nodes, self.features[nodes])
        edges = self.masked_edges(targets)
        if hide_classes:
            edges = self.visibility.without_classes(edges, hide_classes)
        return Batch(nodes, self.features[nodes], GraphInputs(self.x_dict, edges), None, {},
                     self.label_dist(edges, nodes))

    # ------------------------------------------------------------------ description
    def task_specs(self) -> dict[str, dict]:
        return {t.name: {"class_type": t.class_type, "num_classes": t.num_classes} for t in self.tasks}

    def summary(self) -> dict:
        names = {t.name: t.class_names for t in self.tasks}
        return {"artworks": self.num_artworks, "train": len(self.split.train), "val": len(self.split.val),
                "test": len(self.split.test), "trainable": len(self.trainable()), "unseen_mode": self.visibility.mode,
                "unseen_classes": {t: [names[t][c] for c in v] for t, v in self.split.unseen_classes.items()}}

