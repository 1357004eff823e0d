"""Recommender benchmark (issue 10): CuratorNet training throughput against a bare PyTorch loop,
``artkg recommend`` latency over 100k items, and peak memory for 10k users × 100k items.

Input: a deterministic synthetic purchase world (:func:`world`, numpy, seed 0) — 128-d float32
features in 50 visual clusters, ~25 works per artist (KG context), works uploaded over time (80%
one of a kind), users buying from 1–3 favourite clusters in baskets (at least two baskets each).

1. **throughput** (one child, ``--threads`` torch/BLAS threads, default 1; interleaved ``--repeat``
   rounds after one warm-up): ``CuratorNet(epochs=E, batch_size=256).fit(train)`` against a bare
   loop of the same computation — item tower Linear-SELU 128→200→200, user tower Linear-SELU
   256→300→200→200 over the masked mean ⊕ max of the z-scored profile features, loss
   −log σ(x_ui − x_uj) + l2·Σ‖W‖², Adam, the same 5% validation split and pass, ReduceLROnPlateau,
   the same initial weights and batch order, so the per-epoch losses must agree. Both read one fixed
   precomputed :class:`Triples` set (given to CuratorNet as a ``TripleSampler`` instance), so
   sampling is not timed; the bare loop's z-scored features and padded profiles are precomputed
   outside its clock. Figure: training triples × epochs / wall seconds, ours ÷ bare.
2. **latency** (one child): a CuratorNet fitted for one epoch on 2,000 triples over 100k items;
   per call ``score(-1, 5-item profile, all items)`` + the top-20 by ``argsort`` (what
   ``recommend()`` does once it has the candidates); the first call (it builds the item-tower cache)
   apart, then ≥ 50 interleaved calls of it, of VisRank the same way, and of bare numpy baselines:
   ``items @ u`` over the precomputed 100k×200 item matrix (``cos @ profile`` max for VisRank) +
   ``argpartition``. Figures: p50/p95 ms and bare p50 ÷ ours p50.
3. **memory** (one child each): VmHWM of (a) building the inputs alone (imports included), (b)
   fitting CuratorNet for one epoch with the guideline sampler (when ``sampling.py`` provides
   ``guidelines``; else one random triple per interaction), (c) the time-ordered split and
   ``run.evaluate`` of a fitted CuratorNet (VmHWM reset after its small fit). Figures: GiB and
   ÷ the raw inputs (features + interaction arrays, bytes).

Usage: ``python bench/bench_recsys.py [--quick] [--only throughput latency memory] [--repeat R]
[--threads T] [--calls N] [--cutoff-quantile Q]``. Table on stdout, JSON in ``bench/out/bench_recsys.json``.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (
    interleaved,
    machine,
    peak_rss_mib,
    run_worker,
    set_threads,
    table,
    write_json,
)

SCRIPT = Path(__file__).resolve()
DIM, BATCH, L2, LR, VAL = 128, 256, 1e-4, 1e-3, 0.05
SIZES = {  # (full, quick)
    "throughput": ({"users": 2000, "items": 20000, "interactions": 50000, "triples": 100000, "epochs": 1,
                    "time_sampler": True},
                   {"users": 300, "items": 3000, "interactions": 6000, "triples": 6000, "epochs": 1,
                    "time_sampler": False}),
    "latency": ({"users": 500, "items": 100000, "interactions": 10000},
                {"users": 200, "items": 10000, "interactions": 4000}),
    "memory": ({"users": 10000, "items": 100000, "interactions": 200000},
               {"users": 500, "items": 5000, "interactions": 8000}),
}


# ---------------------------------------------------------------------------------- inputs
def world(users: int, items: int, interactions: int, dim: int = DIM, seed: int = 0, clusters: int = 50):
    """``(TrainData, interactions)`` of a synthetic purchase world: features centre + noise (float32)
    in ``clusters`` clusters, ~25 works per artist (KG context ``created_by``, one cluster each);
    uploads uniform over [0, 1e6) (a fifth at 0), 80% one of a kind; each user
    has 1–3 favourite clusters and 2 + Poisson baskets of 1 + Poisson(1) works at increasing times,
    each work drawn from a favourite cluster (10%: any cluster) among its works uploaded by then."""
    from types import SimpleNamespace

    import numpy as np
    from artkg.models.recsys.base import TrainData

    rng = np.random.default_rng(seed)
    horizon = 1e6
    cluster = rng.integers(0, clusters, items)
    features = rng.standard_normal((items, dim), dtype=np.float32)
    features += 1.5 * rng.standard_normal((clusters, dim), dtype=np.float32)[cluster]
    upload = rng.uniform(0, horizon, items)
    upload[rng.random(items) < 0.2] = 0.0
    one_of_a_kind = rng.random(items) < 0.8
    per = max(1, items // (25 * clusters))  # ~25 works per artist, each artist within one cluster
    artist = cluster * per + rng.integers(0, per, items)
    n_baskets = 2 + rng.poisson(max(interactions / users / 2.0 - 2.0, 0.0), users)
    b_user = np.repeat(np.arange(users), n_baskets)
    b_time = rng.uniform(0, horizon, len(b_user))
    order = np.lexsort((b_time, b_user))
    b_user, b_time = b_user[order], b_time[order]
    rows = np.repeat(np.arange(len(b_user)), 1 + rng.poisson(1.0, len(b_user)))
    user, t = b_user[rows], b_time[rows]
    taste = rng.integers(0, clusters, (users, 3))
    pick = taste[user, (rng.random(len(user)) * rng.integers(1, 4, users)[user]).astype(np.int64)]
    noise = rng.random(len(user)) < 0.1
    pick[noise] = rng.integers(0, clusters, int(noise.sum()))
    by = np.lexsort((upload, cluster))  # works by (cluster, upload time): "uploaded by t" is a prefix
    start = np.searchsorted(cluster[by], np.arange(clusters + 1))
    key = cluster[by] * 2 * horizon + upload[by]
    count = np.searchsorted(key, pick * 2 * horizon + t, side="right") - start[pick]
    count = np.maximum(count, 1)
    item = by[start[pick] + (rng.random(len(user)) * count).astype(np.int64)]
    train = TrainData(n_users=users, n_items=items, user=user.astype(np.int64), item=item.astype(np.int64),
                      time=t, basket=rows.astype(np.int64), features=features, seed=0,
                      context={"created_by": artist}, context_sizes={"created_by": clusters * per})
    inter = SimpleNamespace(n_users=users, n_items=items, user=train.user, item=train.item, time=t,
                            basket=train.basket, available_from=upload, one_of_a_kind=one_of_a_kind)
    return train, inter


def make_triples(train, m: int, rng, one_item: float = 0.1):
    """``m`` random triples: a user's profile without the positive (one of their works) over a uniform
    negative; a fraction ``one_item`` are one-item profiles ``[i]`` (user -1) ranking ``i`` first."""
    import numpy as np
    from artkg.models.recsys.base import Triples

    profiles = train.profiles()
    lens = np.array([len(p) for p in profiles], dtype=np.int64)
    offs = np.concatenate([[0], np.cumsum(lens)])
    flat = np.concatenate(profiles)
    m_user = m - int(m * one_item)
    u = rng.choice(np.flatnonzero(lens >= 2), m_user)
    p = (rng.random(m_user) * lens[u]).astype(np.int64)
    plen = lens[u] - 1
    tid = np.repeat(np.arange(m_user), plen)
    j = np.arange(plen.sum()) - np.repeat(np.cumsum(plen) - plen, plen)
    prof = flat[offs[u][tid] + j + (j >= p[tid])]
    one = flat[rng.integers(0, len(flat), m - m_user)]
    pos = np.concatenate([flat[offs[u] + p], one])
    neg = rng.integers(0, train.n_items, m)
    neg = np.where(neg == pos, (neg + 1) % train.n_items, neg)
    ptr = np.concatenate([[0], np.cumsum(np.concatenate([plen, np.ones(m - m_user, dtype=np.int64)]))])
    return Triples(user=np.concatenate([u, np.full(m - m_user, -1)]).astype(np.int64), pos=pos, neg=neg,
                   profile_ptr=ptr, profile_items=np.concatenate([prof, one]), guideline=np.zeros(m, np.int8))


def bench_sampler(triples=None, inner=None, m: int = 0):
    """A ``TripleSampler`` giving ``triples`` as they are (precomputed), else ``inner.sample(…)`` (a real
    sampler), else :func:`make_triples` of ``m`` random triples; it records ``seconds`` and ``count``."""
    from artkg.models.recsys.base import TripleSampler

    class Bench(TripleSampler):
        kind = "fixed" if triples is not None else getattr(inner, "kind", "bench_random")
        seconds, count = 0.0, 0

        def sample(self, train, rng):
            t0 = time.perf_counter()
            out = (triples if triples is not None else inner.sample(train, rng) if inner is not None
                   else make_triples(train, m, rng))
            self.seconds, self.count = time.perf_counter() - t0, len(out)
            return out

    return Bench()


def guideline_sampler():
    """The registry's ``guidelines`` sampler, or None while ``sampling.py`` does not exist."""
    try:
        from artkg.models.recsys.sampling import sampler_resolver
    except ImportError:
        return None
    return sampler_resolver.make("guidelines", None)


