"""Wikibase semantics in processing: classes (P31/P279), best-rank evidence with qualifiers, the
crawl's date precisions, unknown values and "several values" notes (see :mod:`artkg.kg.wikidata_statements`).

Split from :mod:`artkg.kg.process`, which calls these on its columns.
"""
from __future__ import annotations

import math
from collections import defaultdict

import numpy as np

from artkg.kg import schema as S
from artkg.kg.columns import IRI, Columns


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


def _precision_attr(year_attr: str) -> str:
    """``birth_year`` → ``birth_precision``; ``year`` → ``year_precision``."""
    return year_attr.removesuffix("_year") + "_precision"


def _meta_attrs(c: Columns, r: np.ndarray, s_gid_u, n_ent: int, nodes, node_gids, node_attrs, skipped,
                unknown: np.ndarray | None = None) -> None:
    """Date precisions, recorded unknown values and "several values, one kept" notes from the crawl.

    ``<e> akg:timePrecision/P569 9`` → ``artist.birth_precision``; ``<e> akg:unknownValue wdt:P570``
    → ``artist.death_unknown`` = 1; ``<e> akg:severalValues wdt:P569`` is counted in ``skipped``.
    ``unknown``: rows whose object is an unknown value (``<e> wdt:P570 <…/genid/…>`` in a dump).
    """
    unknown = unknown if unknown is not None else np.empty(0, dtype=np.intp)
    if not len(r) and not len(unknown):
        return
    attr_values: dict[tuple[str, str], dict[int, float]] = defaultdict(dict)
    for s_code, p_code in zip(c.s_code[unknown].tolist(), c.p_code[unknown].tolist()):
        if c.preds[p_code] in S.UNKNOWN_ATTRS:
            attr_values[S.UNKNOWN_ATTRS[c.preds[p_code]]][int(s_gid_u[s_code])] = 1.0
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
                attr_values[(t, _precision_attr(attr))][gid] = precision
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
