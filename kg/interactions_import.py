"""``kgbuild interactions GRAPH_DIR FILE``: add users' purchases, likes and ratings to a built graph.

A plain CSV with the columns ``user``, ``artwork``, ``timestamp`` and optionally ``rating``, ``kind``
(purchased, liked, rated; default purchased, or rated where a rating is given) and ``basket``. The
artworks are IRIs or ids (QIDs, local names) of the graph. Rows naming an unknown artwork, rows with
an unreadable timestamp or rating, and duplicate rows are left out, counted and reported; when no
row is usable the import stops with one line and the graph is untouched. The graph is rebuilt with
its node ids kept (users are appended), so features and runs of it stay valid.
"""
from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from artkg.kg import schema as S
from artkg.kg.errors import InputError

log = logging.getLogger("artkg")

ALIASES = {"user": ("user", "user_id", "visitor"), "artwork": ("artwork", "artwork_id", "item", "item_id", "work"),
           "timestamp": ("timestamp", "time", "date", "datetime"), "rating": ("rating", "score", "value"),
           "kind": ("kind", "action", "type"), "basket": ("basket", "session", "order", "basket_id")}
REQUIRED = ("user", "artwork", "timestamp")


def read_csv(path: str | Path, kg) -> tuple[dict, dict]:
    """Read an interactions CSV against the graph ``kg``: ``(columns, report)``; ``columns`` holds the
    usable rows (user ids, artwork IRIs, kind, time seconds, rating, basket)."""
    import pandas as pd

    from artkg.kg.interactions import parse_times

    path = Path(path)
    if not path.is_file():
        raise InputError(f"no interactions file at {path}", "give a CSV with the columns user, artwork, timestamp")
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
        raise InputError(f"{path} is not a readable CSV ({str(exc).splitlines()[0][:100]})",
                         "give a comma-separated file with a header row: user,artwork,timestamp[,rating][,kind]") from None
    lower = {c.strip().lower(): c for c in frame.columns}
    cols = {}
    for name, aliases in ALIASES.items():
        found = next((lower[a] for a in aliases if a in lower), None)
        if found is not None:
            cols[name] = found
    missing = [c for c in REQUIRED if c not in cols]
    if missing:
        raise InputError(f"{path} lacks the column{'s' if len(missing) > 1 else ''} {', '.join(missing)} "
                         f"(it has {', '.join(map(str, frame.columns)) or 'none'})",
                         "the header must name user, artwork and timestamp (rating, kind, basket optional)")
    report: dict = {"rows": int(len(frame)), "dropped": {}}

    def drop(mask: np.ndarray, reason: str, examples: list) -> None:
        if mask.any():
            report["dropped"][reason] = {"count": int(mask.sum()), "examples": examples[:3]}

    users = frame[cols["user"]].str.strip().to_numpy(dtype=object)
    works = frame[cols["artwork"]].str.strip().to_numpy(dtype=object)
    times = parse_times(frame[cols["timestamp"]].str.strip().tolist())
    ratings = np.full(len(frame), np.nan)
    if "rating" in cols:
        raw = frame[cols["rating"]].str.strip()
        ratings = pd.to_numeric(raw.replace("", np.nan), errors="coerce").to_numpy(dtype=float)
        bad_rating = raw.ne("").to_numpy() & np.isnan(ratings)
    else:
        bad_rating = np.zeros(len(frame), dtype=bool)
    if "kind" in cols:
        kinds = frame[cols["kind"]].str.strip().str.lower().replace("", np.nan).to_numpy(dtype=object)
    else:
        kinds = np.full(len(frame), None, dtype=object)
    kinds = np.array([k if isinstance(k, str) else ("rated" if r == r else "purchased")
                      for k, r in zip(kinds, ratings)], dtype=object)
    bad_kind = ~np.isin(kinds, S.INTERACTION_KINDS)
    # Artworks: IRI, QID or local name of the graph's artworks.
    known = {iri: iri for iri in kg.iris.get("artwork", [])}
    known.update({S.local_name(iri): iri for iri in kg.iris.get("artwork", [])})
    iris = np.array([known.get(w.strip("<>")) for w in works], dtype=object)
    unknown = np.array([i is None for i in iris])
    no_user = np.array([not u for u in users])
    bad_time = np.isnan(times)
    drop(no_user, "rows without a user", [int(i) + 2 for i in np.flatnonzero(no_user)[:3]])
    drop(unknown & ~no_user, "artworks not in the graph", sorted({str(w) for w in works[unknown & ~no_user]})[:3])
    rest = ~no_user & ~unknown
    drop(bad_time & rest, "unreadable timestamps",
         [frame[cols["timestamp"]].iloc[i] for i in np.flatnonzero(bad_time & rest)[:3]])
    rest &= ~bad_time
    drop(bad_rating & rest, "unreadable ratings", [frame[cols["rating"]].iloc[i] for i in np.flatnonzero(bad_rating & rest)[:3]])
    rest &= ~bad_rating
    drop(bad_kind & rest, f"kinds other than {', '.join(S.INTERACTION_KINDS)}", sorted(set(kinds[bad_kind & rest]))[:3])
    rest &= ~bad_kind
    baskets = frame[cols["basket"]].str.strip().to_numpy(dtype=object) if "basket" in cols else None
    key = pd.DataFrame({"u": users, "w": iris, "k": kinds, "t": times}).duplicated().to_numpy()
    drop(key & rest, "duplicate rows", [int(i) + 2 for i in np.flatnonzero(key & rest)[:3]])
    rest &= ~key
    if not rest.any():
        why = "; ".join(f"{v['count']} {k}" for k, v in report["dropped"].items()) or "the file has no rows"
        raise InputError(f"no usable interaction in {path} ({why})",
                         "check that the artworks are IRIs or ids of this graph (`artkg search GRAPH_DIR TEXT`) "
                         "and the timestamps ISO 8601 (2016-03-01T10:00:00Z)")
    report["usable"] = int(rest.sum())
    columns = {"user": users[rest].tolist(), "artwork": iris[rest].tolist(), "kind": kinds[rest].tolist(),
               "time": times[rest], "rating": ratings[rest],
               "basket": [f"{u}|{b}" if b else None for u, b in zip(users[rest], baskets[rest])] if baskets is not None
               else None}
    return columns, report


