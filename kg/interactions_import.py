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


# Manifest blocks that a rebuild by an importer carries over (each importer appends its reports to its own).
CARRIED = ("images", "interactions", "links")


def read_table(path: str | Path, aliases: dict[str, tuple[str, ...]], required: tuple[str, ...], *, what: str,
               header: str, needs: str):
    """Read a CSV of strings and find its columns by ``aliases``: ``(frame, {name: column})``.
    Raises one line for a missing or unreadable file and for missing required columns."""
    import pandas as pd

    path = Path(path)
    if not path.is_file():
        raise InputError(f"no {what} file at {path}", f"give a CSV with the columns {', '.join(required)}")
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
        raise InputError(f"{path} is not a readable CSV ({str(exc).splitlines()[0][:100]})",
                         f"give a comma-separated file with a header row: {header}") from None
    lower = {c.strip().lower(): c for c in frame.columns}
    cols = {}
    for name, names in aliases.items():
        found = next((lower[a] for a in names if a in lower), None)
        if found is not None:
            cols[name] = found
    missing = [c for c in required if c not in cols]
    if missing:
        raise InputError(f"{path} lacks the column{'s' if len(missing) > 1 else ''} {', '.join(missing)} "
                         f"(it has {', '.join(map(str, frame.columns)) or 'none'})", f"the header must name {needs}")
    return frame, cols


def drop(report: dict, mask: np.ndarray, reason: str, examples: list) -> None:
    """Record in ``report["dropped"]`` the rows of ``mask`` left out for ``reason`` (count, 3 examples)."""
    if mask.any():
        report["dropped"][reason] = {"count": int(mask.sum()), "examples": examples[:3]}


def why_nothing(report: dict) -> str:
    """``"2 artworks not in the graph; 1 duplicate rows"``: why no row of a file was usable."""
    return "; ".join(f"{v['count']} {k}" for k, v in report["dropped"].items()) or "the file has no rows"


def artwork_ids(kg) -> dict[str, str]:
    """The graph's artworks by IRI and by local name (QID, id): ``{id: IRI}``."""
    known = {iri: iri for iri in kg.iris.get("artwork", [])}
    known.update({S.local_name(iri): iri for iri in kg.iris.get("artwork", [])})
    return known


def add_to_graph(graph_dir: str | Path, block: str, files: list[str | Path], read) -> dict:
    """Add triples to the graph in ``graph_dir`` under its lock, keeping its node ids.

    ``read(kg, file)`` returns ``(N-Triples lines, report)`` for one file or raises (the graph is then
    untouched); the reports are appended to the manifest's ``block`` (read by ``rebuild_command``)."""
    import tempfile

    from artkg.kg.graph import load_graph
    from artkg.kg.graphdir import GraphDir
    from artkg.kg.lock import output_lock
    from artkg.kg.triples import read_rdf_file

    gdir = GraphDir(graph_dir)
    with output_lock(graph_dir, what="GRAPH_DIR"):
        kg = load_graph(graph_dir)
        reports, lines = [], []
        for f in files:
            more, report = read(kg, f)
            reports.append({"file": str(f), **report})
            lines += more
        triples = read_rdf_file(gdir.ntriples)
        with tempfile.TemporaryDirectory(dir=gdir.root, prefix=".parts-") as tmp:
            extra_nt = Path(tmp) / f"{block}.nt"
            extra_nt.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
            triples.update(read_rdf_file(extra_nt))
        manifest = kg.manifest
        extra = {k: manifest[k] for k in CARRIED if k in manifest}
        extra[block] = list(manifest.get(block, [])) + reports
        return gdir.finalize(triples, source=manifest["source"], queries=manifest.get("queries"), extra=extra,
                             build_store=bool(manifest.get("store", True)), keep_ids=True)


def read_csv(path: str | Path, kg) -> tuple[dict, dict]:
    """Read an interactions CSV against the graph ``kg``: ``(columns, report)``; ``columns`` holds the
    usable rows (user ids, artwork IRIs, kind, time seconds, rating, basket)."""
    import pandas as pd

    from artkg.kg.interactions import parse_times

    frame, cols = read_table(path, ALIASES, REQUIRED, what="interactions",
                             header="user,artwork,timestamp[,rating][,kind]",
                             needs="user, artwork and timestamp (rating, kind, basket optional)")
    report: dict = {"rows": int(len(frame)), "dropped": {}}
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
    known = artwork_ids(kg)
    iris = np.array([known.get(w.strip("<>")) for w in works], dtype=object)
    unknown = np.array([i is None for i in iris])
    no_user = np.array([not u for u in users])
    bad_time = np.isnan(times)
    drop(report, no_user, "rows without a user", [int(i) + 2 for i in np.flatnonzero(no_user)[:3]])
    drop(report, unknown & ~no_user, "artworks not in the graph",
         sorted({str(w) for w in works[unknown & ~no_user]})[:3])
    rest = ~no_user & ~unknown
    drop(report, bad_time & rest, "unreadable timestamps",
         [frame[cols["timestamp"]].iloc[i] for i in np.flatnonzero(bad_time & rest)[:3]])
    rest &= ~bad_time
    drop(report, bad_rating & rest, "unreadable ratings",
         [frame[cols["rating"]].iloc[i] for i in np.flatnonzero(bad_rating & rest)[:3]])
    rest &= ~bad_rating
    drop(report, bad_kind & rest, f"kinds other than {', '.join(S.INTERACTION_KINDS)}",
         sorted(set(kinds[bad_kind & rest]))[:3])
    rest &= ~bad_kind
    baskets = frame[cols["basket"]].str.strip().to_numpy(dtype=object) if "basket" in cols else None
    key = pd.DataFrame({"u": users, "w": iris, "k": kinds, "t": times}).duplicated().to_numpy()
    drop(report, key & rest, "duplicate rows", [int(i) + 2 for i in np.flatnonzero(key & rest)[:3]])
    rest &= ~key
    if not rest.any():
        raise InputError(f"no usable interaction in {path} ({why_nothing(report)})",
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
    from artkg.kg.interactions import event_lines, user_iri

    def read(kg, f):
        cols, report = read_csv(f, kg)
        iris = [user_iri(u) for u in cols["user"]]
        labels = {iri: u for iri, u in zip(iris, cols["user"])}
        return event_lines(iris, cols["kind"], cols["artwork"], cols["time"], cols["rating"], cols["basket"],
                           user_labels=labels), report

    return add_to_graph(graph_dir, "interactions", files, read)
