"""Triples as columns: per triple, integer codes of its subject, predicate and object.

Each distinct term is stored once in a :class:`TermTable`; everything after reading (typing, id
maps, edges, labels) works on the integer codes with numpy, so Python touches each distinct term
once instead of each triple. :func:`columns_from_quads` fills the columns from pyoxigraph's
parser; :mod:`artkg.kg.ntriples_reader` fills them faster from canonical N-Triples.
"""
from __future__ import annotations

import gc
from dataclasses import dataclass

import numpy as np
import pyoxigraph as ox


def lazy_pandas():
    """pandas, imported on first use (it takes a while to import; only processing needs it)."""
    import pandas

    return pandas


class gc_paused:
    """Millions of small objects are created and kept: the cyclic GC would rescan them all the time."""

    def __enter__(self):
        self.was_enabled = gc.isenabled()
        gc.disable()

    def __exit__(self, *exc):
        if self.was_enabled:
            gc.enable()


# Kinds of terms: subjects are IRIs or blank nodes; objects also literals or anything else
# (an RDF 1.2 triple term), which has no ``value`` — the original loop failed on it exactly where
# it read a value, and so does artkg.kg.process.
IRI, BLANK, LITERAL, OTHER = 0, 1, 2, 3


@dataclass
class Columns:
    """The triples as three integer columns into tables of distinct terms (input order kept)."""

    p_code: np.ndarray  # (n,) per triple: index into preds
    s_code: np.ndarray  # (n,) index into subj_*
    o_code: np.ndarray  # (n,) index into obj_*
    preds: list[str]  # predicate IRIs
    subj_value: list  # IRI or blank-node id (without "_:"); the term itself for OTHER
    subj_kind: np.ndarray  # int8
    obj_value: list  # IRI, blank-node id, lexical form; the term itself for OTHER
    obj_kind: np.ndarray  # int8
    obj_lang: list  # language tag of a literal (None for anything else)
    fallback_lines: int = 0  # lines the canonical reader handed to pyoxigraph


class TermTable:
    """Distinct terms of one position, coded in order of first appearance."""

    __slots__ = ("ids", "kind", "lang", "ok", "value")

    def __init__(self) -> None:
        self.ids: dict = {}
        self.value: list = []
        self.kind: list[int] = []
        self.lang: list = []
        self.ok: list[bool] = []

    def add(self, key, value, kind: int, lang=None, ok: bool = True) -> int:
        code = self.ids[key] = len(self.value)
        self.value.append(value)
        self.kind.append(kind)
        self.lang.append(lang)
        self.ok.append(ok)
        return code

    def extend(self, values: list, kind: int, langs: list | None, oks: list[bool]) -> None:
        """Append distinct terms that need no key (the canonical reader codes them itself)."""
        self.value.extend(values)
        self.kind.extend([kind] * len(values))
        self.lang.extend(langs if langs is not None else [None] * len(values))
        self.ok.extend(oks)


def columns_from_quads(quads) -> Columns:
    """Columns from pyoxigraph triples or quads (the general path: any syntax pyoxigraph reads)."""
    named, blank, literal = ox.NamedNode, ox.BlankNode, ox.Literal
    ps, ss, os_ = TermTable(), TermTable(), TermTable()
    p_ids, s_ids, o_ids = ps.ids, ss.ids, os_.ids
    p_col: list[int] = []
    s_col: list[int] = []
    o_col: list[int] = []
    for quad in quads:
        p = quad.predicate.value
        code = p_ids.get(p)
        p_col.append(ps.add(p, p, IRI) if code is None else code)
        s = quad.subject
        t = type(s)
        if t is named:
            key = s.value
            code = s_ids.get(key)
            s_col.append(ss.add(key, key, IRI) if code is None else code)
        elif t is blank:
            value = s.value
            key = "_:" + value
            code = s_ids.get(key)
            s_col.append(ss.add(key, value, BLANK) if code is None else code)
        else:
            code = s_ids.get(s)
            s_col.append(ss.add(s, s, OTHER) if code is None else code)
        o = quad.object
        t = type(o)
        if t is named:
            key = o.value
            code = o_ids.get(key)
            o_col.append(os_.add(key, key, IRI) if code is None else code)
        elif t is literal:
            value, lang = o.value, o.language
            key = (value, lang)
            code = o_ids.get(key)
            o_col.append(os_.add(key, value, LITERAL, lang) if code is None else code)
        elif t is blank:
            value = o.value
            key = "_:" + value
            code = o_ids.get(key)
            o_col.append(os_.add(key, value, BLANK) if code is None else code)
        else:
            key = ("other", o)
            code = o_ids.get(key)
            o_col.append(os_.add(key, o, OTHER) if code is None else code)
    return Columns(
        p_code=np.array(p_col, dtype=np.intp), s_code=np.array(s_col, dtype=np.intp),
        o_code=np.array(o_col, dtype=np.intp), preds=ps.value,
        subj_value=ss.value, subj_kind=np.array(ss.kind, dtype=np.int8),
        obj_value=os_.value, obj_kind=np.array(os_.kind, dtype=np.int8), obj_lang=os_.lang)


def code_quad(quad, ps: TermTable, ss: TermTable, os_: TermTable) -> tuple[int, int, int]:
    """Codes of a triple parsed by pyoxigraph (keys are str/tuples: never equal to byte tokens)."""
    p = quad.predicate.value
    p_code = ps.ids.get(p)
    if p_code is None:
        p_code = ps.add(p, p, IRI)
    s = quad.subject
    if type(s) is ox.BlankNode:
        key, value, kind = ("s", "_:" + s.value), s.value, BLANK
    else:
        key, value, kind = ("s", s.value), s.value, IRI
    s_code = ss.ids.get(key)
    if s_code is None:
        s_code = ss.add(key, value, kind)
    o = quad.object
    t = type(o)
    lang = None
    if t is ox.NamedNode:
        key, value, kind = ("o", o.value), o.value, IRI
    elif t is ox.Literal:
        key, value, kind, lang = ("o", o.value, o.language), o.value, LITERAL, o.language
    elif t is ox.BlankNode:
        key, value, kind = ("o", "_:" + o.value), o.value, BLANK
    else:
        key, value, kind = ("o", o), o, OTHER
    o_code = os_.ids.get(key)
    if o_code is None:
        o_code = os_.add(key, value, kind, lang)
    return p_code, s_code, o_code
