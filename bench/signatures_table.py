"""Visual signatures on motif worlds, 3 seeds: fine-tuned vs pretrained, OPTICS, and one annotation round.

Per seed, what a user would run (through the library's API; the README table comes from this)::

    kgbuild synth --artists 60 --motifs 80 --image-size 128 --motif-size 0.4 --seed S --out W
    artkg train signatures W --out R0 --config cfg.json
    artkg signatures propose R0 --out P --max-cluster-size 40 --max-pairs 400  # OPTICS clusters' unknown pairs
    artkg signatures simulate-annotator P --world W      # the ground truth plays the art historian
    artkg signatures annotate W P/verdicts.csv
    artkg train signatures W --out R1 --config warm.json # R0's weights + 4 epochs with the verdicts

(``warm.json``: ``cfg.json`` with :data:`WARM` and ``"init": "R0"``.) Everything is measured on the
**held-out** motif families (``ground_truth.json["motifs"]``: the families never given as links;
R0 sees the known families only):

- retrieval of the held-out pairs among the whole collection (mAP, recall@20, mean rank) for the
  pretrained backbone and the fine-tuned run R0, beside chance and a no-pixel metadata ranking;
- OPTICS (the run's default clusterer, its cut calibrated as ``propose`` does) per held-out family:
  recall and precision (thesis definitions, members counted);
- the round: proposed pairs, their precision (the share the simulated annotator marks positive), the
  held-out pairs confirmed (now links of the graph); then R0, the **control** (R0 continued exactly
  as R1 but on the graph as it was before the round: what the extra epochs alone do), the
  step-matched control (other random draws, and as many triplets an epoch as R1: what chance and R1's
  extra steps alone do; ``--runs`` adds the control again with other draws only) and R1, on the
  held-out pairs the round did not confirm: all of them, those of the families it touched (a
  confirmed pair of theirs is a link now; the rest of the family is what the verdicts should teach R1
  to find) and those of the families it did not touch.

    python bench/signatures_table.py [--seeds 0 1 2] [--artists 60] [--motifs 80] [--image-size 128]
                                     [--config '{"epochs": 12, ...}'] [--ablate-augment] [--thesis-loss]
                                     [--max-cluster-size 40] [--max-pairs 400] [--work DIR] [--report JSON]

Writes ``bench/out/signatures_table.json`` and prints a markdown table.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import OUT, log  # noqa: E402

# the chord distance: with the thesis' d = 1 - cos these runs settled where every distance is ~0
# (loss = m, no gradient left); margins in chord units (0.45 is the chord of a cosine distance of 0.1)
DEFAULT_CONFIG = {"epochs": 12, "lr": 3e-4, "distance": "chord", "margin": 0.1, "margin2": 0.45, "augment": "copy",
                  "threads": 2}
MAX_CLUSTER = 12  # propose's default max_cluster_size
# the round's proposals: clusters of up to 40 works, the annotator's budget the 400 most similar pairs
ROUND = {"method": "optics", "max_cluster_size": 40, "max_pairs": 400, "split": False}
THESIS_LOSS = {"distance": "cosine", "margin": 0.01, "margin2": 0.1}
# the round's retraining: 4 more epochs from R0's weights, the learning rate decaying from 1e-4 to 0,
# two stages trained at first and one more each epoch
WARM = {"epochs": 4, "lr": 1e-4, "lr_schedule": "cosine", "first_stage_epochs": 0, "unfreeze_every": 1}


def held_out(graph, works: np.ndarray, truth: dict, exclude: set | None = None,
             families: str = "all") -> tuple[np.ndarray, list]:
    """The pairs and families (collection rows) of the held-out families, without the pairs in
    ``exclude`` (IRI pairs: the ones an annotation round confirmed) and the pairs they imply (both
    works in one connected group of excluded pairs: A–B and B–C confirmed imply A–C). ``families``:
    ``"all"``, only the ``"touched"`` ones (holding a work of an excluded pair) or only the
    ``"untouched"`` ones."""
    import itertools

    from artkg.models.signatures.split import components

    row = {graph.iris["artwork"][w]: i for i, w in enumerate(works.tolist())}
    exclude = {tuple(sorted(p)) for p in (exclude or ())}
    touched = sorted({w for p in exclude for w in p})
    at = {w: i for i, w in enumerate(touched)}
    group = components(len(touched), [(at[a], at[b]) for a, b in exclude])
    exclude |= {(touched[i], touched[j]) for i, j in itertools.combinations(range(len(touched)), 2)
                if group[i] == group[j]}
    touched = set(touched)
    keep = {"all": lambda f: True, "touched": lambda f: bool(touched & set(f)),
            "untouched": lambda f: not touched & set(f)}[families]
    fams = [[w for w in f["works"] if w in row] for f in truth["families"] if not f["known"] and keep(f["works"])]
    fams = [f for f in fams if len(f) > 1]
    pairs = [(row[a], row[b]) for f in fams for a, b in itertools.combinations(f, 2)
             if tuple(sorted((a, b))) not in exclude]
    pairs = np.sort(np.asarray(pairs, dtype=np.int64).reshape(-1, 2), axis=1)
    return pairs, [sorted(row[w] for w in f) for f in fams]


def baselines(world: Path, truth: dict) -> dict:
    """Rows without pixels on the same held-out pairs and collection (every artwork of the world):
    chance (random signatures) and "same artist, then nearest year" from the ground truth's metadata
    (held-out partners often share an artist and a period, by construction: copies go to the works of
    the influenced artists, several to one artist)."""
    from artkg.models.signatures.clusters import retrieval_scores

    gt = json.loads((world / "ground_truth.json").read_text(encoding="utf-8"))
    arts = gt["artworks"]
    row = {w["iri"]: i for i, w in enumerate(arts)}
    pairs = np.array([(row[a], row[b]) for a, b in truth["held_out_pairs"]], dtype=np.int64)
    rng = np.random.default_rng(0)
    out = {"chance": retrieval_scores(rng.normal(size=(len(arts), 64)), pairs, ks=(20, 50))}
    creator = np.unique([w["creator"] for w in arts], return_inverse=True)[1]
    year = np.array([w["year"] for w in arts], dtype=np.float64)
    score = (creator[:, None] == creator[None, :]) - np.abs(year[:, None] - year[None, :]) / 1e4
    np.fill_diagonal(score, -np.inf)
    directed = np.concatenate([pairs, pairs[:, ::-1]])
    ranks = (score[directed[:, 0]] >= score[directed[:, 0], directed[:, 1]][:, None]).sum(axis=1)
    ap = []
    for q in np.unique(directed[:, 0]):
        r = np.sort(ranks[directed[:, 0] == q])
        ap.append(np.mean(np.arange(1, len(r) + 1) / r))
    out["same_artist_then_year"] = {"mAP": float(np.mean(ap)), "recall@20": float(np.mean(ranks <= 20)),
                                    "recall@50": float(np.mean(ranks <= 50)), "mean_rank": float(ranks.mean())}
    out["same_artist_share"] = float(np.mean(creator[pairs[:, 0]] == creator[pairs[:, 1]]))
    out["chance_precision"] = float(np.mean([(len(f["works"]) - 1) / (len(arts) - 1)
                                             for f in truth["families"] if not f["known"]]))
    return out


def measure(run, truth: dict, pretrained: bool = False, exclude: set | None = None, families: str = "all",
            signatures=None) -> dict:
    from artkg.models.signatures.clusters import cluster, family_scores, retrieval_scores
    from artkg.models.signatures.loop import calibrate_eps, collection_signatures, run_families

    sig, works, _, graph = signatures or collection_signatures(run, device="cpu", pretrained=pretrained)
    pairs, fams = held_out(graph, works, truth, exclude, families)
    if not len(pairs):  # e.g. no family touched by a round that confirmed nothing
        return None
    r = retrieval_scores(sig, pairs, ks=(20, 50))
    x = sig / np.linalg.norm(sig, axis=1, keepdims=True)
    out = {"mAP": r["mAP"], "recall@20": r["recall@20"], "recall@50": r["recall@50"], "mean_rank": r["mean_rank"],
           "pairs": r["n_pairs"], "median_distance_all": float(np.median(1.0 - x @ x.T)),
           "median_distance_held_out": float(np.median(1.0 - np.sum(x[pairs[:, 0]] * x[pairs[:, 1]], axis=1)))}
    # OPTICS at the thesis' 0.13, and cut where the run's validation/test connections are best recovered
    # (the calibrated cut counts clusters of more than MAX_CLUSTER works as noise, as propose shows them)
    cal = calibrate_eps(sig, run_families(run, graph, works), max_cluster_size=MAX_CLUSTER)
    for name, eps in (("optics013", 0.13), ("optics", cal["max_eps"])):
        labels = cluster(sig, "optics", max_eps=eps)
        if name == "optics" and (labels >= 0).any():
            big = np.bincount(labels[labels >= 0]) > MAX_CLUSTER
            labels = np.where((labels >= 0) & big[np.maximum(labels, 0)], -1, labels)
        f = family_scores(labels, fams)
        out.update({f"{name}_recall": f["mean_recall"], f"{name}_precision": f["mean_precision"],
                    f"{name}_clusters": int(labels.max() + 1), f"{name}_noise": int((labels < 0).sum())})
    out["optics_max_eps"] = cal["max_eps"]
    return out


ROUND_ROWS = {"unconfirmed_pairs": "all", "touched_families": "touched", "untouched_families": "untouched"}


def round_rows(runs: dict, truth: dict, confirmed: set) -> dict:
    """Each of ``runs`` (name → run directory) on the held-out pairs the round did not confirm: all of
    them (``unconfirmed_pairs``), those of the families the round touched (``touched_families``: a
    confirmed pair of theirs is now a link R1 trains on; their other pairs are not) and those of the
    families it did not touch (``untouched_families``). Only the last row's OPTICS scores are clean:
    a touched family's confirmed works count in its cluster recall."""
    from artkg.models.signatures.loop import collection_signatures

    out: dict = {key: {} for key in ROUND_ROWS}
    for name, run in runs.items():
        if not (Path(run) / "config.json").is_file():  # a run this bench did not train (see --runs)
            continue
        sig = collection_signatures(run, device="cpu")
        for key, families in ROUND_ROWS.items():
            out[key][name] = measure(run, truth, exclude=confirmed, families=families, signatures=sig)
    return out


