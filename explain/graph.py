"""Graph-side explanations of GraphCLIP: which facts of the knowledge graph a prediction rests on.

The wrapper PyG's ``Explainer`` masks is :class:`~artkg.explain.graph_model.GraphCLIPExplainModel`
(:mod:`artkg.explain.graph_model`); turning masks into facts and the subgraph is
:mod:`artkg.explain.graph_facts`.

Algorithms are chosen by name (:data:`algorithm_resolver`): ``gnnexplainer`` (PyG's GNNExplainer,
masks in [0, 1]) and ``captum`` (PyG's CaptumExplainer, Integrated Gradients by default; signed
attributions). :func:`explain_graph` runs one and cuts the explanation subgraph:
the ``top_k`` heaviest *facts* (an edge and its reverse count as one fact, weighted by the larger
mask, or the summed attributions) within ``hops`` of the artwork or the explained class node.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any, ClassVar

import torch
from class_resolver import ClassResolver
from torch import Tensor

from artkg.explain.config import Explained, GraphExplainConfig
from artkg.explain.graph_facts import (Subgraph, build_subgraph, fact_weights, hard_fidelity, node_weights,
                                       top_facts, within_hops)
from artkg.explain.graph_model import explain_inputs, reset_masks, wrap
from artkg.kg.errors import InputError
from artkg.registry import public_names

log = logging.getLogger("artkg")


# ------------------------------------------------------------------ algorithms (registry)
class GraphAlgorithm:
    """A PyG explainer algorithm and the masks it needs; registered by name in :data:`algorithm_resolver`."""

    node_mask_type: ClassVar[str] = "object"
    #: how the masks of an edge and its reverse merge into one fact's weight
    combine: ClassVar[str] = "max"
    signed: ClassVar[bool] = False

    def __init__(self, **kwargs: Any):
        self.kwargs = kwargs

    def make(self, config: GraphExplainConfig):
        raise NotImplementedError


class GNNExplainerAlgorithm(GraphAlgorithm):
    """PyG's GNNExplainer: soft node and edge masks in [0, 1], learnt to keep the prediction."""

    def make(self, config: GraphExplainConfig):
        from torch_geometric.explain import GNNExplainer

        return GNNExplainer(epochs=config.epochs, lr=config.lr, **self.kwargs)


class CaptumAlgorithm(GraphAlgorithm):
    """PyG's CaptumExplainer (Integrated Gradients unless ``method`` names another Captum method)."""

    node_mask_type = "attributes"  # Captum attributes every input feature
    combine = "sum"  # attributions add up
    signed = True

    def __init__(self, method: str = "IntegratedGradients", **kwargs: Any):
        super().__init__(**kwargs)
        self.method = method

    def make(self, config: GraphExplainConfig):
        try:
            import captum  # noqa: F401
            from torch_geometric.explain import CaptumExplainer
        except ImportError as exc:
            raise InputError("the captum algorithm needs the package captum",
                             "pip install captum, or use --algorithm gnnexplainer") from exc
        try:
            return CaptumExplainer(self.method, **self.kwargs)
        except (ValueError, AttributeError) as exc:
            raise InputError(f"unknown Captum method {self.method!r}: {exc}",
                             "use IntegratedGradients, Saliency, InputXGradient …") from exc


algorithm_resolver: ClassResolver[GraphAlgorithm] = ClassResolver(
    [GNNExplainerAlgorithm, CaptumAlgorithm], base=GraphAlgorithm, suffix="Algorithm",
    default=GNNExplainerAlgorithm, synonyms={"gnn_explainer": GNNExplainerAlgorithm,
                                             "integrated_gradients": CaptumAlgorithm, "ig": CaptumAlgorithm})


def make_algorithm(name: str | GraphAlgorithm, kwargs: dict | None = None) -> GraphAlgorithm:
    if isinstance(name, GraphAlgorithm):
        return name
    normal = algorithm_resolver.normalize(name)
    if normal not in algorithm_resolver.lookup_dict and normal not in algorithm_resolver.synonyms:
        raise InputError(f"unknown explanation algorithm {name!r}",
                         f"choose one of {', '.join(public_names(algorithm_resolver))}")
    try:
        return algorithm_resolver.make(name, kwargs or {})
    except TypeError as exc:
        raise InputError(f"bad options for the {normal} algorithm: {exc}", "see `artkg explain --help`") from exc


def _progress(wrapper, config: GraphExplainConfig, stepwise: bool):
    """A tqdm bar on stderr counting GNNExplainer's optimisation steps (one forward pass each), shown
    when ``config.progress`` and stderr is a terminal; ``(bar, hook)`` or ``(None, None)``."""
    if not (config.progress and stepwise):
        return None, None
    import sys

    from tqdm.auto import tqdm

    bar = tqdm(total=config.epochs, desc="GNNExplainer", unit="step", file=sys.stderr, leave=False,
               disable=None if sys.stderr.isatty() else True)

    def step(*_):
        if bar.n < bar.total:
            bar.update(1)

    return bar, wrapper.register_forward_hook(step)


