"""Content-based recommenders: ``visrank``, ``curatornet`` (Messina et al. 2020) and artkg's
``curatornet_kg`` (CuratorNet whose item tower also reads the artwork's knowledge-graph context).

None of them has user parameters: a user is their profile, so new visitors and never-bought items
are scored without retraining. The frozen item features (and KG context) of every item of the graph
live in the model state, so a loaded run scores any artwork index without its graph.
"""
from __future__ import annotations

import itertools

import numpy as np
import torch
from torch import Tensor, nn

from artkg.kg.errors import InputError
from artkg.models.recsys.base import KG_RELATIONS, Recommender, TrainData
from artkg.models.recsys.factorization import (TripleTensors, check_items, masked_mean, not_fitted,
                                               require_features, sample_triples, sampler_spec,
                                               split_indices, train_bpr, zscore_stats)

_CHUNK = 8192  # items per chunk when scoring (bounds the gathered feature rows in memory)


def _relation_order(names) -> list[str]:
    """KG relations in a fixed order (KG_RELATIONS first, then the rest sorted): the layout of the
    item inputs, so a state loaded with its keys in any order rebuilds the same network."""
    return [r for r in KG_RELATIONS if r in names] + sorted(set(names) - set(KG_RELATIONS))


class VisRank(Recommender):
    """Cosine similarity between a candidate's features and the profile's, pooled over the profile:
    ``max`` (the paper's), ``mean``, or ``topk_mean`` (mean of the ``k`` largest). No training;
    an empty profile scores zeros."""

    kind = "visrank"
    needs_features = True

    def __init__(self, pool: str = "max", k: int = 3):
        if pool not in ("max", "mean", "topk_mean"):
            raise InputError(f"visrank: unknown pool {pool!r}", "choose one of max, mean, topk_mean")
        if k < 1:
            raise InputError(f"visrank: k={k}", "use k ≥ 1")
        self.pool, self.k = pool, k
        self._unit: np.ndarray | None = None

    def fit(self, train: TrainData, progress: bool = False) -> VisRank:
        f = require_features(self.kind, train)
        self._unit = f / np.maximum(np.linalg.norm(f, axis=1, keepdims=True), 1e-12)
        return self

    def score(self, user: int, profile: np.ndarray, candidates: np.ndarray) -> np.ndarray:
        if self._unit is None:
            raise not_fitted(self.kind)
        n = len(self._unit)
        cand = check_items(candidates, n, "candidates")
        prof = check_items(profile, n, "profile")
        out = np.zeros(len(cand), dtype=np.float32)
        if not len(prof):
            return out
        p = self._unit[prof].T
        k = min(self.k, len(prof))
        for s in range(0, len(cand), _CHUNK):
            sims = self._unit[cand[s:s + _CHUNK]] @ p
            if self.pool == "max":
                out[s:s + _CHUNK] = sims.max(1)
            elif self.pool == "mean":
                out[s:s + _CHUNK] = sims.mean(1)
            else:
                out[s:s + _CHUNK] = np.partition(sims, len(prof) - k, axis=1)[:, len(prof) - k:].mean(1)
        return out

    def spec(self) -> dict:
        return {"pool": self.pool, "k": self.k}

    def state_dict(self) -> dict:
        if self._unit is None:
            raise not_fitted(self.kind)
        return {"features": torch.as_tensor(self._unit)}

    def load_state_dict(self, state: dict) -> None:
        self._unit = state["features"].numpy().astype(np.float32)


def _mlp(sizes: list[int]) -> nn.Sequential:
    layers: list[nn.Module] = []
    for a, b in itertools.pairwise(sizes):
        layers += [nn.Linear(a, b), nn.SELU()]
    return nn.Sequential(*layers)


