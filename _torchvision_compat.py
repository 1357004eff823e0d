"""Make ``import torchvision`` work when torchvision's C++ ops don't match the installed torch.

Why this exists
---------------
artkg pins ``torch==2.13.0`` and ``torchvision==0.28.0``. On CPU-only machines torch is the
CPU build (``2.13.0+cpu``), but the only ``torchvision==0.28.0`` wheel on PyPI is a CUDA build.
Its C extension ``torchvision/_C.so`` links against ``libc10_cuda.so`` and fails to load, and
torchvision's import then dies in ``torchvision/_meta_registrations.py``::

    RuntimeError: operator torchvision::nms does not exist

because ``@torch.library.register_fake("torchvision::nms")`` (and ``"torchvision::qnms"``) are
applied unconditionally to ops whose schemas only the C extension defines. Everything that
imports torchvision (open_clip, timm, grad-cam, ...) breaks with it.

What it does, and when
----------------------
It never imports torchvision. It finds the package with ``importlib.util.find_spec`` and its
``_C`` extension file, and tries ``torch.ops.load_library`` on it:

* torchvision not installed -> nothing (``TORCHVISION_OPS_NATIVE is None``).
* the ``torchvision::`` ops already exist, or ``_C`` loads (a matching build, e.g. on a GPU
  machine) -> nothing else (``TORCHVISION_OPS_NATIVE is True``).
* ``_C`` does not load -> the op *schemas* torchvision's Python code expects (see
  ``_SCHEMAS``) are defined through a ``torch.library.Library("torchvision", "FRAGMENT")`` kept
  alive at module level (``TORCHVISION_OPS_NATIVE is False``). torchvision then imports; its own
  ``extension._has_ops()`` stays ``False``, so ``roi_align`` uses its pure-Python path and
  ``torchvision.ops.nms``/``deform_conv2d``/... raise torchvision's usual "Couldn't load custom
  C++ ops" error. Only ``torch.ops.torchvision.nms`` gets a real kernel here (pure torch, CPU);
  the other ops have schemas only, so calling them directly raises torch's
  "Could not run 'torchvision::...' with arguments from the 'CPU' backend" error.

The image extension (``torchvision/image.so``) fails for the same reason; torchvision already
handles that itself (``torchvision.io.decode_*`` become unavailable, PIL-based transforms work).

To stay cheap (``artkg/__init__`` imports this module first thing), torch is not imported here
unless it is already loaded: otherwise a one-shot ``sys.meta_path`` hook runs the check the
moment ``torchvision`` is first imported (torchvision imports torch anyway) -- or first looked
up with ``importlib.util.find_spec("torchvision")``, which only runs the check a bit early.
Reading ``TORCHVISION_OPS_NATIVE`` (or calling :func:`ensure_torchvision_ops`) forces the check.

How to remove it
----------------
Once a torchvision wheel whose ``_C`` loads with the pinned CPU torch is installable (check:
``python -c "import torchvision"`` succeeds in a fresh interpreter without artkg), delete this
file, its import in ``artkg/__init__.py`` and ``tests/test_torchvision_compat.py``. Until then it
is a no-op wherever the native ops load.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import logging
import os
import sys
import threading
from typing import Any

__all__ = ["TORCHVISION_OPS_NATIVE", "ensure_torchvision_ops", "SHIMMED_OPS"]

_log = logging.getLogger("artkg")

# Op schemas as defined by torchvision 0.28's C++ sources (csrc/ops/*.cpp, TORCH_LIBRARY_FRAGMENT).
# These are the ops torchvision's Python code refers to: fake kernels in _meta_registrations.py
# (nms and qnms unconditionally, the rest only when _C loaded), autograd/autocast kernels in
# _autograd_registrations.py (only when _C loaded) and the calls in torchvision/ops/*.py.
_SCHEMAS: dict[str, str] = {
    "nms": "nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
    "qnms": "qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
    "roi_align": (
        "roi_align(Tensor input, Tensor rois, float spatial_scale, SymInt pooled_height, "
        "SymInt pooled_width, int sampling_ratio, bool aligned) -> Tensor"
    ),
    "_roi_align_backward": (
        "_roi_align_backward(Tensor grad, Tensor rois, float spatial_scale, SymInt pooled_height, "
        "SymInt pooled_width, SymInt batch_size, SymInt channels, SymInt height, SymInt width, "
        "int sampling_ratio, bool aligned) -> Tensor"
    ),
    "qroi_align": (
        "qroi_align(Tensor input, Tensor rois, float input_scale, int input_zero_point, "
        "float rois_scale, int rois_zero_point, float spatial_scale, SymInt pooled_height, "
        "SymInt pooled_width, int sampling_ratio, bool aligned) -> Tensor"
    ),
    "roi_pool": (
        "roi_pool(Tensor input, Tensor rois, float spatial_scale, SymInt pooled_height, "
        "SymInt pooled_width) -> (Tensor, Tensor)"
    ),
    "_roi_pool_backward": (
        "_roi_pool_backward(Tensor grad, Tensor rois, Tensor argmax, float spatial_scale, "
        "SymInt pooled_height, SymInt pooled_width, SymInt batch_size, SymInt channels, "
        "SymInt height, SymInt width) -> Tensor"
    ),
    "ps_roi_align": (
        "ps_roi_align(Tensor input, Tensor rois, float spatial_scale, SymInt pooled_height, "
        "SymInt pooled_width, int sampling_ratio) -> (Tensor, Tensor)"
    ),
    "_ps_roi_align_backward": (
        "_ps_roi_align_backward(Tensor grad, Tensor rois, Tensor channel_mapping, float spatial_scale, "
        "SymInt pooled_height, SymInt pooled_width, int sampling_ratio, SymInt batch_size, "
        "SymInt channels, SymInt height, SymInt width) -> Tensor"
    ),
    "ps_roi_pool": (
        "ps_roi_pool(Tensor input, Tensor rois, float spatial_scale, SymInt pooled_height, "
        "SymInt pooled_width) -> (Tensor, Tensor)"
    ),
    "_ps_roi_pool_backward": (
        "_ps_roi_pool_backward(Tensor grad, Tensor rois, Tensor channel_mapping, float spatial_scale, "
        "SymInt pooled_height, SymInt pooled_width, SymInt batch_size, SymInt channels, "
        "SymInt height, SymInt width) -> Tensor"
    ),
    "deform_conv2d": (
        "deform_conv2d(Tensor input, Tensor weight, Tensor offset, Tensor mask, Tensor bias, "
        "SymInt stride_h, SymInt stride_w, SymInt pad_h, SymInt pad_w, SymInt dilation_h, "
        "SymInt dilation_w, SymInt groups, SymInt offset_groups, bool use_mask) -> Tensor"
    ),
    "_deform_conv2d_backward": (
        "_deform_conv2d_backward(Tensor grad, Tensor input, Tensor weight, Tensor offset, "
        "Tensor mask, Tensor bias, SymInt stride_h, SymInt stride_w, SymInt pad_h, SymInt pad_w, "
        "SymInt dilation_h, SymInt dilation_w, SymInt groups, SymInt offset_groups, "
        "bool use_mask) -> (Tensor, Tensor, Tensor, Tensor, Tensor)"
    ),
    "box_iou_rotated": "box_iou_rotated(Tensor boxes1, Tensor boxes2) -> Tensor",
}

#: Names (in the ``torchvision`` namespace) this module defines when the native ops don't load.
SHIMMED_OPS: tuple[str, ...] = tuple(_SCHEMAS)

_UNSET: Any = object()

# torch.library.Library objects holding the shims. Survives importlib.reload(): dropping a
# Library object deregisters what it defined.
_LIB: list[Any] = globals().get("_LIB") or []
_state: Any = _UNSET  # True / False / None once decided

#: True: torchvision's native C++ ops are loaded; False: this module shimmed them; None:
#: torchvision is not installed. Resolved on first read (module ``__getattr__``), which forces
#: the check, or automatically when torchvision is first imported.
TORCHVISION_OPS_NATIVE: bool | None  # annotation only; the value is set by ensure_torchvision_ops()
_lock = threading.RLock()


def _torchvision_dir() -> str | None:
    try:
        spec = importlib.util.find_spec("torchvision")
    except (ImportError, ValueError):
        return None
    if spec is None:
        return None
    if spec.submodule_search_locations:
        return list(spec.submodule_search_locations)[0]
    if spec.origin:
        return os.path.dirname(spec.origin)
    return None


def _find_extension(pkg_dir: str, name: str) -> str | None:
    """Path of torchvision's ``name`` extension (same lookup as torchvision's _get_extension_path)."""
    for suffix in importlib.machinery.EXTENSION_SUFFIXES:
        path = os.path.join(pkg_dir, name + suffix)
        if os.path.isfile(path):
            return path
    try:
        entries = sorted(os.listdir(pkg_dir))
    except OSError:
        return None
    for entry in entries:
        if entry.startswith(name + ".") and entry.endswith((".so", ".pyd", ".dylib")):
            return os.path.join(pkg_dir, entry)
    return None


def _op_defined(torch: Any, name: str) -> bool:
    try:
        torch._C._get_schema(f"torchvision::{name}", "")
    except RuntimeError:
        return False
    return True


def _has_native_kernels(torch: Any, c_path: str | None) -> bool:
    """Were the existing torchvision ops defined by the real extension (vs. by this shim)?"""
    if c_path is not None:
        real = os.path.realpath(c_path)
        if any(os.path.realpath(p) == real for p in torch.ops.loaded_libraries):
            return True
    # Every native build has CPU kernels for roi_align; the shim defines a schema only.
    try:
        return bool(torch._C._dispatch_has_kernel_for_dispatch_key("torchvision::roi_align", "CPU"))
    except RuntimeError:
        return False


def _nms_cpu(dets: Any, scores: Any, iou_threshold: float) -> Any:
    """Pure-torch greedy NMS with torchvision's CPU-kernel semantics.

    Boxes are ``(x1, y1, x2, y2)``; a box is dropped when its IoU with an already kept,
    higher-scoring box is ``> iou_threshold``. Returns int64 indices in decreasing score order.
    """
    import torch

    torch._check(dets.dim() == 2, lambda: f"boxes should be a 2d tensor, got {dets.dim()}D")
    torch._check(dets.size(1) == 4, lambda: f"boxes should have 4 elements in dimension 1, got {dets.size(1)}")
    torch._check(scores.dim() == 1, lambda: f"scores should be a 1d tensor, got {scores.dim()}D")
    torch._check(
        dets.size(0) == scores.size(0),
        lambda: "boxes and scores should have same number of elements in dimension 0, "
        f"got {dets.size(0)} and {scores.size(0)}",
    )
    if dets.numel() == 0:
        return torch.empty((0,), dtype=torch.long, device=dets.device)
    order = torch.sort(scores, descending=True, stable=True).indices
    boxes = dets[order]
    x1, y1, x2, y2 = boxes.unbind(1)
    areas = (x2 - x1) * (y2 - y1)
    n = boxes.size(0)
    suppressed = torch.zeros(n, dtype=torch.bool, device=dets.device)
    keep: list[int] = []
    for i in range(n):
        if suppressed[i]:
            continue
        keep.append(i)
        if i + 1 == n:
            break
        xx1 = torch.maximum(x1[i], x1[i + 1 :])
        yy1 = torch.maximum(y1[i], y1[i + 1 :])
        xx2 = torch.minimum(x2[i], x2[i + 1 :])
        yy2 = torch.minimum(y2[i], y2[i + 1 :])
        inter = (xx2 - xx1).clamp(min=0) * (yy2 - yy1).clamp(min=0)
        iou = inter / (areas[i] + areas[i + 1 :] - inter)
        suppressed[i + 1 :] |= iou > iou_threshold
    return order[torch.tensor(keep, dtype=torch.long, device=dets.device)]


def _define_schemas(torch: Any) -> list[str]:
    missing = [name for name in _SCHEMAS if not _op_defined(torch, name)]
    if not missing:
        return []
    # FRAGMENT (not DEF): torchvision's C++ uses TORCH_LIBRARY_FRAGMENT too, and a second
    # "DEF" library for the namespace would be rejected if this ever has to run again.
    lib = torch.library.Library("torchvision", "FRAGMENT")
    for name in missing:
        lib.define(_SCHEMAS[name])
    if "nms" in missing:
        lib.impl("nms", _nms_cpu, "CPU")
    # The definitions live as long as the Library object: keep it at module level and, so that
    # a throwaway second copy of this module can't take the ops with it, in torch's own
    # process-wide keep-alive list (used the same way by torch.library.register_fake & co.).
    _LIB.append(lib)
    keep_alive = getattr(torch.library, "_keep_alive", None)
    if isinstance(keep_alive, list):
        keep_alive.append(lib)
    return missing


def _decide() -> bool | None:
    pkg_dir = _torchvision_dir()
    if pkg_dir is None:
        _log.debug("torchvision compat: torchvision is not installed; nothing to do")
        return None

    import torch

    c_path = _find_extension(pkg_dir, "_C")
    if _op_defined(torch, "nms"):
        native = _has_native_kernels(torch, c_path)
        missing = [] if native else _define_schemas(torch)  # top up a partial shim, if any
        _log.debug(
            "torchvision compat: torchvision ops already defined (native=%s)%s",
            native,
            f"; defined missing {missing}" if missing else "",
        )
        return native
    if c_path is None:
        _log.debug("torchvision compat: no _C extension found in %s", pkg_dir)
    else:
        if os.name == "nt":  # mirror torchvision's own loader so the probe sees the same DLL path
            try:
                os.add_dll_directory(pkg_dir)
            except (OSError, AttributeError):
                pass
        try:
            torch.ops.load_library(c_path)
        except (OSError, RuntimeError) as exc:
            cause = exc.__cause__ if exc.__cause__ is not None else exc
            _log.debug("torchvision compat: cannot load %s (%s)", c_path, cause)
        else:
            if _op_defined(torch, "nms"):
                _log.debug("torchvision compat: native torchvision ops loaded from %s", c_path)
                return True
            _log.debug("torchvision compat: %s loaded but defines no torchvision::nms", c_path)
    defined = _define_schemas(torch)
    _log.debug(
        "torchvision compat: native torchvision ops unavailable; defined schema-only shims for %s "
        "(pure-torch CPU kernel for nms)",
        defined,
    )
    return False


def ensure_torchvision_ops() -> bool | None:
    """Run the check (once) and return :data:`TORCHVISION_OPS_NATIVE`. Never imports torchvision."""
    global _state
    with _lock:
        if _state is _UNSET:
            _remove_hook()
            _state = _decide()
            globals()["TORCHVISION_OPS_NATIVE"] = _state
        return _state


class _TorchvisionImportHook:
    """One-shot meta path finder: runs the check right before torchvision is first imported."""

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> None:
        if fullname == "torchvision":
            _remove_hook()
            try:
                ensure_torchvision_ops()
            except Exception:  # never break the import itself
                _log.debug("torchvision compat: check failed", exc_info=True)
        return None

    def find_module(self, fullname: str, path: Any = None) -> None:  # pragma: no cover - legacy API
        return None


def _remove_hook() -> None:
    # By class name, so hooks installed by an earlier copy of this module (reload) go too.
    sys.meta_path[:] = [f for f in sys.meta_path if type(f).__name__ != "_TorchvisionImportHook"]


def __getattr__(name: str) -> Any:
    # TORCHVISION_OPS_NATIVE: True native ops loaded, False shimmed, None torchvision absent.
    # Resolved lazily (the check may need to import torch); reading it forces the check.
    if name == "TORCHVISION_OPS_NATIVE":
        return ensure_torchvision_ops()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _install() -> None:
    # At most one hook, even across reloads / second copies; removed first so that the
    # find_spec("torchvision") probe below cannot fire a hook left by an earlier copy.
    _remove_hook()
    if _torchvision_dir() is None:
        ensure_torchvision_ops()  # cheap: records None without importing torch
    elif "torch" in sys.modules or "torchvision" in sys.modules:
        ensure_torchvision_ops()  # torch is already paid for
    else:
        sys.meta_path.insert(0, _TorchvisionImportHook())


_install()
