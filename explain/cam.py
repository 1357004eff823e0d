"""Image-side explanations: Grad-CAM heatmaps through the ``grad-cam`` package (pytorch_grad_cam).

:class:`ClassHeadModel` makes the run's image path one network — pixels → the encoder that made
the features → standardisation → GraphCLIP's image projection → cosine logits against the stored
class-node embeddings — so the class embeddings play the encoder's classification head (any run's
``predict_features`` works the same way, baselines included).

The layer is chosen from the encoder (:func:`pick_layer`), or given by module path:

- a **ViT** (open_clip, Hugging Face CLIP/ViT): the last block's first norm (``ln_1`` /
  ``layer_norm1`` / ``layernorm_before``), whose tokens :func:`tokens_to_grid` turns into a
  ``[B, C, h, w]`` map after dropping the class token — not the patch-embedding convolution, whose
  map only sees single patches;
- a **CNN**: the last convolutional block (EfficientNet's head convolution + BatchNorm, ResNet's
  ``layer4[-1]``).

:class:`SimilarityTarget` explains retrieval instead of a class: the cosine similarity of image A's
embedding with image B's, optionally after a projection head (e.g. :func:`projection_head`, the
run's image projection), answering "which parts of A make it close to B?".
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from artkg.explain.config import CamConfig, CamMethod
from artkg.kg.atomic import atomic_path
from artkg.kg.errors import InputError
from torch import Tensor, nn

# Where each encoder keeps the layer Grad-CAM reads, first match wins ("-1": the last child).
# EfficientNet: the head convolution (through its BatchNorm) is the last convolutional block and
# what the features pool; its activation cannot be hooked (the stem reuses the same Swish module).
LAYER_RULES: dict[str, tuple[str, ...]] = {
    "efficientnet_lite": ("net._bn1",),
    "torchvision_resnet": ("net.layer4.-1",),
    "open_clip_image": ("visual.transformer.resblocks.-1.ln_1", "visual.layer4.-1",
                        "visual.trunk.blocks.-1.norm1", "visual.trunk.stages.-1"),
    "hf_image": ("net.vision_model.encoder.layers.-1.layer_norm1", "net.encoder.layer.-1.layernorm_before",
                 "net.vit.encoder.layer.-1.layernorm_before", "net.encoder.stages.-1", "net.resnet.encoder.stages.-1"),
}
# Names of a transformer block's first norm, for encoders without a rule.
VIT_NORMS = ("norm1", "ln_1", "layer_norm1", "layernorm_before")

METHOD_NAMES = {"gradcam": "Grad-CAM", "gradcam++": "Grad-CAM++", "hirescam": "HiResCAM", "layercam": "LayerCAM"}
CAM_METHODS = {CamMethod.gradcam: "GradCAM", CamMethod.gradcam_plus_plus: "GradCAMPlusPlus",
               CamMethod.hirescam: "HiResCAM", CamMethod.layercam: "LayerCAM"}


# ------------------------------------------------------------------ models and targets
class ClassHeadModel(nn.Module):
    """pixels [B, 3, H, W] → the run's image-only logits for one task [B, C]."""

    def __init__(self, encoder: nn.Module, model, task: str):
        super().__init__()
        self.encoder, self.model, self.task = encoder, model, task

    def forward(self, pixels: Tensor) -> Tensor:
        return self.model.predict_features(self.encoder(pixels).float())[self.task]


class Standardize(nn.Module):
    """The run's feature standardisation (training mean and standard deviation)."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, x: Tensor) -> Tensor:
        return self.model.standardize(x)


def projection_head(model) -> nn.Module:
    """The run's image embedding head (standardisation + projection): GraphCLIP's image space."""
    if not hasattr(model, "image_proj"):
        raise InputError(f"the {type(model).__name__} model has no image projection",
                         "use a graphclip run, or compare raw encoder embeddings (head=None)")
    return nn.Sequential(Standardize(model), model.image_proj).eval()


class SimilarityTarget:
    """Grad-CAM target: ``cos(head(embedding of A), reference)`` — the reference is B's (head) embedding."""

    def __init__(self, reference: Tensor, head: nn.Module | None = None):
        self.reference, self.head = reference.detach().flatten(), head

    def __call__(self, model_output: Tensor) -> Tensor:
        z = self.head(model_output[None])[0] if self.head is not None else model_output
        return F.cosine_similarity(z, self.reference.to(z.device), dim=0)


# ------------------------------------------------------------------ layers
def find_module(root: nn.Module, path: str) -> nn.Module:
    """A submodule by dotted path; numeric parts index (negative from the end)."""
    module = root
    for part in path.split("."):
        if part.lstrip("-").isdigit() and isinstance(module, (nn.Sequential, nn.ModuleList)):
            module = module[int(part)]
        elif part in getattr(module, "_modules", {}):
            module = module._modules[part]
        else:
            raise KeyError(part)
    return module