class _CuratorNetModule(nn.Module):
    """Item tower Φ over the item inputs (z-scored features ⊕ KG context embeddings); user tower over
    the masked average ⊕ max pooling of the profile's item inputs. Inputs live in buffers."""

    def __init__(self, features: Tensor | None, context: dict[str, Tensor], context_sizes: dict[str, int],
                 embed_dim: int, item_layers: list[int], user_layers: list[int]):
        super().__init__()
        self.has_features = features is not None
        n_items = features.shape[0] if features is not None else next(iter(context.values())).shape[0]
        if features is not None:
            self.register_buffer("features", features)
        self.relations = list(context)
        for r in self.relations:  # index -1 (unknown) → row 0
            self.register_buffer(f"context_{r}", context[r] + 1)
        self.embed = nn.ModuleDict({r: nn.Embedding(context_sizes[r] + 1, embed_dim) for r in self.relations})
        for emb in self.embed.values():
            nn.init.normal_(emb.weight, std=1.0)
        d_in = (features.shape[1] if features is not None else 0) + embed_dim * len(self.relations)
        self.n_items, self.d_in = n_items, d_in
        self.item_tower = _mlp([d_in, *item_layers])
        self.user_tower = _mlp([2 * d_in, *user_layers])

    def inputs(self, items: Tensor) -> Tensor:
        parts = [self.features[items]] if self.has_features else []
        parts += [self.embed[r](getattr(self, f"context_{r}")[items]) for r in self.relations]
        return torch.cat(parts, -1) if len(parts) > 1 else parts[0]

    def items(self, items: Tensor) -> Tensor:
        return self.item_tower(self.inputs(items))

    def users(self, profile: Tensor, mask: Tensor) -> Tensor:
        x = self.inputs(profile)
        mean = masked_mean(x, mask)
        mx = x.masked_fill(~mask.unsqueeze(-1), float("-inf")).max(1).values
        mx = torch.where(mask.any(1, keepdim=True), mx, torch.zeros_like(mx))
        return self.user_tower(torch.cat([mean, mx], -1))


