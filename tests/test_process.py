"""Tests for :mod:`artkg.kg.process`: N-Triples → processed graph.

Two kinds of checks:

* explicit expectations on a small hand-written file (types by rule priority, sorted id maps,
  label language preference, earliest/BCE years, de-duplicated sorted edges, skipped counts,
  evidence aligned with the influence edges);
* equivalence with :func:`_reference_process_triples`, a frozen copy of the original
  (loop-based) implementation, on the hand-written file, on non-canonical variants of it (that
  exercise the fallbacks of the fast reader), on a synthetic world (sorted and shuffled), and on
  ``process_triples`` fed with pyoxigraph quads. "Equivalent" means every field equal, including
  dict orders (``skipped`` is written to the manifest in that order), dtypes and NaNs.
"""
from __future__ import annotations

import math
import random
from collections import defaultdict
from pathlib import Path

import numpy as np
import pyoxigraph as ox
import pytest

from artkg.kg import ntriples_reader as proc
from artkg.kg import schema as S
from artkg.kg.process import ProcessedGraph, _year, process_ntriples, process_triples, year_interval

WD = S.WD
XSD_DT = "http://www.w3.org/2001/XMLSchema#dateTime"


# ------------------------------------------------------------------ the reference implementation
# A verbatim copy of artkg/kg/process.py as of the "artkg foundation" commit (before the
# performance work), renamed with a _ref prefix. Do not "fix" it: it defines the behaviour.
_LABEL_LIKE = {S.Literal.label.value: "label", S.Literal.description.value: "description",
               S.Literal.image.value: "image"}
_EVIDENCE_PRED = {S.P + "P737", S.PS + "P737", S.PROV + "wasDerivedFrom"}


def _ref_lang_rank(lang, languages):
    if lang in languages:
        return languages.index(lang)
    return len(languages) if not lang else len(languages) + 1


def _reference_process_ntriples(path, *, source="unknown", languages=("en",)) -> ProcessedGraph:
    with open(path, "rb") as fh:
        return _reference_process_triples(ox.parse(fh, format=ox.RdfFormat.N_TRIPLES),
                                          source=source, languages=languages)


def _reference_process_triples(quads, *, source="unknown", languages=("en",)) -> ProcessedGraph:
    edge_preds = {p: i for i, p in enumerate(S.EDGES_BY_PREDICATE)}
    edge_subj = [[] for _ in edge_preds]
    edge_obj = [[] for _ in edge_preds]
    years = {p: {} for p in S.YEAR_ATTRS}
    texts = {k: {} for k in _LABEL_LIKE.values()}
    evidence_triples = []
    skipped = defaultdict(int)
    named, literal = ox.NamedNode, ox.Literal
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
                value, rank = obj.value, _ref_lang_rank(obj.language, languages)
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
            year = _year(quad.object.value)  # the parser itself is pinned by test_small_graph_explicit
            subj = quad.subject.value
            if not math.isnan(year) and (subj not in table or year < table[subj]):
                table[subj] = year
            continue
        if pred in _EVIDENCE_PRED or pred.startswith(S.PR):
            s = quad.subject
            evidence_triples.append((s.value if type(s) is not ox.BlankNode else "_:" + s.value,
                                     pred, quad.object))
            continue
        skipped["triple with a predicate outside the schema"] += 1

    preds = list(edge_preds)
    node_type = _ref_assign_types(preds, edge_subj, edge_obj, years)
    nodes = defaultdict(list)
    for iri, t in node_type.items():
        nodes[t].append(iri)
    index = {}
    for t in list(nodes):
        nodes[t].sort()
        index.update({iri: i for i, iri in enumerate(nodes[t])})

    edges = _ref_edge_indices(preds, edge_subj, edge_obj, node_type, index, skipped)
    nodes = {t: nodes[t] for t in sorted(nodes, key=lambda t: S.TYPE_PRIORITY[S.NodeType(t)])}
    labels = {t: [texts["label"].get(i, (0, None))[1] for i in iris] for t, iris in nodes.items()}
    descriptions = {t: [texts["description"].get(i, (0, None))[1] for i in iris] for t, iris in nodes.items()}
    images = [texts["image"].get(i, (0, None))[1] for i in nodes.get("artwork", [])]

    node_attrs = defaultdict(dict)
    for pred, (t, attr) in S.YEAR_ATTRS.items():
        if t in nodes:
            node_attrs[t][attr] = np.array([years[pred].get(i, math.nan) for i in nodes[t]], dtype=np.float32)

    evidence = _ref_evidence(edges.get(S.INFLUENCE.key), nodes.get("artist", []), evidence_triples, source)
    return ProcessedGraph(nodes=nodes, labels=labels, descriptions=descriptions, edges=edges,
                          node_attrs=dict(node_attrs), images=images, evidence=evidence,
                          skipped=dict(skipped))


