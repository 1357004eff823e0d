"""How good are the graph explanations? Measured on the offline world, where the causes are planted.

For test artworks whose style GraphCLIP predicts correctly, GNNExplainer's subgraph (the top-k facts
within 2 hops of the artwork or the predicted class) is checked against the world's planted causes
(the synthetic world draws an artist's style from their movement's centroid and their influencers'
styles; an artwork's from its artist's):

- **creator**: the artwork's own creator is a node of the subgraph (some fact touches it);
- **movement/influencer (node)**: the creator's movement or one of the creator's influencers
  (``influenced_by``) is a node of the subgraph;
- **movement/influencer (fact)**: the fact ``creator —movement→ M`` or ``creator —influenced_by→ I``
  itself is one of the top-k facts;
- **both**: creator and movement/influencer (node).

**Random baseline**: for each explained artwork, ``--draws`` random sets of as many facts as the
explanation has, drawn uniformly without replacement from the *same pool the top-k is drawn from*
(the 2-hop candidates whose mask is non-zero: facts PyG's hard mask keeps, i.e. those that can
change the logits at all), and the same indicators; the mean over draws is the artwork's expected
random rate. A second baseline draws from all 2-hop candidates (``random_2hop`` in the JSON).

Also PyG's fidelity+ / fidelity− of the subgraph as a hard mask (per artwork 0 or 1; the mean is
reported). GraphCLIP is trained twice: as by default (``context=false``: the artwork's own GNN
embedding does not enter the logits, so only the class-node embeddings and label propagation tie the
prediction to the graph) and with ``context=true``.

Results are written to ``<out>/explain_eval.json`` after every artwork; a second invocation with
the same settings skips the trained runs and the artworks already done (``--fresh`` starts over).
Example (≈ 10 minutes on one thread, load ~5 on 2 cores)::

    python bench/explain_eval.py --artists 120 --explain 10 --threads 1
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import sys
import time
from pathlib import Path

import artkg  # noqa: F401  (installs the torchvision shim first)

HERE = Path(__file__).resolve().parent

MOVEMENT = ("artist", "movement", "movement")
INFLUENCED_BY = ("artist", "influenced_by", "artist")
INDICATORS = ("creator", "movement_or_influencer", "movement_or_influencer_fact", "both")
#: the arguments a saved result depends on: a resumed run must use the same
MEASURED = ("artists", "world_seed", "epochs", "top_k", "explainer_epochs", "algorithm", "draws", "fidelity_draws",
            "seed")


def fact_table(data, pool: list[tuple[tuple, int]], artwork: int, creator: int, movements: set[int],
               influencers: set[int]):
    """Per pool fact, booleans [n, 3]: touches the creator, touches a movement/influencer node, is such a fact."""
    import torch

    out = torch.zeros(len(pool), 3, dtype=torch.bool)
    for i, (et, p) in enumerate(pool):
        s, d = (int(v) for v in data.edges[et][:, p])
        ends = {(et[0], s), (et[2], d)} - {("artwork", artwork)}
        out[i, 0] = ("artist", creator) in ends
        out[i, 1] = bool(ends & ({("movement", m) for m in movements} | {("artist", a) for a in influencers}))
        out[i, 2] = (et == MOVEMENT and s == creator and d in movements) or (
            et == INFLUENCED_BY and s == creator and d in influencers)
    return out


def indicators(table) -> list[float]:
    """The four indicators of a set of facts (rows of ``fact_table``), or their means over draws [D, k, 3]."""
    if table.dim() == 2:
        table = table[None]
    anyf = table.any(1).float()  # [D, 3]
    c, mi, fact = anyf[:, 0], anyf[:, 1], anyf[:, 2]
    return [float(c.mean()), float(mi.mean()), float(fact.mean()), float((c * mi).mean())]


def random_rates(table, k: int, draws: int, gen) -> list[float]:
    import torch

    if k == 0 or len(table) == 0:
        return [0.0] * len(INDICATORS)
    picks = torch.stack([torch.randperm(len(table), generator=gen)[:k] for _ in range(draws)])  # [D, k]
    return indicators(table[picks])


def random_fidelity(ctx, artwork: int, target: int, pool: list[tuple[tuple, int]], k: int, draws: int,
                    gen) -> tuple[float, float]:
    """Mean PyG fidelity+ / fidelity− of ``draws`` random ``k``-fact subgraphs of the pool (hard masks)."""
    import torch
    from artkg.explain.graph_facts import hard_fidelity
    from artkg.explain.graph_model import explain_inputs, wrap
    from torch_geometric.explain import Explainer, GNNExplainer

    wrapper = wrap(ctx, artwork, "style")
    x_dict, edges = explain_inputs(ctx, wrapper)
    explainer = Explainer(model=wrapper, algorithm=GNNExplainer(epochs=1), explanation_type="model",
                          node_mask_type="object", edge_mask_type="object",
                          model_config={"mode": "multiclass_classification", "task_level": "graph",
                                        "return_type": "raw"})
    if draws < 1:
        return float("nan"), float("nan")
    plus, minus = [], []
    for _ in range(draws):
        selected: dict[tuple, list[int]] = {}
        for j in torch.randperm(len(pool), generator=gen)[:k].tolist():
            selected.setdefault(pool[j][0], []).append(pool[j][1])
        fid = hard_fidelity(explainer, x_dict, edges, {et: torch.tensor(v) for et, v in selected.items()},
                            torch.tensor([target]))
        plus.append(fid["fidelity_plus"])
        minus.append(fid["fidelity_minus"])
    return statistics.fmean(plus), statistics.fmean(minus)


def summarize(rows: list[dict], correct: int, test: int) -> dict:
    m = len(rows)

    def mean(key, sub=None):
        vals = [r[key] if sub is None else r[key][sub] for r in rows]
        return round(statistics.fmean(vals), 4) if vals else None

    return {"explained": m, "correct_test": correct, "test": test, "test_top1": round(correct / max(1, test), 4),
            "rate": {k: mean("explanation", k) for k in INDICATORS},
            "random": {k: mean("random", k) for k in INDICATORS},
            "random_2hop": {k: mean("random_2hop", k) for k in INDICATORS},
            "fidelity_plus": mean("fidelity_plus"), "fidelity_minus": mean("fidelity_minus"),
            "random_fidelity_plus": mean("random_fidelity_plus"), "random_fidelity_minus": mean("random_fidelity_minus"),
            "mean_facts": mean("facts"), "mean_pool": mean("pool"), "mean_candidates": mean("candidates"),
            "mean_seconds_explainer": mean("seconds"), "mean_seconds_total": mean("seconds_total"),
            "max_wrapper_logit_error": max((r["wrapper_logit_error"] for r in rows), default=None)}


def evaluate(run_dir: Path, setting: dict, n: int, top_k: int, epochs: int, draws: int, algorithm: str,
             seed: int, fidelity_draws: int, save) -> None:
    """Explain up to ``n`` correctly predicted test artworks; ``setting["rows"]`` gets one row each (resumable)."""
    import torch
    from artkg.explain.config import GraphExplainConfig
    from artkg.explain.context import ExplainContext
    from artkg.explain.graph import explain_graph
    from artkg.explain.graph_facts import _node_id, top_facts
    from artkg.models.tasks import CREATED_BY

    ctx = ExplainContext.load(run_dir)
    data, graph = ctx.data, ctx.graph
    test = ctx.run.split.test
    with torch.no_grad():
        logits = ctx.model(data.full_batch(test))["style"]["logits"]
    labels = next(t for t in data.tasks if t.name == "style").labels[test]
    hit = logits.argmax(1) == labels
    correct, correct_logits = test[hit], logits[hit]
    rows = setting.setdefault("rows", [])
    done = {r["index"] for r in rows}
    ei = {k: graph.edge_index(k) for k in (CREATED_BY, MOVEMENT, INFLUENCED_BY)}
    config = GraphExplainConfig(algorithm=algorithm, top_k=top_k, epochs=epochs, seed=seed)
    for j, artwork in enumerate(correct[:n].tolist()):
        if artwork in done:
            continue
        t0 = time.perf_counter()
        creator = int(ei[CREATED_BY][1][ei[CREATED_BY][0] == artwork][0])
        movements = set(ei[MOVEMENT][1][ei[MOVEMENT][0] == creator].tolist())
        influencers = set(ei[INFLUENCED_BY][1][ei[INFLUENCED_BY][0] == creator].tolist())
        result = explain_graph(ctx, artwork, "style", config)
        sub = result.subgraph
        # The explanation's facts, exactly as top_facts chose them.
        facts = top_facts(result.fact_weights, result.candidates, top_k)
        chosen = [(et, pos) for et, pos, _ in facts]
        # Its pool: the candidates with a non-zero weight (top_facts' own filter), ranked by |weight|.
        ranked = top_facts(result.fact_weights, result.candidates, 10 ** 9)
        pool = [(et, pos) for et, pos, _ in ranked]
        cand = [(et, p) for et, mask in result.candidates.items() for p in torch.nonzero(mask).flatten().tolist()]
        table = fact_table(data, pool, artwork, creator, movements, influencers)
        k = len(chosen)
        gen = torch.Generator().manual_seed(seed * 100003 + artwork)
        explanation = indicators(table[:k])  # pool is sorted like top_facts: its first k are the explanation
        assert pool[:k] == chosen
        rand = random_rates(table, k, draws, gen)
        rand2 = random_rates(fact_table(data, cand, artwork, creator, movements, influencers), k, draws, gen)
        fid_rand = random_fidelity(ctx, artwork, result.target, pool, k, fidelity_draws, gen)
        mi_ranks = torch.nonzero(table[:, 2]).flatten()
        row = {"index": artwork, "artwork": sub.artwork["id"], "creator": _node_id(graph, "artist", creator),
               "facts": k, "pool": len(pool), "candidates": sub.candidates,
               "explanation": dict(zip(INDICATORS, explanation)),
               "random": {k_: round(v, 4) for k_, v in zip(INDICATORS, rand)},
               "random_2hop": {k_: round(v, 4) for k_, v in zip(INDICATORS, rand2)},
               # rank (1 = heaviest) of the first creator's movement/influencer fact in the pool, if any
               "movement_or_influencer_fact_rank": int(mi_ranks[0]) + 1 if len(mi_ranks) else None,
               "fidelity_plus": sub.meta["fidelity_plus"], "fidelity_minus": sub.meta["fidelity_minus"],
               "random_fidelity_plus": round(fid_rand[0], 4), "random_fidelity_minus": round(fid_rand[1], 4),
               "probability": sub.meta["probability"], "seconds": sub.meta["seconds"],
               "wrapper_logit_error": round(float((result.prediction - correct_logits[j]).abs().max()), 6),
               "relations": sorted({e["relation"] for e in sub.edges})}
        row["seconds_total"] = round(time.perf_counter() - t0, 2)
        rows.append(row)
        save()
        e, r = row["explanation"], row["random"]
        print(f"  {row['artwork']}: creator {e['creator']:.0f} (rnd {r['creator']:.2f}) "
              f"mov/infl node {e['movement_or_influencer']:.0f} (rnd {r['movement_or_influencer']:.2f}) "
              f"fact {e['movement_or_influencer_fact']:.0f} (rnd {r['movement_or_influencer_fact']:.2f}, "
              f"rank {row['movement_or_influencer_fact_rank']} of {len(pool)}) "
              f"fid+ {row['fidelity_plus']:.0f} (rnd {row['random_fidelity_plus']:.2f}) "
              f"fid- {row['fidelity_minus']:.0f} (rnd {row['random_fidelity_minus']:.2f}) ({row['seconds_total']:.1f} s)",
              file=sys.stderr, flush=True)
    rows.sort(key=lambda r: r["index"])
    setting.update(summarize([r for r in rows if r["index"] in set(correct[:n].tolist())],
                             len(correct), len(test)))
    save()


def table(report: dict) -> str:
    def pair(r, k):
        return f"{r['rate'][k]:.2f} / {r['random'][k]:.3f}"

    lines = [("| setting | test top-1 | explained | creator | movement/influencer (node) | "
              "movement/influencer (fact) | both | fidelity+ | fidelity− | facts / pool / 2-hop candidates "
              "| s per artwork |"),
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for name, r in report["settings"].items():
        if not r.get("explained"):
            continue
        lines.append(f"| {name} | {r['test_top1']:.3f} | {r['explained']} of {r['correct_test']} | {pair(r, 'creator')} | "
                     f"{pair(r, 'movement_or_influencer')} | {pair(r, 'movement_or_influencer_fact')} | "
                     f"{pair(r, 'both')} | {r['fidelity_plus']:.2f} / {r['random_fidelity_plus']:.2f} | "
                     f"{r['fidelity_minus']:.2f} / {r['random_fidelity_minus']:.2f} | "
                     f"{r['mean_facts']:.0f} / {r['mean_pool']:.0f} / {r['mean_candidates']:.0f} | "
                     f"{r['mean_seconds_total']:.1f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=HERE / "out" / "explain_eval")
    parser.add_argument("--artists", type=int, default=120)
    parser.add_argument("--world-seed", type=int, default=7)
    parser.add_argument("--epochs", type=int, default=40, help="GraphCLIP training epochs.")
    parser.add_argument("--explain", type=int, default=10, help="Correctly predicted test artworks to explain.")
    parser.add_argument("--top-k", type=int, default=20)
    parser.add_argument("--explainer-epochs", type=int, default=100)
    parser.add_argument("--algorithm", default="gnnexplainer")
    parser.add_argument("--seed", type=int, default=0, help="GNNExplainer's and the baseline's seed.")
    parser.add_argument("--draws", type=int, default=200, help="Random subgraphs per artwork for the baseline.")
    parser.add_argument("--fidelity-draws", type=int, default=20,
                        help="Random subgraphs per artwork for the fidelity baseline (2 forward passes each).")
    parser.add_argument("--context", choices=["both", "false", "true"], default="both")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--fresh", action="store_true", help="Ignore earlier results in --out (retrain, re-explain).")
    args = parser.parse_args(argv)

    import torch
    from artkg.kg.atomic import write_json
    from artkg.kg.builders import build_graph
    from artkg.models.features import extract_features
    from artkg.models.train import train
    from artkg.models.train_config import TrainConfig

    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(message)s")
    if args.threads:
        torch.set_num_threads(args.threads)
    out_json = args.out / "explain_eval.json"
    measured = {k: getattr(args, k) for k in MEASURED}
    report = {"args": measured, "settings": {}}
    if out_json.exists() and not args.fresh:
        old = json.loads(out_json.read_text())
        if old.get("args") != measured:
            raise SystemExit(f"{out_json} was made with other settings ({old.get('args')}); pass --fresh or another --out")
        report = old
    world = args.out / "world"
    if not (world / "manifest.json").exists():
        print(f"$ kgbuild synth --artists {args.artists} --seed {args.world_seed} --out {world}", file=sys.stderr)
        build_graph("synth", world, artists=args.artists, seed=args.world_seed, image_size=32, progress=False,
                    build_store=False)
    extract_features(world, "efficientnet_lite", {"image_size": 32}, None, device="cpu", progress=False)

    def save():
        write_json(out_json, report)

    for context in (["false", "true"] if args.context == "both" else [args.context]):
        name = f"context={context}"
        run = args.out / f"run-context-{context}"
        setting = report["settings"].setdefault(name, {"rows": []})
        if args.fresh or not (run / "model.safetensors").exists() or not setting.get("trained"):
            t0 = time.perf_counter()
            train(world, TrainConfig.from_dict({"epochs": args.epochs, "tasks": ["style"], "threads": args.threads,
                                                "model_kwargs": {"context": context == "true"}}),
                  out=run, progress=False)
            setting.clear()
            setting.update({"rows": [], "trained": True, "train_seconds": round(time.perf_counter() - t0, 1)})
            save()
            print(f"{name}: trained in {setting['train_seconds']:.0f} s", file=sys.stderr, flush=True)
        evaluate(run, setting, args.explain, args.top_k, args.explainer_epochs, args.draws, args.algorithm,
                 args.seed, args.fidelity_draws, save)
        print(table({"settings": {name: setting}}).splitlines()[-1], file=sys.stderr, flush=True)
    report["load_average"] = list(os.getloadavg())
    save()
    print("Each cell: explanation / random baseline (same pool, same number of facts).")
    print(table(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
