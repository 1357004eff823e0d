"""The multimodal recommendation engines of "Together Yet Apart" (Yilma & Leiva, UMAP 2023), on any graph.

Every engine represents each painting by a vector and scores a candidate by the user's
**rating-weighted profile similarity**

    S_u(p_i) = (1/n) Σ_j ω_j · A_ij,     A_ij = cos(x_i, x_j),

over the ``n`` paintings ``j`` the user rated, ω_j the rating normalised to (0, 1] as
:func:`rating_weights` (``ω = r / 5``). The reference code min-max-normalises the ratings, which gives
the lowest-rated painting weight 0 and zeroes *every* weight when all ratings are equal (its own demo
input); ``r / 5`` keeps equal ratings equal and non-zero (five 3s weigh 0.6 each, a 1 still counts a
little: rating a painting at all is weak evidence of interest). Without ratings (a purchase profile)
every ω is 1. Already rated (profile) paintings are never candidates: the evaluation and ``artkg
recommend`` leave them out.

Engines (``artkg ls``; ``artkg train ENGINE GRAPH_DIR --out RUN``):

* ``image_similarity`` — the graph's image features (any encoder: EfficientNet, ResNet, a CLIP tower).
* ``lda_topics`` — LDA topic distributions of the artworks' metadata documents, the number of topics
  chosen by coherence (:mod:`.topics`).
* ``text_similarity`` — artwork text features (MiniLM by default: ``artkg features --artwork-text``).
* ``late_fusion`` — a text engine and the image engine each rank the candidates *by descending
  similarity*, fused by weighted reciprocal rank fusion, ``k = 60`` (:mod:`.fusion`); ``mode`` total
  (rank everything, then fuse) or partial (fuse each engine's top ``r``).
* ``early_fusion`` — one embedding per painting in a joint image–text space: artkg's learned space
  (``space="learned"``, with the ``gap`` knob of :mod:`.joint_space`) or a hub model's joint feature
  set (``space="joint_features"``: open_clip / CLIP / BLIP, ``artkg features --joint-encoder``).

Vectors are centred (``center=True``: the collection's mean removed) before the cosine: raw CNN
features are all positive and every cosine between them is high; centring spreads them without
changing what is near what much. LDA distributions are compared as they are (the paper's cosine).
"""
from __future__ import annotations

import logging

import numpy as np

from artkg.kg.errors import InputError
from artkg.models.recsys.base import Recommender, TrainData

log = logging.getLogger("artkg")
RATING_MIN, RATING_MAX = 1.0, 5.0


def rating_weights(ratings) -> np.ndarray:
    """ω = r / 5 for ratings on the 1–5 scale (see the module docstring); other values are an error."""
    r = np.asarray(ratings, dtype=np.float64).reshape(-1)
    bad = ~np.isfinite(r) | (r < RATING_MIN) | (r > RATING_MAX)
    if bad.any():
        raise InputError(f"rating {r[bad][0]:g} is outside 1–5", "rate each painting 1, 2, 3, 4 or 5")
    return r / RATING_MAX


def unit_rows(x: np.ndarray, mask: np.ndarray | None = None, center: bool = False) -> np.ndarray:
    """Rows L2-normalised (after removing the mean of the ``mask`` rows when ``center``); rows outside
    ``mask`` and all-zero rows stay zero."""
    x = np.asarray(x, dtype=np.float32).copy()
    mask = np.ones(len(x), bool) if mask is None else np.asarray(mask, bool)
    if center and mask.any():
        x -= x[mask].mean(0, keepdims=True)
    x[~mask] = 0.0
    norm = np.linalg.norm(x, axis=1, keepdims=True)
    return np.where(norm > 1e-12, x / np.maximum(norm, 1e-12), 0.0).astype(np.float32)


class ProfileEngine(Recommender):
    """An engine that scores by S_u over its item vectors (``items``, unit rows)."""

    uses_ratings = True
    default_kind = "rated"

    def __init__(self):
        self.items: np.ndarray | None = None
        self.report: dict = {}

    def represent(self, train: TrainData, progress: bool = False) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def fit(self, train: TrainData, progress: bool = False) -> "ProfileEngine":
        self.items = np.ascontiguousarray(self.represent(train, progress), dtype=np.float32)
        return self

    def item_vectors(self) -> np.ndarray:
        return self.items

    def user_vector(self, profile: np.ndarray, ratings=None) -> np.ndarray:
        profile = np.asarray(profile, dtype=np.int64)
        if not len(profile):
            return np.zeros(self.items.shape[1], dtype=np.float32)
        w = np.ones(len(profile)) if ratings is None else rating_weights(ratings)
        if len(w) != len(profile):
            raise InputError(f"{len(w)} ratings for {len(profile)} paintings", "give one rating per painting")
        # (1/n) Σ_j ω_j x_j: S_u(p_i) = x_i · this, i.e. (1/n) Σ_j ω_j cos(x_i, x_j) for unit rows.
        return (w[:, None] * self.items[profile]).sum(0).astype(np.float32) / len(profile)

    def score(self, user: int, profile: np.ndarray, candidates: np.ndarray, ratings=None) -> np.ndarray:
        return self.items[np.asarray(candidates, dtype=np.int64)] @ self.user_vector(profile, ratings)

    def state_dict(self) -> dict:
        import torch

        return {"items": torch.from_numpy(np.ascontiguousarray(self.items))}

    def load_state_dict(self, state: dict) -> None:
        self.items = state["items"].numpy().astype(np.float32)


