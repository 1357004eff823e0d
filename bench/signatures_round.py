"""One annotation round against a control trained for the same steps, several runs per arm.

Per seed: the world and R0 of ``bench/signatures_proposals.py`` (the table bench's settings; trained
there unless present in ``--from``), then what a user would run::

    artkg train signatures W --out R0c --config converge.json  # R0 + N epochs, lr decaying to 0 (--converge)
    artkg signatures propose R0c --out P --method neighbours --max-pairs 400
    artkg signatures simulate-annotator P --world W            # the ground truth plays the art historian
    artkg signatures annotate W P/verdicts.csv
    artkg train signatures W --out R1 --config warm.json       # R0c's weights + 4 epochs with the verdicts

and beside each R1 a **step-matched control**: R0c continued the same way on the graph as it was before
the round, with other random draws and as many triplets an epoch as R1 (R1's verdicts add triplets,
so steps). ``--runs R`` trains R pairs of them, run ``r`` drawing with seed ``+ 1000 r`` (the control
``+ 100`` more), so run-to-run spread is measured rather than assumed.

Why converge first: the table bench's R0 stops at epoch 12 while still improving, so 4 more epochs of
anything lift it (the control doubles R0's mAP on dev seed 5) and the verdicts' share of the lift is
lost in the steps'. A run trained until its learning rate has decayed to 0 is what a user would
propose from.

Measured on the held-out pairs the round did not confirm (nor imply: A–B and B–C confirmed imply A–C):
all of them, those of the families the round touched and those it did not; each arm's mean over runs
and R1 − control with a 95 % bootstrap interval over held-out families (2,000 resamples)::

    python bench/signatures_round.py --seeds 6 7 8 [--converge 8] [--runs 2] [--method neighbours]
                                     [--max-pairs 400] [--warm-config JSON] [--from DIR] [--work DIR]
                                     [--report JSON]

Writes ``bench/out/signatures_round.json`` and prints a markdown table.
"""
from __future__ import annotations

import json
import shutil
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import OUT, log, write_report  # noqa: E402
from signatures_proposals import world_and_r0, world_parser  # noqa: E402
from signatures_table import DEFAULT_CONFIG, ROUND_ROWS, WARM, confirmed_pairs, held_out  # noqa: E402

CONTROL = 100  # the control's seed offset from its R1
RUN = 1000  # the seed offset between runs
CONVERGE_LR = 2e-4  # R0's continuation: from this learning rate down to 0 (cosine), all stages trained
ARMS = ("retrained", "control_matched", "control_blind")  # R1 and the controls it is compared with


_SIGNATURES: dict = {}


def family_scores(run: Path, truth: dict, confirmed: set, families: str) -> list[dict]:
    """Per held-out family (of ``families``: all, touched, untouched): mAP and recall@20 of its
    unconfirmed pairs, with their weights (query works, directed pairs)."""
    from artkg.models.signatures.clusters import retrieval_scores
    from artkg.models.signatures.loop import collection_signatures

    if str(run) not in _SIGNATURES:  # one pass over the images a run, for all its rows
        _SIGNATURES[str(run)] = collection_signatures(run, device="cpu")
    sig, works, _, graph = _SIGNATURES[str(run)]
    pairs, fams = held_out(graph, works, truth, confirmed, families)
    out = []
    for fam in fams:
        members = np.isin(pairs, fam).all(axis=1)
        if members.any():
            r = retrieval_scores(sig, pairs[members], ks=(20,))
            out.append({"mAP": r["mAP"], "recall@20": r["recall@20"], "queries": len(np.unique(pairs[members])),
                        "directed": 2 * int(members.sum())})
    return out


def pooled(fams: list[dict], take=None) -> dict:
    """The collection-wide scores from per-family ones (each work holds one family's motif)."""
    take = np.arange(len(fams)) if take is None else take
    q = np.array([fams[i]["queries"] for i in take], dtype=np.float64)
    d = np.array([fams[i]["directed"] for i in take], dtype=np.float64)
    return {"mAP": float(np.dot(q, [fams[i]["mAP"] for i in take]) / q.sum()),
            "recall@20": float(np.dot(d, [fams[i]["recall@20"] for i in take]) / d.sum())}


