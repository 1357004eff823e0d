"""Classification tasks on artworks (style, genre, movement, artist …), splits and the leakage rule.

A task's classes are the nodes of one type. An artwork's label is the class it links to directly
(``(artwork, style, style)``), or else through its creator (``(artist, movement, movement)``),
taking the lowest class index when there are several so labels are deterministic.

Leakage rule: edges that state a non-training artwork's label are removed from the graph the GNN
passes messages over (:func:`leakage_free_edges`); the class nodes stay, connected through the
training artworks. Which label edges a run may see — the leakage rule plus the zero-shot mode — is
decided by :class:`artkg.models.visibility.Visibility`.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from artkg.kg.errors import InputError
from artkg.kg.graph import reverse_edge_type

CREATED_BY = ("artwork", "created_by", "artist")


def artwork_creators(graph) -> np.ndarray:
    """The first creator (lowest artist index) of every artwork, ``-1`` where none is known."""
    creator = np.full(graph.num_nodes("artwork"), -1, dtype=np.int64)
    src, dst = graph.edge_index(CREATED_BY).numpy()
    order = np.lexsort((-dst, src))  # assigning in this order leaves the lowest artist index last
    creator[src[order]] = dst[order]
    return creator


@dataclass(frozen=True)
class Task:
    """A classification target: the node type whose nodes are the classes."""

    name: str
    class_type: str

    def label_edge(self, graph) -> tuple[tuple[str, str, str] | None, tuple[str, str, str] | None]:
        """The direct artwork→class edge type and the artist→class one, where the graph has them."""
        direct = via_artist = None
        for key in sorted(k for k in graph.edge_types if k[2] == self.class_type):
            if key[0] == "artwork" and direct is None:
                direct = key
            elif key[0] == "artist" and key[1] != "created_by" and via_artist is None:
                via_artist = key
        if self.class_type == "artist":
            direct = CREATED_BY
        return direct, via_artist

    def labels(self, graph) -> torch.Tensor:
        """Label per artwork (``-1`` where unknown)."""
        n = graph.num_nodes("artwork")
        labels = np.full(n, -1, dtype=np.int64)
        direct, via_artist = self.label_edge(graph)
        if direct is None and via_artist is None:
            raise InputError(f"the graph has no edges from artworks or artists to {self.class_type} nodes",
                             f"pick a task the graph supports: {', '.join(available_tasks(graph)) or 'none'}")
        if direct is not None:
            _first_class(graph.edge_index(direct).numpy(), labels)
        if via_artist is not None and (labels < 0).any():
            per_artist = np.full(graph.num_nodes("artist"), -1, dtype=np.int64)
            _first_class(graph.edge_index(via_artist).numpy(), per_artist)
            src, dst = graph.edge_index(CREATED_BY).numpy()
            inherited = np.full(n, -1, dtype=np.int64)
            inherited[src] = per_artist[dst]
            labels = np.where(labels < 0, inherited, labels)
        return torch.from_numpy(labels)

    def num_classes(self, graph) -> int:
        return graph.num_nodes(self.class_type)

    def inherited(self, graph) -> bool:
        """Whether some artworks get their label only through their artist (``artist → movement``)."""
        direct, via_artist = self.label_edge(graph)
        if via_artist is None:
            return False
        if direct is None:
            return True
        has_direct = torch.zeros(graph.num_nodes("artwork"), dtype=torch.bool)
        has_direct[graph.edge_index(direct)[0]] = True
        return not bool(has_direct.all())

    def class_index(self, graph, name: str) -> int:
        """A class given by IRI, local id or exact label (a typo gets the closest labels suggested)."""
        return graph.resolve(self.class_type, name)

    def class_names(self, graph) -> list[str]:
        return [graph.label_of(self.class_type, i) for i in range(self.num_classes(graph))]


def _first_class(edge_index: np.ndarray, labels: np.ndarray) -> None:
    """labels[src] = smallest dst among src's edges (edge_index is sorted by (src, dst))."""
    if edge_index.size == 0:
        return
    src, dst = edge_index
    first = np.ones(len(src), dtype=bool)
    first[1:] = src[1:] != src[:-1]
    labels[src[first]] = dst[first]


def available_tasks(graph) -> list[str]:
    """Class node types an artwork can be labelled with in this graph."""
    targets = {k[2] for k in graph.edge_types if k[0] in ("artwork", "artist") and k[2] not in ("artwork",)}
    return sorted(t for t in targets if graph.num_nodes(t) > 1)


def make_task(graph, name: str) -> Task:
    tasks = available_tasks(graph)
    if name not in tasks:
        raise InputError(f"unknown task {name!r} for the graph at {graph.root}",
                         f"choose one of: {', '.join(tasks)}")
    return Task(name=name, class_type=name)


