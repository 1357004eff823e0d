"""FAISS vector indexes (``artkg.retrieval.index``) against a numpy brute force, on small data."""
from __future__ import annotations

import json

import numpy as np
import pytest
from artkg.kg.errors import InputError
from artkg.retrieval import index as index_module
from artkg.retrieval.index import (
    FlatIndex,
    HNSWIndex,
    IVFIndex,
    build_index,
    index_resolver,
    load_index,
    make_index,
    read_meta,
)

faiss = pytest.importorskip("faiss")  # the index module imports it lazily, on first use

SMALL_IVF = {"nlist": 8, "nprobe": 4}
KINDS = {"flat": None, "hnsw": {"M": 16, "ef_search": 64}, "ivf": SMALL_IVF}


def random_data(n=400, dim=16, q=20, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, dim)).astype(np.float32), rng.standard_normal((q, dim)).astype(np.float32)


def clustered(n=2000, dim=24, q=50, clusters=20, seed=1):
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((clusters, dim)).astype(np.float32) * 3
    x = centres[rng.integers(clusters, size=n)] + rng.standard_normal((n, dim)).astype(np.float32)
    queries = centres[rng.integers(clusters, size=q)] + rng.standard_normal((q, dim)).astype(np.float32)
    return x, queries


def brute(x, queries, k, metric):
    """numpy top-k: squared distances ascending (l2) or inner products descending (ip)."""
    x, queries = x.astype(np.float64), queries.astype(np.float64)
    if metric == "l2":
        scores = (queries ** 2).sum(1)[:, None] - 2 * queries @ x.T + (x ** 2).sum(1)[None, :]
        ids = np.argsort(scores, axis=1, kind="stable")[:, :k]
    else:
        scores = queries @ x.T
        ids = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    return np.take_along_axis(scores, ids, 1), ids


def recall(ids, truth):
    return np.mean([len(set(a) & set(b)) / len(b) for a, b in zip(ids, truth)])


@pytest.mark.parametrize("metric", ["l2", "ip"])
def test_flat_is_exact(metric):
    x, q = random_data()
    index = build_index(x, "flat", metric=metric)
    scores, ids = index.search(q, 10)
    want_scores, want_ids = brute(x, q, 10, metric)
    assert scores.dtype == np.float32 and ids.dtype == np.int64 and scores.shape == ids.shape == (20, 10)
    np.testing.assert_array_equal(ids, want_ids)
    np.testing.assert_allclose(scores, want_scores, rtol=1e-4, atol=1e-3)
    assert (index.kind, index.metric, index.dim, index.ntotal, len(index)) == ("flat", metric, 16, 400, 400)
    assert index.higher_is_better is (metric == "ip")


def test_cosine_normalisation_leaves_callers_arrays_alone():
    x, q = random_data()
    x_before, q_before = x.copy(), q.copy()
    scaled = x * np.random.default_rng(3).uniform(0.1, 10, size=(len(x), 1)).astype(np.float32)
    index = build_index(scaled, "flat", metric="ip", normalize=True)
    scores, ids = index.search(q * 7, 5)  # the queries' scale does not matter either
    xn = x / np.linalg.norm(x, axis=1, keepdims=True)
    qn = q / np.linalg.norm(q, axis=1, keepdims=True)
    want_scores, want_ids = brute(xn, qn, 5, "ip")
    np.testing.assert_array_equal(ids, want_ids)
    np.testing.assert_allclose(scores, want_scores, atol=1e-5)
    assert scores.max() <= 1 + 1e-5
    np.testing.assert_array_equal(x, x_before)
    np.testing.assert_array_equal(q, q_before)


@pytest.mark.parametrize("kind, metric", [("hnsw", "l2"), ("hnsw", "ip"), ("ivf", "l2"), ("ivf", "ip")])
def test_approximate_kinds_have_high_recall(kind, metric):
    x, q = clustered()
    index = build_index(x, kind, KINDS[kind], metric=metric)
    _, ids = index.search(q, 10)
    assert recall(ids, brute(x, q, 10, metric)[1]) >= 0.9
    assert index.kind == kind and index.ntotal == len(x)