# ---------------------------------------------------------------------------------- 1. throughput
def bare_fit(fz, P, lens, pos, neg, train_idx, val_idx, epochs: int, seed: int) -> dict:
    """CuratorNet's training written directly in torch (see the module docstring)."""
    import torch
    import torch.nn.functional as F
    from torch import nn

    torch.manual_seed(seed)
    d = fz.shape[1]
    item = nn.Sequential(nn.Linear(d, 200), nn.SELU(), nn.Linear(200, 200), nn.SELU())
    user = nn.Sequential(nn.Linear(2 * d, 300), nn.SELU(), nn.Linear(300, 200), nn.SELU(),
                         nn.Linear(200, 200), nn.SELU())
    params = [*item.parameters(), *user.parameters()]
    weights = [w for w in params if w.dim() > 1]
    opt = torch.optim.Adam(params, lr=LR)
    sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, factor=0.5, patience=2)
    gen = torch.Generator().manual_seed(seed)

    def diff(idx):
        length = lens[idx]
        w = max(int(length.max()), 1)
        mask = torch.arange(w) < length[:, None]
        x = fz[P[idx, :w]]
        m = mask.unsqueeze(-1).to(x.dtype)
        mean = (x * m).sum(1) / m.sum(1).clamp(min=1.0)
        mx = x.masked_fill(~mask.unsqueeze(-1), float("-inf")).max(1).values
        mx = torch.where(mask.any(1, keepdim=True), mx, torch.zeros_like(mx))
        u = user(torch.cat([mean, mx], -1))
        both = item(fz[torch.stack([pos[idx], neg[idx]])])
        return (u * (both[0] - both[1])).sum(-1)

    train_loss, val_loss, n = [], [], len(train_idx)
    for _ in range(epochs):
        perm = train_idx[torch.randperm(n, generator=gen)]
        total = torch.zeros(())
        for s in range(0, n, BATCH):
            idx = perm[s:s + BATCH]
            data = F.softplus(-diff(idx)).mean()
            loss = data + L2 * sum(w.pow(2).sum() for w in weights)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += data.detach() * len(idx)
        train_loss.append(float(total) / n)
        with torch.no_grad():
            val_loss.append(sum(float(F.softplus(-diff(val_idx[s:s + 4 * BATCH])).sum())
                                for s in range(0, len(val_idx), 4 * BATCH)) / max(len(val_idx), 1))
        sched.step(val_loss[-1])
    return {"train_loss": train_loss, "val_loss": val_loss}


