"""LDA topics of artwork documents, the number of topics chosen by topic coherence: :func:`fit_topics`.

The text model of late fusion in "Together Yet Apart" (Yilma & Leiva, UMAP 2023) is an LDA topic
model of the paintings' descriptions. Here the documents are the graph's metadata documents
(:func:`artkg.kg.documents.artwork_documents`), the model is scikit-learn's
:class:`~sklearn.decomposition.LatentDirichletAllocation` (batch variational Bayes, seeded: the same
documents give the same topics) over a bag of words (English stop words out, words of 3+ letters,
in at least ``min_df`` documents and at most ``max_df`` of them; the documents' headings —
"Depicts", "Genre", "Movement", "Style", "Material" — are stop words too).

The number of topics is the candidate with the highest **topic coherence** — the mean NPMI of the
top ``coherence_top`` words of each topic, pairs counted by co-occurrence in the same document of the
corpus (the "C_NPMI" of Röder et al. 2015 with the document as the window; Bouma 2009 for NPMI;
−1 for a pair never seen together). It is computed here from the sparse document–word matrix
rather than with gensim, which would pin scipy and numpy below what artkg needs; the definition is
the standard one and tested on hand cases.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from artkg.kg.errors import InputError

log = logging.getLogger("artkg")
TOPIC_CANDIDATES = (5, 10, 15, 20, 30)
TOKEN_PATTERN = r"(?u)\b[^\W\d_]{3,}\b"  # words of three or more letters (no digits)


@dataclass
class TopicModel:
    """A fitted topic model: ``doc_topics`` (n_docs × n_topics, rows sum to 1) of the fitted
    documents, the ``vocabulary``, the ``topic_words`` matrix (n_topics × vocabulary, rows sum to 1)
    and the coherence of each candidate number of topics that was tried."""

    n_topics: int
    vocabulary: list[str]
    topic_words: np.ndarray
    doc_topics: np.ndarray
    coherence: float
    tried: dict[int, float] = field(default_factory=dict)
    seconds: float = 0.0

    def top_words(self, n: int = 10) -> list[list[str]]:
        """The ``n`` most probable words of each topic."""
        order = np.argsort(-self.topic_words, axis=1, kind="stable")[:, :n]
        return [[self.vocabulary[j] for j in row] for row in order]

    def summary(self, n_words: int = 8, n_topics: int | None = None) -> dict:
        return {"n_topics": self.n_topics, "coherence": round(self.coherence, 4),
                "tried": {str(k): round(v, 4) for k, v in self.tried.items()},
                "vocabulary": len(self.vocabulary), "seconds": round(self.seconds, 2),
                "top_words": self.top_words(n_words)[:n_topics]}


def npmi_coherence(counts, topic_words: np.ndarray, top: int = 10, eps: float = 1e-12) -> np.ndarray:
    """Per topic, the mean NPMI over pairs of its ``top`` words; ``counts`` is the (sparse or dense)
    document–word count matrix the probabilities are estimated from (document co-occurrence)."""
    import scipy.sparse as sp

    present = sp.csr_matrix(counts, dtype=np.float64)
    present.data[:] = 1.0
    n_docs = present.shape[0]
    out = np.zeros(len(topic_words))
    for t, row in enumerate(topic_words):
        words = np.argsort(-row, kind="stable")[:top]
        sub = present[:, words]
        p_i = np.asarray(sub.sum(axis=0)).ravel() / n_docs
        p_ij = (sub.T @ sub).toarray() / n_docs
        iu = np.triu_indices(len(words), 1)
        joint, pi, pj = p_ij[iu], p_i[iu[0]], p_i[iu[1]]
        with np.errstate(divide="ignore", invalid="ignore"):
            pmi = np.log(joint / (pi * pj))
            npmi = pmi / -np.log(joint)
        npmi = np.where(joint <= 0, -1.0, npmi)
        npmi = np.where(joint >= 1.0 - eps, 1.0, npmi)  # a pair in every document: perfectly associated
        out[t] = float(np.mean(npmi)) if len(npmi) else 0.0
    return out


def vectorize(documents: Sequence[str], min_df: int | float = 2, max_df: float = 0.5):
    """``(counts, vocabulary)``: the bag-of-words matrix LDA and the coherence read."""
    from sklearn.feature_extraction.text import CountVectorizer

    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    from artkg.kg.documents import FIELDS

    docs = list(documents)
    if not any(d.strip() for d in docs):
        raise InputError("no artwork has any text to fit topics on",
                         "the graph needs titles, subjects, genres, materials or descriptions of artworks")
    min_df = min_df if len(docs) >= 20 else 1  # a toy collection keeps every word
    # The documents' own headings ("Depicts:", "Material:" …) are not words of the paintings.
    stop = sorted(ENGLISH_STOP_WORDS | {heading.lower() for _, heading in FIELDS})
    vec = CountVectorizer(stop_words=stop, token_pattern=TOKEN_PATTERN, lowercase=True, min_df=min_df,
                          max_df=max_df if len(docs) >= 20 else 1.0)
    try:
        counts = vec.fit_transform(docs)
    except ValueError:  # sklearn: "empty vocabulary"
        raise InputError("the artwork texts leave no word to fit topics on (all stop words, numbers or too rare)",
                         "add richer artwork metadata, or lower min_df") from None
    return counts, list(vec.get_feature_names_out())


def fit_topics(documents: Sequence[str], n_topics: int | Sequence[int] | None = None, seed: int = 0,
               coherence_top: int = 10, max_iter: int = 20, min_df: int | float = 2, max_df: float = 0.5,
               progress: bool = False) -> TopicModel:
    """Fit LDA on ``documents``; ``n_topics`` a number, a list of candidates (the most coherent wins)
    or ``None`` (:data:`TOPIC_CANDIDATES`, those below the number of documents)."""
    import time

    from sklearn.decomposition import LatentDirichletAllocation
    from tqdm.auto import tqdm

    t0 = time.perf_counter()
    counts, vocabulary = vectorize(documents, min_df, max_df)
    if isinstance(n_topics, (int, np.integer)):
        candidates = [int(n_topics)]
    else:
        candidates = [int(k) for k in (n_topics or TOPIC_CANDIDATES)]
        if n_topics is None:
            candidates = [k for k in candidates if k < counts.shape[0]] or [max(1, min(2, counts.shape[0]))]
    if not candidates or min(candidates) < 1:
        raise InputError(f"the number of topics must be 1 or more (got {n_topics!r})", "e.g. n_topics=10")
    best, tried = None, {}
    for k in tqdm(candidates, desc="LDA topics", disable=not progress, leave=False):
        lda = LatentDirichletAllocation(n_components=k, learning_method="batch", max_iter=max_iter,
                                        random_state=seed, n_jobs=1)
        doc_topics = lda.fit_transform(counts)
        topic_words = lda.components_ / lda.components_.sum(axis=1, keepdims=True)
        score = float(np.mean(npmi_coherence(counts, topic_words, coherence_top)))
        tried[k] = score
        log.info("LDA with %d topics: coherence (NPMI) %.4f", k, score)
        if best is None or score > best[0]:
            best = (score, k, topic_words, doc_topics)
    score, k, topic_words, doc_topics = best
    return TopicModel(k, vocabulary, topic_words.astype(np.float32), doc_topics.astype(np.float32), score, tried,
                      time.perf_counter() - t0)
