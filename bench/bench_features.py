"""Feature-extraction benchmark: ``extract_features`` (EfficientNet-Lite0) against the bare model forward.

Input (generated once, cached under ``bench/out/features_input/<hash>/``): a graph directory built
with ``build_graph("rdf", …)`` from ``_synthetic.write_art_ntriples`` (artworks whose ``P18`` is a
Commons file name) and one JPEG per artwork in an image folder found through ``image_root``:
painting-like pictures (smooth colour fields, brush-stroke texture, grain), long side ``--side``
(512 px by default; landscape, portrait and square), quality 90, ~60–110 KiB each — decoding them
is real work.

Both variants run in one fresh process, on the same encoder instance (real ImageNet weights, built
before the clock starts), with the same ``torch.set_num_threads``, interleaved ``--repeat`` times:

* ``bare``: ``with torch.no_grad(): encoder(x)`` for each batch ``x`` of the images already decoded
  and preprocessed (``load_image`` + ``encoder.preprocess``, done before timing), in the same
  order and batch size as the pipeline;
* ``ours``: ``extract_features(graph, encoder, None, None, batch_size=B, device="cpu",
  image_root=…, progress=False)`` into a fresh feature folder: graph load, image lookup, decoding,
  preprocessing, the forward, the ``.npy`` memory maps, progress and ``meta.json`` — everything;
* ``ours before`` (full runs with ``--num-workers 0``): the same call with the pipeline's decoder
  thread replaced by plain iteration (``features._prefetched`` patched to the identity) — the
  pipeline as it was before decoding was overlapped with the forward;
* ``decode only`` (for reference): ``load_image`` + ``preprocess`` of every image, one by one.

``ours`` decodes in one background thread besides the ``--threads`` torch threads, so it needs a
spare core to hide the decoding; on a machine whose cores are all busy the overlap shrinks.

Throughput = images / second; the headline is ours / bare (goal ≥ 0.9). The features written by
``ours`` are compared with the bare forward's (max abs difference).

Usage: ``python bench/bench_features.py [--quick] [--images N] [--batch-size B] [--threads T]
[--repeat R] [--side PX] [--num-workers W]``. Table on stdout, JSON in ``bench/out/bench_features.json``.
"""
from __future__ import annotations

import argparse
import hashlib
import inspect
import json
import shutil
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (
    OUT,
    interleaved,
    log,
    machine,
    peak_rss_mib,
    run_worker,
    set_threads,
    table,
    write_json,
)

SCRIPT = Path(__file__).resolve()


