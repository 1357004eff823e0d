"""The training loop: :class:`Trainer` (batches, steps, early stopping, the loss, zero-shot calibration).

Graph models see the graph in one of two ways (``sampler``):

- ``full``: each step runs the GNN over the whole message-passing graph (all nodes, all edges).
  Memory is dominated by the per-edge messages, ``edges × hidden × layers``: measured ≈ 3 kB per
  edge at hidden 128 with 2 layers (167 MB for the 300-artist world's 51k edges), so about 6 GB
  for 2·10⁶ edges. ``auto`` switches to ``neighbor`` above ``full_batch_limit`` nodes + edges
  (2·10⁶ by default).
- ``neighbor``: each step samples a subgraph around the batch's artworks and every class node
  (:class:`~artkg.models.sampler.NeighborSampler`, ``num_neighbors`` per hop).

``label_trick`` hides, in each training step, the label edges of the step's own targets, so that a
training artwork never sees its own label in the graph (the test situation). On the offline world
it *lowered* test accuracy (62.1% vs 65.5% for style, 3 seeds) — the image expert overfits the
training artworks, and the slight optimism the visible labels give the graph expert balances that —
so it is off by default; test artworks never see their labels either way (the leakage rule).

The optional image tower (``image_tower``) fine-tunes the encoder that made the image features:
frozen at first (the cached features are exactly its output, so nothing is recomputed), then
unfrozen from the last stage backwards, one more stage every ``unfreeze_every`` epochs.
"""
from __future__ import annotations

import copy
import logging
import math
import sys
from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor

from artkg.kg.errors import InputError
from artkg.kg.graph import reverse_edge_type
from artkg.models.classifier import ArtworkClassifier, Batch, GraphInputs
from artkg.models.train_config import TrainConfig
from artkg.models.train_eval import evaluate, match_share

log = logging.getLogger("artkg")