def pick_layer(encoder: nn.Module, name: str | None = None) -> tuple[str, nn.Module]:
    """The layer Grad-CAM reads: ``name`` if given, else by the encoder's kind (see module docstring)."""
    if name:
        try:
            return name, find_module(encoder, name)
        except (KeyError, IndexError) as exc:
            raise InputError(f"the image encoder has no layer {name!r}",
                             "give a module path such as net._blocks.-1 (see print(encoder))") from exc
    for path in LAYER_RULES.get(getattr(encoder, "kind", ""), ()):
        try:
            return path, find_module(encoder, path)
        except (KeyError, IndexError):
            continue
    named = list(encoder.named_modules())
    norms = [(n, m) for n, m in named if n.rsplit(".", 1)[-1] in VIT_NORMS]
    if norms:
        return norms[-1]
    convs = [(n, m) for n, m in named if isinstance(m, nn.Conv2d)]
    if convs:
        return convs[-1]
    raise InputError(f"cannot tell which layer of {type(encoder).__name__} to explain",
                     "name one with --cam-layer (a module path)")


def tokens_to_grid(tokens: Tensor, batch: int) -> Tensor:
    """A ViT layer's tokens ``[B, T, C]`` (or ``[T, B, C]``) → ``[B, C, h, w]`` without the class token."""
    if tokens.dim() == 4:
        return tokens
    if tokens.dim() != 3:
        raise InputError(f"cannot turn a layer output of shape {tuple(tokens.shape)} into a map",
                         "choose a convolutional or transformer-block layer with --cam-layer")
    if tokens.shape[0] != batch and tokens.shape[1] == batch:  # sequence-first transformers
        tokens = tokens.transpose(0, 1)
    n = tokens.shape[1]
    for drop in (1, 0):  # one class token, or none (pooled ViTs)
        side = math.isqrt(n - drop)
        if side * side == n - drop:
            grid = tokens[:, drop:]
            return grid.reshape(tokens.shape[0], side, side, tokens.shape[2]).permute(0, 3, 1, 2)
    raise InputError(f"{n} tokens do not form a square patch grid (with or without a class token)",
                     "choose another layer with --cam-layer")


# ------------------------------------------------------------------ computing maps
@dataclass
class CamResult:
    """One heatmap: ``heatmap`` [H, W] in [0, 1] at the network's input size, and what it explains."""

    heatmap: np.ndarray
    image: Path | None
    target: dict  # {"kind": "class", "index", "iri", "label", "score"} or {"kind": "similarity", …}
    layer: str
    method: str
    predictions: list[dict] = field(default_factory=list)
    view: np.ndarray | None = None  # the picture as the network saw it, RGB in [0, 1], display size
    #: the explained artwork as a person names it (``display``: "Title (1502) by Artist"), if from the graph
    subject: dict | None = None
    reference_view: np.ndarray | None = None  # similarity: the candidate's picture, as the network saw it
    reference_subject: dict | None = None
    drawn: dict | None = None  # the texts on the PNG (``suptitle``, ``titles``), once written

    @property
    def title(self) -> str:
        """The artwork(s) the map is about, as a person names them."""
        return f"{self.name()} vs {self.name(True)}" if self.target["kind"] == "similarity" else self.name()

    @property
    def caption(self) -> str:
        """What the map shows and the score it explains — the heatmap's title and the terminal's line."""
        method = METHOD_NAMES.get(self.method, self.method)
        t = self.target
        if t["kind"] == "class":
            why = {"full_model_prediction": "the full model's prediction; ", "given": "given; "}.get(t.get("explained"), "")
            return f"{method} for {t['task']} class '{t['label']}' ({why}image-only probability {t['score']:.2f})"
        r = t.get("reading") or {}
        if r.get("similarity") is None:
            return f"{method} of what makes the query close to the candidate (cosine {t['cosine']:.3f})"
        return (f"{method} of what makes the query close to the candidate: similarity {r['similarity']:.3f} "
                f"({r['distance_name']} {r['distance']:.3f})")

    def name(self, reference: bool = False) -> str:
        """The artwork's display name, else the image file's name."""
        subject = self.reference_subject if reference else self.subject
        if subject and subject.get("display"):
            return subject["display"]
        image = self.target.get("reference") if reference else self.image
        return Path(image).name if image else "?"

    def to_dict(self) -> dict:
        return {"image": str(self.image) if self.image else None, "target": self.target, "layer": self.layer,
                "method": self.method, "caption": self.caption, "title": self.title,
                "predictions": self.predictions, "shape": list(self.heatmap.shape),
                "constant": bool(float(self.heatmap.max() - self.heatmap.min()) < 1e-6),
                **({"drawn": self.drawn} if self.drawn else {})}


