"""2D maps of the collection's visual signatures: a PNG and a self-contained HTML page to explore.

``embed_2d`` lays the signatures (unit vectors, one per work) out in the plane: t-SNE on cosine
distances by default (works close in signature space end up close on the page), PCA for very large
collections (fast, linear), UMAP when ``umap-learn`` is installed. ``map_png`` colours the clusters
(tab20, cycling; noise small and light grey; cluster ids at centroids). ``map_html`` writes one file
that works offline (a canvas and vanilla JavaScript, no CDN): wheel zooms, dragging pans, hovering
shows a work's title, cluster and JPEG thumbnail (decoded with PIL; an unreadable image means no
thumbnail, never an error). Titles are user data: HTML-escaped, in JSON blocks where ``<``, ``>``
and ``&`` are escaped so no title can close its ``<script>``. ``signature_map`` embeds once and writes
``map.png``, ``map.html`` and ``map.json``; every file is written atomically (temporary file, rename).
"""
from __future__ import annotations

import base64
import html
import io
import json
import logging
from pathlib import Path

import numpy as np

from artkg.kg.atomic import atomic_path, write_json
from artkg.kg.errors import InputError

log = logging.getLogger("artkg")

METHODS = ("tsne", "pca", "umap")
#: matplotlib's tab20, hard-coded so that the HTML page needs no matplotlib and matches the PNG.
PALETTE = ("#1f77b4", "#aec7e8", "#ff7f0e", "#ffbb78", "#2ca02c", "#98df8a", "#d62728", "#ff9896", "#9467bd",
           "#c5b0d5", "#8c564b", "#c49c94", "#e377c2", "#f7b6d2", "#7f7f7f", "#c7c7c7", "#bcbd22", "#dbdb8d",
           "#17becf", "#9edae5")
NOISE = "#d0d0d0"
TSNE_SLOW = 20_000  # above this many works t-SNE takes minutes: a warning suggests "pca"
MAX_ANNOTATED = 60  # cluster ids are written on the PNG up to this many clusters


def embed_2d(signatures, method: str = "tsne", seed: int = 0, **kwargs) -> np.ndarray:
    """``[n, 2]`` float64 coordinates of the L2-normalised ``signatures`` (``[n, d]``, n ≥ 3).

    ``"tsne"``: scikit-learn's TSNE (cosine, PCA init, perplexity min(30, (n − 1)/3), seeded);
    ``"pca"``: the two leading principal components (signs fixed); ``"umap"``: umap-learn (cosine,
    seeded). ``kwargs`` override the estimator's defaults. The same input and seed give the same map.
    """
    x = _as_matrix(signatures)
    name = str(method).strip().lower()
    if name not in METHODS:
        raise InputError(f"unknown map method {method!r}", f"use one of {', '.join(METHODS)}")
    if name == "pca":
        if kwargs:
            raise InputError(f"method 'pca' takes no options, got {sorted(kwargs)}", "drop them")
        return _pca_2d(x)
    if name == "umap":
        try:
            import umap
        except ImportError:
            raise InputError("umap-learn is not installed", "pip install umap-learn, or use method='tsne'") from None
        opts = {"n_components": 2, "metric": "cosine", "random_state": int(seed), "n_neighbors": min(15, len(x) - 1)}
        return np.asarray(umap.UMAP(**{**opts, **kwargs}).fit_transform(x), dtype=np.float64)
    if len(x) > TSNE_SLOW:
        log.warning("t-SNE of %d works is slow (minutes to hours); method='pca' maps them in seconds", len(x))
    from sklearn.manifold import TSNE

    opts = {"n_components": 2, "metric": "cosine", "init": "pca", "random_state": int(seed),
            "perplexity": float(min(30.0, max(1.0, (len(x) - 1) / 3)))}
    return np.asarray(TSNE(**{**opts, **kwargs}).fit_transform(x), dtype=np.float64)