def worker_throughput(cfg: dict, threads: int, repeat: int) -> dict:
    import numpy as np
    import torch

    set_threads(threads)
    from artkg.models.recsys.factorization import zscore_stats
    from artkg.models.recsys.visual import CuratorNet

    train, _ = world(cfg["users"], cfg["items"], cfg["interactions"])
    triples = make_triples(train, cfg["triples"], np.random.default_rng(1))
    epochs = cfg["epochs"]
    # The bare loop's precomputation (untimed): z-scored features, padded profiles, the split.
    mean, std = zscore_stats(train.features, train.item)
    fz = torch.as_tensor((train.features - mean) / std)
    lens = np.diff(triples.profile_ptr)
    P = np.zeros((len(triples), max(int(lens.max()), 1)), dtype=np.int64)
    rows = np.repeat(np.arange(len(triples)), lens)
    P[rows, np.arange(len(rows)) - np.repeat(triples.profile_ptr[:-1], lens)] = triples.profile_items
    n_val = round(len(triples) * VAL)
    perm = np.random.default_rng(train.seed + 1).permutation(len(triples))
    train_idx, val_idx = torch.as_tensor(np.sort(perm[n_val:])), torch.as_tensor(np.sort(perm[:n_val]))
    args = (fz, torch.as_tensor(P), torch.as_tensor(lens), torch.as_tensor(triples.pos), torch.as_tensor(triples.neg),
            train_idx, val_idx, epochs, train.seed)
    held = {}

    def new_ours():
        held["model"] = CuratorNet(epochs=epochs, batch_size=BATCH, l2=L2, lr=LR, val_fraction=VAL,
                                   sampler=bench_sampler(triples))

    def run_ours():
        h = held["model"].fit(train).history_
        return {"train_loss": h["train_loss"], "val_loss": h["val_loss"]}

    times = interleaved({"ours": (new_ours, run_ours), "bare": lambda: bare_fit(*args)}, repeat, warmup=1)
    diffs = [max(abs(a - b) for a, b in zip(o["train_loss"] + o["val_loss"], b_["train_loss"] + b_["val_loss"]))
             for o, b_ in zip(times["ours/extra"], times["bare/extra"])]
    out = {"triples": len(triples), "train_triples": len(train_idx), "epochs": epochs, "threads": threads,
           "mean_profile": float(lens.mean()), "max_profile": int(lens.max()),
           "ours_s": times["ours"], "bare_s": times["bare"], "ours_cpu_s": times["ours/cpu"],
           "bare_cpu_s": times["bare/cpu"], "losses_ours": times["ours/extra"][0],
           "losses_bare": times["bare/extra"][0], "max_abs_loss_diff": max(diffs), "peak_rss_mib": peak_rss_mib()}
    g = guideline_sampler() if cfg["time_sampler"] else None
    if g is not None:  # the real sampler on the same data, timed apart (the memory child times it in --quick)
        timed = bench_sampler(inner=g)
        timed.sample(train, np.random.default_rng(train.seed))
        out["guideline_sampler"] = {"seconds": timed.seconds, "triples": timed.count}
    return out