def _ref_assign_types(preds, edge_subj, edge_obj, years):
    where = {p: i for i, p in enumerate(preds)}
    node_type = {}
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


def _ref_edge_indices(preds, edge_subj, edge_obj, node_type, index, skipped):
    edges = {}
    for k, pred in enumerate(preds):
        if not edge_subj[k]:
            continue
        by_types = {(spec.src.value, spec.dst.value): spec.key for spec in S.EDGES_BY_PREDICATE[pred]}
        pairs = defaultdict(list)
        for s, o in zip(edge_subj[k], edge_obj[k]):
            key = by_types.get((node_type.get(s), node_type.get(o)))
            if key is None:
                skipped[f"{S.local_name(pred)} between {node_type.get(s)} and {node_type.get(o)}"] += 1
                continue
            pairs[key].append((index[s], index[o]))
        for key, pair_list in pairs.items():
            arr = np.unique(np.asarray(pair_list, dtype=np.int64), axis=0)
            edges[key] = np.ascontiguousarray(arr.T)
    return dict(sorted(edges.items()))


def _ref_evidence(edge_index, artists, evidence_triples, source):
    if edge_index is None:
        return []
    statement_of, target_of = {}, {}
    refs_of = defaultdict(list)
    ref_values = defaultdict(lambda: defaultdict(list))
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
    refs_by_pair = defaultdict(list)
    for stmt, a in statement_of.items():
        b = target_of.get(stmt)
        if b is None:
            continue
        for ref in sorted(refs_of.get(stmt, [])):
            values = {prop: sorted(v) for prop, v in sorted(ref_values.get(ref, {}).items())}
            refs_by_pair[(a, b)].append(values)
    return [
        {"source": source, "property": "P737", "references": refs_by_pair.get((artists[a], artists[b]), [])}
        for a, b in edge_index.T.tolist()
    ]


# ------------------------------------------------------------------ helpers
def assert_same_graph(got: ProcessedGraph, want: ProcessedGraph) -> None:
    """Every field equal, dict orders included; arrays: same dtype, shape, values (NaN == NaN)."""
    assert list(got.nodes.items()) == list(want.nodes.items())
    assert list(got.labels.items()) == list(want.labels.items())
    assert list(got.descriptions.items()) == list(want.descriptions.items())
    assert got.images == want.images
    assert list(got.edges) == list(want.edges)
    for key, arr in want.edges.items():
        g = got.edges[key]
        assert g.dtype == arr.dtype == np.int64, key
        assert g.shape == arr.shape, key
        assert g.flags.c_contiguous, key
        np.testing.assert_array_equal(g, arr, err_msg=str(key))
    assert list(got.node_attrs) == list(want.node_attrs)
    for t, attrs in want.node_attrs.items():
        assert list(got.node_attrs[t]) == list(attrs), t
        for name, arr in attrs.items():
            g = got.node_attrs[t][name]
            assert g.dtype == arr.dtype, (t, name)
            np.testing.assert_array_equal(g, arr, err_msg=f"{t}.{name}")  # NaNs compare equal
    assert got.evidence == want.evidence
    assert list(got.skipped.items()) == list(want.skipped.items())
    assert got.counts() == want.counts()


def q(n: int) -> str:
    return f"<{WD}Q{n}>"


def wdt(p: str) -> str:
    return f"<{S.WDT}{p}>"


