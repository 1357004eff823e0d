"""The graph directory: the unit users build, pass around and load.

Layout::

    GRAPH_DIR/
      manifest.json            counts, source, query hashes, date, artkg and schema versions
      raw/                     raw source responses (SPARQL JSON by sha256(endpoint+query))
      graph.nt                 all triples, sorted N-Triples (Wikidata vocabulary)
      store/                   an Oxigraph store of graph.nt, for SPARQL (``wdt:P737+`` …)
      processed/
        tensors.safetensors    edge indices and numeric node attributes
        nodes.json             per node type: IRIs (index order), labels, descriptions; artwork images
        edge_strings.json      string tables of int-coded edge attributes (visual links' sources), if any
        evidence.json          one record per (artist, influenced_by, artist) edge, same order

Derived parts are built in a staging folder of their own (``.staging-<pid>-<random>/``) and moved
into place; ``manifest.json`` is written last, with the size and sha256 of every file
(:mod:`artkg.kg.integrity`), so a directory without it is an unfinished build (its ``raw/`` cache is
kept for resuming) and one whose files no longer match it is reported as damaged. Builders hold the
directory's lock (:mod:`artkg.kg.lock`) for the whole build.
"""
from __future__ import annotations

import datetime as dt
import json
import logging
import os
import secrets
import shutil
import time
from pathlib import Path

import numpy as np
import pyoxigraph as ox
from safetensors.numpy import save_file

from artkg._version import __version__
from artkg.kg import schema as S
from artkg.kg.atomic import replace_dir, write_json
from artkg.kg.errors import InputError
from artkg.kg.ids import extend_id_map, id_map_hash, id_map_hashes, previous_id_map, why_not_extendable
from artkg.kg.process import ProcessedGraph, process_ntriples
from artkg.kg.triples import TripleSet

log = logging.getLogger("artkg")

MANIFEST = "manifest.json"
FORMAT_VERSION = 1


