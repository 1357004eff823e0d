"""Raters of the offline world (:mod:`artkg.kg.synth_raters`): planted show/about tastes, their 1–5
ratings, the ground truth, the graph's ``rated`` edges and the ``kgbuild synth --raters`` options."""
from __future__ import annotations

import json
import shlex
from pathlib import Path

import numpy as np
import pytest

from artkg.kg.errors import InputError
from artkg.kg.synth_raters import plant_raters, ratings_from_percentiles


@pytest.fixture(scope="module")
def world():
    from artkg.kg.synth_world import _add_artworks, _build_artists

    w = _build_artists(40, 5)
    _add_artworks(w, 8.0)
    return w


@pytest.fixture(scope="module")
def rater_graph(tmp_path_factory) -> Path:
    """A tiny graph with purchase users and raters together."""
    from artkg.kg.builders import build_graph

    out = tmp_path_factory.mktemp("raters") / "world"
    build_graph("synth", out, artists=20, seed=2, works_per_artist=6, images=False, progress=False,
                build_store=False, users=15, raters=25, rater_taste="both")
    return out


def test_deterministic_per_seed_and_taste(world):
    a, b = plant_raters(world, 30), plant_raters(world, 30)
    assert all(np.array_equal(x, y) for x, y in zip(a["events"], b["events"])) and a["tastes"] == b["tastes"]
    show = plant_raters(world, 30, "show")
    assert not np.array_equal(a["events"][1], show["events"][1])
    assert {t["show_weight"] for t in show["tastes"]} == {1.0}
    assert {t["show_weight"] for t in plant_raters(world, 5, "about")["tastes"]} == {0.0}


def test_ratings_exposure_and_sessions(world):
    planted = plant_raters(world, 80, "both", ratings_per_rater=30)
    user, work, time, rating = planted["events"]
    assert len(user) == 80 * 30 and planted["ratings_per_rater"] == 30
    assert set(np.unique(rating).tolist()) == {1, 2, 3, 4, 5}
    assert (np.diff(time) >= 0).all()
    for r in range(80):  # distinct works, one session of a few seconds per rating
        mine = user == r
        assert np.unique(work[mine]).size == 30
        assert time[mine].max() - time[mine].min() <= 29 * 15
    weights = np.array([t["show_weight"] for t in planted["tastes"]])
    assert ((weights < 0.2) | (weights > 0.8)).mean() > 0.45  # Beta(0.4, 0.4): most lean to one side
    fav = planted["tastes"][0]["favourite_subjects"]
    assert 2 <= len(fav) <= 4 and set(fav) <= {s for subj in world.work_subjects for s in subj}
    # The percentile cuts.
    assert ratings_from_percentiles(np.array([-0.2, 0.29, 0.3, 0.6, 0.85, 0.949, 0.95, 1.3])).tolist() == \
        [1, 1, 2, 3, 4, 4, 5, 5]


def test_show_raters_rate_what_looks_like_their_centre_high(world):
    planted = plant_raters(world, 60, "show")
    user, work, _, rating = planted["events"]
    centre = world.work_latent[[t["visual_centre_artwork"] for t in planted["tastes"]]]
    cos = np.einsum("ij,ij->i", world.work_latent[work], centre[user])
    assert cos[rating >= 4].mean() > cos[rating <= 2].mean() + 0.2


def test_about_raters_rate_what_depicts_their_subjects_high(world):
    planted = plant_raters(world, 60, "about")
    user, work, _, rating = planted["events"]
    hit = np.array([bool(set(planted["tastes"][u]["favourite_subjects"]) & set(world.work_subjects[w]))
                    for u, w in zip(user.tolist(), work.tolist())])
    assert (rating == 5).sum() > 20 and (rating == 1).sum() > 20
    assert hit[rating == 5].mean() > 0.9 and hit[rating == 1].mean() < 0.2


def test_bad_arguments(world):
    with pytest.raises(InputError, match="unknown rater taste"):
        plant_raters(world, 3, "pixels")
    with pytest.raises(InputError, match="cannot be negative"):
        plant_raters(world, -1)
    with pytest.raises(InputError, match="at least one work"):
        plant_raters(world, 3, ratings_per_rater=0)


def test_graph_holds_ratings_beside_purchases_and_the_ground_truth(rater_graph):
    from artkg.kg.graph import load_graph

    kg = load_graph(rater_graph)
    truth = json.loads((rater_graph / "ground_truth.json").read_text())
    block = truth["raters"]
    assert block["taste"] == "both" and len(block["raters"]) == 25 and block["ratings"] == 25 * block["ratings_per_rater"]
    assert truth["params"]["n_raters"] == 25 and truth["params"]["rater_taste"] == "both"
    assert kg.num_nodes("user") == 15 + 25 == len(truth["users"]["users"]) + 25
    assert block["raters"][0]["label"] == "Rater R00000"
    rated = kg.interactions.of_kind("rated")
    assert len(rated) == block["ratings"] and len(kg.interactions.of_kind("purchased")) == truth["users"]["purchases"]
    # Every rating in the graph is the one planted: replay the planted events through the IRIs.
    from artkg.kg.synth_world import _add_artworks, _build_artists

    w = _build_artists(20, 2)
    _add_artworks(w, 6.0)
    user, work, _, rating = plant_raters(w, 25, "both")["events"]
    planted = {(f"{w.ns}R{u:05d}", w.artwork(a)): r for u, a, r in zip(user.tolist(), work.tolist(), rating.tolist())}
    got = {(kg.iris["user"][u], kg.iris["artwork"][a]): float(r)
           for u, a, r in zip(rated.user.tolist(), rated.item.tolist(), rated.rating.tolist())}
    assert got == planted
    assert np.isfinite(rated.time).all() and np.isnan(kg.interactions.of_kind("purchased").rating).all()
    attr = kg.edge_attrs(("user", "rated", "artwork"))["rating"]
    assert sorted(np.unique(np.asarray(attr)).tolist()) == [1.0, 2.0, 3.0, 4.0, 5.0]


def test_cli_options_and_the_rebuild_command(tmp_path):
    from typer.testing import CliRunner

    from artkg.cli.build import kgbuild_app
    from artkg.kg.integrity import rebuild_command

    runner = CliRunner()
    bad = runner.invoke(kgbuild_app, ["synth", "--artists", "8", "--rater-taste", "pixels", "--out", str(tmp_path / "x")])
    assert bad.exit_code == 2 and "--rater-taste" in bad.output and not (tmp_path / "x").exists()
    bad = runner.invoke(kgbuild_app, ["synth", "--artists", "8", "--raters", "-2", "--out", str(tmp_path / "x")])
    assert bad.exit_code == 2 and "--raters" in bad.output
    out = tmp_path / "g"
    args = ["synth", "--artists", "8", "--seed", "4", "--image-size", "8", "--raters", "6", "--rater-taste", "about",
            "--no-store", "-q", "--out", str(out)]
    assert runner.invoke(kgbuild_app, args).exit_code == 0
    manifest = json.loads((out / "manifest.json").read_text())
    command = rebuild_command(out, manifest)
    assert "--raters 6 --rater-taste about" in command
    again = tmp_path / "again"
    argv = shlex.split(command)[1:]
    argv[argv.index("--out") + 1] = str(again)
    assert runner.invoke(kgbuild_app, argv + ["--no-store", "-q"]).exit_code == 0
    assert (again / "graph.nt").read_bytes() == (out / "graph.nt").read_bytes()
