"""Training-epoch benchmark: one GraphCLIP epoch through ``Trainer`` against a bare hand-written PyG loop.

Input (built once, cached under ``bench/out/epoch_world/<hash>/``): the offline world
``build_graph("synth", …, artists=300, images=False)`` (~3,000 artworks) with synthetic 1280-d image
features (``_common.write_synthetic_features``: noise plus a style signal, in the layout
``load_features`` reads). Task ``style`` (``--tasks style genre`` for multi-task), the default
``TrainConfig`` (SAGE, 2 layers, hidden 128, embed 128, batch 512, Adam 1e-3, weight decay 1e-4,
warm-up + cosine schedule, gradient clipping at 5), the full-batch sampler.

Both variants run in one fresh process, on one torch thread (``--threads``), interleaved
``--repeat`` times, each from the same initial weights and the same dropout seed:

* ``ours``: ``Trainer(model, data, config).fit()`` with ``epochs=1`` — per step
  ``TrainingData.full_batch`` (message-passing edges, label distributions), the model, the loss over
  the seen classes, backward, clipping, Adam, the scheduler; then the epoch's validation pass and
  the copy of the best weights. Its one-off ``model.finalize`` (class embeddings stored for the
  image-only path, once per training, not per epoch) is timed apart and left out.
* ``bare``: the same computation written directly with ``torch_geometric.nn`` — per node type a
  ``Linear`` (features) or the ``Embedding`` weight, two ``HeteroConv({edge type: SAGEConv}, aggr="sum")``
  layers with residual, ``LayerNorm``, ReLU and dropout, a head and class projection for the class
  nodes, the image projection MLP on standardised features, cosine logits with learnable scales for
  the image expert and the label-context expert (``label_dist @ classes``, the per-artwork label
  histogram computed once, as it does not change between steps), cross entropy (sum + auxiliary
  terms), backward, ``clip_grad_norm_``, ``torch.optim.Adam`` and the same LR schedule, on the same
  batches (``randperm`` from the same seed) over the same leakage-free edges; then a validation
  pass (top-1 on the validation artworks).

The bare model is loaded with the same initial weights as ours, and the per-step losses of the two
are compared (``max |Δ loss|``): equal up to float rounding means the same computation.

Usage: ``python bench/bench_epoch.py [--quick] [--artists N] [--repeat R] [--threads T] [--tasks …]``.
Table on stdout, JSON in ``bench/out/bench_epoch.json``.
"""
from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (
    cached_input,
    interleaved,
    log,
    machine,
    peak_rss_mib,
    run_worker,
    set_threads,
    table,
    write_json,
    write_synthetic_features,
)

SCRIPT = Path(__file__).resolve()
FEATURE_DIM = 1280


def prepare(artists: int, dim: int) -> Path:
    """The cached offline world (no images) with synthetic image features."""
    def build(graph: Path) -> None:
        from artkg.kg.builders import build_graph

        t0 = time.perf_counter()
        build_graph("synth", graph, artists=artists, seed=0, images=False, progress=False, build_store=False)
        write_synthetic_features(graph, dim=dim, task="style")
        log(f"[bench_epoch] world of {artists} artists built in {time.perf_counter() - t0:.1f} s")

    return cached_input("epoch_world", f"synth:{artists}:seed0:dim{dim}:v1", build)