class Trainer:
    def __init__(self, model: ArtworkClassifier, data, config: TrainConfig, device: torch.device, progress: bool):
        self.model, self.data, self.config, self.device, self.progress = model, data, config, device, progress
        self.generator = torch.Generator().manual_seed(config.seed)
        weights = config.task_weights or [1.0] * len(data.tasks)
        self.task_weights = {t.name: float(w) for t, w in zip(data.tasks, weights)}
        self.seen = {t.name: data.seen(t) for t in data.tasks}
        # Training logits cover the seen classes only (zero-shot classes are no competitors).
        self.seen_classes = {t.name: torch.tensor([c for c in range(t.num_classes)
                                                   if c not in set(data.visibility.unseen(t))])
                             for t in data.tasks}
        self.sampler_kind = self._choose_sampler()
        if config.class_dropout and self.sampler_kind == "neighbor":
            raise InputError("class_dropout works on the whole graph only (sampler full)",
                             "pass --sampler full, or set class_dropout to 0")
        self.sampler = None
        if self.sampler_kind == "neighbor":
            from artkg.models.sampler import NeighborSampler

            hops = list(config.num_neighbors)
            layers = int(model.gnn.layers)
            hops = (hops + [hops[-1]] * layers)[:layers]
            self.sampler = NeighborSampler(data.edges, data.num_nodes, hops)
        self.tower = None
        if config.image_tower and model.image_tower is not None:
            from artkg.models.tower import TowerSchedule

            self.tower = TowerSchedule(model.image_tower, data, config.image_tower)
        self.best_epoch, self.best_state, self.best_tower_stages = 0, None, 0

    def _choose_sampler(self) -> str:
        if not self.model.uses_graph:
            return "none"
        if self.config.sampler != "auto":
            return self.config.sampler
        size = sum(self.data.num_nodes.values()) + sum(ei.shape[1] for ei in self.data.edges.values())
        return "full" if size <= self.config.full_batch_limit else "neighbor"

    # ---------------------------------------------------------------- batches
    def batch(self, nodes: Tensor, targets: Optional[Tensor] = None) -> Batch:
        data, training = self.data, targets is not None
        if not self.config.label_trick:
            targets = None
        if not self.model.uses_graph:
            batch = Batch(nodes, data.features[nodes])
        elif self.sampler is None:
            hide = self._dropped_classes() if training and self.config.class_dropout > 0 else None
            batch = data.full_batch(nodes, targets, hide_classes=hide)
        else:
            batch = self._sampled_batch(nodes, targets)
        if self.tower is not None:
            batch = self.tower.prepare(batch, training=training)
        return batch.to(self.device)

    def _dropped_classes(self) -> dict[str, Tensor]:
        """Per task, a random ``class_dropout`` share of the seen classes: this step sees them as a
        zero-shot class is seen (no label edge, no label propagation), so the GNN learns to embed a
        class from its relations and text, not only from its labelled works."""
        out = {}
        for name, seen in self.seen_classes.items():
            k = int(round(self.config.class_dropout * len(seen)))
            if k:
                out[name] = seen[torch.randperm(len(seen), generator=self.generator)[:k]]
        return out

    def _sampled_batch(self, nodes: Tensor, targets: Optional[Tensor]) -> Batch:
        data = self.data
        seeds = {"artwork": nodes}
        for t in data.tasks:
            if t.class_type != "artwork":
                seeds[t.class_type] = torch.arange(t.num_classes)
        n_id, edges = self.sampler.sample(seeds, self.generator)
        if targets is not None and len(targets):  # the label trick, on the sampled edges
            hidden = torch.zeros(data.num_artworks, dtype=torch.bool)
            hidden[targets] = True
            for key in data.direct_keys:
                for k, col in ((key, 0), (reverse_edge_type(key), 1)):
                    ei = edges[k]
                    edges[k] = ei[:, ~hidden[n_id["artwork"][ei[col]]]]
        x = {t: v[n_id[t]] for t, v in data.x_dict.items()}
        graph = GraphInputs(x, edges, n_id)
        class_local = {t.class_type: torch.arange(t.num_classes) for t in data.tasks}
        label_dist = data.label_dist(data.masked_edges(targets), nodes)
        return Batch(nodes, data.features[nodes], graph, torch.arange(len(nodes)), class_local, label_dist)

    # ---------------------------------------------------------------- deterministic inference
    def inference_embeddings(self) -> dict[str, Tensor]:
        """Every node's embedding on the whole leakage-free graph, layer by layer (no sampling).

        Sampled runs evaluate, validate and finalize with these: a neighbour sample differs from
        draw to draw, so class embeddings computed from one would change from chunk to chunk and
        from run to run (``artkg eval`` would not reproduce ``metrics.json``).
        """
        self.model.eval()
        graph = GraphInputs(self.data.x_dict, self.data.edges).to(self.device)
        return self.model.inference_embeddings(graph)

    def inference_batch(self, nodes: Tensor, h: dict[str, Tensor]) -> Batch:
        """``nodes`` scored against embeddings from :meth:`inference_embeddings` (evaluation: no label trick)."""
        data = self.data
        batch = Batch(nodes, data.features[nodes], GraphInputs({}, {}, None, h), None, {},
                      data.label_dist(data.edges, nodes))
        if self.tower is not None:
            batch = self.tower.prepare(batch, training=False)
        return batch.to(self.device)

    # ---------------------------------------------------------------- fit
    def fit(self) -> list[dict]:
        from tqdm.auto import tqdm

        config, model = self.config, self.model
        trainable = self.data.trainable()
        steps_per_epoch = math.ceil(len(trainable) / config.batch_size)
        optimizer = torch.optim.Adam(self._param_groups(), lr=config.lr, weight_decay=config.weight_decay)
        scheduler = warmup_cosine(optimizer, round(config.warmup_epochs * steps_per_epoch),
                                  config.epochs * steps_per_epoch, config.min_lr_ratio)
        history, best, stale = [], -1.0, 0
        bar = tqdm(range(1, config.epochs + 1), desc=f"train {config.model}", unit="epoch", file=sys.stderr,
                   disable=not self.progress, dynamic_ncols=True)
        for epoch in bar:
            if self.tower is not None:
                self.tower.on_epoch(epoch, optimizer)
            model.train()
            order = trainable[torch.randperm(len(trainable), generator=self.generator)]
            total = 0.0
            for start in range(0, len(order), config.batch_size):
                targets = order[start:start + config.batch_size]
                loss = self.loss(model(self.batch(targets, targets)), targets)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                if config.grad_clip:
                    torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
                optimizer.step()
                scheduler.step()
                total += float(loss.detach()) * len(targets)
            entry = {"epoch": epoch, "loss": round(total / max(1, len(order)), 5),
                     "lr": round(optimizer.param_groups[0]["lr"], 8)}
            if epoch % config.eval_every == 0 or epoch == config.epochs:
                score = self.validation_score()
                entry["val_top1"] = round(score, 4)
                if score > best:
                    best, stale, self.best_epoch = score, 0, epoch
                    self.best_state = copy.deepcopy(model.state_dict())
                    self.best_tower_stages = self.tower.unfrozen if self.tower is not None else 0
                else:
                    stale += 1
            history.append(entry)
            bar.set_postfix(loss=entry["loss"], val=entry.get("val_top1"), best=self.best_epoch)
            if config.patience and stale >= config.patience:
                log.info("early stop after epoch %d (best validation top-1 %.4f at epoch %d)", epoch, best,
                         self.best_epoch)
                break
        if self.best_state is not None:
            model.load_state_dict(self.best_state)
            if self.tower is not None:  # the restored weights' tower: as fine-tuned as it was then
                self.tower.unfrozen = self.best_tower_stages
        model.eval()
        with torch.no_grad():
            model.finalize(self._class_batch() if model.uses_graph else None)
        return history

    def _class_batch(self) -> Batch:
        """A batch without artworks that gives the class embeddings ``finalize`` stores."""
        empty = torch.empty(0, dtype=torch.long)
        if self.sampler is None:
            return self.batch(empty)
        return self.inference_batch(empty, self.inference_embeddings())

    @torch.no_grad()
    def calibrate(self) -> dict:
        """Zero-shot calibration (calibrated stacking without peeking at held-out labels).

        A model never trained on the held-out classes under-predicts them. Their logits are lifted
        by ``γ``, chosen so that the share of validation artworks predicted as a held-out class
        equals the prior the run's :class:`~artkg.models.visibility.Visibility` allows: in strict
        zero-shot their share of the classes (no held-out label is read), in transductive mode their
        share among the training split's labels. No validation label is read.
        """
        val, report = self.data.split.val, {}
        if len(val) == 0:
            return report
        outputs = None
        for t in self.data.tasks:
            unseen = self.data.split.unseen_classes.get(t.name, [])
            if not unseen:
                continue
            if outputs is None:
                outputs = self.outputs(val)  # deterministic for sampled runs too
            prior, source = self.data.visibility.calibration_prior(t)
            report[t.name] = {"prior": round(prior, 4), "prior_from": source}
            for key, buffer in (("logits", f"bias_{t.name}"), ("image", f"image_bias_{t.name}")):
                if key not in outputs[t.name] or not hasattr(self.model, buffer):
                    continue
                gamma = match_share(outputs[t.name][key].float().cpu(), torch.tensor(unseen), prior)
                getattr(self.model, buffer)[unseen] = gamma
                report[t.name][key] = round(gamma, 4)
        return report

    def tower_report(self) -> dict:
        """What fine-tuning changed in the kept (best-epoch) weights: ``trained`` is false when early
        stopping restored an epoch from before the first unfreezing (the tower is then the pretrained one)."""
        tower, stages = self.tower, self.tower.unfrozen
        return {"trained": stages > 0, "stages_trained": stages, "stages": len(tower.stages),
                "parameters_trained": tower.trained_parameters(stages), "unfreeze_epoch": tower.unfreeze_epoch,
                "best_epoch": self.best_epoch}

    def _param_groups(self) -> list[dict]:
        tower = set(id(p) for p in self.model.image_tower.parameters()) if self.model.image_tower is not None else set()
        main = [p for p in self.model.parameters() if id(p) not in tower]
        groups = [{"params": main}]
        if tower:
            lr_scale = float((self.config.image_tower or {}).get("lr_scale", 0.1))
            groups.append({"params": list(self.model.image_tower.parameters()), "lr": self.config.lr * lr_scale})
        return groups

    def loss(self, outputs: dict[str, dict[str, Tensor]], targets: Tensor) -> Tensor:
        """Σ_task weight · (CE(logits) + aux_weight · Σ CE(auxiliary logits)), on seen labels and classes."""
        aux_weight = float(getattr(self.model, "aux_weight", 0.0))
        total = torch.zeros((), device=self.device)
        for t in self.data.tasks:
            seen = self.seen[t.name][targets]
            if not seen.any():
                continue
            y = t.labels[targets][seen]
            columns = self.seen_classes[t.name]
            remap = torch.full((t.num_classes,), -1, dtype=torch.long)
            remap[columns] = torch.arange(len(columns))
            y = remap[y].to(self.device)
            seen, columns = seen.to(self.device), columns.to(self.device)
            for name, logits in outputs[t.name].items():
                weight = 1.0 if name == "logits" else aux_weight
                if weight:
                    total = total + self.task_weights[t.name] * weight * F.cross_entropy(logits[seen][:, columns], y)
        return total

    # ---------------------------------------------------------------- evaluation
    @torch.no_grad()
    def outputs(self, nodes: Tensor, chunk: int = 4096) -> dict[str, dict[str, Tensor]]:
        """Evaluation outputs (every class) for ``nodes``; the whole graph is one pass where it fits.

        Sampled runs score every chunk against the same embeddings, computed once on the whole
        graph without sampling (:meth:`inference_embeddings`): the outputs depend on the weights only.
        """
        self.model.eval()
        h = self.inference_embeddings() if self.sampler is not None and len(nodes) else None
        parts: dict[str, dict[str, list[Tensor]]] = {t.name: {} for t in self.data.tasks}
        for start in range(0, len(nodes), chunk):
            part = nodes[start:start + chunk]
            batch = self.batch(part) if h is None else self.inference_batch(part, h)
            for t, out in self.model(batch).items():
                for key, value in out.items():
                    parts[t].setdefault(key, []).append(value.float().cpu())
        return {t.name: {k: torch.cat(v) for k, v in parts[t.name].items()} if parts[t.name]
                else {"logits": torch.empty(0, t.num_classes)} for t in self.data.tasks}

    def logits(self, nodes: Tensor) -> dict[str, Tensor]:
        return {t: out["logits"] for t, out in self.outputs(nodes).items()}

    def validation_score(self) -> float:
        val = self.data.split.val
        if len(val) == 0:
            return 0.0
        logits, scores = self.logits(val), []
        for t in self.data.tasks:
            seen = self.seen[t.name][val]
            if seen.any():
                scores.append(float((logits[t.name][seen].argmax(1) == t.labels[val][seen]).float().mean()))
        return sum(scores) / len(scores) if scores else 0.0

    def evaluate_all(self) -> dict:
        return evaluate(self, self.data, self.config.top_k)


def warmup_cosine(optimizer, warmup_steps: int, total_steps: int, min_lr_ratio: float = 0.01):
    """Linear warm-up from 1% of the learning rate, then cosine decay to ``min_lr_ratio`` of it — each
    parameter group from and to its own learning rate (the tower's smaller one included)."""
    from torch.optim.lr_scheduler import LambdaLR

    total_steps = max(1, int(total_steps))
    warmup_steps = max(0, min(int(warmup_steps), total_steps - 1))
    decay_steps = max(1, total_steps - warmup_steps)
    ratio = float(min_lr_ratio)

    def factor(step: int) -> float:
        if step < warmup_steps:
            return 0.01 + 0.99 * step / warmup_steps
        t = min(step - warmup_steps, decay_steps) / decay_steps
        return ratio + (1.0 - ratio) * 0.5 * (1.0 + math.cos(math.pi * t))

    return LambdaLR(optimizer, factor)
