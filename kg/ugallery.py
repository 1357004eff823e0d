"""The CuratorNet / UGallery layout: an online art store's purchases and inventory, with its own
artworks and artists (``kgbuild ugallery``).

* purchases CSV: ``user_id_hash``, ``purchased_artwork_ids_hash`` (a basket: ``[a, b]``, ``a|b`` or
  ``a b``), ``purchase_timestamp`` (seconds since the epoch or ISO 8601);
* inventory CSV: ``artwork_id_hash``, ``artist_id_hash``, ``upload_timestamp``.

Every inventory work becomes an artwork (``created_by`` its artist) that is one of a kind (UGallery
sells originals) and available from its upload time; every basket a purchase event per work. The
precomputed visual embeddings that come with the data are attached afterwards as an image feature
set (:func:`artkg.models.features_cache.import_features`). Purchases of works missing from the
inventory, unreadable timestamps and repeated rows are left out and counted in the manifest.
"""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from artkg.kg import schema as S
from artkg.kg.errors import InputError

NS = "https://w3id.org/artkg/ugallery/"
PURCHASE_COLUMNS = ("user_id_hash", "purchased_artwork_ids_hash", "purchase_timestamp")
INVENTORY_COLUMNS = ("artwork_id_hash", "artist_id_hash", "upload_timestamp")
_ID = re.compile(r"[A-Za-z0-9_.:-]+")


def artwork_iri(artwork_id: str) -> str:
    return f"{NS}artwork/{artwork_id}"


def _read(path: Path, columns: tuple[str, ...], what: str):
    import pandas as pd

    if not Path(path).is_file():
        raise InputError(f"no {what} file at {path}", f"give the UGallery {what} CSV ({', '.join(columns)})")
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise InputError(f"{path} is not a readable CSV ({str(exc).splitlines()[0][:100]})",
                         f"give the UGallery {what} CSV with a header row") from None
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise InputError(f"the {what} file {path} lacks the column{'s' if len(missing) > 1 else ''} "
                         f"{', '.join(missing)} (it has {', '.join(map(str, frame.columns)) or 'none'})",
                         f"the UGallery {what} CSV has the columns {', '.join(columns)}")
    return frame


def _times(values) -> np.ndarray:
    """Seconds since the epoch from numbers or ISO 8601 strings (NaN where neither)."""
    import pandas as pd

    from artkg.kg.interactions import parse_times

    values = [str(v).strip() for v in values]
    numeric = pd.to_numeric(pd.Series(values, dtype=object), errors="coerce").to_numpy(dtype=float, copy=True)
    rest = np.isnan(numeric)
    if rest.any():
        numeric[rest] = parse_times([v for v, r in zip(values, rest) if r])
    return numeric


def ugallery_lines(purchases: str | Path, inventory: str | Path) -> tuple[list[str], dict]:
    """N-Triples lines for the inventory and the purchases, and what was left out and why."""
    from urllib.parse import quote

    from artkg.kg.interactions import event_lines, inventory_lines

    inv = _read(Path(inventory), INVENTORY_COLUMNS, "inventory")
    pur = _read(Path(purchases), PURCHASE_COLUMNS, "purchases")
    dropped: dict = {}
    works = inv["artwork_id_hash"].str.strip().to_numpy(dtype=object)
    artists = inv["artist_id_hash"].str.strip().to_numpy(dtype=object)
    bad_id = np.array([not _ID.fullmatch(w) for w in works])
    if bad_id.all():
        raise InputError(f"no usable artwork id in {inventory}", "artwork_id_hash must hold ids (letters, digits, _.:-)")
    if bad_id.any():
        dropped["inventory rows without a usable artwork id"] = (int(bad_id.sum()), [str(w) for w in works[bad_id][:3]])
    keep = ~bad_id & ~inv["artwork_id_hash"].str.strip().duplicated().to_numpy()
    works, artists = works[keep], artists[keep]
    upload = _times(inv["upload_timestamp"].to_numpy()[keep])
    lines = []
    for w, a in zip(works.tolist(), artists.tolist()):
        lines.append(f'<{artwork_iri(w)}> <{S.RDFS_LABEL}> "UGallery artwork {w[:10]}"@en .')
        if a and _ID.fullmatch(a):
            lines.append(f"<{artwork_iri(w)}> <{S.WDT}P170> <{NS}artist/{a}> .")
            lines.append(f'<{NS}artist/{a}> <{S.RDFS_LABEL}> "UGallery artist {a[:10]}"@en .')
    lines += inventory_lines([artwork_iri(w) for w in works], upload, np.ones(len(works), dtype=bool))
    known = set(works.tolist())
    users, items, times, baskets = [], [], [], []
    unknown, bad_time = [], 0
    stamps = _times(pur["purchase_timestamp"].to_numpy())
    for row, (u, basket, t) in enumerate(zip(pur["user_id_hash"].str.strip(), pur["purchased_artwork_ids_hash"], stamps)):
        if not np.isfinite(t):
            bad_time += 1
            continue
        for w in _ID.findall(basket.replace("'", " ").replace('"', " ")):
            if w not in known:
                unknown.append(w)
                continue
            users.append(f"{NS}user/{quote(u, safe='')}" if u else None)
            items.append(artwork_iri(w))
            times.append(t)
            baskets.append(f"ugallery-{row}")
    if bad_time:
        dropped["purchases with an unreadable timestamp"] = bad_time
    if unknown:
        dropped["purchased works missing from the inventory"] = (len(unknown), sorted(set(unknown))[:3])
    ok = [k for k, u in enumerate(users) if u]
    if not ok:
        raise InputError(f"no usable purchase in {purchases} (all rows dropped: {dropped or 'no rows'})",
                         "the purchased artwork ids must appear in the inventory's artwork_id_hash")
    seen, rows = set(), []
    for k in ok:
        key = (users[k], items[k], times[k])
        if key in seen:
            continue
        seen.add(key)
        rows.append(k)
    if len(rows) < len(ok):
        dropped["repeated purchases"] = len(ok) - len(rows)
    lines += event_lines([users[k] for k in rows], ["purchased"] * len(rows), [items[k] for k in rows],
                         np.array([times[k] for k in rows]), basket=[baskets[k] for k in rows],
                         user_labels={users[k]: users[k].rsplit("/", 1)[1] for k in rows})
    return lines, dropped