def map_png(xy, labels, path, titles=None, highlight=None, title: str | None = None) -> Path:
    """Draw the map to ``path`` (PNG, 1500 × 1200 px): clusters coloured, noise (label < 0) small and
    grey, cluster ids at centroids up to 60 clusters; ``highlight`` (work indices) ringed in black
    and, with ``titles``, named (the first 30)."""
    xy, lab = _check_xy_labels(xy, labels)
    titles = _check_list(titles, len(xy), "titles")
    import matplotlib

    matplotlib.use("Agg")  # files only, never a window
    import matplotlib.patheffects as pe
    import matplotlib.pyplot as plt

    path = Path(path)
    noise = lab < 0
    fig, ax = plt.subplots(figsize=(10, 8))
    try:
        ax.scatter(xy[noise, 0], xy[noise, 1], s=3, c=NOISE, linewidths=0, label="noise")
        ax.scatter(xy[~noise, 0], xy[~noise, 1], s=12, c=[PALETTE[v % len(PALETTE)] for v in lab[~noise]], linewidths=0)
        ids = np.unique(lab[~noise])
        if 0 < len(ids) <= MAX_ANNOTATED:
            stroke = [pe.withStroke(linewidth=2.5, foreground="white")]
            for c in ids:
                cx, cy = xy[lab == c].mean(axis=0)
                ax.annotate(str(c), (cx, cy), xytext=(0, 7), textcoords="offset points", ha="center",
                            va="center", fontsize=8, weight="bold", path_effects=stroke)
        if highlight is not None:
            hi = np.unique(np.asarray(highlight, dtype=np.int64).ravel())
            if len(hi) and (hi.min() < 0 or hi.max() >= len(xy)):
                raise InputError(f"highlight indices outside 0..{len(xy) - 1}", "pass indices of works")
            ax.scatter(xy[hi, 0], xy[hi, 1], s=60, facecolors="none", edgecolors="black", linewidths=1.2)
            for i in hi[:30] if titles is not None else []:  # named: the first 30 only, to stay readable
                ax.annotate(str(titles[i])[:40], xy[i], xytext=(4, 4), textcoords="offset points", fontsize=7)
        ax.set_title(title or "Visual signatures", fontsize=12)
        ax.text(0.0, -0.02, _summary(lab), transform=ax.transAxes, fontsize=9, va="top", color="#444444")
        ax.set(xticks=[], yticks=[])
        ax.set_aspect("equal", adjustable="datalim")
        fig.tight_layout()
        with atomic_path(path) as tmp:
            fig.savefig(tmp, dpi=150, format="png")
    finally:
        plt.close(fig)
    return path


def map_html(xy, labels, path, titles=None, image_paths=None, thumb_size: int = 64, max_thumbnails: int = 3000,
             title: str | None = None) -> Path:
    """Write the map as one self-contained HTML page (see the module docstring) to ``path``."""
    return _write_html(xy, labels, path, titles, image_paths, thumb_size, max_thumbnails, title)["path"]


def signature_map(signatures, labels, out_dir, titles=None, image_paths=None, method: str = "tsne",
                  seed: int = 0) -> dict:
    """Embed once, write ``out_dir/map.png``, ``map.html`` and ``map.json`` (per work: x, y, label,
    title); returns their paths and ``n``, ``clusters``, ``noise``, ``thumbnails``."""
    x = _as_matrix(signatures)
    n = len(x)
    lab = _check_labels(labels, n)
    titles = _check_list(titles, n, "titles")
    image_paths = _check_list(image_paths, n, "image_paths")
    xy = embed_2d(x, method=method, seed=seed)
    out = Path(out_dir)  # atomic_path creates it
    png = map_png(xy, lab, out / "map.png", titles=titles)
    page = _write_html(xy, lab, out / "map.html", titles, image_paths, 64, 3000, None)
    names = titles if titles is not None else [f"work {i}" for i in range(n)]
    works = [{"index": i, "x": float(p[0]), "y": float(p[1]), "label": int(v), "title": str(t)}
             for i, (p, v, t) in enumerate(zip(xy, lab, names))]
    clusters, noise = _counts(lab)
    write_json(out / "map.json", {"method": str(method), "seed": int(seed), "n": n, "clusters": clusters,
                                  "noise": noise, "works": works})
    return {"png": str(png), "html": str(page["path"]), "json": str(out / "map.json"), "n": n,
            "clusters": clusters, "noise": noise, "thumbnails": page["thumbnails"],
            "missing_images": page["missing"]}


