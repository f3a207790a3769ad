"""Evaluating and ranking queries over an open search index, with numpy.

Whoosh's matchers step through every matching document in Python (10–20 µs a document
with scoring): a common word in 100,000 documents costs seconds. :class:`Engine` reads a
term's postings in each segment as arrays (:func:`archive.search.codec.read_term`; the
documents of a common term as a bitmap), turns Whoosh query objects into boolean masks
over all documents (AND, OR and NOT are array operations), checks positions where a
query needs it (:meth:`Engine.phrase`), counts facets with ``bincount`` over a column of
each document's year, unit and class, and ranks with BM25 computed for every candidate,
a segment at a time (arrays that fit the processor's cache). Columns (dates, field
lengths, facet values) are read once per open index; decoded postings are kept while the
index stays the same, within a budget.
"""

from __future__ import annotations

import contextlib
import threading
import math
from collections import OrderedDict
from pathlib import Path

import numpy as np

from .codec import LENGTH_TABLE, Postings, TokenPositions, field_lengths, read_term

BM25_K1, BM25_B = 1.2, 0.75
CACHE_POSTINGS = True  # keep decoded postings while the index does not change
_CACHE_LIMIT = 10_000_000  # postings kept, at most (8 bytes each)
RESULTS_KEPT = 512  # answers to recent queries kept per open index (see Engine.remember)
REMEMBER = True  # keep answers at all (bench/search.py turns it off to time the search itself)

_MISSING = object()
_EMPTY_IDS = np.zeros(0, dtype=np.int32)
_EMPTY_KEYS = np.zeros(0, dtype=np.int64)
_EMPTY_WEIGHTS = np.zeros(0, dtype=np.float32)


