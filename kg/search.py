"""Find nodes by what a person types: case- and accent-insensitive, partial and fuzzy label matching.

``search(graph, "cezane")`` ranks every node whose label (or id) matches, best first:

====================  =====  ==================================================
kind                  score  what matched
====================  =====  ==================================================
``id``                1.00   the IRI, QID or local id (``A0042``)
``exact``             1.00   the whole label, after folding case and accents
``prefix``            0.90   the label starts with the query
``words``             0.85   every query word starts a word of the label (any order)
``substring``         0.80   the query is inside the label
``fuzzy``             ≤0.75  a close spelling (difflib ratio ≥ ``cutoff``) of the label or of a run
                             of as many of its words as the query has; numbers must match exactly
====================  =====  ==================================================

Folding is Unicode NFKD with combining marks dropped, then ``casefold`` (``Cézanne`` → ``cezanne``,
``Straße`` → ``strasse``), punctuation as spaces. :func:`resolve_unambiguous` is what ``--artist``
and ``--artwork`` use when no id or exact label matches: the best match wins only when it is alone
at its level.
"""
from __future__ import annotations

import difflib
import math
import re
import unicodedata
from dataclasses import dataclass

from artkg.kg import schema as S

LEVELS = {"id": 1.0, "exact": 1.0, "prefix": 0.9, "words": 0.85, "substring": 0.8}
FUZZY_CUTOFF = 0.75


def fold(text: str) -> str:
    """Lower-case, accent-free, single-spaced: the form labels and queries are compared in."""
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c)).casefold()
    return " ".join(re.sub(r"[^\w]+", " ", text).split())


@dataclass(frozen=True)
class Match:
    node_type: str
    index: int
    score: float
    kind: str  # id | exact | prefix | words | substring | fuzzy


class LabelIndex:
    """Folded labels and ids of one node type, built once per graph and type."""

    def __init__(self, graph, node_type: str):
        self.node_type = node_type
        self.labels = [fold(label) if label else "" for label in graph.labels[node_type]]
        self.ids = [S.local_name(iri).casefold() for iri in graph.iris[node_type]]
        self.iris = graph.iris[node_type]
        self._words = [label.split() for label in self.labels]
        self._by_id: dict[str, list[int]] = {}
        for i, (local, iri) in enumerate(zip(self.ids, self.iris)):
            self._by_id.setdefault(local, []).append(i)
            self._by_id.setdefault(iri, []).append(i)

    def find(self, query: str, cutoff: float = FUZZY_CUTOFF) -> list[Match]:
        raw = query.strip().strip("<>")
        q = fold(raw)
        if not q:
            return []
        qid = raw.rsplit("/", 1)[-1].casefold()
        qwords = q.split()
        found: dict[int, Match] = {}

        def add(i: int, kind: str, score: float) -> None:
            if i not in found or found[i].score < score:
                found[i] = Match(self.node_type, i, score, kind)

        for i in self._by_id.get(qid, []) + self._by_id.get(raw, []):
            add(i, "id", LEVELS["id"])
        # Every literal level contains each query word, so one C-level substring scan for the longest
        # word picks the candidates; the levels are told apart on those alone.
        key = max(qwords, key=len)
        for i in [i for i, label in enumerate(self.labels) if key in label]:
            label, words = self.labels[i], self._words[i]
            if label == q:
                add(i, "exact", LEVELS["exact"])
            elif label.startswith(q):
                add(i, "prefix", LEVELS["prefix"])
            elif all(x in label for x in qwords) and all(any(w.startswith(x) for w in words) for x in qwords):
                add(i, "words", LEVELS["words"])
            elif q in label:
                add(i, "substring", LEVELS["substring"])
        if not found:  # typos: only when nothing matched literally (it is the slow part)
            for i, ratio in self._fuzzy(q, len(qwords), cutoff):
                add(i, "fuzzy", round(LEVELS["substring"] * ratio * 0.95, 4))
        return sorted(found.values(), key=lambda m: (-m.score, self.labels[m.index], m.index))

    def _fuzzy(self, q: str, n_words: int, cutoff: float):
        matcher = difflib.SequenceMatcher(autojunk=False)
        matcher.set_seq2(q)
        numbers = {w for w in q.split() if w.isdigit()}  # "Style 99" is no typo of "Style 00"
        for i, words in enumerate(self._words):
            if not words or (numbers and not numbers <= set(words)):
                continue
            candidates = {self.labels[i]}
            if len(words) > n_words:  # "fonley" against "konrad fonley": compare with each run of words
                candidates.update(" ".join(words[j:j + n_words]) for j in range(len(words) - n_words + 1))
            best = 0.0
            for text in candidates:
                matcher.set_seq1(text)
                if matcher.real_quick_ratio() >= cutoff and matcher.quick_ratio() >= cutoff:
                    best = max(best, matcher.ratio())
            if best >= cutoff:
                yield i, best