def confirmed_pairs(verdicts: Path) -> set:
    import pandas as pd

    v = pd.read_csv(verdicts, dtype=str, keep_default_na=False)
    return {tuple(sorted((x, y))) for x, y, k in zip(v["a"], v["b"], v["kind"]) if k == "positive"}


def one_seed(seed: int, a, config: dict, root: Path) -> dict:
    from artkg.kg.builders import build_graph
    from artkg.models.signatures.loop import annotate, propose, simulate_annotator
    from artkg.models.signatures.train import train_signatures

    import shutil

    world, before = root / f"world{seed}", root / f"world{seed}_before"
    t0 = time.perf_counter()
    for w in (world, before):
        shutil.rmtree(w, ignore_errors=True)  # annotations of an earlier run must not carry over
    build_graph("synth", world, artists=a.artists, seed=seed, image_size=a.image_size, motifs=a.motifs,
                known_links=a.known, motif_size=a.motif_size, progress=False)
    shutil.copytree(world, before)  # the graph as it was before the round: the control continues on it
    truth = json.loads((world / "ground_truth.json").read_text(encoding="utf-8"))["motifs"]
    cfg = {"encoder_kwargs": {"image_size": a.image_size}, "seed": seed, **config}
    r0 = train_signatures(world, cfg, out=root / f"r0_{seed}", overwrite=True)
    out = {"seed": seed, "families": len(truth["families"]), "known_pairs": len(truth["known_pairs"]),
           "held_out_pairs": len(truth["held_out_pairs"]), "best_epoch_r0": r0.metrics["best_epoch"],
           "pretrained": measure(r0.run_dir, truth, pretrained=True), "fine_tuned": measure(r0.run_dir, truth)}
    log(f"seed {seed}: pretrained {out['pretrained']}\n  fine-tuned {out['fine_tuned']}")
    if a.ablate_augment:  # the same run without augmentation
        rn = train_signatures(world, {**cfg, "augment": "none"}, out=root / f"rn_{seed}", overwrite=True)
        out["no_augment"] = measure(rn.run_dir, truth)
        log(f"  no augmentation {out['no_augment']}")
    if a.thesis_loss:  # the same run with the thesis' loss (1 - cos, m = 0.01, m2 = 0.1)
        rt = train_signatures(world, {**cfg, **THESIS_LOSS}, out=root / f"rt_{seed}", overwrite=True)
        out["thesis_loss"] = measure(rt.run_dir, truth)
        log(f"  thesis loss {out['thesis_loss']}")
    props = root / f"proposals{seed}"
    summary = propose(r0.run_dir, props, overwrite=True, sheets=False, **a.round)
    sim = simulate_annotator(props / "verdicts.csv", world)
    if summary["proposed_pairs"]:
        annotate(world, props / "verdicts.csv")
    confirmed = confirmed_pairs(props / "verdicts.csv")
    held = {tuple(p) for p in truth["held_out_pairs"]}
    out["round"] = {**a.round, "proposed_clusters": summary["proposed_clusters"],
                    "proposed_pairs": summary["proposed_pairs"], "beyond_max_pairs": summary["beyond_max_pairs"],
                    "too_large_clusters": len(summary["too_large"]), "too_large_works": int(sum(summary["too_large"])),
                    "positive": sim["positive"], "negative": sim["negative"], "precision": sim["precision"],
                    "held_out_confirmed": len(confirmed & held),
                    "held_out_confirmed_share": len(confirmed & held) / len(held)}
    # R1 continues R0 on the annotated graph; the control continues it the same way on the graph as it
    # was, so R1 - control is what the annotations did, and control - R0 what the extra epochs did
    out.update(retrain(root, seed, cfg, truth, confirmed, a.runs))
    out["baselines"] = baselines(world, truth)
    out["seconds"] = round(time.perf_counter() - t0, 1)
    log(f"seed {seed}: round {out['round']}\n  unconfirmed pairs {out['unconfirmed_pairs']}")
    return out