# ---------------------------------------------------------------------------------- 2. latency
def worker_latency(cfg: dict, threads: int, calls: int) -> dict:
    import numpy as np

    set_threads(threads)
    from artkg.models.recsys.visual import CuratorNet, VisRank

    train, _ = world(cfg["users"], cfg["items"], cfg["interactions"])
    t0 = time.perf_counter()
    model = CuratorNet(epochs=1, sampler=bench_sampler(make_triples(train, 2000, np.random.default_rng(1)))).fit(train)
    fit_s = time.perf_counter() - t0
    visrank = VisRank().fit(train)
    profile = next(p for p in train.profiles() if len(p) >= 5)[:5]
    cand = np.arange(train.n_items, dtype=np.int64)

    from artkg.retrieval.recommend import top_k

    def top20(model_, index=None):
        def call():  # what `artkg recommend` runs once the run is loaded: score, then the best 20
            return top_k(model_, -1, profile, cand, 20, index=index, index_from=0)[0]
        return call

    first_ours, first_visrank = (interleaved({"x": top20(m)}, 1)["x"][0] for m in (model, visrank))
    items = model._all_items().numpy().copy()  # the bare baselines' precomputed matrices
    u = model.user_vector(profile).numpy()
    unit = visrank._unit
    prof_t = np.ascontiguousarray(unit[profile].T)

    def bare(scores):
        def call():
            s = scores()
            top = np.argpartition(-s, 19)[:20]
            return top[np.argsort(-s[top], kind="stable")]
        return call

    top20(model, "flat")()  # builds the FAISS flat index of the catalogue once (kept for later requests)
    variants = {"ours": top20(model), "ours_faiss_flat": top20(model, "flat"), "bare": bare(lambda: items @ u),
                "visrank": top20(visrank), "bare_visrank": bare(lambda: (unit @ prof_t).max(1))}
    res = interleaved(variants, calls)
    same = {"ours": bool(np.array_equal(np.sort(res["ours/extra"][0]), np.sort(res["bare/extra"][0]))),
            "ours_faiss_flat": bool(np.array_equal(np.sort(res["ours_faiss_flat/extra"][0]),
                                                   np.sort(res["bare/extra"][0]))),
            "visrank": bool(np.array_equal(np.sort(res["visrank/extra"][0]), np.sort(res["bare_visrank/extra"][0])))}
    lat = {k: {"p50_ms": float(np.percentile(res[k], 50) * 1e3), "p95_ms": float(np.percentile(res[k], 95) * 1e3),
               "calls": len(res[k])} for k in variants}
    return {"items": train.n_items, "fit_s": fit_s, "first_ms": {"ours": first_ours * 1e3, "visrank": first_visrank * 1e3},
            "latency": lat, "same_top20": same, "threads": threads, "peak_rss_mib": peak_rss_mib()}


