"""Turn N-Triples into artkg's processed graph: typed nodes, id maps, edge indices, literals.

One pass over the triples buckets them by predicate (only predicates the schema knows are kept);
node types then come from :data:`~artkg.kg.schema.TYPE_RULES` (strongest rule wins), node ids are
the IRIs of a type in sorted order (stable across rebuilds), and every influence edge keeps its
evidence — the source, the property, and any Wikibase statement references.

How it is fast (see ``bench/README.md``): the triples become *columns* — per triple, the integer
code of its subject, predicate and object in three tables of distinct terms — and everything after
that (typing, id maps, edge indices, label choice, years) is numpy work on those codes, with
Python only touching each *distinct* term once. Canonical N-Triples (one ``<s> <p> <o> .`` per
line, as ``graph.nt`` is written) are read into columns directly by
:func:`artkg.kg.ntriples_reader.read_canonical`, which splits lines at C speed and validates each distinct term exactly as pyoxigraph would
(IRIs with :class:`pyoxigraph.NamedNode`, literal suffixes by a round trip through pyoxigraph);
every line it cannot read trivially (escapes, comments, other whitespace …) is parsed by
pyoxigraph itself, and any file it cannot read at all goes through pyoxigraph entirely. The
result is the same as the original one-triple-at-a-time loop, field for field and in the same
order (``tests/test_process.py`` compares both).
"""
from __future__ import annotations

import logging
import math
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyoxigraph as ox

from artkg.kg import schema as S
from artkg.kg.columns import BLANK, IRI, LITERAL, OTHER, Columns, columns_from_quads, gc_paused, lazy_pandas
from artkg.kg.ntriples_reader import read_canonical

log = logging.getLogger("artkg")

_LABEL_LIKE = {S.Literal.label.value: "label", S.Literal.description.value: "description",
               S.Literal.image.value: "image"}
_EVIDENCE_PRED = {S.P + "P737", S.PS + "P737", S.PROV + "wasDerivedFrom", S.WIKIBASE + "rank"}
_TYPE_PRED = {S.INSTANCE_OF, S.SUBCLASS_OF}
_META_PRED = {S.OWL_SAME_AS, S.UNKNOWN_VALUE, S.SEVERAL_VALUES}
# Weak typing evidence: not used for an entity whose classes (P31) say what it is, nor — once the
# source says who is human — to make an untyped P737 target an artist.
_WEAK_RULES = {(S.WDT + "P737", "s"), (S.WDT + "P737", "o"), (S.WDT + "P135", "s"), (S.WDT + "P136", "s")}


def _is_evidence_pred(pred: str) -> bool:
    """Statement, rank, qualifier (pq:) and reference (pr:) predicates; never full value nodes (prv:/pqv:)."""
    if pred in _EVIDENCE_PRED:
        return True
    if pred.startswith(S.PR):
        return not pred.startswith(S.PRV)
    return pred.startswith(S.PQ) and not pred.startswith(S.PQ + "value/")


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
    """The historical year of an xsd:dateTime/gYear/date lexical value, BCE negative.

    Wikidata's RDF follows XSD 1.1, which has a year 0: ``0000`` is 1 BCE and ``-0469`` is
    470 BCE, so a year ≤ 0 is one less in the historical count (no year 0): -1, -470.
    """
    text = value.strip()
    sign = -1 if text.startswith("-") else 1
    digits = text.lstrip("+-").split("-", 1)[0].split("T", 1)[0]
    try:
        year = sign * int(digits)
    except ValueError:
        return math.nan
    return float(year - 1 if year <= 0 else year)


def year_interval(year: float, precision: float) -> tuple[float, float]:
    """The years a Wikidata date of ``precision`` covers (9 year, 8 decade, 7 century, 6 millennium).

    ``1601`` at century precision is the 17th century, 1601–1700; at decade precision ``1650``
    is 1650–1659. Unknown or finer precision: the year itself.
    """
    if math.isnan(year) or math.isnan(precision) or precision >= 9:
        return (year, year)
    if precision == 8:
        start = math.floor(year / 10) * 10
        return (float(start), float(start + 9))
    span = 10 ** (9 - int(precision))  # 7 → 100, 6 → 1000 …
    if year > 0:
        k = math.ceil(year / span)
        return (float((k - 1) * span + 1), float(k * span))
    k = math.ceil(-year / span)
    return (float(-k * span), float(-((k - 1) * span + 1)))


