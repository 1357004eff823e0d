"""Object influence retrieval on real paintings: the raw-feature baseline, end to end.

The 111 public-domain paintings in ``../shared/data/paintings`` become a graph (creator, image,
inception year) together with the real artist-level influence edges among their artists and the
artists in between: CLOIR's WikiArt influence dictionaries (``../shared/data/cloir``) and the
Wikidata P737 rows (``../shared/data/wikidata``). ``kgbuild rdf`` builds it, ``artkg features``
encodes the images with the pretrained EfficientNet-Lite0, and every painting whose artist has a
known influencer with a painting in the set queries the others. Too small to train CLOIR on; it
checks the whole retrieval and evaluation path on real data::

    python examples/paintings_influence.py --out paintings_out
    artkg influence paintings_out/graph --artwork van-gogh_the-starry-night_v1 --k 5 --degree 2

Artist names are matched to WikiArt slugs by the accent-free slug of the name, else by a unique
slug with the same surname ("Auguste Renoir" → ``pierre-auguste-renoir``; the two spellings of
Kandinsky and of Cézanne fold into one artist).
"""
from __future__ import annotations

import argparse
import csv
import json
import re
import sys
import unicodedata
from pathlib import Path

import artkg  # noqa: F401  (installs the torchvision shim first)

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
NS = "https://w3id.org/artkg/paintings/"
WDT = "http://www.wikidata.org/prop/direct/"
LABEL = "http://www.w3.org/2000/01/rdf-schema#label"
XSD_YEAR = "http://www.w3.org/2001/XMLSchema#gYear"


def slug(name: str) -> str:
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    plain = re.sub(r"\(.*?\)", " ", plain)
    return re.sub(r"[^a-z0-9]+", "-", plain.casefold()).strip("-")


class SlugMatcher:
    """Artist name → WikiArt slug: exact slug, else the unique known slug ending in the same surname."""

    def __init__(self, known: set[str]):
        self.known = known
        self.by_surname: dict[str, set[str]] = {}
        for s in known:
            self.by_surname.setdefault(s.rsplit("-", 1)[-1], set()).add(s)

    def __call__(self, name: str) -> str:
        s = slug(name)
        if s in self.known:
            return s
        candidates = self.by_surname.get(s.rsplit("-", 1)[-1], set())
        return next(iter(candidates)) if len(candidates) == 1 else s


def influence_edges(data: Path) -> tuple[set[tuple[str, str]], dict[str, str]]:
    """``{(influenced slug, influencer slug)}`` from CLOIR's dictionaries and Wikidata's P737 rows."""
    edges: set[tuple[str, str]] = set()
    for name in ("influenced_by_dict.json", "dict_influence_wikiart.json"):
        for artist, influencers in json.loads((data / "cloir" / name).read_text(encoding="utf-8")).items():
            edges.update((artist, b) for b in influencers if b != artist)
    known = {a for e in edges for a in e}
    labels: dict[str, str] = {}
    wd = data / "wikidata"
    seeds = {row["qid"]: row["name"] for row in json.loads((wd / "pryce22_artgraph_seed_artists.json").read_text())}
    rows = json.loads((wd / "pryce22_artgraph_artist_links.json").read_text(encoding="utf-8"))
    match = SlugMatcher(known | {slug(n) for n in seeds.values()})
    for row in rows:
        if not row["prop"].endswith("/P737") or row.get("targetIsHuman") != "true":
            continue
        qid = row["artist"].rsplit("/", 1)[-1]
        if qid in seeds:
            a, b = match(seeds[qid]), match(row["targetLabel"])
            if a != b:
                edges.add((a, b))
                labels.setdefault(a, seeds[qid])
                labels.setdefault(b, row["targetLabel"])
    return edges, labels


def write_graph_source(data: Path, out: Path) -> dict:
    edges, labels = influence_edges(data)
    known = {a for e in edges for a in e}
    match = SlugMatcher(known)
    lines, artists = set(), {}
    with (data / "paintings" / "manifest.csv").open(encoding="utf-8", newline="") as f:
        paintings = list(csv.DictReader(f))
    for row in paintings:
        path = (data / "paintings" / row["file"]).resolve()
        work, artist = f"<{NS}artwork/{path.stem}>", match(row["artist"])
        artists.setdefault(artist, row["artist"])
        lines.add(f"{work} <{WDT}P170> <{NS}artist/{artist}> .")
        lines.add(f"{work} <{WDT}P18> <{path.as_uri()}> .")
        lines.add(f"{work} <{LABEL}> {json.dumps(row['title'], ensure_ascii=False)}@en .")
        year = re.search(r"\d{4}", row.get("date") or "")
        if year:
            lines.add(f'{work} <{WDT}P571> "{year.group(0)}"^^<{XSD_YEAR}> .')
    for a, b in edges:
        lines.add(f"<{NS}artist/{a}> <{WDT}P737> <{NS}artist/{b}> .")
    for s in known | set(artists):
        name = artists.get(s) or labels.get(s) or s.replace("-", " ").title()
        lines.add(f"<{NS}artist/{s}> <{LABEL}> {json.dumps(name, ensure_ascii=False)}@en .")
    out.write_text("\n".join(sorted(lines)) + "\n", encoding="utf-8")
    linked = {a for a in artists if any(e[0] == a for e in edges)}
    return {"paintings": len(paintings), "painting_artists": len(artists), "influence_edges": len(edges),
            "artists_in_graph": len(known | set(artists)), "painting_artists_with_influencers": len(linked)}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("paintings_out"))
    parser.add_argument("--data", type=Path, default=DATA, help="the shared data folder")
    parser.add_argument("--image-size", type=int, default=224, help="EfficientNet-Lite0 input size")
    args = parser.parse_args(argv)
    if not (args.data / "paintings" / "manifest.csv").exists():
        sys.exit(f"error: no paintings under {args.data} — pass --data pointing at shared/data")
    import torch

    from artkg.kg.builders import build_graph
    from artkg.kg.graph import load_graph
    from artkg.models.features import extract_features
    from artkg.retrieval.cloir import evaluate_features

    torch.set_num_threads(1)
    args.out.mkdir(parents=True, exist_ok=True)
    source = args.out / "paintings.nt"
    stats = write_graph_source(args.data, source)
    graph_dir = args.out / "graph"
    build_graph("rdf", graph_dir, path=source)
    extract_features(graph_dir, "efficientnet_lite", {"image_size": args.image_size}, None, device="cpu",
                     progress=False)
    graph = load_graph(graph_dir)
    results = {"graph": stats}
    for time_filter in (True, False):
        results[f"time_filter={time_filter}"] = evaluate_features(graph, "image", time_filter=time_filter)
    (args.out / "results.json").write_text(json.dumps(results, indent=2), encoding="utf-8")
    print(f"{stats['paintings']} paintings by {stats['painting_artists']} artists; "
          f"{stats['influence_edges']} influence edges over {stats['artists_in_graph']} artists")
    print("| time filter | degree | queries | P@1 | P@5 | P@10 | MRR | chance P@k | chance MRR |")
    print("|---|---|---|---|---|---|---|---|---|")
    for key in ("time_filter=True", "time_filter=False"):
        for d in ("degree_1", "degree_2"):
            m = results[key][d]
            print(f"| {key.split('=')[1].lower()} | {d[-1]} | {m['queries']} | {m['P@1']:.3f} | {m['P@5']:.3f} | "
                  f"{m['P@10']:.3f} | {m['MRR']:.3f} | {m['chance']:.3f} | {m['chance_MRR']:.3f} |")
    return results


if __name__ == "__main__":
    main()
