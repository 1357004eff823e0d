"""FAISS vector indexes chosen by name through ``index_resolver``: ``flat`` (exact), ``hnsw``, ``ivf``.

Ids are row positions: the i-th vector added has id i (callers keep their own id → node map and
pin it with ``id_map_hash``). Scores are FAISS's own, never converted:

* metric ``l2``: the **squared** Euclidean distance — smaller is better;
* metric ``ip``: the inner product — larger is better (with ``normalize=True`` vectors and queries
  are L2-normalised, so it is the cosine similarity).

``build_index(vectors, "hnsw", {"M": 32})`` builds one; ``index.save(dir, id_map_hash=…,
source={…})`` writes ``index.faiss`` (FAISS's own format, never pickle) and ``index.json``;
``load_index(dir, expected_id_map_hash=…)`` reads it back and refuses an index built from
another graph. With a GPU build of FAISS and ``device`` ``auto``/``cuda``, searches run on all
GPUs; the CPU index stays the reference copy that ``add`` and ``save`` use.
"""
from __future__ import annotations

import inspect
import json
import shutil
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from class_resolver import ClassResolver

from artkg.kg.errors import InputError
from artkg.registry import public_names

FORMAT_VERSION = 1
METRICS = ("l2", "ip")
DEVICES = ("auto", "cpu", "cuda")
COMMON = ("metric", "normalize", "device")  # options every kind takes
INDEX_FILE, META_FILE = "index.faiss", "index.json"
GPU_MAX_K = 2048  # FAISS GPU searches refuse larger k: those fall back to the CPU copy


def _faiss():
    try:
        import faiss
    except ImportError as exc:  # an optional dependency
        raise InputError("FAISS is not installed", "pip install 'artkg[retrieval]' (faiss-cpu)") from exc
    return faiss


def num_gpus() -> int:
    """GPUs FAISS can use; 0 with faiss-cpu, which has no GPU functions at all."""
    return int(getattr(_faiss(), "get_num_gpus", lambda: 0)())


def _as_matrix(x: Any, what: str, normalize: bool) -> np.ndarray:
    """float32, C-contiguous, 2-D — one conversion at most (a copy only when needed or normalising)."""
    x = np.asarray(x)
    if x.ndim == 1 and what == "queries":
        x = x[None, :]
    if x.ndim != 2 or x.shape[1] == 0:
        raise InputError(f"{what} must be a 2-D array [n, dim] with dim ≥ 1, got shape {x.shape}",
                         "pass one row per vector")
    if normalize:
        x = np.array(x, dtype=np.float32, order="C", copy=True)  # never normalise the caller's array
    else:
        x = np.ascontiguousarray(x, dtype=np.float32)
    if not np.isfinite(x).all():
        raise InputError(f"{what} contain NaN or infinite values", "fix or drop those rows before indexing")
    if normalize:
        _faiss().normalize_L2(x)
    return x


