"""What ``kgbuild wikidata`` reads beyond truthy ``wdt:`` triples: Wikidata's statement layer.

* **Unknown values** come back from WDQS as skolem IRIs (``…/.well-known/genid/…``) or blank
  nodes: never a node; where the gap matters it is recorded (``akg:unknownValue``).
* **Redirects** (``wd:Q103 owl:sameAs wd:Q104``) are followed; the canonical QID is kept and the
  alias recorded (``<alias> owl:sameAs <canonical>`` in ``graph.nt``, ``source.redirects``).
* **Classes**: ``wdt:P31`` of every entity and ``wdt:P279`` of unmapped classes, for typing.
* **Influence evidence**: references of best-rank P737 statements only, ``pr:`` but never ``prv:``,
  plus the qualifiers that change a claim's meaning (P1480, P2241) and the statements' ranks.
* **Dates**: ``psv:`` → ``wikibase:timeValue``/``timePrecision``; one value per entity and property,
  chosen by rank (preferred over normal, deprecated never), earliest among equals — and said so.

All queries are standard SPARQL 1.1 over ``VALUES`` batches, as in :mod:`artkg.kg.wikidata`.
"""
from __future__ import annotations

import logging

import pyoxigraph as ox

from artkg.kg import schema as S
from artkg.kg.sparql import sparql_iri, sparql_string, values_block
from artkg.kg.triples import term_from_binding

log = logging.getLogger("artkg")

DATE_PROPS = ("P569", "P570", "P571")
UNKNOWN_DROPPED = "unknown values in query results (blank node or skolem IRI): no node made"
_RANK_ORDER = {S.PREFERRED_RANK: 0, S.NORMAL_RANK: 1}
XSD_INTEGER = ox.NamedNode("http://www.w3.org/2001/XMLSchema#integer")
BEST_RANK_FILTER = (  # the statement is of its property's best rank (no rank: treated as normal)
    "  OPTIONAL { ?st wikibase:rank ?rank }\n"
    "  FILTER(!BOUND(?rank) || ?rank = wikibase:PreferredRank || (?rank != wikibase:DeprecatedRank\n"
    "         && NOT EXISTS { ?a p:P737 ?st2 . ?st2 wikibase:rank wikibase:PreferredRank }))\n")


def is_unknown(binding: dict) -> bool:
    """An "unknown value": a blank node, or the skolem IRI WDQS returns for one since 2022."""
    return binding["type"] == "bnode" or (binding["type"] == "uri" and binding["value"].startswith(S.SKOLEM))


def _iris(batch: list[str]) -> list[str]:
    return [sparql_iri(i) for i in batch]


