"""Joint image–text encoders behind the ``joint_encoder`` registry: :func:`make_joint_encoder`.

Early fusion ("Together Yet Apart", Yilma & Leiva, UMAP 2023) represents a painting by one point of
a joint image–text space: its picture and its metadata document encoded by one hub model trained on
image–caption pairs. A :class:`JointEncoder` takes a batch of pictures with their texts and returns,
L2-normalised, ``image`` [B, d] and ``text`` [B, d] in the shared space and, where the model has
one, ``fused`` [B, d'] — one embedding of the pair, computed by the model itself:

- ``open_clip_joint``: an open_clip CLIP, both towers (no fused embedding: the engine averages);
- ``hf_clip_joint``: a Hugging Face ``CLIPModel`` (``get_image_features`` / ``get_text_features``);
- ``blip_itm``: BLIP's retrieval model: ``image`` / ``text`` are its contrastive (ITC) projections,
  ``fused`` the image-grounded text encoder's [CLS] state — the text read with cross-attention to the
  image, which the image–text matching head classifies.

The loading helpers and cache keys are the image and text encoders' (:mod:`artkg.models.encoders`);
tests build every kind from a tiny random configuration, offline.
"""
from __future__ import annotations

import contextlib
from typing import Any, ClassVar

import torch
from class_resolver import ClassResolver

from artkg.kg.errors import InputError
from artkg.models.encoders import (open_clip_preprocess, _config_key, _hf_config, _hf_model, _KindResolver, _make,
                                   _open_clip_model)
from artkg.models.encoders_image import CLIP_MEAN, CLIP_STD, _preprocessing_key, full_float32, image_transform


class JointEncoder(torch.nn.Module):
    """PIL image → :meth:`preprocess` → tensor [3, H, W]; pictures with their texts → :meth:`encode`."""

    #: name in the registry (``artkg ls``)
    kind: ClassVar[str] = ""
    dim: int  # of the shared image–text space
    fused_dim: int | None = None  # of the model's own fused embedding (None: it has none)
    image_size: int
    transform: Any

    def preprocess(self, image) -> torch.Tensor:
        return self.transform(image)

    def cache_key(self) -> str:
        raise NotImplementedError

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    def embed(self, images: torch.Tensor, texts: list[str]) -> dict[str, torch.Tensor]:  # pragma: no cover
        """One batch on the encoder's device → ``{"image", "text"[, "fused"]}``, not yet normalised."""
        raise NotImplementedError

    def encode(self, images: torch.Tensor, texts: list[str]) -> dict[str, torch.Tensor]:
        """Pictures ``[B, 3, H, W]`` (from :meth:`preprocess`) and their ``B`` texts → L2-normalised
        float32 embeddings on the CPU (full float32 on CUDA too, like the image encoders)."""
        texts = [str(t) for t in texts]
        if images.ndim != 4 or len(images) != len(texts):
            raise InputError(f"{tuple(images.shape)} images for {len(texts)} texts",
                             "give one text per picture (a batch [B, 3, H, W] and B texts)")
        with torch.inference_mode(), full_float32():
            out = self.embed(images.to(self.device), texts)
        return {k: torch.nn.functional.normalize(v.float(), dim=-1).cpu() for k, v in out.items()}


def _features(out) -> torch.Tensor:
    """``get_*_features`` return a tensor (transformers 4) or an output whose pooler is projected (5)."""
    return out if isinstance(out, torch.Tensor) else out.pooler_output


def _tokenizer(name: str, local_files_only: bool):
    import transformers

    try:
        return transformers.AutoTokenizer.from_pretrained(name, local_files_only=local_files_only)
    except (OSError, ValueError) as exc:
        raise InputError(f"could not load the tokenizer of {name!r}: {exc}".splitlines()[0],
                         "it is downloaded once from the hub (needs network), or pass a local directory "
                         "(tokenizer=DIR)") from exc


def _image_stats(name: str, pretrained: bool) -> tuple[tuple, tuple]:
    """CLIP's normalisation (BLIP uses it too), or the checkpoint's own where it publishes one."""
    mean, std = CLIP_MEAN, CLIP_STD
    if pretrained:
        import transformers

        with contextlib.suppress(OSError, ValueError, AttributeError, TypeError):
            proc = transformers.AutoImageProcessor.from_pretrained(name)
            mean, std = tuple(proc.image_mean), tuple(proc.image_std)
    return mean, std