@dataclass
class GraphExplanation:
    """One artwork's graph explanation: the raw PyG masks, the subgraph and the fidelity figures."""

    artwork: int
    task: str
    target: int  # the explained class
    prediction: Tensor  # logits [C]
    node_masks: dict[str, Tensor]  # one weight per node
    fact_weights: dict[tuple, Tensor]  # forward edge type → weight per edge (both directions merged)
    candidates: dict[tuple, Tensor]  # forward edge type → bool per edge: within hops of the seeds
    subgraph: Subgraph
    fidelity: dict  # {"fidelity_plus", "fidelity_minus"} (PyG), for the subgraph as a hard mask
    seconds: float
    explanation: Any = None  # the PyG HeteroExplanation
    selected: dict[tuple, Tensor] = field(default_factory=dict)  # forward edge type → selected edge positions


def explain_graph(ctx, artwork: int | str, task: str | None = None,
                  config: GraphExplainConfig | None = None, target: str | int | None = None) -> GraphExplanation:
    """Explain the context's GraphCLIP prediction for one artwork of its graph.

    ``target`` names a class to explain instead of the predicted one (PyG's *phenomenon*
    explanation); by default the predicted class is explained (PyG's *model* explanation).
    """
    from torch_geometric.explain import Explainer

    config = (config or GraphExplainConfig()).validate()
    ctx.require_graph_side()
    task = ctx.task(task)
    index = ctx.artwork_index(artwork)
    algorithm = make_algorithm(config.algorithm, config.algorithm_kwargs)
    wrapper = wrap(ctx, index, task)
    x_dict, edges = explain_inputs(ctx, wrapper)
    with torch.no_grad():
        logits = wrapper(x_dict, edges)[0]
    predicted = int(logits.argmax())
    explained = Explained.predicted if target is None else Explained.given
    target_index = predicted if target is None else ctx.class_index(task, target)
    explainer = Explainer(
        model=wrapper, algorithm=algorithm.make(config),
        explanation_type="model" if explained is Explained.predicted else "phenomenon",
        node_mask_type=algorithm.node_mask_type, edge_mask_type="object",
        model_config={"mode": "multiclass_classification", "task_level": "graph", "return_type": "raw"})
    t0 = time.perf_counter()
    reset_masks(wrapper)  # the GraphCLIP inside is shared with earlier explanations
    bar, hook = _progress(wrapper, config, isinstance(algorithm, GNNExplainerAlgorithm))
    try:
        with torch.random.fork_rng(devices=[]):  # GNNExplainer's random initial masks, reproducibly
            torch.manual_seed(config.seed)
            explanation = explainer(x_dict, edges, target=torch.tensor([target_index]) if target is not None else None)
    finally:
        reset_masks(wrapper)
        if hook is not None:
            hook.remove()
            bar.close()
    seconds = time.perf_counter() - t0
    edge_masks = {k: explanation[k].edge_mask for k in edges if "edge_mask" in explanation[k]}
    node_masks = {t: explanation[t].node_mask for t in x_dict if "node_mask" in explanation[t]}
    weights = fact_weights(edge_masks, edges, algorithm.combine)
    class_type = wrapper.class_type
    seeds = {"artwork": [index]}
    seeds.setdefault(class_type, []).append(target_index)
    candidates = within_hops(edges, seeds, config.hops, ctx.data.num_nodes)
    facts = top_facts(weights, candidates, config.top_k)
    selected: dict[tuple, list[int]] = {}
    for et, pos, _ in facts:
        selected.setdefault(et, []).append(pos)
    selected_t = {k: torch.tensor(v, dtype=torch.long) for k, v in selected.items()}
    fid = hard_fidelity(explainer, x_dict, edges, selected_t,
                        explanation.target if explained is Explained.predicted else torch.tensor([target_index]))
    n_candidates = int(sum(int(c.sum()) for c in candidates.values()))
    probs = logits.softmax(-1)
    meta = {"split": ctx.split_of(index), "top_k": config.top_k, "hops": config.hops, "explained": explained.value,
            "probability": round(float(probs[target_index]), 4), "seconds": round(seconds, 2),
            "algorithm_options": ({"epochs": config.epochs, "lr": config.lr, **config.algorithm_kwargs}
                                  if isinstance(algorithm, GNNExplainerAlgorithm) else dict(config.algorithm_kwargs)),
            **fid}
    name = algorithm_resolver.normalize_inst(algorithm)
    subgraph = build_subgraph(ctx, task, index, target_index, predicted, name, facts, edges,
                              node_weights(node_masks), n_candidates, meta, weights=weights)
    log.info("explained %s (%s) in %.1f s: %d facts of %d candidates, fidelity+ %.2f, fidelity- %.2f",
             subgraph.artwork["id"], task, seconds, len(facts), n_candidates, fid["fidelity_plus"],
             fid["fidelity_minus"])
    return GraphExplanation(index, task, target_index, logits.detach(), node_masks, weights, candidates, subgraph,
                            fid, seconds, explanation, selected_t)