class Engine:
    """One open index: postings as arrays, columns, masks and BM25."""

    def __init__(self, path: Path):
        from whoosh import index

        # Whoosh's readers and this engine's caches fill themselves lazily and are not safe for
        # two threads at once: a search holds the lock while it uses the engine (the server
        # answers requests in threads; its workers are processes, each with its own engine).
        # It is held for the index's part only (matching, ranking, facets, reading the stored
        # fields of the page's hits): snippets are made and the page rendered outside it.
        # Narrower would gain little: the threads of a worker share one interpreter lock, so
        # two searches do not run at once anyway, and a remembered query holds it ~1 ms.
        self.lock = threading.RLock()
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
        self._postings: dict = {}  # (field, token) -> (ids, weights) over the whole index
        self._leaf_postings: dict = {}  # (segment, field, token) -> Postings, or None
        self._frequencies: dict = {}
        self._infos: dict = {}  # (segment, field, token) -> term info, or None
        self._cached = 0
        self._columns: dict = {}
        self._facets: dict = {}
        self._lengths: dict = {}
        self._masks: dict = {}
        self._results: OrderedDict = OrderedDict()  # see remember()

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
            self._forget()
        return self

    # -- postings -----------------------------------------------------------------------
    def _term(self, index: int, fieldname: str, text):
        """A term's postings in one segment (:class:`archive.search.codec.Postings`), or None."""
        key = (index, fieldname, text)
        found = self._leaf_postings.get(key, _MISSING)
        if found is not _MISSING:
            return found
        leaf = self.leaves[index][0]
        info = self._info(index, fieldname, text)
        found = None
        if info is not None:
            try:
                found = read_term(leaf._terms._postfile, info,
                                  positional=isinstance(self.schema[fieldname].format, TokenPositions), bitmaps=True)
            except ValueError:  # a segment written by another codec
                found = Postings(*_matcher_postings(leaf, fieldname, text))
        if self._cached > _CACHE_LIMIT:
            self._forget()
        self._leaf_postings[key] = found
        self._cached += len(found.weights) if found is not None else 0
        return found

    def _info(self, index: int, fieldname: str, text):
        """A term's info (statistics, where its postings are) in one segment, or None."""
        key = (index, fieldname, text)
        found = self._infos.get(key, _MISSING)
        if found is _MISSING:
            from whoosh.reading import TermNotFound

            terms = getattr(self.leaves[index][0], "_terms", None)  # an empty index has no segment
            found = None
            if terms is not None and fieldname in self.schema:
                with contextlib.suppress(TermNotFound):
                    found = terms.term_info(fieldname, self.schema[fieldname].to_bytes(text))
            self._infos[key] = found
        return found

    def _forget(self) -> None:
        self._postings.clear()
        self._leaf_postings.clear()
        self._infos.clear()
        self._frequencies.clear()
        self._cached = 0

    def postings(self, fieldname: str, text) -> tuple[np.ndarray, np.ndarray]:
        """(document numbers ascending, weights) of a term over the whole index."""
        key = (fieldname, text)
        found = self._postings.get(key)
        if found is not None:
            return found
        if fieldname not in self.schema:
            return _EMPTY_IDS, _EMPTY_WEIGHTS
        ids, weights = [], []
        for index, (_, offset) in enumerate(self.leaves):
            got = self._term(index, fieldname, text)
            if got is not None:
                ids.append(got.ids.astype(np.int32) + np.int32(offset))  # document numbers stay below 2**31
                weights.append(got.weights)
        if not ids:
            found = (_EMPTY_IDS, _EMPTY_WEIGHTS)
        elif len(ids) == 1:
            found = (ids[0], weights[0])
        else:
            found = (np.concatenate(ids), np.concatenate(weights))
        self._postings[key] = found
        return found

    def frequency(self, fieldname: str, text) -> int:
        """How many documents contain the term (from the term dictionary, no postings read)."""
        key = (fieldname, text)
        found = self._frequencies.get(key)
        if found is None:
            found = 0
            for index in range(len(self.leaves)):
                info = self._info(index, fieldname, text)
                if info is not None:
                    found += info.doc_frequency()
            self._frequencies[key] = found
        return found

    def term_mask(self, fieldname: str, text) -> np.ndarray:
        mask = np.zeros(self.count_all, dtype=bool)
        if fieldname not in self.schema:
            return mask
        for index, (_, offset) in enumerate(self.leaves):
            got = self._term(index, fieldname, text)
            if got is None:
                continue
            if got.bits is not None:
                first, bits = got.bits
                mask[offset + first:offset + first + len(bits)] = bits
            else:
                mask[got.ids.astype(np.int64) + offset] = True
        return mask

    # -- positions ----------------------------------------------------------------------
    def phrase(self, fieldname: str, elements, candidates: np.ndarray) -> np.ndarray:
        """The candidates (a mask) in which every element stands at its offset from one
        common start: ``elements`` are (offset, tokens, prefix) with the tokens that may
        stand there (or a prefix they start with), in a field with positions."""
        out = np.zeros(self.count_all, dtype=bool)
        docs = np.flatnonzero(candidates)
        if not len(docs) or not elements:
            return out
        resolved = []
        for offset, tokens, prefix in elements:
            if prefix:
                tokens = tuple(tokens) + tuple(self.reader.expand_prefix(fieldname, prefix))
            resolved.append((offset, tuple(dict.fromkeys(tokens))))
        # the rarest first: later ones are read only for the documents still in the running
        resolved.sort(key=lambda e: sum(self.frequency(fieldname, t) for t in e[1]))
        bounds = np.searchsorted(docs, [offset for _, offset in self.leaves] + [self.count_all])
        for index, (leaf, offset) in enumerate(self.leaves):
            lo, hi = bounds[index], bounds[index + 1]
            if lo == hi:
                continue
            local = (docs[lo:hi] - offset).astype(np.uint32)
            ranks = np.arange(len(local), dtype=np.int64)
            keys = None
            for at, tokens in resolved:
                found = self._keys(index, leaf, fieldname, tokens, local[ranks], ranks, at)
                keys = found if keys is None else keys[_in_sorted(keys, found)]
                if not len(keys):
                    break
                ranks = _sorted_unique(keys >> 32)
            if keys is not None and len(keys):
                out[local[ranks].astype(np.int64) + offset] = True
        return out

    def _keys(self, index: int, leaf, fieldname: str, tokens, docs: np.ndarray, ranks: np.ndarray, at: int):
        """Where the tokens stand in these documents of a segment, moved back by ``at``,
        as sorted keys rank << 32 | position (rank: the document's place in ``ranks``)."""
        parts = []
        for token in tokens:
            got = self._term(index, fieldname, token)
            if got is None or got.counts is None:  # not in this segment, or a word without positions
                continue
            ids = got.ids
            where = np.searchsorted(ids, docs)
            inside = where < len(ids)
            inside[inside] = ids[where[inside]] == docs[inside]
            if not inside.any():
                continue
            where = where[inside]
            counts = got.counts.astype(np.int64)
            lengths = counts[where]
            positions = got.positions
            if isinstance(positions, tuple):
                positions = leaf._terms.positions(positions, int(counts.sum()))
            taken = positions[_ranges((np.cumsum(counts) - counts)[where], lengths)].astype(np.int64)
            parts.append((np.repeat(ranks[inside], lengths) << 32) + taken - at)
        if not parts:
            return _EMPTY_KEYS
        return parts[0] if len(parts) == 1 else np.sort(np.concatenate(parts))

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
                out |= self.term_mask(query.fieldname, text)
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

    def remember(self, key, compute):
        """The answer ``compute()`` gives for ``key``, computed once while this index stays open.

        An engine belongs to one state of the index: when a document is added, changed
        (its access status, its security level) or removed, the next search opens a new
        engine with nothing remembered. ``key`` must hold everything the answer depends on
        besides the index (the query and filters, and what the searcher may see). The most
        recently used :data:`RESULTS_KEPT` answers are kept. Call it holding :attr:`lock`.
        """
        if not REMEMBER:
            return compute()
        found = self.recall(key)
        if found is None:
            found = compute()
            self.keep(key, found)
        return found

    def recall(self, key):
        """What :meth:`keep` kept for ``key`` (None when nothing); hold :attr:`lock`."""
        found = self._results.get(key)
        if found is not None:
            self._results.move_to_end(key)
        return found

    def keep(self, key, value) -> None:
        """Keep ``value`` (not None) for ``key`` (see :meth:`remember`); hold :attr:`lock`."""
        self._results[key] = value
        self._results.move_to_end(key)
        while len(self._results) > RESULTS_KEPT:
            self._results.popitem(last=False)

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
        outside the candidates are not meaningful), computed a segment at a time."""
        weighted, seen = [], set()
        for fieldname, text, boost in terms:
            if (fieldname, text) in seen:
                continue
            seen.add((fieldname, text))
            df = self.frequency(fieldname, text)
            if df:
                idf = boost * math.log(1 + (self.count - df + 0.5) / (df + 0.5))
                weighted.append((fieldname, text, np.float32(idf * (BM25_K1 + 1))))
        scores = np.zeros(self.count_all, dtype=np.float32)
        for index, (leaf, offset) in enumerate(self.leaves):
            size = leaf.doc_count_all()
            chosen = candidates[offset:offset + size]
            places = np.flatnonzero(chosen)
            if not len(places) or not weighted:
                continue
            total = np.zeros(len(places), dtype=np.float32)
            norms = {}
            for fieldname, text, factor in weighted:
                got = self._term(index, fieldname, text)
                if got is None:
                    continue
                norm = norms.get(fieldname)
                if norm is None:
                    norm = norms[fieldname] = self.norms(fieldname)[offset:offset + size][places]
                if got.bits is None and len(got.weights) * 8 < len(places):
                    # a rare term: find its few postings among the candidates
                    ids = got.ids
                    inside = chosen[ids]
                    if inside.any():
                        weights = got.weights[inside]
                        where = np.searchsorted(places, ids[inside])
                        total[where] += factor * weights / (weights + norm[where])
                    continue
                frequencies = np.zeros(size, dtype=np.float32)
                if got.bits is not None:
                    first, bits = got.bits
                    frequencies[first:first + len(bits)][bits] = got.weights
                else:
                    frequencies[got.ids] = got.weights
                frequencies = frequencies[places]
                total += factor * frequencies / (frequencies + norm)
            scores[offset + places] = total
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


def _matcher_postings(leaf, fieldname: str, text) -> tuple[np.ndarray, np.ndarray]:
    matcher = leaf.postings(fieldname, text)
    ids, weights = [], []
    while matcher.is_active():
        ids.append(matcher.id())
        weights.append(matcher.weight())
        matcher.next()
    return np.asarray(ids, dtype=np.int32), np.asarray(weights, dtype=np.float32)


def _ranges(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """The indices start, start + 1, …, start + length - 1 of every (start, length), in order."""
    keep = lengths > 0
    starts, lengths = starts[keep], lengths[keep]
    if not len(lengths):
        return np.zeros(0, dtype=np.int64)
    steps = np.ones(int(lengths.sum()), dtype=np.int64)
    firsts = np.cumsum(lengths) - lengths
    steps[firsts[0]] = starts[0]
    steps[firsts[1:]] = starts[1:] - (starts[:-1] + lengths[:-1] - 1)
    return np.cumsum(steps)


def _sorted_unique(values: np.ndarray) -> np.ndarray:
    """The distinct values of an ascending array (np.unique sorts or hashes them again)."""
    if len(values) < 2:
        return values
    keep = np.empty(len(values), dtype=bool)
    keep[0] = True
    np.not_equal(values[1:], values[:-1], out=keep[1:])
    return values[keep]


def _in_sorted(values: np.ndarray, sorted_keys: np.ndarray) -> np.ndarray:
    """Which ``values`` occur in ``sorted_keys`` (a mask over ``values``)."""
    if not len(sorted_keys):
        return np.zeros(len(values), dtype=bool)
    where = np.searchsorted(sorted_keys, values)
    where[where == len(sorted_keys)] = 0
    return sorted_keys[where] == values


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
_engines_lock = threading.Lock()


def engine(path: Path) -> Engine:
    """The engine of the index at ``path``, kept for later searches while the index is unchanged.

    When the index has changed, the engine over it is opened again and the old one is let go,
    not closed: a search in another thread of the server may still be reading its mapped
    segment files, which closing would pull from under it (“mmap closed or invalid”, or a
    crashed worker). The old engine's files close when the last search using it lets it go.
    """
    key = str(path)
    with _engines_lock:
        found = _engines.get(key)
        if found is not None and found.current():
            return found
        _engines.clear()  # one index kept open at a time: the newest
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