# ---------------------------------------------------------------------------------- input
def painting_jpeg(path: Path, rng, side: int, quality: int = 90) -> None:
    """A painting-like JPEG: smooth colour fields, oriented brush-stroke texture and grain."""
    import numpy as np
    from PIL import Image

    shape = rng.integers(0, 3)
    w, h = (side, side * 3 // 4) if shape == 0 else (side * 3 // 4, side) if shape == 1 else (side * 7 // 8,) * 2
    coarse = (rng.random((rng.integers(3, 7), rng.integers(3, 7), 3)) * 255).astype(np.uint8)
    base = np.asarray(Image.fromarray(coarse).resize((w, h), Image.Resampling.BICUBIC), dtype=np.float32)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    angle, freq = rng.random() * np.pi, 0.05 + rng.random() * 0.25
    strokes = np.sin((xx * np.cos(angle) + yy * np.sin(angle)) * freq + 3 * np.sin(yy * 0.02 + xx * 0.013))
    texture = strokes[..., None] * (12 + 20 * rng.random(3)).astype(np.float32)
    grain = rng.normal(0, 6, size=(h, w, 1)).astype(np.float32)
    pixels = np.clip(base + texture + grain, 0, 255).astype(np.uint8)
    Image.fromarray(pixels).save(path, format="JPEG", quality=quality)


def prepare(n_images: int, side: int) -> tuple[Path, Path]:
    """The cached graph directory and image folder for ``n_images`` artworks (± a few)."""
    import numpy as np
    from _synthetic import write_art_ntriples

    key = hashlib.sha256((inspect.getsource(painting_jpeg) + f"{n_images}:{side}:v1").encode()).hexdigest()[:12]
    root = OUT / "features_input" / key
    graph_dir, images = root / "graph", root / "images"
    if (root / "done").exists():
        return graph_dir, images
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    works_per_artist = 8.0
    n_triples = int(3000 + (n_images / works_per_artist) * (13.5 + works_per_artist * 10.7))
    nt = root / "world.nt"
    write_art_ntriples(nt, n_triples=n_triples, seed=0, works_per_artist=works_per_artist)
    from artkg.kg.builders import build_graph
    from artkg.kg.graph import load_graph

    build_graph("rdf", graph_dir, path=nt, build_store=False)
    nt.unlink()
    graph = load_graph(graph_dir)
    images.mkdir()
    rng = np.random.default_rng(0)
    t0 = time.perf_counter()
    for iri in graph.images:
        if iri:
            painting_jpeg(images / iri.rsplit("/", 1)[-1], rng, side)
    log(f"[bench_features] {graph.num_nodes('artwork')} JPEGs written in {time.perf_counter() - t0:.1f} s")
    (root / "done").write_text("ok\n")
    return graph_dir, images


# ---------------------------------------------------------------------------------- worker
def worker(graph_dir: Path, images: Path, batch_size: int, threads: int, repeat: int, image_size: int,
           num_workers: int, serial: bool) -> dict:
    import numpy as np
    import torch
    import torch.utils.data
    import tqdm.auto  # noqa: F401
    from artkg.kg.graph import load_graph
    from artkg.models import features
    from artkg.models.encoders_image import make_image_encoder
    from artkg.models.features import extract_features
    from artkg.models.features_cache import FEATURES, load_features
    from artkg.models.images import load_image, resolve_image

    set_threads(threads)
    encoder = make_image_encoder("efficientnet_lite", image_size=image_size).eval()
    graph = load_graph(graph_dir)
    paths = [resolve_image(iri, graph.root, images)[0] for iri in graph.images]
    assert all(p is not None for p in paths), "every artwork has its JPEG"
    n = len(paths)
    sizes = [p.stat().st_size for p in paths]

    def decode_all() -> list:
        return [encoder.preprocess(load_image(p, encoder.image_size)) for p in paths]

    pixels = decode_all()
    batches = [torch.stack(pixels[i:i + batch_size]) for i in range(0, n, batch_size)]
    bare_out: list = []

    def bare() -> None:
        bare_out.clear()
        with torch.no_grad():
            for x in batches:
                bare_out.append(encoder(x))

    def clean() -> None:
        shutil.rmtree(graph_dir / FEATURES, ignore_errors=True)

    def ours() -> None:
        extract_features(graph_dir, encoder, None, None, batch_size=batch_size, device="cpu", image_root=images,
                         num_workers=num_workers, progress=False)

    def ours_serial() -> None:  # the pipeline as it was before the decoding thread: decode, then forward
        prefetched = features._prefetched
        features._prefetched = lambda batches: batches
        try:
            ours()
        finally:
            features._prefetched = prefetched

    with torch.no_grad():  # warm-up: first forward allocates
        encoder(batches[0][:2])
    variants = {"bare": bare, "ours": (clean, ours), "decode": decode_all}
    if serial:
        variants["serial"] = (clean, ours_serial)
    times = interleaved(variants, repeat)
    feats, mask = load_features(graph_dir, "image")
    reference = torch.cat(bare_out)
    max_diff = float((feats - reference).abs().max())
    return {"images": n, "batch_size": batch_size, "threads": threads, "image_size": image_size,
            "num_workers": num_workers, "jpeg_kib_mean": round(float(np.mean(sizes)) / 1024, 1),
            "times": {k: v for k, v in times.items() if not k.endswith("/extra")},
            "max_abs_diff_ours_vs_bare": max_diff, "all_encoded": bool(mask.all()),
            "peak_rss_mib": round(peak_rss_mib(), 1)}


# ---------------------------------------------------------------------------------- main
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (smoke test)")
    parser.add_argument("--images", type=int, default=None, help="artworks, about (default 160; quick 48)")
    parser.add_argument("--batch-size", type=int, default=None, help="default 64 (quick 16)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads, both variants (default 1)")
    parser.add_argument("--repeat", type=int, default=None, help="interleaved repeats (default 5; quick 1)")
    parser.add_argument("--side", type=int, default=None, help="long side of the JPEGs (default 512; quick 256)")
    parser.add_argument("--image-size", type=int, default=None, help="network input (default 224; quick 96)")
    parser.add_argument("--num-workers", type=int, default=0, help="extract_features' num_workers (default 0)")
    parser.add_argument("--worker", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        _, graph_dir, images, *rest = args.worker
        b, t, r, s, w, serial = map(int, rest)
        print(json.dumps(worker(Path(graph_dir), Path(images), b, t, r, s, w, bool(serial))))
        return 0
    quick = args.quick
    n_images = args.images or (48 if quick else 160)
    batch_size = args.batch_size or (16 if quick else 64)
    repeat = args.repeat or (1 if quick else 5)
    side = args.side or (256 if quick else 512)
    image_size = args.image_size or (96 if quick else 224)
    graph_dir, images = prepare(n_images, side)
    res = run_worker(SCRIPT, "compare", [str(graph_dir), str(images), str(batch_size), str(args.threads),
                                         str(repeat), str(image_size), str(args.num_workers),
                                         str(int(not quick and args.num_workers == 0))])
    n = res["images"]
    med = {k: statistics.median(v) for k, v in res["times"].items()}
    best = {k: min(v) for k, v in res["times"].items()}
    thr = {k: n / v for k, v in med.items() if "/" not in k}
    ratio = thr["ours"] / thr["bare"]
    ratio_best = best["bare"] / best["ours"]
    # Each round runs the variants back to back: the ratio within a round sees (nearly) the same load.
    paired = statistics.median(b / o for b, o in zip(res["times"]["bare"], res["times"]["ours"]))
    labels = {"bare": "bare forward (baseline): no_grad encoder(x) on preprocessed batches",
              "ours": "ours: extract_features (decode + preprocess + forward + write)",
              "decode": "decode only: load_image + preprocess, one by one",
              "serial": "ours before: decoding not overlapped (no decoder thread)"}
    rows = [[labels[k], f"{med[k]:.3f}", f"{best[k]:.3f}", f"{med[k + '/cpu']:.3f}", f"{thr[k]:.2f}",
             f"{thr[k] / thr['bare']:.3f}×"] for k in ("bare", "ours", "serial", "decode") if k in thr]
    info = machine()
    print(f"bench_features: {n} JPEGs (long side {side} px, mean {res['jpeg_kib_mean']} KiB), EfficientNet-Lite0 "
          f"at {image_size} px, batch {batch_size}, {args.threads} torch thread(s), num_workers "
          f"{args.num_workers}, median of {repeat} interleaved runs; load average {info.get('load_avg')}")
    print(table(rows, ["variant", "wall median (s)", "wall best (s)", "CPU median (s)", "images/s (median)",
                       "÷ bare throughput"]))
    print(f"ours / bare throughput: {ratio:.3f}× of the medians, {paired:.3f}× median of the per-round ratios, "
          f"{ratio_best:.3f}× best of each (goal ≥ 0.9); features ours vs bare: max |Δ| "
          f"{res['max_abs_diff_ours_vs_bare']:.2e}; peak RSS {res['peak_rss_mib']:.0f} MiB")
    write_json("bench_features", {
        "quick": quick, "machine": info, "config": {"images": n, "side": side, "batch_size": batch_size,
                                                     "threads": args.threads, "repeat": repeat,
                                                     "image_size": image_size, "num_workers": args.num_workers},
        "result": res, "median_s": med, "images_per_s": thr,
        "ratios": {"ours_over_bare_throughput": round(ratio, 3), "ours_over_bare_paired": round(paired, 3),
                   "ours_over_bare_best": round(ratio_best, 3),
                   "decode_over_bare_throughput": round(thr["decode"] / thr["bare"], 3),
                   **({"serial_over_bare_throughput": round(thr["serial"] / thr["bare"], 3)} if "serial" in thr
                      else {})}})
    return 0


if __name__ == "__main__":
    sys.exit(main())
