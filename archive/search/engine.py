"""Evaluating and ranking queries over an open search index, with numpy.

Whoosh's matchers step through every matching document in Python (10–20 µs a document
with scoring): a common word in 100,000 documents costs seconds. :class:`Engine` reads a
term's postings as arrays (:func:`archive.search.codec.read_postings`), turns Whoosh query
objects into boolean masks over all documents (AND, OR and NOT are array operations),
counts facets with ``bincount`` over a column of each document's year, unit and class, and
ranks with BM25 computed for every candidate at once. Columns (dates, field lengths,
facet values) are read once per open index; decoded postings are kept while the index
stays the same, within a budget.
"""

from __future__ import annotations

import contextlib
import math
from pathlib import Path

import numpy as np

from .codec import LENGTH_TABLE, field_lengths, read_postings

BM25_K1, BM25_B = 1.2, 0.75
CACHE_POSTINGS = True  # keep decoded postings while the index does not change
_CACHE_LIMIT = 10_000_000  # postings kept, at most (8 bytes each)

_EMPTY_IDS = np.zeros(0, dtype=np.int32)
_EMPTY_WEIGHTS = np.zeros(0, dtype=np.float32)


class Engine:
    """One open index: postings as arrays, columns, masks and BM25."""

    def __init__(self, path: Path):
        from whoosh import index

        self.searcher = index.open_dir(str(path)).searcher()
        self.reader = self.searcher.reader()
        # (an empty index has one reader without segments, columns or terms)
        self.leaves = [(leaf, offset) for leaf, offset in self.reader.leaf_readers() if leaf.doc_count_all()]
        self.count_all = self.reader.doc_count_all()
        self.count = max(1, self.reader.doc_count())
        self.deleted = np.zeros(self.count_all, dtype=bool)
        for leaf, offset in self.leaves:
            if leaf.has_deletions():
                self.deleted[[d + offset for d in leaf.deleted_docs_set]] = True
        self.schema = self.reader.schema
        self._postings: dict = {}
        self._cached = 0
        self._columns: dict = {}
        self._facets: dict = {}
        self._lengths: dict = {}
        self._masks: dict = {}

    def current(self) -> bool:
        try:
            return self.searcher.up_to_date()
        except Exception:  # noqa: BLE001 - a vanished folder: open the index again
            return False

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.searcher.close()

    def start(self) -> "Engine":
        """Begin a query (forgetting postings decoded for earlier ones unless CACHE_POSTINGS)."""
        if not CACHE_POSTINGS:
            self._postings.clear()
            self._cached = 0
        return self

    # -- postings -----------------------------------------------------------------------
    def postings(self, fieldname: str, text) -> tuple[np.ndarray, np.ndarray]:
        """(document numbers ascending, weights) of a term over the whole index."""
        key = (fieldname, text)
        found = self._postings.get(key)
        if found is not None:
            return found
        from whoosh.reading import TermNotFound

        try:
            tbytes = self.schema[fieldname].to_bytes(text)
        except KeyError:
            return _EMPTY_IDS, _EMPTY_WEIGHTS
        ids, weights = [], []
        for leaf, offset in self.leaves:
            try:
                leaf_ids, leaf_weights = _leaf_postings(leaf, fieldname, text, tbytes)
            except TermNotFound:
                continue
            ids.append(leaf_ids.astype(np.int32) + np.int32(offset))  # document numbers stay below 2**31
            weights.append(leaf_weights)
        if not ids:
            found = (_EMPTY_IDS, _EMPTY_WEIGHTS)
        elif len(ids) == 1:
            found = (ids[0], weights[0])
        else:
            found = (np.concatenate(ids), np.concatenate(weights))
        if self._cached + len(found[0]) > _CACHE_LIMIT:
            self._postings.clear()
            self._cached = 0
        self._postings[key] = found
        self._cached += len(found[0])
        return found

    def frequency(self, fieldname: str, text) -> int:
        """How many documents contain the term (from the term dictionary, no postings read)."""
        found = self._postings.get((fieldname, text))
        if found is not None:
            return len(found[0])
        try:
            return self.reader.doc_frequency(fieldname, text)
        except Exception:  # noqa: BLE001 - unknown field or term
            return 0

    def term_mask(self, fieldname: str, text) -> np.ndarray:
        mask = np.zeros(self.count_all, dtype=bool)
        mask[self.postings(fieldname, text)[0]] = True
        return mask

    # -- queries as masks ---------------------------------------------------------------
    def all(self) -> np.ndarray:
        return np.ones(self.count_all, dtype=bool)

    def docs(self, query) -> np.ndarray:
        """The documents matching a Whoosh query, as a mask (deleted ones included)."""
        from whoosh import query as Q

        if isinstance(query, Q.Term):
            return self.term_mask(query.fieldname, query.text)
        if isinstance(query, Q.And):
            parts = _flatten_and(query)
            positive = [q for q in parts if not isinstance(q, Q.Not)]
            negative = [q.query for q in parts if isinstance(q, Q.Not)]
            # rarest terms first: once nothing is left, the common ones are never read
            terms = sorted((q for q in positive if isinstance(q, Q.Term)),
                           key=lambda q: self.frequency(q.fieldname, q.text))
            others = [q for q in positive if not isinstance(q, Q.Term)]
            out = None
            for q in terms + others:
                mask = self.docs(q)
                out = mask if out is None else np.logical_and(out, mask, out=out)
                if not out.any():
                    return out
            if out is None:
                out = self.all()
            for q in negative:
                out &= ~self.docs(q)
            return out
        if isinstance(query, Q.Or):
            out = np.zeros(self.count_all, dtype=bool)
            for q in query.subqueries:
                out |= self.docs(q)
            return out
        if isinstance(query, Q.Not):
            return ~self.docs(query.query)
        if isinstance(query, Q.AndMaybe):
            return self.docs(query.a)
        if isinstance(query, Q.ConstantScoreQuery):
            return self.docs(query.child)
        if isinstance(query, Q.Prefix):
            out = np.zeros(self.count_all, dtype=bool)
            for text in self.reader.expand_prefix(query.fieldname, query.text):
                out[self.postings(query.fieldname, text)[0]] = True
            return out
        if isinstance(query, Q.Every):
            return self.all()
        if isinstance(query, Q.NumericRange) and query.fieldname == "year":
            years = self.years()
            low = query.start if query.start is not None else -1
            high = query.end if query.end is not None else 1 << 30
            return (years >= low) & (years <= high)
        out = np.zeros(self.count_all, dtype=bool)
        out[list(query.docs(self.searcher))] = True
        return out

    def mask(self, role) -> np.ndarray:
        """The documents ``role`` may not see (see :func:`hidden_from`)."""
        found = self._masks.get(role)
        if found is None:
            found = self._masks[role] = self.docs(hidden_from(role))
        return found

    # -- columns ------------------------------------------------------------------------
    def column(self, fieldname: str) -> np.ndarray:
        """A sortable numeric column for every document (values in sortable form), loaded once."""
        found = self._columns.get(fieldname)
        if found is None:
            parts = [_leaf_column(leaf, fieldname) for leaf, _ in self.leaves]
            found = self._columns[fieldname] = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)
        return found

    def keys(self) -> list:
        """Each document's key (case number), read once from the key column."""
        found = self._columns.get("key")
        if found is None:
            found = []
            for leaf, _ in self.leaves:
                found.extend(leaf.column_reader("key"))
            self._columns["key"] = found
        return found

    def facet_column(self, fieldname: str) -> tuple[np.ndarray, list]:
        """(each document's value number, -1 for none; the values) of a one-word field."""
        found = self._facets.get(fieldname)
        if found is None:
            values = [v for v in self.reader.field_terms(fieldname) if v]
            column = np.full(self.count_all, -1, dtype=np.int32)
            for number, value in enumerate(values):
                column[self.postings(fieldname, value)[0]] = number
            found = self._facets[fieldname] = (column, values)
        return found

    def facet(self, fieldname: str, candidates: np.ndarray) -> dict:
        """How many candidates have each value of a one-word field (year_key, unit, …)."""
        column, values = self.facet_column(fieldname)
        chosen = column[candidates]
        counts = np.bincount(chosen[chosen >= 0], minlength=len(values))
        return {values[k]: int(n) for k, n in enumerate(counts) if n}

    def years(self) -> np.ndarray:
        found = self._columns.get("#years")
        if found is None:
            column, values = self.facet_column("year_key")
            table = np.array([int(v) for v in values] + [0], dtype=np.int64)
            found = self._columns["#years"] = table[column]  # -1 picks the trailing 0
        return found

    def lengths(self, fieldname: str) -> np.ndarray:
        found = self._lengths.get(fieldname)
        if found is None:
            parts = [field_lengths(leaf._perdoc, fieldname, leaf.doc_count_all()) for leaf, _ in self.leaves]
            found = self._lengths[fieldname] = np.concatenate(parts) if parts else LENGTH_TABLE[:0]
        return found

    def average_length(self, fieldname: str) -> float:
        return max(1.0, self.reader.field_length(fieldname) / self.count)

    # -- ranking ------------------------------------------------------------------------
    def scores(self, candidates: np.ndarray, terms) -> np.ndarray:
        """BM25 over the ranking terms (field, token, boost) for every candidate (entries
        outside the candidates are not meaningful)."""
        scores = np.zeros(self.count_all, dtype=np.float32)
        # When most documents are candidates, scoring every posting is cheaper than choosing.
        sparse = int(np.count_nonzero(candidates)) * 4 < self.count_all
        seen = set()
        for fieldname, text, boost in terms:
            if (fieldname, text) in seen:
                continue
            seen.add((fieldname, text))
            ids, weights = self.postings(fieldname, text)
            if sparse and len(ids):
                inside = candidates[ids]
                ids, weights = ids[inside], weights[inside]
            if not len(ids):
                continue
            df = self.frequency(fieldname, text)
            idf = boost * math.log(1 + (self.count - df + 0.5) / (df + 0.5))
            scores[ids] += (idf * (BM25_K1 + 1)) * weights / (weights + self.norms(fieldname)[ids])
        return scores

    def norms(self, fieldname: str) -> np.ndarray:
        """BM25's length normalisation of each document, k1·(1 − b + b·length / average)."""
        key = "#norm:" + fieldname
        found = self._columns.get(key)
        if found is None:
            k1, b = BM25_K1, BM25_B
            found = self._columns[key] = (k1 * (1 - b) + k1 * b / self.average_length(fieldname)
                                          * self.lengths(fieldname)).astype(np.float32)
        return found

    def best(self, candidates: np.ndarray, terms, count: int) -> list[tuple[int, float]]:
        """The ``count`` best-scoring candidates, best first (ties: the earlier document)."""
        scores = self.scores(candidates, terms)
        return [(d, float(scores[d])) for d in _top(np.flatnonzero(candidates), scores, count)]

    def newest(self, candidates: np.ndarray, count: int) -> list[int]:
        """The ``count`` most recent candidates (by date, then by position)."""
        return _top(np.flatnonzero(candidates), self.column("date"), count)


