"""Tests for artkg._torchvision_compat.

Every check runs in a fresh interpreter: what happens depends on import order (torch,
torchvision, the compat module), which a pytest process has long since fixed.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

COMPAT_FILE = Path(__file__).resolve().parents[1] / "_torchvision_compat.py"

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("torch") is None, reason="torch is not installed"
)
needs_torchvision = pytest.mark.skipif(
    importlib.util.find_spec("torchvision") is None, reason="torchvision is not installed"
)

# Prefer the real package import; fall back to loading the file if artkg/__init__ breaks for
# reasons unrelated to this module.
PRELUDE = f"""
import importlib.util, json, sys
def _load_compat():
    try:
        import artkg._torchvision_compat as mod
        return mod
    except Exception:
        spec = importlib.util.spec_from_file_location("artkg_tv_compat_copy", {str(COMPAT_FILE)!r})
        mod = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = mod
        spec.loader.exec_module(mod)
        return mod
"""

RESNET = """
import torch
import torchvision
import torchvision.transforms
from torchvision.models import resnet18
with torch.no_grad():
    out = resnet18(weights=None).eval()(torch.zeros(1, 3, 64, 64))
assert tuple(out.shape) == (1, 1000), out.shape
"""


def run_py(code: str, tmp_path: Path, timeout: int = 300) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env.pop("TORCHVISION_WARN_WHEN_EXTENSION_LOADING_FAILS", None)
    # cwd=tmp_path: the repo root holds top-level dirs (models/, kg/...) that must not shadow anything.
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=tmp_path,
        env=env,
    )


def last_json(proc: subprocess.CompletedProcess[str]) -> dict:
    assert proc.returncode == 0, f"rc={proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr[-4000:]}"
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def plain_import_fails(tmp_path_factory: pytest.TempPathFactory) -> bool:
    """Does ``import torchvision`` fail without the compat module (the mismatched-wheel case)?"""
    if importlib.util.find_spec("torchvision") is None:
        return False
    proc = run_py("import torchvision", tmp_path_factory.mktemp("plain"))
    return proc.returncode != 0


@needs_torchvision
def test_plain_torchvision_import_fails_here(tmp_path: Path) -> None:
    proc = run_py("import torchvision", tmp_path)
    if proc.returncode == 0:
        pytest.skip("torchvision imports on its own here (matching build); nothing to work around")
    assert "torchvision::nms does not exist" in proc.stderr, proc.stderr[-2000:]


def test_module_import_is_cheap(tmp_path: Path) -> None:
    # Loaded from the file so that whatever artkg/__init__ imports doesn't count.
    proc = run_py(
        PRELUDE
        + f"""
spec = importlib.util.spec_from_file_location("tv_compat_cheap", {str(COMPAT_FILE)!r})
mod = importlib.util.module_from_spec(spec)
spec.loader.exec_module(mod)
print(json.dumps({{"torch": "torch" in sys.modules, "torchvision": "torchvision" in sys.modules}}))
""",
        tmp_path,
    )
    assert last_json(proc) == {"torch": False, "torchvision": False}


@needs_torchvision
def test_compat_then_torchvision_resnet18(tmp_path: Path, plain_import_fails: bool) -> None:
    proc = run_py(
        PRELUDE
        + "compat = _load_compat()\n"
        + RESNET
        + """
import torchvision.extension
hooks = [f for f in sys.meta_path if type(f).__name__ == "_TorchvisionImportHook"]
print(json.dumps({"native": compat.TORCHVISION_OPS_NATIVE,
                  "has_ops": torchvision.extension._has_ops(),
                  "hooks_left": len(hooks)}))
""",
        tmp_path,
    )
    result = last_json(proc)
    assert result["hooks_left"] == 0
    if plain_import_fails:
        assert result == {"native": False, "has_ops": False, "hooks_left": 0}
    else:
        assert result["native"] is True


@needs_torchvision
def test_torch_imported_first(tmp_path: Path, plain_import_fails: bool) -> None:
    # torch already loaded -> the check runs at import time (no meta-path hook needed).
    proc = run_py(
        PRELUDE
        + """
import torch
compat = _load_compat()
decided = "TORCHVISION_OPS_NATIVE" in vars(compat)
tv_loaded_by_check = "torchvision" in sys.modules
"""
        + RESNET
        + """
print(json.dumps({"decided_at_import": decided, "tv_loaded_by_check": tv_loaded_by_check,
                  "native": compat.TORCHVISION_OPS_NATIVE}))
""",
        tmp_path,
    )
    result = last_json(proc)
    assert result["decided_at_import"] is True
    assert result["tv_loaded_by_check"] is False
    assert result["native"] is (not plain_import_fails)


@needs_torchvision
def test_forcing_the_check_never_imports_torchvision(tmp_path: Path, plain_import_fails: bool) -> None:
    proc = run_py(
        PRELUDE
        + """