# ------------------------------------------------------------------ open_clip
class OpenClipJointEncoder(JointEncoder):
    """Both towers of an open_clip model (tokenizer ``open_clip.get_tokenizer(arch)``, bundled).

    ``pretrained`` is an open_clip tag (downloaded once), a checkpoint path or ``None`` (random
    weights, seeded); ``model_kwargs`` override the architecture's config (a tiny one in tests).
    """

    kind = "open_clip_joint"

    def __init__(self, arch: str = "ViT-B-32", pretrained: str | None = None, model_kwargs: dict | None = None):
        super().__init__()
        import open_clip

        self.model, self.transform = _open_clip_model(arch, pretrained, model_kwargs, transforms=True)
        self.tokenizer = open_clip.get_tokenizer(arch, context_length=getattr(self.model, "context_length", None))
        self.arch, self.pretrained, self.model_kwargs = arch, pretrained, dict(model_kwargs or {})
        self.dim = int(self.model.visual.output_dim)
        self._preprocess_cfg, self.image_size = open_clip_preprocess(self.model.visual)
        self.eval()

    def cache_key(self) -> str:
        from artkg.models.encoders import open_clip_cache_key

        return open_clip_cache_key(self.kind, self.arch, self.pretrained, self.model_kwargs, self._preprocess_cfg)

    def embed(self, images: torch.Tensor, texts: list[str]) -> dict[str, torch.Tensor]:
        return {"image": self.model.encode_image(images),
                "text": self.model.encode_text(self.tokenizer(texts).to(self.device))}


# ------------------------------------------------------------------ Hugging Face
class _HFJointEncoder(JointEncoder):
    """What the Hugging Face kinds share: config, weights, tokenizer, preprocessing, cache key."""

    model_type: ClassVar[str] = ""
    max_positions: ClassVar[int] = 512

    def _build(self, model_cls, name: str, pretrained: bool, config, tokenizer: str | None,
               local_files_only: bool, max_length: int, resize_mode: str) -> None:
        # pretrained: the checkpoint's weights; else random (seeded) weights from ``config`` or the checkpoint's
        if pretrained:
            self.net = _hf_model(model_cls, name, True, None)
        else:
            self.net = _hf_model(model_cls, name, False, self._check_type(name, _hf_config(name, config)))
        config = self._check_type(name, self.net.config)
        self.tokenizer = _tokenizer(tokenizer or name, local_files_only)
        self.name, self.pretrained = name, bool(pretrained)
        self._config_key = _config_key(name, pretrained, config)
        self._tokenizer_key = tokenizer or name
        limit = min(self.max_positions, config.text_config.max_position_embeddings)
        self.max_length = int(min(max_length, limit, self.tokenizer.model_max_length))
        self.mean, self.std = _image_stats(name, pretrained)
        self.resize_mode = resize_mode
        self.image_size = int(config.vision_config.image_size)
        self.transform = image_transform(self.image_size, resize_mode, self.mean, self.std)

    def _check_type(self, name: str, config):
        if getattr(config, "model_type", "") != self.model_type:
            raise InputError(f"{name!r} is a {getattr(config, 'model_type', '?')} model, not {self.model_type}",
                             f"give a {self.model_type} checkpoint (or config) to {self.kind}")
        return config

    def cache_key(self) -> str:
        return (f"{self.kind}:{self._config_key}:tokenizer={self._tokenizer_key}:max_length={self.max_length}:"
                + _preprocessing_key(self.image_size, self.resize_mode, self.mean, self.std))

    def _tokens(self, texts: list[str]) -> dict[str, torch.Tensor]:
        batch = self.tokenizer(texts, padding=True, truncation=True, max_length=self.max_length, return_tensors="pt")
        return {"input_ids": batch["input_ids"].to(self.device),
                "attention_mask": batch["attention_mask"].to(self.device)}


