"""A fast reader for *canonical* N-Triples (one ``<s> <p> <o> .`` per line, as ``graph.nt`` is written).

It splits lines and groups equal terms with numpy on 8 MiB byte blocks, validates each distinct
term exactly as pyoxigraph would (IRIs with :class:`pyoxigraph.NamedNode`, literal suffixes by a
round trip), hands every line it cannot read trivially (escapes, comments, other whitespace …) to
pyoxigraph, and gives up (returns ``None``) on files it cannot read at all, which then go through
pyoxigraph entirely. ``tests/test_process.py`` checks the result against the plain loop.
"""
from __future__ import annotations

import os
from collections import deque
from pathlib import Path

import numpy as np
import pyoxigraph as ox

from artkg.kg.columns import BLANK, IRI, LITERAL, Columns, TermTable, code_quad, lazy_pandas

_BLOCK = 1 << 23  # bytes read at a time: memory stays bounded, and 8 MiB blocks were fastest (cache)
_MAX_WORDS = 16  # tokens up to 128 bytes are coded with numpy, longer ones one by one
_PAD = 8 * _MAX_WORDS + 32  # room after a block: word reads may run past its end (masked)
_MAX_FALLBACK_SHARE = 0.125  # more lines than this that need pyoxigraph: let it read the whole file
_LOW_BYTES = np.array([(1 << (8 * k)) - 1 for k in range(8)] + [(1 << 64) - 1], dtype=np.uint64)
_MULT = np.random.default_rng(20240917).integers(1, 1 << 63, size=_MAX_WORDS + 1, dtype=np.uint64) * 2 + 1
_ID_FIRST = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_")
_ID_LAST = _ID_FIRST | frozenset(b"-")
_ID_MID = _ID_LAST | frozenset(b".")


def _iri(token: bytes) -> str | None:
    """``<iri>`` → ``iri`` if pyoxigraph reads the token as exactly that IRI, else None.

    No backslash (``\\u`` escapes are left to pyoxigraph); every character N-Triples forbids in
    an IRIREF (space, ``<>"{}|^`\\``, controls) is also rejected by the IRI check of
    :class:`pyoxigraph.NamedNode`, which is the one pyoxigraph's parser applies.
    """
    if token[:1] != b"<" or token[-1:] != b">" or b"\\" in token:
        return None
    try:
        iri = token[1:-1].decode("utf-8")
        ox.NamedNode(iri)
    except ValueError:  # UnicodeDecodeError is a ValueError too
        return None
    return iri


def _blank_id(token: bytes) -> str | None:
    """``_:id`` → ``id`` for the plain ASCII labels (``[A-Za-z0-9_]`` first, ``.`` not last)."""
    label = token[2:]
    if (token[:2] != b"_:" or not label or label[0] not in _ID_FIRST or label[-1] not in _ID_LAST
            or not _ID_MID.issuperset(label)):
        return None
    return label.decode("ascii")


class _SuffixCheck(dict):
    """Literal suffix (``@lang``, ``^^<datatype>`` or nothing) → language, or False when the suffix
    is not exactly what pyoxigraph would read and write back (unknown → pyoxigraph parses the line)."""

    def __missing__(self, suffix: bytes):
        result = False
        if suffix == b"":
            result = None
        elif b"\\" not in suffix and b'"' not in suffix:
            line = b'<http://example.org/> <http://example.org/> "x"' + suffix + b" .\n"
            try:
                (quad,) = ox.parse(line, format=ox.RdfFormat.N_TRIPLES)
                obj = quad.object
                if type(obj) is ox.Literal and str(obj).encode("utf-8") == b'"x"' + suffix:
                    result = obj.language
            except (SyntaxError, ValueError):
                pass
        self[suffix] = result
        return result


