"""Turn N-Triples into artkg's processed graph: typed nodes, id maps, edge indices, literals.

One pass over the triples buckets them by predicate (only predicates the schema knows are kept);
node types then come from :data:`~artkg.kg.schema.TYPE_RULES` (strongest rule wins), node ids are
the IRIs of a type in sorted order (stable across rebuilds), and every influence edge keeps its
evidence — the source, the property, and any Wikibase statement references.
"""
from __future__ import annotations

import gc
import logging
import math
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyoxigraph as ox

from artkg.kg import schema as S

log = logging.getLogger("artkg")

_LABEL_LIKE = {S.Literal.label.value: "label", S.Literal.description.value: "description",
               S.Literal.image.value: "image"}
_EVIDENCE_PRED = {S.P + "P737", S.PS + "P737", S.PROV + "wasDerivedFrom"}


@dataclass
class ProcessedGraph:
    """Plain arrays and lists; :mod:`artkg.kg.graph` turns it into a PyG ``HeteroData``."""

    nodes: dict[str, list[str]]  # node type -> IRIs in index order
    labels: dict[str, list[str | None]]
    descriptions: dict[str, list[str | None]]
    edges: dict[tuple[str, str, str], np.ndarray]  # (2, E) int64
    node_attrs: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)
    images: list[str | None] = field(default_factory=list)  # artwork images (P18), by artwork index
    evidence: list[dict] = field(default_factory=list)  # aligned with the influence edge columns
    skipped: dict[str, int] = field(default_factory=dict)

    def counts(self) -> dict:
        return {
            "nodes": {t: len(v) for t, v in self.nodes.items()},
            "edges": {"__".join(k): int(v.shape[1]) for k, v in self.edges.items()},
        }


def _year(value: str) -> float:
    """The year of an xsd:dateTime/gYear/date lexical value (``-0500-…`` is 500 BCE)."""
    text = value.strip()
    sign = -1 if text.startswith("-") else 1
    digits = text.lstrip("+-").split("-", 1)[0].split("T", 1)[0]
    try:
        return float(sign * int(digits))
    except ValueError:
        return math.nan


def _lang_rank(lang: str | None, languages: tuple[str, ...]) -> int:
    if lang in languages:
        return languages.index(lang)
    return len(languages) if not lang else len(languages) + 1


def process_ntriples(path: str | Path, *, source: str = "unknown", languages: tuple[str, ...] = ("en",)) -> ProcessedGraph:
    """Read an N-Triples file and build the processed graph."""
    with open(path, "rb") as fh:
        return process_triples(ox.parse(fh, format=ox.RdfFormat.N_TRIPLES), source=source, languages=languages)


def process_triples(quads, *, source: str = "unknown", languages: tuple[str, ...] = ("en",)) -> ProcessedGraph:
    """Build the processed graph from an iterable of pyoxigraph triples or quads."""
    edge_preds = {p: i for i, p in enumerate(S.EDGES_BY_PREDICATE)}
    edge_subj: list[list[str]] = [[] for _ in edge_preds]
    edge_obj: list[list[str]] = [[] for _ in edge_preds]
    years = {p: {} for p in S.YEAR_ATTRS}
    texts: dict[str, dict[str, tuple[int, str]]] = {k: {} for k in _LABEL_LIKE.values()}
    evidence_triples: list[tuple[str, str, ox.NamedNode | ox.Literal | ox.BlankNode]] = []
    skipped: dict[str, int] = defaultdict(int)
    named, literal = ox.NamedNode, ox.Literal

    # Millions of small objects are created and kept: the cyclic GC would rescan them all the time.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        for quad in quads:
            pred = quad.predicate.value
            k = edge_preds.get(pred)
            if k is not None:
                obj = quad.object
                if type(obj) is named:
                    edge_subj[k].append(quad.subject.value)
                    edge_obj[k].append(obj.value)
                else:
                    skipped["edge with a literal object"] += 1
                continue
            kind = _LABEL_LIKE.get(pred)
            if kind is not None:
                obj = quad.object
                if kind == "image":
                    value = obj.value
                    rank = 0
                elif type(obj) is literal:
                    value, rank = obj.value, _lang_rank(obj.language, languages)
                else:
                    continue
                store = texts[kind]
                subj = quad.subject.value
                old = store.get(subj)
                if old is None or rank < old[0] or (rank == old[0] and value < old[1]):
                    store[subj] = (rank, value)
                continue
            table = years.get(pred)
            if table is not None:
                year = _year(quad.object.value)
                subj = quad.subject.value
                # Wikidata may hold several dates (uncertain birth years): keep the earliest.
                if not math.isnan(year) and (subj not in table or year < table[subj]):
                    table[subj] = year
                continue
            if pred in _EVIDENCE_PRED or pred.startswith(S.PR):
                s = quad.subject
                evidence_triples.append((s.value if type(s) is not ox.BlankNode else "_:" + s.value,
                                         pred, quad.object))
                continue
            skipped["triple with a predicate outside the schema"] += 1
    finally:
        if gc_was_enabled:
            gc.enable()

    preds = list(edge_preds)
    node_type = _assign_types(preds, edge_subj, edge_obj, years)
    nodes: dict[str, list[str]] = defaultdict(list)
    for iri, t in node_type.items():
        nodes[t].append(iri)
    index: dict[str, int] = {}
    for t in list(nodes):
        nodes[t].sort()
        index.update({iri: i for i, iri in enumerate(nodes[t])})

    edges = _edge_indices(preds, edge_subj, edge_obj, node_type, index, skipped)
    nodes = {t: nodes[t] for t in sorted(nodes, key=lambda t: S.TYPE_PRIORITY[S.NodeType(t)])}
    labels = {t: [texts["label"].get(i, (0, None))[1] for i in iris] for t, iris in nodes.items()}
    descriptions = {t: [texts["description"].get(i, (0, None))[1] for i in iris] for t, iris in nodes.items()}
    images = [texts["image"].get(i, (0, None))[1] for i in nodes.get("artwork", [])]

    node_attrs: dict[str, dict[str, np.ndarray]] = defaultdict(dict)
    for pred, (t, attr) in S.YEAR_ATTRS.items():
        if t in nodes:
            node_attrs[t][attr] = np.array([years[pred].get(i, math.nan) for i in nodes[t]], dtype=np.float32)

    influence_key = S.INFLUENCE.key
    evidence = _evidence(edges.get(influence_key), nodes.get("artist", []), evidence_triples, source)
    return ProcessedGraph(nodes=nodes, labels=labels, descriptions=descriptions, edges=edges,
                          node_attrs=dict(node_attrs), images=images, evidence=evidence,
                          skipped=dict(skipped))


