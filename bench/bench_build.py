"""Build benchmark: N-Triples → processed graph → HeteroData, against a bare pyoxigraph parse and rdflib.

A ~1M-triple N-Triples file in the Wikidata vocabulary (artists, artworks, statements with
references, triples outside the schema; see ``_synthetic.py``) is generated under ``bench/out``
(sorted and canonical, as a graph directory's ``graph.nt``), then each variant runs in its own
process, best of ``--repeat`` (default 3):

* ``bare parse`` (baseline A): ``for _ in pyoxigraph.parse(path=…, format=N_TRIPLES): pass``
* ``process_ntriples``: ``artkg.kg.process.process_ntriples(path)`` alone; and the same before
  the performance work (the frozen copy of the original loop in ``tests/test_process.py``)
* ``ours``: N-Triples → HeteroData, the real path of a build and a load: ``process_ntriples`` +
  ``save_processed`` (safetensors + JSON) + the manifest + ``KnowledgeGraph(dir).data``
  (safetensors/JSON load, ``HeteroData`` with reverse edges, ``validate()``). Imports
  (torch, torch_geometric) happen before the clock starts.
* ``kgbuild rdf``: ``build_graph("rdf", out, path=file)``, what ``kgbuild rdf FILE --out DIR``
  runs: parse and validate the input into a triple set, write the sorted ``graph.nt``, process
  it, bulk-load the Oxigraph store, write the manifest.
* ``rdflib`` (baseline B): ``rdflib.Graph(store="Memory").parse(file, format="nt")`` and one
  iteration over all triples. If the estimate from a 200k-triple prefix exceeds 5 minutes, the
  prefix time scaled linearly is reported instead (said so in the output).

Usage: ``python bench/bench_build.py [--quick] [--triples N] [--repeat R]``. Table on stdout,
JSON in ``bench/out/bench_build.json``, progress on stderr.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import OUT, log, machine, peak_rss_mib, run_worker, summary, table, timed, write_json

SCRIPT = Path(__file__).resolve()
RDFLIB_PREFIX = 200_000
RDFLIB_LIMIT_S = 300.0


# ---------------------------------------------------------------------------------- workers
def _bare(path: str) -> None:
    import pyoxigraph as ox

    for _ in ox.parse(path=path, format=ox.RdfFormat.N_TRIPLES):
        pass


def _ours(path: str, work: Path, parts: dict) -> None:
    """N-Triples → processed graph on disk → loaded HeteroData (what a build plus a load do)."""
    from artkg.kg.graph import KnowledgeGraph
    from artkg.kg.graphdir import FORMAT_VERSION, id_map_hash, save_processed
    from artkg.kg.process import process_ntriples

    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    t0 = time.perf_counter()
    graph = process_ntriples(path, source="bench")
    t1 = time.perf_counter()
    save_processed(graph, work / "processed")
    (work / "manifest.json").write_text(json.dumps({
        "format_version": FORMAT_VERSION, "counts": graph.counts(), "skipped": graph.skipped,
        "id_map_hash": id_map_hash(graph.nodes)}), encoding="utf-8")
    t2 = time.perf_counter()
    data = KnowledgeGraph(work).data
    t3 = time.perf_counter()
    assert data.num_nodes > 0
    for key, dt in (("process_ntriples", t1 - t0), ("save_processed", t2 - t1), ("load_heterodata", t3 - t2)):
        parts.setdefault(key, []).append(dt)


def _kgbuild(path: str, work: Path) -> None:
    from artkg.kg.builders import build_graph

    if work.exists():
        shutil.rmtree(work)
    build_graph("rdf", work, path=path)


def _kgbuild_parts(path: str, work: Path) -> dict:
    """One pass over the steps ``kgbuild rdf`` takes, each timed (same calls as GraphDir.finalize)."""
    import pyoxigraph as ox

    from artkg.kg.graphdir import save_processed
    from artkg.kg.process import process_ntriples
    from artkg.kg.triples import read_rdf_file

    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    parts = {}
    t = time.perf_counter()
    triples = read_rdf_file(path)
    parts["read_rdf_file (parse + validate into a triple set)"] = time.perf_counter() - t
    t = time.perf_counter()
    triples.write_ntriples(work / "graph.nt")
    parts["write_ntriples (sorted graph.nt)"] = time.perf_counter() - t
    del triples
    t = time.perf_counter()
    graph = process_ntriples(work / "graph.nt")
    parts["process_ntriples"] = time.perf_counter() - t
    t = time.perf_counter()
    save_processed(graph, work / "processed")
    parts["save_processed"] = time.perf_counter() - t
    t = time.perf_counter()
    store = ox.Store(str(work / "store"))
    store.bulk_load(path=str(work / "graph.nt"), format=ox.RdfFormat.N_TRIPLES)
    store.flush()
    del store
    parts["Oxigraph store bulk_load"] = time.perf_counter() - t
    return parts


def _rdflib(path: str) -> int:
    import logging

    import rdflib

    # rdflib logs a traceback for each literal it cannot convert (BCE dates): not part of the parse.
    logging.getLogger("rdflib").setLevel(logging.CRITICAL)
    graph = rdflib.Graph(store="Memory")
    graph.parse(path, format="nt")
    n = 0
    for _ in graph:
        n += 1
    return n


def worker(name: str, path: str, repeat: int) -> dict:
    extra: dict = {}
    if name in ("process", "ours", "kgbuild"):
        import pandas  # noqa: F401 - process_ntriples imports it on first use: not part of the measurement

    with tempfile.TemporaryDirectory(prefix=f"bench_{name}_", dir=OUT) as tmp:
        work = Path(tmp) / "graph"
        if name == "bare":
            import pyoxigraph  # noqa: F401

            fn = lambda: _bare(path)
        elif name == "process":
            from artkg.kg.process import process_ntriples

            fn = lambda: process_ntriples(path)
        elif name == "ours":
            import torch_geometric.data  # noqa: F401 - imports are not part of the measurement
            import torch_geometric.transforms  # noqa: F401

            from artkg.kg import graph, graphdir, process  # noqa: F401

            parts: dict = {}
            fn = lambda: _ours(path, work, parts)
            extra["parts"] = parts
        elif name == "kgbuild":
            from artkg.kg import builders  # noqa: F401

            fn = lambda: _kgbuild(path, work)
        elif name == "original":
            sys.path.insert(0, str(SCRIPT.parents[1] / "tests"))
            from test_process import _reference_process_ntriples  # the frozen pre-optimisation code

            fn = lambda: _reference_process_ntriples(path)
        elif name == "rdflib":
            import rdflib  # noqa: F401

            counts: list[int] = []
            fn = lambda: counts.append(_rdflib(path))
            extra["triples_seen"] = counts
        else:
            raise SystemExit(f"unknown worker {name}")
        rss_before = peak_rss_mib()
        times = timed(fn, repeat)
        if name == "kgbuild":
            extra["parts"] = {k: [v] for k, v in _kgbuild_parts(path, work).items()}
    return {"name": name, "wall": times["wall"], "cpu": times["cpu"], "rss_after_imports_mib": rss_before,
            "peak_rss_mib": peak_rss_mib(), **extra}


# ---------------------------------------------------------------------------------- driver
def input_file(n_triples: int, seed: int) -> tuple[Path, int]:
    """The generated file (reused while the generator and its parameters are unchanged)."""
    from _synthetic import write_art_ntriples

    source = (SCRIPT.parent / "_synthetic.py").read_bytes()
    key = hashlib.sha256(source + f"{n_triples}:{seed}".encode()).hexdigest()[:12]
    path = OUT / f"build_{n_triples}_{key}.nt"
    meta = path.with_suffix(".json")
    if path.exists() and meta.exists():
        return path, json.loads(meta.read_text())["triples"]
    for old in OUT.glob(f"build_{n_triples}_*"):
        old.unlink()
    log(f"generating ~{n_triples:,} triples → {path}")
    t0 = time.perf_counter()
    count = write_art_ntriples(path, n_triples, seed=seed)
    meta.write_text(json.dumps({"triples": count, "seed": seed}))
    log(f"generated {count:,} triples ({path.stat().st_size / 2**20:.0f} MiB) in {time.perf_counter() - t0:.1f} s")
    return path, count


def prefix_file(path: Path, lines: int) -> Path:
    out = path.with_name(path.stem + f"_prefix{lines}.nt")
    if not out.exists():
        with open(path, "rb") as src, open(out, "wb") as dst:
            for i, line in enumerate(src):
                if i >= lines:
                    break
                dst.write(line)
    return out


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (CI smoke test)")
    parser.add_argument("--triples", type=int, help="about how many triples (default 1,000,000; quick: 50,000)")
    parser.add_argument("--repeat", type=int, help="runs per variant, best kept (default 3; quick: 2)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--skip", nargs="*", default=[], choices=["original", "kgbuild", "rdflib"],
                        help="variants to leave out")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--path", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(worker(args.worker, args.path, args.repeat or 1)))
        return {}

    n_target = args.triples or (50_000 if args.quick else 1_000_000)
    repeat = args.repeat or (2 if args.quick else 3)
    OUT.mkdir(parents=True, exist_ok=True)
    path, n = input_file(n_target, args.seed)
    size_mib = path.stat().st_size / 2**20
    wargs = ["--path", str(path), "--repeat", str(repeat)]
    results, notes = {}, []
    for name in ("bare", "process", "original", "ours"):
        if name in args.skip:
            continue
        try:
            results[name] = run_worker(SCRIPT, name, wargs)
        except RuntimeError as exc:
            if name != "original":  # (it needs tests/ and pytest: optional)
                raise
            notes.append(f"original implementation not measured: {exc}")
    if "kgbuild" not in args.skip:
        results["kgbuild"] = run_worker(SCRIPT, "kgbuild", wargs)

    rdflib_note = None
    if "rdflib" not in args.skip:
        if n > RDFLIB_PREFIX:
            prefix = prefix_file(path, RDFLIB_PREFIX)
            probe = run_worker(SCRIPT, "rdflib", ["--path", str(prefix), "--repeat", "1"])
            estimate = min(probe["wall"]) * n / RDFLIB_PREFIX
            if estimate > RDFLIB_LIMIT_S:
                scale = n / RDFLIB_PREFIX
                results["rdflib"] = {**probe, "wall": [t * scale for t in probe["wall"]],
                                     "cpu": [t * scale for t in probe["cpu"]], "scaled_from": RDFLIB_PREFIX}
                rdflib_note = (f"rdflib: measured on the first {RDFLIB_PREFIX:,} triples and scaled ×{scale:.2f} "
                               f"(full run estimated at {estimate:.0f} s > {RDFLIB_LIMIT_S:.0f} s); "
                               f"its peak RSS is the prefix's")
            else:
                rdflib_repeat = repeat if estimate < 60 else 1
                results["rdflib"] = run_worker(SCRIPT, "rdflib", ["--path", str(path), "--repeat", str(rdflib_repeat)])
                if rdflib_repeat < repeat:
                    rdflib_note = f"rdflib: 1 run on the full file (estimated {estimate:.0f} s per run)"
        else:
            results["rdflib"] = run_worker(SCRIPT, "rdflib", wargs)

    report = {"benchmark": "bench_build", "quick": args.quick, "triples": n, "file_mib": round(size_mib, 1),
              "file": str(path), "repeat": repeat, "machine": machine(), "variants": {}, "ratios": {},
              "notes": notes + [x for x in [rdflib_note] if x]}
    for name, r in results.items():
        report["variants"][name] = {"wall_s": summary(r["wall"]), "cpu_s": summary(r["cpu"]),
                                    "peak_rss_mib": round(r["peak_rss_mib"], 1),
                                    "rss_after_imports_mib": round(r["rss_after_imports_mib"], 1),
                                    **{k: r[k] for k in ("parts", "scaled_from") if k in r}}
    v = report["variants"]

    def ratio(a: str, b: str, clock: str = "wall_s") -> float | None:
        if a in v and b in v:
            return round(v[a][clock]["best"] / v[b][clock]["best"], 3)
        return None

    report["ratios"] = {
        "ours_over_bare": ratio("ours", "bare"),
        "process_over_bare": ratio("process", "bare"),
        "original_over_bare": ratio("original", "bare"),
        "original_over_process": ratio("original", "process"),
        "kgbuild_over_bare": ratio("kgbuild", "bare"),
        "rdflib_over_ours": ratio("rdflib", "ours"),
        "rdflib_over_process": ratio("rdflib", "process"),
        "cpu": {"ours_over_bare": ratio("ours", "bare", "cpu_s"),
                "process_over_bare": ratio("process", "bare", "cpu_s"),
                "kgbuild_over_bare": ratio("kgbuild", "bare", "cpu_s"),
                "rdflib_over_ours": ratio("rdflib", "ours", "cpu_s")},
        "goals": {"ours_over_bare": "<= 1.5", "rdflib_over_ours": ">= 10"},
    }
    write_json("bench_build", report)
    print(render(report))
    return report


LABELS = {
    "bare": "bare parse (pyoxigraph)",
    "process": "process_ntriples",
    "original": "process_ntriples before (loop)",
    "ours": "ours: N-Triples → HeteroData",
    "kgbuild": "kgbuild rdf (full build)",
    "rdflib": "rdflib Memory parse+iterate",
}


def r_of(report: dict, key: str) -> str:
    x = report["ratios"].get(key)
    return "n/a" if x is None else f"{x:.2f}"


def render(report: dict) -> str:
    v, bare = report["variants"], report["variants"]["bare"]
    rows = []
    for name, r in v.items():
        rows.append([LABELS.get(name, name), f"{r['wall_s']['best']:.3f}", f"{r['wall_s']['median']:.3f}",
                     f"{r['cpu_s']['best']:.3f}", f"{r['wall_s']['best'] / bare['wall_s']['best']:.2f}×",
                     f"{r['peak_rss_mib']:.0f}"])
    head = (f"bench_build: {report['triples']:,} triples ({report['file_mib']} MiB), best of {report['repeat']}, "
            f"{report['machine'].get('cpus')} CPUs, load {report['machine'].get('load_avg')}")
    out = [head, table(rows, ["variant", "wall best s", "wall median s", "cpu best s", "÷ bare", "peak RSS MiB"])]
    parts = v.get("ours", {}).get("parts")
    if parts:
        out.append("ours, best of each part: " + ", ".join(f"{k} {min(t):.3f} s" for k, t in parts.items()))
    parts = v.get("kgbuild", {}).get("parts")
    if parts:
        out.append("kgbuild rdf, one pass of each step: " + ", ".join(f"{k} {min(t):.2f} s" for k, t in parts.items()))
    if "original" in v:
        out.append(f"process_ntriples: {r_of(report, 'original_over_process')}× faster than the original loop "
                   f"({v['original']['wall_s']['best']:.3f} s → {v['process']['wall_s']['best']:.3f} s)")
    r = report["ratios"]

    def fmt(x):
        return "n/a" if x is None else f"{x:.2f}"

    out.append(f"ours / bare parse = {fmt(r['ours_over_bare'])}× (goal ≤ 1.5; process_ntriples alone "
               f"{fmt(r['process_over_bare'])}×; CPU time: {fmt(r['cpu']['ours_over_bare'])}× and "
               f"{fmt(r['cpu']['process_over_bare'])}×)")
    out.append(f"kgbuild rdf / bare parse = {fmt(r['kgbuild_over_bare'])}×")
    out.append(f"rdflib / ours = {fmt(r['rdflib_over_ours'])}× speed-up (goal ≥ 10; vs process_ntriples "
               f"{fmt(r['rdflib_over_process'])}×)")
    out.extend(report["notes"])
    return "\n".join(out)


if __name__ == "__main__":
    main()
