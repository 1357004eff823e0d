"""Users and interactions in the graph: the offline world's users, the CSV importer, the RDF round
trip and the time-ordered split."""
from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from artkg.kg.errors import InputError


@pytest.fixture(scope="module")
def user_world(tmp_path_factory) -> Path:
    from artkg.kg.builders import build_graph

    out = tmp_path_factory.mktemp("users") / "world"
    build_graph("synth", out, artists=40, seed=3, image_size=16, works_per_artist=8, users=150, progress=False)
    return out


def _fingerprint(root: Path) -> dict:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file() and not p.name.startswith(".artkg.lock")}


def test_world_users_purchases_and_inventory(user_world):
    from artkg.kg.graph import load_graph

    kg = load_graph(user_world)
    it = kg.interactions
    truth = json.loads((user_world / "ground_truth.json").read_text())
    assert kg.num_nodes("user") == 150 == len(truth["users"]["users"])
    assert len(it) == truth["users"]["purchases"] > 150
    assert (it.kind == 0).all() and np.isfinite(it.time).all() and (np.diff(it.time) >= 0).all()
    # One-of-a-kind works are bought at most once; nothing is bought before it was uploaded.
    once = it.one_of_a_kind[it.item]
    assert np.unique(it.item[once]).size == once.sum()
    assert (it.available_from[it.item] <= it.time).all()
    assert 0.7 < it.one_of_a_kind.mean() < 0.95
    # Tastes are recorded with IRIs of the graph, weights summing to 1.
    t0 = truth["users"]["users"][0]
    assert abs(sum(t0["weights"].values()) - 1) < 1e-3
    assert all(kg.index_of("artist", a) is not None for a in t0["favourite_artists"])
    # The graph data carries the events: one edge per purchase with its time and basket.
    store = kg.data["user", "purchased", "artwork"]
    assert store.edge_index.shape[1] == len(it) and store.time.shape == (len(it),)
    assert ("artwork", "rev_purchased", "user") in kg.data.edge_types


def test_world_users_deterministic_and_taste_modes(tmp_path):
    from artkg.kg.synth import generate_world

    a = generate_world(tmp_path / "a", n_artists=20, seed=1, render_images=False, n_users=30)
    b = generate_world(tmp_path / "b", n_artists=20, seed=1, render_images=False, n_users=30)
    assert Path(a["world_nt"]).read_bytes() == Path(b["world_nt"]).read_bytes()
    v = generate_world(tmp_path / "v", n_artists=20, seed=1, render_images=False, n_users=30, taste="visual")
    users = json.loads(Path(v["ground_truth"]).read_text())["users"]["users"]
    assert all(u["weights"]["visual"] == 1.0 for u in users)
    with pytest.raises(ValueError, match="taste must be one of"):
        generate_world(tmp_path / "x", n_artists=20, seed=1, render_images=False, n_users=3, taste="pixels")


def test_rdf_round_trip_keeps_every_event(user_world, tmp_path):
    """graph.nt alone holds the interactions: `kgbuild rdf` of it gives the same table."""
    from artkg.kg.builders import build_graph
    from artkg.kg.graph import load_graph

    build_graph("rdf", tmp_path / "copy", path=user_world / "graph.nt", build_store=False)
    a, b = load_graph(user_world), load_graph(tmp_path / "copy")
    ia, ib = a.interactions, b.interactions
    for name in ("time", "basket"):
        assert np.array_equal(getattr(ia, name), getattr(ib, name))
    assert [a.iris["user"][u] for u in ia.user] == [b.iris["user"][u] for u in ib.user]
    assert [a.iris["artwork"][i] for i in ia.item] == [b.iris["artwork"][i] for i in ib.item]
    assert np.array_equal(ia.one_of_a_kind, ib.one_of_a_kind)


def test_time_ordered_split_has_no_look_ahead(user_world):
    from artkg.kg.graph import load_graph
    from artkg.models.recsys.protocol import TimeOrderedSplit, item_context

    kg = load_graph(user_world)
    it = kg.interactions
    ctx, sizes = item_context(kg)
    split = TimeOrderedSplit(cutoff_quantile=0.5).split(it, context=ctx, context_sizes=sizes)
    assert len(split.cases) > 10
    assert (split.train.time < split.cutoff).all()
    sold_at = {}
    for i, t in zip(it.item.tolist(), it.time.tolist()):
        sold_at.setdefault(i, t)
    for case in split.cases:
        assert case.time >= split.cutoff
        mine = it.user == case.user
        assert set(case.profile.tolist()) == set(it.item[mine & (it.time < case.time)].tolist())
        assert not set(case.candidates.tolist()) & set(case.profile.tolist())
        bought_then = set(it.item[mine & (it.time == case.time)].tolist())
        assert set(case.candidates[case.relevant].tolist()) == bought_then - set(case.profile.tolist())
        for i in case.candidates.tolist():  # the inventory of that moment
            assert not it.available_from[i] > case.time
            assert not (it.one_of_a_kind[i] and sold_at.get(i, np.inf) < case.time)
    # Cold-start items (never bought in training) stay candidates.
    seen = set(split.train.item.tolist())
    assert any(set(c.candidates.tolist()) - seen for c in split.cases)
    assert set(ctx) == {"created_by", "movement", "genre", "style"} and (ctx["created_by"] >= 0).all()


