"""Visual signatures: links between artworks that borrow visually from each other.

A link says "a and b look related" with a *kind* — POSITIVE (a borrows from b), SIMILAR, DUPLICATE
(two reproductions of one painting) or NEGATIVE (checked: not related; WRONG is accepted for it on
input) — and a *source*, free text naming who or what made it ("manifest", "annotator:alice",
"synth", a file name). In RDF (``graph.nt``, artkg vocabulary) every link is a reified record next
to a direct edge, as interaction events are (:mod:`artkg.kg.interactions`)::

    <a> akg:visuallyLinked <b> .                       (not written for NEGATIVE links)
    <link> akg:linkSubject <a> ; akg:linkObject <b> ;
           akg:linkKind akg:linkDuplicate ; akg:linkSource "manifest" .

Processed, the edge type ``(artwork, visually_linked, artwork)`` holds one edge per link, sorted by
(a, b, kind, source), with the edge attributes ``kind`` (int8, the index in
:data:`~artkg.kg.schema.LINK_KINDS`) and ``source`` (int64 code into the edge type's string table in
``processed/edge_strings.json``; -1: none). A direct edge no record describes is a POSITIVE link
without a source. NEGATIVE links are edges of the same type: whoever uses the edges for message
passing or as positives filters by kind. Links are symmetric in meaning and stored as given.
:class:`VisualLinks` reads them back from a loaded graph.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

import numpy as np

from artkg.kg import schema as S

LINK_NS = "https://w3id.org/artkg/link/"
KEY = S.VISUAL_LINK.key
KIND_CODE = {kind: code for code, kind in enumerate(S.LINK_KINDS)}
EDGE_STRINGS = "edge_strings.json"  # in processed/: string tables of int-coded edge attributes


def kind_code(text: str | None) -> int:
    """A kind as written (``DUPLICATE``, ``wrong``, ``akg:linkSimilar``'s IRI) → its code; -1 if unknown."""
    if not text:
        return -1
    name = S.local_name(str(text).strip()).lower()
    if name.startswith("link") and name[4:] in KIND_CODE:
        name = name[4:]
    return KIND_CODE.get(S.LINK_KIND_ALIASES.get(name, name), -1)


# ------------------------------------------------------------------ processing (graph.nt → tensors)
def extract(c, rows: np.ndarray, s_gid: np.ndarray, o_gid: np.ndarray, index: np.ndarray,
            node_type: np.ndarray, type_index: dict[str, int], edges: dict, edge_attrs: dict,
            edge_strings: dict, skipped: dict) -> None:
    """Turn the link records (``rows`` of the columns ``c``) into one edge per link.

    Replaces ``edges[KEY]`` (the direct edges) by the links, then the direct edges no record
    describes (POSITIVE, no source), and fills ``edge_attrs[KEY]`` and ``edge_strings[KEY]``."""
    import pandas as pd

    pred_of = np.array([p if p in S.LINK_PREDICATES else "" for p in c.preds], dtype=object)
    frame = pd.DataFrame({"s": s_gid[c.s_code[rows]], "p": pred_of[c.p_code[rows]], "o": c.o_code[rows]})
    wide = frame.drop_duplicates(["s", "p"], keep="first").pivot(index="s", columns="p", values="o")

    def column(p: str) -> np.ndarray:
        return wide[p].to_numpy() if p in wide else np.full(len(wide), np.nan)

    subj, obj, kind, source = (column(p) for p in (S.LINK_SUBJECT, S.LINK_OBJECT, S.LINK_KIND, S.LINK_SOURCE))
    is_link = (subj == subj) & (obj == obj)
    a_g = o_gid[subj[is_link].astype(np.intp)]
    b_g = o_gid[obj[is_link].astype(np.intp)]
    kinds = np.array([kind_code(c.obj_value[int(u)]) if u == u else KIND_CODE["positive"]
                      for u in kind[is_link]], dtype=np.int64)
    art = type_index.get("artwork", -9)
    ok = (a_g >= 0) & (b_g >= 0) & (kinds >= 0)
    ok[ok] = (node_type[a_g[ok]] == art) & (node_type[b_g[ok]] == art)
    if (~ok).any():
        skipped["visual link record without two known artworks or a known kind"] += int((~ok).sum())
    names = [c.obj_value[int(u)] if u == u else None for u in source[is_link][ok]]
    table = sorted({n for n in names if n is not None})  # sorted: the same codes whatever the input order
    code_of = {n: k for k, n in enumerate(table)}
    src = np.array([code_of[n] if n is not None else -1 for n in names], dtype=np.int64)
    a, b, k = index[a_g[ok]], index[b_g[ok]], kinds[ok]
    n_art = max(int((node_type == art).sum()), 1)
    direct = edges.get(KEY)
    if direct is not None and direct.size:  # direct edges no record describes
        seen = np.isin(direct[0] * n_art + direct[1], a * n_art + b)
        a = np.concatenate([a, direct[0][~seen]])
        b = np.concatenate([b, direct[1][~seen]])
        k = np.concatenate([k, np.full((~seen).sum(), KIND_CODE["positive"])])
        src = np.concatenate([src, np.full((~seen).sum(), -1, dtype=np.int64)])
    if not len(a):
        edges.pop(KEY, None)
        return
    order = np.lexsort((src, k, b, a))
    a, b, k, src = a[order], b[order], k[order], src[order]
    keep = np.ones(len(a), dtype=bool)  # the same link from several records: once
    keep[1:] = (a[1:] != a[:-1]) | (b[1:] != b[:-1]) | (k[1:] != k[:-1]) | (src[1:] != src[:-1])
    edges[KEY] = np.ascontiguousarray(np.stack([a[keep], b[keep]]).astype(np.int64))
    edge_attrs[KEY] = {"kind": k[keep].astype(np.int8), "source": src[keep].astype(np.int64)}
    edge_strings[KEY] = {"source": table}


# ------------------------------------------------------------------ writing (links → N-Triples)
def link_lines(a: list[str], b: list[str], kind: list[str], source: str | list[str]) -> list[str]:
    """N-Triples lines for links between the artwork IRIs ``a[k]`` and ``b[k]`` (kinds by name)."""
    sources = [source] * len(a) if isinstance(source, str) else list(source)
    text = json.dumps  # JSON string escapes are valid N-Triples escapes
    lines: list[str] = []
    for x, y, k, s in zip(a, b, kind, sources):
        k = S.LINK_KIND_ALIASES.get(k, k)
        link = f"<{LINK_NS}{hashlib.sha1(f'{x}|{y}|{k}|{s}'.encode()).hexdigest()[:20]}>"
        if k != "negative":
            lines.append(f"<{x}> <{S.VISUAL_LINK.predicate}> <{y}> .")
        lines += [f"{link} <{S.LINK_SUBJECT}> <{x}> .", f"{link} <{S.LINK_OBJECT}> <{y}> .",
                  f"{link} <{S.LINK_KIND}> <{S.LINK_KIND_IRIS[k]}> .",
                  f"{link} <{S.LINK_SOURCE}> {text(s, ensure_ascii=False)} ."]
    return lines


# ------------------------------------------------------------------ reading back (graph → table)
@dataclass
class VisualLinks:
    """All visual links of a graph as one table (sorted by src, dst, kind, source)."""

    src: np.ndarray  # int64 artwork index
    dst: np.ndarray  # int64 artwork index
    kind: np.ndarray  # int8: the index in S.LINK_KINDS
    source: np.ndarray  # int64 index into ``sources`` (-1: none)
    sources: list[str]

    def __len__(self) -> int:
        return len(self.src)

    @classmethod
    def from_graph(cls, kg) -> "VisualLinks":
        index = kg.edge_index(KEY).numpy()
        attrs = kg.edge_attrs(KEY)
        n = index.shape[1]
        path = kg.dir.processed / EDGE_STRINGS
        tables = json.loads(path.read_text(encoding="utf-8")) if n and path.is_file() else {}
        return cls(src=index[0].astype(np.int64), dst=index[1].astype(np.int64),
                   kind=np.asarray(attrs.get("kind", np.zeros(n, np.int8)), dtype=np.int8),
                   source=np.asarray(attrs.get("source", np.full(n, -1)), dtype=np.int64),
                   sources=list(tables.get("/".join(KEY), {}).get("source", [])))

    def of_kind(self, *kinds: str) -> "VisualLinks":
        """The links of the given kinds (``"duplicate"``; ``"wrong"`` means negative)."""
        m = np.isin(self.kind, [kind_code(k) for k in kinds])
        return VisualLinks(self.src[m], self.dst[m], self.kind[m], self.source[m], self.sources)

    def source_names(self) -> list[str | None]:
        """The source of each link as text (None: none recorded)."""
        return [self.sources[s] if s >= 0 else None for s in self.source.tolist()]

    def kind_names(self) -> list[str]:
        return [S.LINK_KINDS[k] for k in self.kind.tolist()]