RUNS = ("fine_tuned", "control", "control_redraw", "control_matched", "retrained")
SHORT = dict(zip(RUNS, ("R0", "control", "control again", "step-matched control", "R1")))
REDRAW = 100  # the other controls' seed offset: the same run with other triplets, negatives and augmentations
TRAINED = ("retrained", "control", "control_matched")  # the warm runs one_seed trains by default


def retrain(root: Path, seed: int, cfg: dict, truth: dict, confirmed: set, only: tuple = RUNS) -> dict:
    """R1 (R0 continued on the annotated graph ``world{seed}``), the control (continued the same way
    on ``world{seed}_before``), the control again with other random draws (seed + :data:`REDRAW`:
    how far two runs that differ only by chance land apart) and the step-matched control (other random
    draws too, and as many triplets an epoch as R1 trained on: R1's verdicts add triplets, so steps);
    all keep R0's split (a warm start does). Then the round's rows for the runs in ``only``."""
    from artkg.models.signatures.train import train_signatures

    warm = {**cfg, **WARM, "init": str(root / f"r0_{seed}")}
    runs = run_set(root, seed)
    if "retrained" in only:
        train_signatures(root / f"world{seed}", warm, out=runs["retrained"], overwrite=True)
    if "control" in only:
        train_signatures(root / f"world{seed}_before", warm, out=runs["control"], overwrite=True)
    if "control_redraw" in only:
        train_signatures(root / f"world{seed}_before", {**warm, "seed": seed + REDRAW}, out=runs["control_redraw"],
                         overwrite=True)
    if "control_matched" in only:
        history = json.loads((runs["retrained"] / "history.json").read_text(encoding="utf-8"))
        size = max(h["triplets"] for h in history)
        train_signatures(root / f"world{seed}_before", {**warm, "seed": seed + REDRAW, "epoch_size": size},
                         out=runs["control_matched"], overwrite=True)
    return round_rows({k: v for k, v in runs.items() if k in only or k == "fine_tuned"}, truth, confirmed)


