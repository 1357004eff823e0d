"""Baselines and factorisation models: ``random``, ``popularity``, ``bpr_mf``, ``vbpr``.

Also the helpers the trainable recommenders share (:mod:`artkg.models.recsys.visual` uses them):
feature checks and z-scoring, sampler resolution, per-batch profile padding and one BPR training loop.

New visitors (``user=-1``) and users without training interactions are *folded in* by their profile:
BPR-MF's user factor is the mean of the profile items' factors γ_i; VBPR's γ likewise and its visual
user factor θ is the mean of the profile items' visual factors E·f_i (an empty profile: zeros, i.e.
item biases alone).
"""
from __future__ import annotations

import sys

import numpy as np
import torch
from torch import Tensor, nn

from artkg.kg.errors import InputError
from artkg.models.recsys.base import Recommender, TrainData, Triples, TripleSampler

# ----------------------------------------------------------------------------------------------
# Shared helpers


def require_features(kind: str, train: TrainData) -> np.ndarray:
    """The train's image features as float32 (n_items, d); an InputError when there are none."""
    if train.features is None:
        raise InputError(f"{kind} needs image features but the training data has none",
                         "run `artkg features GRAPH_DIR` first")
    f = np.asarray(train.features, dtype=np.float32)
    if f.ndim != 2 or f.shape[0] != train.n_items:
        raise InputError(f"{kind}: features have shape {f.shape}, expected ({train.n_items}, d)",
                         "recompute them with `artkg features GRAPH_DIR`")
    return f