def date(text: str) -> str:
    return f'"{text}"^^<{XSD_DT}>'


LABEL, DESC = f"<{S.RDFS_LABEL}>", f"<{S.SCHEMA_DESCRIPTION}>"
ESCAPED_LABEL = 'Jean "Le Grand" O\'Brien {II}\\ \n\t é ✓'

# The hand-written graph: one triple per line, canonical N-Triples.
LINES = [
    f"{q(10)} {wdt('P170')} {q(1)}",
    f"{q(10)} {wdt('P571')} {date('1503-01-01T00:00:00Z')}",
    f"{q(10)} {wdt('P571')} {date('1501-06-01T00:00:00Z')}",  # two dates: the earliest wins
    f"{q(10)} {wdt('P136')} {q(30)}",
    f"{q(10)} {wdt('P180')} {q(70)}",
    f"{q(10)} {wdt('P186')} {q(60)}",
    f"{q(10)} {wdt('P195')} {q(50)}",
    f"{q(10)} {wdt('P18')} <http://commons.example/b.jpg>",
    f"{q(10)} {wdt('P18')} <http://commons.example/a.jpg>",
    f'{q(10)} {LABEL} "Mona"@fr',
    f'{q(10)} {LABEL} "Gioconda"@it',
    f'{q(10)} {LABEL} "Mona Lisa"',  # no language beats another language
    f"{q(11)} {wdt('P571')} {date('-0449-01-01T00:00:00Z')}",  # XSD 1.1 (year 0 = 1 BCE): 450 BCE
    f'{q(11)} {LABEL} "Zeta"@en',
    f'{q(11)} {LABEL} "Alpha"@en',  # same rank: the smaller value
    f'{q(11)} {LABEL} "Beta"',
    f'{q(11)} {wdt("P18")} "a literal image"',
    f"{q(1)} {wdt('P737')} {q(2)}",
    f"{q(1)} {wdt('P737')} {q(2)}",  # duplicate line: de-duplicated
    f"{q(3)} {wdt('P737')} {q(2)}",
    f"{q(1)} {wdt('P737')} {q(3)}",
    f"{q(1)} {wdt('P1066')} {q(2)}",
    f"{q(1)} {wdt('P569')} {date('1452-04-15T00:00:00Z')}",
    f"{q(1)} {wdt('P569')} {date('1450-01-01T00:00:00Z')}",
    f'{q(1)} {wdt("P570")} "unknown"',  # not a year: NaN, and it types nothing
    f"{q(2)} {wdt('P569')} {date('-0100-01-01T00:00:00Z')}",
    f"{q(1)} {wdt('P135')} {q(20)}",
    f'{q(1)} {wdt("P135")} "Renaissance"@en',  # an edge predicate with a literal: skipped
    f"{q(1)} {wdt('P19')} {q(40)}",
    f"{q(1)} {wdt('P20')} {q(40)}",
    f'{q(1)} {LABEL} "Leonardo"@en',
    f'{q(1)} {DESC} "peintre"@fr',
    f'{q(1)} {DESC} "painter"@en',
    f"{q(2)} {LABEL} <http://example.org/not-a-literal>",  # ignored
    f"{q(3)} {LABEL} {ox.Literal(ESCAPED_LABEL, language='en')}",
    f"{q(10)} {wdt('P737')} {q(1)}",  # the artwork is not an artist: skipped
    f"{q(80)} {wdt('P131')} {q(40)}",  # untyped subject: skipped
    f"{q(50)} {wdt('P131')} {q(40)}",
    f"{q(40)} {wdt('P17')} {q(41)}",
    f"{q(2)} {wdt('P21')} {q(5)}",  # outside the schema
    # evidence: a statement with a reference, and one with blank nodes
    f"{q(1)} <{S.P}P737> <{WD}statement/S1>",
    f"<{WD}statement/S1> <{S.PS}P737> {q(2)}",
    f"<{WD}statement/S1> <{S.PROV}wasDerivedFrom> <{WD}reference/R1>",
    f"<{WD}reference/R1> <{S.PR}P854> <http://example.org/src>",
    f"<{WD}reference/R1> <{S.PR}P248> {q(99)}",
    f"{q(3)} <{S.P}P737> _:s2",
    f"_:s2 <{S.PS}P737> {q(2)}",
    f"_:s2 <{S.PROV}wasDerivedFrom> _:r2",
    f"_:r2 <{S.PR}P248> {q(98)}",
]