# ---------------------------------------------------------------------------------- the bare loop
def bare_model(metadata, num_nodes, in_dims, image_dim, task_types: dict, hidden=128, embed=128, layers=2,
               dropout=0.2, input_dropout=0.2, proj_dropout=0.3, temperature=0.07):
    """GraphCLIP's computation, written directly with torch_geometric (no artkg code)."""
    import torch
    import torch.nn.functional as F
    from torch import nn
    from torch_geometric.nn import HeteroConv, SAGEConv

    node_types, edge_types = metadata

    class Bare(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin_in = nn.ModuleDict({t: nn.Linear(in_dims[t], hidden) for t in node_types if t in in_dims})
            self.emb = nn.ParameterDict({t: nn.Parameter(torch.empty(num_nodes[t], hidden))
                                         for t in node_types if t not in in_dims})
            self.convs = nn.ModuleList(HeteroConv({et: SAGEConv((hidden, hidden), hidden) for et in edge_types},
                                                  aggr="sum") for _ in range(layers))
            self.norms = nn.ModuleList(nn.ModuleDict({t: nn.LayerNorm(hidden) for t in node_types})
                                       for _ in range(layers))
            class_types = sorted(set(task_types.values()))
            self.head = nn.ModuleDict({t: nn.Linear(hidden, hidden) for t in class_types})
            self.class_proj = nn.ModuleDict({task: nn.Linear(hidden, embed) for task in task_types})
            mid = max(embed, min(image_dim, 512))
            self.img1, self.img2 = nn.Linear(image_dim, mid), nn.Linear(mid, embed)
            self.scale_image = nn.Parameter(torch.tensor(math.log(1 / temperature)))
            self.scale_graph = nn.Parameter(torch.tensor(math.log(1 / temperature)))
            self.register_buffer("mean", torch.zeros(image_dim))
            self.register_buffer("std", torch.ones(image_dim))

        def forward(self, x_dict, edge_index_dict, feats, dist):
            h = {}
            for t in node_types:
                if t in self.lin_in:
                    x = x_dict[t]
                    h[t] = self.lin_in[t]((x - self.mean) / self.std if t == "artwork" else x)
                else:
                    h[t] = self.emb[t]
            for conv, norms in zip(self.convs, self.norms):
                m = conv(h, edge_index_dict)
                h = {t: F.dropout(F.relu(norms[t](h[t] + m[t])), dropout, self.training) if t in m else h[t]
                     for t in h}
            x = F.dropout((feats - self.mean) / self.std, input_dropout, self.training)
            x = F.dropout(F.gelu(self.img1(x)), proj_dropout, self.training)
            z = F.normalize(self.img2(x), dim=-1)
            s_img = self.scale_image.clamp(max=math.log(100)).exp()
            s_graph = self.scale_graph.clamp(max=math.log(100)).exp()
            out = {}
            for task, ct in task_types.items():
                c = F.normalize(self.class_proj[task](self.head[ct](h[ct])), dim=-1)
                image = s_img * z @ c.T
                graph = s_graph * F.normalize(dist[task] @ c, dim=-1) @ c.T
                out[task] = (image + graph, image, graph)
            return out

    return Bare()


def copy_weights(bare, ours) -> None:
    """Start the bare model from our model's initial weights (same names, same shapes)."""
    import torch

    gnn = ours.gnn
    with torch.no_grad():
        for t, lin in bare.lin_in.items():
            lin.load_state_dict(gnn.inputs[t].state_dict())
        for t, p in bare.emb.items():
            p.copy_(gnn.inputs[t].weight)
        bare.convs.load_state_dict(gnn.convs.state_dict())
        bare.norms.load_state_dict(gnn.norms.state_dict())
        for t, lin in bare.head.items():
            lin.load_state_dict(gnn.head[t].state_dict())
        bare.class_proj.load_state_dict(ours.class_proj.state_dict())
        proj = ours.image_proj[1]  # Sequential(Dropout, Sequential(Linear, GELU, Dropout, Linear))
        bare.img1.load_state_dict(proj[0].state_dict())
        bare.img2.load_state_dict(proj[3].state_dict())
        bare.scale_image.copy_(ours.image_logits.log_scale)
        bare.scale_graph.copy_(ours.graph_logits.log_scale)
        bare.mean.copy_(ours.feature_mean)
        bare.std.copy_(ours.feature_std)


def bare_schedule(optimizer, warmup_steps: int, total_steps: int, min_lr_ratio: float):
    from torch.optim.lr_scheduler import CosineAnnealingLR, LinearLR, SequentialLR

    warmup_steps = max(0, min(warmup_steps, total_steps - 1))
    eta_min = optimizer.param_groups[0]["lr"] * min_lr_ratio
    cosine = CosineAnnealingLR(optimizer, T_max=max(1, total_steps - warmup_steps), eta_min=eta_min)
    if warmup_steps == 0:
        return cosine
    warmup = LinearLR(optimizer, start_factor=0.01, end_factor=1.0, total_iters=warmup_steps)
    return SequentialLR(optimizer, [warmup, cosine], milestones=[warmup_steps])


# ---------------------------------------------------------------------------------- worker
def worker(graph_dir: Path, tasks: list[str], threads: int, repeat: int) -> dict:
    import torch
    import torch.nn.functional as F
    import tqdm.auto  # noqa: F401 - imported by fit() on first use: not measured
    from artkg.kg.graph import load_graph
    from artkg.models.data import TrainingData
    from artkg.models.features_cache import feature_meta, load_features
    from artkg.models.train import make_model
    from artkg.models.train_config import TrainConfig
    from artkg.models.train_loop import Trainer
    from artkg.models.zoo import model_class

    set_threads(threads)
    config = TrainConfig.from_dict({"model": "graphclip", "tasks": tasks, "epochs": 1, "sampler": "full",
                                    "patience": 0})
    graph = load_graph(graph_dir)
    feats, mask = load_features(graph_dir, "image")
    data = TrainingData(graph, tasks, feats, mask, feature_meta(graph_dir, "image"), seed=config.seed,
                        fractions=config.split)
    cls = model_class("graphclip")
    gk = config.gnn_kwargs

    # ---- the bare loop's inputs: plain tensors, prepared once (untimed), like a hand-written script
    x_dict = {t: v for t, v in data.x_dict.items()}
    edges = dict(data.edges)
    trainable = data.trainable()
    labels = {t.name: t.labels for t in data.tasks}
    task_types = {t.name: t.class_type for t in data.tasks}
    artist_of = data.artist_of
    dist_all = {}
    for t in data.tasks:  # per artwork: class histogram of its artist's visible label edges
        src, dst = edges[t.direct]
        a = artist_of[src]
        counts = torch.zeros(graph.num_nodes("artist"), t.num_classes)
        counts.index_put_((a[a >= 0], dst[a >= 0]), torch.ones(int((a >= 0).sum())), accumulate=True)
        per_artist = counts / counts.sum(1, keepdim=True).clamp(min=1)
        dist_all[t.name] = torch.where((artist_of >= 0)[:, None], per_artist[artist_of.clamp(min=0)], 0.0)
    val = data.split.val
    steps = math.ceil(len(trainable) / config.batch_size)
    state: dict = {}

    def new_models() -> None:
        torch.manual_seed(1)
        ours = make_model(cls, data, config)
        bare = bare_model(data.metadata, data.num_nodes, data.in_dims, int(feats.shape[1]), task_types,
                          hidden=gk["hidden"], embed=128, layers=gk["layers"], dropout=gk["dropout"])
        copy_weights(bare, ours)
        state.update(ours=ours, bare=bare)
        torch.manual_seed(2)  # the dropout masks: the same stream for both variants

    def run_ours() -> dict:
        model = state["ours"]
        trainer = Trainer(model, data, config, torch.device("cpu"), progress=False)
        losses, parts = [], {"validation": 0.0, "finalize": 0.0}
        loss_fn, val_fn, fin_fn = trainer.loss, trainer.validation_score, model.finalize

        def loss(outputs, targets):
            value = loss_fn(outputs, targets)
            losses.append(float(value.detach()))
            return value

        def timed_part(name, fn):
            def wrapped(*a, **k):
                t0 = time.perf_counter()
                try:
                    return fn(*a, **k)
                finally:
                    parts[name] += time.perf_counter() - t0
            return wrapped

        trainer.loss = loss
        trainer.validation_score = timed_part("validation", val_fn)
        model.finalize = timed_part("finalize", fin_fn)
        trainer.fit()
        return {"losses": losses, **parts}

    def run_bare() -> dict:
        model = state["bare"]
        generator = torch.Generator().manual_seed(config.seed)
        optimizer = torch.optim.Adam(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
        scheduler = bare_schedule(optimizer, round(config.warmup_epochs * steps), config.epochs * steps,
                                  config.min_lr_ratio)
        losses = []
        model.train()
        t_steps = time.perf_counter()
        order = trainable[torch.randperm(len(trainable), generator=generator)]
        for start in range(0, len(order), config.batch_size):
            nodes = order[start:start + config.batch_size]
            out = model(x_dict, edges, feats[nodes], {k: v[nodes] for k, v in dist_all.items()})
            loss = sum(F.cross_entropy(lg, labels[k][nodes], ignore_index=-1) for k, o in out.items() for lg in o)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
            optimizer.step()
            scheduler.step()
            losses.append(float(loss.detach()))
        t_val = time.perf_counter()
        model.eval()
        with torch.no_grad():
            out = model(x_dict, edges, feats[val], {k: v[val] for k, v in dist_all.items()})
            top1 = [float((o[0].argmax(1) == labels[k][val]).float().mean()) for k, o in out.items()]
        return {"losses": losses, "validation": time.perf_counter() - t_val, "steps_s": t_val - t_steps,
                "val_top1": sum(top1) / len(top1)}

    times = interleaved({"ours": (new_models, run_ours), "bare": (new_models, run_bare)}, repeat, warmup=1)
    ours_x, bare_x = times["ours/extra"], times["bare/extra"]
    ours_epoch = [w - x["finalize"] for w, x in zip(times["ours"], ours_x)]
    ours_steps = [w - x["finalize"] - x["validation"] for w, x in zip(times["ours"], ours_x)]
    diffs = [max(abs(a - b) for a, b in zip(o["losses"], b_["losses"])) for o, b_ in zip(ours_x, bare_x)]
    n_edges = sum(int(ei.shape[1]) for ei in edges.values())
    return {"tasks": tasks, "threads": threads, "steps_per_epoch": steps, "trainable": len(trainable),
            "val": len(val), "nodes": dict(data.num_nodes), "edges": n_edges, "edge_types": len(edges),
            "ours_fit_s": times["ours"], "ours_epoch_s": ours_epoch, "ours_steps_s": ours_steps,
            "ours_validation_s": [x["validation"] for x in ours_x], "ours_finalize_s": [x["finalize"] for x in ours_x],
            "bare_epoch_s": times["bare"], "bare_steps_s": [x["steps_s"] for x in bare_x],
            "bare_validation_s": [x["validation"] for x in bare_x],
            "losses_ours": ours_x[0]["losses"], "losses_bare": bare_x[0]["losses"],
            "max_abs_loss_diff": max(diffs), "peak_rss_mib": round(peak_rss_mib(), 1)}


# ---------------------------------------------------------------------------------- main
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (smoke test)")
    parser.add_argument("--artists", type=int, default=None, help="artists in the world (default 300; quick 40)")
    parser.add_argument("--repeat", type=int, default=None, help="interleaved repeats (default 7; quick 1)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    parser.add_argument("--tasks", nargs="+", default=["style"], help="tasks (default style)")
    parser.add_argument("--worker", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        _, graph_dir, threads, repeat, *tasks = args.worker
        print(json.dumps(worker(Path(graph_dir), tasks, int(threads), int(repeat))))
        return 0
    artists = args.artists or (40 if args.quick else 300)
    repeat = args.repeat or (1 if args.quick else 7)
    graph_dir = prepare(artists, FEATURE_DIM)
    res = run_worker(SCRIPT, "compare", [str(graph_dir), str(args.threads), str(repeat), *args.tasks])
    med = {k: statistics.median(res[k]) for k in ("ours_epoch_s", "ours_steps_s", "ours_validation_s",
                                                  "ours_finalize_s", "ours_fit_s", "bare_epoch_s",
                                                  "bare_steps_s", "bare_validation_s")}
    ratio_epoch = med["ours_epoch_s"] / med["bare_epoch_s"]
    ratio_steps = med["ours_steps_s"] / med["bare_steps_s"]
    # Each round runs both variants back to back: the ratio within a round sees (nearly) the same load.
    paired = statistics.median(o / b for o, b in zip(res["ours_epoch_s"], res["bare_epoch_s"]))
    info = machine()
    print(f"bench_epoch: GraphCLIP ({'+'.join(res['tasks'])}), offline world of {artists} artists: "
          f"{sum(res['nodes'].values()):,} nodes, {res['edges']:,} message-passing edges ({res['edge_types']} types), "
          f"{res['trainable']} training artworks → {res['steps_per_epoch']} full-batch steps of 512; "
          f"{args.threads} torch thread(s), median of {repeat} interleaved runs; load average {info.get('load_avg')}")
    rows = [["bare PyG loop (baseline): steps + validation pass", f"{med['bare_epoch_s']:.3f}",
             f"{min(res['bare_epoch_s']):.3f}", f"{med['bare_steps_s']:.3f}", f"{med['bare_validation_s']:.3f}",
             "1.000×"],
            ["ours: Trainer.fit(epochs=1) without its one-off finalize", f"{med['ours_epoch_s']:.3f}",
             f"{min(res['ours_epoch_s']):.3f}", f"{med['ours_steps_s']:.3f}", f"{med['ours_validation_s']:.3f}",
             f"{ratio_epoch:.3f}×"]]
    print(table(rows, ["variant", "epoch median (s)", "epoch best (s)", "steps (s)", "validation (s)",
                       "epoch ÷ bare"]))
    print(f"ours / bare, one epoch: {ratio_epoch:.3f}× of the medians, {paired:.3f}× median of the per-round "
          f"ratios (goal ≤ 1.2); training steps alone: {ratio_steps:.3f}×; "
          f"ours' finalize (once per training) {med['ours_finalize_s']:.3f} s; max |Δ loss| per step "
          f"{res['max_abs_loss_diff']:.2e}; peak RSS {res['peak_rss_mib']:.0f} MiB")
    write_json("bench_epoch", {"quick": args.quick, "machine": info,
                               "config": {"artists": artists, "repeat": repeat, "threads": args.threads,
                                          "tasks": args.tasks, "feature_dim": FEATURE_DIM},
                               "result": res, "median_s": med,
                               "ratios": {"ours_over_bare_epoch": round(ratio_epoch, 3),
                                          "ours_over_bare_epoch_paired": round(paired, 3),
                                          "ours_over_bare_steps": round(ratio_steps, 3)}})
    return 0


if __name__ == "__main__":
    sys.exit(main())