def _csv(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", newline="") as f:
        csv.writer(f).writerows(rows)
    return path


def test_csv_import_reports_and_keeps_ids(user_world, tmp_path):
    import shutil

    from artkg.kg.graph import load_graph
    from artkg.kg.interactions_import import add_interactions

    root = Path(shutil.copytree(user_world, tmp_path / "g", ignore=shutil.ignore_patterns("store")))
    before = load_graph(root)
    art = before.iris["artwork"]
    f = _csv(tmp_path / "i.csv", [
        ["user", "artwork", "timestamp", "rating"],
        ["alice", art[0], "2016-01-02T10:00:00Z", "4"],
        ["alice", art[1].rsplit("/", 1)[1], "2016-01-03", "5"],  # a local id
        ["bob", "http://example.org/nope", "2016-01-03", ""],
        ["bob", art[2], "yesterday", ""],
        ["bob", art[3], "2016-05-01", "great"],
        ["alice", art[0], "2016-01-02T10:00:00Z", "4"],  # duplicate
        ["carol", art[4], "2017-01-01", ""],
    ])
    manifest = add_interactions(root, [f])
    rep = manifest["interactions"][-1]
    assert rep["rows"] == 7 and rep["usable"] == 3
    assert {k: v["count"] for k, v in rep["dropped"].items()} == {
        "artworks not in the graph": 1, "unreadable timestamps": 1, "unreadable ratings": 1, "duplicate rows": 1}
    after = load_graph(root)
    assert after.iris["artwork"] == art and after.iris["user"][:150] == before.iris["user"]
    it = after.interactions
    rated = it.kind == 2
    assert sorted(it.rating[rated].tolist()) == [4.0, 5.0]
    assert after.iris["user"][int(it.user[rated][0])].endswith("/alice")


def test_csv_import_errors_leave_graph_untouched(user_world, tmp_path):
    import shutil

    from artkg.kg.interactions_import import add_interactions

    root = Path(shutil.copytree(user_world, tmp_path / "g", ignore=shutil.ignore_patterns("store")))
    before = _fingerprint(root)
    missing = _csv(tmp_path / "m.csv", [["user", "item"], ["a", "b"]])
    with pytest.raises(InputError, match="lacks the column timestamp"):
        add_interactions(root, [missing])
    nothing = _csv(tmp_path / "n.csv", [["user", "artwork", "timestamp"], ["a", "http://x/y", "2016-01-01"]])
    with pytest.raises(InputError, match=r"no usable interaction .*1 artworks not in the graph"):
        add_interactions(root, [nothing])
    with pytest.raises(InputError, match="no interactions file"):
        add_interactions(root, [tmp_path / "absent.csv"])
    assert _fingerprint(root) == before


def _ugallery_files(root: Path) -> dict[str, Path]:
    inv = ["artwork_id_hash,artist_id_hash,upload_timestamp"]
    inv += [f"w{i:03d},a{i % 5},{1420070400 + i * 86400}" for i in range(40)]
    (root / "inventory.csv").write_text("\n".join(inv) + "\n")
    rows = ["user_id_hash,purchased_artwork_ids_hash,purchase_timestamp"]
    for u in range(10):
        for b in range(3):  # baskets of two works, as UGallery writes them
            rows.append(f"u{u},\"['w{(u * 3 + b) % 30:03d}', 'w{30 + (u + b) % 10:03d}']\",{1420070400 + (40 + u * 3 + b) * 86400}")
    rows += ["u1,\"['zzz']\",1500000000", "u2,\"['w001']\",notatime"]
    (root / "purchases.csv").write_text("\n".join(rows) + "\n")
    ids = np.array([f"w{i:03d}" for i in range(40)])
    np.savez(root / "emb.npz", embeddings=np.random.default_rng(0).normal(size=(40, 8)).astype("float32"), ids=ids)
    return {"purchases": root / "purchases.csv", "inventory": root / "inventory.csv", "embeddings": root / "emb.npz"}


def test_ugallery_layout_brings_its_own_works_and_embeddings(tmp_path):
    import subprocess
    import sys

    from artkg.kg.graph import load_graph
    from artkg.models.features_cache import load_features

    f = _ugallery_files(tmp_path)
    done = subprocess.run([str(Path(sys.executable).parent / "kgbuild"), "ugallery", "--purchases", str(f["purchases"]),
                           "--inventory", str(f["inventory"]), "--embeddings", str(f["embeddings"]), "--no-store",
                           "--out", str(tmp_path / "g"), "--json"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    kg = load_graph(tmp_path / "g")
    assert kg.num_nodes("artwork") == 40 and kg.num_nodes("artist") == 5 and kg.num_nodes("user") == 10
    it = kg.interactions
    assert len(it) == 60 and it.one_of_a_kind.all()
    assert len(np.unique(it.basket)) == 30  # one basket per purchase row
    assert np.isfinite(it.available_from).all()
    dropped = kg.manifest["dropped"]
    assert dropped["purchases with an unreadable timestamp"]["count"] == 1
    assert dropped["purchased works missing from the inventory"]["examples"] == ["zzz"]
    feats, mask = load_features(tmp_path / "g")
    assert feats.shape == (40, 8) and bool(mask.all())
    w7 = kg.index_of("artwork", "https://w3id.org/artkg/ugallery/artwork/w007")
    assert np.allclose(feats[w7].numpy(), np.load(f["embeddings"])["embeddings"][7])
    # A wrong layout is one line, before --out is created.
    (tmp_path / "bad.csv").write_text("user,artwork\nu,w\n")
    with pytest.raises(InputError, match="purchases file .* lacks the columns user_id_hash, purchased_artwork_ids_hash, purchase_timestamp"):
        from artkg.kg.builders import build_graph

        build_graph("ugallery", tmp_path / "never", purchases=tmp_path / "bad.csv", inventory=f["inventory"])
    assert not (tmp_path / "never").exists()