def run_set(root: Path, seed: int) -> dict:
    return dict(zip(RUNS, (root / f"{d}_{seed}" for d in ("r0", "rc", "rcb", "rcm", "r1"))))


def _f(row: dict | None, key: str) -> str:
    return f"{row[key]:.3f}" if row else "n/a"


def _ms(values) -> str:
    values = [float(v) for v in values if v is not None]
    if not values:
        return "n/a"
    return f"{statistics.mean(values):.3f} ± {statistics.pstdev(values):.3f}"


def present(results: list[dict]) -> list[str]:
    """The runs every seed has rows of (older reports lack the step-matched control, newer the redraw)."""
    return [k for k in RUNS if all(k in r["touched_families"] for r in results)]


def table(results: list[dict], config: dict) -> str:
    """Mean ± population sd over the seeds' worlds; every row on the held-out motif families."""
    head = ["| on the held-out motif families | mAP | recall@20 | mean rank | OPTICS recall (≤ 12 works) | OPTICS precision | "
            "OPTICS at 0.13: clusters / precision |", "|---|---|---|---|---|---|---|"]
    rows = []
    base = [r["baselines"] for r in results]
    rows.append("| chance (random signatures) | " + " | ".join(_ms(b["chance"][k] for b in base) for k in (
        "mAP", "recall@20", "mean_rank")) + f" | | {_ms(b['chance_precision'] for b in base)} (a family's share) | |")
    rows.append("| no pixels: same artist, then nearest year | " + " | ".join(
        _ms(b["same_artist_then_year"][k] for b in base) for k in ("mAP", "recall@20", "mean_rank")) + " | | | |")
    variants = [("pretrained EfficientNet-Lite0", lambda r: r["pretrained"]),
                (f"fine-tuned R0 ({config['distance']}, m {config['margin']}, m₂ {config['margin2']}, "
                 f"{config.get('augment', 'copy')} augmentation, {config['epochs']} epochs)", lambda r: r["fine_tuned"])]
    if all("thesis_loss" in r for r in results):
        variants.append(("fine-tuned, the thesis' loss and margins (1 − cos, m 0.01, m₂ 0.1)",
                         lambda r: r["thesis_loss"]))
    if all("no_augment" in r for r in results):
        variants.insert(1, ("fine-tuned without augmentation", lambda r: r["no_augment"]))
    variants = [(name, get, True) for name, get in variants]
    for key, where in (("unconfirmed_pairs", "all the held-out pairs the round did not confirm"),
                       ("touched_families", "the unconfirmed pairs of the held-out families the round touched"),
                       ("untouched_families", "the held-out families the round did not touch")):
        clean = key == "untouched_families"  # elsewhere confirmed works sit in the families OPTICS scores
        names = {"fine_tuned": f"R0 (fine-tuned), on {where}",
                 "control": f"control: R0 + {WARM['epochs']} epochs without the round",
                 "control_redraw": f"control again, other random draws (seed + {REDRAW})",
                 "control_matched": f"control, other random draws (seed + {REDRAW}), as many triplets an epoch as R1",
                 "retrained": f"**R1: R0 + {WARM['epochs']} epochs with the round's verdicts**"}
        variants += [(names[k], lambda r, key=key, k=k: r[key][k], clean) for k in present(results)]
    for name, get0, optics in variants:
        def get(r, get0=get0):  # a row a seed could not measure (no pair) counts as absent
            return get0(r) or {}

        cells = [_ms(get(r).get(k) for r in results) for k in ("mAP", "recall@20", "mean_rank")]
        if optics:
            cells += [_ms(get(r).get(k) for r in results) for k in ("optics_recall", "optics_precision")]
            cells.append(f"{_ms(get(r).get('optics013_clusters') for r in results)} / "
                         f"{_ms(get(r).get('optics013_precision') for r in results)}")
        else:
            cells += ["", "", ""]
        rows.append(f"| {name} | " + " | ".join(cells) + " |")
    rnd = [r["round"] for r in results]
    lines = head + rows + ["", "The round, per seed: " + "; ".join(
        f"seed {r['seed']}: {x['proposed_pairs']} pairs proposed in {x['proposed_clusters']} clusters "
        + ("(the unknown pairs among each work's 10 nearest, best CSLS first" if x.get("method") == "neighbours" else
           f"(clusters of more than {x['max_cluster_size']} works cut again until they fit" if x.get("split") else
           f"({x.get('too_large_clusters', '?')} clusters of more than {x.get('max_cluster_size', 12)} works, "
           f"{x.get('too_large_works', '?')} works, not proposed")
        + (f"; {x.get('beyond_max_pairs', 0)} pairs beyond the budget of {x['max_pairs']}" if x.get("max_pairs") else "")
        + f"), {x['positive']} positive (precision {x['precision'] or 0:.3f}), {x['held_out_confirmed']} of "
        f"{r['held_out_pairs']} held-out pairs confirmed ({100 * x['held_out_confirmed_share']:.1f} %)"
        for r, x in zip(results, rnd)),
        "", " → ".join(SHORT[k] for k in present(results)) + " per seed, on the unconfirmed pairs of the touched "
        "families: " + "; ".join(
            f"seed {r['seed']}: mAP " + " → ".join(_f(r["touched_families"][k], "mAP") for k in present(results))
            + ", recall@20 " + " → ".join(_f(r["touched_families"][k], "recall@20") for k in present(results))
            for r in results),
        "", "Held-out partners share their artist in " + ", ".join(
            f"{100 * b['same_artist_share']:.0f} %" for b in base) + " of the pairs (seeds " +
        ", ".join(str(r["seed"]) for r in results) + ")."]
    return "\n".join(lines)