def compare(scores: dict, boot: int = 2000, seed: int = 0) -> dict:
    """Each arm's mean over runs and R1 − each control with a bootstrap interval over families
    (``difference`` and ``interval``: against the step-matched control; ``vs``: against every control).
    ``scores``: arm → list (runs) of per-family score lists, the families in the same order."""
    n = len(scores[ARMS[0]][0])
    if not n:
        return {}
    rng = np.random.default_rng(seed)
    draws = [np.arange(n)] + [rng.integers(0, n, n) for _ in range(boot)]
    resampled = {arm: [[pooled(run, t) for t in draws] for run in runs] for arm, runs in scores.items()}
    out = {}
    for metric in ("mAP", "recall@20"):
        per_arm = {arm: np.array([[p[metric] for p in run] for run in runs]).mean(axis=0)
                   for arm, runs in resampled.items()}
        vs = {}
        for arm in scores:
            if arm != ARMS[0]:
                diff = per_arm[ARMS[0]] - per_arm[arm]
                vs[arm] = {"difference": float(diff[0]),
                           "interval": [float(np.quantile(diff[1:], 0.025)), float(np.quantile(diff[1:], 0.975))]}
        out[metric] = {**{arm: float(v[0]) for arm, v in per_arm.items()}, **vs[ARMS[1]], "vs": vs,
                       "runs": {arm: [run[0][metric] for run in runs] for arm, runs in resampled.items()}}
    out["families"] = n
    out["pairs"] = int(sum(f["directed"] for f in scores[ARMS[0]][0]) // 2)
    return out


def one_seed(seed: int, a) -> dict:
    from artkg.models.signatures.loop import annotate, propose, simulate_annotator
    from artkg.models.signatures.train import train_signatures

    t0 = time.perf_counter()
    src_world, r0 = world_and_r0(seed, a, a.source)
    root = a.work / f"seed{seed}"
    setting = {"converge": a.converge, "method": a.method, "max_pairs": a.max_pairs, "warm_config": a.warm_config,
               "source": str(a.source.resolve())}
    stamp = root / "setting.json"  # runs kept from an earlier call must come from the same setting
    if stamp.is_file() and json.loads(stamp.read_text(encoding="utf-8")) != setting:
        sys.exit(f"error: {root} holds runs of another setting ({stamp}) — pass another --work or delete it")
    root.mkdir(parents=True, exist_ok=True)
    stamp.write_text(json.dumps(setting), encoding="utf-8")
    world, before = root / "world", root / "world_before"
    for w in (world, before):  # annotations of an earlier run must not carry over
        shutil.rmtree(w, ignore_errors=True)
        shutil.copytree(src_world, w)
    truth = json.loads((world / "ground_truth.json").read_text(encoding="utf-8"))["motifs"]
    cfg = {"encoder_kwargs": {"image_size": a.image_size}, "seed": seed, **DEFAULT_CONFIG}
    start = r0
    if a.converge:
        start = root / "r0c"
        if not (start / "metrics.json").is_file():
            train_signatures(before, {**cfg, **WARM, "epochs": a.converge, "lr": CONVERGE_LR, "init": str(r0)},
                             out=start, overwrite=True)
    props = root / "proposals"
    method = {"method": a.method} if a.method == "neighbours" else {"max_cluster_size": 40}
    summary = propose(start, props, overwrite=True, sheets=False, max_pairs=a.max_pairs, **method)
    sim = simulate_annotator(props / "verdicts.csv", world)
    if summary["proposed_pairs"]:
        annotate(world, props / "verdicts.csv")
    confirmed = confirmed_pairs(props / "verdicts.csv")
    held = {tuple(p) for p in truth["held_out_pairs"]}
    out = {"seed": seed, "round": {"method": a.method, "proposed_pairs": summary["proposed_pairs"],
                                   "positive": sim["positive"], "precision": sim["precision"],
                                   "held_out_confirmed": len(confirmed & held), "held_out_pairs": len(held)}}
    warm = {**cfg, **WARM, **a.warm_config, "init": str(start)}
    if a.blind:  # the same proposals without the expert: every proposed pair taken as negative
        import pandas as pd

        blind = root / "world_blind"
        shutil.rmtree(blind, ignore_errors=True)
        shutil.copytree(src_world, blind)
        v = pd.read_csv(props / "verdicts.csv", dtype=str, keep_default_na=False).assign(kind="negative")
        v.to_csv(props / "blind.csv", index=False)
        annotate(blind, props / "blind.csv")
    runs = {arm: [] for arm in ARMS[:3 if a.blind else 2]}
    for r in range(a.runs):
        r1, rc = root / f"r1_{r}", root / f"rcm_{r}"  # runs finished by an earlier call are kept
        if not (r1 / "metrics.json").is_file():  # (the round is deterministic: the same verdicts again)
            train_signatures(world, {**warm, "seed": seed + RUN * r}, out=r1, overwrite=True)
        history = json.loads((r1 / "history.json").read_text(encoding="utf-8"))
        size = max(h["triplets"] for h in history)
        if not (rc / "metrics.json").is_file():
            train_signatures(before, {**warm, "seed": seed + RUN * r + CONTROL, "epoch_size": size}, out=rc,
                             overwrite=True)
        runs["retrained"].append(r1)
        runs["control_matched"].append(rc)
        if a.blind:  # as many connection draws as R1 (its views come on top: at least R1's steps)
            rb = root / f"rcb_{r}"
            draws = max(h["triplets"] - h["negative_views"] for h in history)
            if not (rb / "metrics.json").is_file():
                train_signatures(blind, {**warm, "seed": seed + RUN * r + 2 * CONTROL, "epoch_size": draws}, out=rb,
                                 overwrite=True)
            runs["control_blind"].append(rb)
    for key, families in ROUND_ROWS.items():
        start_scores = family_scores(start, truth, confirmed, families)
        out[key] = compare({arm: [family_scores(p, truth, confirmed, families) for p in paths]
                            for arm, paths in runs.items()}, seed=seed)
        if start_scores:
            out[key]["start"] = pooled(start_scores)
    if a.converge:
        out["r0"] = pooled(family_scores(r0, truth, set(), "all"))
        out["r0c"] = pooled(family_scores(start, truth, set(), "all"))
    out["seconds"] = round(time.perf_counter() - t0, 1)
    log(f"seed {seed}: {json.dumps(out)}")
    return out


def _ci(d: dict) -> str:
    return f"{d['difference']:+.3f} [{d['interval'][0]:+.3f}, {d['interval'][1]:+.3f}]"


def table(results: list[dict]) -> str:
    blind = any("control_blind" in r["unconfirmed_pairs"].get("mAP", {}) for r in results)
    head = ["start (R0c) mAP", "step-matched control mAP"] + (["blind control mAP"] if blind else []) + \
        ["R1 mAP", "R1 − control mAP [95 %]"] + (["R1 − blind control mAP [95 %]"] if blind else []) + \
        ["control recall@20", "R1 recall@20", "R1 − control recall@20 [95 %]"]
    lines = ["| held-out pairs the round did not confirm | " + " | ".join(head) + " |", "|---" * (len(head) + 1) + "|"]
    for key in ROUND_ROWS:
        for r in results:
            row = r[key]
            if not row:
                continue
            m, c = row["mAP"], row["recall@20"]
            cells = [f"{row.get('start', {}).get('mAP', float('nan')):.3f}", f"{m['control_matched']:.3f}"]
            cells += [f"{m['control_blind']:.3f}"] if blind else []
            cells += [f"{m['retrained']:.3f}", _ci(m)] + ([_ci(m["vs"]["control_blind"])] if blind else [])
            cells += [f"{c['control_matched']:.3f}", f"{c['retrained']:.3f}", _ci(c)]
            lines.append(f"| seed {r['seed']}, {key.replace('_', ' ')} ({row['pairs']} pairs, {row['families']} "
                         "families) | " + " | ".join(cells) + " |")
    rounds = "; ".join(f"seed {r['seed']}: {r['round']['positive']} of {r['round']['proposed_pairs']} positive, "
                       f"{r['round']['held_out_confirmed']} of {r['round']['held_out_pairs']} held-out pairs confirmed"
                       for r in results)
    diffs = [r["unconfirmed_pairs"]["mAP"]["difference"] for r in results if r["unconfirmed_pairs"]]
    summary = f"R1 − control on all unconfirmed pairs, mAP: {statistics.mean(diffs):+.3f} on average" if diffs else ""
    return "\n".join(lines + ["", rounds, summary])


def main(argv: list[str] | None = None) -> dict:
    p = world_parser(__doc__)
    p.add_argument("--converge", type=int, default=8, help="epochs R0 is continued before the round (0: none)")
    p.add_argument("--runs", type=int, default=2, help="R1 / control pairs trained a seed")
    p.add_argument("--method", choices=("neighbours", "optics"), default="neighbours")
    p.add_argument("--max-pairs", type=int, default=400, help="the annotator's budget")
    p.add_argument("--warm-config", type=json.loads, default={},
                   help='changes to both arms\' warm runs, e.g. \'{"negative_views": false}\'')
    p.add_argument("--blind", action="store_true",
                   help="add a control on the same proposals without the expert: every pair taken as negative")
    p.add_argument("--from", dest="source", type=Path, default=OUT / "signatures_proposals",
                   help="worlds and R0s (signatures_proposals' --work; trained there when absent)")
    p.add_argument("--work", type=Path, default=OUT / "signatures_round")
    p.add_argument("--report", type=Path, default=OUT / "signatures_round.json")
    a = p.parse_args(argv)
    a.source.mkdir(parents=True, exist_ok=True)
    a.work.mkdir(parents=True, exist_ok=True)
    results = [one_seed(s, a) for s in a.seeds]
    return write_report(a, results, table(results))


if __name__ == "__main__":
    main()
