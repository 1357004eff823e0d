"""Find an artwork's image (its P18 value) on the local disk and decode it with bounded memory.

Where an image is looked for, in order:

1. a ``file://`` IRI → that path;
2. ``GRAPH_DIR/images/<file name>`` (the synthetic world keeps its PNGs there);
3. with an image root ``DIR``: ``DIR/<the IRI's path>``, then that path with leading folders
   dropped one by one, down to ``DIR/<file name>`` — so the WikiArt IRI
   ``https://w3id.org/artkg/wikiart/image/Impressionism/x.jpg`` finds ``DIR/Impressionism/x.jpg``
   under the ArtGAN image root, and a Commons ``Special:FilePath/x.jpg`` finds ``DIR/x.jpg``.

Nothing is downloaded: an http(s) image not found locally is skipped with a reason.
"""
from __future__ import annotations

import warnings
from pathlib import Path
from urllib.parse import unquote, urlsplit
from urllib.request import url2pathname


def image_candidates(iri: str, graph_root: str | Path | None = None,
                     image_root: str | Path | None = None) -> list[Path]:
    """Local paths that may hold the image ``iri``, most specific first."""
    parts = urlsplit(iri)
    if parts.scheme == "file":
        return [Path(url2pathname(unquote(parts.path)))]
    if not parts.scheme:  # a bare relative or absolute path
        path = Path(iri)
        roots = [r for r in (image_root, graph_root) if r is not None]
        return [path] if path.is_absolute() else [Path(r) / path for r in roots] + [path]
    segments = [unquote(s) for s in parts.path.split("/") if s and s not in (".", "..")]
    if not segments:
        return []
    found = []
    if graph_root is not None:
        found.append(Path(graph_root) / "images" / segments[-1])
    if image_root is not None:
        found += [Path(image_root).joinpath(*segments[i:]) for i in range(len(segments))]
    return found


def resolve_image(iri: str | None, graph_root: str | Path | None = None,
                  image_root: str | Path | None = None) -> tuple[Path | None, str | None]:
    """``(path, None)`` for an image found on disk, else ``(None, reason)``."""
    if not iri:
        return None, "the artwork has no image (P18)"
    candidates = image_candidates(iri, graph_root, image_root)
    for path in candidates:
        if path.is_file():
            return path, None
    if urlsplit(iri).scheme == "file":
        return None, f"file not found: {candidates[0]}"
    if image_root is not None:
        return None, f"not available locally (no {candidates[-1].name} under {image_root})"
    where = f" (not in {candidates[0].parent})" if graph_root is not None and candidates else ""
    return None, f"not available locally{where}; pass --image-root DIR with the image files"


def load_image(path: str | Path, min_side: int = 224):
    """Decode ``path`` to an RGB PIL image whose shorter side is about ``2 × min_side`` at most.

    JPEGs are decoded at a reduced scale (``Image.draft``) and anything larger is shrunk, so a
    large scan never sits in memory at full size for long. Raises ``ValueError`` with a reason for
    files that are not readable images (unknown format, truncated, beyond PIL's decompression-bomb
    limit).
    """
    from PIL import Image, UnidentifiedImageError

    target = 2 * int(min_side)
    try:
        with warnings.catch_warnings():
            # Big museum scans (> 89 Mpx) are legitimate; PIL's hard limit (2×) still applies.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as img:
                img.draft("RGB", (target, target))  # JPEG: decode at 1/2, 1/4 or 1/8 scale
                img.load()
                shorter = min(img.size)
                if shorter > target:
                    scale = target / shorter
                    box = (max(1, round(img.width * scale)), max(1, round(img.height * scale)))
                    img.thumbnail(box, Image.Resampling.BICUBIC, reducing_gap=2.0)
                return img.convert("RGB")
    except UnidentifiedImageError:
        raise ValueError("not an image PIL can read (corrupt or unknown format)") from None
    except Image.DecompressionBombError as exc:
        raise ValueError(f"image too large to decode safely: {exc}") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise ValueError(f"could not decode the image: {exc}") from None
