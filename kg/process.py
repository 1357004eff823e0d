"""Turn N-Triples into artkg's processed graph: typed nodes, id maps, edge indices, literals.

One pass over the triples buckets them by predicate (only predicates the schema knows are kept);
node types then come from the entities' classes (P31/P279, :mod:`artkg.kg.wikibase`) and then
:data:`~artkg.kg.schema.TYPE_RULES` (strongest rule wins), node ids are the IRIs of a type in sorted
order (stable across rebuilds), and every influence edge keeps its evidence — the source, the
property, the best-rank statements' references and meaning qualifiers. Unknown values (skolem IRIs)
never become nodes.

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
from artkg.kg.wikibase import _class_types, _evidence, _meta_attrs, year_interval  # noqa: F401 (re-exported)

log = logging.getLogger("artkg")

_LABEL_LIKE = {S.Literal.label.value: "label", S.Literal.description.value: "description",
               S.Literal.image.value: "image", S.WIKIPEDIA_SUMMARY: "summary"}
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
    # Wikipedia introductions (akg:wikipediaSummary), only for node types that have any
    summaries: dict[str, list[str | None]] = field(default_factory=dict)
    # Per-edge attributes (interaction events: time, rating, basket), aligned with the edge columns.
    edge_attrs: dict[tuple[str, str, str], dict[str, np.ndarray]] = field(default_factory=dict)
    # String tables of int-coded edge attributes (visual links: ``source`` → its names).
    edge_strings: dict[tuple[str, str, str], dict[str, list[str]]] = field(default_factory=dict)

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
    cat_text = {"label": n_edge, "description": n_edge + 1, "image": n_edge + 2, "summary": n_edge + 3}
    cat_year = {p: n_edge + len(cat_text) + j for j, p in enumerate(year_preds)}
    cat_evidence = n_edge + len(cat_text) + len(year_preds)
    cat_type, cat_meta = cat_evidence + 1, cat_evidence + 2
    cat_interaction = cat_evidence + 3  # reified interaction events, artworks' inventory facts
    cat_link = cat_evidence + 4  # reified visual links
    cat_other = cat_evidence + 5

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
        elif pred in S.INTERACTION_PREDICATES:
            pred_cat[u] = cat_interaction
        elif pred in S.LINK_PREDICATES:
            pred_cat[u] = cat_link
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

    # "Unknown value" objects (Wikidata's skolem IRIs, …/.well-known/genid/…): never a node; the
    # gap is recorded where it matters (an unknown death date, creator, influencer).
    skolem_u = np.zeros(len(c.obj_value), dtype=bool)
    iri_codes = np.flatnonzero(obj_kind_u == IRI).tolist()
    if iri_codes:
        skolem_u[iri_codes] = [c.obj_value[u].startswith(S.SKOLEM) for u in iri_codes]
    unknown_rows = [rows(cat_year[pred])[skolem_u[c.o_code[rows(cat_year[pred])]]] for pred in year_preds]

    # Edge triples with an IRI object, per edge predicate.
    named_rows = []
    for k in range(n_edge):
        r = rows(k)
        r = r[row_okind[r] == IRI]
        check_subjects(r)
        unknown = skolem_u[c.o_code[r]]
        if unknown.any():
            unknown_rows.append(r[unknown])
            skipped["unknown value (skolem IRI), no node"] += int(unknown.sum())
            r = r[~unknown]
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
    summaries = {t: s for t, s in ((t, texts("summary", g)) for t, g in node_gids.items()) if any(s)}
    images = texts("image", node_gids["artwork"]) if "artwork" in node_gids else []

    node_attrs: dict[str, dict[str, np.ndarray]] = defaultdict(dict)
    for pred, (t, attr) in S.YEAR_ATTRS.items():
        if t in nodes:
            per_entity = np.full(n_ent, np.nan, dtype=np.float64)
            subj, year = years[pred]
            per_entity[subj] = year
            node_attrs[t][attr] = per_entity[node_gids[t]].astype(np.float32)
    _meta_attrs(c, rows(cat_meta), s_gid_u, n_ent, nodes, node_gids, node_attrs, skipped,
                unknown=np.concatenate(unknown_rows))
    edge_attrs: dict = {}
    if len(rows(cat_interaction)) or any(k[1] in S.INTERACTION_KINDS for k in edges):
        from artkg.kg.interactions import extract

        edge_attrs = extract(c, rows(cat_interaction), s_gid_u, o_gid_u, index, node_type, type_index, edges,
                             node_attrs, nodes, skipped)
    edge_strings: dict = {}
    if len(rows(cat_link)) or S.VISUAL_LINK.key in edges:
        from artkg.kg.links import extract as extract_links

        extract_links(c, rows(cat_link), s_gid_u, o_gid_u, index, node_type, type_index, edges, edge_attrs,
                      edge_strings, skipped)
        edges = dict(sorted(edges.items()))

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
    return ProcessedGraph(nodes=nodes, labels=labels, descriptions=descriptions, summaries=summaries, edges=edges,
                          node_attrs=dict(node_attrs), images=images, evidence=evidence,
                          skipped=dict(skipped), edge_attrs=edge_attrs, edge_strings=edge_strings)


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