def label_index(graph, node_type: str) -> LabelIndex:
    cache = graph.__dict__.setdefault("_search_indexes", {})
    if node_type not in cache:
        cache[node_type] = LabelIndex(graph, node_type)
    return cache[node_type]


def searchable_types(graph) -> list[str]:
    return [t for t, iris in graph.iris.items() if iris]


def search(graph, text: str, node_type: str | list[str] | None = None, limit: int = 20,
           cutoff: float = FUZZY_CUTOFF) -> list[dict]:
    """Nodes matching ``text``, best first, as records with id, type, label, score and what matched,
    plus years (artists: born–died; artworks: year and creator)."""
    from artkg.kg.errors import InputError

    types = searchable_types(graph)
    wanted = [node_type] if isinstance(node_type, str) else list(node_type or types)
    unknown = [t for t in wanted if t not in graph.iris]
    if unknown:
        raise InputError(f"no node type {unknown[0]!r} in {graph.root}", f"choose one of {', '.join(types)}")
    matches: list[Match] = []
    for t in wanted:
        if graph.iris[t]:
            matches += label_index(graph, t).find(text, cutoff)
    matches.sort(key=lambda m: (-m.score, _type_rank(m.node_type), graph.label_of(m.node_type, m.index)))
    return [describe(graph, m.node_type, m.index) | {"score": m.score, "match": m.kind} for m in matches[:limit]]


def _type_rank(node_type: str) -> int:
    order = ("artist", "artwork", "movement", "style", "genre")
    return order.index(node_type) if node_type in order else len(order)


def _year(values, i: int):
    if values is None or i >= len(values):
        return None
    v = float(values[i])
    return None if math.isnan(v) else int(v)


def describe(graph, node_type: str, index: int) -> dict:
    """A node as a person reads it: id, type, label, and the dates and creator where known."""
    iri = graph.iris[node_type][index]
    out = {"id": S.local_name(iri), "iri": iri, "type": node_type, "label": graph.label_of(node_type, index)}
    if node_type == "artist":
        out["born"] = _year(graph.node_attr("artist", "birth_year"), index)
        out["died"] = _year(graph.node_attr("artist", "death_year"), index)
    elif node_type == "artwork":
        out["year"] = _year(graph.node_attr("artwork", "year"), index)
        creator = creators(graph).get(index)
        out["creator"] = graph.label_of("artist", creator) if creator is not None else None
    return out


def creators(graph) -> dict[int, int]:
    """artwork index → artist index (the first creator), built once per graph."""
    cache = graph.__dict__
    if "_creators" not in cache:
        index = graph.edge_index(("artwork", "created_by", "artist"))
        cache["_creators"] = {}
        for a, b in zip(index[0].tolist()[::-1], index[1].tolist()[::-1]):
            cache["_creators"][a] = b  # reversed: the first edge of each artwork wins
    return cache["_creators"]


def display(record: dict) -> str:
    """``Konrad Wesquinaux (1452–1519)`` / ``Altarpiece No. 28 (1502) by Konrad Wesquinaux``."""
    label = record["label"]
    if record["type"] == "artist":
        born, died = record.get("born"), record.get("died")
        if born is not None or died is not None:
            label += f" ({born if born is not None else '?'}–{died if died is not None else ''})"
    elif record["type"] == "artwork":
        if record.get("year") is not None:
            label += f" ({record['year']})"
        if record.get("creator"):
            label += f" by {record['creator']}"
    return label


def resolve_unambiguous(graph, node_type: str, query: str) -> tuple[int | None, list[Match]]:
    """The node a loose query means, if exactly one node matches at the best level; else
    ``(None, the best matches)`` for the error to list."""
    if not graph.iris.get(node_type):
        return None, []
    matches = label_index(graph, node_type).find(query)
    if not matches:
        return None, []
    top = [m for m in matches if m.score == matches[0].score and m.kind == matches[0].kind]
    if matches[0].kind == "fuzzy":  # typos: the best must stand clear of the next
        top = [m for m in matches if m.score >= matches[0].score - 0.02]
    return (top[0].index, matches) if len(top) == 1 else (None, matches)