# ---------------------------------------------------------------------------------- 3. memory
def reset_peak() -> bool:
    """Reset this process's VmHWM (Linux: ``5`` into ``/proc/self/clear_refs``)."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def worker_memory(mode: str, cfg: dict, threads: int, cutoff: float) -> dict:
    import numpy as np

    set_threads(threads)
    from artkg.models.recsys.visual import CuratorNet

    t0 = time.perf_counter()
    train, inter = world(cfg["users"], cfg["items"], cfg["interactions"])
    raw = sum(int(a.nbytes) for a in (train.features, inter.user, inter.item, inter.time, inter.basket,
                                      inter.available_from, inter.one_of_a_kind, train.context["created_by"]))
    out = {"mode": mode, "raw_bytes": raw, "world_s": time.perf_counter() - t0, "interactions": len(inter.user)}
    if mode == "fit":
        g = guideline_sampler()
        sampler = bench_sampler(inner=g, m=len(train.user))
        t0 = time.perf_counter()
        CuratorNet(epochs=1, sampler=sampler).fit(train)
        out.update(fit_s=time.perf_counter() - t0, sampler=sampler.kind, sampler_s=sampler.seconds,
                   triples=sampler.count)
    elif mode == "eval":
        from artkg.models.recsys.protocol import TimeOrderedSplit
        from artkg.models.recsys.run import evaluate

        model = CuratorNet(epochs=1, sampler=bench_sampler(make_triples(train, 2000, np.random.default_rng(1)))).fit(train)
        out["before_eval_peak_mib"] = peak_rss_mib()
        out["peak_reset"] = reset_peak()
        t0 = time.perf_counter()
        split = TimeOrderedSplit(cutoff_quantile=cutoff).split(inter, features=train.features, seed=0)
        out["split_s"] = time.perf_counter() - t0
        # The split holds profiles and test baskets only; candidates are computed per case when scored.
        out.update(split.summary(), split_mib=sum(c.basket.nbytes + c.profile.nbytes for c in split.cases) / 2**20)
        t0 = time.perf_counter()
        metrics = evaluate(model, split)
        out.update(eval_s=time.perf_counter() - t0, auc=metrics.get("auc"))
    out["peak_rss_mib"] = peak_rss_mib()
    return out


# ---------------------------------------------------------------------------------- main
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (smoke test, < 1 min)")
    parser.add_argument("--only", nargs="+", choices=("throughput", "latency", "memory"), help="run only these")
    parser.add_argument("--repeat", type=int, default=None, help="interleaved throughput rounds (default 3; quick 1)")
    parser.add_argument("--calls", type=int, default=None, help="timed recommend calls per variant (default 100; quick 50)")
    parser.add_argument("--threads", type=int, default=1, help="torch/BLAS threads of every child (default 1)")
    parser.add_argument("--cutoff-quantile", type=float, default=0.5, help="evaluation split (default 0.5)")
    parser.add_argument("--worker", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        name, cfg, threads, extra = args.worker[0], json.loads(args.worker[1]), int(args.worker[2]), args.worker[3]
        res = (worker_throughput(cfg, threads, int(extra)) if name == "throughput" else worker_latency(
            cfg, threads, int(extra)) if name == "latency" else worker_memory(name[7:], cfg, threads, float(extra)))
        print(json.dumps(res))
        return 0
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):  # numpy's BLAS in the children
        os.environ[var] = str(args.threads)
    q = 1 if args.quick else 0
    sizes = {k: v[q] for k, v in SIZES.items()}
    repeat = args.repeat or (1 if args.quick else 3)
    calls = args.calls or (50 if args.quick else 100)
    parts = args.only or ["throughput", "latency", "memory"]
    info = machine()
    res, ratios, cfg_t = {}, {}, sizes["throughput"]
    if "throughput" in parts:
        r = res["throughput"] = run_worker(SCRIPT, "throughput", [json.dumps(cfg_t), str(args.threads), str(repeat)])
        work = r["train_triples"] * r["epochs"]
        ours, bare = statistics.median(r["ours_s"]), statistics.median(r["bare_s"])
        ratios["ours_over_bare_throughput"] = round(bare / ours, 3)
        ratios["ours_over_bare_throughput_paired"] = round(statistics.median(
            b / o for o, b in zip(r["ours_s"], r["bare_s"])), 3)
        print(f"bench_recsys throughput: {cfg_t['users']:,} users, {cfg_t['items']:,} items × {DIM}-d, "
              f"{r['triples']:,} fixed triples ({r['train_triples']:,} trained, profiles mean {r['mean_profile']:.1f} / "
              f"max {r['max_profile']}), batch {BATCH}, {r['epochs']} epoch(s), {args.threads} thread(s), median of "
              f"{repeat} interleaved rounds; load average {info.get('load_avg')}")
        print(table([["bare torch loop (baseline)", f"{bare:.3f}", f"{min(r['bare_s']):.3f}",
                      f"{statistics.median(r['bare_cpu_s']):.3f}", f"{work / bare:,.0f}", "1.000×"],
                     ["ours: CuratorNet.fit", f"{ours:.3f}", f"{min(r['ours_s']):.3f}",
                      f"{statistics.median(r['ours_cpu_s']):.3f}", f"{work / ours:,.0f}",
                      f"{ratios['ours_over_bare_throughput']:.3f}×"]],
                    ["variant", "fit median (s)", "best (s)", "CPU median (s)", "triples/s", "throughput ÷ bare"]))
        g = r.get("guideline_sampler")
        print(f"ours / bare throughput: {ratios['ours_over_bare_throughput']}× of the medians, "
              f"{ratios['ours_over_bare_throughput_paired']}× median of the per-round ratios (goal ≥ 0.9); "
              f"max |Δ loss| per epoch {r['max_abs_loss_diff']:.2e}; guideline sampler on this data: "
              + (f"{g['seconds']:.2f} s for {g['triples']:,} triples (not in the figures above)" if g else
                 "not timed (--quick) or not available (no models/recsys/sampling.py)") + "\n")
    if "latency" in parts:
        r = res["latency"] = run_worker(SCRIPT, "latency", [json.dumps(sizes["latency"]), str(args.threads), str(calls)])
        lat = r["latency"]
        ratios.update({"recommend_p50_ms": round(lat["ours"]["p50_ms"], 3), "recommend_p95_ms": round(lat["ours"]["p95_ms"], 3),
                       "bare_over_ours_latency": round(lat["bare"]["p50_ms"] / lat["ours"]["p50_ms"], 3),
                       "faiss_flat_p50_ms": round(lat["ours_faiss_flat"]["p50_ms"], 3),
                       "visrank_p50_ms": round(lat["visrank"]["p50_ms"], 3),
                       "bare_over_visrank_latency": round(lat["bare_visrank"]["p50_ms"] / lat["visrank"]["p50_ms"], 3)})
        print(f"bench_recsys latency: one user (5-item profile) over {r['items']:,} candidates, top 20, "
              f"{calls} interleaved calls after one warm call; {args.threads} thread(s)")
        names = {"ours": "ours: top_k (CuratorNet.score + partition)", "bare": "bare: items @ u + argpartition",
                 "ours_faiss_flat": "ours: top_k through a FAISS flat index",
                 "visrank": "ours: top_k (VisRank.score + partition)",
                 "bare_visrank": "bare: max(cos @ profile) + argpartition"}
        print(table([[names[k], f"{v['p50_ms']:.2f}", f"{v['p95_ms']:.2f}",
                      f"{r['first_ms'][k]:.1f}" if k in r["first_ms"] else "",
                      f"{lat['bare_visrank' if k == 'visrank' else 'bare']['p50_ms'] / v['p50_ms']:.3f}×"
                      if not k.startswith("bare") else "baseline"]
                     for k, v in lat.items()], ["variant", "p50 (ms)", "p95 (ms)", "first call (ms)", "bare p50 ÷ p50"]))
        print(f"same top-20 as bare: {r['same_top20']}; fit (1 epoch, 2,000 triples) {r['fit_s']:.1f} s\n")
    if "memory" in parts:
        cfg_m = sizes["memory"]
        r = res["memory"] = {m: run_worker(SCRIPT, f"memory_{m}", [json.dumps(cfg_m), str(args.threads),
                                                                   str(args.cutoff_quantile)]) for m in ("inputs", "fit", "eval")}
        raw_gib = r["inputs"]["raw_bytes"] / 2**30
        for m in ("inputs", "fit", "eval"):
            ratios[f"{m}_peak_gib"] = round(r[m]["peak_rss_mib"] / 1024, 3)
            ratios[f"{m}_peak_over_raw"] = round(r[m]["peak_rss_mib"] / 1024 / raw_gib, 2)
        f, e = r["fit"], r["eval"]
        print(f"bench_recsys memory: {cfg_m['users']:,} users × {cfg_m['items']:,} items, {f['interactions']:,} "
              f"interactions, {DIM}-d float32 features: raw inputs {raw_gib * 1024:.1f} MiB")
        print(table([["inputs alone (imports + world)", f"{r['inputs']['peak_rss_mib'] / 1024:.3f}",
                      f"{ratios['inputs_peak_over_raw']}×", f"{r['inputs']['world_s']:.1f}"],
                     [f"fit, 1 epoch, {f['sampler']} sampler ({f['triples']:,} triples)",
                      f"{f['peak_rss_mib'] / 1024:.3f}", f"{ratios['fit_peak_over_raw']}×", f"{f['fit_s']:.1f}"],
                     [f"evaluate {e['test_users']:,} test users (split + run.evaluate)",
                      f"{e['peak_rss_mib'] / 1024:.3f}", f"{ratios['eval_peak_over_raw']}×",
                      f"{e['split_s'] + e['eval_s']:.1f}"]],
                    ["child", "peak RSS (GiB)", "÷ raw inputs", "seconds"]))
        print(f"sampler {f['sampler_s']:.1f} s of the fit; split: cutoff quantile {args.cutoff_quantile}, "
              f"{e['mean_candidates']:,.0f} candidates per test user on average, {e['split_mib']:.0f} MiB of test "
              f"cases, split {e['split_s']:.1f} s, evaluate {e['eval_s']:.1f} s; eval peak counted after the "
              f"fit (VmHWM reset: {e['peak_reset']})")
    write_json("bench_recsys", {"quick": args.quick, "machine": info,
                                "config": {"sizes": sizes, "repeat": repeat, "calls": calls, "threads": args.threads,
                                           "dim": DIM, "batch_size": BATCH, "cutoff_quantile": args.cutoff_quantile},
                                "result": res, "ratios": ratios})
    return 0


if __name__ == "__main__":
    sys.exit(main())
