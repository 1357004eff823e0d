"""Object influence retrieval: metrics, triplet samplers, splits, ranking rules, CLOIR runs and the CLI."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from artkg.kg import schema as S
from artkg.kg.errors import InputError, NotFoundError
from artkg.kg.graph import load_graph
from artkg.kg.influence import InfluenceIndex
from artkg.models.cloir import CLOIRNet, CloirConfig
from artkg.models.features import extract_features
from artkg.models.triplets import (HardNegativeSampler, InfluenceHops, RandomNegativeSampler,
                                   RandomPositiveSampler, SimilarityPositiveSampler, artwork_creators,
                                   plan_triplets, split_artworks)
from artkg.retrieval.cloir import evaluate_cloir_run, load_cloir_run, train_cloir
from artkg.retrieval.evaluate import evaluate_retrieval
from artkg.retrieval.metrics import precision_at_k, reciprocal_rank, relevant_artists, summarize
from artkg.retrieval.query import build_artwork_index, influencing_artworks
from artkg.retrieval.rank import Gallery

FAST = {"epochs": 2, "batch_size": 128, "lr": 1e-3, "threads": 1, "patience": 0}


@pytest.fixture(scope="module", autouse=True)
def one_thread(torch_one_thread):
    yield


# ------------------------------------------------------------------ metrics (hand-computed)
def test_precision_and_reciprocal_rank_by_hand():
    rel = np.array([[0, 1, 0, 1, 0],   # P@1 0, P@2 1/2, P@5 2/5, RR 1/2
                    [1, 0, 0, 0, 0],   # P@1 1, P@2 1/2, P@5 1/5, RR 1
                    [0, 0, 0, 0, 0]],  # nothing relevant: 0 everywhere
                   dtype=bool)
    assert precision_at_k(rel, 1).tolist() == [0.0, 1.0, 0.0]
    assert precision_at_k(rel, 2).tolist() == [0.5, 0.5, 0.0]
    assert np.allclose(precision_at_k(rel, 5), [0.4, 0.2, 0.0])
    assert np.allclose(reciprocal_rank(rel), [0.5, 1.0, 0.0])
    s = summarize(rel, ks=(1, 5))
    assert s["P@1"] == pytest.approx(1 / 3) and s["P@5"] == pytest.approx(0.2) and s["MRR"] == pytest.approx(0.5)
    assert s["queries"] == 3


def tiny_influence() -> InfluenceIndex:
    # 0 was influenced by 1 and 2; 1 by 3; 2 by 4 and 5; 5 by 6 (degree 3 from 0); 7 influenced by 0.
    edges = np.array([[0, 0, 1, 2, 2, 5, 7], [1, 2, 3, 4, 5, 6, 0]])
    return InfluenceIndex(edges, 8)


def test_degree_two_relevance_includes_every_influencers_influencers():
    influence = tiny_influence()
    assert relevant_artists(influence, 0, 1).tolist() == [1, 2]
    # Both direct influencers' own influencers — not only the first one's (the reference code's slip).
    assert relevant_artists(influence, 0, 2).tolist() == [1, 2, 3, 4, 5]
    assert 6 not in relevant_artists(influence, 0, 2) and 7 not in relevant_artists(influence, 0, 2)


def test_evaluation_counts_degree_two_hits_by_hand():
    influence = tiny_influence()
    # Artworks: 0 by artist 0 (query), then one each by artists 1, 4, 6, 7, 3 at increasing distance.
    creator = np.array([0, 1, 4, 6, 7, 3, 0])
    vectors = np.array([[0.0], [1.0], [2.0], [3.0], [4.0], [5.0], [0.5]], dtype=np.float32)
    years = np.full(len(creator), np.nan)
    gallery = Gallery.build(vectors, np.arange(len(creator)), creator, years, metric="l2")
    out = evaluate_retrieval(influence, vectors, np.array([0]), gallery, ks=(1, 2, 4), time_filter=False)
    # Ranking after dropping the query's own artist (artworks 0 and 6): 1 (a1), 2 (a4), 3 (a6), 4 (a7), 5 (a3).
    d1, d2 = out["degree_1"], out["degree_2"]
    assert (d1["P@1"], d1["P@2"], d1["P@4"], d1["MRR"]) == (1.0, 0.5, 0.25, 1.0)
    assert (d2["P@1"], d2["P@2"], d2["P@4"]) == (1.0, 1.0, 0.5)  # a1 and a4 relevant, a6 (degree 3) not
    assert d1["chance"] == pytest.approx(1 / 5) and d2["chance"] == pytest.approx(3 / 5)
    # A random ranking's MRR: one relevant of 5 → H_5 / 5; three of 5 → 3/5·1 + 3/10·1/2 + 1/10·1/3.
    assert d1["chance_MRR"] == pytest.approx((1 + 1 / 2 + 1 / 3 + 1 / 4 + 1 / 5) / 5)
    assert d2["chance_MRR"] == pytest.approx(0.6 + 0.15 + 0.1 / 3)


def test_expected_reciprocal_rank_matches_every_permutation():
    from itertools import permutations

    from artkg.retrieval.metrics import expected_reciprocal_rank

    for n in range(1, 7):
        for r in range(0, n + 1):
            items = [True] * r + [False] * (n - r)
            rr = [reciprocal_rank(np.array([perm]))[0] for perm in permutations(items)]
            assert expected_reciprocal_rank([r], [n])[0] == pytest.approx(float(np.mean(rr))), (r, n)
    big = expected_reciprocal_rank([1, 50, 0], [80_000, 80_000, 10])
    assert big[0] == pytest.approx(sum(1 / i for i in range(1, 80_001)) / 80_000) and 0 < big[1] < 1 and big[2] == 0


def test_gallery_drops_own_artist_and_later_works():
    creator = np.array([0, 0, 1, 2, 3])
    years = np.array([1900, 1850, 1850, 1950, np.nan])
    vectors = np.arange(5, dtype=np.float32)[:, None]
    gallery = Gallery.build(vectors, np.arange(5), creator, years, metric="l2")
    cand, scores, valid = gallery.search(vectors, np.array([0]), k=None, time_filter=True)
    kept = cand[0][valid[0]].tolist()
    assert kept == [2, 4]  # not its own artist's work 1, not the later work 3; unknown date kept
    assert (np.diff(scores[0][valid[0]]) <= 0).all()  # higher is better
    cand, _, valid = gallery.search(vectors, np.array([0]), k=None, time_filter=False)
    assert cand[0][valid[0]].tolist() == [2, 3, 4]


# ------------------------------------------------------------------ splits and samplers
def test_splits_stratified_per_artist_and_leave_out_agents_disjoint():
    creator = np.repeat(np.arange(20), 10)
    usable = np.ones(len(creator), dtype=bool)
    s = split_artworks(creator, usable, "stratified", 0.3, 0.1, seed=1)
    assert len(set(s.train) | set(s.val) | set(s.test)) == 200 and not set(s.train) & set(s.test)
    per_artist = np.bincount(creator[s.test], minlength=20)
    assert (per_artist == 3).all()  # 30% of each artist's 10 works
    lo = split_artworks(creator, usable, "leave_out_agents", 0.3, 0.1, seed=1)
    assert not set(creator[lo.test]) & set(creator[np.concatenate([lo.train, lo.val])])
    assert len(set(creator[lo.test])) == 6
    with pytest.raises(InputError, match="unknown split"):
        split_artworks(creator, usable, "random")


def sampler_world():
    """Artists 0..7 with tiny_influence(); 4 works each; features = a per-artist direction + noise."""
    rng = np.random.default_rng(0)
    creator = np.repeat(np.arange(8), 4)
    feats = (np.eye(8)[creator] + 0.1 * rng.standard_normal((32, 8))).astype(np.float32)
    return creator, feats


@pytest.mark.parametrize("positive", [RandomPositiveSampler(n=3), SimilarityPositiveSampler(n=3)])
@pytest.mark.parametrize("negative", [RandomNegativeSampler(), HardNegativeSampler()])
def test_samplers_respect_exclusions_and_stay_in_the_pool(positive, negative):
    creator, feats = sampler_world()
    influence = tiny_influence()
    outside = np.array([1, 5, 9, 13, 17, 21, 25, 29])  # one work of every artist is not in the pool
    anchors = np.arange(32)  # anchors outside the pool too: positives and negatives still come from it
    pool = np.setdiff1d(np.arange(32), outside)
    hops = InfluenceHops(influence, 1)
    plan = plan_triplets(creator, feats, anchors, pool, hops, positive, negative, np.random.default_rng(0))
    triplets = plan.triplets(np.random.default_rng(1))
    assert np.isin(triplets[:, 1:], pool).all() and np.isin(triplets[:, 0], outside).any()
    for a, p, n in triplets:
        pos, excluded = hops.sets(int(creator[a]))
        assert creator[p] in pos
        assert creator[n] not in excluded  # never the creator, its influencers or those it influenced
    anchors_artists = set(creator[plan.anchors].tolist())
    assert 0 in anchors_artists and 6 not in anchors_artists  # artist 6 has no influencer: no triplet
    # Artist 0 excludes 1, 2 (its influencers), 7 (it influenced 7) and itself.
    negs_of_0 = creator[triplets[creator[triplets[:, 0]] == 0, 2]]
    assert not np.isin(negs_of_0, [0, 1, 2, 7]).any()


def test_similarity_sampling_takes_the_nearest_positives():
    creator, feats = sampler_world()
    feats = feats.copy()
    feats[8] = feats[0] * 5  # artwork 8 (artist 2, an influencer of artist 0) now points like artist 0's works
    hops = InfluenceHops(tiny_influence(), 1)
    plan = plan_triplets(creator, feats, np.array([0]), np.arange(32), hops, SimilarityPositiveSampler(n=1),
                         RandomNegativeSampler(), np.random.default_rng(0))
    assert plan.positives.tolist() == [8]


def test_two_hops_widen_positives_and_exclusions():
    hops1, hops2 = InfluenceHops(tiny_influence(), 1), InfluenceHops(tiny_influence(), 2)
    assert hops1.sets(0)[0].tolist() == [1, 2]
    assert hops2.sets(0)[0].tolist() == [1, 2, 3, 4, 5]
    assert 7 in hops2.sets(0)[1] and 6 not in hops2.sets(0)[1]
    with pytest.raises(InputError, match="hops must be 1 or 2"):
        InfluenceHops(tiny_influence(), 3)


def test_held_out_artists_are_no_intermediate_hop():
    # 0 ← 1, 2; 1 ← 3; 2 ← 4, 5: with 2 held out, 4 and 5 are reached only through it.
    hops = InfluenceHops(tiny_influence(), 2, hidden=[2])
    pos, excluded = hops.sets(0)
    assert pos.tolist() == [1, 2, 3]
    assert 4 not in excluded and 5 not in excluded and 7 in excluded
    assert InfluenceHops(tiny_influence(), 2, hidden=[2]).sets(2)[0].tolist() == [4, 5, 6]  # its own hops stay
    # 7 ← 0 ← …: from 7, a held-out 0 hides its influencers.
    assert InfluenceHops(tiny_influence(), 2, hidden=[0]).sets(7)[0].tolist() == [0]
    assert InfluenceHops(tiny_influence(), 1, hidden=[2]).sets(0)[0].tolist() == [1, 2]


def test_cloir_net_is_the_papers_mlp():
    net = CLOIRNet(64)
    linears = [m for m in net.mlp if isinstance(m, torch.nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [(64, 32), (32, 16), (16, 8)]
    assert sum(isinstance(m, torch.nn.Dropout) and m.p == 0.5 for m in net.mlp) == 2
    c = CloirConfig()
    assert (c.margin, c.lr, c.batch_size, c.epochs, c.patience, c.seed) == (1.0, 5e-4, 32, 30, 10, 42)
    with pytest.raises(InputError, match="unknown sampling"):
        CloirConfig(sampling="nearest").validate()


# ------------------------------------------------------------------ end to end on the offline world
@pytest.fixture(scope="module")
def world(small_world, tmp_path_factory) -> Path:
    out = Path(shutil.copytree(small_world, tmp_path_factory.mktemp("cloir") / "world",
                               ignore=shutil.ignore_patterns("store")))
    extract_features(out, "efficientnet_lite", {"image_size": 32}, "minilm", batch_size=128, device="cpu",
                     progress=False)
    return out


@pytest.fixture(scope="module")
def run_dir(world, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("runs") / "cloir"
    train_cloir(world, {**FAST, "sampling": "similarity", "n": 5}, out=out, progress=False)
    return out


def test_cloir_run_directory_and_eval_reproduces(run_dir, world):
    names = {p.name for p in run_dir.iterdir()}
    assert names >= {"config.json", "model.safetensors", "split.json", "metrics.json", "history.json"}
    config, model, split = load_cloir_run(run_dir)
    assert config["model"] == "cloir" and config["train"]["sampling"] == "similarity"
    assert not set(split.test) & set(split.train) and not set(split.test) & set(split.val)
    metrics = json.loads((run_dir / "metrics.json").read_text())
    for variant in ("model", "baseline"):
        for d in ("degree_1", "degree_2"):
            m = metrics[variant][d]
            assert m["queries"] > 0 and 0 <= m["P@10"] <= 1 and 0 < m["MRR"] <= 1
            assert m["chance"] > 0
        # Within two hops there are at least as many relevant works as within one.
        assert metrics[variant]["degree_2"]["chance"] >= metrics[variant]["degree_1"]["chance"]
    again = evaluate_cloir_run(run_dir)
    assert again["matches_saved"]
    assert json.loads((run_dir / "eval.json").read_text())["model"]["degree_1"] == metrics["model"]["degree_1"]


def test_training_triplets_never_touch_held_out_works_or_artists(world, monkeypatch):
    """train_cloir draws every triplet from the training artworks, and with leave-out-agents and two
    hops never through a held-out artist (checked on the plans it really builds)."""
    import artkg.retrieval.cloir as cloir

    plans, hop_sets = [], []
    real_plan, real_hops = cloir.plan_triplets, cloir.InfluenceHops

    def recording_plan(creator, feats, anchors, pool, *args):
        plan = real_plan(creator, feats, anchors, pool, *args)
        plans.append((anchors, plan.triplets(np.random.default_rng(0))))
        return plan

    def recording_hops(*args, **kwargs):
        hops = real_hops(*args, **kwargs)
        hop_sets.append(hops)
        return hops

    monkeypatch.setattr(cloir, "plan_triplets", recording_plan)
    monkeypatch.setattr(cloir, "InfluenceHops", recording_hops)
    result = train_cloir(world, {**FAST, "epochs": 1, "split": "leave_out_agents", "hops": 2}, progress=False)
    split = result.split
    creator = artwork_creators(load_graph(world))
    assert plans and len(hop_sets) == 1
    for anchors, triplets in plans:
        assert np.isin(triplets[:, 1:], split.train).all()  # positives and negatives: training works only
        assert not np.isin(triplets[:, 0], split.test).any()
    held_out = set(creator[split.test].tolist())
    assert hop_sets[0].hidden >= held_out and not hop_sets[0].hidden & set(creator[split.train].tolist())
    influence = load_graph(world).influence
    train_triplets = plans[0][1]
    for a, p in {(int(creator[a]), int(creator[p])) for a, p, _ in train_triplets}:
        direct = set(influence.neighbours(a).tolist())
        # a positive is a direct influencer, or one reached through a direct influencer that is not held out
        assert p in direct or any(p in set(influence.neighbours(b).tolist()) for b in direct - held_out)


def test_text_and_concatenated_inputs_train(world):
    for inputs in ("text", "image+text"):
        result = train_cloir(world, {**FAST, "epochs": 1, "inputs": inputs}, progress=False)
        assert result.metrics["model"]["degree_1"]["queries"] > 0
        assert result.config.inputs == inputs


def test_inputs_and_feature_folders_have_distinct_names():
    # Runs written before `inputs` existed called the input kind `features`: they still load.
    assert CloirConfig.from_dict({"features": "image+text"}).inputs == "image+text"
    assert CloirConfig.from_dict({"image_features": "efficientnet_lite"}).inputs == "image"
    with pytest.raises(InputError, match="'inputs'.*'image_features'"):
        CloirConfig.from_dict({"features": "efficientnet_lite"})
    with pytest.raises(InputError, match="unknown CLOIR input"):
        CloirConfig.from_dict({"inputs": "pixels"})


def test_object_influence_query_paths_and_time_filter(world, run_dir):
    graph = load_graph(world)
    creator = artwork_creators(graph)
    years = graph.data["artwork"].year.numpy()
    influence = graph.influence
    linked = [i for i in range(graph.num_nodes("artwork"))
              if creator[i] >= 0 and len(influence.neighbours(int(creator[i]))) and not np.isnan(years[i])]
    query = max(linked, key=lambda i: years[i])  # a late work: many earlier candidates
    art_id = graph.iris["artwork"][query]
    report = influencing_artworks(graph, art_id, k=8, degree=2, run=run_dir)
    assert report["artwork"]["id"] == art_id and len(report["candidates"]) == 8
    own = graph.iris["artist"][creator[query]]
    scores = [c["score"] for c in report["candidates"]]
    assert scores == sorted(scores, reverse=True)
    for c in report["candidates"]:
        assert c["creator"]["id"] != own
        assert c["year"] is None or c["year"] <= report["artwork"]["year"]
        if c["path"] is not None:  # artist-level path: query's creator → … → candidate's creator
            assert c["path"][0] == own and c["path"][-1] == c["creator"]["id"] and len(c["path"]) == c["degree"] + 1
    linked = influencing_artworks(graph, art_id, k=3, degree=2, only_linked=True)
    assert linked["candidates"] and all(c["path"] for c in linked["candidates"])
    # The same BFS serves the artist-level query.
    chains = {c.index: c for c in influence.chains(int(creator[query]), 2)}
    for c in linked["candidates"]:
        idx = graph.index_of("artist", c["creator"]["id"])
        assert [graph.iris["artist"][i] for i in chains[idx].path] == c["path"]


def test_query_errors(world, run_dir, tmp_path):
    graph = load_graph(world)
    with pytest.raises(NotFoundError, match="no artwork"):
        influencing_artworks(graph, "no such painting")
    typo = S.local_name(graph.iris["artwork"][17])[:-1]  # W00017 → W0001: close ids are suggested
    with pytest.raises(NotFoundError, match="did you mean W"):
        influencing_artworks(graph, typo)
    with pytest.raises(InputError, match="larger than the pool"):
        influencing_artworks(graph, graph.iris["artwork"][0], k=10_000, time_filter=False)
    # An index from another graph is refused (id-map hash).
    other = Path(shutil.copytree(world, tmp_path / "other"))
    manifest = json.loads((other / "manifest.json").read_text())
    manifest["id_map_hash"] = "0" * 16
    (other / "manifest.json").write_text(json.dumps(manifest))
    index_dir = tmp_path / "index"
    build_artwork_index(graph, index_dir, run=run_dir)
    with pytest.raises(InputError, match="another graph|features .* earlier build"):
        influencing_artworks(load_graph(other), graph.iris["artwork"][0], index=index_dir)


def test_saved_index_keeps_its_metric_and_matches_the_on_the_fly_ranking(world, tmp_path):
    graph = load_graph(world)
    art = graph.iris["artwork"][-1]
    fresh = influencing_artworks(graph, art, k=5, time_filter=False)
    build_artwork_index(graph, tmp_path / "cos", kind="flat")
    saved = influencing_artworks(graph, art, k=5, time_filter=False, index=tmp_path / "cos")
    assert [c["id"] for c in saved["candidates"]] == [c["id"] for c in fresh["candidates"]]
    assert saved["ranking"]["metric"] == "cosine"
    build_artwork_index(graph, tmp_path / "l2", kind="flat", metric="l2")
    l2 = influencing_artworks(graph, art, k=5, time_filter=False, index=tmp_path / "l2")
    assert l2["ranking"]["metric"] == "l2" and all(c["score"] <= 0 for c in l2["candidates"])
    with pytest.raises(InputError, match="unknown metric"):
        build_artwork_index(graph, tmp_path / "x", metric="manhattan")
    assert CloirConfig.from_dict({"split": "leave-out-agents"}).split == "leave_out_agents"


def artkg_cli(*args) -> subprocess.CompletedProcess:
    exe = Path(sys.executable).parent / "artkg"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run([str(exe), *map(str, args)], capture_output=True, text=True, timeout=300, env=env)


def test_cli_train_eval_index_influence(world, tmp_path):
    run = tmp_path / "run"
    r = artkg_cli("train", "cloir", world, "--inputs", "image", "--features", "efficientnet_lite",
                  "--sampling", "random", "--n", "5",
                  "--split", "leave_out_agents", "--epochs", "1", "--threads", "1", "--out", run, "--json", "-q")
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout)
    assert report["model"] == "cloir" and report["metrics"]["split"]["kind"] == "leave_out_agents"
    assert json.loads((run / "config.json").read_text())["train"]["image_features"] == "efficientnet_lite"
    r = artkg_cli("eval", run, "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["matches_saved"] is True
    r = artkg_cli("index", "build", world, "--run", run, "--kind", "hnsw", "--out", tmp_path / "idx", "--json")
    assert r.returncode == 0, r.stderr
    built = json.loads(r.stdout)
    assert built["kind"] == "hnsw" and built["vectors"] > 0
    graph = load_graph(world)
    art = graph.iris["artwork"][-1]
    r = artkg_cli("influence", world, "--artwork", art, "--index", tmp_path / "idx", "--k", "5", "--degree", "2",
                  "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert len(out["candidates"]) == 5 and out["ranking"]["index_kind"] == "hnsw"
    r = artkg_cli("influence", world, "--artwork", art, "--k", "3")
    assert r.returncode == 0 and "candidate influences" in r.stdout, r.stderr
    r = artkg_cli("influence", world, "--artwork", "W9999999")
    assert r.returncode == 2 and r.stderr.startswith("error: ") and len(r.stderr.strip().splitlines()) == 1
    r = artkg_cli("influence", world)
    assert r.returncode == 2 and "exactly one of --artist and --artwork" in r.stderr
    r = artkg_cli("train", "cloir", world, "--split", "random", "--out", tmp_path / "bad")
    assert r.returncode == 2 and "unknown split" in r.stderr
    r = artkg_cli("train", "graphclip", world, "--sampling", "random", "--out", tmp_path / "bad2")
    assert r.returncode == 2 and "cloir options" in r.stderr
    r = artkg_cli("train", "graphclip", world, "--inputs", "text", "--out", tmp_path / "bad3")
    assert r.returncode == 2 and "cloir options" in r.stderr
    # The old use of --features (an input kind) is a one-line error that names the new option.
    r = artkg_cli("train", "cloir", world, "--features", "image+text", "--out", tmp_path / "bad4")
    assert r.returncode == 2 and "--inputs image+text" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    for args in (("influence", world, "--artwork", art, "--features", "text"),
                 ("index", "build", world, "--features", "text", "--out", tmp_path / "bad5")):
        r = artkg_cli(*args)
        assert r.returncode == 2 and "pass --inputs text" in r.stderr, args
    r = artkg_cli("influence", world, "--artwork", art, "--inputs", "text", "--k", "2", "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["ranking"]["features"] == "text"


def test_similarity_heatmaps_for_candidates(world, tmp_path):
    from PIL import Image

    # Grad-CAM needs a spatial map: 96 px inputs give EfficientNet-Lite0 a 3×3 last stage (32 px gives 1×1).
    w96 = Path(shutil.copytree(world, tmp_path / "w96"))
    extract_features(w96, "efficientnet_lite", {"image_size": 96}, None, batch_size=128, device="cpu",
                     progress=False)
    run = tmp_path / "run96"
    train_cloir(w96, {**FAST, "epochs": 1}, out=run, progress=False)
    graph = load_graph(w96)
    art = graph.iris["artwork"][-1]
    r = artkg_cli("influence", w96, "--artwork", art, "--run", run, "--k", "2", "--no-time-filter",
                  "--heatmaps", tmp_path / "maps", "--json")
    assert r.returncode == 0, r.stderr
    cands = json.loads(r.stdout)["candidates"]
    maps = [np.load(c["heatmap"]["npy"]) for c in cands]
    for c, m in zip(cands, maps):
        assert m.ndim == 2 and float(m.max() - m.min()) > 1e-3  # not a constant map
        with Image.open(c["heatmap"]["png"]) as png:
            assert png.size[0] > 100 and len(np.unique(np.asarray(png.convert("L")))) > 10  # opens, not blank
        summary = json.loads((Path(c["heatmap"]["png"]).parent / "similarity.json").read_text())
        assert summary["reference"] == c["id"] and summary["embedding"]["kind"] == "cloir"
    assert not np.allclose(maps[0], maps[1])  # the map moves with the reference
    # The run still evaluates on the features it was trained on, though newer ones exist now.
    extract_features(w96, "efficientnet_lite", {"image_size": 64}, None, batch_size=128, device="cpu",
                     progress=False)
    assert evaluate_cloir_run(run)["matches_saved"]