def grad_cam(model: nn.Module, layer: nn.Module, pixels: Tensor, targets: list[Callable],
             method: CamMethod = CamMethod.gradcam, batch: int | None = None) -> np.ndarray:
    """pytorch_grad_cam's map(s) ``[B, H, W]`` for ``pixels`` and one target per image."""
    import pytorch_grad_cam

    cls = getattr(pytorch_grad_cam, CAM_METHODS[CamMethod(method)])
    b = batch or pixels.shape[0]
    pixels = pixels.detach().clone().requires_grad_(True)  # gradients reach the layer even for frozen weights
    with cls(model=model, target_layers=[layer], reshape_transform=lambda t: tokens_to_grid(t, b)) as cam:
        return cam(input_tensor=pixels, targets=targets)


def _open(path: str | Path, size: int):
    from artkg.models.images import load_image

    path = Path(path)
    if not path.is_file():
        raise InputError(f"no image file at {path}", "pass an existing image file (PNG, JPEG …)")
    try:
        return load_image(path, size)
    except ValueError as exc:
        raise InputError(f"cannot read the image {path}: {exc}", "pass a readable image file (PNG, JPEG …)") from exc


def display_view(picture, encoder: nn.Module, size: int) -> np.ndarray:
    """The part of ``picture`` the encoder sees (centre crop or squash, as it preprocesses), RGB [0, 1]."""
    from PIL import Image

    mode = getattr(encoder, "resize_mode", None) or getattr(encoder, "_preprocess_cfg", {}).get("resize_mode")
    img = picture.convert("RGB")
    if mode != "squash":  # every encoder here centre-crops unless told to squash
        side = min(img.size)
        left, top = (img.width - side) // 2, (img.height - side) // 2
        img = img.crop((left, top, left + side, top + side))
    img = img.resize((size, size), Image.Resampling.BICUBIC)
    return np.asarray(img, dtype=np.float32) / 255.0


def explain_image(ctx, image: str | Path | None = None, artwork: str | int | None = None, task: str | None = None,
                  target: str | int | None = None, config: CamConfig | None = None,
                  top_k: int = 5) -> CamResult:
    """Grad-CAM of the run's image-only prediction for an image file or an artwork's picture.

    ``target`` names the class to explain (default: the predicted one).
    """
    config = config or CamConfig()
    task = ctx.task(task)
    subject = None
    if image is None:
        if artwork is None:
            raise InputError("nothing to explain: no image and no artwork", "pass --image FILE or --artwork ID")
        from artkg.explain.readable import node_details

        index = ctx.artwork_index(artwork)
        image = ctx.artwork_image(index)
        subject = {"label": ctx.graph.label_of("artwork", index), **node_details(ctx.graph, "artwork", index)}
    encoder = ctx.encoder
    picture = _open(image, encoder.image_size)
    pixels = encoder.preprocess(picture)[None]
    head = ClassHeadModel(encoder, ctx.model, task).eval()
    with torch.no_grad():
        probs = head(pixels).softmax(-1)[0]
    classes = ctx.classes(task)
    index = int(probs.argmax()) if target is None else ctx.class_index(task, target)
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

    name, layer = pick_layer(encoder, config.layer)
    heatmap = grad_cam(head, layer, pixels, [ClassifierOutputTarget(index)], config.method)[0]
    k = min(top_k, len(classes))
    scores, idx = probs.topk(k)
    predictions = [{"index": int(j), "iri": classes[j]["iri"], "label": classes[j]["label"], "score": round(float(s), 4)}
                   for s, j in zip(scores, idx.tolist())]
    return CamResult(heatmap.astype(np.float32), Path(image),
                     {"kind": "class", "task": task, "index": index, "iri": classes[index]["iri"],
                      "label": classes[index]["label"], "score": round(float(probs[index]), 4),
                      "explained": "predicted" if target is None else "given"},
                     "encoder." + name, CamMethod(config.method).value, predictions,
                     display_view(picture, encoder, max(config.display_size, encoder.image_size)), subject)


def similarity_reading(score: float, metric: str = "cosine", source: str = "the map's cosine") -> dict:
    """A similarity as ``artkg influence`` prints it (``retrieval.query.readable_score``): in [0, 1],
    with the distance it comes from and that distance's name."""
    from artkg.retrieval.query import DISTANCE, readable_score

    return {**readable_score(score, metric), "distance_name": DISTANCE.get(metric), "metric": metric,
            "source": source}


