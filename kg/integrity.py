"""What a finished graph directory holds, recorded in its manifest, and the check that it still does.

``manifest["files"]`` maps each file of the build (graph.nt, processed/*, ground_truth.json,
splits.json) to its size and sha256, and each folder of many files (images/) to its file count.
The store (an Oxigraph/RocksDB folder, which writes its own logs when opened) is only checked for
presence; it and the images (which may move: ``--image-root``) only by ``artkg info``. :func:`verify` compares the directory with that record: sizes always (a ``stat`` per
file, so every load can afford it), hashes when ``deep`` (``artkg info``).
"""
from __future__ import annotations

import hashlib
import shlex
from pathlib import Path

from artkg.kg.errors import InputError

#: files recorded with size and hash, when present
HASHED = ("graph.nt", "processed/tensors.safetensors", "processed/nodes.json", "processed/evidence.json",
          "processed/edge_strings.json", "ground_truth.json", "splits.json")
#: folders recorded by their number of files, when present
COUNTED = ("images",)


def sha256(path: Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def _count(folder: Path) -> int:
    return sum(1 for p in folder.iterdir() if p.is_file())


def file_record(root: Path) -> dict:
    """``{relative path: {"size", "sha256"} | {"files": n}}`` of a finished build's files."""
    record: dict[str, dict] = {}
    for name in HASHED:
        p = root / name
        if p.is_file():
            record[name] = {"size": p.stat().st_size, "sha256": sha256(p)}
    for name in COUNTED:
        p = root / name
        if p.is_dir():
            record[name + "/"] = {"files": _count(p)}
    return record


def verify(root: Path, manifest: dict, deep: bool = False) -> list[str]:
    """The problems of a graph directory against its manifest (empty: intact).

    Directories built before sizes were recorded are checked for the presence of their core files.
    """
    problems: list[str] = []
    files = manifest.get("files")
    if files is None:  # an older build: presence only, of what loading reads
        files = {name: {} for name in ("processed/tensors.safetensors", "processed/nodes.json")}
    for name, want in files.items():
        p = root / name
        if name.endswith("/"):  # images: they may move (--image-root), so only `artkg info` checks them
            if not deep:
                continue
            if not p.is_dir():
                problems.append(f"{name} is missing")
            elif "files" in want and _count(p) != want["files"]:
                problems.append(f"{name} holds {_count(p)} files, the build wrote {want['files']}")
            continue
        if not p.is_file():
            problems.append(f"{name} is missing")
            continue
        size = p.stat().st_size
        if "size" in want and size != want["size"]:
            problems.append(f"{name} is {size:,} bytes, the build wrote {want['size']:,} (truncated or replaced)")
        elif deep and "sha256" in want and sha256(p) != want["sha256"]:
            problems.append(f"{name} differs from what the build wrote (sha256 mismatch)")
    if deep and manifest.get("store") and not (root / "store").is_dir():  # loading does not need it
        problems.append("store/ is missing (SPARQL over the graph needs it)")
    return problems


def rebuild_command(root: Path, manifest: dict) -> str:
    """The ``kgbuild`` command that rebuilds the directory (answers cached in raw/ are reused)."""
    source = manifest.get("source") or {}
    kind = source.get("kind")
    out = shlex.quote(str(root))
    then = ""
    if manifest.get("interactions"):  # added afterwards by `kgbuild interactions`
        files = " ".join(shlex.quote(r["file"]) for r in manifest["interactions"])
        then = f" && kgbuild interactions {out} {files}"
    for r in manifest.get("links", []):  # added afterwards by `kgbuild links`, one file each
        named = f" --source {shlex.quote(r['source'])}" if r.get("source") is not None else ""
        then += f" && kgbuild links {out} {shlex.quote(r['file'])}{named}"
    if kind == "synth":
        users = f" --users {source['users']} --taste {source.get('taste', 'mixed')}" if source.get("users") else ""
        if source.get("raters"):
            users += f" --raters {source['raters']} --rater-taste {source.get('rater_taste', 'both')}"
        if source.get("works_per_artist", 10.0) != 10.0:  # not the default: the world differs without it
            users += f" --works-per-artist {source['works_per_artist']}"
        if source.get("motifs"):
            users += f" --motifs {source['motifs']} --known-links {source.get('known_links', 0.5)}"
            if source.get("motif_size") is not None:
                users += f" --motif-size {source['motif_size']}"
        return (f"kgbuild synth --artists {source.get('artists')} --seed {source.get('seed')} "
                f"--image-size {source.get('image_size')}{users} --out {out}{then}")
    if kind == "ugallery":
        return (f"kgbuild ugallery --purchases {shlex.quote(str(source.get('purchases')))} "
                f"--inventory {shlex.quote(str(source.get('inventory')))} --out {out}{then}")
    if kind == "wikidata":
        seeds = " ".join(shlex.quote(s.rsplit("/", 1)[-1]) for s in source.get("seeds", [])[:20])
        return f"kgbuild wikidata {seeds} --hops {source.get('hops')} --out {out}{then}"
    if kind in ("rdf", "wikiart", "artgraph") and source.get("path"):
        return f"kgbuild {kind} {shlex.quote(source['path'])} --out {out}{then}"
    return f"kgbuild … --out {out}"


def check(root: Path, manifest: dict) -> None:
    """Raise one line naming what is broken in ``root`` and how to rebuild it (sizes, not hashes)."""
    problems = verify(root, manifest)
    if problems:
        more = f" (and {len(problems) - 1} more; `artkg info {root}` lists them)" if len(problems) > 1 else ""
        raise InputError(f"the graph directory {root} is damaged: {problems[0]}{more}",
                         f"rebuild it: `{rebuild_command(root, manifest)}`")
