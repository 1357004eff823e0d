"""Triples in memory: built from SPARQL JSON bindings or files, written as canonical N-Triples."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable

import pyoxigraph as ox

from artkg.kg.atomic import atomic_path
from artkg.kg.errors import InputError

Term = ox.NamedNode | ox.Literal | ox.BlankNode

RDF_FORMATS = {
    ".nt": ox.RdfFormat.N_TRIPLES,
    ".ntriples": ox.RdfFormat.N_TRIPLES,
    ".ttl": ox.RdfFormat.TURTLE,
    ".turtle": ox.RdfFormat.TURTLE,
    ".nq": ox.RdfFormat.N_QUADS,
    ".trig": ox.RdfFormat.TRIG,
    ".rdf": ox.RdfFormat.RDF_XML,
    ".owl": ox.RdfFormat.RDF_XML,
    ".xml": ox.RdfFormat.RDF_XML,
}


def term_from_binding(binding: dict) -> Term:
    """A SPARQL-JSON binding (``{"type": "uri", "value": …}``) as a pyoxigraph term."""
    kind, value = binding["type"], binding["value"]
    if kind == "uri":
        return ox.NamedNode(value)
    if kind == "bnode":
        return ox.BlankNode(value)
    lang = binding.get("xml:lang")
    if lang:
        return ox.Literal(value, language=lang)
    datatype = binding.get("datatype")
    return ox.Literal(value, datatype=ox.NamedNode(datatype)) if datatype else ox.Literal(value)


class TripleSet:
    """A de-duplicated set of triples with a deterministic N-Triples serialisation."""

    def __init__(self) -> None:
        self._triples: set[ox.Triple] = set()

    def __len__(self) -> int:
        return len(self._triples)

    def __iter__(self):
        return iter(self._triples)

    def add(self, s: Term, p: str | ox.NamedNode, o: Term) -> None:
        if isinstance(p, str):
            p = ox.NamedNode(p)
        self._triples.add(ox.Triple(s, p, o))

    def update(self, triples: Iterable[ox.Triple]) -> None:
        self._triples.update(triples)

    def discard(self, triple: ox.Triple) -> None:
        self._triples.discard(triple)

    def rename(self, mapping: dict[str, str]) -> int:
        """Replace the IRIs ``mapping`` names (subjects and objects, e.g. redirects → canonical
        entities); returns how many triples changed."""
        if not mapping:
            return 0
        changed = [t for t in self._triples
                   if (isinstance(t.subject, ox.NamedNode) and t.subject.value in mapping)
                   or (isinstance(t.object, ox.NamedNode) and t.object.value in mapping)]
        for t in changed:
            self._triples.discard(t)
            s, o = t.subject, t.object
            if isinstance(s, ox.NamedNode) and s.value in mapping:
                s = ox.NamedNode(mapping[s.value])
            if isinstance(o, ox.NamedNode) and o.value in mapping:
                o = ox.NamedNode(mapping[o.value])
            self._triples.add(ox.Triple(s, t.predicate, o))
        return len(changed)

    def write_ntriples(self, path: str | os.PathLike) -> int:
        """Write sorted N-Triples atomically; returns the triple count."""
        lines = sorted(f"{t} .\n" for t in self._triples)
        with atomic_path(path) as tmp:
            with open(tmp, "w", encoding="utf-8") as fh:
                fh.writelines(lines)
        return len(lines)


def rdf_format_for(path: str | os.PathLike, fmt: str | None = None) -> ox.RdfFormat:
    """The RDF format of ``path`` from an explicit name or its extension."""
    if fmt:
        by_name = {"nt": ".nt", "ntriples": ".nt", "n-triples": ".nt", "turtle": ".ttl", "ttl": ".ttl",
                   "nquads": ".nq", "trig": ".trig", "xml": ".rdf", "rdfxml": ".rdf"}
        ext = by_name.get(fmt.lower())
        if ext is None:
            raise InputError(f"unknown RDF format {fmt!r}", f"use one of {', '.join(sorted(by_name))}")
        return RDF_FORMATS[ext]
    suffix = Path(path).suffix.lower()
    if suffix == ".gz":
        raise InputError(f"{path} is compressed", "decompress it first (gunzip) and pass the .nt/.ttl file")
    if suffix not in RDF_FORMATS:
        raise InputError(f"cannot tell the RDF format of {path}",
                         "name the file .nt or .ttl, or pass --format nt|turtle|xml")
    return RDF_FORMATS[suffix]


def read_rdf_file(path: str | os.PathLike, fmt: str | None = None) -> TripleSet:
    """Parse an RDF file (any graph in a dataset format is merged) into a TripleSet."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"no such RDF file: {path}", "check the path")
    rdf_format = rdf_format_for(path, fmt)
    triples = TripleSet()
    try:
        with open(path, "rb") as fh:
            for quad in ox.parse(fh, format=rdf_format, base_iri=path.resolve().as_uri()):
                triples._triples.add(quad.triple)
    except SyntaxError as exc:
        raise InputError(f"{path} is not valid {rdf_format.name}: {str(exc).splitlines()[0]}",
                         "fix the file (or pass the right --format)") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read {path}: {exc}", "check the file's permissions and encoding") from None
    return triples