def similarity_cam(encoder: nn.Module, image_a: str | Path, image_b: str | Path, head: nn.Module | None = None,
                   config: CamConfig | None = None) -> CamResult:
    """Which parts of image A make it similar to image B (cosine of their embeddings, after ``head``)."""
    config = config or CamConfig()
    encoder = encoder.eval()
    a, b = _open(image_a, encoder.image_size), _open(image_b, encoder.image_size)
    pa, pb = encoder.preprocess(a)[None], encoder.preprocess(b)[None]
    with torch.no_grad():
        zb = encoder(pb).float()
        zb = head(zb) if head is not None else zb
        za = encoder(pa).float()
        za = head(za) if head is not None else za
        similarity = float(F.cosine_similarity(za, zb).item())
    name, layer = pick_layer(encoder, config.layer)
    heatmap = grad_cam(encoder, layer, pa, [SimilarityTarget(zb[0], head)], config.method)[0]
    return CamResult(heatmap.astype(np.float32), Path(image_a),
                     {"kind": "similarity", "reference": str(image_b), "cosine": round(similarity, 4),
                      "reading": similarity_reading(similarity, "cosine"),
                      "head": type(head).__name__ if head is not None else None},
                     "encoder." + name, CamMethod(config.method).value, [],
                     display_view(a, encoder, max(config.display_size, encoder.image_size)),
                     reference_view=display_view(b, encoder, max(config.display_size, encoder.image_size)))


# ------------------------------------------------------------------ files
def overlay(result: CamResult) -> np.ndarray:
    """The heatmap over the picture (uint8 RGB), at the view's size."""
    import cv2
    from pytorch_grad_cam.utils.image import show_cam_on_image

    view = result.view
    heat = cv2.resize(result.heatmap, (view.shape[1], view.shape[0]), interpolation=cv2.INTER_LINEAR)
    return show_cam_on_image(view, np.clip(heat, 0, 1), use_rgb=True, image_weight=0.55)


def _wrap(text: str, width: int) -> str:
    import textwrap

    return "\n".join(textwrap.wrap(text, width, max_lines=2, placeholder="…"))


def _lines(*texts: str, width: int) -> str:
    """Each text on lines of at most ``width`` characters (long titles and class names stay inside the figure)."""
    import textwrap

    return "\n".join(line for text in texts for line in textwrap.wrap(text, width, break_on_hyphens=False))


def cam_figure(result: CamResult):
    """The figure of a heatmap and the texts drawn on it: ``(fig, {"suptitle", "titles"})``.

    A class map: the picture | the overlay, titled with the artwork (title, year, artist) and
    :attr:`CamResult.caption`. A similarity map: the query | the candidate | the overlay on the
    query, titled with both artworks and the similarity score.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    similarity = result.target["kind"] == "similarity" and result.reference_view is not None
    if similarity:
        fig, axes = plt.subplots(1, 3, figsize=(12, 5.2), layout="constrained")
        panels = [(result.view, "query: " + result.name()), (result.reference_view, "candidate: " + result.name(True)),
                  (overlay(result), "what in the query makes it close to the candidate")]
        suptitle = _lines(result.title, result.caption, width=120)
    else:
        fig, axes = plt.subplots(1, 2, figsize=(9, 5.4), layout="constrained")
        label = result.target.get("label")
        panels = [(result.view, "the picture (as the encoder sees it)"),
                  (overlay(result), "red: what speaks for the class" if label else "the map over the picture")]
        suptitle = _lines(result.title, result.caption, width=95)
    titles = []
    for ax, (img, title) in zip(axes, panels):
        ax.imshow(img)
        titles.append(_wrap(title, 44))
        ax.set_title(titles[-1], fontsize=9)
        ax.axis("off")
    fig.suptitle(suptitle, fontsize=11)
    fig.get_layout_engine().set(h_pad=0.1)
    fig.supxlabel(f"{METHOD_NAMES.get(result.method, result.method)} on the layer {result.layer}; "
                  "red: what raises the score, blue: what does not", fontsize=8, color="#555555")
    return fig, {"suptitle": suptitle, "titles": titles}


def write_cam_files(result: CamResult, out: str | Path, stem: str = "heatmap") -> dict[str, str]:
    """``{stem}.png`` (see :func:`cam_figure`) and ``{stem}.npy`` (the map)."""
    import matplotlib.pyplot as plt

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    npy, png = out / f"{stem}.npy", out / f"{stem}.png"
    with atomic_path(npy) as tmp, open(tmp, "wb") as fh:
        np.save(fh, result.heatmap.astype(np.float32))
    fig, result.drawn = cam_figure(result)
    with atomic_path(png) as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)
    return {"png": str(png), "npy": str(npy)}
