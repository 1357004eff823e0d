"""What the multimodal engines read from a graph besides interactions: :func:`content_inputs`.

* ``documents`` — one metadata document per artwork (:func:`artkg.kg.documents.artwork_documents`);
* ``feature_mask`` — which artworks have image features;
* ``text_features`` / ``text_mask`` — the artworks' text features (``artkg features --artwork-text``);
* ``joint`` — a hub model's joint feature set (``artkg features --joint-encoder``).

A model that needs one the graph lacks gets a one-line error naming the command that makes it. For
``kind="rated"`` evaluations the text features are loaded when present even if the model does not
need them: beyond-accuracy diversity is measured in one fixed space for every engine.
"""
from __future__ import annotations

import numpy as np

from artkg.kg.errors import InputError, NotFoundError


def artwork_text_meta(root, key: str | None = None) -> dict | None:
    """The newest complete text feature folder with artwork documents (matching ``key``), or None."""
    from artkg.models.features_cache import list_features

    metas = [m for m in list_features(root) if m.get("kind") == "text" and m.get("complete")
             and "artwork" in (m.get("node_types") or [])]
    if key is not None:
        metas = [m for m in metas if key in (m["key"], m.get("cache_key"), m.get("encoder"))]
    return metas[-1] if metas else None


def content_inputs(kg, config, model, keys: dict | None = None) -> tuple[dict, dict]:
    """``(content, record)``: the TrainData fields of the content engines and the folder keys used
    (``record`` goes into the run's config.json; ``keys`` is such a record to read the same ones)."""
    keys = keys or {}
    content: dict = {}
    record: dict = {}
    name = config.model
    needs_docs = getattr(model, "needs_documents", False)
    needs_text = getattr(model, "needs_text_features", False)
    needs_joint = getattr(model, "needs_joint", False)
    if needs_docs or config.kind == "rated":
        from artkg.kg.documents import artwork_documents

        docs = artwork_documents(kg)
        if needs_docs and not any(d.strip() for d in docs):
            raise InputError(f"{name} needs artwork text (titles, subjects, genres, materials …) and "
                             f"{kg.root} has none", "use image_similarity, or build the graph with artwork metadata")
        content["documents"] = docs
    try:
        from artkg.models.features_cache import feature_meta, load_features

        meta = feature_meta(kg.root, "image", keys.get("features") or config.features)
        content["feature_mask"] = load_features(kg.root, "image", meta["key"])[1].numpy().astype(bool)
    except (InputError, NotFoundError):
        pass
    if needs_text or config.kind == "rated":
        from artkg.models.features_cache import load_features

        wanted = keys.get("text_features") or config.text_features
        meta = artwork_text_meta(kg.root, wanted)
        if meta is None and (needs_text or wanted):
            raise InputError(f"{name} needs artwork text features and {kg.root} has none"
                             + (f" matching {wanted!r}" if wanted else ""),
                             f"compute them with `artkg features {kg.root} --artwork-text`")
        if meta is not None:
            from artkg.kg.documents import artwork_documents, has_text

            text = load_features(kg.root, "text", meta["key"])["artwork"].numpy().astype(np.float32)
            content["text_features"] = text
            content["text_mask"] = has_text(content.get("documents") or artwork_documents(kg))[:len(text)]
            record["text_features"] = meta["key"]
    if needs_joint:
        from artkg.models.features_cache import feature_meta
        from artkg.models.joint_features import load_joint_features

        wanted = keys.get("joint") or getattr(model, "joint", None)
        try:
            key = feature_meta(kg.root, "joint", wanted)["key"]
            content["joint"] = load_joint_features(kg.root, key)
        except (InputError, NotFoundError) as exc:
            raise InputError(f"{name} with space=joint_features needs a joint feature set in {kg.root} ({exc})",
                             f"compute one with `artkg features {kg.root} --joint-encoder open_clip_joint` "
                             "(or blip_itm, hf_clip_joint)") from None
        record["joint"] = key
    return content, record