# ------------------------------------------------------------------------------------------- html
def _write_html(xy, labels, path, titles, image_paths, thumb_size, max_thumbnails, title) -> dict:
    xy, lab = _check_xy_labels(xy, labels)
    n = len(xy)
    titles = _check_list(titles, n, "titles")
    image_paths = _check_list(image_paths, n, "image_paths")
    if int(thumb_size) < 8 or int(max_thumbnails) < 0:
        raise InputError(f"thumb_size {thumb_size} / max_thumbnails {max_thumbnails} out of range",
                         "use thumb_size >= 8 and max_thumbnails >= 0")
    lo, span = xy.min(axis=0), np.ptp(xy, axis=0).max()
    unit = (xy - lo) / (span if span > 0 else 1.0)
    unit[:, 1] = unit[:, 1].max() - unit[:, 1]  # screen y grows downwards
    names = [html.escape(str(t)) for t in titles] if titles is not None else [f"work {i}" for i in range(n)]
    points = [[round(float(a), 5), round(float(b), 5), int(v), t] for (a, b), v, t in zip(unit, lab, names)]
    data = {"points": points, "palette": list(PALETTE), "noise": NOISE}
    heading, path, count, missing = html.escape(title or "Visual signatures"), Path(path), 0, 0
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8") as f:
        f.write(_HEAD.replace("@TITLE@", heading).replace("@SUMMARY@", html.escape(_summary(lab))))
        f.write(f'<script type="application/json" id="map-data">{_script_json(data)}</script>\n')
        f.write('<script type="application/json" id="map-thumbs">{')
        for i in range(n) if image_paths is not None else ():
            if count >= max_thumbnails:
                break
            uri = _thumbnail(image_paths[i], int(thumb_size))
            if uri is None:
                missing += 1
                continue
            f.write(f'{"," if count else ""}"{i}":"{uri}"')
            count += 1
        f.write("}</script>\n<script>" + _JS + "</script>\n</body>\n</html>\n")
    return {"path": path, "thumbnails": count, "missing": missing}


def _thumbnail(image_path, size: int) -> str | None:
    """A JPEG data URI of the image fitted in ``size`` × ``size``, or None if it cannot be read."""
    if image_path is None or str(image_path) == "":
        return None
    from PIL import Image

    try:
        with Image.open(image_path) as im:
            im.draft("RGB", (size * 2, size * 2))  # JPEG: decode at a reduced scale, much faster
            im = im.convert("RGB")
            im.thumbnail((size, size))
            buf = io.BytesIO()
            im.save(buf, format="JPEG", quality=80)
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):  # PIL's ways to fail
        return None
    return "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _script_json(obj) -> str:
    """JSON that is safe inside <script>: no <, > or & survives (they become \\u escapes)."""
    text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


_HEAD = """<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>@TITLE@</title>
<style>
html,body{margin:0;height:100%;overflow:hidden;font:13px system-ui,sans-serif;background:#fff}
#bar{padding:6px 10px;border-bottom:1px solid #ddd}#bar b{margin-right:1em}#map{display:block;cursor:grab}
#map.drag{cursor:grabbing}
#tip{position:fixed;display:none;pointer-events:none;background:#fff;border:1px solid #999;padding:5px;
max-width:260px;box-shadow:0 2px 6px rgba(0,0,0,.25)}#tip img{display:block;margin-top:4px}
</style></head><body>
<div id="bar"><b>@TITLE@</b><span id="summary">@SUMMARY@</span> · wheel: zoom, drag: pan, hover: details</div>
<canvas id="map"></canvas><div id="tip"></div>
"""

