"""One annotation round's proposals on motif worlds, by method, at the same budget (no retraining).

Per seed: the world and the first run R0 of ``bench/signatures_table.py`` (the same settings; reused
from ``--work`` when already trained there), then ``propose`` on R0 with each method at the same
annotator's budget, and the simulated annotator's verdicts (the ground truth)::

    python bench/signatures_proposals.py --seeds 6 7 8 [--max-pairs 400] [--work DIR] [--report JSON]

- ``optics``: the calibrated OPTICS cut, clusters of up to 40 works (the table bench's round);
- ``optics_split``: the same, clusters above 40 works cut again at smaller radii (``--split``);
- ``neighbours``: the unknown pairs among each work's 10 nearest, ranked by CSLS.

Reported per method: pairs proposed, positive verdicts, precision, held-out pairs confirmed and the
held-out families they touch. Writes ``bench/out/signatures_proposals.json`` and prints a table.
"""
from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import OUT, log, write_report  # noqa: E402
from signatures_table import DEFAULT_CONFIG, confirmed_pairs  # noqa: E402

METHODS = {"optics": {"max_cluster_size": 40},
           "optics_split": {"max_cluster_size": 40, "split": True},
           "neighbours": {"method": "neighbours"}}


def world_and_r0(seed: int, a, root: Path) -> tuple[Path, Path]:
    """The world (never annotated here) and R0, built and trained as the table bench does unless present."""
    from artkg.kg.builders import build_graph
    from artkg.models.signatures.train import train_signatures

    world, r0 = root / f"world{seed}", root / f"r0_{seed}"
    if (r0 / "metrics.json").is_file() and (world / "ground_truth.json").is_file():
        log(f"seed {seed}: reusing {world} and {r0}")
        return world, r0
    shutil.rmtree(world, ignore_errors=True)
    build_graph("synth", world, artists=a.artists, seed=seed, image_size=a.image_size, motifs=a.motifs,
                known_links=a.known, motif_size=a.motif_size, progress=False)
    cfg = {"encoder_kwargs": {"image_size": a.image_size}, "seed": seed, **DEFAULT_CONFIG}
    train_signatures(world, cfg, out=r0, overwrite=True)
    return world, r0


def one_seed(seed: int, a, root: Path) -> dict:
    from artkg.models.signatures.loop import collection_signatures, propose, simulate_annotator

    t0 = time.perf_counter()
    world, r0 = world_and_r0(seed, a, root)
    truth = json.loads((world / "ground_truth.json").read_text(encoding="utf-8"))["motifs"]
    held = {tuple(p) for p in truth["held_out_pairs"]}
    family = {w: f["motif"] for f in truth["families"] if not f["known"] for w in f["works"]}
    sig = collection_signatures(r0, device="cpu")
    out = {"seed": seed, "held_out_pairs": len(held), "held_out_families": len(set(family.values()))}
    with tempfile.TemporaryDirectory(dir=root) as tmp:
        for name, kwargs in METHODS.items():
            props = Path(tmp) / name
            summary = propose(r0, props, sheets=False, signatures=sig, max_pairs=a.max_pairs, **kwargs)
            sim = simulate_annotator(props / "verdicts.csv", world, out=props / "judged.csv")
            confirmed = confirmed_pairs(props / "judged.csv") & held
            out[name] = {"proposed_pairs": summary["proposed_pairs"], "positive": sim["positive"],
                         "precision": sim["precision"], "held_out_confirmed": len(confirmed),
                         "families_touched": len({family[w] for p in confirmed for w in p}),
                         "too_large_works": int(sum(summary["too_large"]))}
            log(f"seed {seed} {name}: {out[name]}")
    out["seconds"] = round(time.perf_counter() - t0, 1)
    return out


def table(results: list[dict]) -> str:
    def ms(values):
        values = list(values)
        return f"{statistics.mean(values):.3f} ± {statistics.pstdev(values):.3f}"

    lines = ["| proposals (a budget of the same pairs each; a method may have fewer) | pairs | positive | precision | held-out pairs confirmed | "
             "held-out families touched | per seed: positive |", "|---|---|---|---|---|---|---|"]
    for name in METHODS:
        rows = [r[name] for r in results]
        lines.append(f"| {name} | {ms(x['proposed_pairs'] for x in rows)} | {ms(x['positive'] for x in rows)} | "
                     f"{ms(x['precision'] or 0 for x in rows)} | "
                     f"{ms(x['held_out_confirmed'] / r['held_out_pairs'] for x, r in zip(rows, results))} (share) | "
                     f"{ms(x['families_touched'] / r['held_out_families'] for x, r in zip(rows, results))} (share) | "
                     + " / ".join(str(x["positive"]) for x in rows) + " |")
    return "\n".join(lines)


def world_parser(doc: str) -> argparse.ArgumentParser:
    """The arguments of the worlds (the table bench's settings) and seeds, shared with signatures_round."""
    p = argparse.ArgumentParser(description=doc.splitlines()[0])
    p.add_argument("--seeds", type=int, nargs="+", default=[6, 7, 8])
    p.add_argument("--artists", type=int, default=60)
    p.add_argument("--motifs", type=int, default=80)
    p.add_argument("--known", type=float, default=0.5)
    p.add_argument("--image-size", type=int, default=128)
    p.add_argument("--motif-size", type=float, default=0.4)
    return p


def main(argv: list[str] | None = None) -> dict:
    p = world_parser(__doc__)
    p.add_argument("--max-pairs", type=int, default=400, help="the annotator's budget, the same for every method")
    p.add_argument("--work", type=Path, default=OUT / "signatures_proposals")
    p.add_argument("--report", type=Path, default=OUT / "signatures_proposals.json")
    a = p.parse_args(argv)
    a.work.mkdir(parents=True, exist_ok=True)
    results = [one_seed(s, a, a.work) for s in a.seeds]
    return write_report(a, results, table(results))


if __name__ == "__main__":
    main()