class CuratorNet(Recommender):
    """CuratorNet (Messina et al. 2020): score = Φ_user(P_u) · Φ_item(i).

    Frozen image features (with ``pca``: first projected on that many principal components of the
    training works' features) z-scored by training statistics; item tower Linear-SELU ``item_layers``
    (200, 200); user tower: the profile's z-scored features masked average- and max-pooled,
    concatenated (2d), then Linear-SELU ``user_layers`` (300, 200, 200). Loss −log σ(x_ui − x_uj) on
    the sampler's triples plus ``l2`` × Σ‖non-bias weights‖²; Adam (``lr``) with the rate halved on
    plateaus of the loss on a seeded held-out ``val_fraction`` of the triples. An empty profile pools
    to zeros (the same user vector for every empty profile).
    """

    kind = "curatornet"
    needs_features = True
    uses_context = False

    def __init__(self, item_layers: list[int] = (200, 200), user_layers: list[int] = (300, 200, 200),
                 l2: float = 1e-4, lr: float = 1e-3, epochs: int = 10, batch_size: int = 256,
                 val_fraction: float = 0.05, sampler: str = "guidelines", sampler_kwargs: dict | None = None,
                 patience: int | None = 3, pca: int | None = None):
        item_layers, user_layers = [int(x) for x in item_layers], [int(x) for x in user_layers]
        if not item_layers or not user_layers or item_layers[-1] != user_layers[-1] or min(item_layers + user_layers) < 1:
            raise InputError(f"{self.kind}: item_layers {item_layers} and user_layers {user_layers} must be "
                             "non-empty positive sizes ending in the same width",
                             "e.g. item_layers=(200, 200), user_layers=(300, 200, 200)")
        if l2 < 0 or lr <= 0 or epochs < 0 or batch_size < 1 or not 0 <= val_fraction < 1:
            raise InputError(f"{self.kind}: bad hyper-parameters (l2={l2}, lr={lr}, epochs={epochs}, "
                             f"batch_size={batch_size}, val_fraction={val_fraction})",
                             "use l2 ≥ 0, lr > 0, epochs ≥ 0, batch_size ≥ 1, 0 ≤ val_fraction < 1")
        self.item_layers, self.user_layers = item_layers, user_layers
        self.l2, self.lr, self.epochs, self.batch_size, self.val_fraction = l2, lr, epochs, batch_size, val_fraction
        if patience is not None and patience < 1:
            raise InputError(f"{self.kind}: patience={patience}", "use patience ≥ 1, or None to train every epoch")
        self.patience = patience
        if pca is not None and pca < 1:
            raise InputError(f"{self.kind}: pca={pca}", "use pca ≥ 1 (components kept), or None for the raw features")
        self.pca = pca
        self.sampler, self.sampler_kwargs = sampler, sampler_kwargs
        self.net: _CuratorNetModule | None = None
        self.history_: dict[str, list[float]] = {}
        self._item_cache: Tensor | None = None
        self._stats: tuple[Tensor, Tensor] | None = None

    def spec(self) -> dict:
        return {"item_layers": self.item_layers, "user_layers": self.user_layers, "l2": self.l2,
                "lr": self.lr, "epochs": self.epochs, "batch_size": self.batch_size,
                "val_fraction": self.val_fraction, "patience": self.patience, "pca": self.pca,
                "sampler": sampler_spec(self.sampler),
                "sampler_kwargs": self.sampler_kwargs}

    # -- inputs (CuratorNetKG extends)
    def _inputs(self, train: TrainData) -> tuple[Tensor | None, dict[str, Tensor], dict[str, int]]:
        f = require_features(self.kind, train)
        if self.pca:  # project on the leading principal components of the training works' features
            base = f[np.unique(np.asarray(train.item))].astype(np.float64)
            centre = base.mean(0)
            _, _, vt = np.linalg.svd(base - centre, full_matrices=False)
            f = ((f - centre) @ vt[:min(self.pca, len(vt))].T).astype(np.float32)
        mean, std = zscore_stats(f, np.asarray(train.item))
        self._stats = (torch.as_tensor(mean), torch.as_tensor(std))
        return torch.as_tensor((f - mean) / std), {}, {}

    def _embed_dim(self) -> int:
        return 0

    def _build(self, features, context, context_sizes) -> _CuratorNetModule:
        return _CuratorNetModule(features, context, context_sizes, self._embed_dim(), self.item_layers,
                                 self.user_layers)

    def fit(self, train: TrainData, progress: bool = False) -> CuratorNet:
        features, context, sizes = self._inputs(train)
        triples = sample_triples(self.sampler, self.sampler_kwargs, train, self.kind)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(train.seed)
            self.net = self._build(features, context, sizes)
        self._item_cache = None
        tt = TripleTensors(triples)
        train_idx, val_idx = split_indices(len(tt), self.val_fraction, np.random.default_rng(train.seed + 1))
        net = self.net
        weights = [p for name, p in net.named_parameters() if not name.endswith("bias")]

        def diff(idx: Tensor) -> Tensor:
            prof, mask = tt.profiles(idx)
            u = net.users(prof, mask)
            both = net.items(torch.stack([tt.pos[idx], tt.neg[idx]]))
            return (u * (both[0] - both[1])).sum(-1)

        def reg(idx: Tensor) -> Tensor:
            return self.l2 * sum(w.pow(2).sum() for w in weights) if self.l2 else torch.zeros(())

        gen = torch.Generator().manual_seed(train.seed)
        net.train()
        self.history_ = train_bpr(diff, reg, list(net.parameters()), train_idx, val_idx, epochs=self.epochs,
                                  batch_size=self.batch_size, lr=self.lr, generator=gen, progress=progress,
                                  desc=self.kind, plateau=True, patience=self.patience)
        net.eval()
        return self

    def _all_items(self) -> Tensor:
        """Φ_item of every item of the graph, computed once per fit/load."""
        if self._item_cache is None:
            with torch.no_grad():
                self._item_cache = torch.cat([self.net.items(torch.arange(s, min(s + _CHUNK, self.net.n_items)))
                                              for s in range(0, self.net.n_items, _CHUNK)])
        return self._item_cache

    def item_vectors(self) -> np.ndarray:
        """Φ_item of every item of the graph ``(n_items, d)``: scores are ``item_vectors() @ user_vector(P)``
        (what a FAISS inner-product index serves, :func:`artkg.retrieval.recommend.top_k`)."""
        if self.net is None:
            raise not_fitted(self.kind)
        return self._all_items().numpy()

    def user_vector(self, profile: np.ndarray) -> Tensor:
        """Φ_user of one profile (item indices)."""
        prof = torch.as_tensor(check_items(profile, self.net.n_items, "profile"))
        mask = torch.ones(1, len(prof), dtype=torch.bool)
        if not len(prof):  # one padded slot: pools to zeros
            prof, mask = torch.zeros(1, dtype=torch.long), torch.zeros(1, 1, dtype=torch.bool)
        with torch.no_grad():
            return self.net.users(prof[None], mask)[0]

    def score(self, user: int, profile: np.ndarray, candidates: np.ndarray) -> np.ndarray:
        if self.net is None:
            raise not_fitted(self.kind)
        cand = torch.as_tensor(check_items(candidates, self.net.n_items, "candidates"))
        u = self.user_vector(profile)
        items = self._all_items()
        if len(cand) * 4 > len(items):  # most of the catalogue: one product, no gathered copy
            return (items @ u)[cand].numpy().astype(np.float32)
        return (items[cand] @ u).numpy().astype(np.float32)

    def state_dict(self) -> dict:
        if self.net is None:
            raise not_fitted(self.kind)
        state = {k: v.detach().clone() for k, v in self.net.state_dict().items()}
        if self.net.has_features:
            state["feature_mean"], state["feature_std"] = self._stats
        return state

    def load_state_dict(self, state: dict) -> None:
        state = dict(state)
        if "feature_mean" in state:
            self._stats = (state.pop("feature_mean"), state.pop("feature_std"))
        prefix = "context_"
        found = {k[len(prefix):]: v - 1 for k, v in state.items() if k.startswith(prefix)}
        context = {r: found[r] for r in _relation_order(found)}
        sizes = {r: state[f"embed.{r}.weight"].shape[0] - 1 for r in context}
        self.net = self._build(state.get("features"), context, sizes)
        self.net.load_state_dict(state)
        self.net.eval()
        self._item_cache = None