class StatementsMixin:
    """Statement-level crawling for :class:`~artkg.kg.wikidata.WikidataCrawler`."""

    # ------------------------------------------------------------ unknown values
    def record_unknown(self, subject: dict | str, prop_iri: str) -> None:
        """``<subject> akg:unknownValue <wdt:P…>`` where an unknown value matters (death, creator …)."""
        if hasattr(self, "dropped"):
            subj = subject["value"] if isinstance(subject, dict) else subject
            self.dropped.setdefault(UNKNOWN_DROPPED, []).append(f"{subj} {S.local_name(prop_iri)} (unknown)")
        if prop_iri in S.UNKNOWN_ATTRS:
            subj = term_from_binding(subject) if isinstance(subject, dict) else ox.NamedNode(subject)
            self.triples.add(subj, S.UNKNOWN_VALUE, ox.NamedNode(prop_iri))
            self.unknown_count += 1

    # ------------------------------------------------------------ redirects
    def follow_redirects(self, iris: list[str]) -> list[str]:
        """The canonical entity of each IRI (redirect chains followed); aliases are recorded."""
        todo = [i for i in dict.fromkeys(iris) if i not in self.redirects and i not in self._checked]
        for _ in range(4):  # a redirect to a redirect is rare; more would be a loop
            if not todo:
                break
            found: dict[str, str] = {}
            for batch in self._batches(todo, "redirects"):
                for r in self._select_batched(batch, lambda b: (
                        "SELECT ?e ?t WHERE {\n"
                        f"  {values_block('e', _iris(b))}\n  ?e owl:sameAs ?t .\n"
                        "  FILTER(isIRI(?t))\n}")):
                    found[r["e"]["value"]] = r["t"]["value"]
            self._checked.update(todo)
            for alias, target in found.items():
                self.redirects[alias] = target
            todo = [t for t in found.values() if t not in self._checked]
        for alias in list(self.redirects):  # collapse chains
            seen, target = {alias}, self.redirects[alias]
            while target in self.redirects and target not in seen:
                seen.add(target)
                target = self.redirects[target]
            self.redirects[alias] = target
        return [self.redirects.get(i, i) for i in iris]

    def record_redirects(self) -> None:
        """Rewrite every triple onto canonical entities, then keep ``<alias> owl:sameAs <canonical>``."""
        if not self.redirects:
            return
        self.triples.rename(self.redirects)
        for alias, target in sorted(self.redirects.items()):
            self.triples.add(ox.NamedNode(alias), S.OWL_SAME_AS, ox.NamedNode(target))
        log.info("%d redirect(s) followed: %s", len(self.redirects),
                 ", ".join(f"{S.local_name(a)} → {S.local_name(t)}" for a, t in sorted(self.redirects.items())[:5]))

    # ------------------------------------------------------------ classes
    def fetch_classes(self, entities: list[str]) -> dict[str, set[str]]:
        """``wdt:P31`` of each entity (kept as triples), and ``wdt:P279`` up from unmapped classes."""
        todo = [e for e in dict.fromkeys(entities) if e not in self.classes]
        for e in todo:
            self.classes[e] = set()
        p31 = ox.NamedNode(S.INSTANCE_OF)
        for batch in self._batches(todo, "classes"):
            for r in self._select_batched(batch, lambda b: (
                    "SELECT ?e ?c WHERE {\n"
                    f"  {values_block('e', _iris(b))}\n  ?e wdt:P31 ?c .\n  FILTER(isIRI(?c))\n}}")):
                if is_unknown(r["c"]):
                    continue
                self.classes[r["e"]["value"]].add(r["c"]["value"])
                self.triples.add(term_from_binding(r["e"]), p31, term_from_binding(r["c"]))
        self._superclasses({c for e in todo for c in self.classes[e]})
        return {e: self.classes[e] for e in entities}

    def _superclasses(self, classes: set[str], depth: int = 2) -> None:
        p279 = ox.NamedNode(S.SUBCLASS_OF)
        todo = sorted(c for c in classes if c not in S.CLASS_TYPES and c not in self._class_parents)
        for _ in range(depth):
            if not todo:
                return
            found: set[str] = set()
            for c in todo:
                self._class_parents[c] = set()
            for batch in self._batches(todo, "superclasses"):
                for r in self._select_batched(batch, lambda b: (
                        "SELECT ?c ?sup WHERE {\n"
                        f"  {values_block('c', _iris(b))}\n  ?c wdt:P279 ?sup .\n  FILTER(isIRI(?sup))\n}}")):
                    if is_unknown(r["sup"]):
                        continue
                    self._class_parents[r["c"]["value"]].add(r["sup"]["value"])
                    self.triples.add(term_from_binding(r["c"]), p279, term_from_binding(r["sup"]))
                    found.add(r["sup"]["value"])
            todo = sorted(c for c in found if c not in S.CLASS_TYPES and c not in self._class_parents)

    def class_type(self, entity: str) -> S.NodeType | None | bool:
        """The node type the entity's classes give; None if it has classes none of ours; False if none."""
        classes = self.classes.get(entity)
        if not classes:
            return False
        found = [t for t in (self._type_of_class(c, 0) for c in classes) if t is not None]
        return min(found, key=S.TYPE_PRIORITY.__getitem__) if found else None

    def _type_of_class(self, cls: str, depth: int) -> S.NodeType | None:
        if cls in S.CLASS_TYPES or depth > 8:
            return S.CLASS_TYPES.get(cls)
        found = [t for t in (self._type_of_class(s, depth + 1) for s in self._class_parents.get(cls, ()))
                 if t is not None]
        return min(found, key=S.TYPE_PRIORITY.__getitem__) if found else None

    # ------------------------------------------------------------ influence evidence
    def influence_evidence(self, batch: list[str], var_fixed: str) -> None:
        """References of the best-rank P737 statements (``pr:`` only) and their meaning qualifiers."""
        pr, prv = sparql_string(S.PR), sparql_string(S.PRV)
        for r in self._select_batched(batch, lambda b: (
                f"SELECT ?a ?st ?b ?rank ?ref ?rp ?rv WHERE {{\n  {values_block(var_fixed, _iris(b))}\n"
                "  ?a p:P737 ?st . ?st ps:P737 ?b .\n" + BEST_RANK_FILTER +
                "  ?st prov:wasDerivedFrom ?ref . ?ref ?rp ?rv .\n"
                f"  FILTER(STRSTARTS(STR(?rp), {pr}) && !STRSTARTS(STR(?rp), {prv}))\n}}")):
            if is_unknown(r["b"]) or is_unknown(r["rv"]):
                continue
            st, ref = (term_from_binding(r[k]) for k in ("st", "ref"))
            self._statement(r, st)
            self.triples.add(st, S.PROV + "wasDerivedFrom", ref)
            self.triples.add(ref, r["rp"]["value"], term_from_binding(r["rv"]))
        quals = " ".join(f"pq:{q}" for q in S.EVIDENCE_QUALIFIERS)
        for r in self._select_batched(batch, lambda b: (
                f"SELECT ?a ?st ?b ?rank ?q ?qv WHERE {{\n  {values_block(var_fixed, _iris(b))}\n"
                f"  VALUES ?q {{ {quals} }}\n"
                "  ?a p:P737 ?st . ?st ps:P737 ?b . ?st ?q ?qv .\n  OPTIONAL { ?st wikibase:rank ?rank }\n}")):
            if is_unknown(r["b"]) or is_unknown(r["qv"]):
                continue
            st = term_from_binding(r["st"])
            self._statement(r, st)
            self.triples.add(st, r["q"]["value"], term_from_binding(r["qv"]))
            if r["qv"]["type"] == "uri":
                self._context_objects.add(r["qv"]["value"])  # "presumably": labelled like the rest

    def _statement(self, r: dict, st) -> None:
        a, b = term_from_binding(r["a"]), term_from_binding(r["b"])
        if isinstance(b, ox.NamedNode):
            b = ox.NamedNode(self.redirects.get(b.value, b.value))
        self.triples.add(a, S.P + "P737", st)
        self.triples.add(st, S.PS + "P737", b)
        if "rank" in r:
            self.triples.add(st, S.WIKIBASE + "rank", term_from_binding(r["rank"]))

    # ------------------------------------------------------------ dates
    def dates(self, subjects: list[str], props: tuple[str, ...]) -> None:
        """One date per entity and property, with its precision; chosen by rank, and said so."""
        from artkg.kg.process import _year

        props = tuple(p for p in props if p in DATE_PROPS)
        if not props or not subjects:
            return
        triples = " ".join(f"(p:{p} psv:{p} {sparql_iri(S.WDT + p)})" for p in props)
        found: dict[tuple[str, str], list[tuple[int, float, str, int | None]]] = {}
        for batch in self._batches(subjects, "dates"):
            for r in self._select_batched(batch, lambda b: (
                    f"SELECT ?s ?wdt ?t ?prec ?rank WHERE {{\n  {values_block('s', _iris(b))}\n"
                    f"  VALUES (?p ?psv ?wdt) {{ {triples} }}\n"
                    "  ?s ?p ?st . ?st ?psv ?v . ?v wikibase:timeValue ?t .\n"
                    "  OPTIONAL { ?v wikibase:timePrecision ?prec }\n  OPTIONAL { ?st wikibase:rank ?rank }\n}")):
                rank = r.get("rank", {}).get("value", S.NORMAL_RANK)
                if rank not in _RANK_ORDER:
                    continue  # deprecated
                try:
                    prec = int(r["prec"]["value"]) if "prec" in r else None
                except ValueError:
                    prec = None
                found.setdefault((r["s"]["value"], r["wdt"]["value"]), []).append(
                    (_RANK_ORDER[rank], _year(r["t"]["value"]), r["t"]["value"], prec))
        several = 0
        truthy: dict[tuple[str, str], list[ox.Triple]] = {}
        for t in self.triples:
            if (t.subject.value, t.predicate.value) in found:
                truthy.setdefault((t.subject.value, t.predicate.value), []).append(t)
        for (s, wdt), values in sorted(found.items()):
            best_rank = min(v[0] for v in values)
            best = sorted({v for v in values if v[0] == best_rank},
                          key=lambda v: (v[1], -(v[3] or 0), v[2]))
            _, _, time, prec = best[0]
            subj = ox.NamedNode(s)
            for t in truthy.get((s, wdt), []):
                self.triples.discard(t)  # the truthy values, replaced by the one chosen
            datatype = ox.NamedNode("http://www.w3.org/2001/XMLSchema#dateTime")
            self.triples.add(subj, wdt, ox.Literal(time, datatype=datatype))
            if prec is not None:
                self.triples.add(subj, S.DATE_PRECISION + S.local_name(wdt), ox.Literal(str(prec), datatype=XSD_INTEGER))
            if len({v[2] for v in best}) > 1:
                several += 1
                self.triples.add(subj, S.SEVERAL_VALUES, ox.NamedNode(wdt))
                log.info("%s has %d %s values of the same rank; the earliest (%s) is kept",
                         S.local_name(s), len(best), S.local_name(wdt), time)
        if several:
            log.warning("%d date(s) had several values of the best rank; the earliest was kept", several)

    # ------------------------------------------------------------ labels
    def labels_any_language(self, entities: list[str]) -> None:
        """For entities without a label in the requested languages or ``mul``: their labels in any
        language (processing keeps one: untagged, then the smallest)."""
        labelled = {t.subject.value for t in self.triples
                    if t.predicate.value == S.RDFS_LABEL and isinstance(t.subject, ox.NamedNode)}
        missing = [e for e in entities if e not in labelled]
        for batch in self._batches(missing, "labels (any language)"):
            for r in self._select_batched(batch, lambda b: (
                    "SELECT ?e ?text WHERE {\n"
                    f"  {values_block('e', _iris(b))}\n  ?e rdfs:label ?text .\n}}")):
                self.triples.add(term_from_binding(r["e"]), S.RDFS_LABEL, term_from_binding(r["text"]))