class _FeatureSimilarity(ProfileEngine):
    """Cosine of a feature set of the graph (centred by default)."""

    def __init__(self, center: bool = True):
        super().__init__()
        self.center = bool(center)

    def inputs(self, train: TrainData) -> tuple[np.ndarray, np.ndarray | None]:  # pragma: no cover - abstract
        raise NotImplementedError

    def represent(self, train, progress=False):
        return unit_rows(*self.inputs(train), center=self.center)

    def spec(self) -> dict:
        return {"center": self.center}


class ImageSimilarity(_FeatureSimilarity):
    """Cosine of the graph's image features (centred)."""

    kind = "image_similarity"
    needs_features = True

    def inputs(self, train):
        return train.features, train.feature_mask


class TextSimilarity(_FeatureSimilarity):
    """Cosine of the artworks' text features (MiniLM sentence embeddings of their documents)."""

    kind = "text_similarity"
    needs_text_features = True

    def inputs(self, train):
        return train.text_features, train.text_mask


class LdaTopics(ProfileEngine):
    """Cosine of LDA topic distributions of the artworks' documents (topics chosen by coherence)."""

    kind = "lda_topics"
    needs_documents = True

    def __init__(self, n_topics: int | list[int] | None = None, max_iter: int = 20):
        super().__init__()
        self.n_topics, self.max_iter = n_topics, int(max_iter)

    def represent(self, train, progress=False):
        from artkg.kg.documents import has_text
        from artkg.models.recsys.topics import fit_topics

        docs = list(train.documents or [])
        mask = has_text(docs)
        model = fit_topics([d for d, m in zip(docs, mask) if m], self.n_topics, seed=train.seed,
                           max_iter=self.max_iter, progress=progress)
        topics = np.zeros((len(docs), model.n_topics), dtype=np.float32)
        topics[mask] = model.doc_topics
        self.report = {"lda": model.summary(n_words=8, n_topics=5)}
        return unit_rows(topics, mask, center=False)

    def spec(self) -> dict:
        return {"n_topics": self.n_topics, "max_iter": self.max_iter}


TEXT_ENGINES = {"lda_topics": LdaTopics, "text_similarity": TextSimilarity}


class LateFusion(Recommender):
    """A text engine and the image engine rank the candidates; weighted reciprocal rank fusion."""

    kind = "late_fusion"
    needs_features = True
    uses_ratings = True
    default_kind = "rated"

    def __init__(self, text: str = "lda_topics", weights: list[float] | tuple[float, float] = (1.0, 1.0),
                 k: float = 60.0, mode: str = "total", r: int = 100, n_topics: int | list[int] | None = None,
                 center: bool = True):
        from artkg.models.recsys.fusion import reciprocal_rank_fusion

        if text not in TEXT_ENGINES:
            raise InputError(f"unknown text engine {text!r}", f"choose one of {', '.join(TEXT_ENGINES)}")
        self.text, self.weights, self.k, self.mode, self.r = text, [float(w) for w in weights], float(k), mode, int(r)
        self.n_topics, self.center = n_topics, bool(center)
        reciprocal_rank_fusion([np.zeros(2), np.zeros(2)], self.weights, self.k, self.mode, self.r)  # checks options
        self.text_engine = (LdaTopics(n_topics) if text == "lda_topics" else TextSimilarity(center))
        self.image_engine = ImageSimilarity(center)
        self.needs_documents = self.text_engine.needs_documents
        self.needs_text_features = self.text_engine.needs_text_features
        self.report: dict = {}

    def fit(self, train, progress=False):
        self.text_engine.fit(train, progress)
        self.image_engine.fit(train, progress)
        self.report = dict(self.text_engine.report)
        return self

    def score(self, user, profile, candidates, ratings=None):
        from artkg.models.recsys.fusion import reciprocal_rank_fusion

        text = self.text_engine.score(user, profile, candidates, ratings)
        image = self.image_engine.score(user, profile, candidates, ratings)
        return reciprocal_rank_fusion([text, image], self.weights, self.k, self.mode,
                                      min(self.r, len(candidates)) if self.mode == "partial" else None)

    def spec(self) -> dict:
        return {"text": self.text, "weights": self.weights, "k": self.k, "mode": self.mode, "r": self.r,
                "n_topics": self.n_topics, "center": self.center}

    def state_dict(self) -> dict:
        return {"text_items": self.text_engine.state_dict()["items"],
                "image_items": self.image_engine.state_dict()["items"]}

    def load_state_dict(self, state: dict) -> None:
        self.text_engine.load_state_dict({"items": state["text_items"]})
        self.image_engine.load_state_dict({"items": state["image_items"]})