def iri(n: int) -> str:
    return f"{WD}Q{n}"


@pytest.fixture()
def small_nt(tmp_path) -> Path:
    path = tmp_path / "small.nt"
    path.write_text("".join(line + " .\n" for line in LINES), encoding="utf-8")
    return path


# ------------------------------------------------------------------ explicit behaviour
def test_small_graph_explicit(small_nt):
    g = process_ntriples(small_nt, source="test")
    assert g.nodes == {
        "artwork": [iri(10), iri(11)],
        "artist": [iri(1), iri(2), iri(3)],
        "movement": [iri(20)],
        "genre": [iri(30)],
        "collection": [iri(50)],
        "material": [iri(60)],
        "subject": [iri(70)],
        "place": [iri(40), iri(41)],
    }
    assert list(g.nodes) == ["artwork", "artist", "movement", "genre", "collection", "material",
                             "subject", "place"]  # TYPE_PRIORITY order
    assert g.labels["artwork"] == ["Mona Lisa", "Alpha"]
    assert g.labels["artist"] == ["Leonardo", None, ESCAPED_LABEL]
    assert g.descriptions["artist"] == ["painter", None, None]
    assert g.images == ["http://commons.example/a.jpg", "a literal image"]
    e = {k: v.tolist() for k, v in g.edges.items()}
    assert e == {
        ("artist", "born_in", "place"): [[0], [0]],
        ("artist", "died_in", "place"): [[0], [0]],
        ("artist", "influenced_by", "artist"): [[0, 0, 2], [1, 2, 1]],
        ("artist", "movement", "movement"): [[0], [0]],
        ("artist", "student_of", "artist"): [[0], [1]],
        ("artwork", "created_by", "artist"): [[0], [0]],
        ("artwork", "depicts", "subject"): [[0], [0]],
        ("artwork", "genre", "genre"): [[0], [0]],
        ("artwork", "in_collection", "collection"): [[0], [0]],
        ("artwork", "made_of", "material"): [[0], [0]],
        ("collection", "located_in", "place"): [[0], [0]],
        ("place", "located_in", "place"): [[0], [1]],
    }
    assert list(g.edges) == sorted(g.edges)
    np.testing.assert_array_equal(g.node_attrs["artist"]["birth_year"], np.array([1450, -101, np.nan], np.float32))
    np.testing.assert_array_equal(g.node_attrs["artist"]["death_year"], np.full(3, np.nan, np.float32))
    np.testing.assert_array_equal(g.node_attrs["artwork"]["year"], np.array([1501, -450], np.float32))
    assert list(g.node_attrs) == ["artist", "artwork"]
    assert g.skipped == {
        "edge with a literal object": 1,
        "triple with a predicate outside the schema": 1,
        "P737 between artwork and artist": 1,
        "P131 between None and place": 1,
    }
    assert list(g.skipped)[2:] == ["P737 between artwork and artist", "P131 between None and place"]
    assert g.evidence == [
        {"source": "test", "property": "P737",
         "references": [{"P248": [iri(99)], "P854": ["http://example.org/src"]}]},  # Q1 → Q2
        {"source": "test", "property": "P737", "references": []},  # Q1 → Q3
        {"source": "test", "property": "P737", "references": [{"P248": [iri(98)]}]},  # Q3 → Q2
    ]


def test_language_preference_is_configurable(small_nt):
    g = process_ntriples(small_nt, languages=("fr", "en"))
    assert g.labels["artwork"][0] == "Mona"
    assert g.descriptions["artist"][0] == "peintre"
    assert_same_graph(g, _reference_process_ntriples(small_nt, languages=("fr", "en")))


def test_small_graph_matches_reference(small_nt):
    assert_same_graph(process_ntriples(small_nt, source="s"), _reference_process_ntriples(small_nt, source="s"))


