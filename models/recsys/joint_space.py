"""artkg's own joint image–text space: a CLIP-style contrastive alignment of a graph's frozen image
features and artwork text features, with a ``gap`` knob — :func:`train_joint_space`.

"Together Yet Apart" (Yilma & Leiva, UMAP 2023) found that early fusion helps only when the joint
space is *entangled* (a small modality gap, BLIP) and not when it is *separated* (CLIP). Hub CLIP and
BLIP weights cannot be loaded everywhere, and their gap cannot be changed; this module learns a joint
space on the graph's own features where it can, so both kinds are compared on the same data.

Two small projection towers map image features and text features into ``dim`` dimensions; the loss
is the symmetric InfoNCE of CLIP over the artworks that have both (a painting's image and its own
metadata text are the positive pair, the batch's other paintings the negatives). The knob:

* ``gap="separated"``: separate projection heads, a low temperature (0.01), no centring — the
  set-up under which contrastive training keeps the two modalities in two cones (Liang et al. 2022,
  "Mind the Gap").
* ``gap="entangled"``: one projection head shared by both modalities (after a modality-specific input
  layer), a higher temperature (0.1), and each modality centred on its own mean in the joint space
  before normalisation (Liang et al.'s "shift" that closes the gap).

Each of ``shared_head``, ``temperature`` and ``center`` can be set on its own over the preset. The
gap that results is measured, not assumed (:mod:`artkg.models.recsys.gap`). Training is seeded and
deterministic on the CPU.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from artkg.kg.errors import InputError

log = logging.getLogger("artkg")
GAP_PRESETS = {"separated": {"shared_head": False, "temperature": 0.01, "center": False},
               "entangled": {"shared_head": True, "temperature": 0.1, "center": True}}


@dataclass
class JointSpace:
    """The trained space's embeddings of every painting: ``image`` and ``text`` (n × dim, unit rows;
    zero rows where that modality is missing) and the training record."""

    image: np.ndarray
    text: np.ndarray
    info: dict

    def fused(self) -> np.ndarray:
        """One embedding per painting: the normalised mean of its two modalities (one of them where
        the other is missing)."""
        both = self.image + self.text
        norm = np.linalg.norm(both, axis=1, keepdims=True)
        return np.where(norm > 0, both / np.maximum(norm, 1e-12), 0.0).astype(np.float32)


def gap_options(gap: str, shared_head: bool | None = None, temperature: float | None = None,
                center: bool | None = None) -> dict:
    """The preset of ``gap`` with any explicitly given option over it."""
    if gap not in GAP_PRESETS:
        raise InputError(f"unknown gap {gap!r}", f"choose one of {', '.join(GAP_PRESETS)}")
    opts = dict(GAP_PRESETS[gap])
    for key, value in (("shared_head", shared_head), ("temperature", temperature), ("center", center)):
        if value is not None:
            opts[key] = value
    if not opts["temperature"] > 0:
        raise InputError(f"temperature must be positive (got {opts['temperature']})", "e.g. 0.07")
    return opts


def _zscore(x: np.ndarray, rows: np.ndarray) -> np.ndarray:
    mu, sd = x[rows].mean(0), x[rows].std(0)
    return ((x - mu) / np.where(sd > 1e-8, sd, 1.0)).astype(np.float32)


def train_joint_space(image: np.ndarray, text: np.ndarray, image_mask: np.ndarray | None = None,
                      text_mask: np.ndarray | None = None, gap: str = "entangled", dim: int = 64,
                      hidden: int = 256, epochs: int = 40, batch_size: int = 256, lr: float = 1e-3,
                      shared_head: bool | None = None, temperature: float | None = None,
                      center: bool | None = None, seed: int = 0, progress: bool = False) -> JointSpace:
    """Align ``image`` (n × d_i) and ``text`` (n × d_t) features of the same n paintings; the
    ``*_mask`` say which rows exist (default: all)."""
    import torch
    from tqdm.auto import tqdm

    opts = gap_options(gap, shared_head, temperature, center)
    n = len(image)
    if len(text) != n:
        raise InputError(f"{n} image rows but {len(text)} text rows", "pass features of the same paintings")
    image_mask = np.ones(n, bool) if image_mask is None else np.asarray(image_mask, bool)
    text_mask = np.ones(n, bool) if text_mask is None else np.asarray(text_mask, bool)
    pairs = np.flatnonzero(image_mask & text_mask)
    if len(pairs) < 4:
        raise InputError(f"only {len(pairs)} paintings have both image and text features; a joint space needs more",
                         "compute both: `artkg features GRAPH_DIR --artwork-text`")
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    xi = torch.from_numpy(_zscore(np.asarray(image, np.float32), np.flatnonzero(image_mask)))
    xt = torch.from_numpy(_zscore(np.asarray(text, np.float32), np.flatnonzero(text_mask)))
    net = _Towers(xi.shape[1], xt.shape[1], hidden, dim, opts["shared_head"])
    optim = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=1e-4)
    scale = 1.0 / opts["temperature"]
    idx = torch.from_numpy(pairs)
    losses = []
    for _ in tqdm(range(epochs), desc=f"joint space ({gap})", disable=not progress, leave=False):
        net.train()
        order = idx[torch.randperm(len(idx), generator=gen)]
        total, batches = 0.0, 0
        for start in range(0, len(order), batch_size):
            b = order[start:start + batch_size]
            if len(b) < 2:
                continue
            zi, zt = net(xi[b], xt[b])
            if opts["center"]:
                zi, zt = zi - zi.mean(0, keepdim=True), zt - zt.mean(0, keepdim=True)
            zi, zt = torch.nn.functional.normalize(zi, dim=1), torch.nn.functional.normalize(zt, dim=1)
            logits = scale * zi @ zt.T
            target = torch.arange(len(b))
            loss = (torch.nn.functional.cross_entropy(logits, target)
                    + torch.nn.functional.cross_entropy(logits.T, target)) / 2
            optim.zero_grad()
            loss.backward()
            optim.step()
            total, batches = total + loss.item(), batches + 1
        losses.append(total / max(batches, 1))
    net.eval()
    with torch.no_grad():
        zi, zt = net(xi, xt)
        if opts["center"]:  # the training paintings' mean per modality, as in training
            zi = zi - zi[torch.from_numpy(np.flatnonzero(image_mask))].mean(0, keepdim=True)
            zt = zt - zt[torch.from_numpy(np.flatnonzero(text_mask))].mean(0, keepdim=True)
        zi = torch.nn.functional.normalize(zi, dim=1).numpy()
        zt = torch.nn.functional.normalize(zt, dim=1).numpy()
    zi[~image_mask], zt[~text_mask] = 0.0, 0.0
    info = {"gap": gap, **opts, "dim": dim, "epochs": epochs, "pairs": int(len(pairs)),
            "final_loss": round(losses[-1], 4) if losses else None}
    log.info("joint space (%s): %d pairs, final loss %s", gap, len(pairs), info["final_loss"])
    return JointSpace(zi.astype(np.float32), zt.astype(np.float32), info)


def _Towers(d_image: int, d_text: int, hidden: int, dim: int, shared_head: bool):
    import torch

    class Towers(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.image_in = torch.nn.Linear(d_image, hidden)
            self.text_in = torch.nn.Linear(d_text, hidden)
            head = lambda: torch.nn.Sequential(torch.nn.GELU(), torch.nn.Linear(hidden, dim))  # noqa: E731
            self.image_head = head()
            self.text_head = self.image_head if shared_head else head()

        def forward(self, xi, xt):
            return self.image_head(self.image_in(xi)), self.text_head(self.text_in(xt))

    return Towers()