compat = _load_compat()
native = compat.TORCHVISION_OPS_NATIVE
import torch
print(json.dumps({"native": native, "torchvision": "torchvision" in sys.modules,
                  "nms_defined": hasattr(torch.ops.torchvision, "nms")}))
""",
        tmp_path,
    )
    assert last_json(proc) == {"native": not plain_import_fails, "torchvision": False, "nms_defined": True}


@needs_torchvision
def test_importing_twice_is_harmless(tmp_path: Path, plain_import_fails: bool) -> None:
    proc = run_py(
        PRELUDE
        + f"""
import importlib
first = _load_compat()
first = importlib.reload(first)
spec = importlib.util.spec_from_file_location("tv_compat_second_copy", {str(COMPAT_FILE)!r})
second = importlib.util.module_from_spec(spec)
spec.loader.exec_module(second)
hooks_before = sum(type(f).__name__ == "_TorchvisionImportHook" for f in sys.meta_path)
"""
        + RESNET
        + """
again = importlib.reload(first)  # after torchvision: must neither redefine nor break anything
boxes = torch.tensor([[0.0, 0.0, 10.0, 10.0], [0.0, 0.0, 10.0, 10.0]])
keep = torch.ops.torchvision.nms(boxes, torch.tensor([0.5, 0.9]), 0.5).tolist()
resnet18(weights=None).eval()(torch.zeros(1, 3, 64, 64))
print(json.dumps({"hooks_before": hooks_before, "first": first.TORCHVISION_OPS_NATIVE,
                  "second": second.TORCHVISION_OPS_NATIVE, "again": again.TORCHVISION_OPS_NATIVE,
                  "keep": keep}))
""",
        tmp_path,
    )
    result = last_json(proc)
    native = not plain_import_fails
    assert result == {"hooks_before": 1, "first": native, "second": native, "again": native, "keep": [1]}


@needs_torchvision
def test_discarded_copy_keeps_shims_alive(tmp_path: Path) -> None:
    # The copy that defined the shims is garbage collected before torchvision is imported.
    proc = run_py(
        f"""
import gc, importlib.util, json, sys
import torch
spec = importlib.util.spec_from_file_location("tv_compat_throwaway", {str(COMPAT_FILE)!r})
mod = importlib.util.module_from_spec(spec)
spec.loader.exec_module(mod)
native = mod.TORCHVISION_OPS_NATIVE
del mod, spec
gc.collect()
"""
        + RESNET
        + """
keep = torch.ops.torchvision.nms(torch.tensor([[0.0, 0.0, 1.0, 1.0]]), torch.tensor([1.0]), 0.5).tolist()
print(json.dumps({"native": native, "keep": keep}))
""",
        tmp_path,
    )
    assert last_json(proc)["keep"] == [0]


def test_torchvision_absent_is_noop(tmp_path: Path) -> None:
    proc = run_py(
        f"""
import importlib.util, json, sys
sys.modules["torchvision"] = None  # makes find_spec("torchvision") report it as missing
spec = importlib.util.spec_from_file_location("tv_compat_absent", {str(COMPAT_FILE)!r})
compat = importlib.util.module_from_spec(spec)
spec.loader.exec_module(compat)
print(json.dumps({{"native": compat.TORCHVISION_OPS_NATIVE, "torch": "torch" in sys.modules,
                  "hooks": sum(type(f).__name__ == "_TorchvisionImportHook" for f in sys.meta_path)}}))
""",
        tmp_path,
    )
    assert last_json(proc) == {"native": None, "torch": False, "hooks": 0}


@needs_torchvision
def test_nms(tmp_path: Path) -> None:
    proc = run_py(
        PRELUDE
        + """
import torch
compat = _load_compat()
native = compat.TORCHVISION_OPS_NATIVE

boxes = torch.tensor([
    [0.0, 0.0, 10.0, 10.0],    # 0: area 100
    [1.0, 1.0, 11.0, 11.0],    # 1: IoU with 0 = 81 / 119 = 0.6807
    [20.0, 20.0, 30.0, 30.0],  # 2: disjoint from everything
    [0.0, 0.0, 10.0, 10.0],    # 3: identical to 0, best score
    [5.0, 0.0, 15.0, 10.0],    # 4: IoU with 0/3 = 50 / 150 = 1/3; with 1 = 54 / 146 = 0.3699
])
scores = torch.tensor([0.9, 0.8, 0.7, 0.95, 0.6])
res = {"native": native}
for name, fn in [("op", torch.ops.torchvision.nms), ("py", compat._nms_cpu)]:
    res[name + "_05"] = fn(boxes, scores, 0.5).tolist()       # 3 kills 0 and 1; 4 (IoU 1/3) stays
    res[name + "_03"] = fn(boxes, scores, 0.3).tolist()       # now 4 goes too
    res[name + "_07"] = fn(boxes, scores, 0.7).tolist()       # 1 survives (0.68 <= 0.7)
    res[name + "_dtype"] = str(fn(boxes, scores, 0.5).dtype)
    res[name + "_empty"] = fn(torch.zeros(0, 4), torch.zeros(0), 0.5).tolist()
    try:
        fn(torch.zeros(3, 5), torch.zeros(3), 0.5)
        res[name + "_badshape"] = "no error"
    except RuntimeError as exc:
        res[name + "_badshape"] = "error"

