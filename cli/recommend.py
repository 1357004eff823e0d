"""``artkg recommend`` and the recommender side of ``artkg train`` / ``artkg eval``."""
from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from artkg.cli import app
from artkg.cli.common import JsonOption, _json_kwargs, emit, friendly_errors, setup_logging

METRIC_ORDER = ("auc", "mrr", "precision@9", "ndcg@9", "precision@20", "recall@20", "ndcg@20", "recall@100",
                "ndcg@100", "ild@9", "novelty@9", "coverage@9")


def metrics_text(m: dict) -> list[str]:
    split = m.get("split", {})
    if m.get("evaluated") is False:
        return [f"  {m.get('model', '?')}: fitted, not evaluated (the graph has no ratings); "
                "recommend with `artkg recommend RUN --rate W1=5 W2=3 …`"]
    shown = "  ".join(f"{k} {m[k]:.4f}" for k in METRIC_ORDER if isinstance(m.get(k), float))
    return [f"  {m.get('model', '?'):<14} {shown}",
            f"  test users {split.get('test_users', '?')}, mean candidates {split.get('mean_candidates', 0):.0f}, "
            f"training interactions {split.get('train_interactions', '?')}"]


def train_recommender_cli(model: str, graph_dir: Path, out: Path, config: Optional[Path], model_kwargs: Optional[str],
                          features: Optional[str], seed: Optional[int], threads: Optional[int], overwrite: bool,
                          as_json: bool, quiet: bool) -> None:
    """``artkg train MODEL GRAPH_DIR --out RUN`` for a recommender (MODEL in RECOMMENDERS)."""
    from artkg.models.recsys.config import RecConfig
    from artkg.models.recsys.run import train_recommender

    base = RecConfig.from_file(config) if config else RecConfig()
    changes: dict = {"model": model.strip().lower()}
    if model_kwargs:
        changes["model_kwargs"] = {**base.model_kwargs, **_json_kwargs(model_kwargs, "--model-kwargs")}
    for key, value in (("features", features), ("seed", seed), ("threads", threads)):
        if value is not None:
            changes[key] = value
    cfg = RecConfig.from_dict({**base.to_dict(), **changes}, where="the options")
    result = train_recommender(graph_dir, cfg, out=out, progress=not quiet, overwrite=overwrite)
    report = {"run": str(result.run_dir), "model": cfg.model, "metrics": result.metrics}
    emit(report, as_json, lambda r: "\n".join([f"{r['model']} run written to {r['run']}", *metrics_text(r["metrics"])]))


def _recommend_text(r: dict) -> str:
    if r["user"]:
        head = f"{r['label']} ({r['user']})"
    elif r["profile"] and "rating" in r["profile"][0]:
        head = "a new visitor who rated " + ", ".join(f"{p['label']} {p['rating']:g}" for p in r["profile"])
    else:
        head = "a new visitor who liked " + ", ".join(p["label"] for p in r["profile"])
    lines = [f"top {len(r['items'])} of {r['candidates']:,} available works for {head} — {r['model']}:"]
    for it in r["items"]:
        why = []
        near = it.get("nearest")
        if near and near.get("space", "image") == "image":
            why.append(f"looks like {near['label']} ({near['similarity']:.2f})")
        elif near:
            why.append(f"near {near['label']} in the {near['space']} space ({near['similarity']:.2f})")
        why += [f"same {s['relation']} {s['label']}" for s in it.get("shares", [])]
        lines.append(f"  {it['rank']:>3}. {it['label']}  {it['score']:.3f}" + (f"  — {'; '.join(why)}" if why else ""))
    return "\n".join(lines)


@app.command(epilog="Examples:\n\n  artkg recommend runs/curatornet --user U00012 --k 20\n\n"
                    "  artkg recommend runs/curatornet --liked W00012 W00345 W00678 --k 10 --json\n\n"
                    "  artkg recommend runs/late_fusion --rate W00012=5 W00345=3 W00678=1 --k 9")
@friendly_errors
def recommend(
    run: Path = typer.Argument(..., help="A recommender run directory written by `artkg train`."),
    user: Optional[str] = typer.Option(None, "--user", help="A user of the graph (IRI, id or label)."),
    liked: Optional[str] = typer.Option(None, "--liked", help="Works a new visitor likes (ids, IRIs or labels): "
                                        "--liked W1 W2 W3."),
    rate: Optional[str] = typer.Option(None, "--rate", help="Paintings a new visitor rated 1–5: --rate W1=5 W2=3 "
                                       "W3=1 (the multimodal engines weigh each by its rating)."),
    more_liked: Optional[List[str]] = typer.Argument(None, metavar="[W2 W3 …]",
                                                     help="More works, after --liked W1 (or W2=3 … after --rate W1=5)."),
    k: int = typer.Option(20, "--k", "-k", min=1, help="How many works to recommend."),
    graph: Optional[Path] = typer.Option(None, "--graph", help="The training graph, if it moved since."),
    as_json: bool = JsonOption,
) -> None:
    """Recommend available works to a user of the graph or to a new visitor, with why for each."""
    from artkg.retrieval.recommend import recommend as run_recommend

    from artkg.kg.errors import InputError

    setup_logging(quiet=True)
    if more_liked and liked is None and rate is None:
        raise InputError(f"unexpected argument(s) {' '.join(more_liked)}", "list liked works after --liked: --liked W1 W2 W3")
    if liked is not None and rate is not None:
        raise InputError("--liked and --rate both given", "give liked works (--liked W1 W2) or ratings (--rate W1=5 W2=3)")
    works = ([liked] + list(more_liked or [])) if liked is not None else None
    rated = [_rating(x) for x in [rate] + list(more_liked or [])] if rate is not None else None
    emit(run_recommend(run, user=user, liked=works, k=k, graph_dir=graph, rated=rated), as_json, _recommend_text)


def _rating(text: str) -> tuple[str, float]:
    """``W00012=5`` → ``("W00012", 5.0)``."""
    from artkg.kg.errors import InputError

    work, sep, value = text.rpartition("=")
    try:
        rating = float(value)
    except ValueError:
        rating = None
    if not sep or not work or rating is None:
        raise InputError(f"cannot read the rating {text!r}", "write each as WORK=RATING, e.g. --rate W00012=5 W00345=3")
    return work, rating