class GraphDir:
    """Paths of a graph directory and the steps that fill it."""

    def __init__(self, root: str | Path):
        self.root = Path(root)
        self.token = f"{os.getpid()}-{secrets.token_hex(3)}"  # this build's own staging names

    raw = property(lambda self: self.root / "raw")
    ntriples = property(lambda self: self.root / "graph.nt")
    store = property(lambda self: self.root / "store")
    processed = property(lambda self: self.root / "processed")
    manifest_path = property(lambda self: self.root / MANIFEST)
    staging = property(lambda self: self.root / f".staging-{self.token}")

    def scratch(self, name: str) -> Path:
        """A folder of this build's own for a builder's files (moved in through ``finalize(parts=…)``)."""
        return self.root / f".{name}-{self.token}"

    def prepare(self, overwrite_other_source: str | None = None) -> None:
        """Create the directory; refuse to mix into a graph built from another source."""
        if self.root.exists() and not self.root.is_dir():
            raise InputError(f"{self.root} exists and is not a directory", "choose another --out")
        if self.manifest_path.exists() and overwrite_other_source:
            old = json.loads(self.manifest_path.read_text())
            if old.get("source", {}).get("kind") not in (None, overwrite_other_source):
                raise InputError(
                    f"{self.root} already holds a graph built by `kgbuild {old['source']['kind']}`",
                    "choose another --out, or delete that directory first")
        self.root.mkdir(parents=True, exist_ok=True)
        for stale in self.root.glob(".*-*-*"):  # left by a killed build (the caller holds the lock)
            if stale.is_dir() and stale.name.split("-", 1)[0] in (".staging", ".synth", ".parts"):
                shutil.rmtree(stale, ignore_errors=True)
        old = self.root / ".staging"  # the shared name of earlier versions
        if old.is_dir():
            shutil.rmtree(old, ignore_errors=True)

    def manifest(self) -> dict:
        if not self.root.is_dir():
            raise InputError(f"no graph directory at {self.root}",
                             "build one with `kgbuild synth|wikidata|rdf|wikiart|artgraph ... --out DIR`")
        if not self.manifest_path.exists():
            hint = "(its raw/ cache is kept: rerun the same kgbuild command to resume)" if self.raw.exists() else ""
            raise InputError(f"{self.root} is not a finished artkg graph directory (no {MANIFEST}) {hint}".strip(),
                             "build one with `kgbuild synth|wikidata|rdf|wikiart|artgraph ... --out DIR`")
        try:
            manifest = json.loads(self.manifest_path.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError) as exc:
            raise InputError(f"{self.manifest_path} is corrupt (not JSON: {exc})",
                             "rebuild the directory with the kgbuild command that made it") from None
        if not isinstance(manifest, dict) or "counts" not in manifest:
            raise InputError(f"{self.manifest_path} is not an artkg manifest",
                             "rebuild the directory with the kgbuild command that made it")
        return manifest

    def verify(self, deep: bool = False) -> list[str]:
        """What no longer matches the manifest (missing, truncated or, when ``deep``, changed files)."""
        from artkg.kg.integrity import verify

        return verify(self.root, self.manifest(), deep=deep)

    def finalize(self, triples: TripleSet, *, source: dict, queries: list[str] | None = None,
                 extra: dict | None = None, build_store: bool = True,
                 languages: tuple[str, ...] = ("en",), parts: dict[str, Path | None] | None = None,
                 keep_ids: bool | None = None, dropped: dict | None = None) -> dict:
        """Write graph.nt, the store and the processed graph atomically, then the manifest.

        ``keep_ids``: keep the id map of the graph already in the directory and append new nodes
        (``None``, the default: when it can be extended; ``True``: or stop; ``False``: sorted ids).
        ``dropped`` maps a reason to what the builder left out for it (a list, a count, or a
        ``(count, examples)`` pair); the manifest's ``dropped`` gathers it with the processing's
        skips and the isolated nodes.

        ``parts`` maps names in the directory to files or folders a builder staged elsewhere (``None``:
        remove that name); they are moved into place with the derived parts, only once all of them
        were built, so a failed build leaves the previous directory as it was.
        """
        if len(triples) == 0:
            raise InputError(f"the {source.get('kind', 'source')} build produced no triples",
                             "check the seeds/inputs: nothing matched the artkg schema")
        t0 = time.perf_counter()
        if self.staging.exists():
            shutil.rmtree(self.staging)
        previous = previous_id_map(self.root) if keep_ids is not False else None
        history: list[str] = []
        renumbered = None
        self.staging.mkdir(parents=True)
        nt = self.staging / "graph.nt"
        try:
            n_triples = triples.write_ntriples(nt)
            graph = process_ntriples(nt, source=_source_name(source), languages=languages)
            if not graph.nodes:
                where = f" in {source['path']}" if source.get("path") else ""
                raise InputError(f"no triple{where} matched the artkg schema (no artist, artwork or class node)",
                                 "the input must use the Wikidata vocabulary (wdt:P170, wdt:P737 …); see `artkg schema`")
            if previous is not None:
                old_map, old_manifest = previous
                renumbered = why_not_extendable(graph.nodes, old_map)
                if renumbered is None:
                    extend_id_map(graph, old_map)
                    same = old_manifest.get("id_map_hash") == id_map_hash(graph.nodes)
                    history = list(old_manifest.get("id_map_history", [])) if same else id_map_hashes(old_manifest)
                elif keep_ids:
                    raise InputError(f"cannot keep the node ids of the graph in {self.root}: {renumbered}",
                                     "rebuild with --new-ids (its runs, indexes and features then need redoing), "
                                     "or build into another --out")
                else:
                    log.warning("node ids renumbered: %s (runs, indexes and features of the earlier build no "
                                "longer match)", renumbered)
            save_processed(graph, self.staging / "processed")
            if build_store:
                store = ox.Store(str(self.staging / "store"))
                store.bulk_load(path=str(nt), format=ox.RdfFormat.N_TRIPLES)
                store.flush()
                del store
        except BaseException:
            # Nothing of a failed build stays behind; the previous graph (if any) is untouched.
            shutil.rmtree(self.staging, ignore_errors=True)
            raise
        # Move the derived parts into place; the manifest last marks the build complete.
        if self.manifest_path.exists():
            self.manifest_path.unlink()
        replace_dir(self.staging / "processed", self.processed)
        if build_store:
            replace_dir(self.staging / "store", self.store)
        elif self.store.exists():
            shutil.rmtree(self.store)
        nt.replace(self.ntriples)
        for name, src in (parts or {}).items():
            dst = self.root / name
            if src is not None and Path(src).is_dir():
                replace_dir(Path(src), dst)
            elif src is not None:
                Path(src).replace(dst)
            elif dst.is_dir():
                shutil.rmtree(dst)
            elif dst.exists():
                dst.unlink()
        shutil.rmtree(self.staging)
        from artkg.kg.integrity import file_record

        manifest = {
            "artkg_version": __version__,
            "format_version": FORMAT_VERSION,
            "schema_version": S.SCHEMA_VERSION,
            "schema_fingerprint": S.schema_fingerprint(),
            "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "source": source,
            "queries": sorted(queries or []),
            "triples": n_triples,
            "counts": graph.counts(),
            "skipped": graph.skipped,
            "id_map_hash": id_map_hash(graph.nodes),
            "id_map_history": history,
            "dropped": drop_report(graph, dropped, renumbered, triples),
            "store": build_store,
            **(extra or {}),
            "files": file_record(self.root),
        }
        write_json(self.manifest_path, manifest)
        log.info("graph written to %s: %d triples, %s (%.1f s)", self.root, n_triples,
                 ", ".join(f"{n} {t}" for t, n in manifest["counts"]["nodes"].items()), time.perf_counter() - t0)
        return manifest


