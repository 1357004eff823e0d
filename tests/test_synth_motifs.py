"""Motif propagation in the offline world (:mod:`artkg.kg.synth_motifs`): families copied along
influence, the pasted pixels, the known/held-out split by family, the graph's visual links and the
``kgbuild synth --motifs/--known-links`` options."""
from __future__ import annotations

import dataclasses
import itertools
import json
import shlex
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from artkg.kg.errors import InputError
from artkg.kg.synth_motifs import COPY_SCALE, MOTIF_SIDE, motif_block, plant_motifs


@pytest.fixture(scope="module")
def world():
    from artkg.kg.synth_world import _add_artworks, _build_artists

    w = _build_artists(40, 3)
    _add_artworks(w, 6.0)
    return w


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> dict:
    """One small world rendered with and without motifs."""
    from artkg.kg.synth import generate_world

    root = tmp_path_factory.mktemp("motifs")
    kw = dict(n_artists=30, seed=1, image_size=32, works_per_artist=5, progress=False)
    generate_world(root / "plain", **kw)
    generate_world(root / "motifs", n_motifs=6, known_links=0.5, **kw)
    truth = json.loads((root / "motifs" / "ground_truth.json").read_text(encoding="utf-8"))
    return {"root": root, "truth": truth}


@pytest.fixture(scope="module")
def cli_graph(tmp_path_factory) -> Path:
    from typer.testing import CliRunner

    from artkg.cli.build import kgbuild_app

    out = tmp_path_factory.mktemp("cli") / "g"
    args = ["synth", "--artists", "30", "--seed", "2", "--image-size", "8", "--works-per-artist", "5",
            "--motifs", "5", "--known-links", "0.6", "--no-store", "-q", "--out", str(out)]
    result = CliRunner().invoke(kgbuild_app, args)
    assert result.exit_code == 0, result.output
    return out


def _comparable(planted: dict) -> str:
    return json.dumps({"families": planted["families"], "placements": sorted(planted["placements"].items())})


def test_deterministic_and_seeded(world):
    before = world.work_artist.copy(), world.work_latent.copy()
    a, b = plant_motifs(world, 6), plant_motifs(world, 6)
    assert _comparable(a) == _comparable(b)
    assert np.array_equal(before[0], world.work_artist) and np.array_equal(before[1], world.work_latent)
    other = dataclasses.replace(world, seed=world.seed + 1)
    assert _comparable(plant_motifs(other, 6)) != _comparable(a)


def test_families_follow_influence(world):
    planted = plant_motifs(world, 8, copies=(2, 6))
    families, placements = planted["families"], planted["placements"]
    assert len(families) == 8 and not any(f["fallback"] for f in families)  # this world has room
    all_works = [w for f in families for w in f["works"]]
    assert len(all_works) == len(set(all_works)) == len(placements)  # at most one motif per work
    assert set(all_works) == set(placements)
    for f in families:
        source, copies = f["works"][0], f["works"][1:]
        assert f["source"] == source and 3 <= len(f["works"]) <= 7
        creator = int(world.work_artist[source])
        for c in copies:
            assert creator in world.influencers[int(world.work_artist[c])]
            assert world.work_year[c] >= world.work_year[source]
        src = placements[source]
        assert (src["scale"], src["flip"], src["hue_shift"], src["crop"]) == (1.0, False, 0.0, 0.0)
        for c in copies:
            p = placements[c]
            assert p["motif"] == f["motif"] and p["shape"] is f["shape"]
            assert COPY_SCALE[0] <= p["scale"] <= COPY_SCALE[1] and abs(p["side"] - MOTIF_SIDE * p["scale"]) < 1e-5
            assert 0 <= p["x"] <= 1 - p["side"] + 1e-6 and 0 <= p["y"] <= 1 - p["side"] + 1e-6
        assert 2 <= len(f["shape"]["colours"]) <= 3
    copies = [placements[w] for f in families for w in f["works"][1:]]
    assert any(p["flip"] for p in copies) and any(not p["flip"] for p in copies)
    assert any(p["crop"] > 0 for p in copies) and len({p["hue_shift"] for p in copies}) == len(copies)


def test_fallback_to_later_artists_without_influence(world):
    nobody = dataclasses.replace(world, influencers=[[] for _ in world.influencers])
    planted = plant_motifs(nobody, 4)
    for f in planted["families"]:
        source, copies = f["works"][0], f["works"][1:]
        assert f["fallback"] == copies
        born = world.births[int(world.work_artist[source])]
        assert all(world.births[int(world.work_artist[c])] > born for c in copies)
        assert all(world.work_year[c] >= world.work_year[source] for c in copies)