def _top(docs: np.ndarray, key: np.ndarray, count: int) -> list[int]:
    """The ``count`` documents with the largest ``key``, ties by document number."""
    if not len(docs) or count <= 0:
        return []
    values = key[docs]
    if len(docs) > count:
        # everything at least as large as the count-th largest value, then an exact order
        threshold = np.partition(values, len(values) - count)[len(values) - count]
        keep = values >= threshold
        docs, values = docs[keep], values[keep]
    order = np.lexsort((docs, -values.astype(np.float64)))
    return [int(d) for d in docs[order[:count]]]


def _leaf_postings(leaf, fieldname: str, text, tbytes: bytes) -> tuple[np.ndarray, np.ndarray]:
    """A term's postings in one segment (raises TermNotFound when it has none)."""
    terms = getattr(leaf, "_terms", None)  # an empty index has a reader without segments
    if terms is not None:
        terminfo = terms.term_info(fieldname, tbytes)
        with contextlib.suppress(ValueError):  # ValueError: a segment written by another codec
            return read_postings(terms._postfile, terminfo)
    return _matcher_postings(leaf, fieldname, text)


def _matcher_postings(leaf, fieldname: str, text) -> tuple[np.ndarray, np.ndarray]:
    matcher = leaf.postings(fieldname, text)
    ids, weights = [], []
    while matcher.is_active():
        ids.append(matcher.id())
        weights.append(matcher.weight())
        matcher.next()
    return np.asarray(ids, dtype=np.int32), np.asarray(weights, dtype=np.float32)


