"""Search benchmark: ``artkg search`` (and loose ``--artist``/``--artwork``) at WikiArt scale.

A graph-shaped object with WikiArt's sizes (``--artworks`` 80,097 titles such as "Landscape No.
3,214" and "Untitled (Rue de Paris) 1,203", ``--artists`` 1,119 names of two made-up words each,
accented about one in five; seed ``--seed``) is searched with five kinds of query: an exact title,
a title prefix, an artist's surname and first name in the wrong order, a lower-cased accent-free
surname inside the name, and a misspelt name (one letter dropped: the fuzzy path, which scans
every label with difflib).

Baselines in the same run, on the same folded labels: a plain substring scan
(``[i for i, l in enumerate(labels) if q in l]``) for the literal queries, and the standard library's
``difflib.get_close_matches`` (cutoff 0.75) for the misspelt one. Each of ``--repeat`` rounds times
ours and the baseline alternately (``interleaved``); the ratio is ours / baseline on the medians.
Goals: literal queries ≤ 10× a bare substring scan (ours also ranks four match levels and reads
ids), a misspelt one ≤ 2× ``get_close_matches`` (ours also compares runs of words), and every query
under a second here. The label index is built once per graph (timed separately).

Usage: ``python bench/bench_search.py [--quick] [--artworks N] [--artists N] [--repeat R]``.
Table on stdout, JSON in ``bench/out/bench_search.json``, progress on stderr.
"""
from __future__ import annotations

import argparse
import difflib
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import interleaved, log, machine, table, write_json

LITERAL_GOAL, FUZZY_GOAL = 10.0, 2.0
SYLLABLES = ["ma", "ri", "lo", "ve", "ne", "ka", "dor", "sel", "tan", "bri", "gue", "mont", "ler", "vi", "za",
             "quin", "aux", "berg", "ovic", "ens"]
ACCENTED = {"e": "é", "a": "à", "o": "ö", "u": "ü", "i": "í"}
GENRES = ["Landscape", "Portrait", "Still Life", "Cityscape", "Composition", "Altarpiece", "Untitled", "Seascape",
          "Study", "Interior"]


class FakeGraph:
    """What :mod:`artkg.kg.search` reads from a loaded graph: IRIs, labels, years and creators."""

    def __init__(self, artworks: int, artists: int, seed: int):
        import torch

        rng = np.random.default_rng(seed)

        def word() -> str:
            w = "".join(rng.choice(SYLLABLES, size=rng.integers(2, 4)))
            if rng.random() < 0.2:
                i = int(rng.integers(len(w)))
                w = w[:i] + ACCENTED.get(w[i], w[i]) + w[i + 1:]
            return w.capitalize()

        self.root = Path("bench-graph")
        names = [f"{word()} {word()}" for _ in range(artists)]
        counters: dict[str, int] = {}
        titles = []
        for _ in range(artworks):
            g = GENRES[int(rng.integers(len(GENRES)))]
            counters[g] = counters.get(g, 0) + 1
            titles.append(f"{g} No. {counters[g]:,}" if rng.random() < 0.8 else f"{g} ({word()}) {counters[g]:,}")
        self.labels = {"artist": names, "artwork": titles}
        self.iris = {"artist": [f"http://x/artist/A{i:05d}" for i in range(artists)],
                     "artwork": [f"http://x/artwork/W{i:06d}" for i in range(artworks)]}
        self._attrs = {("artist", "birth_year"): torch.tensor(rng.integers(1300, 1950, artists), dtype=torch.float32),
                       ("artwork", "year"): torch.tensor(rng.integers(1300, 2000, artworks), dtype=torch.float32)}
        self._attrs[("artist", "death_year")] = self._attrs[("artist", "birth_year")] + 60
        creator = torch.tensor(rng.integers(artists, size=artworks))
        self._created_by = torch.stack([torch.arange(artworks), creator])

    def label_of(self, node_type: str, index: int) -> str:
        return self.labels[node_type][index]

    def node_attr(self, node_type: str, name: str):
        return self._attrs.get((node_type, name))

    def edge_index(self, key):
        return self._created_by


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--artworks", type=int, default=80_097)
    parser.add_argument("--artists", type=int, default=1_119)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="5,000 artworks, 3 rounds (CI smoke test)")
    args = parser.parse_args(argv)
    if args.quick:
        args.artworks, args.artists, args.repeat = 5_000, 200, 3
    from artkg.kg.search import fold, label_index, search

    log(f"building a {args.artworks:,}-artwork, {args.artists:,}-artist graph (seed {args.seed})")
    graph = FakeGraph(args.artworks, args.artists, args.seed)
    t0 = time.perf_counter()
    for t in ("artist", "artwork"):
        label_index(graph, t)
    index_s = time.perf_counter() - t0
    folded = {t: [fold(x) for x in graph.labels[t]] for t in ("artist", "artwork")}
    name = graph.labels["artist"][7]
    first, surname = name.split()
    title = graph.labels["artwork"][args.artworks // 2]
    queries = {
        "exact title": (title, "artwork"),
        "title prefix": (" ".join(title.split()[:2]).rstrip(".") + " 1", "artwork"),
        "words, any order": (f"{surname} {first}", "artist"),
        "part, no accents": (fold(surname)[1:-1], "artist"),
        "misspelt name": (f"{first} {surname[:2]}{surname[3:]}", "artist"),
    }
    rows, results = [], {}
    for label, (q, node_type) in queries.items():
        fq = fold(q)
        fuzzy = label == "misspelt name"
        labels = folded[node_type]
        ours = lambda q=q, t=node_type: search(graph, q, t, limit=20)  # noqa: E731
        if fuzzy:
            base = lambda fq=fq, labels=labels: difflib.get_close_matches(fq, labels, n=20, cutoff=0.75)  # noqa: E731
        else:
            base = lambda fq=fq, labels=labels: [i for i, x in enumerate(labels) if fq in x]  # noqa: E731
        found = ours()
        times = interleaved({"ours": ours, "baseline": base}, args.repeat, warmup=1)
        med_ours, med_base = statistics.median(times["ours"]), statistics.median(times["baseline"])
        ratio = med_ours / med_base
        goal = FUZZY_GOAL if fuzzy else LITERAL_GOAL
        hit = found[0]["label"] if found else None
        results[label] = {"query": q, "type": node_type, "ours_s": med_ours, "baseline_s": med_base, "ratio": ratio,
                          "goal": goal, "met": ratio <= goal and med_ours < 1.0, "top": hit,
                          "top_match": found[0]["match"] if found else None, "matches": len(found)}
        rows.append([label, repr(q), f"{med_ours * 1e3:.1f}", f"{med_base * 1e3:.1f}", f"{ratio:.2f}×",
                     f"≤ {goal:g}×", "yes" if results[label]["met"] else "NO", f"{hit} ({results[label]['top_match']})"])
    print(f"artkg search on {args.artworks:,} artworks and {args.artists:,} artists "
          f"(label index built in {index_s:.2f} s; medians of {args.repeat} rounds)")
    print(table(rows, ["query", "text", "ours ms", "baseline ms", "ratio", "goal", "met", "top hit (how)"]))
    write_json("bench_search", {"machine": machine(), "args": vars(args), "index_seconds": index_s,
                                "queries": results, "ok": all(r["met"] for r in results.values())})
    return 0


if __name__ == "__main__":
    sys.exit(main())