def test_bad_arguments_and_a_full_world(world):
    with pytest.raises(InputError, match="cannot be negative"):
        plant_motifs(world, -1)
    for share in (-0.1, 1.5, float("nan")):
        with pytest.raises(InputError, match=r"in \[0, 1\]"):
            plant_motifs(world, 2, known_share=share)
    with pytest.raises(InputError, match="copies per motif"):
        plant_motifs(world, 2, copies=(3, 2))
    with pytest.raises(InputError, match="no room for motif"):
        plant_motifs(world, world.n_artworks)
    assert plant_motifs(world, 0)["families"] == []


@pytest.mark.parametrize("share", [0.0, 0.5, 0.7, 1.0])
def test_known_and_held_out_split_by_family(world, share):
    planted = plant_motifs(world, 7, known_share=share)
    block = motif_block(world, planted)
    known = [f for f in block["families"] if f["known"]]
    assert len(known) == int(np.floor(share * 7 + 0.5)) and block["split"] == "by family"

    def pairs(fams):
        return sorted(sorted(p) for f in fams for p in itertools.combinations(f["works"], 2))

    assert block["known_pairs"] == pairs(known)
    assert block["held_out_pairs"] == pairs([f for f in block["families"] if not f["known"]])
    assert not {tuple(p) for p in block["known_pairs"]} & {tuple(p) for p in block["held_out_pairs"]}
    sizes = [len(f["works"]) for f in block["families"]]
    assert len(block["known_pairs"]) + len(block["held_out_pairs"]) == sum(n * (n - 1) // 2 for n in sizes)


def test_motif_pixels_are_in_the_images(rendered):
    from artkg.kg.synth_render import draw_motif

    root, block = rendered["root"], rendered["truth"]["motifs"]
    carrying = set()
    for f in block["families"]:
        for iri, p in f["placements"].items():
            name = iri.rsplit("/", 1)[-1] + ".png"
            carrying.add(name)
            plain = Image.open(root / "plain" / "images" / name).convert("RGB")
            shown = np.asarray(Image.open(root / "motifs" / "images" / name).convert("RGB"))
            diff = np.abs(shown.astype(int) - np.asarray(plain).astype(int)).sum(-1) > 0
            side = max(3, round(p["side"] * 32))
            x0, y0 = min(round(p["x"] * 32), 32 - side), min(round(p["y"] * 32), 32 - side)
            box = np.zeros_like(diff)
            box[y0:y0 + side, x0:x0 + side] = True
            assert diff.sum() >= 0.2 * side * side and not (diff & ~box).any()
            # The ground truth re-renders exactly what the image shows.
            again = draw_motif(plain, dict(p, shape=f["shape"]))
            assert np.array_equal(np.asarray(again), shown)
    for path in sorted((root / "plain" / "images").iterdir()):  # works without a motif: untouched
        if path.name not in carrying:
            assert path.read_bytes() == (root / "motifs" / "images" / path.name).read_bytes()
    assert rendered["truth"]["params"]["n_motifs"] == 6 and rendered["truth"]["params"]["known_links"] == 0.5


def test_world_without_motifs_is_unchanged(rendered):
    root = rendered["root"]
    plain = json.loads((root / "plain" / "ground_truth.json").read_text(encoding="utf-8"))
    assert "motifs" not in plain and "n_motifs" not in plain["params"]
    assert "visuallyLinked" not in (root / "plain" / "world.nt").read_text(encoding="utf-8")
    # Planting adds the links and the block, and leaves every other planted fact as it was.
    truth = dict(rendered["truth"])
    truth.pop("motifs")
    truth["params"] = {k: v for k, v in truth["params"].items() if k not in ("n_motifs", "known_links")}
    assert truth == plain
    lines = set((root / "motifs" / "world.nt").read_text(encoding="utf-8").splitlines())
    assert set((root / "plain" / "world.nt").read_text(encoding="utf-8").splitlines()) <= lines


def test_known_links_in_the_graph(cli_graph):
    from artkg.kg.graph import load_graph

    kg = load_graph(cli_graph)
    block = json.loads((cli_graph / "ground_truth.json").read_text(encoding="utf-8"))["motifs"]
    links, iris = kg.visual_links, kg.iris["artwork"]
    assert len(links) == len(block["known_pairs"]) > 0
    assert set(links.kind_names()) == {"positive"} and set(links.source_names()) == {"synth"}
    got = sorted(sorted([iris[a], iris[b]]) for a, b in zip(links.src.tolist(), links.dst.tolist()))
    assert got == block["known_pairs"]
    assert sum(f["known"] for f in block["families"]) == 3  # 0.6 × 5 families


def test_cli_errors_zero_motifs_and_the_rebuild_command(cli_graph, tmp_path):
    from typer.testing import CliRunner

    from artkg.cli.build import kgbuild_app
    from artkg.kg.integrity import rebuild_command

    runner = CliRunner()
    base = ["synth", "--artists", "8", "--seed", "4", "--image-size", "8", "--no-images", "--no-store", "-q"]
    bad = runner.invoke(kgbuild_app, base + ["--motifs", "-1", "--out", str(tmp_path / "x")])
    assert bad.exit_code == 2 and "--motifs" in bad.output and not (tmp_path / "x").exists()
    for share in ("1.5", "-0.2"):
        bad = runner.invoke(kgbuild_app, base + ["--motifs", "2", "--known-links", share, "--out", str(tmp_path / "x")])
        assert bad.exit_code == 2 and "--known-links" in bad.output and not (tmp_path / "x").exists()
    for name, extra in (("none", []), ("zero", ["--motifs", "0"])):
        assert runner.invoke(kgbuild_app, base + extra + ["--out", str(tmp_path / name)]).exit_code == 0
    assert (tmp_path / "zero" / "graph.nt").read_bytes() == (tmp_path / "none" / "graph.nt").read_bytes()
    assert "visuallyLinked" not in (tmp_path / "none" / "graph.nt").read_text(encoding="utf-8")

    manifest = json.loads((cli_graph / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["source"]["motifs"] == 5 and manifest["source"]["known_links"] == 0.6
    command = rebuild_command(cli_graph, manifest)
    assert "--motifs 5 --known-links 0.6" in command and "--works-per-artist 5.0" in command
    again = tmp_path / "again"
    argv = shlex.split(command)[1:]
    argv[argv.index("--out") + 1] = str(again)
    assert runner.invoke(kgbuild_app, argv + ["--no-store", "-q"]).exit_code == 0
    for name in ("graph.nt", "ground_truth.json"):
        assert (again / name).read_bytes() == (cli_graph / name).read_bytes()


def test_motif_size_scales_every_patch_and_is_kept_for_rebuilds(tmp_path):
    from typer.testing import CliRunner

    from artkg.cli.build import kgbuild_app
    from artkg.kg.integrity import rebuild_command

    runner = CliRunner()
    base = ["synth", "--artists", "30", "--seed", "2", "--image-size", "16", "--works-per-artist", "5", "--motifs", "4",
            "--no-store", "-q"]
    for name, extra in (("default", []), ("big", ["--motif-size", "0.4"])):
        result = runner.invoke(kgbuild_app, base + extra + ["--out", str(tmp_path / name)])
        assert result.exit_code == 0, result.output
    truths = {n: json.loads((tmp_path / n / "ground_truth.json").read_text(encoding="utf-8"))["motifs"]
              for n in ("default", "big")}
    for f_small, f_big in zip(truths["default"]["families"], truths["big"]["families"]):
        assert f_small["works"] == f_big["works"]  # the same families, only the patches' size differs
        for w in f_big["works"]:
            p_small, p_big = f_small["placements"][w], f_big["placements"][w]
            assert p_big["scale"] == p_small["scale"]
            assert p_big["side"] == pytest.approx(0.4 * p_big["scale"], abs=1e-6)
            assert p_small["side"] == pytest.approx(MOTIF_SIDE * p_small["scale"], abs=1e-6)
    manifest = json.loads((tmp_path / "big" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["source"]["motif_size"] == 0.4 and "motif_size" not in json.loads(
        (tmp_path / "default" / "manifest.json").read_text(encoding="utf-8"))["source"]
    assert "--motif-size 0.4" in rebuild_command(tmp_path / "big", manifest)
    bad = runner.invoke(kgbuild_app, base + ["--motif-size", "0.9", "--out", str(tmp_path / "x")])
    assert bad.exit_code == 2 and "motif size" in bad.output and not (tmp_path / "x").exists()