def read_canonical(path: str | Path) -> Columns | None:
    """Columns from a canonical N-Triples file, or None when pyoxigraph should read it all.

    A block of lines is cut into subject, predicate and object tokens at its first two spaces and
    its final `` .`` with numpy; equal tokens get equal codes (:func:`_factorize`), and only the
    distinct tokens of a block are decoded and validated, in Python. A line whose tokens are not
    all trivially readable (escapes, comments, other whitespace …) is parsed by pyoxigraph alone
    (a line is a triple in N-Triples, so that is exact); a line pyoxigraph rejects, a carriage
    return, or too many such lines make this return None, and the caller parses the whole file
    with pyoxigraph (same error, same result).
    """
    reader = _CanonicalReader()
    with open(path, "rb") as fh:
        block = min(_BLOCK, os.fstat(fh.fileno()).st_size + 1)
        raw = bytearray(block + _PAD)  # one buffer, reused: a block of lines, then room for word reads
        view = memoryview(raw)
        filled = 0  # bytes of an unfinished line carried over from the previous block
        while True:
            got = fh.readinto(view[filled:block])
            size = filled + got
            if not got:
                if not size:
                    break
                raw[size] = 10  # the last line has no end of line
                size += 1
            cut = raw.rfind(b"\n", 0, size)
            if cut < 0:
                if size >= block:
                    return None  # a line longer than a block (or a file that grew)
                filled = size
                continue
            if raw.find(b"\r", 0, cut) >= 0:  # CR ends lines too (and is never raw in a literal)
                return None
            if not reader.read_block(raw, cut + 1):
                return None
            filled = size - cut - 1
            raw[:filled] = raw[cut + 1:size]
    return reader.columns()


