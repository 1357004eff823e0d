"""Users and their interactions (purchases, likes, ratings) in the graph.

In RDF (``graph.nt``, artkg vocabulary) every interaction is a direct edge plus a reified event that
carries its time, rating and basket::

    <user> akg:purchased <artwork> .
    <event> akg:agent <user> ; akg:action akg:purchased ; akg:object <artwork> ;
            akg:time "2016-03-01T10:00:00Z"^^xsd:dateTime ; akg:basket <basket> .
    <artwork> akg:availableFrom "2015-12-01T00:00:00Z"^^xsd:dateTime ; akg:oneOfAKind true .

Processed (``processed/tensors.safetensors``), each interaction edge type ``(user, purchased,
artwork)`` holds one edge per event in time order with the edge attributes ``time`` (float64 seconds
since the epoch, NaN unknown), ``rating`` (float32, NaN none) and ``basket`` (int64); artworks get
``available_from`` (float64, NaN: always) and ``one_of_a_kind`` (bool). :class:`Interactions` reads
them back from a loaded graph as one time-ordered table.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from urllib.parse import quote

import numpy as np

from artkg.kg import schema as S

USER_NS = "https://w3id.org/artkg/user/"
EVENT_NS = "https://w3id.org/artkg/event/"
BASKET_NS = "https://w3id.org/artkg/basket/"
XSD = "http://www.w3.org/2001/XMLSchema#"
KIND_CODE = {kind: code for code, kind in enumerate(S.INTERACTION_KINDS)}


# ------------------------------------------------------------------ processing (graph.nt → tensors)
def parse_times(values: list[str]) -> np.ndarray:
    """xsd:dateTime / date lexical forms → float64 seconds since the epoch (NaN where unreadable)."""
    import pandas as pd

    if not values:
        return np.zeros(0, dtype=np.float64)
    stamps = pd.to_datetime(pd.Series(values, dtype=object), utc=True, errors="coerce", format="ISO8601")
    seconds = (stamps - pd.Timestamp(0, tz="UTC")).dt.total_seconds()  # any resolution pandas chose
    return seconds.to_numpy(dtype=np.float64, na_value=np.nan)


def extract(c, rows: np.ndarray, s_gid: np.ndarray, o_gid: np.ndarray, index: np.ndarray,
            node_type: np.ndarray, type_index: dict[str, int], edges: dict, node_attrs: dict,
            nodes: dict, skipped: dict) -> dict:
    """Turn the interaction triples (``rows`` of the columns ``c``) into event edges and attributes.

    Replaces ``edges[(user, kind, artwork)]`` by one column per event (time-ordered, then the direct
    edges no event describes, time NaN), fills ``node_attrs['artwork']`` and returns the edge
    attributes ``{key: {"time", "rating", "basket"}}``."""
    import pandas as pd

    n_art = len(nodes.get("artwork", []))
    pred_of = np.array([S.INTERACTION_PREDICATES.__contains__(p) and p or "" for p in c.preds], dtype=object)
    subj, pred, obj = s_gid[c.s_code[rows]], pred_of[c.p_code[rows]], c.o_code[rows]
    frame = pd.DataFrame({"s": subj, "p": pred, "o": obj}).drop_duplicates(["s", "p"], keep="first")
    wide = frame.pivot(index="s", columns="p", values="o")

    def column(p: str) -> np.ndarray:
        return wide[p].to_numpy() if p in wide else np.full(len(wide), np.nan)

    def values(codes: np.ndarray) -> list:
        return [c.obj_value[int(u)] if u == u else None for u in codes]

    # Artworks: upload time and one-of-a-kind.
    if n_art:
        art = type_index["artwork"]
        subjects = wide.index.to_numpy()
        is_art = node_type[subjects] == art
        avail = np.full(n_art, np.nan)
        once = np.zeros(n_art, dtype=bool)
        if is_art.any():
            at = index[subjects[is_art]]
            codes = column(S.AVAILABLE_FROM)[is_art]
            have = codes == codes
            avail[at[have]] = parse_times(values(codes[have]))
            codes = column(S.ONE_OF_A_KIND)[is_art]
            have = codes == codes
            once[at[have]] = [str(v).lower() in ("true", "1") for v in values(codes[have])]
        if np.isfinite(avail).any() or once.any():
            node_attrs.setdefault("artwork", {})["available_from"] = avail
            node_attrs["artwork"]["one_of_a_kind"] = once

    # Events.
    attrs: dict = {}
    agent, action, target = column(S.INTERACTION_AGENT), column(S.INTERACTION_ACTION), column(S.INTERACTION_OBJECT)
    is_event = (agent == agent) & (action == action) & (target == target)
    ev = wide.index.to_numpy()[is_event]
    user_g = o_gid[agent[is_event].astype(np.intp)]
    art_g = o_gid[target[is_event].astype(np.intp)]
    kinds = np.array([KIND_CODE.get(S.local_name(v) if v else "", -1)
                      for v in values(action[is_event])], dtype=np.int64)
    ok = (user_g >= 0) & (art_g >= 0) & (kinds >= 0)
    ok[ok] = (node_type[user_g[ok]] == type_index.get("user", -9)) & (node_type[art_g[ok]] == type_index.get("artwork", -9))
    if (~ok).any():
        skipped["interaction event without a known user, action or artwork"] += int((~ok).sum())
    time_codes, rating_codes, basket_codes = (column(p)[is_event] for p in (
        S.INTERACTION_TIME, S.INTERACTION_RATING, S.INTERACTION_BASKET))
    times = np.full(len(ev), np.nan)
    have = time_codes == time_codes
    times[have] = parse_times(values(time_codes[have]))
    ratings = np.full(len(ev), np.nan, dtype=np.float32)
    have = rating_codes == rating_codes
    ratings[have] = pd.to_numeric(pd.Series(values(rating_codes[have]), dtype=object), errors="coerce").to_numpy()
    have = basket_codes == basket_codes
    baskets = np.full(len(ev), -1, dtype=np.int64)
    baskets[have] = pd.factorize(pd.Series(values(basket_codes[have]), dtype=object))[0]
    for kind, code in KIND_CODE.items():
        key = ("user", kind, "artwork")
        m = ok & (kinds == code)
        u, a = index[user_g[m]], index[art_g[m]]
        t, r, b, e = times[m], ratings[m], baskets[m], ev[m]
        order = np.lexsort((e, a, u, t))  # time order (unknown times last), then user, artwork
        u, a, t, r, b = u[order], a[order], t[order], r[order], b[order]
        direct = edges.get(key)
        if direct is not None and direct.size:  # direct edges no event describes
            seen = set((u * max(n_art, 1) + a).tolist())
            codes = direct[0] * max(n_art, 1) + direct[1]
            extra = np.array([x not in seen for x in codes.tolist()], dtype=bool)
            u = np.concatenate([u, direct[0][extra]])
            a = np.concatenate([a, direct[1][extra]])
            t = np.concatenate([t, np.full(extra.sum(), np.nan)])
            r = np.concatenate([r, np.full(extra.sum(), np.nan, dtype=np.float32)])
            b = np.concatenate([b, np.full(extra.sum(), -1, dtype=np.int64)])
        if not len(u):
            continue
        edges[key] = np.ascontiguousarray(np.stack([u, a]).astype(np.int64))
        attrs[key] = {"time": t.astype(np.float64), "rating": r.astype(np.float32), "basket": b.astype(np.int64)}
    return attrs


# ------------------------------------------------------------------ writing (events → N-Triples)
def _lit(value: str, datatype: str) -> str:
    return f'"{value}"^^<{XSD}{datatype}>'


def iso(t: float) -> str:
    """Seconds since the epoch → an xsd:dateTime lexical form (UTC, second precision)."""
    import datetime as dt

    return dt.datetime.fromtimestamp(float(t), dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def user_iri(user_id: str) -> str:
    """A user id from a CSV → its IRI (an IRI stays as it is)."""
    user_id = str(user_id).strip()
    return user_id if "://" in user_id else USER_NS + quote(user_id, safe="")


def event_lines(user: list[str], kind: list[str], artwork: list[str], time: np.ndarray,
                rating: np.ndarray | None = None, basket: list[str | None] | None = None,
                user_labels: dict[str, str] | None = None) -> list[str]:
    """N-Triples lines for interaction events (IRIs for users and artworks; times in seconds)."""
    lines: list[str] = []
    for iri, label in (user_labels or {}).items():
        lines.append(f'<{iri}> <{S.RDFS_LABEL}> "{_escape(label)}"@en .')
    for k in range(len(user)):
        u, w, act = user[k], artwork[k], kind[k]
        t = time[k]
        b = basket[k] if basket is not None else None
        r = rating[k] if rating is not None else np.nan
        digest = hashlib.sha1(f"{u}|{act}|{w}|{t!r}|{b}".encode()).hexdigest()[:20]
        ev = f"<{EVENT_NS}{digest}>"
        lines.append(f"<{u}> <{S.AKG}{act}> <{w}> .")
        lines.append(f"{ev} <{S.INTERACTION_AGENT}> <{u}> .")
        lines.append(f"{ev} <{S.INTERACTION_ACTION}> <{S.AKG}{act}> .")
        lines.append(f"{ev} <{S.INTERACTION_OBJECT}> <{w}> .")
        if t == t:
            lines.append(f"{ev} <{S.INTERACTION_TIME}> {_lit(iso(t), 'dateTime')} .")
        if r == r:
            lines.append(f"{ev} <{S.INTERACTION_RATING}> {_lit(repr(float(r)), 'double')} .")
        if b is not None:
            lines.append(f"{ev} <{S.INTERACTION_BASKET}> <{BASKET_NS}{quote(str(b), safe='')}> .")
    return lines


def inventory_lines(artwork: list[str], available_from: np.ndarray | None, one_of_a_kind: np.ndarray | None) -> list[str]:
    lines = []
    for k, w in enumerate(artwork):
        if available_from is not None and available_from[k] == available_from[k]:
            lines.append(f"<{w}> <{S.AVAILABLE_FROM}> {_lit(iso(available_from[k]), 'dateTime')} .")
        if one_of_a_kind is not None and one_of_a_kind[k]:
            lines.append(f"<{w}> <{S.ONE_OF_A_KIND}> {_lit('true', 'boolean')} .")
    return lines


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r")


# ------------------------------------------------------------------ reading back (graph → table)
@dataclass
class Interactions:
    """All interactions of a graph as one table in time order (unknown times last)."""

    user: np.ndarray  # int64 user index
    item: np.ndarray  # int64 artwork index
    kind: np.ndarray  # int8: 0 purchased, 1 liked, 2 rated (S.INTERACTION_KINDS)
    time: np.ndarray  # float64 seconds (NaN unknown)
    rating: np.ndarray  # float32 (NaN none)
    basket: np.ndarray  # int64 basket id (events without one: one basket per user and time)
    n_users: int
    n_items: int
    available_from: np.ndarray  # float64 (n_items,) NaN: always available
    one_of_a_kind: np.ndarray  # bool (n_items,)

    def __len__(self) -> int:
        return len(self.user)

    @classmethod
    def from_graph(cls, kg) -> "Interactions":
        n_items, n_users = kg.num_nodes("artwork"), kg.num_nodes("user")
        parts = []
        for code, kind in enumerate(S.INTERACTION_KINDS):
            key = ("user", kind, "artwork")
            index = kg.edge_index(key)
            if index.shape[1] == 0:
                continue
            attr = kg.edge_attrs(key)
            n = index.shape[1]
            parts.append((index[0].numpy(), index[1].numpy(), np.full(n, code, dtype=np.int8),
                          attr.get("time", np.full(n, np.nan)), attr.get("rating", np.full(n, np.nan, np.float32)),
                          attr.get("basket", np.full(n, -1, np.int64))))
        if parts:
            u, i, k, t, r, b = (np.concatenate(x) for x in zip(*parts))
        else:
            u, i, b = (np.zeros(0, np.int64) for _ in range(3))
            k, t, r = np.zeros(0, np.int8), np.zeros(0), np.zeros(0, np.float32)
        t = np.asarray(t, dtype=np.float64)
        b = np.asarray(b, dtype=np.int64).copy()
        missing = b < 0
        if missing.any():  # one basket per (user, time) for events that name none
            import pandas as pd

            keys = pd.factorize(pd.MultiIndex.from_arrays([u[missing], np.nan_to_num(t[missing], nan=-1.0)]))[0]
            b[missing] = (b.max(initial=-1) + 1) + keys
        order = np.lexsort((i, u, np.where(np.isnan(t), np.inf, t)))
        avail = kg.node_attr("artwork", "available_from")
        once = kg.node_attr("artwork", "one_of_a_kind")
        return cls(user=np.asarray(u, np.int64)[order], item=np.asarray(i, np.int64)[order],
                   kind=np.asarray(k, np.int8)[order], time=t[order], rating=np.asarray(r, np.float32)[order],
                   basket=b[order], n_users=n_users, n_items=n_items,
                   available_from=avail.numpy().astype(np.float64) if avail is not None else np.full(n_items, np.nan),
                   one_of_a_kind=once.numpy().astype(bool) if once is not None else np.zeros(n_items, dtype=bool))

    def of_kind(self, kind: str) -> "Interactions":
        m = self.kind == KIND_CODE[kind]
        return Interactions(self.user[m], self.item[m], self.kind[m], self.time[m], self.rating[m], self.basket[m],
                            self.n_users, self.n_items, self.available_from, self.one_of_a_kind)
