"""Influence benchmark: degree-2 influence chains on a 100k-artist graph, against networkx.

A skewed influence graph (100,000 artists, ``Poisson(2.5)`` influencers each, always an earlier
artist; a few masters influence many — see ``_synthetic.influence_edges``) is written as
N-Triples with labels and birth dates and built into a real graph directory with
``build_graph("rdf", dir, path=file, build_store=False)``. Then, each in its own process:

* ``ours``: ``load_graph(dir)`` (timed), the first ``influence_report`` (timed: it builds the
  graph's IRI maps and its cached CSR influence index), then the latency of
  ``influence_report(graph, artist_iri, degree=2)`` for ``--queries`` random artists (same artists
  for every variant), in both directions: as called (no ``index`` argument: the graph's cached
  index), with an ``InfluenceIndex.from_graph(graph)`` passed in, and the raw
  ``InfluenceIndex.chains`` (index → paths, no IRIs or labels).
* ``networkx`` (baseline): ``single_source_shortest_path(G, source, cutoff=2)`` on a ``DiGraph``
  with the same edges (reversed copy for the other direction), nodes as integers.

Usage: ``python bench/bench_influence.py [--quick] [--artists N] [--queries Q]``. Table on stdout,
JSON in ``bench/out/bench_influence.json``, progress on stderr.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import OUT, log, machine, peak_rss_mib, run_worker, table, write_json

SCRIPT = Path(__file__).resolve()
DIRECTIONS = ("influencers", "influenced")


def latencies(fn, items) -> list[float]:
    out = []
    for item in items:
        t0 = time.perf_counter()
        fn(item)
        out.append(time.perf_counter() - t0)
    return out


def pcts(samples: list[float]) -> dict:
    ms = np.asarray(samples) * 1000
    return {"p50_ms": float(np.percentile(ms, 50)), "p95_ms": float(np.percentile(ms, 95)),
            "p99_ms": float(np.percentile(ms, 99)), "mean_ms": float(ms.mean()), "n": len(samples)}


def sample_artists(n_artists: int, queries: int, seed: int) -> list[int]:
    return np.random.default_rng(seed + 1).choice(n_artists, size=queries, replace=False).tolist()


# ---------------------------------------------------------------------------------- workers
def worker_ours(graph_dir: str, queries: int, seed: int) -> dict:
    from artkg.kg import schema as S

    assert S.INFLUENCE.key == ("artist", "influenced_by", "artist")  # as the networkx worker reads it
    from artkg.kg.graph import load_graph
    from artkg.kg.influence import InfluenceIndex, influence_report

    rss_imports = peak_rss_mib()
    t0 = time.perf_counter()
    graph = load_graph(graph_dir)
    load_s = time.perf_counter() - t0
    iris = graph.iris["artist"]
    picks = sample_artists(len(iris), queries, seed)
    t0 = time.perf_counter()
    first = influence_report(graph, iris[picks[0]], degree=2)  # builds the IRI maps and the index (cached)
    first_call_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    index = InfluenceIndex.from_graph(graph)
    index_s = time.perf_counter() - t0
    result = {"load_s": load_s, "first_call_s": first_call_s, "index_build_s": index_s,
              "edges": int(graph.edge_index(S.INFLUENCE.key).shape[1]), "artists": len(iris),
              "first_answer_size": len(first["influencers"]), "latency": {}}
    reached = {}
    for direction in DIRECTIONS:
        sizes: list[int] = []

        def as_called(i, d=direction):
            return influence_report(graph, iris[i], degree=2, direction=d)

        def index_passed(i, d=direction, out=sizes):
            out.append(len(influence_report(graph, iris[i], degree=2, direction=d, index=index)[d]))

        def raw(i, d=direction):
            return index.chains(i, 2, d)

        result["latency"][f"report_as_called/{direction}"] = pcts(latencies(as_called, picks))
        result["latency"][f"report_index_passed/{direction}"] = pcts(latencies(index_passed, picks))
        result["latency"][f"chains_raw/{direction}"] = pcts(latencies(raw, picks))
        reached[direction] = float(np.mean(sizes))
    result["mean_reached"] = reached
    result["rss_after_imports_mib"] = rss_imports
    result["peak_rss_mib"] = peak_rss_mib()
    return result


def worker_networkx(graph_dir: str, queries: int, seed: int) -> dict:
    import networkx as nx
    from safetensors.numpy import load_file

    # (artkg is not imported here: it would pull in torch and blur this process's memory figure)
    influence_key = ("artist", "influenced_by", "artist")
    rss_imports = peak_rss_mib()
    t0 = time.perf_counter()
    nodes = json.loads((Path(graph_dir) / "processed" / "nodes.json").read_text(encoding="utf-8"))
    n = len(nodes["artist"]["iri"])
    src, dst = load_file(str(Path(graph_dir) / "processed" / "tensors.safetensors"))[
        "edge/" + "/".join(influence_key)]
    graphs = {"influencers": nx.DiGraph(), "influenced": None}
    graphs["influencers"].add_nodes_from(range(n))
    graphs["influencers"].add_edges_from(zip(src.tolist(), dst.tolist()))  # a influenced_by b: a → b
    graphs["influenced"] = graphs["influencers"].reverse(copy=True)
    build_s = time.perf_counter() - t0
    picks = sample_artists(n, queries, seed)
    result = {"build_s": build_s, "latency": {}, "mean_reached": {}}
    for direction in DIRECTIONS:
        sizes: list[int] = []

        def search(i, g=graphs[direction], out=sizes):
            out.append(len(nx.single_source_shortest_path(g, i, cutoff=2)) - 1)

        result["latency"][f"networkx/{direction}"] = pcts(latencies(search, picks))
        result["mean_reached"][direction] = float(np.mean(sizes))
    result["rss_after_imports_mib"] = rss_imports
    result["peak_rss_mib"] = peak_rss_mib()
    return result


# ---------------------------------------------------------------------------------- driver
def graph_dir(n_artists: int, mean: float, seed: int) -> tuple[Path, dict]:
    """The graph directory (rebuilt when the generator, its parameters or artkg.kg's code change)."""
    from _synthetic import write_influence_ntriples

    from artkg.kg.builders import build_graph

    source = (SCRIPT.parent / "_synthetic.py").read_bytes() + b"".join(
        path.read_bytes() for path in sorted((SCRIPT.parents[1] / "kg").glob("*.py")))  # artkg's build code
    key = hashlib.sha256(source + f"{n_artists}:{mean}:{seed}".encode()).hexdigest()[:12]
    out = OUT / f"influence_{n_artists}_{key}"
    info_path = out.with_suffix(".json")
    if (out / "manifest.json").exists() and info_path.exists():
        return out, json.loads(info_path.read_text())
    for old in OUT.glob(f"influence_{n_artists}_*"):
        shutil.rmtree(old) if old.is_dir() else old.unlink()
    nt = out.with_suffix(".nt")
    log(f"generating {n_artists:,} artists → {nt}")
    info = write_influence_ntriples(nt, n_artists, mean=mean, seed=seed)
    info.pop("iris")
    t0 = time.perf_counter()
    build_graph("rdf", out, path=nt, build_store=False)
    info["build_graph_s"] = time.perf_counter() - t0
    log(f"built {out} in {info['build_graph_s']:.1f} s")
    nt.unlink()
    info_path.write_text(json.dumps(info))
    return out, info


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (CI smoke test)")
    parser.add_argument("--artists", type=int, help="artists (default 100,000; quick: 5,000)")
    parser.add_argument("--queries", type=int, help="random artists queried (default 2,000; quick: 200)")
    parser.add_argument("--mean", type=float, default=2.5, help="mean number of influencers")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--dir", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    queries = args.queries or (200 if args.quick else 2000)
    if args.worker == "ours":
        print(json.dumps(worker_ours(args.dir, queries, args.seed)))
        return {}
    if args.worker == "networkx":
        print(json.dumps(worker_networkx(args.dir, queries, args.seed)))
        return {}

    n_artists = args.artists or (5_000 if args.quick else 100_000)
    OUT.mkdir(parents=True, exist_ok=True)
    out, info = graph_dir(n_artists, args.mean, args.seed)
    wargs = ["--dir", str(out), "--queries", str(queries), "--seed", str(args.seed)]
    if args.quick:
        wargs.append("--quick")
    ours = run_worker(SCRIPT, "ours", wargs)
    nxr = run_worker(SCRIPT, "networkx", wargs)
    report = {"benchmark": "bench_influence", "quick": args.quick, "graph": info, "queries": queries,
              "machine": machine(), "ours": ours, "networkx": nxr, "ratios": {},
              "goals": {"report_as_called p50_ms": "<= 10"}}
    for direction in DIRECTIONS:
        base = nxr["latency"][f"networkx/{direction}"]["p50_ms"]
        for variant in ("report_as_called", "report_index_passed", "chains_raw"):
            report["ratios"][f"{variant}/{direction} p50 ÷ networkx p50"] = round(
                ours["latency"][f"{variant}/{direction}"]["p50_ms"] / base, 3)
    write_json("bench_influence", report)
    print(render(report))
    return report


def render(report: dict) -> str:
    g, ours, nxr = report["graph"], report["ours"], report["networkx"]
    rows = []
    for direction in DIRECTIONS:
        base = nxr["latency"][f"networkx/{direction}"]
        for name, lat in (("influence_report(graph, iri) as called", ours["latency"][f"report_as_called/{direction}"]),
                          ("influence_report(…, index=index)", ours["latency"][f"report_index_passed/{direction}"]),
                          ("InfluenceIndex.chains (raw)", ours["latency"][f"chains_raw/{direction}"]),
                          ("networkx single_source_shortest_path", base)):
            rows.append([f"{direction}: {name}", lat["n"], f"{lat['p50_ms']:.3f}", f"{lat['p95_ms']:.3f}",
                         f"{lat['p99_ms']:.3f}", f"{lat['p50_ms'] / base['p50_ms']:.2f}×"])
    head = (f"bench_influence: {g['artists']:,} artists, {g['edges']:,} influence edges (mean "
            f"{g['mean_influencers']:.2f} influencers, max {g['max_influencers']}; a master influences up to "
            f"{g['max_influenced']}), degree 2, {report['machine'].get('cpus')} CPUs, load "
            f"{report['machine'].get('load_avg')}")
    lines = [head, table(rows, ["query", "n", "p50 ms", "p95 ms", "p99 ms", "p50 ÷ networkx"])]
    lines.append(f"load_graph {ours['load_s']:.3f} s; first influence_report {ours['first_call_s']:.3f} s; "
                 f"InfluenceIndex.from_graph {ours['index_build_s'] * 1000:.1f} ms; networkx graphs built in "
                 f"{nxr['build_s']:.2f} s; peak RSS ours {ours['peak_rss_mib']:.0f} MiB, networkx "
                 f"{nxr['peak_rss_mib']:.0f} MiB")
    lines.append("mean artists reached: " + ", ".join(
        f"{d} {ours['mean_reached'][d]:.1f} (networkx {nxr['mean_reached'][d]:.1f})" for d in DIRECTIONS))
    lat = ours["latency"]
    lines.append(f"goal p50 ≤ 10 ms: influence_report as called {lat['report_as_called/influencers']['p50_ms']:.3f} ms "
                 f"(influencers), {lat['report_as_called/influenced']['p50_ms']:.3f} ms (influenced); the first call "
                 f"{ours['first_call_s'] * 1000:.0f} ms")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
