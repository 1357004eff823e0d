"""The artkg demo: the offline art world, served over SPARQL, crawled with `kgbuild wikidata`.

1. `kgbuild synth` generates a world of artists and artworks with planted influence.
2. A real Oxigraph SPARQL server serves its triples on 127.0.0.1.
3. `kgbuild wikidata --endpoint` crawls it exactly as it would crawl Wikidata.
4. `artkg influence --degree 2` prints influence chains; then the server stops.

Run: `make demo` (or `python examples/demo.py --out demo_out`).
"""
from __future__ import annotations

import argparse
import json
import shlex
import subprocess
import sys
from pathlib import Path

from artkg.kg.server import OxigraphServer


def run(*args: str, capture: bool = False) -> str:
    print(f"$ {shlex.join(args)}", file=sys.stderr, flush=True)
    done = subprocess.run(args, check=True, text=True, stdout=subprocess.PIPE if capture else None)
    return done.stdout or ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="demo_out", help="working directory")
    parser.add_argument("--artists", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--chains", type=int, default=3, help="how many artists' chains to print")
    args = parser.parse_args()
    out = Path(args.out)
    bin_dir = Path(sys.executable).parent
    kgbuild, artkg = str(bin_dir / "kgbuild"), str(bin_dir / "artkg")

    world = out / "world"
    built = json.loads(run(kgbuild, "synth", "--artists", str(args.artists), "--seed", str(args.seed),
                           "--out", str(world), "--quiet", "--json", capture=True))
    print(f"offline world: {built['counts']['nodes']['artist']} artists, "
          f"{built['counts']['nodes']['artwork']} artworks, {built['triples']:,} triples")
    truth = json.loads((world / "ground_truth.json").read_text())
    # Seeds: the latest-born artists with the most planted influencers make the richest chains.
    artists = sorted(truth["artists"], key=lambda a: (-len(a["influencers"]), a["iri"]))
    seeds = [a["iri"] for a in artists[: args.chains]]

    with OxigraphServer(files=[world / "graph.nt"]) as server:
        print(f"Oxigraph SPARQL server on {server.query_url}", file=sys.stderr)
        crawled = out / "crawled"
        crawl = json.loads(run(kgbuild, "wikidata", *seeds, "--endpoint", server.query_url, "--hops", "2",
                               "--max-artworks", "5", "--out", str(crawled), "--quiet", "--json", capture=True))
    print(f"crawled over SPARQL: {crawl['counts']['nodes']['artist']} artists, "
          f"{crawl['counts']['nodes'].get('artwork', 0)} artworks, {crawl['requests']['network']} queries\n")
    print("(server stopped)", file=sys.stderr)

    for seed in seeds:
        print(run(artkg, "influence", str(crawled), "--artist", seed, "--degree", "2", capture=True))


if __name__ == "__main__":
    main()