class VectorIndex:
    """A FAISS index over vectors with ids 0..n-1. Subclasses choose the FAISS index in :meth:`_new`."""

    #: name in the registry (``artkg ls``) and in ``index.json``
    kind: ClassVar[str] = ""
    #: whether ``faiss.index_cpu_to_all_gpus`` can take this index
    gpu_capable: ClassVar[bool] = True

    def __init__(self, metric: str = "l2", normalize: bool = False, device: str = "auto"):
        if metric not in METRICS:
            raise InputError(f"unknown metric {metric!r}",
                             "use l2 (squared distance) or ip (inner product; add normalize=True for cosine)")
        if device not in DEVICES:
            raise InputError(f"unknown device {device!r}", f"use one of {', '.join(DEVICES)}")
        if device == "cuda" and num_gpus() == 0:
            raise InputError("device cuda asked for, but FAISS sees no GPU (faiss-cpu has none)",
                             "use --device cpu (or auto), or install a GPU build of FAISS")
        self.metric, self.normalize, self.device = metric, bool(normalize), device
        self.id_map_hash: str | None = None
        self.source: dict = {}
        self._cpu = None  # the reference FAISS index, created on the first add (it needs dim)
        self._gpu = None  # a search copy on the GPUs, made lazily and dropped on every add

    # -------------------------------------------------------------- what subclasses provide
    @property
    def kwargs(self) -> dict:
        """The kind's own options (JSON-able), as ``index.json`` stores them."""
        return {}

    def _new(self, dim: int):  # pragma: no cover - abstract
        raise NotImplementedError

    def _train(self, index, vectors: np.ndarray) -> None:
        """Train before the first add (IVF); nothing for the others."""

    def _apply_params(self) -> None:
        """Push search-time options (ef_search, nprobe) into the CPU index."""

    # -------------------------------------------------------------- public API
    @property
    def faiss_metric(self) -> int:
        faiss = _faiss()
        return faiss.METRIC_L2 if self.metric == "l2" else faiss.METRIC_INNER_PRODUCT

    @property
    def higher_is_better(self) -> bool:
        """True for ``ip`` (similarity), False for ``l2`` (squared distance)."""
        return self.metric == "ip"

    @property
    def ntotal(self) -> int:
        return 0 if self._cpu is None else int(self._cpu.ntotal)

    @property
    def dim(self) -> int | None:
        return None if self._cpu is None else int(self._cpu.d)

    def __len__(self) -> int:
        return self.ntotal

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(kind={self.kind!r}, metric={self.metric!r}, normalize={self.normalize}, "
                f"dim={self.dim}, ntotal={self.ntotal}, {self.kwargs})")

    def add(self, vectors: Any) -> VectorIndex:
        """Append ``vectors`` [n, dim]; they get ids ``ntotal .. ntotal + n - 1``."""
        x = _as_matrix(vectors, "vectors", self.normalize)
        cpu = self._new(x.shape[1]) if self._cpu is None else self._cpu
        self._check_dim(x, "vectors")
        if not cpu.is_trained:
            self._train(cpu, x)
        cpu.add(x)
        self._cpu, self._gpu = cpu, None  # kept only once it worked: a failed first add leaves the index empty
        return self

    def search(self, queries: Any, k: int) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` best ids per query: ``(scores [q, k] float32, ids [q, k] int64)``, best first.

        Scores are squared L2 distances for ``l2`` (ascending) and inner products for ``ip``
        (descending). Approximate kinds may return id -1 (score ±inf) where they found fewer than k.
        """
        k, pool = int(k), self.ntotal
        if k < 1:
            raise InputError(f"k={k} must be at least 1", "pass --k ≥ 1")
        if k > pool:
            raise InputError(f"k={k} is larger than the pool of {pool} vectors",
                             f"pass --k ≤ {pool}" if pool else "add vectors to the index before searching it")
        q = _as_matrix(queries, "queries", self.normalize)
        self._check_dim(q, "queries")
        return self._search_index(k).search(q, k)

    def save(self, path: str | Path, *, id_map_hash: str | None = None, source: dict | None = None) -> Path:
        """Write ``path/index.faiss`` and ``path/index.json`` atomically (a failed save leaves nothing half)."""
        if self._cpu is None:
            raise InputError("cannot save an empty index", "add vectors first")
        path = Path(path)
        if path.exists() and (not path.is_dir() or any(p.name not in (INDEX_FILE, META_FILE) for p in path.iterdir())):
            raise InputError(f"{path} exists and is not an index directory", "choose a new path, or remove it first")
        if id_map_hash is not None:
            self.id_map_hash = id_map_hash
        if source is not None:
            self.source = dict(source)
        from artkg import __version__
        from artkg.kg.atomic import replace_dir, write_json

        meta = {"format_version": FORMAT_VERSION, "kind": self.kind, "metric": self.metric,
                "normalize": self.normalize, "kwargs": self.kwargs, "dim": self.dim, "ntotal": self.ntotal,
                "id_map_hash": self.id_map_hash, "source": self.source, "artkg_version": __version__,
                "faiss_version": getattr(_faiss(), "__version__", "unknown"),
                "created": datetime.now(timezone.utc).isoformat(timespec="seconds")}
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
        try:
            _faiss().write_index(self._cpu, str(tmp / INDEX_FILE))
            write_json(tmp / META_FILE, meta)
            replace_dir(tmp, path)
        finally:
            if tmp.exists():
                shutil.rmtree(tmp)
        return path

    # -------------------------------------------------------------- internals
    def _check_dim(self, x: np.ndarray, what: str) -> None:
        if self.dim is not None and x.shape[1] != self.dim:
            raise InputError(f"{what} have dimension {x.shape[1]}, the index has {self.dim}",
                             "use vectors from the same encoder as the index, or rebuild it with `artkg index build`")

    def _search_index(self, k: int):
        if self.device == "cpu" or not self.gpu_capable or k > GPU_MAX_K or num_gpus() == 0:
            return self._cpu
        if self._gpu is None:
            self._gpu = _faiss().index_cpu_to_all_gpus(self._cpu)
        return self._gpu

    @classmethod
    def _from_faiss(cls, faiss_index, meta: dict, device: str) -> VectorIndex:
        index = cls(metric=meta["metric"], normalize=meta.get("normalize", False), device=device,
                    **meta.get("kwargs", {}))
        index._cpu = faiss_index
        index._apply_params()
        index.id_map_hash, index.source = meta.get("id_map_hash"), dict(meta.get("source") or {})
        return index


class FlatIndex(VectorIndex):
    """Exact search (``IndexFlatL2`` / ``IndexFlatIP``): the reference every other kind is measured against."""

    kind = "flat"

    def _new(self, dim: int):
        faiss = _faiss()
        return faiss.IndexFlatL2(dim) if self.metric == "l2" else faiss.IndexFlatIP(dim)


class HNSWIndex(VectorIndex):
    """Graph search (``IndexHNSWFlat``): ``M`` links per node, ``ef_construction`` and ``ef_search``
    candidate lists when building and searching (larger: better recall, slower). CPU only."""

    kind = "hnsw"
    gpu_capable = False

    def __init__(self, M: int = 32, ef_construction: int = 80, ef_search: int = 64, **kwargs):
        super().__init__(**kwargs)
        for name, value, low in (("M", M, 2), ("ef_construction", ef_construction, 1), ("ef_search", ef_search, 1)):
            if int(value) < low:
                raise InputError(f"hnsw {name}={value} is too small", f"pass {name} ≥ {low}")
        self.M, self.ef_construction, self._ef_search = int(M), int(ef_construction), int(ef_search)

    @property
    def kwargs(self) -> dict:
        return {"M": self.M, "ef_construction": self.ef_construction, "ef_search": self._ef_search}

    @property
    def ef_search(self) -> int:
        return self._ef_search

    @ef_search.setter
    def ef_search(self, value: int) -> None:
        self._ef_search = int(value)
        self._apply_params()

    def _new(self, dim: int):
        index = _faiss().IndexHNSWFlat(dim, self.M, self.faiss_metric)
        index.hnsw.efConstruction = self.ef_construction
        index.hnsw.efSearch = self._ef_search
        return index

    def _apply_params(self) -> None:
        if self._cpu is not None:
            self._cpu.hnsw.efSearch = self._ef_search


class IVFIndex(VectorIndex):
    """Inverted lists (``IndexIVFFlat`` over a flat quantizer): k-means into ``nlist`` cells, trained on
    the first vectors added; a search visits the ``nprobe`` nearest cells."""

    kind = "ivf"

    def __init__(self, nlist: int = 100, nprobe: int = 8, **kwargs):
        super().__init__(**kwargs)
        if int(nlist) < 1 or int(nprobe) < 1:
            raise InputError(f"ivf nlist={nlist} and nprobe={nprobe} must be ≥ 1", "pass positive values")
        self.nlist, self._nprobe = int(nlist), min(int(nprobe), int(nlist))

    @property
    def kwargs(self) -> dict:
        return {"nlist": self.nlist, "nprobe": self._nprobe}

    @property
    def nprobe(self) -> int:
        return self._nprobe

    @nprobe.setter
    def nprobe(self, value: int) -> None:
        self._nprobe = max(1, min(int(value), self.nlist))
        self._apply_params()
        self._gpu = None

    def _new(self, dim: int):
        faiss = _faiss()
        quantizer = faiss.IndexFlatL2(dim) if self.metric == "l2" else faiss.IndexFlatIP(dim)
        index = faiss.IndexIVFFlat(quantizer, dim, self.nlist, self.faiss_metric)
        index.nprobe = self._nprobe
        return index

    def _train(self, index, vectors: np.ndarray) -> None:
        if len(vectors) < self.nlist:
            raise InputError(f"ivf needs at least nlist={self.nlist} vectors to train its centroids, got {len(vectors)}",
                             f"pass a smaller nlist (FAISS advises ≤ {max(1, len(vectors) // 39)} for "
                             f"{len(vectors)} vectors) or use kind flat")
        index.train(vectors)

    def _apply_params(self) -> None:
        if self._cpu is not None:
            self._cpu.nprobe = self._nprobe


index_resolver: ClassResolver[VectorIndex] = ClassResolver(
    [FlatIndex, HNSWIndex, IVFIndex], base=VectorIndex, suffix="Index", default=FlatIndex,
    synonyms={"exact": FlatIndex, "ivfflat": IVFIndex})


def make_index(kind: str | VectorIndex | type[VectorIndex] = "flat", kind_kwargs: dict | None = None,
               **common: Any) -> VectorIndex:
    """An empty index by name, class or instance (an instance passes through); ``common`` are
    ``metric``, ``normalize``, ``device``."""
    if isinstance(kind, VectorIndex):
        return kind
    if isinstance(kind, str) and index_resolver.normalize(kind) not in index_resolver.lookup_dict \
            and index_resolver.normalize(kind) not in index_resolver.synonyms:
        raise InputError(f"unknown index kind {kind!r}",
                         f"choose one of {', '.join(public_names(index_resolver))} (see `artkg ls`)")
    cls = index_resolver.lookup(kind)
    kind_kwargs = dict(kind_kwargs or {})
    allowed = [p for p in inspect.signature(cls).parameters if p not in ("kwargs", *COMMON)]
    unknown = sorted(set(kind_kwargs) - set(allowed))
    if unknown:
        raise InputError(f"bad {cls.kind} index options: {', '.join(unknown)}",
                         f"its options are {', '.join(allowed) or 'none'} (and {', '.join(COMMON)} for every kind)")
    try:
        return cls(**kind_kwargs, **common)
    except (TypeError, ValueError) as exc:  # e.g. M="many"
        raise InputError(f"bad {cls.kind} index options {kind_kwargs}: {exc}",
                         f"pass integers for {', '.join(allowed) or 'none'}") from exc


def build_index(vectors: Any, kind: str | VectorIndex | type[VectorIndex] = "flat",
                kind_kwargs: dict | None = None, metric: str = "l2", normalize: bool = False,
                device: str = "auto", id_map_hash: str | None = None,
                source: dict | None = None) -> VectorIndex:
    """An index of ``vectors`` (ids = row positions), e.g. ``build_index(x, "hnsw", {"M": 32})``."""
    index = make_index(kind, kind_kwargs, metric=metric, normalize=normalize, device=device)
    index.add(vectors)
    index.id_map_hash, index.source = id_map_hash, dict(source or {})
    return index


def read_meta(path: str | Path) -> dict:
    """``index.json`` of an index directory (cheap: the vectors are not read)."""
    path = Path(path)
    meta_path = path / META_FILE
    if not path.is_dir() or not meta_path.is_file() or not (path / INDEX_FILE).is_file():
        raise InputError(f"{path} is not an index directory (it needs {INDEX_FILE} and {META_FILE})",
                         "build one with `artkg index build`")
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        missing = [k for k in ("kind", "metric", "dim", "ntotal") if k not in meta]
    except (ValueError, UnicodeDecodeError, TypeError) as exc:
        raise InputError(f"{meta_path} is corrupt ({exc})", "rebuild the index with `artkg index build`") from exc
    if missing:
        raise InputError(f"{meta_path} lacks {', '.join(missing)}", "rebuild the index with `artkg index build`")
    if meta.get("format_version", FORMAT_VERSION) > FORMAT_VERSION:
        raise InputError(f"{path} was written by a newer artkg (index format {meta['format_version']})",
                         "upgrade artkg, or rebuild the index with `artkg index build`")
    return meta


def load_index(path: str | Path, expected_id_map_hash: str | list[str] | None = None, device: str = "auto") -> VectorIndex:
    """Read an index directory; with ``expected_id_map_hash`` (one hash, or a graph's hash and the
    earlier ones its id map extends), refuse one built from another graph."""
    path = Path(path)
    meta = read_meta(path)
    accepted = [expected_id_map_hash] if isinstance(expected_id_map_hash, str) else expected_id_map_hash
    if accepted is not None and meta.get("id_map_hash") not in accepted:
        raise InputError(f"the index at {path} was built from another graph (its ids differ: id_map_hash "
                         f"{meta.get('id_map_hash')} ≠ {' / '.join(accepted)})",
                         "rebuild it with `artkg index build` for this graph")
    if index_resolver.normalize(str(meta["kind"])) not in index_resolver.lookup_dict:
        raise InputError(f"{path / META_FILE} names an unknown index kind {meta['kind']!r}",
                         "rebuild the index with `artkg index build`")
    try:
        faiss_index = _faiss().read_index(str(path / INDEX_FILE))
    except RuntimeError as exc:  # FAISS reports bad files as RuntimeError
        raise InputError(f"{path / INDEX_FILE} is corrupt or not a FAISS index ({str(exc).splitlines()[0]})",
                         "rebuild the index with `artkg index build`") from exc
    if faiss_index.d != meta["dim"] or faiss_index.ntotal != meta["ntotal"]:
        raise InputError(f"{path} is inconsistent: {INDEX_FILE} holds {faiss_index.ntotal}×{faiss_index.d}, "
                         f"{META_FILE} says {meta['ntotal']}×{meta['dim']}", "rebuild the index with `artkg index build`")
    return index_resolver.lookup(meta["kind"])._from_faiss(faiss_index, meta, device)