# ------------------------------------------------------------------ non-canonical inputs
VARIANT_LINES = [
    "# a comment line",
    "",
    f"{q(12)}\t{wdt('P170')}  {q(1)}\t.  # tabs, two spaces, a trailing comment",
    f'{q(12)} {LABEL} "Upper case tag"@EN-GB .',
    f'{q(12)} {DESC} "typed string"^^<http://www.w3.org/2001/XMLSchema#string> .',
    f'{q(12)} {LABEL} "esc\\u00E9aped \\"x\\""@en .',
    f"{q(12)} {wdt('P571')} \"1600\"^^<http://www.w3.org/2001/XMLSchema#gYear> .",
    f"{q(12)} {wdt('P571')} \" 1599 \" .",
    f"{q(13)} {wdt('P571')} \"+1700-01-01\" .",
    f"{q(13)} {wdt('P18')} _:img .",
    f"_:b1 {wdt('P170')} {q(2)} .",  # a blank subject is kept under its id, as before
    f"_:b1 {LABEL} \"blank artwork\"@en .",
    f"{q(14)} {wdt('P737')} _:b2 .",  # a blank object of an edge predicate
    f"{q(15)} {wdt('P569')} <http://example.org/1800> .",
    f"{q(16)} {wdt('P135')} <<( {q(1)} {wdt('P135')} {q(20)} )>> .",  # a triple term object
    f'{q(17)} {LABEL} "directional"@ar--rtl .',
    f'{q(18)} {LABEL} "raw\x01control"@en .',
    f"<{WD}Q19> <http://example.org/p\\u0041> {q(1)} .",  # an escaped IRI
    f"{q(1)} {wdt('P737')} {q(4)} .",
    f"{q(4)} {wdt('P569')} \"-0002\"^^<http://www.w3.org/2001/XMLSchema#gYear> .",
]


@pytest.mark.parametrize("eol", ["\n", "\r\n"])
def test_noncanonical_lines_match_reference(tmp_path, eol):
    body = "".join(line + " .\n" for line in LINES) + "".join(line + "\n" for line in VARIANT_LINES)
    path = tmp_path / "variants.nt"
    path.write_bytes(body.replace("\n", eol).encode("utf-8"))
    assert_same_graph(process_ntriples(path, source="v"), _reference_process_ntriples(path, source="v"))


def test_file_without_final_newline(tmp_path):
    path = tmp_path / "nofinal.nt"
    path.write_text("".join(line + " .\n" for line in LINES).rstrip("\n"), encoding="utf-8")
    assert_same_graph(process_ntriples(path), _reference_process_ntriples(path))


def test_empty_file(tmp_path):
    path = tmp_path / "empty.nt"
    path.write_bytes(b"")
    assert_same_graph(process_ntriples(path), _reference_process_ntriples(path))


@pytest.mark.parametrize("bad", [
    f"{q(1)} {wdt('P737')} <relative> .",
    f"{q(1)} {wdt('P737')} <http://a b> .",
    f"{q(1)} {wdt('P737')} {q(2)}",  # no final dot
    f'{q(1)} {LABEL} "unterminated@en .',
    f'{q(1)} {LABEL} "x"^^<http://www.w3.org/1999/02/22-rdf-syntax-ns#langString> .',
    "\ufeff" + f"{q(1)} {wdt('P737')} {q(2)} .",
    f'{q(1)} {LABEL} "bad \\q escape" .',
])
def test_invalid_input_raises_like_before(tmp_path, bad):
    path = tmp_path / "bad.nt"
    path.write_text("".join(line + " .\n" for line in LINES[:5]) + bad + "\n", encoding="utf-8")
    with pytest.raises(SyntaxError) as want:
        _reference_process_ntriples(path)
    with pytest.raises(SyntaxError) as got:
        process_ntriples(path)
    assert str(got.value) == str(want.value)


def test_invalid_utf8_raises_like_before(tmp_path):
    path = tmp_path / "bad.nt"
    path.write_bytes(f'{q(1)} {LABEL} "'.encode() + b"\xff\xfe" + b'"@en .\n')
    with pytest.raises(SyntaxError) as want:
        _reference_process_ntriples(path)
    with pytest.raises(SyntaxError) as got:
        process_ntriples(path)
    assert str(got.value) == str(want.value)