class CuratorNetKG(CuratorNet):
    """CuratorNet whose item inputs are the z-scored image features ⊕ learned embeddings (``embed_dim``)
    of the artwork's KG neighbours per relation of ``train.context`` (created_by, movement, genre,
    style; an unknown neighbour has its own learned row). Both towers read these inputs, so a taste for
    an artist transfers to the artist's never-bought works. Works without image features (context only).
    """

    kind = "curatornet_kg"
    needs_features = False
    uses_context = True

    def __init__(self, embed_dim: int = 32, item_layers: list[int] = (200, 200),
                 user_layers: list[int] = (300, 200, 200), l2: float = 1e-4, lr: float = 1e-3, epochs: int = 10,
                 batch_size: int = 256, val_fraction: float = 0.05, sampler: str = "guidelines",
                 sampler_kwargs: dict | None = None, patience: int | None = 3, pca: int | None = None):
        super().__init__(item_layers=item_layers, user_layers=user_layers, l2=l2, lr=lr, epochs=epochs,
                         batch_size=batch_size, val_fraction=val_fraction, sampler=sampler,
                         sampler_kwargs=sampler_kwargs, patience=patience, pca=pca)
        if embed_dim < 1:
            raise InputError(f"curatornet_kg: embed_dim={embed_dim}", "use embed_dim ≥ 1")
        self.embed_dim = embed_dim

    def spec(self) -> dict:
        return {**super().spec(), "embed_dim": self.embed_dim}

    def _embed_dim(self) -> int:
        return self.embed_dim

    def _inputs(self, train: TrainData):
        features = None
        if train.features is not None:
            features = super()._inputs(train)[0]
        rels = _relation_order(train.context)
        if features is None and not rels:
            raise InputError("curatornet_kg needs image features or KG context (artist, movement, …) "
                             "but the training data has neither",
                             "run `artkg features GRAPH_DIR` first, or train on a graph with artists")
        context, sizes = {}, {}
        for r in rels:
            ctx = np.asarray(train.context[r], dtype=np.int64)
            size = int(train.context_sizes.get(r, ctx.max() + 1 if len(ctx) else 0))
            if ctx.shape != (train.n_items,) or (len(ctx) and (ctx.min() < -1 or ctx.max() >= size)):
                raise InputError(f"curatornet_kg: context {r!r} must hold {train.n_items} indices in "
                                 f"-1..{size - 1}", "rebuild the training data from the graph")
            context[r], sizes[r] = torch.as_tensor(ctx), size
        return features, context, sizes
