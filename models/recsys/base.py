"""The recommender contract every model, sampler and metric of :mod:`artkg.models.recsys` shares.

Items are the graph's artworks by index (``KnowledgeGraph.iris['artwork']`` order); users are the
graph's ``user`` nodes by index. Everything here is plain numpy/torch — no graph, no files — so a
model can be fitted and scored in a test with a few arrays.

* :class:`TrainData` — what a model may learn from: the interactions *before* the split's cutoff,
  the frozen item features, the items' knowledge-graph context, and the purchase baskets.
* :class:`Recommender` — ``fit(train)`` then ``score(user, profile, candidates)``. ``profile`` is the
  user's items known at scoring time (a new visitor: ``user=-1``); models that need no user id
  (VisRank, CuratorNet) score any profile without retraining.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

# The graph's context relations an item tower may read (``-1``: none known).
KG_RELATIONS = ("created_by", "movement", "genre", "style")


@dataclass
class TrainData:
    """Interactions a model may learn from, aligned arrays of length ``n`` (time-ordered)."""

    n_users: int
    n_items: int
    user: np.ndarray  # int64 (n,) user index
    item: np.ndarray  # int64 (n,) artwork index
    time: np.ndarray  # float64 (n,) seconds since the epoch
    basket: np.ndarray  # int64 (n,) basket id (one purchase session); every row has one
    features: np.ndarray | None = None  # float32 (n_items, d) frozen image features (None: none)
    # KG context per item: relation → int64 (n_items,) index of the neighbour node (-1: none), and
    # the number of nodes of that relation's type (for embedding tables).
    context: dict[str, np.ndarray] = field(default_factory=dict)
    context_sizes: dict[str, int] = field(default_factory=dict)
    seed: int = 0
    # The content engines' inputs (multimodal recommenders): one metadata document per item, the items'
    # text features (n_items, d_t; None: none), which items have them, and a joint feature set.
    documents: list[str] | None = None
    text_features: np.ndarray | None = None
    text_mask: np.ndarray | None = None
    feature_mask: np.ndarray | None = None
    joint: dict | None = None

    def profiles(self) -> list[np.ndarray]:
        """Each user's distinct items in time order (first interaction), by user index."""
        order = np.lexsort((self.item, self.time, self.user))
        out: list[np.ndarray] = [np.empty(0, dtype=np.int64)] * self.n_users
        u, i = self.user[order], self.item[order]
        bounds = np.flatnonzero(np.diff(u)) + 1
        for chunk_u, chunk_i in zip(np.split(u, bounds), np.split(i, bounds)):
            if len(chunk_u):
                _, first = np.unique(chunk_i, return_index=True)
                out[int(chunk_u[0])] = chunk_i[np.sort(first)]
        return out

    def baskets(self) -> list[list[np.ndarray]]:
        """Each user's baskets in time order (a basket: its distinct items), by user index."""
        out: list[list[np.ndarray]] = [[] for _ in range(self.n_users)]
        order = np.lexsort((self.item, self.basket, self.time, self.user))
        u, b, i = self.user[order], self.basket[order], self.item[order]
        start = 0
        for end in list(np.flatnonzero((np.diff(u) != 0) | (np.diff(b) != 0)) + 1) + [len(u)]:
            if end > start:
                out[int(u[start])].append(np.unique(i[start:end]))
            start = end
        return out


class Recommender:
    """Base class: ``fit`` on :class:`TrainData`, ``score`` candidates for one user.

    Subclasses set ``kind`` (the registry name users type), ``needs_features`` (image features
    required) and ``needs_user`` (scores depend on a trained user id: BPR-MF, VBPR; a new visitor
    then falls back to what the model knows without it). ``state_dict``/``load_state_dict`` and the
    constructor kwargs (``spec``) are what a run directory stores (safetensors + JSON).
    """

    kind: str = ""
    needs_features: bool = False
    needs_user: bool = False
    # Content engines: artwork documents / artwork text features / a joint feature set are needed, and
    # ``score`` takes ``ratings`` (one 1–5 rating per profile item) — see models/recsys/content.py.
    needs_documents: bool = False
    needs_text_features: bool = False
    needs_joint: bool = False
    uses_ratings: bool = False
    default_kind: str = "purchased"  # the interactions a run trains and evaluates on unless told

    def fit(self, train: TrainData, progress: bool = False) -> "Recommender":
        raise NotImplementedError

    def score(self, user: int, profile: np.ndarray, candidates: np.ndarray) -> np.ndarray:
        """Scores (float32, higher is better) of ``candidates`` (int64 item indices) for ``user``
        (``-1``: a visitor the model was not trained on) whose known items are ``profile``."""
        raise NotImplementedError

    # Persistence: tensors and JSON only (a run directory never unpickles anything).
    def spec(self) -> dict:
        return {}

    def state_dict(self) -> dict:
        return {}

    def load_state_dict(self, state: dict) -> None:
        pass


@dataclass
class Triples:
    """Training triples: for the profile ``profile_items[profile_ptr[k]:profile_ptr[k+1]]`` of user
    ``user[k]`` (``-1``: a made-up profile tied to no user, e.g. a one-item profile), item ``pos[k]``
    should score above item ``neg[k]``. ``guideline[k]`` says which rule made the triple (0: random)."""

    user: np.ndarray  # int64 (m,)
    pos: np.ndarray  # int64 (m,)
    neg: np.ndarray  # int64 (m,)
    profile_ptr: np.ndarray  # int64 (m + 1,)
    profile_items: np.ndarray  # int64 (nnz,)
    guideline: np.ndarray  # int8 (m,)

    def __len__(self) -> int:
        return len(self.pos)

    def profile(self, k: int) -> np.ndarray:
        return self.profile_items[self.profile_ptr[k]:self.profile_ptr[k + 1]]


class TripleSampler:
    """Base class of the training-triple samplers (``sampler_resolver``): ``sample(train, rng)``."""

    kind: str = ""

    def sample(self, train: TrainData, rng: np.random.Generator) -> Triples:
        raise NotImplementedError