def _flatten_and(query) -> list:
    """The parts of nested ANDs as one list, so that the rarest term of any word goes first."""
    from whoosh import query as Q

    out = []
    for part in query.subqueries:
        if isinstance(part, Q.And):
            out.extend(_flatten_and(part))
        else:
            out.append(part)
    return out


def _leaf_column(leaf, fieldname: str) -> np.ndarray:
    count = leaf.doc_count_all()
    try:  # one read of a fixed-width numeric column instead of a call per document
        import struct

        reader = leaf.column_reader(fieldname, translate=False)
        code = reader._typecode
        size = struct.calcsize("!" + code)
        dtype = np.dtype(f">{'i' if code.islower() else 'u'}{size}")
        out = np.frombuffer(reader._dbfile.get(reader._basepos, reader._count * reader._fixedlen), dtype=dtype)
        out = out.astype(np.int64)
        if len(out) < count:
            out = np.concatenate([out, np.full(count - len(out), reader._default, dtype=np.int64)])
        return out
    except (AttributeError, TypeError, ValueError):
        return np.asarray(list(leaf.column_reader(fieldname, translate=False)), dtype=np.int64)


_engines: dict[str, Engine] = {}


def engine(path: Path) -> Engine:
    """The engine of the index at ``path``, kept for later searches while the index is unchanged."""
    key = str(path)
    found = _engines.get(key)
    if found is not None and found.current():
        return found
    for old in list(_engines):  # one index open at a time: the newest
        _engines.pop(old).close()
    found = _engines[key] = Engine(path)
    return found


def hidden_from(role):
    """What ``role`` may not see, as a Whoosh query over the access and security fields."""
    from whoosh import query as Q

    from ..core.access import ACCESS_STATUSES, SECURITY_LEVELS, cleared_levels

    cleared = cleared_levels(role)
    hidden = [Q.Term("access", a) for a in ACCESS_STATUSES if a not in role.may_see] + [Q.Term("access", "?")]
    hidden += [Q.Term("security", s) for s in SECURITY_LEVELS if s not in cleared] + [Q.Term("security", "?")]
    return Q.Or(hidden)