def _assign_types(preds, edge_subj, edge_obj, years) -> dict[str, str]:
    """Each IRI gets the type of the strongest rule that applies to it (see schema.TYPE_RULES)."""
    where = {p: i for i, p in enumerate(preds)}
    node_type: dict[str, str] = {}
    for pred, pos, t in S.TYPE_RULES:
        if pred in where:
            k = where[pred]
            iris = edge_subj[k] if pos == "s" else edge_obj[k]
        elif pred in years and pos == "s":
            iris = years[pred]
        else:
            continue
        value = t.value
        for iri in set(iris).difference(node_type):
            node_type[iri] = value
    return node_type


def _edge_indices(preds, edge_subj, edge_obj, node_type, index, skipped) -> dict[tuple, np.ndarray]:
    edges: dict[tuple, np.ndarray] = {}
    for k, pred in enumerate(preds):
        if not edge_subj[k]:
            continue
        by_types = {(spec.src.value, spec.dst.value): spec.key for spec in S.EDGES_BY_PREDICATE[pred]}
        pairs: dict[tuple, list[tuple[int, int]]] = defaultdict(list)
        for s, o in zip(edge_subj[k], edge_obj[k]):
            key = by_types.get((node_type.get(s), node_type.get(o)))
            if key is None:
                skipped[f"{S.local_name(pred)} between {node_type.get(s)} and {node_type.get(o)}"] += 1
                continue
            pairs[key].append((index[s], index[o]))
        for key, pair_list in pairs.items():
            arr = np.unique(np.asarray(pair_list, dtype=np.int64), axis=0)  # sorted, de-duplicated
            edges[key] = np.ascontiguousarray(arr.T)
    return dict(sorted(edges.items()))


def _evidence(edge_index, artists, evidence_triples, source) -> list[dict]:
    """For each influence edge: its source, the property, and the statement references found."""
    if edge_index is None:
        return []
    statement_of: dict[str, str] = {}  # statement -> influencee
    target_of: dict[str, str] = {}  # statement -> influencer
    refs_of: dict[str, list[str]] = defaultdict(list)  # statement -> reference nodes
    ref_values: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for s, p, o in evidence_triples:
        ov = o.value if type(o) is not ox.BlankNode else "_:" + o.value
        if p == S.P + "P737":
            statement_of[ov] = s
        elif p == S.PS + "P737":
            target_of[s] = ov
        elif p == S.PROV + "wasDerivedFrom":
            refs_of[s].append(ov)
        else:
            ref_values[s][S.local_name(p)].append(ov)
    refs_by_pair: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for stmt, a in statement_of.items():
        b = target_of.get(stmt)
        if b is None:
            continue
        for ref in sorted(refs_of.get(stmt, [])):
            values = {prop: sorted(v) for prop, v in sorted(ref_values.get(ref, {}).items())}
            refs_by_pair[(a, b)].append(values)
    return [
        {"source": source, "property": "P737",
         "references": refs_by_pair.get((artists[a], artists[b]), [])}
        for a, b in edge_index.T.tolist()
    ]
