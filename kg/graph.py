"""Load a graph directory as a PyG ``HeteroData`` with its id maps, labels and evidence."""
from __future__ import annotations

import difflib
import json
import re
import unicodedata
from functools import cached_property
from pathlib import Path

import numpy as np
import torch

from artkg.kg import schema as S
from artkg.kg.errors import InputError, NotFoundError
from artkg.kg.graphdir import FORMAT_VERSION, GraphDir


class KnowledgeGraph:
    """A loaded graph directory.

    ``data`` is the ``HeteroData`` (forward edges plus ``rev_*`` reverse edges), ``iris[t]`` and
    ``labels[t]`` give each node type's IRIs and labels in index order, ``evidence`` has one record
    per ``(artist, influenced_by, artist)`` edge.
    """

    def __init__(self, root: str | Path):
        self.dir = GraphDir(root)
        if not self.dir.root.is_dir():
            raise InputError(f"no graph directory at {self.dir.root}",
                             "build one first, e.g. `kgbuild synth --out world`")
        self.manifest = self.dir.manifest()
        if self.manifest.get("format_version") != FORMAT_VERSION:
            raise InputError(f"{root} was written by artkg {self.manifest.get('artkg_version')} in an "
                             f"incompatible format", "rebuild it with this version of kgbuild")
        from artkg.kg.integrity import check, rebuild_command

        check(self.dir.root, self.manifest)  # every file present, at the size the build wrote
        from safetensors.torch import load_file  # safetensors: no pickle involved

        def damaged(name: str, exc: Exception) -> InputError:
            return InputError(f"the graph directory {self.dir.root} is damaged: processed/{name} cannot be read "
                              f"({type(exc).__name__}: {str(exc).splitlines()[0][:120] if str(exc) else ''})",
                              f"rebuild it: `{rebuild_command(self.dir.root, self.manifest)}`")

        try:
            self._tensors = load_file(str(self.dir.processed / "tensors.safetensors"))
        except Exception as exc:  # safetensors raises its own SafetensorError (not importable by name)
            raise damaged("tensors.safetensors", exc) from None
        try:
            nodes = json.loads((self.dir.processed / "nodes.json").read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise damaged("nodes.json", exc) from None
        self.iris: dict[str, list[str]] = {t: v["iri"] for t, v in nodes.items()}
        self.labels: dict[str, list[str | None]] = {t: v["label"] for t, v in nodes.items()}
        self.descriptions: dict[str, list[str | None]] = {t: v["description"] for t, v in nodes.items()}
        # Wikipedia introductions of class nodes (kgbuild wikidata --wikipedia-lang), where there are any
        self.summaries: dict[str, list[str | None]] = {t: v["summary"] for t, v in nodes.items() if "summary" in v}
        self.images: list[str | None] = nodes.get("artwork", {}).get("image", [])
        self._label_maps: dict[str, dict[str, list[int]]] = {}  # built on the first lookup by label

    @property
    def root(self) -> Path:
        return self.dir.root

    @cached_property
    def influence(self):
        """The :class:`~artkg.kg.influence.InfluenceIndex` of this graph, built once on first use."""
        from artkg.kg.influence import InfluenceIndex

        return InfluenceIndex.from_graph(self)

    @cached_property
    def evidence(self) -> list[dict]:
        return json.loads((self.dir.processed / "evidence.json").read_text(encoding="utf-8"))

    def num_nodes(self, node_type: str) -> int:
        return len(self.iris.get(node_type, []))

    def edge_index(self, key: tuple[str, str, str]) -> torch.Tensor:
        """Forward edges of one type as a (2, E) long tensor (empty if the graph has none)."""
        return self._tensors.get(f"edge/{key[0]}/{key[1]}/{key[2]}", torch.empty(2, 0, dtype=torch.long))

    @property
    def edge_types(self) -> list[tuple[str, str, str]]:
        """The forward edge types the graph has (no reverse ones), without building ``data``."""
        return [tuple(name.split("/")[1:]) for name in self._tensors if name.startswith("edge/")]

    def edge_attrs(self, key: tuple[str, str, str]) -> dict[str, np.ndarray]:
        """Per-edge attributes of one edge type (interactions: ``time``, ``rating``, ``basket``)."""
        prefix = f"eattr/{key[0]}/{key[1]}/{key[2]}/"
        return {name[len(prefix):]: t.numpy() for name, t in self._tensors.items() if name.startswith(prefix)}

    @cached_property
    def interactions(self):
        """The users' purchases, likes and ratings as one time-ordered table (:mod:`artkg.kg.interactions`)."""
        from artkg.kg.interactions import Interactions

        return Interactions.from_graph(self)

    @cached_property
    def visual_links(self):
        """The visual links between artworks (kind, source) as one table (:mod:`artkg.kg.links`)."""
        from artkg.kg.links import VisualLinks

        return VisualLinks.from_graph(self)

    def node_attr(self, node_type: str, name: str) -> torch.Tensor | None:
        """A node attribute such as ``("artwork", "year")`` (NaN where unknown), or None if absent."""
        return self._tensors.get(f"node/{node_type}/{name}")

    @cached_property
    def data(self):
        """The graph as ``HeteroData`` with reverse edges; ``validate()`` passes."""
        from torch_geometric.data import HeteroData

        data = HeteroData()
        for t, iris in self.iris.items():
            data[t].num_nodes = len(iris)
        for name, tensor in self._tensors.items():
            kind, *parts = name.split("/")
            if kind == "edge":
                data[tuple(parts)].edge_index = tensor
            elif kind == "node":
                data[parts[0]][parts[1]] = tensor
            elif kind == "eattr":  # interaction edges: time, rating, basket per event
                data[tuple(parts[:3])][parts[3]] = tensor
        data = add_reverse_edges(data)
        data.validate(raise_on_error=True)
        return data

    # ------------------------------------------------------------ lookups
    @cached_property
    def _iri_index(self) -> dict[str, dict[str, int]]:
        return {t: {iri: i for i, iri in enumerate(iris)} for t, iris in self.iris.items()}

    def index_of(self, node_type: str, iri: str) -> int | None:
        return self._iri_index.get(node_type, {}).get(iri)

    def label_of(self, node_type: str, index: int) -> str:
        label = self.labels[node_type][index]
        return label if label is not None else S.local_name(self.iris[node_type][index])

    def resolve(self, node_type: str, query: str) -> int:
        """Index of a node given as an IRI, a QID/local name, a label — or a looser spelling of one.

        An id or an exact label wins. Otherwise a case- and accent-insensitive, partial or slightly
        misspelt label (:mod:`artkg.kg.search`) is accepted when it matches one node only; when it
        matches several, the error lists them with their ids.
        """
        query = query.strip()
        if node_type not in self.iris or not self.iris[node_type]:
            raise NotFoundError(f"the graph at {self.root} has no {node_type} nodes",
                                "build a graph that includes them")
        found = self.index_of(node_type, query.strip("<>"))
        if found is not None:
            return found
        by_local = self._by_local_name(node_type).get(query)
        if by_local is not None and len(by_local) == 1:
            return by_local[0]
        redirects = self.manifest.get("source", {}).get("redirects", {})  # a merged item's old QID
        alias = redirects.get(query.strip("<>")) or redirects.get(S.WD + query)
        if alias is not None and self.index_of(node_type, alias) is not None:
            return self.index_of(node_type, alias)
        by_label = self._by_label(node_type)
        hits = by_label.get(_norm(query), [])
        if len(hits) == 1:
            return hits[0]
        if by_local is not None and len(by_local) > 1:
            options = "; ".join(self.iris[node_type][i] for i in by_local[:8])
            raise NotFoundError(f"{len(by_local)} {node_type}s have the id {query!r}: {options}",
                                "pass the full IRI instead")
        if len(hits) > 1:
            options = "; ".join(f"{self.label_of(node_type, i)} = {S.local_name(self.iris[node_type][i])}"
                                for i in hits[:8])
            raise NotFoundError(f"{len(hits)} {node_type}s are labelled {query!r}: {options}",
                                "pass the id (IRI or QID) instead of the label")
        from artkg.kg.search import resolve_unambiguous

        found, matches = resolve_unambiguous(self, node_type, query)  # case, accents, parts, typos
        if found is not None:
            return found
        if matches:
            options = "; ".join(f"{self.label_of(node_type, m.index)} = {S.local_name(self.iris[node_type][m.index])}"
                                for m in matches[:6])
            more = f" (and {len(matches) - 6} more)" if len(matches) > 6 else ""
            raise NotFoundError(f"{len(matches)} {node_type}s match {query!r}: {options}{more}",
                                f"pass one of these ids, or list them with `artkg search {self.root} "
                                f"{json.dumps(query, ensure_ascii=False)} --type {node_type}`")
        close = difflib.get_close_matches(_norm(query), list(by_label), n=5, cutoff=0.6)
        if not close:  # also try a case-insensitive substring, useful for surnames
            needle = _norm(query).casefold()
            close = [k for k in by_label if needle and needle in k.casefold()][:5]
        suggestion = ", ".join(f"{self.label_of(node_type, by_label[c][0])!r} "
                               f"({S.local_name(self.iris[node_type][by_label[c][0]])})" for c in close)
        if not close:  # a mistyped id (W0171 for W01717): the closest ids
            wanted = query.strip("<>").rsplit("/", 1)[-1]
            suggestion = ", ".join(difflib.get_close_matches(wanted, list(self._by_local_name(node_type)), n=5,
                                                             cutoff=0.6))
        raise NotFoundError(f"no {node_type} {query!r} in {self.root}",
                            f"did you mean {suggestion}?" if suggestion else
                            f"give an id (IRI, QID) or a label; `artkg search {self.root} TEXT` finds them")

    def _by_label(self, node_type: str) -> dict[str, list[int]]:
        if node_type not in self._label_maps:
            table: dict[str, list[int]] = {}
            for i, label in enumerate(self.labels[node_type]):
                if label:
                    table.setdefault(_norm(label), []).append(i)
            self._label_maps[node_type] = table
        return self._label_maps[node_type]

    def _by_local_name(self, node_type: str) -> dict[str, list[int]]:
        key = "local:" + node_type
        if key not in self._label_maps:
            table: dict[str, list[int]] = {}
            for i, iri in enumerate(self.iris[node_type]):
                table.setdefault(S.local_name(iri), []).append(i)
            self._label_maps[key] = table
        return self._label_maps[key]


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", unicodedata.normalize("NFC", text)).strip()


def reverse_edge_type(edge_type: tuple[str, str, str]) -> tuple[str, str, str]:
    """``(src, rel, dst)`` → ``(dst, rev_rel, src)``: the name :func:`add_reverse_edges` gives the reverse."""
    src, rel, dst = edge_type
    return (dst, f"rev_{rel}", src)


def add_reverse_edges(data):
    """Add a ``rev_<rel>`` edge type for every edge type. ``merge=False`` matters: with the
    default, same-type relations such as ``influenced_by`` would be symmetrised in place and
    the graph would forget who influenced whom."""
    from torch_geometric.transforms import ToUndirected

    return ToUndirected(merge=False)(data)  # transforms work on a (shallow) copy


def load_graph(root: str | Path) -> KnowledgeGraph:
    """Load a graph directory (see :mod:`artkg.kg.graphdir`)."""
    return KnowledgeGraph(root)