# ------------------------------------------------------------------ synthetic worlds
@pytest.fixture(scope="module")
def world_nt(tmp_path_factory) -> Path:
    from artkg.kg.synth import generate_world

    out = tmp_path_factory.mktemp("procworld")
    summary = generate_world(out, n_artists=80, render_images=False, progress=False)
    return Path(summary["world_nt"])


def test_world_matches_reference(world_nt):
    got = process_ntriples(world_nt, source="synth")
    assert_same_graph(got, _reference_process_ntriples(world_nt, source="synth"))
    assert got.counts()["nodes"]["artist"] == 80
    assert len(got.evidence) == got.edges[S.INFLUENCE.key].shape[1]


def test_graph_nt_matches_reference(world_nt, tmp_path):
    """The real path: graph.nt as GraphDir.finalize writes it (sorted canonical N-Triples)."""
    from artkg.kg.triples import read_rdf_file

    nt = tmp_path / "graph.nt"
    read_rdf_file(world_nt).write_ntriples(nt)
    for languages in (("en",), ("de", "en"), ()):
        assert_same_graph(process_ntriples(nt, languages=languages),
                          _reference_process_ntriples(nt, languages=languages))


def test_shuffled_world_matches_reference(world_nt, tmp_path):
    lines = world_nt.read_text(encoding="utf-8").splitlines(keepends=True)
    random.Random(3).shuffle(lines)
    lines += lines[:500]  # duplicate lines too
    path = tmp_path / "shuffled.nt"
    path.write_text("".join(lines), encoding="utf-8")
    assert_same_graph(process_ntriples(path, source="x"), _reference_process_ntriples(path, source="x"))


def test_process_triples_matches_reference(world_nt, small_nt):
    for path in (world_nt, small_nt):
        quads = list(ox.parse(path=str(path), format=ox.RdfFormat.N_TRIPLES))
        assert_same_graph(process_triples(iter(quads), source="q"), _reference_process_triples(quads, source="q"))
        triples = [quad.triple for quad in quads]
        assert_same_graph(process_triples(triples, source="q"), _reference_process_triples(triples, source="q"))


def test_process_triples_on_an_empty_iterable():
    assert_same_graph(process_triples([]), _reference_process_triples([]))


def test_canonical_files_take_the_fast_path(world_nt, tmp_path):
    """graph.nt-shaped input is read without pyoxigraph except for its escaped literals."""
    if not hasattr(proc, "read_canonical"):
        pytest.skip("no fast reader in this version")
    from artkg.kg.triples import read_rdf_file

    nt = tmp_path / "graph.nt"
    read_rdf_file(world_nt).write_ntriples(nt)
    columns = proc.read_canonical(nt)
    assert columns is not None
    escaped = sum("\\" in line for line in nt.read_text(encoding="utf-8").splitlines())
    assert columns.fallback_lines == escaped


@pytest.mark.parametrize("block", [1 << 10, 4099])
def test_small_blocks_match_reference(world_nt, small_nt, tmp_path, monkeypatch, block):
    """Files read in many blocks (lines cut at block ends, terms repeated across blocks)."""
    from artkg.kg.triples import read_rdf_file

    nt = tmp_path / "graph.nt"
    read_rdf_file(world_nt).write_ntriples(nt)
    monkeypatch.setattr(proc, "_BLOCK", block)
    for path in (nt, small_nt):
        assert_same_graph(process_ntriples(path), _reference_process_ntriples(path))


def test_line_longer_than_a_block(tmp_path, monkeypatch):
    path = tmp_path / "long.nt"
    path.write_text("".join(line + " .\n" for line in LINES)
                    + f'{q(1)} {DESC} "{"x" * 3000}"@en .\n', encoding="utf-8")
    monkeypatch.setattr(proc, "_BLOCK", 1024)
    assert_same_graph(process_ntriples(path), _reference_process_ntriples(path))