def test_add_in_parts_numbers_rows_in_order():
    x, q = random_data()
    index = make_index("flat")
    index.add(x[:150]).add(x[150:].astype(np.float64))  # float64 is converted
    np.testing.assert_array_equal(index.search(q, 5)[1], brute(x, q, 5, "l2")[1])
    assert index.search(q[0], 3)[1].shape == (1, 3)  # one query as a 1-D vector


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_save_load_round_trip(tmp_path, kind):
    x, q = clustered(n=600)
    index = build_index(x, kind, KINDS[kind], metric="ip", normalize=True)
    before = index.search(q, 7)
    out = index.save(tmp_path / "idx", id_map_hash="h1", source={"graph": "world", "encoder": "minilm"})
    assert sorted(p.name for p in out.iterdir()) == ["index.faiss", "index.json"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp dir left
    meta = read_meta(out)
    assert meta["kind"] == kind and meta["metric"] == "ip" and meta["normalize"] is True
    assert (meta["dim"], meta["ntotal"], meta["id_map_hash"]) == (24, 600, "h1")
    assert meta["source"] == {"graph": "world", "encoder": "minilm"} and meta["kwargs"] == index.kwargs
    assert meta["artkg_version"] and meta["created"]
    loaded = load_index(out, expected_id_map_hash="h1", device="cpu")
    assert type(loaded) is type(index) and loaded.kwargs == index.kwargs and loaded.normalize
    after = loaded.search(q, 7)
    np.testing.assert_array_equal(after[1], before[1])
    np.testing.assert_allclose(after[0], before[0])
    assert loaded.id_map_hash == "h1" and loaded.source["graph"] == "world"
    index.save(out)  # overwriting an index directory is allowed
    assert load_index(out).ntotal == 600


def test_loaded_index_keeps_search_options(tmp_path):
    x, _ = clustered(n=600)
    build_index(x, "hnsw", {"M": 8, "ef_search": 123}).save(tmp_path / "h")
    build_index(x, "ivf", {"nlist": 6, "nprobe": 5}).save(tmp_path / "i")
    assert load_index(tmp_path / "h")._cpu.hnsw.efSearch == 123
    ivf = load_index(tmp_path / "i")
    assert ivf._cpu.nprobe == 5
    ivf.nprobe = 99  # clamped to nlist
    assert ivf.nprobe == ivf._cpu.nprobe == 6


def test_id_map_hash_mismatch(tmp_path):
    x, _ = random_data()
    build_index(x, id_map_hash="graph-a").save(tmp_path / "idx")
    with pytest.raises(InputError, match="built from another graph") as err:
        load_index(tmp_path / "idx", expected_id_map_hash="graph-b")
    assert "artkg index build" in err.value.fix
    assert load_index(tmp_path / "idx").id_map_hash == "graph-a"  # no expectation: no check


def test_k_larger_than_pool():
    x, q = random_data(n=10)
    index = build_index(x)
    with pytest.raises(InputError, match="k=11 is larger than the pool of 10 vectors") as err:
        index.search(q, 11)
    assert err.value.fix == "pass --k ≤ 10"
    with pytest.raises(InputError, match="k=0"):
        index.search(q, 0)
    with pytest.raises(InputError, match="pool of 0 vectors"):
        make_index("hnsw").search(q, 1)
    assert index.search(q, 10)[1].shape == (20, 10)


def test_wrong_dimension():
    x, q = random_data(dim=16)
    index = build_index(x, "hnsw", {"M": 8})
    with pytest.raises(InputError, match="queries have dimension 8, the index has 16"):
        index.search(q[:, :8], 3)
    with pytest.raises(InputError, match="vectors have dimension 32"):
        index.add(np.zeros((3, 32), np.float32))
    with pytest.raises(InputError, match="2-D"):
        index.add(np.zeros((2, 2, 2)))
    with pytest.raises(InputError, match="NaN"):
        index.search(np.full((1, 16), np.nan), 3)
    assert index.ntotal == 400


def test_ivf_with_too_few_vectors():
    x, _ = random_data(n=50)
    index = make_index("ivf", {"nlist": 64})
    with pytest.raises(InputError, match="at least nlist=64 vectors .* got 50") as err:
        index.add(x)
    assert "smaller nlist" in err.value.fix and "flat" in err.value.fix
    assert index.ntotal == 0 and index.dim is None  # a failed first add leaves it empty
    assert build_index(x, "ivf", {"nlist": 4}).ntotal == 50


def test_bad_names_and_options():
    with pytest.raises(InputError, match="unknown index kind 'annoy'"):
        make_index("annoy")
    with pytest.raises(InputError, match="bad flat index options: M"):
        make_index("flat", {"M": 4})
    with pytest.raises(InputError, match="bad hnsw index options"):
        make_index("hnsw", {"M": "many"})
    with pytest.raises(InputError, match="unknown metric 'cosine'") as err:
        make_index("flat", metric="cosine")
    assert "normalize=True" in err.value.fix
    with pytest.raises(InputError, match="unknown device"):
        make_index("flat", device="tpu")
    assert isinstance(make_index("exact"), FlatIndex) and isinstance(make_index(IVFIndex), IVFIndex)


def test_missing_or_corrupt_files(tmp_path):
    x, _ = random_data()
    with pytest.raises(InputError, match="not an index directory"):
        load_index(tmp_path / "nothing")
    out = build_index(x).save(tmp_path / "idx")
    (out / "index.faiss").write_bytes(b"not a faiss index at all")
    with pytest.raises(InputError, match="corrupt or not a FAISS index"):
        load_index(out)
    build_index(x).save(out)
    (out / "index.json").write_text("{broken", encoding="utf-8")
    with pytest.raises(InputError, match="index.json is corrupt"):
        load_index(out)
    build_index(x).save(out)
    meta = json.loads((out / "index.json").read_text())
    (out / "index.json").write_text(json.dumps({**meta, "ntotal": 5}), encoding="utf-8")
    with pytest.raises(InputError, match="inconsistent"):
        load_index(out)


def test_save_is_atomic_and_never_clobbers_other_directories(tmp_path, monkeypatch):
    x, _ = random_data()
    out = build_index(x, source={"v": 1}).save(tmp_path / "idx")
    (tmp_path / "graph").mkdir()
    (tmp_path / "graph" / "graph.nt").write_text("", encoding="utf-8")
    with pytest.raises(InputError, match="not an index directory"):
        build_index(x).save(tmp_path / "graph")
    assert (tmp_path / "graph" / "graph.nt").exists()

    from artkg.kg import atomic

    def crash(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(atomic, "write_json", crash)
    with pytest.raises(OSError, match="disk full"):
        build_index(x[:100], source={"v": 2}).save(out)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["graph", "idx"]  # no temp dir left
    assert load_index(out).ntotal == 400 and read_meta(out)["source"] == {"v": 1}  # the old index is intact
    with pytest.raises(InputError, match="empty index"):
        make_index("flat").save(tmp_path / "empty")


def test_gpu_path_with_a_fake_gpu(monkeypatch):
    """faiss-cpu has no GPU functions: fake them to check when the index moves and that saves stay on CPU."""
    moved = []

    def to_gpus(cpu_index):
        moved.append(type(cpu_index).__name__)
        return cpu_index

    monkeypatch.setattr(faiss, "get_num_gpus", lambda: 1, raising=False)
    monkeypatch.setattr(faiss, "index_cpu_to_all_gpus", to_gpus, raising=False)
    x, q = random_data()
    flat = build_index(x, device="cuda")
    flat.search(q, 3)
    flat.search(q, 3)
    assert moved == ["IndexFlatL2"]  # once, then reused
    flat.add(x[:10])
    flat.search(q, 3)
    assert len(moved) == 2  # an add drops the GPU copy
    build_index(x, "hnsw", {"M": 8}).search(q, 3)  # HNSW stays on the CPU
    build_index(x, device="cpu").search(q, 3)
    assert len(moved) == 2
    monkeypatch.setattr(faiss, "get_num_gpus", lambda: 0)
    with pytest.raises(InputError, match="no GPU"):
        make_index("flat", device="cuda")


def test_registered():
    from artkg.registry import registries

    assert registries()["index"] is index_resolver
    assert sorted(index_resolver.lookup_dict) == ["flat", "hnsw", "ivf"]
    for cls in (FlatIndex, HNSWIndex, IVFIndex):
        assert index_resolver.lookup(cls.kind) is cls
    assert index_module.num_gpus() >= 0