def _source_name(source: dict) -> str:
    kind = source.get("kind", "unknown")
    where = source.get("endpoint") or source.get("path")
    return f"{kind}:{where}" if where else kind


EXAMPLES = 5


def drop_report(graph: ProcessedGraph, dropped: dict | None = None, renumbered: str | None = None,
                triples: TripleSet | None = None) -> dict[str, dict]:
    """What a build left out and why: ``{reason: {"count": n, "examples": [...]}}``.

    The processing's skips (triples outside the schema, edges whose ends have the wrong types),
    what the builder reports (``dropped``), and the nodes left without any edge: orphans of
    skipped edges (an end of an edge triple in ``triples``, but of no kept edge) apart from the
    nodes that never had an edge (e.g. an artist known only by a birth date).
    """
    report: dict[str, dict] = {}
    for reason, n in graph.skipped.items():
        report[reason] = {"count": int(n), "examples": []}
    for reason, what in (dropped or {}).items():
        if isinstance(what, tuple):  # (count, examples)
            count, examples = what
        elif isinstance(what, int):
            count, examples = what, []
        else:
            count, examples = len(what), list(what)
        if count:
            report[reason] = {"count": int(count), "examples": [str(x) for x in examples[:EXAMPLES]]}
    for t, iris in graph.nodes.items():
        linked = np.zeros(len(iris), dtype=bool)
        for (src, _, dst), index in graph.edges.items():
            if src == t:
                linked[index[0]] = True
            if dst == t:
                linked[index[1]] = True
        isolated = [iris[i] for i in np.flatnonzero(~linked).tolist()]
        if not isolated or not graph.edges:
            continue
        ends = _edge_triple_ends(triples, set(isolated)) if triples is not None else set()
        orphans = [iri for iri in isolated if iri in ends]
        for reason, found in ((f"{t} nodes left without any edge by skipped edges", orphans),
                              (f"{t} nodes that never had an edge", [i for i in isolated if i not in ends])):
            if found:
                report[reason] = {"count": len(found), "examples": found[:EXAMPLES]}
    if renumbered:
        report["node ids renumbered (the earlier id map could not be extended)"] = {"count": 1, "examples": [renumbered]}
    return report