def test_long_terms_and_many_languages(tmp_path):
    """Terms longer than the word limit of the fast reader, and several literal suffixes."""
    long_iri = f"<http://example.org/{'a' * 300}>"
    lines = [f"{q(1)} {wdt('P737')} {long_iri} .", f"{long_iri} {wdt('P737')} {q(2)} .",
             f'{long_iri} {LABEL} "{"é" * 200}"@fr .', f'{long_iri} {LABEL} "short"@de-ch .',
             f"{q(3)} {wdt('P569')} \"1700\"^^<http://www.w3.org/2001/XMLSchema#gYear> ."]
    path = tmp_path / "long.nt"
    path.write_text("".join(line + " .\n" for line in LINES) + "\n".join(lines) + "\n", encoding="utf-8")
    assert_same_graph(process_ntriples(path), _reference_process_ntriples(path))


# ------------------------------------------------------------------ Wikidata semantics (issue 13 §1)
def _process_lines(tmp_path, lines: list[str], **kw) -> ProcessedGraph:
    path = tmp_path / "g.nt"
    path.write_text("".join(line + " .\n" for line in lines), encoding="utf-8")
    return process_ntriples(path, **kw)


P31, P279 = wdt("P31"), wdt("P279")
HUMAN, PAINTING, MOVEMENT = q(5), q(3305213), q(968159)


def test_classes_type_entities_before_the_predicate_rules(tmp_path):
    g = _process_lines(tmp_path, [
        f"{q(1)} {P31} {HUMAN}", f"{q(2)} {P31} {HUMAN}",
        f"{q(1)} {wdt('P737')} {q(2)}",
        f"{q(1)} {wdt('P737')} {q(20)}", f"{q(20)} {P31} {MOVEMENT}",
        f"{q(20)} {wdt('P571')} {date('1860-01-01T00:00:00Z')}",  # an inception: still a movement
        f"{q(1)} {wdt('P135')} {q(20)}",
        f"{q(1)} {wdt('P737')} {q(30)}", f"{q(30)} {P31} {q(900)}", f"{q(900)} {P279} {PAINTING}",
        f"{q(1)} {wdt('P737')} {q(40)}", f"{q(40)} {P31} {q(901)}",  # a class none of ours
        f"{q(1)} {wdt('P737')} {q(50)}",  # no class at all, in a source that says who is human
    ])
    assert g.nodes == {"artwork": [iri(30)], "artist": [iri(1), iri(2)], "movement": [iri(20)]}
    assert {k: v.tolist() for k, v in g.edges.items()} == {
        ("artist", "influenced_by", "artist"): [[0], [1]],
        ("artist", "influenced_by", "artwork"): [[0], [0]],
        ("artist", "influenced_by", "movement"): [[0], [0]],
        ("artist", "movement", "movement"): [[0], [0]],
    }
    assert g.skipped == {"P737 between artist and None": 2}
    assert "artwork" not in g.node_attrs or np.isnan(g.node_attrs["artwork"]["year"]).all()


def test_without_classes_the_predicate_rules_decide_as_before(tmp_path):
    g = _process_lines(tmp_path, [f"{q(1)} {wdt('P737')} {q(2)}", f"{q(20)} {wdt('P571')} {date('1860-01-01T00:00:00Z')}"])
    assert g.nodes == {"artwork": [iri(20)], "artist": [iri(1), iri(2)]}


def test_years_follow_xsd_1_1_and_precision_gives_an_interval():
    assert [_year(v) for v in ("1850-01-01T00:00:00Z", "+1850-01-01T00:00:00Z", "0000-01-01T00:00:00Z",
                               "-0469-01-01T00:00:00Z", "-0001")] == [1850, 1850, -1, -470, -2]
    assert year_interval(1601, 7) == (1601, 1700)  # the 17th century
    assert year_interval(1600, 7) == (1501, 1600)  # the 16th
    assert year_interval(1655, 8) == (1650, 1659)
    assert year_interval(-470, 7) == (-500, -401)  # the 5th century BCE
    assert year_interval(1841, 11) == (1841, 1841)
    assert year_interval(1841, math.nan) == (1841, 1841)