class _CanonicalReader:
    """The state of :func:`read_canonical`: term tables and the code columns of the blocks read.

    Codes are per block (a term met in two blocks has two codes with the same value): everything
    downstream identifies terms by value, so this is only a little duplicated decoding.
    """

    def __init__(self) -> None:
        self.p, self.s, self.o = TermTable(), TermTable(), TermTable()
        self.suffixes = _SuffixCheck()
        self.chunks: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        self.lines = 0
        self.fallback = 0
        self.scratch = _Scratch()
        self.mask = np.empty(0, dtype=bool)  # reused for the byte scans of every block

    def _find(self, buf: np.ndarray, nbytes: int, byte: int) -> np.ndarray:
        """Offsets of ``byte`` in ``buf[:nbytes]``."""
        if len(self.mask) < nbytes:
            self.mask = np.empty(len(buf), dtype=bool)
        mask = self.mask[:nbytes]
        np.equal(buf[:nbytes], byte, out=mask)
        return np.flatnonzero(mask)

    def columns(self) -> Columns:
        def cat(i):
            return (np.concatenate([c[i] for c in self.chunks]) if self.chunks
                    else np.zeros(0, dtype=np.intp))

        return Columns(
            p_code=cat(0), s_code=cat(1), o_code=cat(2), preds=self.p.value,
            subj_value=self.s.value, subj_kind=np.array(self.s.kind, dtype=np.int8),
            obj_value=self.o.value, obj_kind=np.array(self.o.kind, dtype=np.int8), obj_lang=self.o.lang,
            fallback_lines=self.fallback)

    def read_block(self, data: bytearray, nbytes: int) -> bool:
        """Code the lines of ``data[:nbytes]`` (complete lines; ``_PAD`` more bytes follow that word
        reads may touch); False: give up."""
        buf = np.frombuffer(data, dtype=np.uint8)
        words = np.frombuffer(data, dtype="<u8", count=len(data) // 8)  # tokens are compared by words
        ends = self._find(buf, nbytes, 10)
        n = len(ends)
        starts = np.empty(n, dtype=np.intp)
        starts[:1] = 0
        starts[1:] = ends[:-1] + 1
        spaces = self._find(buf, nbytes, 32)
        if len(spaces) < 2:
            spaces = np.array([nbytes, nbytes], dtype=np.intp)
        first = np.searchsorted(spaces, starts)
        np.minimum(first, len(spaces) - 2, out=first)  # (past the last spaces: caught below)
        sp1, sp2 = spaces[first], spaces[first + 1]
        o_start, o_end = sp2 + 1, ends - 2  # the object token ends before the final " ."
        ok = (o_end > o_start) & (sp1 >= starts)  # two spaces in the line, then an object
        ok &= (buf[o_end] == 32) & (buf[o_end + 1] == 46)  # (indices < 0 only where ok is False)
        escapes = _positions(data, b"\\", nbytes)
        if len(escapes):  # pyoxigraph reads those lines
            ok[np.searchsorted(ends, escapes)] = False
        o_first = buf[o_start]
        is_iri = ok & (o_first == 60)
        is_lit = ok & (o_first == 34)
        ok &= is_iri | is_lit | (o_first == 95)
        is_blank = ok & (o_first == 95)
        lit = np.flatnonzero(is_lit)
        last_quote = None
        if len(lit):  # a literal "lex"suffix: where its lexical form ends
            last_quote = _closing_quotes(data, buf, o_start[lit], o_end[lit])
            found = last_quote > 0
            ok[lit[~found]] = False
            lit, last_quote = lit[found], last_quote[found]
        good = np.flatnonzero(ok)

        p_code = np.full(n, -1, dtype=np.intp)
        s_code = np.full(n, -1, dtype=np.intp)
        o_code = np.full(n, -1, dtype=np.intp)
        bases = len(self.p.ok), len(self.s.ok), len(self.o.ok)  # this block's terms come after these
        p_code[good] = self._code(self.p, data, words, sp1[good] + 1, sp2[good], _decode_predicates)
        s_code[good] = self._code(self.s, data, words, starts[good], sp1[good], _decode_subjects)
        iri = np.flatnonzero(is_iri & ok)
        o_code[iri] = self._code(self.o, data, words, o_start[iri], o_end[iri], _decode_iri_objects)
        if len(lit):
            o_code[lit] = self._code(self.o, data, words, o_start[lit], o_end[lit], self._decode_literals,
                                     extra=last_quote)
        blank = np.flatnonzero(is_blank)
        if len(blank):
            o_code[blank] = self._code(self.o, data, words, o_start[blank], o_end[blank], _decode_blank_objects)
        for table, codes, base in zip((self.p, self.s, self.o), (p_code, s_code, o_code), bases):
            ok[good] &= np.array(table.ok[base:], dtype=bool)[codes[good] - base]

        self.lines += n
        bad = np.flatnonzero(~ok)
        if len(bad):
            self.fallback += len(bad)
            if self.fallback > max(1000, _MAX_FALLBACK_SHARE * self.lines):
                return False
            # Lines that need pyoxigraph: each is parsed alone (0 triples: a comment, a blank line).
            keep = np.ones(n, dtype=bool)
            for row in bad.tolist():
                try:
                    quads = list(ox.parse(bytes(data[starts[row]:ends[row] + 1]), format=ox.RdfFormat.N_TRIPLES))
                except SyntaxError:
                    return False  # invalid: the whole-file parse raises the error with its position
                if len(quads) > 1:
                    return False
                if not quads:
                    keep[row] = False
                    continue
                p_code[row], s_code[row], o_code[row] = code_quad(quads[0], self.p, self.s, self.o)
            p_code, s_code, o_code = p_code[keep], s_code[keep], o_code[keep]
        self.chunks.append((p_code, s_code, o_code))
        return True

    def _code(self, table: TermTable, data: bytearray, words: np.ndarray, start: np.ndarray, end: np.ndarray,
              decode, extra=None) -> np.ndarray:
        """Codes in ``table`` of the tokens ``data[start:end]``; ``decode`` reads the new ones."""
        codes, reps, loose = _factorize(words, start, end - start, self.scratch)
        if len(loose):  # long tokens and hash collisions: one by one, as distinct terms
            codes[loose] = len(reps) + np.arange(len(loose))
            reps = np.concatenate([reps, loose])
        base = len(table.value)
        decode(table, data, start[reps], end[reps], None if extra is None else extra[reps])
        return codes + base

    def _decode_literals(self, table: TermTable, data: bytearray, start: np.ndarray, end: np.ndarray,
                         last_quote: np.ndarray) -> None:
        # The suffixes (@lang, ^^<datatype>) are few: code them, and check each distinct one once.
        words = np.frombuffer(data, dtype="<u8", count=len(data) // 8)
        codes, reps, loose = _factorize(words, last_quote + 1, end - last_quote - 1, self.scratch)
        check = self.suffixes
        lang_of = [check[bytes(data[a:b])] for a, b in zip((last_quote[reps] + 1).tolist(), end[reps].tolist())]
        langs = [lang_of[c] for c in codes.tolist()] if not len(loose) else [
            check[bytes(data[q + 1:b])] for q, b in zip(last_quote.tolist(), end.tolist())]
        values = _decode_all([data[a + 1:q] for a, q in zip(start.tolist(), last_quote.tolist())])
        # A quote inside a lexical form: not a plain literal (the line goes to pyoxigraph).
        oks = [lang is not False and value is not None and '"' not in value
               for lang, value in zip(langs, values)]
        table.extend(values, LITERAL, langs, oks)


def _positions(data: bytearray, char: bytes, end: int) -> np.ndarray:
    """Offsets of a (rare) byte in ``data[:end]``."""
    found = []
    at = data.find(char, 0, end)
    while at >= 0:
        found.append(at)
        at = data.find(char, at + 1, end)
    return np.array(found, dtype=np.intp)


def _closing_quotes(data: bytearray, buf: np.ndarray, start: np.ndarray, end: np.ndarray) -> np.ndarray:
    """Offset of the last quote in each ``data[start:end]`` after the opening one at ``start``
    (-1 if none). Suffix lengths are few (0 for "x", 3 for "x"@en …): those seen in a sample of
    the rows are tried at once, the rest one by one."""
    last = np.full(len(start), -1, dtype=np.intp)
    sample = range(0, len(start), max(1, len(start) // 256))
    lengths = sorted({int(end[i]) - 1 - data.rfind(b'"', int(start[i]) + 1, int(end[i])) for i in sample})
    todo = np.arange(len(start))
    for k in lengths:
        if k < 0 or k >= 8 * _MAX_WORDS:
            continue
        at = end[todo] - 1 - k
        hit = (buf[at] == 34) & (at > start[todo])
        last[todo[hit]] = at[hit]
        todo = todo[~hit]
        if not len(todo):
            break
    for i in todo.tolist():
        last[i] = data.rfind(b'"', int(start[i]) + 1, int(end[i]))
    return last


def _decode_all(chunks: list) -> list[str | None]:
    """UTF-8 decode each (None where invalid); chunks never hold a newline (they come from lines)."""
    try:
        out = b"\n".join(chunks).decode("utf-8").split("\n")
        if len(out) == len(chunks):
            return out
    except UnicodeDecodeError:
        pass
    out = []
    for c in chunks:
        try:
            out.append(c.decode("utf-8"))
        except UnicodeDecodeError:
            out.append(None)
    return out


def _check_iris(iris: list[str | None]) -> list[bool]:
    """Which decoded IRIs pyoxigraph accepts (the IRI check of its N-Triples parser)."""
    try:
        deque(map(ox.NamedNode, iris), maxlen=0)
        return [True] * len(iris)
    except (ValueError, TypeError):
        oks = []
        for iri in iris:
            try:
                ox.NamedNode(iri)
                oks.append(True)
            except (ValueError, TypeError):
                oks.append(False)
        return oks


def _iri_values(data: bytes, start: np.ndarray, end: np.ndarray) -> tuple[list, list[bool]]:
    """``<iri>`` tokens → (IRIs, valid?); a token must end with ``>`` (no backslash: checked)."""
    closed = np.frombuffer(data, dtype=np.uint8)[end - 1] == 62
    iris = _decode_all([data[a + 1:b - 1] for a, b in zip(start.tolist(), end.tolist())])
    oks = _check_iris(iris)
    if not closed.all():
        oks = [o and bool(c) for o, c in zip(oks, closed.tolist())]
    return iris, oks


def _decode_predicates(table: TermTable, data: bytes, start, end, _extra) -> None:
    first = np.frombuffer(data, dtype=np.uint8)[start] == 60
    iris, oks = _iri_values(data, start, end)
    table.extend(iris, IRI, None, [o and bool(f) for o, f in zip(oks, first.tolist())])


def _decode_iri_objects(table: TermTable, data: bytes, start, end, _extra) -> None:
    iris, oks = _iri_values(data, start, end)
    table.extend(iris, IRI, None, oks)


def _decode_subjects(table: TermTable, data: bytes, start, end, _extra) -> None:
    first = np.frombuffer(data, dtype=np.uint8)[start]
    if (first == 60).all():
        iris, oks = _iri_values(data, start, end)
        table.extend(iris, IRI, None, oks)
        return
    for a, b in zip(start.tolist(), end.tolist()):  # blank nodes (or garbage) among them
        tok = data[a:b]
        if tok[:1] == b"<":
            iris, oks = _iri_values(data, np.array([a]), np.array([b]))
            table.extend(iris, IRI, None, oks)
        else:
            bid = _blank_id(tok)
            table.extend([bid], BLANK, None, [bid is not None])


def _decode_blank_objects(table: TermTable, data: bytes, start, end, _extra) -> None:
    ids = [_blank_id(data[a:b]) for a, b in zip(start.tolist(), end.tolist())]
    table.extend(ids, BLANK, None, [i is not None for i in ids])


def _factorize(aligned: np.ndarray, start: np.ndarray, length: np.ndarray, scratch: _Scratch | None = None):
    """Group equal byte strings ``data[start:start+length]`` without making Python objects.

    ``aligned`` is ``data`` as little-endian 8-byte words. Returns ``(codes, reps, loose)``:
    ``codes[i]`` numbers the distinct strings (-1 for the ``loose`` rows), ``reps[c]`` is a row
    with code ``c``, and ``loose`` lists the rows left out: strings over ``8 * _MAX_WORDS``
    bytes, and the rare hash collisions. Strings are grouped by their number of 8-byte words
    (strings of different lengths never match), hashed, and every row is then compared word by
    word with its group's first row: the hash only proposes, the comparison decides.
    """
    n = len(start)
    codes = np.full(n, -1, dtype=np.intp)
    scratch = scratch or _Scratch()
    n_words = (length + 7) >> 3
    by_words = np.argsort(np.minimum(n_words, _MAX_WORDS + 1).astype(np.int8), kind="stable")
    bounds = np.zeros(_MAX_WORDS + 3, dtype=np.intp)
    np.cumsum(np.bincount(n_words.clip(0, _MAX_WORDS + 1), minlength=_MAX_WORDS + 2), out=bounds[1:])
    reps = []
    n_codes = 0
    for k in range(_MAX_WORDS + 1):
        rows = by_words[bounds[k]:bounds[k + 1]]
        if not len(rows):
            continue
        if k == 0:  # empty strings
            local, first = np.zeros(len(rows), dtype=np.intp), np.zeros(1, dtype=np.intp)
        else:
            local, first = _factorize_words(aligned, start[rows], length[rows], k, scratch)
        codes[rows] = np.where(local >= 0, local + n_codes, -1)
        reps.append(rows[first])
        n_codes += len(first)
    reps = np.concatenate(reps) if reps else np.zeros(0, dtype=np.intp)
    return codes, reps, np.flatnonzero(codes < 0)


class _Scratch:
    """Work arrays reused from one block and column to the next.

    Fresh memory is costly (the kernel zeroes every page on first touch, and on virtual machines
    a page fault costs microseconds): reusing a few arrays makes the numpy passes noticeably faster.
    """

    def __init__(self) -> None:
        self.words = np.empty((0, 0), dtype=np.uint64)
        self.ints = np.empty((0, 0), dtype=np.intp)
        self.flags = np.empty((0, 0), dtype=bool)

    def get(self, n_words: int, n_ints: int, n_flags: int, m: int):
        if self.words.shape[0] < n_words or self.words.shape[1] < m:
            self.words = np.empty((max(n_words, self.words.shape[0]), max(m, self.words.shape[1])), np.uint64)
        if self.ints.shape[0] < n_ints or self.ints.shape[1] < m:
            self.ints = np.empty((max(n_ints, self.ints.shape[0]), max(m, self.ints.shape[1])), np.intp)
        if self.flags.shape[0] < n_flags or self.flags.shape[1] < m:
            self.flags = np.empty((max(n_flags, self.flags.shape[0]), max(m, self.flags.shape[1])), bool)
        return self.words[:n_words, :m], self.ints[:n_ints, :m], self.flags[:n_flags, :m]


def _factorize_words(aligned: np.ndarray, st: np.ndarray, ln: np.ndarray, k: int, scratch: _Scratch):
    """:func:`_factorize` for strings of ``k`` words: (codes or -1, first row of each code)."""
    m = len(st)
    words, ints, flags = scratch.get(k + 5, 1, 3, m)
    low, high, spill, h, r = words[k], words[k + 1], words[k + 2], words[k + 3], words[k + 4]
    q = ints[0]
    head, same, diff = flags[0], flags[1], flags[2]
    # Word j of a string at offset s, from two aligned words: (A[q+j] >> r) | (A[q+j+1] << 64-r).
    np.right_shift(st, 3, out=q)
    np.bitwise_and(st, 7, out=r, casting="unsafe")
    np.left_shift(r, np.uint64(3), out=r)
    eight = np.uint64(8)
    np.take(aligned, q, out=low)
    parts = []
    prefix = True  # leading words equal in every row (a shared IRI prefix) need no comparing
    for j in range(k):
        q += 1
        np.take(aligned, q, out=high)
        w = words[len(parts)]
        np.right_shift(low, r, out=w)
        np.subtract(np.uint64(56), r, out=spill)
        np.left_shift(high, spill, out=spill)
        np.left_shift(spill, eight, out=spill)
        w |= spill
        low, high = high, low
        if j == k - 1:  # the bytes past the string's end are zeroed
            w &= _LOW_BYTES[ln - 8 * j]
        if prefix:
            if (w == w[0]).all():
                continue
            prefix = False
        parts.append(w)
    # Runs of equal rows (as a sorted file's subjects): compare with the row before, hash heads.
    head[:1] = True
    np.not_equal(ln[1:], ln[:-1], out=head[1:])
    if parts:
        np.not_equal(parts[-1][1:], parts[-1][:-1], out=diff[1:])
        head[1:] |= diff[1:]
    runs = m > 2 * int(np.count_nonzero(head))
    if runs:
        for w in parts[:-1]:
            np.not_equal(w[1:], w[:-1], out=diff[1:])
            head[1:] |= diff[1:]
        heads = np.flatnonzero(head)
        parts = [w[heads] for w in parts]
        ln = ln[heads]
        h = h[:len(heads)]
        spill = spill[:len(heads)]
        same, diff = same[:len(heads)], diff[:len(heads)]
    h[:] = ln
    h *= _MULT[_MAX_WORDS]
    for j, w in enumerate(parts):
        np.multiply(w, _MULT[j], out=spill)
        h += spill
    local, _ = lazy_pandas().factorize(h)
    local = local.astype(np.intp, copy=False)
    running = np.maximum.accumulate(local)
    new = np.empty(len(local), dtype=bool)
    new[:1] = True
    np.greater(local[1:], running[:-1], out=new[1:])
    first = np.flatnonzero(new)  # first row (head) of each code
    np.equal(ln[first][local], ln, out=same)
    for w in parts:
        np.take(w[first], local, out=spill)
        np.equal(spill, w, out=diff)
        same &= diff
    if not same.all():  # a collision: those rows (and their runs) go one by one
        local = np.where(same, local, -1)
    if runs:
        return local[np.cumsum(head) - 1], heads[first]
    return local, first