def _edge_triple_ends(triples: TripleSet, wanted: set[str]) -> set[str]:
    """The IRIs of ``wanted`` that are the subject or object of an edge-predicate triple."""
    edge_preds = set(S.EDGES_BY_PREDICATE)
    found = set()
    for t in triples:
        if t.predicate.value in edge_preds:
            for term in (t.subject, t.object):
                if isinstance(term, ox.NamedNode) and term.value in wanted:
                    found.add(term.value)
    return found


def drop_summary(manifest: dict, examples: bool = False) -> str:
    """A short text of the manifest's ``dropped`` (with up to five examples each when asked)."""
    dropped = manifest.get("dropped") or {}
    if not dropped:
        return "nothing was skipped"
    lines = ["skipped" + ("" if examples else " (-v lists examples)") + ":"]
    for reason, entry in sorted(dropped.items(), key=lambda kv: -kv[1]["count"]):
        lines.append(f"  {entry['count']:>9,}  {reason}")
        if examples:
            lines += [f"             e.g. {x}" for x in entry.get("examples", [])]
    return "\n".join(lines)


def save_processed(graph: ProcessedGraph, out: Path) -> None:
    """Tensors as safetensors, maps and evidence as JSON: loading never unpickles anything."""
    out.mkdir(parents=True, exist_ok=True)
    tensors: dict[str, np.ndarray] = {}
    for (src, rel, dst), index in graph.edges.items():
        tensors[f"edge/{src}/{rel}/{dst}"] = np.ascontiguousarray(index, dtype=np.int64)
    for t, attrs in graph.node_attrs.items():
        for name, values in attrs.items():
            tensors[f"node/{t}/{name}"] = np.ascontiguousarray(values)
    for (src, rel, dst), attrs in graph.edge_attrs.items():
        for name, values in attrs.items():
            tensors[f"eattr/{src}/{rel}/{dst}/{name}"] = np.ascontiguousarray(values)
    save_file(tensors, str(out / "tensors.safetensors"), metadata={"artkg": __version__})
    nodes = {
        t: {"iri": iris, "label": graph.labels[t], "description": graph.descriptions[t]}
        for t, iris in graph.nodes.items()
    }
    for t, summaries in graph.summaries.items():  # Wikipedia introductions, where there are any
        nodes[t]["summary"] = summaries
    if "artwork" in nodes:
        nodes["artwork"]["image"] = graph.images
    write_json(out / "nodes.json", nodes, indent=None)
    write_json(out / "evidence.json", named_evidence(graph), indent=None)
    if graph.edge_strings:  # string tables of int-coded edge attributes (visual links' sources)
        write_json(out / "edge_strings.json", {"/".join(k): v for k, v in sorted(graph.edge_strings.items())},
                   indent=None)


def named_evidence(graph: ProcessedGraph) -> list[dict]:
    """The influence edges' evidence with each record naming its subject and object (IRI and label),
    so ``evidence.json`` reads on its own: who was influenced (P737) by whom, per whose references."""
    key = ("artist", "influenced_by", "artist")
    index = graph.edges.get(key)
    if index is None or not graph.evidence:
        return list(graph.evidence)
    iris, labels = graph.nodes.get("artist", []), graph.labels.get("artist", [])
    out = []
    for (a, b), record in zip(np.asarray(index).T.tolist(), graph.evidence):
        out.append({"subject": iris[a], "subject_label": labels[a], "predicate": "influenced by",
                    "object": iris[b], "object_label": labels[b], **record})
    return out