def add_interactions(graph_dir: str | Path, files: list[str | Path], progress: bool = False) -> dict:
    """Add the interactions of ``files`` to the graph in ``graph_dir`` (under its lock); returns the new
    manifest with an ``interactions`` block (per file: rows, usable, dropped with examples)."""
    import tempfile

    from artkg.kg.graph import load_graph
    from artkg.kg.graphdir import GraphDir
    from artkg.kg.interactions import event_lines, user_iri
    from artkg.kg.lock import output_lock
    from artkg.kg.triples import read_rdf_file

    gdir = GraphDir(graph_dir)
    with output_lock(graph_dir, what="GRAPH_DIR"):
        kg = load_graph(graph_dir)
        reports, lines = [], []
        for f in files:
            cols, report = read_csv(f, kg)
            reports.append({"file": str(f), **report})
            iris = [user_iri(u) for u in cols["user"]]
            labels = {iri: u for iri, u in zip(iris, cols["user"])}
            lines += event_lines(iris, cols["kind"], cols["artwork"], cols["time"], cols["rating"], cols["basket"],
                                 user_labels=labels)
        triples = read_rdf_file(gdir.ntriples)
        with tempfile.TemporaryDirectory(dir=gdir.root, prefix=".parts-") as tmp:
            extra_nt = Path(tmp) / "interactions.nt"
            extra_nt.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
            triples.update(read_rdf_file(extra_nt))
        manifest = kg.manifest
        extra = {k: manifest[k] for k in ("images",) if k in manifest}
        extra["interactions"] = list(manifest.get("interactions", [])) + reports
        return gdir.finalize(triples, source=manifest["source"], queries=manifest.get("queries"), extra=extra,
                             build_store=bool(manifest.get("store", True)), keep_ids=True)