def test_precision_unknown_and_several_values_from_the_crawl(tmp_path):
    g = _process_lines(tmp_path, [
        f"{q(1)} {wdt('P569')} {date('1601-01-01T00:00:00Z')}",
        f'{q(1)} <{S.DATE_PRECISION}P569> "7"^^<http://www.w3.org/2001/XMLSchema#integer>',
        f"{q(1)} <{S.UNKNOWN_VALUE}> {wdt('P570')}",
        f"{q(1)} <{S.SEVERAL_VALUES}> {wdt('P569')}",
        f"{q(2)} {wdt('P569')} {date('1700-01-01T00:00:00Z')}",
    ])
    attrs = g.node_attrs["artist"]
    np.testing.assert_array_equal(attrs["birth_year"], np.array([1601, 1700], np.float32))
    np.testing.assert_array_equal(attrs["birth_precision"], np.array([7, np.nan], np.float32))
    np.testing.assert_array_equal(attrs["death_unknown"], np.array([1, 0], np.float32))
    assert g.skipped == {"P569 with several best-rank values (earliest kept)": 1}, "the crawl's markers are no skips"


def test_labels_fall_back_to_mul_before_other_languages(tmp_path):
    lines = [f"{q(1)} {wdt('P569')} {date('1601-01-01T00:00:00Z')}",
             f'{q(1)} {LABEL} "Aa"@de', f'{q(1)} {LABEL} "Name"@mul', f'{q(1)} {LABEL} "Nom"@fr']
    assert _process_lines(tmp_path, lines).labels["artist"] == ["Name"]
    assert _process_lines(tmp_path, lines, languages=("fr",)).labels["artist"] == ["Nom"]
    assert _process_lines(tmp_path, lines[:2]).labels["artist"] == ["Aa"]  # any label


def test_evidence_only_from_best_rank_statements(tmp_path):
    st, ref = f"<{WD}statement/", f"<{WD}reference/"
    rank = f"<{S.WIKIBASE}rank>"
    lines = [f"{q(1)} {wdt('P737')} {q(2)}", f"{q(1)} {wdt('P737')} {q(3)}",
             f"{q(1)} <{S.P}P737> {st}A>", f"{st}A> <{S.PS}P737> {q(2)}", f"{st}A> {rank} <{S.PREFERRED_RANK}>",
             f"{st}A> <{S.PROV}wasDerivedFrom> {ref}A>", f"{ref}A> <{S.PR}P248> {q(900)}",
             f"{ref}A> <{S.PRV}P813> <http://www.wikidata.org/value/abc>",  # a full value node: never evidence
             f"{st}A> <{S.PQ}P1480> {q(18122778)}",
             f"{q(1)} <{S.P}P737> {st}B>", f"{st}B> <{S.PS}P737> {q(3)}", f"{st}B> {rank} <{S.NORMAL_RANK}>",
             f"{st}B> <{S.PROV}wasDerivedFrom> {ref}B>", f"{ref}B> <{S.PR}P248> {q(901)}",
             f"{st}B> <{S.PQ}P1480> {q(18122778)}", f'{q(18122778)} {LABEL} "presumably"@en',
             f"{q(1)} <{S.P}P737> {st}C>", f"{st}C> <{S.PS}P737> {q(2)}", f"{st}C> {rank} <{S.DEPRECATED_RANK}>",
             f"{st}C> <{S.PROV}wasDerivedFrom> {ref}C>", f"{ref}C> <{S.PR}P248> {q(902)}",
             f"{st}C> <{S.PQ}P2241> {q(903)}"]
    g = _process_lines(tmp_path, lines, source="t")
    assert g.evidence == [
        {"source": "t", "property": "P737", "references": [{"P248": [iri(900)]}],
         "qualifiers": {"P1480": [iri(18122778)]}, "deprecated": [{"P2241": [iri(903)]}],
         "labels": {iri(18122778): "presumably"}},
        # Q1 has a preferred P737 statement: a normal one is not of the best rank (on WDQS it would have
        # no truthy edge at all): neither its references nor its qualifiers back this edge.
        {"source": "t", "property": "P737", "references": []},
    ]
    assert g.skipped == {"triple with a predicate outside the schema": 1}  # the prv: triple