@dataclass
class Split:
    """Artwork indices per part, and the classes hidden from training (zero-shot)."""

    train: torch.Tensor
    val: torch.Tensor
    test: torch.Tensor
    unseen_classes: dict[str, list[int]] = field(default_factory=dict)

    def to_json(self) -> dict:
        return {"train": self.train.tolist(), "val": self.val.tolist(), "test": self.test.tolist(),
                "unseen_classes": self.unseen_classes}

    @classmethod
    def from_json(cls, d: dict) -> "Split":
        as_long = lambda v: torch.tensor(v, dtype=torch.long)  # noqa: E731
        return cls(as_long(d["train"]), as_long(d["val"]), as_long(d["test"]),
                   {k: list(v) for k, v in d.get("unseen_classes", {}).items()})


def make_split(labels: dict[str, torch.Tensor], num_classes: dict[str, int], seed: int = 0,
               fractions: tuple[float, float, float] = (0.7, 0.1, 0.2), unseen_fraction: float = 0.0,
               usable: torch.Tensor | None = None, groups: torch.Tensor | None = None,
               unseen_classes: dict[str, list[int]] | None = None) -> Split:
    """Stratified random split (by the first task's label) of the artworks labelled for every task.

    ``usable`` (bool per artwork) restricts the split, e.g. to artworks with image features. With
    ``groups`` (one id per artwork, e.g. its artist) whole groups go to one part instead: needed
    when labels are inherited from the artist, or a test artwork's artist would give its label away.
    With ``unseen_fraction`` > 0, that share of each task's classes (at least one) is hidden from
    training: their artworks never contribute to the loss, but their nodes stay in the graph (what
    else of theirs training sees depends on the zero-shot mode, :mod:`artkg.models.visibility`).
    ``unseen_classes`` names the hidden classes per task instead (class indices).
    """
    if abs(sum(fractions) - 1) > 1e-6 or min(fractions) < 0:
        raise InputError(f"split fractions {list(fractions)} must be non-negative and sum to 1",
                         "e.g. [0.7, 0.1, 0.2]")
    if not 0 <= unseen_fraction < 1:
        raise InputError(f"unseen fraction {unseen_fraction} is outside [0, 1)", "e.g. 0.25")
    rng = np.random.default_rng(seed)
    tasks = list(labels)
    known = np.ones(len(labels[tasks[0]]), dtype=bool) if usable is None else usable.numpy().astype(bool).copy()
    for t in tasks:
        known &= labels[t].numpy() >= 0
    first = labels[tasks[0]].numpy()
    train, val, test = [], [], []
    if groups is not None:
        _group_split(groups.numpy(), known, fractions, rng, train, val, test)
    else:
        for c in np.unique(first[known]):
            members = np.flatnonzero(known & (first == c))
            rng.shuffle(members)
            n_train = int(round(fractions[0] * len(members)))
            n_val = int(round(fractions[1] * len(members)))
            train += members[:n_train].tolist()
            val += members[n_train:n_train + n_val].tolist()
            test += members[n_train + n_val:].tolist()
    unseen: dict[str, list[int]] = {t: sorted(int(c) for c in v) for t, v in (unseen_classes or {}).items() if v}
    if unseen_fraction > 0 and not unseen:
        for t in tasks:
            present = np.unique(labels[t].numpy()[known])
            k = max(1, int(round(unseen_fraction * len(present))))
            unseen[t] = sorted(rng.choice(present, size=k, replace=False).tolist())
    as_long = lambda v: torch.tensor(sorted(v), dtype=torch.long)  # noqa: E731
    return Split(as_long(train), as_long(val), as_long(test), unseen)


def _group_split(groups: np.ndarray, known: np.ndarray, fractions, rng, train: list, val: list, test: list) -> None:
    """Shuffle the groups, then fill train, val and test up to their share of the artworks."""
    ids = np.unique(groups[known])
    rng.shuffle(ids)
    total, done = int(known.sum()), 0
    members = {g: np.flatnonzero(known & (groups == g)).tolist() for g in ids}
    for g in ids:
        part = train if done < fractions[0] * total else val if done < (fractions[0] + fractions[1]) * total else test
        part += members[g]
        done += len(members[g])


def leakage_free_edges(edge_index_dict: dict, label_edges: list[tuple[str, str, str]], keep: torch.Tensor,
                       num_nodes: int) -> dict:
    """Drop the ``label_edges`` whose labelled node (artwork or artist) is not in ``keep``.

    ``keep`` holds the indices of the nodes whose labels training may see: the training artworks
    for ``(artwork, style, style)``, or the training artworks' artists for an inherited
    ``(artist, movement, movement)``. Reverse edges (``rev_style``) are filtered the same way.
    """
    allowed = torch.zeros(num_nodes, dtype=torch.bool)
    allowed[keep] = True
    out = dict(edge_index_dict)
    for src, rel, dst in label_edges:
        if (src, rel, dst) in out:
            ei = out[(src, rel, dst)]
            out[(src, rel, dst)] = ei[:, allowed[ei[0]]]
        reverse = reverse_edge_type((src, rel, dst))
        if reverse in out:
            ei = out[reverse]
            out[reverse] = ei[:, allowed[ei[1]]]
    return out