class HFClipJointEncoder(_HFJointEncoder):
    """A Hugging Face ``CLIPModel``: projected image and text features (texts cut at 77 tokens).

    ``pretrained=False`` with a ``CLIPConfig`` builds random weights offline; ``tokenizer`` defaults
    to ``name`` (tests pair a tiny config with MiniLM's bundled tokenizer and its vocabulary size).
    """

    kind = "hf_clip_joint"
    model_type = "clip"
    max_positions = 77

    def __init__(self, name: str = "openai/clip-vit-base-patch32", pretrained: bool = True, config=None,
                 tokenizer: str | None = None, local_files_only: bool = False, max_length: int = 77,
                 resize_mode: str = "center_crop"):
        super().__init__()
        import transformers

        self._build(transformers.CLIPModel, name, pretrained, config, tokenizer, local_files_only, max_length,
                    resize_mode)
        self.dim = int(self.net.config.projection_dim)
        self.eval()

    def embed(self, images: torch.Tensor, texts: list[str]) -> dict[str, torch.Tensor]:
        return {"image": _features(self.net.get_image_features(pixel_values=images)),
                "text": _features(self.net.get_text_features(**self._tokens(texts)))}


class BlipItmEncoder(_HFJointEncoder):
    """BLIP for image–text retrieval (``BlipForImageTextRetrieval``), three embeddings per painting.

    ``image`` / ``text``: the contrastive projections of the image's and the text's [CLS] states
    (``vision_proj`` / ``text_proj``, 256-d). ``fused``: the text encoder run with the image patches
    as cross-attention (``encoder_hidden_states``), its [CLS] state (768-d) — what ``itm_head``
    classifies as matching or not. Hugging Face's port reads it at [CLS]; the original Salesforce
    code puts an ``[ENC]`` token first instead (``enc_token=True``, where the tokenizer has one;
    transformers issue 25629). Images are squashed to the model's square input, as BLIP's processor
    does; texts are cut at ``max_length`` tokens (BLIP's retrieval captions were short).
    """

    kind = "blip_itm"
    model_type = "blip"

    def __init__(self, name: str = "Salesforce/blip-itm-base-coco", pretrained: bool = True, config=None,
                 tokenizer: str | None = None, local_files_only: bool = False, max_length: int = 64,
                 resize_mode: str = "squash", enc_token: bool = False):
        super().__init__()
        import transformers

        self._build(transformers.BlipForImageTextRetrieval, name, pretrained, config, tokenizer, local_files_only,
                    max_length, resize_mode)
        self.enc_token_id = None
        if enc_token:
            token_id = self.tokenizer.convert_tokens_to_ids("[ENC]")
            if token_id is None or token_id == self.tokenizer.unk_token_id:
                raise InputError(f"the tokenizer {self._tokenizer_key!r} has no [ENC] token",
                                 "use BLIP's own tokenizer, or enc_token=false (read the fused state at [CLS])")
            self.enc_token_id = int(token_id)
        self.dim = int(self.net.config.image_text_hidden_size)
        self.fused_dim = int(self.net.config.text_config.hidden_size)
        self.eval()

    def cache_key(self) -> str:
        return super().cache_key() + (":itm=enc" if self.enc_token_id is not None else ":itm=cls")

    def embed(self, images: torch.Tensor, texts: list[str]) -> dict[str, torch.Tensor]:
        net, tokens = self.net, self._tokens(texts)
        patches = net.vision_model(pixel_values=images).last_hidden_state
        text_cls = net.text_encoder(**tokens).last_hidden_state[:, 0]
        grounded = dict(tokens)
        if self.enc_token_id is not None:
            grounded["input_ids"] = tokens["input_ids"].clone()
            grounded["input_ids"][:, 0] = self.enc_token_id
        patch_mask = torch.ones(patches.shape[:-1], dtype=torch.long, device=patches.device)
        fused = net.text_encoder(**grounded, encoder_hidden_states=patches,
                                 encoder_attention_mask=patch_mask).last_hidden_state[:, 0]
        return {"image": net.vision_proj(patches[:, 0]), "text": net.text_proj(text_cls), "fused": fused}


# ------------------------------------------------------------------ registry
joint_encoder_resolver: ClassResolver[JointEncoder] = _KindResolver(
    [OpenClipJointEncoder, HFClipJointEncoder, BlipItmEncoder], base=JointEncoder, suffix="Encoder",
    default=BlipItmEncoder)


def make_joint_encoder(name_or_instance: str | JointEncoder | type[JointEncoder] = "blip_itm",
                       **kwargs: Any) -> JointEncoder:
    """``make_joint_encoder("open_clip_joint", arch="ViT-B-32", pretrained="laion2b_s34b_b79k")`` —
    an instance passes through."""
    return _make(joint_encoder_resolver, "joint encoder", name_or_instance, kwargs)