def _lang_rank(lang: str | None, languages: tuple[str, ...]) -> int:
    """Requested languages first, then Wikidata's language-independent ``mul``, untagged, any other."""
    if lang in languages:
        return languages.index(lang)
    if lang == "mul":
        return len(languages)
    return len(languages) + 1 if not lang else len(languages) + 2


def process_ntriples(path: str | Path, *, source: str = "unknown", languages: tuple[str, ...] = ("en",)) -> ProcessedGraph:
    """Read an N-Triples file and build the processed graph."""
    with gc_paused():
        columns = read_canonical(path)
        if columns is None:  # not canonical N-Triples (or not valid): pyoxigraph reads all of it
            with open(path, "rb") as fh:
                columns = columns_from_quads(ox.parse(fh, format=ox.RdfFormat.N_TRIPLES))
        return _build(columns, source=source, languages=languages)


def process_triples(quads, *, source: str = "unknown", languages: tuple[str, ...] = ("en",)) -> ProcessedGraph:
    """Build the processed graph from an iterable of pyoxigraph triples or quads."""
    with gc_paused():
        return _build(columns_from_quads(quads), source=source, languages=languages)


# ---------------------------------------------------------------------------------- building
def _build(c: Columns, *, source: str, languages: tuple[str, ...]) -> ProcessedGraph:
    edge_preds = list(S.EDGES_BY_PREDICATE)  # edge predicates, in schema order
    n_edge = len(edge_preds)
    year_preds = list(S.YEAR_ATTRS)
    cat_text = {"label": n_edge, "description": n_edge + 1, "image": n_edge + 2}
    cat_year = {p: n_edge + 3 + j for j, p in enumerate(year_preds)}
    cat_evidence = n_edge + 3 + len(year_preds)
    cat_type, cat_meta = cat_evidence + 1, cat_evidence + 2
    cat_other = cat_evidence + 3

    # The category of each triple, from its predicate (same tests, same order as the original loop).
    edge_k = {p: k for k, p in enumerate(edge_preds)}
    pred_cat = np.empty(len(c.preds), dtype=np.int16)
    for u, pred in enumerate(c.preds):
        if pred is None:  # an unreadable token of the canonical reader: no triple refers to it
            pred_cat[u] = cat_other
        elif pred in edge_k:
            pred_cat[u] = edge_k[pred]
        elif pred in _LABEL_LIKE:
            pred_cat[u] = cat_text[_LABEL_LIKE[pred]]
        elif pred in cat_year:
            pred_cat[u] = cat_year[pred]
        elif _is_evidence_pred(pred):
            pred_cat[u] = cat_evidence
        elif pred in _TYPE_PRED:
            pred_cat[u] = cat_type
        elif pred in _META_PRED or pred.startswith(S.DATE_PRECISION):
            pred_cat[u] = cat_meta
        else:
            pred_cat[u] = cat_other
    row_cat = pred_cat[c.p_code]
    by_cat = np.argsort(row_cat, kind="stable")  # rows of each category, in input order
    bounds = np.zeros(cat_other + 2, dtype=np.intp)
    np.cumsum(np.bincount(row_cat, minlength=cat_other + 1), out=bounds[1:])

    def rows(cat: int) -> np.ndarray:
        return by_cat[bounds[cat]:bounds[cat + 1]]

    obj_kind_u, subj_kind_u = c.obj_kind, c.subj_kind
    row_okind = obj_kind_u[c.o_code]

    # Every subject value and every IRI object gets a global entity id (by value, as the
    # original dicts keyed by ``.value``); a subject without a value fails where it is read.
    # (Values the canonical reader could not read are None: no triple refers to them.)
    iri_objects = np.flatnonzero(obj_kind_u == IRI)
    entity_values = np.empty(len(c.subj_value) + len(iri_objects), dtype=object)
    entity_values[:len(c.subj_value)] = c.subj_value
    entity_values[len(c.subj_value):] = [c.obj_value[u] for u in iri_objects.tolist()]
    gids, values = lazy_pandas().factorize(entity_values)
    del entity_values
    s_gid_u = gids[:len(c.subj_value)].astype(np.intp, copy=False)
    o_gid_u = np.full(len(c.obj_value), -1, dtype=np.intp)
    o_gid_u[iri_objects] = gids[len(c.subj_value):]
    values = values.tolist()
    n_ent = len(values)

    def check_subjects(r: np.ndarray) -> None:
        if len(subj_kind_u) and (subj_kind_u == OTHER).any():
            bad = subj_kind_u[c.s_code[r]] == OTHER
            if bad.any():
                _ = c.subj_value[c.s_code[r][bad][0]].value  # AttributeError, as before

    def check_objects(r: np.ndarray) -> None:
        bad = row_okind[r] == OTHER
        if bad.any():
            _ = c.obj_value[c.o_code[r][bad][0]].value  # AttributeError, as before

    # Triples the loop counted as skipped, in the order it first met them.
    skipped: dict[str, int] = defaultdict(int)
    firsts = []
    edge_rows = by_cat[:bounds[n_edge]]
    literal_edges = edge_rows[row_okind[edge_rows] != IRI]
    if len(literal_edges):
        firsts.append((int(literal_edges.min()), "edge with a literal object", len(literal_edges)))
    other_rows = rows(cat_other)
    if len(other_rows):
        firsts.append((int(other_rows[0]), "triple with a predicate outside the schema", len(other_rows)))
    for _, key, count in sorted(firsts):
        skipped[key] += count

    # Edge triples with an IRI object, per edge predicate.
    named_rows = []
    for k in range(n_edge):
        r = rows(k)
        r = r[row_okind[r] == IRI]
        check_subjects(r)
        named_rows.append(r)

    # Years: the earliest parsable year per subject and predicate.
    years: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for pred in year_preds:
        r = rows(cat_year[pred])
        check_subjects(r)
        check_objects(r)
        inverse, codes = lazy_pandas().factorize(c.o_code[r])
        per_code = np.array([_year(c.obj_value[u]) for u in codes.tolist()], dtype=np.float64)
        year = per_code[inverse]
        subj = s_gid_u[c.s_code[r]]
        ok = ~np.isnan(year)
        subj, year = subj[ok], year[ok]
        order = np.lexsort((year, subj))
        subj, year = subj[order], year[order]
        first = np.ones(len(subj), dtype=bool)
        first[1:] = subj[1:] != subj[:-1]
        years[pred] = (subj[first], year[first])

    # Node types: first the entity's classes (P31, through P279), then the first predicate rule
    # (strongest) that applies to it.
    type_names = [t.value for t in S.NodeType]
    type_index = {name: i for i, name in enumerate(type_names)}
    node_type = np.full(n_ent, -1, dtype=np.int16)
    classed, humans_declared = _class_types(c, rows(cat_type), s_gid_u, row_okind, node_type,
                                            type_index, n_ent)
    for pred, pos, t in S.TYPE_RULES:
        if (pred, pos) in _WEAK_RULES and (classed.any() or humans_declared):
            weak = (pred, pos)
        else:
            weak = None
        if pred in edge_k:
            r = named_rows[edge_k[pred]]
            ids = s_gid_u[c.s_code[r]] if pos == "s" else o_gid_u[c.o_code[r]]
        elif pred in years and pos == "s":
            ids = years[pred][0]
        else:
            continue
        ids = ids[node_type[ids] < 0]
        if weak is not None:
            ids = ids[~classed[ids]]  # its classes said what it is, and it is none of ours
            if humans_declared and weak == (S.WDT + "P737", "o"):
                ids = ids[:0]  # the source says who is human: an untyped P737 target is no artist
        node_type[ids] = type_index[t.value]

    # Id maps: the IRIs of a type in sorted order.
    present = sorted(np.flatnonzero(np.bincount(node_type + 1, minlength=1)[1:]).tolist(),
                     key=lambda t: S.TYPE_PRIORITY[S.NodeType(type_names[t])])
    index = np.full(n_ent, -1, dtype=np.int64)
    node_gids: dict[str, np.ndarray] = {}
    nodes: dict[str, list[str]] = {}
    for t in present:
        gids = sorted(np.flatnonzero(node_type == t).tolist(), key=values.__getitem__)
        gids_arr = np.array(gids, dtype=np.intp)
        index[gids_arr] = np.arange(len(gids), dtype=np.int64)
        name = type_names[t]
        node_gids[name] = gids_arr
        nodes[name] = [values[g] for g in gids]

    # Edge indices: sorted, de-duplicated; mismatched types counted in order of appearance.
    n_types = len(type_names)
    edges: dict[tuple, np.ndarray] = {}
    for k, pred in enumerate(edge_preds):
        r = named_rows[k]
        if not len(r):
            continue
        specs = S.EDGES_BY_PREDICATE[pred]
        spec_of = np.full((n_types + 1) ** 2, -1, dtype=np.int16)
        for j, spec in enumerate(specs):
            spec_of[type_index[spec.src.value] * (n_types + 1) + type_index[spec.dst.value]] = j
        s_g, o_g = s_gid_u[c.s_code[r]], o_gid_u[c.o_code[r]]
        ts, to = node_type[s_g].astype(np.intp), node_type[o_g].astype(np.intp)
        ts[ts < 0] = n_types  # "None"
        to[to < 0] = n_types
        combo = ts * (n_types + 1) + to
        which = spec_of[combo]
        bad = which < 0
        if bad.any():
            kinds, first_seen = lazy_pandas().factorize(combo[bad])  # in order of first appearance
            counts = np.bincount(kinds)
            names = type_names + [None]
            for j, kind in enumerate(first_seen.tolist()):
                src, dst = divmod(kind, n_types + 1)
                skipped[f"{S.local_name(pred)} between {names[src]} and {names[dst]}"] += int(counts[j])
        for j, spec in enumerate(specs):
            m = which == j
            if not m.any():
                continue
            a, b = index[s_g[m]], index[o_g[m]]
            n_dst = len(nodes[spec.dst.value])
            code = np.sort(a * n_dst + b)  # sorted by (a, b) …
            if len(code) > 1:
                code = code[np.concatenate([[True], code[1:] != code[:-1]])]  # … de-duplicated
            edges[spec.key] = np.ascontiguousarray(np.stack([code // n_dst, code % n_dst]))
    edges = dict(sorted(edges.items()))

    # Labels, descriptions (literals only; by language preference, then value) and images.
    rank_of = {}
    text_best = {}
    for kind, cat in cat_text.items():
        r = rows(cat)
        if kind == "image":
            check_subjects(r)
            check_objects(r)
            rank = np.zeros(len(r), dtype=np.int64)
        else:
            r = r[row_okind[r] == LITERAL]
            check_subjects(r)
            codes = c.o_code[r]
            ranks_u = np.zeros(len(c.obj_value), dtype=np.int64)
            for u in lazy_pandas().unique(codes).tolist():
                lang = c.obj_lang[u]
                if lang not in rank_of:
                    rank_of[lang] = _lang_rank(lang, languages)
                ranks_u[u] = rank_of[lang]
            rank = ranks_u[codes]
        text_best[kind] = _best_text(s_gid_u[c.s_code[r]], c.o_code[r], rank, c.obj_value, n_ent)

    def texts(kind: str, gids: np.ndarray) -> list:
        obj_value = c.obj_value
        return [obj_value[u] if u >= 0 else None for u in text_best[kind][gids].tolist()]

    labels = {t: texts("label", g) for t, g in node_gids.items()}
    descriptions = {t: texts("description", g) for t, g in node_gids.items()}
    images = texts("image", node_gids["artwork"]) if "artwork" in node_gids else []

    node_attrs: dict[str, dict[str, np.ndarray]] = defaultdict(dict)
    for pred, (t, attr) in S.YEAR_ATTRS.items():
        if t in nodes:
            per_entity = np.full(n_ent, np.nan, dtype=np.float64)
            subj, year = years[pred]
            per_entity[subj] = year
            node_attrs[t][attr] = per_entity[node_gids[t]].astype(np.float32)
    _meta_attrs(c, rows(cat_meta), s_gid_u, n_ent, nodes, node_gids, node_attrs, skipped)

    # Evidence triples (statements and references), in input order.
    r = rows(cat_evidence)
    check_subjects(r)
    influence = edges.get(S.INFLUENCE.key)
    if influence is not None:  # (the objects' values are only read when there are edges)
        check_objects(r)
    subj_value, obj_value = c.subj_value, c.obj_value
    s_blank, o_blank = (subj_kind_u == BLANK).tolist(), (obj_kind_u == BLANK).tolist()
    evidence_triples = [
        ("_:" + subj_value[s] if s_blank[s] else subj_value[s], c.preds[p],
         "_:" + obj_value[o] if o_blank[o] else obj_value[o])
        for s, p, o in zip(c.s_code[r].tolist(), c.p_code[r].tolist(), c.o_code[r].tolist())
    ]
    gid_of: dict[str, int] = {}

    def label_of(value: str) -> str | None:  # a qualifier value's label ("presumably")
        if not gid_of:
            gid_of.update((v, g) for g, v in enumerate(values))
        g = gid_of.get(value)
        u = text_best["label"][g] if g is not None else -1
        return c.obj_value[u] if u >= 0 else None

    evidence = _evidence(influence, nodes.get("artist", []), evidence_triples, source, label_of)
    return ProcessedGraph(nodes=nodes, labels=labels, descriptions=descriptions, edges=edges,
                          node_attrs=dict(node_attrs), images=images, evidence=evidence,
                          skipped=dict(skipped))


def _meta_attrs(c: Columns, r: np.ndarray, s_gid_u, n_ent: int, nodes, node_gids, node_attrs, skipped) -> None:
    """Date precisions, recorded unknown values and "several values, one kept" notes from the crawl.

    ``<e> akg:timePrecision/P569 9`` → ``artist.birth_precision``; ``<e> akg:unknownValue wdt:P570``
    → ``artist.death_unknown`` = 1; ``<e> akg:severalValues wdt:P569`` is counted in ``skipped``.
    """
    if not len(r):
        return
    attr_values: dict[tuple[str, str], dict[int, float]] = defaultdict(dict)
    several: dict[str, int] = defaultdict(int)
    for s_code, p_code, o_code in zip(c.s_code[r].tolist(), c.p_code[r].tolist(), c.o_code[r].tolist()):
        pred, obj, gid = c.preds[p_code], c.obj_value[o_code], int(s_gid_u[s_code])
        if pred.startswith(S.DATE_PRECISION):
            year_attr = S.YEAR_ATTRS.get(S.WDT + pred[len(S.DATE_PRECISION):])
            try:
                precision = float(int(obj))
            except (TypeError, ValueError):
                continue
            if year_attr is not None:
                t, attr = year_attr
                attr_values[(t, attr.removesuffix("year").removesuffix("_") + "_precision"
                             if attr != "year" else "year_precision")][gid] = precision
        elif pred == S.UNKNOWN_VALUE and obj in S.UNKNOWN_ATTRS:
            attr_values[S.UNKNOWN_ATTRS[obj]][gid] = 1.0
        elif pred == S.SEVERAL_VALUES:
            several[obj] += 1
    for (t, attr), by_gid in attr_values.items():
        if t not in nodes:
            continue
        fill = np.nan if attr.endswith("_precision") else 0.0
        per_entity = np.full(n_ent, fill, dtype=np.float64)
        per_entity[list(by_gid)] = list(by_gid.values())
        node_attrs[t][attr] = per_entity[node_gids[t]].astype(np.float32)
    for pred, n in sorted(several.items()):
        skipped[f"{S.local_name(pred)} with several best-rank values (earliest kept)"] += n


def _class_types(c: Columns, r: np.ndarray, s_gid_u, row_okind, node_type, type_index,
                 n_ent: int) -> tuple[np.ndarray, bool]:
    """Type entities by their P31 classes (a class maps through P279 chains present in the data).

    Sets ``node_type`` for entities with a known class (the highest :data:`TYPE_PRIORITY` wins);
    returns the mask of entities that have P31 classes at all, and whether any entity is typed
    an artist (human) by class.
    """
    classed = np.zeros(n_ent, dtype=bool)
    r = r[row_okind[r] == IRI]
    if not len(r):
        return classed, False
    preds = [c.preds[p] for p in c.p_code[r].tolist()]
    subj = s_gid_u[c.s_code[r]].tolist()
    subj_values = [c.subj_value[u] for u in c.s_code[r].tolist()]
    obj_values = [c.obj_value[o] for o in c.o_code[r].tolist()]
    class_type = dict(S.CLASS_TYPES)
    supers: dict[str, list[str]] = defaultdict(list)
    instances: list[tuple[int, str]] = []
    for p, s_gid, s_value, o_value in zip(preds, subj, subj_values, obj_values):
        if p == S.SUBCLASS_OF:
            supers[s_value].append(o_value)
        else:
            instances.append((s_gid, o_value))

    def type_of(cls: str, depth: int = 0):
        if cls in class_type or depth > 8:
            return class_type.get(cls)
        found = [t for t in (type_of(sup, depth + 1) for sup in supers.get(cls, ())) if t is not None]
        class_type[cls] = min(found, key=S.TYPE_PRIORITY.__getitem__) if found else None
        return class_type[cls]

    best: dict[int, S.NodeType] = {}
    for gid, cls in instances:
        classed[gid] = True
        t = type_of(cls)
        if t is not None and (gid not in best or S.TYPE_PRIORITY[t] < S.TYPE_PRIORITY[best[gid]]):
            best[gid] = t
    for gid, t in best.items():
        node_type[gid] = type_index[t.value]
    return classed, any(t is S.NodeType.artist for t in best.values())


def _best_text(subj: np.ndarray, codes: np.ndarray, rank: np.ndarray, obj_value: list, n_ent: int) -> np.ndarray:
    """Per entity, the object code with the smallest (rank, value); -1 where there is none."""
    best = np.full(n_ent, -1, dtype=np.intp)
    if not len(subj):
        return best
    order = np.lexsort((rank, subj))
    subj, codes, rank = subj[order], codes[order], rank[order]
    start = np.flatnonzero(np.concatenate([[True], subj[1:] != subj[:-1]]))
    group = np.repeat(np.arange(len(start)), np.diff(np.append(start, len(subj))))
    at_min = rank == rank[start][group]
    n_min = np.bincount(group[at_min], minlength=len(start))
    chosen = codes[start]
    for g in np.flatnonzero(n_min > 1).tolist():  # ties on rank: the smallest value
        i = start[g]
        chosen[g] = min(codes[i:i + n_min[g]].tolist(), key=obj_value.__getitem__)
    best[subj[start]] = chosen
    return best


def _evidence(edge_index, artists, evidence_triples, source, label_of=lambda value: None) -> list[dict]:
    """For each influence edge: its source, the property, and the statement references found.

    ``evidence_triples`` are ``(subject, predicate, object)`` values, blank nodes as ``_:id``.
    """
    if edge_index is None:
        return []
    statement_of: dict[str, str] = {}  # statement -> influencee
    target_of: dict[str, str] = {}  # statement -> influencer
    rank_of: dict[str, str] = {}  # statement -> wikibase rank (absent: normal)
    refs_of: dict[str, list[str]] = defaultdict(list)  # statement -> reference nodes
    ref_values: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    qualifiers: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for s, p, ov in evidence_triples:
        if p == S.P + "P737":
            statement_of[ov] = s
        elif p == S.PS + "P737":
            target_of[s] = ov
        elif p == S.PROV + "wasDerivedFrom":
            refs_of[s].append(ov)
        elif p == S.WIKIBASE + "rank":
            rank_of[s] = ov
        elif p.startswith(S.PQ):
            qualifiers[s][S.local_name(p)].append(ov)
        else:
            ref_values[s][S.local_name(p)].append(ov)
    # Only the best rank's statements back the truthy edge: preferred where the influencee has a
    # preferred P737 statement, else normal; deprecated never (its reason is noted on the record).
    has_preferred = {statement_of[st] for st, r in rank_of.items() if r == S.PREFERRED_RANK and st in statement_of}
    refs_by_pair: dict[tuple[str, str], list[dict]] = defaultdict(list)
    quals_by_pair: dict[tuple[str, str], dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    deprecated_by_pair: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for stmt, a in sorted(statement_of.items()):
        b = target_of.get(stmt)
        if b is None:
            continue
        rank = rank_of.get(stmt, S.NORMAL_RANK)
        quals = {prop: sorted(v) for prop, v in sorted(qualifiers.get(stmt, {}).items())}
        if rank == S.DEPRECATED_RANK:
            deprecated_by_pair[(a, b)].append(quals)
            continue
        if a in has_preferred and rank != S.PREFERRED_RANK:
            continue
        for ref in sorted(refs_of.get(stmt, [])):
            values = {prop: sorted(v) for prop, v in sorted(ref_values.get(ref, {}).items())}
            refs_by_pair[(a, b)].append(values)
        for prop, v in quals.items():
            quals_by_pair[(a, b)][prop].update(v)
    records = []
    for a, b in edge_index.T.tolist():
        pair = (artists[a], artists[b])
        record = {"source": source, "property": "P737", "references": refs_by_pair.get(pair, [])}
        if pair in quals_by_pair:
            record["qualifiers"] = {prop: sorted(v) for prop, v in sorted(quals_by_pair[pair].items())}
        if pair in deprecated_by_pair:
            record["deprecated"] = deprecated_by_pair[pair]
        shown = {v for quals in [record.get("qualifiers", {}), *record.get("deprecated", [])]
                 for vs in quals.values() for v in vs}
        labels = {v: label_of(v) for v in sorted(shown)}
        if any(labels.values()):
            record["labels"] = {v: text for v, text in labels.items() if text}
        records.append(record)
    return records