_JS = """(function(){
const $=id=>document.getElementById(id),D=JSON.parse($('map-data').textContent);
const T=JSON.parse($('map-thumbs').textContent);
const P=D.points,cv=$('map'),ctx=cv.getContext('2d'),tip=$('tip');
$('summary').textContent+=', '+Object.keys(T).length+' thumbnails';
const col=l=>l<0?D.noise:D.palette[l%D.palette.length];
let W=0,H=0,k=1,tx=0,ty=0,hov=-1,drag=null;
function draw(){ctx.clearRect(0,0,W,H);
 for(const pass of [0,1])for(let i=0;i<P.length;i++){const p=P[i];if((p[2]<0)===(pass===1))continue;
  ctx.fillStyle=col(p[2]);ctx.beginPath();ctx.arc(p[0]*k+tx,p[1]*k+ty,pass?3.5:2,0,6.2832);ctx.fill();}
 if(hov>=0){const p=P[hov];ctx.strokeStyle='#000';ctx.lineWidth=1.5;ctx.beginPath();
  ctx.arc(p[0]*k+tx,p[1]*k+ty,6,0,6.2832);ctx.stroke();}}
function resize(){const r=window.devicePixelRatio||1,first=!W;W=innerWidth;
 H=innerHeight-$('bar').offsetHeight;cv.width=W*r;cv.height=H*r;
 cv.style.width=W+'px';cv.style.height=H+'px';ctx.setTransform(r,0,0,r,0,0);
 if(first){k=Math.min(W,H)*0.92;tx=(W-k)/2;ty=(H-k)/2;}draw();}
function nearest(mx,my){let best=-1,bd=64;for(let i=0;i<P.length;i++){const dx=P[i][0]*k+tx-mx,
 dy=P[i][1]*k+ty-my,d=dx*dx+dy*dy;if(d<bd){bd=d;best=i;}}return best;}
function show(i,e){if(i<0){tip.style.display='none';return;}const p=P[i];
 tip.innerHTML='<b>'+p[3]+'</b><br>cluster '+(p[2]<0?'none (noise)':p[2])+(T[i]?'<img src="'+T[i]+'">':'');
 tip.style.display='block';const x=e.clientX+14,y=e.clientY+14;
 tip.style.left=Math.min(x,innerWidth-tip.offsetWidth-4)+'px';
 tip.style.top=Math.min(y,innerHeight-tip.offsetHeight-4)+'px';}
cv.addEventListener('wheel',e=>{e.preventDefault();const f=Math.exp(-e.deltaY*0.0015),r=cv.getBoundingClientRect(),
 mx=e.clientX-r.left,my=e.clientY-r.top;tx=mx-(mx-tx)*f;ty=my-(my-ty)*f;k*=f;draw();},{passive:false});
cv.addEventListener('mousedown',e=>{drag=[e.clientX,e.clientY];cv.classList.add('drag');});
addEventListener('mouseup',()=>{drag=null;cv.classList.remove('drag');});
cv.addEventListener('mouseleave',()=>{hov=-1;show(-1);draw();});
cv.addEventListener('mousemove',e=>{if(drag){tx+=e.clientX-drag[0];ty+=e.clientY-drag[1];
 drag=[e.clientX,e.clientY];show(-1);draw();return;}const r=cv.getBoundingClientRect(),
 i=nearest(e.clientX-r.left,e.clientY-r.top);if(i!==hov){hov=i;draw();}show(i,e);});
addEventListener('resize',resize);resize();
})();"""


# ----------------------------------------------------------------------------------------- checks
def _as_matrix(signatures) -> np.ndarray:
    if hasattr(signatures, "detach"):
        signatures = signatures.detach().cpu().numpy()
    x = np.asarray(signatures, dtype=np.float64)
    if x.ndim != 2 or x.shape[1] == 0:
        raise InputError(f"signatures of shape {x.shape} are not [n, d]", "pass one row per work")
    if len(x) < 3:
        raise InputError(f"a map needs at least 3 works, got {len(x)}", "map a larger collection")
    if not np.all(np.isfinite(x)):
        raise InputError("signatures hold NaN or infinite values", "check the backbone's outputs")
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def _pca_2d(x: np.ndarray) -> np.ndarray:
    c = x - x.mean(axis=0)
    _, _, vt = np.linalg.svd(c, full_matrices=False)
    v = vt[:2]
    lead = v[np.arange(len(v)), np.argmax(np.abs(v), axis=1)]
    xy = c @ (v * np.where(lead < 0, -1.0, 1.0)[:, None]).T  # signs fixed: largest loading positive
    return np.pad(xy, ((0, 0), (0, 2 - xy.shape[1]))) if xy.shape[1] < 2 else xy


def _check_labels(labels, n: int) -> np.ndarray:
    lab = np.asarray(labels).ravel()
    if len(lab) != n:
        raise InputError(f"{len(lab)} labels for {n} works", "pass one cluster label per work (-1: noise)")
    if lab.dtype.kind not in "iu" and (lab.dtype.kind != "f" or not np.all(lab == np.round(lab))):
        raise InputError("cluster labels are not integers", "pass the labels from cluster()")
    return lab.astype(np.int64)


def _check_xy_labels(xy, labels) -> tuple[np.ndarray, np.ndarray]:
    xy = np.asarray(xy, dtype=np.float64)
    if xy.ndim != 2 or xy.shape[1] != 2 or not len(xy) or not np.all(np.isfinite(xy)):
        raise InputError(f"map coordinates of shape {xy.shape} are not finite [n, 2]", "pass embed_2d's output")
    return xy, _check_labels(labels, len(xy))


def _check_list(values, n: int, name: str):
    if values is not None and len(values := list(values)) != n:
        raise InputError(f"{len(values)} {name} for {n} works", f"pass one entry of {name} per work")
    return values


def _counts(lab: np.ndarray) -> tuple[int, int]:
    return len(np.unique(lab[lab >= 0])), int((lab < 0).sum())  # clusters, noise (any label < 0)


def _summary(lab: np.ndarray) -> str:
    return "{} works, {} clusters, {} noise".format(len(lab), *_counts(lab))
