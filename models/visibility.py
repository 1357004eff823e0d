"""What each part of training may read: one decision, for a split and a zero-shot mode.

A training run reads labels in four places — the message-passing graph (label edges
``artwork → class`` and, where labels are inherited, ``artist → class``), the label-propagation
expert (class histograms of those edges), the zero-shot calibration prior, and the loss and early
stopping. :class:`Visibility` answers for all of them, so they cannot disagree.

Always: only training artworks' label edges are in the graph (the leakage rule; for inherited
labels, only the edges of artists with no validation or test work), and the loss and validation
read the labels of seen (not held-out) classes only.

Zero-shot modes, for the classes held out of training (``Split.unseen_classes``):

- ``strict`` (default): no label of a held-out class is read anywhere — their label edges (direct
  and artist → class, of training, validation and test artworks alike) are not in the graph, label
  propagation never counts them, and the calibration prior is the held-out classes' share of the
  classes (uniform), not of the training labels. A held-out class node keeps its other relations
  (part of a movement, related styles …) and its text features: what a real KG gives a class
  nobody has labelled yet.
- ``transductive``: the held-out classes only leave the loss; their training artworks keep their
  label edges in the graph, feed label propagation and the calibration prior (the training split's
  share of held-out labels). Report it separately — it is not zero-shot in the usual sense.
"""
from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor

from artkg.kg.errors import InputError
from artkg.kg.graph import reverse_edge_type
from artkg.models.tasks import Split, leakage_free_edges

ZERO_SHOT_MODES = ("strict", "transductive")


def check_unseen_mode(mode: str) -> str:
    if mode not in ZERO_SHOT_MODES:
        raise InputError(f"unknown zero-shot mode {mode!r}",
                         "use --unseen-mode strict (held-out labels never seen) or transductive")
    return mode


class Visibility:
    """Which label edges and which labels each part of training may read.

    ``tasks`` are :class:`~artkg.models.data.TaskData` (name, labels, class type, label edge types);
    ``artist_of`` is each artwork's first artist (``-1`` where none), ``num_artists`` the count.
    """

    def __init__(self, split: Split, tasks: list, mode: str, artist_of: Tensor, num_artists: int, graph):
        self.split, self.tasks, self.mode = split, list(tasks), check_unseen_mode(mode)
        self.artist_of, self.num_artists = artist_of, int(num_artists)
        self.num_artworks = len(artist_of)
        # Label edges: artwork → class, and artist → class where labels are inherited from the artist
        # (an artist's own genre is artist metadata, not a label, when artworks have their own).
        self.direct_keys = sorted({t.direct for t in tasks if t.direct is not None and t.direct[0] == "artwork"})
        self.via_keys = sorted({t.via_artist for t in tasks
                                if t.via_artist is not None and t.task.inherited(graph)})

    # ------------------------------------------------------------------ classes and labels
    def unseen(self, task) -> list[int]:
        """Classes of ``task`` held out of training (both modes)."""
        return list(self.split.unseen_classes.get(task.name, []))

    def hidden_classes(self, task) -> list[int]:
        """Classes of ``task`` whose labels nothing may read (strict: the held-out ones; else none)."""
        return self.unseen(task) if self.mode == "strict" else []

    def readable_classes(self, task) -> Tensor:
        """Bool per class: label propagation may count labels of this class."""
        ok = torch.ones(task.num_classes, dtype=torch.bool)
        ok[self.hidden_classes(task)] = False
        return ok

    def seen(self, task) -> Tensor:
        """Bool per artwork: its label for ``task`` is known and not of a held-out class — what the loss
        and early stopping may read (validation artworks of held-out classes are never scored)."""
        seen = task.labels >= 0
        unseen = self.unseen(task)
        if unseen:
            seen &= ~torch.isin(task.labels, torch.tensor(unseen))
        return seen

    def calibration_prior(self, task) -> tuple[float, str]:
        """The share of artworks the calibration expects in the held-out classes, and where it came from."""
        unseen = self.unseen(task)
        if not unseen:
            return 0.0, "none"
        if self.mode == "strict":
            return len(unseen) / task.num_classes, "uniform over classes"
        known = task.labels[self.split.train]
        known = known[known >= 0]
        share = float(torch.isin(known, torch.tensor(unseen)).float().mean()) if len(known) else 0.0
        return share, "training labels"

    # ------------------------------------------------------------------ the message-passing graph
    def _train_only_artists(self) -> Tensor:
        """Artists with training works and no validation or test work: their inherited labels may show."""
        keep = torch.zeros(self.num_artists, dtype=torch.bool)
        mine = self.artist_of[self.split.train]
        keep[mine[mine >= 0]] = True
        others = self.artist_of[torch.cat([self.split.val, self.split.test])]
        keep[others[others >= 0]] = False
        return torch.nonzero(keep).flatten()

    def message_passing_edges(self, forward: dict) -> dict:
        """The graph's forward edges minus every label edge training may not see (no reverse edges)."""
        out = leakage_free_edges(forward, self.direct_keys, self.split.train, self.num_artworks)
        out = leakage_free_edges(out, self.via_keys, self._train_only_artists(), self.num_artists)
        return self.without_hidden_classes(out)

    def without_hidden_classes(self, edges: dict) -> dict:
        """``edges`` without any artwork → class or artist → class edge (and reverse) to a hidden class —
        artist → class edges even where they are artist metadata rather than inherited labels (an
        artist's genre): they would name the class for the artist's works."""
        return self.without_classes(edges, {t.name: self.hidden_classes(t) for t in self.tasks})

    def without_classes(self, edges: dict, classes: dict[str, list[int] | Tensor]) -> dict:
        """``edges`` without the label edges (and reverse) to ``classes`` ({task: class indices})."""
        out = dict(edges)
        for t in self.tasks:
            hidden = classes.get(t.name)
            if hidden is None or len(hidden) == 0:
                continue
            drop = torch.zeros(t.num_classes, dtype=torch.bool)
            drop[hidden] = True
            keys = [t.direct] + ([t.via_artist] if t.class_type != "artist" else [])
            for key in filter(None, keys):
                for k, col in ((key, 1), (reverse_edge_type(key), 0)):
                    if k in out:
                        out[k] = out[k][:, ~drop[out[k][col]]]
        return out

    def describe(self) -> dict:
        """For ``metrics.json``: the mode and what the graph hides."""
        return {"mode": self.mode,
                "hidden_from_graph": {t.name: self.hidden_classes(t) for t in self.tasks if self.hidden_classes(t)}}


def label_counts(edge_index: Tensor, artist_of: Tensor, num_artists: int, readable: Optional[Tensor],
                 num_classes: int) -> Tensor:
    """Per artist, the count of each class among its works' label edges (unreadable classes count 0)."""
    src, dst = edge_index
    artists = artist_of[src]
    ok = artists >= 0
    if readable is not None:
        ok &= readable[dst]
    counts = torch.zeros(num_artists, num_classes)
    counts.index_put_((artists[ok], dst[ok]), torch.ones(int(ok.sum())), accumulate=True)
    return counts


__all__ = ["Visibility", "ZERO_SHOT_MODES", "check_unseen_mode", "label_counts"]
