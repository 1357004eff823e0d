"""``artkg features``, ``train``, ``eval``, ``predict``: artwork features and the models trained on them."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from artkg.cli import app
from artkg.cli.common import JsonOption, _json_kwargs, emit, friendly_errors, setup_logging


def _features_text(report: dict) -> str:
    lines = []
    for f in report["features"]:
        state = "cached" if f["cached"] else (f"resumed after {f['resumed_from']} rows" if f["resumed_from"] else "written")
        lines.append(f"{f['kind']} features {state}: {f['path']}  ({f['encoder']}, {f['dim']}-d)")
        if f["kind"] in ("image", "joint"):  # joint: artwork_image, artwork_text … rows of the same artworks
            lines.append(f"  artwork: {max(f['counts'].values()):,} rows, {f['encoded']:,} encoded, {f['skipped']:,} skipped")
            lines += [f"    skipped {s['id']}: {s['reason']}" for s in f["skipped_examples"]]
            if f["skipped"] > len(f["skipped_examples"]):
                lines.append(f"    … all skips in {f['path']}/skipped.json")
        else:
            lines.append("  " + ", ".join(f"{t}: {n:,}" for t, n in f["counts"].items()))
    return "\n".join(lines)


@app.command(epilog="Examples:\n\n  artkg features world\n\n"
                    "  artkg features wikiart --image-root ../shared/data/wikiart/images --workers 4 --json\n\n"
                    "  artkg features world --image-encoder torchvision_resnet "
                    "--image-encoder-kwargs '{\"arch\": \"resnet18\"}' --text-encoder none")
@friendly_errors
def features(
    graph_dir: Path = typer.Argument(..., help="A graph directory built by kgbuild."),
    image_encoder: str = typer.Option("efficientnet_lite", "--image-encoder",
                                      help="Image encoder (see `artkg ls`), or none."),
    image_encoder_kwargs: Optional[str] = typer.Option(None, "--image-encoder-kwargs",
                                                       help="JSON object of image encoder options."),
    text_encoder: str = typer.Option("minilm", "--text-encoder", help="Text encoder (see `artkg ls`), or none."),
    text_encoder_kwargs: Optional[str] = typer.Option(None, "--text-encoder-kwargs",
                                                      help="JSON object of text encoder options."),
    batch_size: int = typer.Option(64, "--batch-size", min=1, help="Images or texts per forward pass."),
    device: str = typer.Option("auto", "--device", help="auto (CUDA when available), cpu or cuda."),
    image_root: Optional[Path] = typer.Option(None, "--image-root",
                                              help="Folder with the image files (P18 file names or paths under it)."),
    workers: int = typer.Option(0, "--workers", min=0, help="Image-decoding worker processes (0: none)."),
    artwork_text: bool = typer.Option(False, "--artwork-text", help="Also encode each artwork's metadata text "
                                      "(title, depicts, genre, movement, material, description): the text side "
                                      "of the multimodal recommenders."),
    joint_encoder: Optional[str] = typer.Option(None, "--joint-encoder",
                                                help="Also a joint image–text encoder over each artwork's picture "
                                                     "and metadata document (see `artkg ls`; default: none)."),
    joint_encoder_kwargs: Optional[str] = typer.Option(None, "--joint-encoder-kwargs",
                                                       help="JSON object of joint encoder options."),
    as_json: bool = JsonOption,
    verbose: int = typer.Option(0, "--verbose", "-v", count=True, help="More log output on stderr."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Only warnings and errors on stderr (no progress)."),
) -> None:
    """Image features for artworks and text features for the other nodes, cached in GRAPH_DIR/features/."""
    from artkg.models.features import extract_features

    setup_logging(verbose, quiet)
    joint = None if joint_encoder is None or joint_encoder.strip().lower() in ("", "none") else joint_encoder
    joint_kwargs = _json_kwargs(joint_encoder_kwargs, "--joint-encoder-kwargs")
    if joint is not None:  # a typo fails before the slow image and text runs
        from artkg.models.encoders import check_encoder_name
        from artkg.models.encoders_joint import joint_encoder_resolver

        check_encoder_name(joint_encoder_resolver, "joint encoder", joint)
    report = extract_features(
        graph_dir, image_encoder=image_encoder,
        image_encoder_kwargs=_json_kwargs(image_encoder_kwargs, "--image-encoder-kwargs"),
        text_encoder=text_encoder, text_encoder_kwargs=_json_kwargs(text_encoder_kwargs, "--text-encoder-kwargs"),
        batch_size=batch_size, device=device, image_root=image_root, num_workers=workers, progress=not quiet,
        artwork_text=artwork_text)
    if joint is not None:
        from artkg.models.joint_features import extract_joint_features

        more = extract_joint_features(graph_dir, joint, joint_kwargs, batch_size=batch_size, device=device,
                                      image_root=image_root, progress=not quiet, num_workers=workers)
        report = {**report, "cached": report["cached"] and more["cached"],
                  "features": report["features"] + more["features"]}
    emit(report, as_json, _features_text)


def _metrics_text(metrics: dict) -> list[str]:
    lines = []
    for task, parts in metrics.items():
        if not isinstance(parts, dict) or "test" not in parts:
            continue
        for part in ("test", "test_seen", "test_unseen", "test_image_only", "val"):
            m = parts.get(part)
            if not m or not m.get("n"):
                continue
            topk = next((k for k in m if k.startswith("top") and k != "top1"), None)
            lines.append(f"  {task:<10} {part:<15} top-1 {m['top1']:.3f}  {topk} {m[topk]:.3f}  "
                         f"macro-F1 {m['macro_f1']:.3f}  (n={m['n']}, chance {m['chance']:.3f})")
        for part, count in parts.get("unlabelled_left_out", {}).items():
            lines.append(f"  {task:<10} {part:<15} {count} artworks left out: no {task} label in this graph")
    return lines


def _task_weights(tasks: list[str], weights: list[float]) -> Optional[list[float]]:
    from artkg.kg.errors import InputError

    if not weights:
        return None
    if len(weights) == len(tasks) - 1:  # L = L_first + λ·L_second …
        return [1.0, *weights]
    if len(weights) == len(tasks):
        return list(weights)
    raise InputError(f"{len(weights)} --task-weight values for {len(tasks)} tasks",
                     "give one weight per task, or one per task after the first (λ)")


def _unseen_classes(values: list[str]) -> dict:
    from artkg.kg.errors import InputError

    out: dict = {}
    for value in values:
        task, sep, name = value.partition("=")
        if not sep or not task or not name:
            raise InputError(f"--unseen-class {value!r} is not TASK=CLASS", "e.g. --unseen-class 'style=Style 03'")
        out.setdefault(task.strip(), []).append(name.strip())
    return out


def _default(name: str, key: str | None = None) -> str:
    """`` [default: …]`` for a flag that overrides a config field: the TrainConfig (and CLOIR) default,
    read from the dataclasses so the help never drifts from the code."""
    import dataclasses

    from artkg.models.cloir_config import CloirConfig
    from artkg.models.train_config import TrainConfig

    def value(cls, field: str):
        for f in dataclasses.fields(cls):
            if f.name == field:
                v = f.default if f.default is not dataclasses.MISSING else f.default_factory()
                return v.get(key) if key and isinstance(v, dict) else v
        return dataclasses.MISSING

    g, c = value(TrainConfig, name), value(CloirConfig, name)
    shown = [f"{v}" if i == 0 else f"cloir {v}" for i, v in enumerate((g, c)) if v is not dataclasses.MISSING]
    if g is not dataclasses.MISSING and c is not dataclasses.MISSING and g == c:
        shown = [f"{g}"]
    elif g is dataclasses.MISSING and c is not dataclasses.MISSING:
        shown = [f"{c}"]
    return f" [default: {', '.join(shown)}]" if shown else ""


@app.command(epilog="Examples:\n\n  artkg train graphclip world --task style --gnn sage --layers 2 --out runs/style\n\n"
                    "  artkg train graphclip world --task style --task genre --task-weight 0.5 --out runs/multi\n\n"
                    "  artkg train graphclip world --task style --unseen-fraction 0.25 --out runs/zeroshot\n\n"
                    "  artkg train image_head world --task style --seed 1 --out runs/head --json\n\n"
                    "  artkg train graphclip artgraph --config examples/configs/graphclip_artgraph_paper.json "
                    "--out runs/paper\n\n"
                    "  artkg train cloir world --inputs image --sampling similarity --n 100 --split stratified "
                    "--out runs/cloir")
@friendly_errors
def train(
    model: str = typer.Argument(..., help="graphclip, prototype, linear_probe, image_head (see `artkg ls`), "
                                          "cloir (influence retrieval), signatures (visual signatures), or a recommender: curatornet, curatornet_kg, vbpr, visrank, "
                                          "bpr_mf, popularity, random."),
    graph_dir: Path = typer.Argument(..., help="A graph directory with features (`artkg features`)."),
    out: Path = typer.Option(..., "--out", "-o", help="The run directory to write."),
    config: Optional[Path] = typer.Option(None, "--config", "-c", help="A TrainConfig JSON file; flags override it."),
    task: list[str] = typer.Option([], "--task", "-t", help="Class node type to predict (repeat for multi-task)."
                                     + _default("tasks")),
    task_weight: list[float] = typer.Option([], "--task-weight", help="Loss weight per task, or λ for each task "
                                                                      "after the first."),
    gnn: Optional[str] = typer.Option(None, "--gnn", help="sage or gat." + _default("gnn")),
    layers: Optional[int] = typer.Option(None, "--layers", min=1, help="GNN layers (2 or 3)." + _default("gnn_kwargs", "layers")),
    hidden: Optional[int] = typer.Option(None, "--hidden", min=1, help="GNN hidden size." + _default("gnn_kwargs", "hidden")),
    epochs: Optional[int] = typer.Option(None, "--epochs", min=1, help="Maximum epochs (early stopping may end sooner)."
                                          + _default("epochs")),
    batch_size: Optional[int] = typer.Option(None, "--batch-size", min=1, help="Training artworks (cloir: triplets) per step."
                                              + _default("batch_size")),
    lr: Optional[float] = typer.Option(None, "--lr", help="Peak learning rate (Adam)." + _default("lr")),
    seed: Optional[int] = typer.Option(None, "--seed", help="Seed of the split, the initialisation and the "
                                      "batches." + _default("seed")),
    unseen_fraction: Optional[float] = typer.Option(None, "--unseen-fraction",
                                                    help="Share of each task's classes held out of training (zero-shot)."
                                                         + _default("unseen_fraction")),
    unseen_class: list[str] = typer.Option([], "--unseen-class", help="TASK=CLASS to hold out (IRI, id or label)."),
    unseen_mode: Optional[str] = typer.Option(None, "--unseen-mode",
                                              help="strict (default: held-out classes' labels are nowhere in what "
                                                   "the model sees) or transductive (training-split labels of "
                                                   "held-out classes stay in the graph)." + _default("unseen_mode")),
    model_kwargs: Optional[str] = typer.Option(None, "--model-kwargs", help="JSON object of model options "
                                               "(e.g. '{\"embed_dim\": 256, \"context\": true}')."),
    gnn_kwargs: Optional[str] = typer.Option(None, "--gnn-kwargs", help="JSON object of GNN options "
                                             "(e.g. '{\"heads\": 4, \"dropout\": 0.3}')."),
    features: Optional[str] = typer.Option(None, "--features", help="Image feature set: a folder under "
                                           "GRAPH_DIR/features or an encoder name (default: the latest)."),
    inputs: Optional[str] = typer.Option(None, "--inputs", help="cloir: what the model reads, image, text or "
                                         "image+text." + _default("inputs")),
    sampling: Optional[str] = typer.Option(None, "--sampling", help="cloir: positive sampling, random or similarity."
                                           + _default("sampling")),
    n: Optional[int] = typer.Option(None, "--n", min=1, help="cloir: positives per anchor (10 or 100 in the "
                                 "paper)." + _default("n")),
    negatives: Optional[str] = typer.Option(None, "--negatives", help="cloir: negative sampling, random or hard."
                                            + _default("negatives")),
    split: Optional[str] = typer.Option(None, "--split", help="published: the graph's published split (splits.json "
                                        "from kgbuild wikiart/artgraph); cloir also stratified or leave_out_agents."
                                        + _default("split")),
    hops: Optional[int] = typer.Option(None, "--hops", min=1, max=2, help="cloir: influence hops for positives."
                                      + _default("hops")),
    sampler: Optional[str] = typer.Option(None, "--sampler", help="auto, full or neighbor." + _default("sampler")),
    class_inputs: Optional[str] = typer.Option(None, "--class-inputs", help="GNN input of class nodes: constant, "
                                               "embedding or text (their text features)." + _default("class_inputs")),
    device: Optional[str] = typer.Option(None, "--device", help="auto, cpu or cuda." + _default("device")),
    threads: Optional[int] = typer.Option(None, "--threads", min=1, help="CPU threads for torch (default: all)."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace a finished run in --out (it stays whole "
                                   "until the new one is written)."),
    resume: bool = typer.Option(False, "--resume", help="signatures: continue an unfinished run in --out from "
                                "its last epoch's checkpoint."),
    as_json: bool = JsonOption,
    verbose: int = typer.Option(0, "--verbose", "-v", count=True, help="More log output on stderr."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Only warnings and errors on stderr (no progress)."),
) -> None:
    """Train GraphCLIP, a baseline, CLOIR or visual signatures on GRAPH_DIR; writes config, weights, split and
    metrics to --out."""
    from artkg.models.train import train as run_training
    from artkg.models.train_config import TrainConfig

    setup_logging(verbose, quiet)
    from artkg.models.recsys.config import RECOMMENDERS

    if model.strip().lower() == "signatures":
        from artkg.cli.signatures import train_signatures_cli
        from artkg.kg.errors import InputError

        used = [f for f, v in (("--task", task), ("--unseen-class", unseen_class), ("--gnn", gnn), ("--layers", layers),
                               ("--hidden", hidden), ("--inputs", inputs), ("--sampling", sampling), ("--split", split),
                               ("--features", features), ("--model-kwargs", model_kwargs), ("--n", n),
                               ("--negatives", negatives), ("--hops", hops)) if v]
        if used:
            raise InputError(f"{', '.join(used)} {'is not an option' if len(used) == 1 else 'are not options'} of "
                             "signatures", "put signature options in a --config JSON file (SignatureConfig)")
        train_signatures_cli(graph_dir, out, config, seed, epochs, batch_size, lr, device, threads, overwrite, resume,
                             as_json, quiet)
        return
    if resume:
        from artkg.kg.errors import InputError

        raise InputError(f"--resume is an option of `artkg train signatures`, not of {model}", "drop --resume")
    if model.strip().lower() in RECOMMENDERS:
        from artkg.cli.recommend import train_recommender_cli
        from artkg.kg.errors import InputError

        used = [f for f, v in (("--task", task), ("--unseen-class", unseen_class), ("--gnn", gnn), ("--layers", layers),
                               ("--hidden", hidden), ("--inputs", inputs), ("--sampling", sampling), ("--split", split),
                               ("--epochs", epochs), ("--lr", lr), ("--batch-size", batch_size)) if v]
        if used:
            raise InputError(f"{', '.join(used)} {'is not an option' if len(used) == 1 else 'are not options'} of the "
                             f"recommender {model}", "pass model options as --model-kwargs '{\"epochs\": 20}'")
        train_recommender_cli(model, graph_dir, out, config, model_kwargs, features, seed, threads, overwrite, as_json, quiet)
        return
    if model.strip().lower() == "cloir":
        from artkg.kg.errors import InputError
        from artkg.models.cloir_config import INPUTS as CLOIR_INPUTS

        if task or unseen_class or unseen_fraction is not None or unseen_mode or gnn or layers or hidden:
            raise InputError("--task, --unseen-*, --gnn, --layers and --hidden are GraphCLIP options; cloir has no "
                             "classes or GNN", "drop them (see `artkg train --help` for the cloir options)")
        if features in CLOIR_INPUTS:
            raise InputError(f"--features {features} names an input kind; for cloir that is --inputs {features}",
                             f"pass --inputs {features} (--features names an image feature folder or encoder)")
        _train_cloir(graph_dir, out, config, inputs=inputs, image_features=features, sampling=sampling, n=n,
                     negatives=negatives,
                     split=split, hops=hops, epochs=epochs, batch_size=batch_size, lr=lr, seed=seed, device=device,
                     threads=threads, as_json=as_json, quiet=quiet, overwrite=overwrite)
        return
    if split is not None and split != "published":
        from artkg.kg.errors import InputError

        raise InputError(f"--split {split} is a cloir split; {model} takes --split published (or fractions in "
                         "the config)", "drop it, or use --split published")
    if any(v is not None for v in (sampling, n, negatives, hops, inputs)):
        from artkg.kg.errors import InputError

        raise InputError("--inputs, --sampling, --n, --negatives and --hops are cloir options",
                         f"drop them, or train cloir (`artkg train cloir {graph_dir} …`)")
    base = TrainConfig.from_file(config) if config else TrainConfig()
    changes: dict = {"model": model}
    if task:
        changes["tasks"] = list(task)
    tasks = changes.get("tasks", base.tasks)
    if task_weight:
        changes["task_weights"] = _task_weights(tasks, task_weight)
    elif task and base.task_weights is not None and len(base.task_weights) != len(tasks):
        changes["task_weights"] = None
    changes["gnn_kwargs"] = {**base.gnn_kwargs, **_json_kwargs(gnn_kwargs, "--gnn-kwargs"),
                             **{k: v for k, v in (("layers", layers), ("hidden", hidden)) if v is not None}}
    if model_kwargs:
        changes["model_kwargs"] = {**base.model_kwargs, **_json_kwargs(model_kwargs, "--model-kwargs")}
    if unseen_class:
        changes["unseen_classes"] = _unseen_classes(unseen_class)
    for key, value in (("gnn", gnn), ("epochs", epochs), ("batch_size", batch_size), ("lr", lr), ("seed", seed),
                       ("unseen_fraction", unseen_fraction), ("unseen_mode", unseen_mode),
                       ("class_inputs", class_inputs), ("features", features), ("sampler", sampler),
                       ("device", device), ("threads", threads), ("split", split)):
        if value is not None:
            changes[key] = value
    result = run_training(graph_dir, base.replace(**changes), out=out, progress=not quiet, overwrite=overwrite)
    report = {"run": str(result.run_dir), "model": result.config.model, "tasks": result.config.tasks,
              "metrics": result.metrics}
    emit(report, as_json, lambda r: "\n".join([f"{r['model']} run written to {r['run']}", *_metrics_text(r["metrics"])]))


def _cloir_metrics_text(metrics: dict) -> list[str]:
    lines = []
    for variant in ("model", "baseline"):
        m = metrics.get(variant)
        if not m:
            continue
        for d in ("degree_1", "degree_2"):
            values = m[d]
            ps = "  ".join(f"{k} {v:.3f}" for k, v in values.items() if k.startswith("P@"))
            lines.append(f"  {variant:<9} {d.replace('_', ' '):<9} {ps}  MRR {values['MRR']:.3f}  "
                         f"(queries {values['queries']}, chance P {values['chance']:.3f}, {m['metric']})")
    return lines


def _train_cloir(graph_dir: Path, out: Path, config: Optional[Path], as_json: bool, quiet: bool,
                 overwrite: bool = False, **flags) -> None:
    from artkg.models.cloir_config import CloirConfig
    from artkg.retrieval.cloir import train_cloir

    changes = {key: value for key, value in flags.items() if value is not None}
    result = train_cloir(graph_dir, CloirConfig.coerce(config, changes), out=out, progress=not quiet,
                         overwrite=overwrite)
    report = {"run": str(result.run_dir), "model": "cloir", "metrics": result.metrics}
    emit(report, as_json, lambda r: "\n".join([f"cloir run written to {r['run']}",
                                               *_cloir_metrics_text(r["metrics"])]))


@app.command(name="eval", epilog="Examples:\n\n  artkg eval runs/style\n\n  artkg eval runs/style --graph moved/world --json")
@friendly_errors
def evaluate(
    run: Path = typer.Argument(..., help="A run directory written by `artkg train`."),
    graph: Optional[Path] = typer.Option(None, "--graph", help="The training graph, if it moved since."),
    device: str = typer.Option("auto", "--device", help="auto, cpu or cuda."),
    split: str = typer.Option("run", "--split", help="run (the run's own split) or published (the graph's "
                                                     "splits.json; refused where the run trained on those works)."),
    as_json: bool = JsonOption,
) -> None:
    """Recompute a run's metrics on its graph and split (and say whether they match metrics.json)."""
    from artkg.models.run import evaluate_run, read_config

    setup_logging(quiet=True)
    saved = read_config(run)
    if saved.get("task") == "signatures":
        from artkg.cli.signatures import eval_signatures_cli

        eval_signatures_cli(run, graph, device, as_json)
        return
    if saved.get("task") == "recommend":
        from artkg.cli.recommend import metrics_text
        from artkg.models.recsys.run import evaluate_recommender_run

        rec = evaluate_recommender_run(run, graph)
        emit(rec, as_json, lambda m: "\n".join([f"{run}: metrics {'match' if m['matches_saved'] else 'DIFFER from'} "
                                                 "metrics.json", *metrics_text(m)]))
        return
    is_cloir = saved.get("model") == "cloir"
    if is_cloir:
        from artkg.retrieval.cloir import evaluate_cloir_run

        metrics = evaluate_cloir_run(run, graph, split=split)
    else:
        metrics = evaluate_run(run, graph, device=device, split=split)

    def text(m: dict) -> str:
        same = "match" if m["matches_saved"] else "DIFFER from"
        return "\n".join([f"{run}: metrics {same} metrics.json",
                          *(_cloir_metrics_text(m) if is_cloir else _metrics_text(m))])

    emit(metrics, as_json, text)


@app.command(epilog="Examples:\n\n  artkg predict runs/style painting.jpg other.png --top-k 3\n\n"
                    "  artkg predict runs/style ../shared/data/paintings/images/*.jpg --json")
@friendly_errors
def predict(
    run: Path = typer.Argument(..., help="A run directory written by `artkg train`."),
    images: list[Path] = typer.Argument(..., help="Image files (need not be in the graph)."),
    top_k: int = typer.Option(5, "--top-k", "-k", min=1, help="Classes to list per task."),
    device: str = typer.Option("cpu", "--device", help="cpu or cuda."),
    as_json: bool = JsonOption,
) -> None:
    """Top-k classes per task for image files, from the image alone (encoded like the run's features)."""
    from artkg.models.run import predict_images

    setup_logging(quiet=True)
    results = predict_images(run, images, top_k=top_k, device=device)

    def text(rs: list) -> str:
        lines = []
        for r in rs:
            lines.append(r["image"])
            for task, preds in r["predictions"].items():
                lines.append(f"  {task}: " + ", ".join(f"{p['label']} {p['score']:.3f}" for p in preds))
        return "\n".join(lines)

    emit(results, as_json, text)