# Randomised comparison against a plain-Python reference.
def reference(b, s, thr):
    b = b.tolist(); s = s.tolist()
    order = sorted(range(len(s)), key=lambda i: -s[i])
    keep = []
    for i in order:
        ok = True
        for k in keep:
            ix = max(0.0, min(b[i][2], b[k][2]) - max(b[i][0], b[k][0]))
            iy = max(0.0, min(b[i][3], b[k][3]) - max(b[i][1], b[k][1]))
            inter = ix * iy
            area = lambda q: (q[2] - q[0]) * (q[3] - q[1])
            if inter / (area(b[i]) + area(b[k]) - inter) > thr:
                ok = False
                break
        if ok:
            keep.append(i)
    return keep

g = torch.Generator().manual_seed(0)
mismatches = 0
for trial in range(20):
    n = 60
    xy = torch.rand(n, 2, generator=g, dtype=torch.float64) * 50
    wh = torch.rand(n, 2, generator=g, dtype=torch.float64) * 20 + 1
    b = torch.cat([xy, xy + wh], dim=1)
    s = torch.randperm(n, generator=g).double() / n  # distinct scores: unique order
    thr = [0.1, 0.3, 0.5, 0.7][trial % 4]
    if torch.ops.torchvision.nms(b, s, thr).tolist() != reference(b, s, thr):
        mismatches += 1
res["mismatches"] = mismatches
print(json.dumps(res))
""",
        tmp_path,
    )
    res = last_json(proc)
    for name in ("op", "py"):
        assert res[name + "_05"] == [3, 2, 4]
        assert res[name + "_03"] == [3, 2]
        assert res[name + "_07"] == [3, 1, 2, 4]
        assert res[name + "_dtype"] == "torch.int64"
        assert res[name + "_empty"] == []
        assert res[name + "_badshape"] == "error"
    assert res["mismatches"] == 0


@needs_torchvision
def test_shimmed_ops_without_kernel_raise_clearly(tmp_path: Path, plain_import_fails: bool) -> None:
    if not plain_import_fails:
        pytest.skip("native torchvision ops are available here")
    proc = run_py(
        PRELUDE
        + """
import torch
compat = _load_compat()
import torchvision
from torchvision.ops import roi_align
out = {}
out["roi_align_fallback"] = list(roi_align(torch.rand(1, 2, 8, 8), [torch.tensor([[0.0, 0.0, 4.0, 4.0]])], 2).shape)
try:
    torch.ops.torchvision.roi_pool(torch.rand(1, 2, 8, 8), torch.zeros(1, 5), 1.0, 2, 2)
    out["roi_pool"] = "ran"
except NotImplementedError as exc:
    out["roi_pool"] = "NotImplementedError" if "torchvision::roi_pool" in str(exc) else str(exc)
try:
    torchvision.ops.nms(torch.zeros(1, 4), torch.zeros(1), 0.5)
    out["ops_nms"] = "ran"
except RuntimeError as exc:
    out["ops_nms"] = "RuntimeError" if "custom C++ ops" in str(exc) else str(exc)
out["shimmed"] = list(compat.SHIMMED_OPS)
out["defined"] = [n for n in compat.SHIMMED_OPS if hasattr(torch.ops.torchvision, n)]
print(json.dumps(out))
""",
        tmp_path,
    )
    out = last_json(proc)
    assert out["roi_align_fallback"] == [1, 2, 2, 2]  # torchvision's pure-Python roi_align path
    assert out["roi_pool"] == "NotImplementedError"
    assert out["ops_nms"] == "RuntimeError"  # torchvision's own _assert_has_ops message
    assert out["defined"] == out["shimmed"]


@needs_torchvision
@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("open_clip") is None, reason="open_clip_torch not installed")
def test_open_clip_and_timm_build(tmp_path: Path) -> None:
    proc = run_py(
        PRELUDE
        + """
compat = _load_compat()
import torch, open_clip
model = open_clip.create_model("ViT-B-32", pretrained=None)
with torch.no_grad():
    emb = model.encode_image(torch.zeros(1, 3, 224, 224))
res = {"clip": list(emb.shape)}
try:
    import timm
    with torch.no_grad():
        res["timm"] = list(timm.create_model("resnet18", pretrained=False)(torch.zeros(1, 3, 64, 64)).shape)
except ImportError:
    res["timm"] = None
print(json.dumps(res))
""",
        tmp_path,
        timeout=600,
    )
    res = last_json(proc)
    assert res["clip"] == [1, 512]
    assert res["timm"] in (None, [1, 1000])