def zscore_stats(features: np.ndarray, items: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and std (clamped at 1e-6) of ``features`` over the distinct training ``items``
    (all items when fewer than two were interacted with)."""
    seen = np.unique(items)
    ref = features[seen] if len(seen) >= 2 else features
    return ref.mean(0).astype(np.float32), np.maximum(ref.std(0), 1e-6).astype(np.float32)


def check_items(items, n_items: int, what: str) -> np.ndarray:
    """``items`` as int64; an InputError naming ``what`` when an index is outside [0, n_items)."""
    arr = np.asarray(items, dtype=np.int64).reshape(-1)
    if len(arr) and (arr.min() < 0 or arr.max() >= n_items):
        bad = arr[(arr < 0) | (arr >= n_items)][:3].tolist()
        raise InputError(f"{what} holds item indices {bad} outside 0..{n_items - 1}",
                         "pass artwork indices of the graph the model was trained on")
    return arr


def not_fitted(kind: str) -> InputError:
    return InputError(f"the {kind} recommender is not fitted", "call fit(train) or load a run first")


def resolve_sampler(sampler, sampler_kwargs: dict | None) -> TripleSampler:
    """A :class:`TripleSampler` instance as is, else ``sampler_resolver.make(sampler, sampler_kwargs)``."""
    if isinstance(sampler, TripleSampler):
        return sampler
    from artkg.models.recsys.sampling import sampler_resolver

    return sampler_resolver.make(sampler, sampler_kwargs)


def sampler_spec(sampler) -> str:
    return sampler if isinstance(sampler, str) else (getattr(sampler, "kind", "") or type(sampler).__name__)


def sample_triples(sampler, sampler_kwargs, train: TrainData, kind: str) -> Triples:
    triples = resolve_sampler(sampler, sampler_kwargs).sample(train, np.random.default_rng(train.seed))
    if len(triples) == 0:
        raise InputError(f"{kind}: the sampler made no training triples",
                         "train on a split with interactions (at least one user with two items)")
    return triples


class TripleTensors:
    """A :class:`Triples` set as torch tensors, with per-batch padded profiles."""

    def __init__(self, t: Triples):
        self.user = torch.as_tensor(np.asarray(t.user, dtype=np.int64))
        self.pos = torch.as_tensor(np.asarray(t.pos, dtype=np.int64))
        self.neg = torch.as_tensor(np.asarray(t.neg, dtype=np.int64))
        self.ptr = torch.as_tensor(np.asarray(t.profile_ptr, dtype=np.int64))
        # A sentinel at the end, so padding positions index something even when every profile is empty.
        self.items = torch.as_tensor(np.append(np.asarray(t.profile_items, dtype=np.int64), 0))

    def __len__(self) -> int:
        return len(self.pos)

    def profiles(self, idx: Tensor) -> tuple[Tensor, Tensor]:
        """Padded profiles of triples ``idx``: item indices (B, L) (0 where padded) and mask (B, L)."""
        start = self.ptr[idx]
        length = self.ptr[idx + 1] - start
        width = max(int(length.max()) if len(idx) else 0, 1)
        ar = torch.arange(width)
        mask = ar < length[:, None]
        at = torch.minimum(start[:, None] + ar, torch.tensor(len(self.items) - 1))
        return self.items[at].masked_fill(~mask, 0), mask


def masked_mean(x: Tensor, mask: Tensor) -> Tensor:
    """Mean of ``x`` (B, L, k) over the True positions of ``mask`` (B, L); zeros for empty rows."""
    m = mask.unsqueeze(-1).to(x.dtype)
    return (x * m).sum(1) / m.sum(1).clamp(min=1.0)


def split_indices(m: int, val_fraction: float, rng: np.random.Generator) -> tuple[Tensor, Tensor]:
    """Seeded train/validation split of ``m`` triples (no validation when it would be empty)."""
    n_val = round(m * val_fraction) if m >= 20 else 0
    perm = torch.as_tensor(rng.permutation(m))
    return perm[n_val:].sort().values, perm[:n_val].sort().values


def train_bpr(diff, reg, params, train_idx: Tensor, val_idx: Tensor, *, epochs: int, batch_size: int,
              lr: float, generator: torch.Generator, progress: bool, desc: str,
              plateau: bool = False, patience: int | None = None) -> dict[str, list[float]]:
    """Minimise −log σ(diff(idx)) + reg(idx) over shuffled batches of ``train_idx`` with Adam.

    ``diff(idx)`` gives x_ui − x_uj of triples ``idx``; ``reg(idx)`` the L2 term. With ``plateau``,
    the learning rate is halved by ReduceLROnPlateau on the validation loss (the train loss when
    ``val_idx`` is empty). With ``patience`` and a validation set, training stops once the validation
    loss has not improved for ``patience`` epochs and the parameters of the best epoch are restored
    (``history["best_epoch"]``). Returns per-epoch ``train_loss`` (data term), ``val_loss`` and ``lr``.
    """
    from tqdm.auto import tqdm

    opt = torch.optim.Adam(params, lr=lr)
    sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, factor=0.5, patience=2) if plateau else None
    history: dict[str, list[float]] = {"train_loss": [], "val_loss": [], "lr": []}
    n = len(train_idx)
    bar = tqdm(range(epochs), desc=desc, unit="epoch", file=sys.stderr, disable=not progress)
    best, best_state, since = float("inf"), None, 0
    for epoch in bar:
        perm = train_idx[torch.randperm(n, generator=generator)]
        total = torch.zeros(())
        for start in range(0, n, batch_size):
            idx = perm[start:start + batch_size]
            data = nn.functional.softplus(-diff(idx)).mean()
            loss = data + reg(idx)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += data.detach() * len(idx)
        history["train_loss"].append(float(total) / max(n, 1))
        if len(val_idx):
            with torch.no_grad():
                v = sum(float(nn.functional.softplus(-diff(val_idx[s:s + 4 * batch_size])).sum())
                        for s in range(0, len(val_idx), 4 * batch_size)) / len(val_idx)
            history["val_loss"].append(v)
        if sched is not None:
            sched.step(history["val_loss"][-1] if len(val_idx) else history["train_loss"][-1])
        history["lr"].append(opt.param_groups[0]["lr"])
        bar.set_postfix(loss=f"{history['train_loss'][-1]:.4f}")
        if patience is not None and len(val_idx):
            if history["val_loss"][-1] < best:
                best, since = history["val_loss"][-1], 0
                best_state = [p.detach().clone() for p in params]
                history["best_epoch"] = [epoch]
            else:
                since += 1
                if since >= patience:
                    break
    if best_state is not None:
        with torch.no_grad():
            for p, b in zip(params, best_state):
                p.copy_(b)
    return history


def _mix64(x: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser on uint64 arrays (wrapping arithmetic)."""
    x = x + np.uint64(0x9E3779B97F4A7C15)
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


# ----------------------------------------------------------------------------------------------
# Baselines


class RandomRecommender(Recommender):
    """Uniform scores in [0, 1) hashed from (seed, user, item): random, yet the same for the same
    (user, candidates) in any order or batch. ``seed=None``: the training data's seed."""

    kind = "random"

    def __init__(self, seed: int | None = None):
        self.seed = seed
        self._seed: int | None = seed

    def fit(self, train: TrainData, progress: bool = False) -> RandomRecommender:
        self._seed = int(train.seed if self.seed is None else self.seed)
        return self

    def score(self, user: int, profile: np.ndarray, candidates: np.ndarray) -> np.ndarray:
        cand = np.asarray(candidates, dtype=np.int64).reshape(-1)
        with np.errstate(over="ignore"):
            key = _mix64(_mix64(np.full(1, self._seed or 0, dtype=np.int64).astype(np.uint64))
                         ^ np.full(1, int(user) + 1, dtype=np.int64).astype(np.uint64))
            h = _mix64(key ^ cand.astype(np.uint64))
        return ((h >> np.uint64(40)).astype(np.float64) / float(1 << 24)).astype(np.float32)

    def spec(self) -> dict:
        return {"seed": self.seed}

    def state_dict(self) -> dict:
        return {"seed": torch.tensor([self._seed or 0], dtype=torch.int64)}

    def load_state_dict(self, state: dict) -> None:
        self._seed = int(state["seed"][0])


class PopularityRecommender(Recommender):
    """Items by their number of training interactions; ties broken by item index (lower first).

    Scores are strict ranks (n_items − rank, float32-exact below 2^24 items), so every tie is broken;
    the raw counts are kept in ``counts_``."""

    kind = "popularity"

    def __init__(self):
        self.counts_: np.ndarray | None = None
        self._rank_score: np.ndarray | None = None

    def fit(self, train: TrainData, progress: bool = False) -> PopularityRecommender:
        self._set(np.bincount(np.asarray(train.item, dtype=np.int64), minlength=train.n_items))
        return self

    def _set(self, counts: np.ndarray) -> None:
        self.counts_ = counts.astype(np.int64)
        order = np.lexsort((np.arange(len(counts)), -self.counts_))
        score = np.empty(len(counts), dtype=np.float32)
        score[order] = np.arange(len(counts), 0, -1, dtype=np.float32)
        self._rank_score = score

    def score(self, user: int, profile: np.ndarray, candidates: np.ndarray) -> np.ndarray:
        if self._rank_score is None:
            raise not_fitted(self.kind)
        return self._rank_score[check_items(candidates, len(self._rank_score), "candidates")]

    def state_dict(self) -> dict:
        return {"counts": torch.as_tensor(self.counts_)}

    def load_state_dict(self, state: dict) -> None:
        self._set(state["counts"].numpy())


# ----------------------------------------------------------------------------------------------
# BPR-MF and VBPR


class BPRMF(Recommender):
    """BPR matrix factorisation: x_ui = β_i + γ_u·γ_i, loss −log σ(x_ui − x_uj) + λ‖params of the
    batch‖², Adam. Users unseen in training (and ``user=-1``) get γ_u = mean of γ_i over their profile;
    so do the made-up profiles (user −1) of the training triples."""

    kind = "bpr_mf"
    needs_user = True

    def __init__(self, factors: int = 32, l2: float = 1e-4, lr: float = 1e-2, epochs: int = 30,
                 batch_size: int = 1024, sampler: str = "random", sampler_kwargs: dict | None = None):
        if l2 < 0 or factors < 1 or epochs < 0 or batch_size < 1 or lr <= 0:
            raise InputError(f"{self.kind}: bad hyper-parameters (factors={factors}, l2={l2}, lr={lr}, "
                             f"epochs={epochs}, batch_size={batch_size})",
                             "use factors ≥ 1, l2 ≥ 0, lr > 0, epochs ≥ 0, batch_size ≥ 1")
        self.factors, self.l2, self.lr, self.epochs, self.batch_size = factors, l2, lr, epochs, batch_size
        self.sampler, self.sampler_kwargs = sampler, sampler_kwargs
        self.net: nn.Module | None = None
        self.history_: dict[str, list[float]] = {}
        self._cache: tuple | None = None

    def spec(self) -> dict:
        return {"factors": self.factors, "l2": self.l2, "lr": self.lr, "epochs": self.epochs,
                "batch_size": self.batch_size, "sampler": sampler_spec(self.sampler),
                "sampler_kwargs": self.sampler_kwargs}

    # -- the parts VBPR extends
    def _build(self, n_users: int, n_items: int, features: np.ndarray | None) -> nn.Module:
        net = nn.Module()
        net.user_f = nn.Parameter(torch.randn(n_users, self.factors) * 0.1)
        net.item_f = nn.Parameter(torch.randn(n_items, self.factors) * 0.1)
        net.item_b = nn.Parameter(torch.zeros(n_items))
        net.register_buffer("user_seen", torch.zeros(n_users, dtype=torch.bool))
        return net

    def _item_parts(self, items: Tensor) -> tuple[Tensor, Tensor]:
        """(bias (…,), latent item vector (…, k)) — the user vector is dotted with the latter."""
        return self.net.item_b[items], self.net.item_f[items]

    def _user_vec(self, users: Tensor) -> Tensor:
        return self.net.user_f[users.clamp(min=0)]

    def _fit_features(self, train: TrainData) -> np.ndarray | None:
        return None

    def _sampler_kwargs(self) -> dict | None:
        return self.sampler_kwargs

    def _extra_reg(self) -> Tensor:
        return torch.zeros(())

    # -- training and scoring
    def fit(self, train: TrainData, progress: bool = False) -> BPRMF:
        features = self._fit_features(train)
        triples = sample_triples(self.sampler, self._sampler_kwargs(), train, self.kind)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(train.seed)
            self.net = self._build(train.n_users, train.n_items, features)
        self.net.user_seen[torch.as_tensor(np.unique(train.user))] = True
        self._cache = None
        tt = TripleTensors(triples)
        folded = bool((tt.user < 0).any())

        def users_of(idx: Tensor) -> Tensor:
            u = tt.user[idx]
            vec = self._user_vec(u)
            if folded and bool((u < 0).any()):
                rows = torch.nonzero(u < 0).squeeze(1)
                prof, mask = tt.profiles(idx[rows])
                vec = vec.index_copy(0, rows, masked_mean(self._item_parts(prof)[1], mask))
            return vec

        def diff(idx: Tensor) -> Tensor:
            vec = users_of(idx)
            bi, qi = self._item_parts(tt.pos[idx])
            bj, qj = self._item_parts(tt.neg[idx])
            return bi - bj + (vec * (qi - qj)).sum(-1)

        def reg(idx: Tensor) -> Tensor:
            if self.l2 == 0:
                return torch.zeros(())
            u, i, j = tt.user[idx], tt.pos[idx], tt.neg[idx]
            own = self._user_vec(u)[u >= 0]
            n = self.net
            sq = (own.pow(2).sum() + n.item_f[i].pow(2).sum() + n.item_f[j].pow(2).sum()
                  + n.item_b[i].pow(2).sum() + n.item_b[j].pow(2).sum()) / len(idx)
            return self.l2 * (sq + self._extra_reg())

        gen = torch.Generator().manual_seed(train.seed)
        self.history_ = train_bpr(diff, reg, list(self.net.parameters()), torch.arange(len(tt)),
                                  torch.empty(0, dtype=torch.long), epochs=self.epochs,
                                  batch_size=self.batch_size, lr=self.lr, generator=gen,
                                  progress=progress, desc=self.kind)
        return self

    def _all_items(self) -> tuple[Tensor, Tensor]:
        if self._cache is None:
            with torch.no_grad():
                self._cache = self._item_parts(torch.arange(self.net.item_b.shape[0]))
        return self._cache

    def score(self, user: int, profile: np.ndarray, candidates: np.ndarray) -> np.ndarray:
        if self.net is None:
            raise not_fitted(self.kind)
        n_users, n_items = self.net.user_seen.shape[0], self.net.item_b.shape[0]
        user = int(user)
        if user < -1 or user >= n_users:
            raise InputError(f"user index {user} is outside -1..{n_users - 1}",
                             "pass a user of the training graph, or -1 for a new visitor")
        cand = torch.as_tensor(check_items(candidates, n_items, "candidates"))
        prof = torch.as_tensor(check_items(profile, n_items, "profile"))
        bias, vecs = self._all_items()
        with torch.no_grad():
            if user >= 0 and bool(self.net.user_seen[user]):
                u = self._user_vec(torch.tensor([user]))[0]
            else:
                u = vecs[prof].mean(0) if len(prof) else torch.zeros(vecs.shape[1])
            return (bias[cand] + vecs[cand] @ u).numpy().astype(np.float32)

    def state_dict(self) -> dict:
        if self.net is None:
            raise not_fitted(self.kind)
        return {k: v.detach().clone() for k, v in self.net.state_dict().items()}

    def load_state_dict(self, state: dict) -> None:
        n_users, n_items = state["user_seen"].shape[0], state["item_b"].shape[0]
        feats = state.get("features")
        self._stats = None
        self.net = self._build(n_users, n_items, None if feats is None else feats.numpy())
        self.net.load_state_dict(state)
        self._cache = None


class VBPR(BPRMF):
    """VBPR (He & McAuley 2016): x_ui = β_i + γ_u·γ_i + θ_u·(E f_i) + β′·f_i with f_i the frozen
    image features z-scored by training statistics; BPR loss, L2 λ (``l2``; the paper's grid is
    {0, 1e-4, 1e-3, 1e-2}), Adam. Default triples: the sampling guidelines without sessions
    (``sampling.VBPR_GUIDELINES``). Fold-in for new visitors: γ and θ from the profile average."""

    kind = "vbpr"
    needs_features = True

    def __init__(self, factors: int = 32, visual_factors: int = 32, l2: float = 1e-4, lr: float = 5e-3,
                 epochs: int = 30, batch_size: int = 1024, sampler: str = "guidelines",
                 sampler_kwargs: dict | None = None):
        super().__init__(factors=factors, l2=l2, lr=lr, epochs=epochs, batch_size=batch_size,
                         sampler=sampler, sampler_kwargs=sampler_kwargs)
        if visual_factors < 1:
            raise InputError(f"vbpr: visual_factors={visual_factors}", "use visual_factors ≥ 1")
        self.visual_factors = visual_factors
        self._stats: tuple[np.ndarray, np.ndarray] | None = None

    def spec(self) -> dict:
        return {**super().spec(), "visual_factors": self.visual_factors}

    def _sampler_kwargs(self) -> dict | None:
        if self.sampler_kwargs is None and self.sampler == "guidelines":
            from artkg.models.recsys.sampling import VBPR_GUIDELINES

            return {"guidelines": VBPR_GUIDELINES}
        return self.sampler_kwargs

    def _fit_features(self, train: TrainData) -> np.ndarray:
        f = require_features(self.kind, train)
        mean, std = zscore_stats(f, np.asarray(train.item))
        self._stats = (mean, std)
        return (f - mean) / std

    def _build(self, n_users: int, n_items: int, features: np.ndarray | None) -> nn.Module:
        net = super()._build(n_users, n_items, None)
        d = features.shape[1]
        net.user_v = nn.Parameter(torch.randn(n_users, self.visual_factors) * 0.1)
        net.E = nn.Parameter(torch.randn(d, self.visual_factors) / d ** 0.5)
        net.beta_v = nn.Parameter(torch.zeros(d))
        net.register_buffer("features", torch.as_tensor(features, dtype=torch.float32))
        stats = self._stats
        net.register_buffer("feature_mean", torch.as_tensor(stats[0]) if stats else torch.zeros(d))
        net.register_buffer("feature_std", torch.as_tensor(stats[1]) if stats else torch.ones(d))
        return net

    def _item_parts(self, items: Tensor) -> tuple[Tensor, Tensor]:
        f = self.net.features[items]
        bias = self.net.item_b[items] + f @ self.net.beta_v
        return bias, torch.cat([self.net.item_f[items], f @ self.net.E], -1)

    def _user_vec(self, users: Tensor) -> Tensor:
        u = users.clamp(min=0)
        return torch.cat([self.net.user_f[u], self.net.user_v[u]], -1)

    def _extra_reg(self) -> Tensor:
        return self.net.E.pow(2).sum() + self.net.beta_v.pow(2).sum()