class EarlyFusion(ProfileEngine):
    """One embedding per painting in a joint image–text space (the mean of its two modalities there)."""

    kind = "early_fusion"

    def __init__(self, space: str = "learned", gap: str = "entangled", dim: int = 64, epochs: int = 40,
                 shared_head: bool | None = None, temperature: float | None = None, center: bool | None = None,
                 joint: str | None = None):
        super().__init__()
        from artkg.models.recsys.joint_space import gap_options

        if space not in ("learned", "joint_features"):
            raise InputError(f"unknown joint space {space!r}", "choose learned (artkg's own) or joint_features "
                             "(a hub model's: `artkg features --joint-encoder`)")
        gap_options(gap, shared_head, temperature, center)  # checks the options now, not after loading data
        self.space, self.gap, self.dim, self.epochs = space, gap, int(dim), int(epochs)
        self.shared_head, self.temperature, self.center, self.joint = shared_head, temperature, center, joint
        self.needs_features = self.needs_text_features = space == "learned"
        self.needs_joint = space == "joint_features"
        self.image_joint: np.ndarray | None = None
        self.text_joint: np.ndarray | None = None

    def represent(self, train, progress=False):
        from artkg.models.recsys.joint_space import JointSpace, train_joint_space

        if self.space == "learned":
            space = train_joint_space(train.features, train.text_features, train.feature_mask, train.text_mask,
                                      gap=self.gap, dim=self.dim, epochs=self.epochs, shared_head=self.shared_head,
                                      temperature=self.temperature, center=self.center, seed=train.seed,
                                      progress=progress)
            items = space.fused()
        else:  # a hub model's joint features; BLIP's image–text matching embedding is one vector already
            j = train.joint
            mask = j.get("mask")
            space = JointSpace(unit_rows(j["image"], mask), unit_rows(j["text"], mask),
                               {"space": "joint_features", "fused": j.get("fused") is not None})
            items = unit_rows(j["fused"], mask) if j.get("fused") is not None else space.fused()
        self.image_joint, self.text_joint = space.image, space.text
        self.report = {"joint": space.info, **self._gap(space)}
        return items

    def write_extras(self, folder) -> None:
        """The run directory's ``modality_gap.png``: both modalities of the joint space on one t-SNE map."""
        from pathlib import Path

        from artkg.models.recsys.gap import gap_map

        if self.image_joint is None:
            return
        both = (np.abs(self.image_joint).sum(1) > 0) & (np.abs(self.text_joint).sum(1) > 0)
        if both.sum() < 10:
            return
        gap = self.report.get("modality_gap", {})
        title = (f"early_fusion ({self.space}{', ' + self.gap if self.space == 'learned' else ''}), "
                 f"separability {gap.get('linear_separability', float('nan')):.2f}\n")
        gap_map(self.image_joint[both], self.text_joint[both], Path(folder) / "modality_gap.png", title=title)

    def _gap(self, space) -> dict:
        from artkg.models.recsys.gap import modality_gap

        both = (np.abs(space.image).sum(1) > 0) & (np.abs(space.text).sum(1) > 0)
        if both.sum() < 10:
            return {}
        return {"modality_gap": modality_gap(space.image[both], space.text[both])}

    def spec(self) -> dict:
        return {"space": self.space, "gap": self.gap, "dim": self.dim, "epochs": self.epochs,
                "shared_head": self.shared_head, "temperature": self.temperature, "center": self.center,
                "joint": self.joint}

    def state_dict(self) -> dict:
        import torch

        state = super().state_dict()
        if self.image_joint is not None:
            state.update(image_joint=torch.from_numpy(self.image_joint), text_joint=torch.from_numpy(self.text_joint))
        return state

    def load_state_dict(self, state: dict) -> None:
        super().load_state_dict(state)
        if "image_joint" in state:
            self.image_joint, self.text_joint = state["image_joint"].numpy(), state["text_joint"].numpy()


ENGINES: tuple[type[Recommender], ...] = (ImageSimilarity, LdaTopics, TextSimilarity, LateFusion, EarlyFusion)
