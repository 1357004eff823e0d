"""Every command, fed the mistakes people make: exit code 2, one line on stderr, no traceback, and
nothing already built changed.

One table, every command of `artkg --help` and `kgbuild --help`: missing, corrupt and foreign files, the wrong kind of run, values of the wrong type,
empty graphs. Each row runs the real ``artkg``/``kgbuild`` executable in a subprocess; the built
world, the runs and the damaged copies are fingerprinted (every file's path, size and sha256)
before and after each row.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent
FAST = {"epochs": 1, "batch_size": 128, "threads": 1, "gnn_kwargs": {"layers": 2, "hidden": 16, "dropout": 0.1},
        "model_kwargs": {"embed_dim": 16}, "patience": 0}


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> dict[str, Path]:
    """A small world with features, a classifier run, a CLOIR run, damaged copies and bad files."""
    import torch

    from artkg.kg.builders import build_graph
    from artkg.models.features import extract_features
    from artkg.models.train import train
    from artkg.models.train_config import TrainConfig
    from artkg.retrieval.cloir import train_cloir

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("bad_inputs")
    world = root / "world"
    build_graph("synth", world, artists=24, seed=3, image_size=32, works_per_artist=4, users=40, progress=False)
    bare = Path(shutil.copytree(world, root / "bare"))  # no features yet
    extract_features(world, "efficientnet_lite", {"image_size": 32}, None, batch_size=128, device="cpu",
                     progress=False)
    train(world, TrainConfig.from_dict(FAST), out=root / "run", progress=False)
    train_cloir(world, {"epochs": 1, "n": 5}, out=root / "cloir", progress=False)
    from artkg.models.recsys.config import RecConfig
    from artkg.models.recsys.run import train_recommender

    train_recommender(world, RecConfig(model="popularity"), out=root / "rec")
    torch.set_num_threads(threads)

    paths = {"world": world, "bare": bare, "run": root / "run", "cloir": root / "cloir", "rec": root / "rec",
             "root": root}
    # Damaged copies: a truncated tensor file, a deleted nodes.json, a manifest that is not JSON.
    for name, damage in (("truncated", lambda d: _truncate(d / "processed" / "tensors.safetensors")),
                         ("no_nodes", lambda d: (d / "processed" / "nodes.json").unlink()),
                         ("bad_manifest", lambda d: (d / "manifest.json").write_text("{not json"))):
        copy = Path(shutil.copytree(world, root / name, ignore=shutil.ignore_patterns("features", "store")))
        damage(copy)
        paths[name] = copy
    broken_run = Path(shutil.copytree(root / "run", root / "broken_run"))
    _truncate(broken_run / "model.safetensors")
    paths["broken_run"] = broken_run
    garbled_run = Path(shutil.copytree(root / "run", root / "garbled_run"))
    (garbled_run / "config.json").write_text("[1, 2")
    paths["garbled_run"] = garbled_run
    files = root / "files"
    files.mkdir()
    (files / "garbage.ttl").write_text("this is @not turtle <<<\n")
    (files / "empty.ttl").write_text("")
    (files / "labels_only.ttl").write_text(
        '@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .\n<http://example.org/x> rdfs:label "x" .\n')
    (files / "not_an_image.png").write_text("not a png\n")
    (files / "a_file").write_text("a file, not a directory\n")
    for name, config in (("lr_fast", {"lr": "fast"}), ("epochs_ten", {"epochs": "ten"}),
                         ("unknown_key", {"learning_rate": 0.1}), ("gnn_kwargs_int", {"gnn_kwargs": 3}),
                         ("negative_lr", {"lr": -1.0}), ("list_config", [1, 2])):
        (files / f"{name}.json").write_text(json.dumps(config))
    (files / "not_json.json").write_text("{epochs: 3")
    (files / "no_timestamp.csv").write_text("user,artwork\nann,W00001\n")
    (files / "other_graph.csv").write_text("user,artwork,timestamp\nann,http://example.org/other/W1,2016-01-01\n")
    nodes0 = json.loads((world / "processed" / "nodes.json").read_text())
    (files / "bad_times.csv").write_text(f"user,artwork,timestamp\nann,{nodes0['artwork']['iri'][0]},last tuesday\n")
    w0, w1 = nodes0["artwork"]["iri"][:2]
    (files / "verdicts_unknown.csv").write_text(f"a,b,kind\n{w0},{w1},looks alike\n")
    (files / "verdicts_empty.csv").write_text(f"a,b,kind\n{w0},{w1},\n")
    (root / "empty_dir").mkdir()
    paths["files"] = files
    nodes = json.loads((world / "processed" / "nodes.json").read_text())
    paths["artwork"] = nodes["artwork"]["iri"][0].rsplit("/", 1)[-1]
    paths["artist"] = nodes["artist"]["iri"][0].rsplit("/", 1)[-1]
    paths["image"] = sorted((world / "images").glob("*.png"))[0]
    return paths


def _truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def fingerprint(*roots: Path) -> dict[str, tuple[int, str]]:
    out = {}
    for root in roots:
        for p in sorted(root.rglob("*")):
            if p.is_file() and not p.name.startswith(".artkg.lock"):
                out[str(p)] = (p.stat().st_size, hashlib.sha256(p.read_bytes()).hexdigest())
    return out


# (case id, argv with {placeholders}, what the one line must name — a regex); every row must exit 2.
CASES = [
    # kgbuild: bad values, missing / corrupt / foreign / empty inputs, an --out that is taken
    ("synth-too-few-artists", "kgbuild synth --artists 3 --out {root}/new", 'more than 5 artists'),
    ("synth-artists-not-int", "kgbuild synth --artists ten --out {root}/new", "Invalid value for '--artists'"),
    ("synth-out-is-a-file", "kgbuild synth --artists 8 --out {files}/a_file", 'not a directory'),
    ("rdf-missing-file", "kgbuild rdf {root}/missing.ttl --out {root}/new", 'no such RDF file'),
    ("rdf-garbage", "kgbuild rdf {files}/garbage.ttl --out {root}/new", 'not valid Turtle'),
    ("rdf-empty", "kgbuild rdf {files}/empty.ttl --out {root}/new", 'no triples'),
    ("rdf-nothing-in-schema", "kgbuild rdf {files}/labels_only.ttl --out {root}/new", 'matched the artkg schema'),
    ("rdf-foreign-file", "kgbuild rdf {image} --out {root}/new", 'RDF format'),
    ("rdf-into-a-synth-graph", "kgbuild rdf {world}/graph.nt --out {world}", 'already holds a graph'),
    ("wikiart-missing-folder", "kgbuild wikiart {root}/missing --out {root}/new", 'no such directory'),
    ("artgraph-missing-folder", "kgbuild artgraph {root}/missing --out {root}/new", 'not an ArtGraph'),
    ("kgbuild-unknown-source", "kgbuild dbpedia --out {root}/new", "No such command 'dbpedia'"),
    ("wikidata-no-seeds", "kgbuild wikidata --endpoint http://127.0.0.1:9/query --out {root}/new", "no seeds given"),
    ("wikidata-endpoint-not-a-url", "kgbuild wikidata Q5582 --endpoint notaurl --out {root}/new",
     "--endpoint 'notaurl' is not an http"),
    # artkg info / schema
    ("info-missing", "artkg info {root}/missing", 'no graph directory'),
    ("info-empty-dir", "artkg info {root}/empty_dir", "not a finished artkg graph directory"),
    ("info-a-run", "artkg info {run}", "run is not a finished artkg graph directory"),
    ("info-bad-manifest", "artkg info {bad_manifest}", "manifest.json is corrupt"),
    ("unknown-command", "artkg colourise {world}", "No such command 'colourise'"),
    ("ls-unknown-option", "artkg ls --colour", "No such option: --colour"),
    ("schema-unknown-option", "artkg schema --what", "No such option: --what"),
    ("version-extra-argument", "artkg version extra", "unexpected extra argument"),
    # features
    ("features-missing-graph", "artkg features {root}/missing", 'no graph directory'),
    ("features-unknown-encoder", "artkg features {world} --image-encoder nosuch --text-encoder none",
     "unknown image encoder 'nosuch'"),
    ("features-kwargs-not-json", "artkg features {world} --image-encoder-kwargs {{bad --text-encoder none", 'not valid JSON'),
    ("features-kwargs-not-object", "artkg features {world} --image-encoder-kwargs [1] --text-encoder none", 'JSON object'),
    ("features-kwargs-wrong-type", "artkg features {world} --image-encoder-kwargs '{{\"image_size\": \"big\"}}' "
                                   "--text-encoder none", "image_size in the image encoder options must be a valid integer"),
    ("features-unknown-device", "artkg features {world} --device tpu --text-encoder none", "unknown device 'tpu'"),
    ("features-damaged-graph", "artkg features {truncated} --text-encoder none", 'tensors.safetensors'),
    # train
    ("train-missing-graph", "artkg train graphclip {root}/missing --out {root}/r", 'no graph directory'),
    ("train-no-features", "artkg train graphclip {bare} --out {root}/r", 'artkg features'),
    ("train-unknown-model", "artkg train colournet {world} --out {root}/r", "unknown model 'colournet'"),
    ("train-config-lr-str", "artkg train graphclip {world} --config {files}/lr_fast.json --out {root}/r", '\\blr\\b.*fast'),
    ("train-config-epochs-str", "artkg train graphclip {world} --config {files}/epochs_ten.json --out {root}/r", 'epochs.*ten'),
    ("train-config-unknown-key", "artkg train graphclip {world} --config {files}/unknown_key.json --out {root}/r", 'learning_rate'),
    ("train-config-kwargs-int", "artkg train graphclip {world} --config {files}/gnn_kwargs_int.json --out {root}/r",
     "gnn_kwargs in .* must be a valid dictionary"),
    ("train-config-negative-lr", "artkg train graphclip {world} --config {files}/negative_lr.json --out {root}/r", '\\blr\\b|learning rate'),
    ("train-config-a-list", "artkg train graphclip {world} --config {files}/list_config.json --out {root}/r", 'JSON object'),
    ("train-config-not-json", "artkg train graphclip {world} --config {files}/not_json.json --out {root}/r", 'not valid JSON'),
    ("train-config-missing", "artkg train graphclip {world} --config {files}/missing.json --out {root}/r",
     "cannot read the config .*missing.json"),
    ("train-unknown-task", "artkg train graphclip {world} --task colour --out {root}/r", "unknown task 'colour'"),
    ("train-negative-lr-flag", "artkg train graphclip {world} --lr -1 --out {root}/r", '\\blr\\b|learning rate'),
    ("train-epochs-not-int", "artkg train graphclip {world} --epochs ten --out {root}/r", "Invalid value for '--epochs'"),
    ("train-model-kwargs-wrong-type", "artkg train graphclip {world} --model-kwargs '{{\"embed_dim\": \"big\"}}' "
                                      "--out {root}/r", "embed_dim in model_kwargs must be a valid integer"),
    ("train-over-a-finished-run", "artkg train graphclip {world} --epochs 1 --out {run}", '--overwrite'),
    ("train-cloir-unknown-sampling", "artkg train cloir {world} --sampling nearest --out {root}/r",
     "unknown sampling 'nearest'"),
    ("train-damaged-graph", "artkg train graphclip {truncated} --out {root}/r", 'tensors.safetensors'),
    # eval / predict / explain
    ("eval-missing", "artkg eval {root}/missing", 'no run directory'),
    ("eval-a-graph", "artkg eval {world}", "world is not a finished run"),
    ("eval-empty-dir", "artkg eval {root}/empty_dir", 'not a finished run'),
    ("eval-truncated-weights", "artkg eval {broken_run}", 'model.safetensors'),
    ("eval-garbled-config", "artkg eval {garbled_run}", 'config.json'),
    ("eval-damaged-graph", "artkg eval {run} --graph {truncated}", 'tensors.safetensors'),
    ("eval-unknown-split", "artkg eval {run} --split everything", "unknown evaluation split 'everything'"),
    ("predict-a-cloir-run", "artkg predict {cloir} {image}", 'artkg influence'),
    ("predict-missing-image", "artkg predict {run} {root}/missing.png", 'no image file'),
    ("predict-not-an-image", "artkg predict {run} {files}/not_an_image.png", 'cannot read the image'),
    ("explain-a-cloir-run", "artkg explain {cloir} --artwork {artwork} --out {root}/e", 'artkg influence'),
    ("explain-unknown-artwork", "artkg explain {run} --artwork W99999999 --out {root}/e", 'W99999999'),
    ("explain-nothing-to-explain", "artkg explain {run} --out {root}/e", 'nothing to explain'),
    # influence / index / search
    ("influence-neither", "artkg influence {world}", 'exactly one'),
    ("influence-unknown-artist", "artkg influence {world} --artist 'Nobody Atall Zzyzx'", 'Nobody Atall'),
    ("influence-degree-zero", "artkg influence {world} --artist {artist} --degree 0", "Invalid value for '--degree'"),
    ("influence-classifier-run", "artkg influence {world} --artwork {artwork} --run {run}", 'not a CLOIR run'),
    ("influence-truncated-tensors", "artkg influence {truncated} --artist {artist}", 'tensors.safetensors'),
    ("influence-no-nodes-json", "artkg influence {no_nodes} --artist {artist}", 'nodes.json'),
    ("influence-bad-manifest", "artkg influence {bad_manifest} --artist {artist}", "manifest.json is corrupt"),
    ("influence-empty-dir", "artkg influence {root}/empty_dir --artist {artist}",
     "not a finished artkg graph directory"),
    ("index-unknown-kind", "artkg index build {world} --kind nosuch --out {root}/i", "unknown index kind 'nosuch'"),
    ("index-out-is-a-file", "artkg index build {world} --out {files}/a_file", "a_file exists and is not an index"),
    ("search-missing-graph", "artkg search {root}/missing monet", 'no graph directory'),
    ("search-unknown-type", "artkg search {world} monet --type colour", "no node type 'colour'"),
    # recommenders: kgbuild interactions, artkg train MODEL, artkg recommend
    ("interactions-missing-file", "kgbuild interactions {world} {root}/missing.csv", "no interactions file"),
    ("interactions-missing-column", "kgbuild interactions {world} {files}/no_timestamp.csv", "lacks the column timestamp"),
    ("interactions-other-graph", "kgbuild interactions {world} {files}/other_graph.csv",
     "no usable interaction .*1 artworks not in the graph"),
    ("interactions-bad-timestamps", "kgbuild interactions {world} {files}/bad_times.csv",
     "no usable interaction .*1 unreadable timestamps"),
    ("interactions-not-a-graph", "kgbuild interactions {root}/empty_dir {files}/other_graph.csv",
     "not a finished artkg graph directory"),
    ("links-missing-file", "kgbuild links {world} {root}/missing.csv --source x", "no links file"),
    ("links-wrong-columns", "kgbuild links {world} {files}/other_graph.csv", "lacks the columns a, b, kind"),
    ("ugallery-missing-files", "kgbuild ugallery --purchases {root}/p.csv --inventory {root}/i.csv --out {root}/new",
     "no inventory file"),
    ("ugallery-wrong-layout", "kgbuild ugallery --purchases {files}/other_graph.csv --inventory {files}/other_graph.csv "
                              "--out {root}/new", "inventory file .* lacks the columns artwork_id_hash"),
    ("train-recommender-no-features", "artkg train visrank {bare} --out {root}/r", "visrank needs image features"),
    ("train-recommender-classifier-flag", "artkg train vbpr {world} --task style --out {root}/r",
     "--task is not an option of the recommender vbpr"),
    ("train-recommender-kwargs-wrong-type", "artkg train curatornet {world} --model-kwargs '{{\"l2\": \"big\"}}' "
                                            "--out {root}/r", "l2 in model_kwargs of curatornet must be a valid number"),
    ("recommend-missing-run", "artkg recommend {root}/missing --user U00001", "no run directory"),
    ("recommend-classifier-run", "artkg recommend {run} --user U00001", "not a recommender run"),
    ("recommend-unknown-user", "artkg recommend {rec} --user U99999", "no user 'U99999'"),
    ("recommend-unknown-artwork", "artkg recommend {rec} --liked W99999999", "W99999999"),
    ("recommend-neither", "artkg recommend {rec}", "one of --user ID, --liked"),
    ("recommend-k-zero", "artkg recommend {rec} --user U00001 --k 0", "Invalid value for '--k'"),
    ("recommend-rating-out-of-range", "artkg recommend {rec} --rate W00001=5 W00002=9", "rating 9 is outside 1–5"),
    ("recommend-rating-unreadable", "artkg recommend {rec} --rate W00001", "cannot read the rating"),
    ("train-text-engine-without-text", "artkg train text_similarity {world} --out {root}/t",
     "needs artwork text features"),
    ("train-signatures-no-links", "artkg train signatures {world} --out {root}/r", "kgbuild links"),
    ("train-signatures-classifier-flag", "artkg train signatures {world} --task style --out {root}/r",
     "--task is not an option of signatures"),
    ("train-resume-not-signatures", "artkg train graphclip {world} --resume --out {root}/r", "--resume"),
    ("signatures-missing-run", "artkg signatures {root}/missing", "no run directory"),
    ("signatures-classifier-run", "artkg signatures {run}", "not a signatures run"),
    ("signatures-export-missing-run", "artkg signatures export {root}/missing", "no run directory"),
    ("signatures-simulate-no-motifs", "artkg signatures simulate-annotator {files}/verdicts_empty.csv --world {world}",
     "no motif families"),
    ("signatures-propose-missing-run", "artkg signatures propose {root}/missing --out {root}/p", "no run directory"),
    ("signatures-propose-classifier-run", "artkg signatures propose {run} --out {root}/p", "not a signatures run"),
    ("signatures-map-classifier-run", "artkg signatures map {run} --out {root}/m", "not a signatures run"),
    ("signatures-annotate-unknown-kind", "artkg signatures annotate {world} {files}/verdicts_unknown.csv",
     "unknown kind \\('looks alike'"),
    ("signatures-annotate-no-verdict", "artkg signatures annotate {world} {files}/verdicts_empty.csv", "has a verdict"),
    ("signatures-annotate-missing-file", "artkg signatures annotate {world} {root}/missing.csv", "no verdicts file"),
]



def _argv(template: str, built: dict) -> list[str]:
    import shlex

    words = shlex.split(template.format(**{k: str(v) for k, v in built.items()}))
    return [str(BIN / words[0]), *words[1:]]


@pytest.mark.parametrize("case,template,names", CASES, ids=[c for c, _, _ in CASES])
def test_bad_input_is_one_line_exit_2_and_changes_nothing(built, case, template, names):
    kept = [built[k] for k in ("world", "bare", "run", "cloir", "rec", "truncated", "no_nodes", "bad_manifest",
                               "broken_run", "garbled_run", "files")]
    before = fingerprint(*kept)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "COLUMNS": "200"}
    done = subprocess.run(_argv(template, built), capture_output=True, text=True, timeout=300, env=env,
                          cwd=built["root"])
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    print(f"[{case}] exit {done.returncode}: {lines[-1] if lines else ''}")
    assert "Traceback" not in done.stderr and "╭" not in done.stderr, done.stderr[-3000:]
    assert done.returncode == 2, (done.returncode, done.stderr[-2000:])
    assert len(lines) == 1 and lines[0].startswith("error: "), done.stderr
    assert re.search(names, lines[0], re.IGNORECASE), f"the error should name {names!r}: {lines[0]}"
    assert fingerprint(*kept) == before, "a failed command changed something already built"
    for new in ("new", "r", "e", "i"):  # nothing half-made where the failed command was to write
        target = built["root"] / new
        assert not target.exists() or not any(target.iterdir()), f"{target} left behind"


def test_the_sweep_covers_every_command():
    from artkg.cli import app
    from artkg.cli.build import kgbuild_app

    def names(typer_app) -> set[str]:
        found = {c.name or c.callback.__name__.replace("_", "-") for c in typer_app.registered_commands}
        for group in typer_app.registered_groups:
            found |= {f"{group.name} {n}" for n in names(group.typer_instance)}
        return found

    commands = {f"artkg {n}" for n in names(app)} | {f"kgbuild {n}" for n in names(kgbuild_app)}
    swept = {" ".join(t.split()[:3]) if t.startswith(("artkg index", "artkg signatures")) else " ".join(t.split()[:2])
             for _, t, _ in CASES}
    swept.add("artkg signatures")  # `artkg signatures RUN` is `artkg signatures export RUN`
    missing = sorted(c for c in commands if c not in swept)
    assert not missing, f"commands without a bad-input row: {missing}"