def rescore(report: dict, work: Path) -> dict:
    """Recompute everything that needs no training from the run directories in ``work``: every
    measured row, the baselines and the round's dropped clusters."""
    for r in report["results"]:
        s = r["seed"]
        world = work / f"world{s}"
        truth = json.loads((world / "ground_truth.json").read_text(encoding="utf-8"))["motifs"]
        r["baselines"] = baselines(world, truth)
        r["pretrained"] = measure(work / f"r0_{s}", truth, pretrained=True)
        r["fine_tuned"] = measure(work / f"r0_{s}", truth)
        summary = json.loads((work / f"proposals{s}" / "proposals.json").read_text(encoding="utf-8"))
        r["round"].update(too_large_clusters=len(summary["too_large"]), too_large_works=int(sum(summary["too_large"])))
        r.update(round_rows(run_set(work, s), truth, confirmed_pairs(work / f"proposals{s}" / "verdicts.csv")))
        if (work / f"rn_{s}").is_dir():
            r["no_augment"] = measure(work / f"rn_{s}", truth)
        log(f"seed {s} rescored")
    report["table"] = table(report["results"], report["config"])
    return report


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--artists", type=int, default=60)
    p.add_argument("--motifs", type=int, default=80)
    p.add_argument("--known", type=float, default=0.5)
    p.add_argument("--image-size", type=int, default=128)
    p.add_argument("--motif-size", type=float, default=0.4, help="a source's patch, share of the image side")
    p.add_argument("--config", default=None, help="JSON: SignatureConfig options over the defaults")
    p.add_argument("--ablate-augment", action="store_true", help="also train R0 without augmentation")
    p.add_argument("--thesis-loss", action="store_true", help="also train with the thesis' loss (1 − cos)")
    p.add_argument("--work", type=Path, default=OUT / "signatures_table")
    p.add_argument("--report", type=Path, default=OUT / "signatures_table.json", help="where the JSON report goes")
    p.add_argument("--runs", nargs="+", default=list(TRAINED[1:]), choices=RUNS[1:-1],
                   help="the controls to train beside R1")
    p.add_argument("--max-cluster-size", type=int, default=ROUND["max_cluster_size"], help="propose's")
    p.add_argument("--max-pairs", type=int, default=ROUND["max_pairs"],
                   help="propose's: the annotator's budget (0: every pair, as reports before it)")
    p.add_argument("--method", default=ROUND["method"], choices=("optics", "neighbours"),
                   help="propose's: OPTICS clusters, or each work's nearest pairs ranked by CSLS")
    p.add_argument("--split", action=argparse.BooleanOptionalAction, default=ROUND["split"],
                   help="propose's: cut clusters above --max-cluster-size again at smaller radii")
    p.add_argument("--rescore", type=Path, default=None, help="a finished signatures_table.json: recompute its "
                   "baselines and untouched-families rows from the run directories in --work (no training)")
    p.add_argument("--round-only", type=Path, default=None, help="a finished signatures_table.json: retrain only "
                   "R1 and the control from the R0 runs and annotated worlds in --work, and recompute their rows")
    a = p.parse_args(argv)
    a.round = {"method": a.method, "max_cluster_size": a.max_cluster_size, "max_pairs": a.max_pairs or None,
               "split": a.split}
    a.runs = ("retrained", *a.runs)
    if a.round_only:
        report = json.loads(a.round_only.read_text(encoding="utf-8"))
        for r in report["results"]:
            s = r["seed"]
            truth = json.loads((a.work / f"world{s}" / "ground_truth.json").read_text(encoding="utf-8"))["motifs"]
            cfg = {"encoder_kwargs": {"image_size": report["args"]["image_size"]}, "seed": s, **report["config"]}
            # the controls ran on the graph before the round: retrained only if missing or split unlike R0's
            runs = run_set(a.work, s)
            split = {k: json.loads((runs[k] / "split.json").read_text(encoding="utf-8"))["parts"]
                     if (runs[k] / "split.json").is_file() else None for k in ("fine_tuned", "control", "control_redraw")}
            only = ("retrained",) + tuple(k for k in ("control", "control_redraw") if split[k] != split["fine_tuned"]
                                          and k in a.runs) + (("control_matched",) if "control_matched" in a.runs else ())
            confirmed = confirmed_pairs(a.work / f"proposals{s}" / "verdicts.csv")
            retrain(a.work, s, cfg, truth, confirmed, only)
            r.update(round_rows(runs, truth, confirmed))  # every run's rows, measured again
            log(f"seed {s}: unconfirmed pairs {r['unconfirmed_pairs']}")
        report["table"] = table(report["results"], report["config"])
        a.report.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
        print(report["table"])
        return report
    if a.rescore:
        report = rescore(json.loads(a.rescore.read_text(encoding="utf-8")), a.work)
        a.report.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
        print(report["table"])
        return report
    config = {**DEFAULT_CONFIG, **(json.loads(a.config) if a.config else {})}
    a.work.mkdir(parents=True, exist_ok=True)
    results = [one_seed(s, a, config, a.work) for s in a.seeds]
    report = {"args": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(a).items()}, "config": config,
              "results": results, "table": table(results, config)}
    a.report.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    print(report["table"])
    return report


if __name__ == "__main__":
    main()
