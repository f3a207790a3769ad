"""How the search index stores its postings: flat arrays, collected per term, with positions.

Whoosh 3's codec pickles every block of 128 postings as tuples of Python numbers, and its
writer sends every posting through a sorting pool and half a dozen Python calls. Both
cost microseconds a posting; a search archive has hundreds of postings a document and
common words that occur in most of the archive. This module keeps Whoosh's files, term
dictionary and reader API, and changes three things:

* :class:`ArrayCodec` writes a term's postings in a segment as one block of machine
  integers: document numbers as uint32, or as a bitmap when the term is in more than one
  document in 32 (the common bigrams of administrative prose are in most documents);
  frequencies as uint8/uint16 (float32 only when a weight is not a whole number).
  :func:`read_postings` turns a block into numpy arrays without a loop;
  :class:`ArrayLeafMatcher` reads the same blocks for Whoosh, so Whoosh's own queries,
  deletions and segment merges keep working.
* Fields in the :class:`TokenPositions` format also keep where each token occurs: the
  positions of a term's postings, document after document, as one uint16/uint32 array in
  a separate file of the segment (``.pos``), read only to check that the parts of a query
  stand next to each other (see :mod:`archive.search_engine`). Reading a term's documents
  never reads its positions.
* :class:`ArrayWriter` collects each term's postings in arrays while documents are added
  and writes them term by term when the segment is flushed, instead of Whoosh's pool of
  one tuple per posting. Merging segments copies whole arrays, positions included.

Only this module and :mod:`archive.search_engine` know the block layout; the index's
table of contents names :class:`ArrayCodec`, :class:`TokenCounts` and
:class:`TokenPositions` by their import path, so they must stay here.
"""

from __future__ import annotations

import contextlib
import io
import mmap
import pickle
import struct
from array import array
from collections import Counter
from typing import NamedTuple

import numpy as np
from whoosh.codec.whoosh3 import (WHOOSH3_HEADER_MAGIC, W3Codec, W3FieldWriter, W3LeafMatcher, W3PostingsWriter,
                                  W3TermInfo, W3TermsReader)
from whoosh.formats import Frequency
from whoosh.util.numeric import byte_to_length, length_to_byte
from whoosh.writing import SegmentWriter

BLOCK_TAG = "a2"  # the first item of every block this codec writes
POSITIONS_EXT = ".pos"
_INT = struct.Struct("!i")
LENGTH_TABLE = np.array([byte_to_length(b) for b in range(256)], dtype=np.float32)
BITMAP_DENSITY = 32  # a block's documents are a bitmap when at least one in this many has the term


class Tokens:
    """The value of a :class:`TokenPositions` field for one document, analysed beforehand.

    ``grams`` are the tokens whose positions are kept, ``positions`` where each occurs
    (same length, ascending); ``words`` are further tokens without positions (they only
    rank); ``length`` is the field length BM25 normalises by.
    """

    __slots__ = ("grams", "positions", "words", "length")

    def __init__(self, grams: list, positions: list, words: list = (), length: int | None = None):
        self.grams, self.positions, self.words = grams, positions, list(words)
        self.length = len(grams) + len(self.words) if length is None else length


class TokenCounts(Frequency):
    """Whoosh's Frequency format, fed a string of ready-made tokens separated by spaces
    (counted in C, not token by token), with no per-posting value: the weight is the count."""

    posting_size = 0

    def word_values(self, value, analyzer, **kwargs):
        if isinstance(value, Tokens):
            value = " ".join(value.grams + value.words)
        if isinstance(value, str):
            boost = self.field_boost
            return ((word, freq, freq * boost, b"") for word, freq in Counter(value.split()).items())
        return ((w, f, wt, b"") for w, f, wt, _ in Frequency.word_values(self, value, analyzer, **kwargs))

    def decode_frequency(self, valuestring):
        return 1

    def decode_weight(self, valuestring):
        return self.field_boost


class TokenPositions(TokenCounts):
    """:class:`TokenCounts` whose :class:`Tokens` values also record each token's positions
    (written by :class:`ArrayWriter` only; Whoosh itself sees a frequency field)."""


# -- blocks -------------------------------------------------------------------------------

def _encode_ids(ids: np.ndarray):
    """("I", uint32 bytes) or, for a dense list, ("b", (first, bits, packed bitmap))."""
    count = len(ids)
    first = int(ids[0])
    span = int(ids[-1]) - first + 1
    if count >= 64 and span <= count * BITMAP_DENSITY:
        bits = np.zeros(span, dtype=bool)
        bits[ids - first] = True
        return "b", (first, span, np.packbits(bits, bitorder="little").tobytes())
    return "I", ids.astype("<u4").tobytes()


def _decode_ids(kind, payload) -> np.ndarray:
    if kind == "b":
        first, span, packed = payload
        bits = np.unpackbits(np.frombuffer(packed, dtype=np.uint8), count=span, bitorder="little")
        return np.flatnonzero(bits).astype(np.uint32) + np.uint32(first)
    return np.frombuffer(payload, dtype="<u4")


def _integral_kind(values: np.ndarray):
    """The narrowest unsigned type for whole non-negative numbers, or None."""
    top = float(values.max()) if len(values) else 0.0
    if values.min() < 0 or not (values == np.floor(values)).all() or top >= 1 << 32:
        return None
    return "B" if top < 256 else "H" if top < 65536 else "I"


def _encode_numbers(values: np.ndarray):
    """("1", None) when all are 1, else the narrowest of B/H/I, else ("f", float32 bytes)."""
    if (values == 1).all():
        return "1", None
    kind = _integral_kind(values)
    if kind is None:
        return "f", values.astype("<f4").tobytes()
    return kind, values.astype("<" + {"B": "u1", "H": "u2", "I": "u4"}[kind]).tobytes()


_DTYPES = {"B": "<u1", "H": "<u2", "I": "<u4", "f": "<f4"}


def _decode_numbers(kind, payload, count: int) -> np.ndarray:
    if kind == "1":
        return np.ones(count, dtype=np.float32)
    return np.frombuffer(payload, dtype=_DTYPES[kind]).astype(np.float32)


class ArrayPostingsWriter(W3PostingsWriter):
    """Writes a term's postings as blocks of arrays: (tag, id kind, ids, weight kind,
    weights, values, positions), with the positions themselves in the ``.pos`` file."""

    _posfile = None  # set by ArrayFieldWriter

    def write_arrays(self, ids, weights, values, min_length: int, max_length: int, positions=None,
                     counts=None) -> None:
        """Give a whole posting list at once (ids ascending), between start and finish.

        ``positions``: the term's positions in every posting, one document after the other
        (``counts[i]`` of them for posting ``i``; by default the weights are the counts).
        """
        self._ids, self._weights, self._values = ids, weights, values or []
        self._minlength, self._maxlength = min_length, max_length
        self._positions, self._counts = positions, counts

    def _new_block(self):
        super()._new_block()
        self._positions = self._counts = None

    def _write_block(self, last=False):
        postfile = self._postfile
        if not self._blockcount:
            postfile.write(WHOOSH3_HEADER_MAGIC)
        ids = np.asarray(self._ids, dtype=np.uint32)
        weights = np.asarray(self._weights, dtype=np.float32)
        top = float(weights.max())
        self._maxweight = top
        # what W3TermInfo.add_block does, without a Python loop over the postings
        info = self._terminfo
        info._weight += float(weights.sum(dtype=np.float64))
        info._df += len(ids)
        if self._minlength is not None:
            info._minlength = self._minlength if info._minlength is None else min(info._minlength, self._minlength)
        info._maxlength = max(info._maxlength, self._maxlength)
        info._maxweight = max(info._maxweight, top)
        if info._minid is None:
            info._minid = int(ids[0])
        info._maxid = int(ids[-1])
        id_kind, id_data = _encode_ids(ids)
        weight_kind, weight_data = _encode_numbers(weights)
        fixed = self._format.fixed_value_size()
        if fixed is None or fixed < 0:
            values = tuple(self._values)
        elif fixed == 0 or not self._values:
            values = None
        else:
            values = b"".join(self._values)
        positions = self._write_positions(weights) if self._positions is not None else None
        data = pickle.dumps((BLOCK_TAG, id_kind, id_data, weight_kind, weight_data, values, positions),
                            pickle.HIGHEST_PROTOCOL)
        head = pickle.dumps((len(ids), int(ids[-1]), top, 0, length_to_byte(self._minlength),
                             length_to_byte(self._maxlength)), 2)
        length = len(head) + len(data)
        postfile.write_int(-length if last else length)
        postfile.write(head)
        postfile.write(data)
        self._blockcount += 1
        self._new_block()  # the next block starts empty (Whoosh's own writer adds postings one by one)

    def _write_positions(self, weights: np.ndarray):
        """Append the block's positions to the ``.pos`` file: (offset, type, count kind, counts)."""
        positions = np.asarray(self._positions, dtype=np.uint32)
        if self._counts is None:
            counts_kind, counts = "w", None
        else:
            counts = np.asarray(self._counts, dtype=np.uint32)
            if np.array_equal(counts, weights):
                counts_kind, counts = "w", None
            else:
                counts_kind, counts = _encode_numbers(counts)
        kind = "H" if not len(positions) or int(positions.max()) < 65536 else "I"
        posfile = self._posfile
        offset = posfile.tell()
        if offset % 4:  # keep every array aligned for numpy
            posfile.write(b"\0" * (4 - offset % 4))
            offset = posfile.tell()
        posfile.write(positions.astype(_DTYPES[kind]).tobytes())
        return offset, kind, counts_kind, counts


class Postings(NamedTuple):
    """A term's postings in one segment: document numbers (ascending), weights, Whoosh's
    per-posting values, and where the positions are (None for a field without positions)."""

    ids: np.ndarray
    weights: np.ndarray
    values: object = None  # None, bytes of fixed-size values, or a tuple of them
    counts: np.ndarray | None = None  # positions per posting
    positions: tuple | np.ndarray | None = None  # (offset, type) in the .pos file, or the positions


def _block_parts(data, count: int):
    if not (isinstance(data, tuple) and len(data) == 7 and data[0] == BLOCK_TAG):
        raise ValueError("not an array block")
    _, id_kind, id_data, weight_kind, weight_data, values, positions = data
    return _decode_ids(id_kind, id_data), _decode_numbers(weight_kind, weight_data, count), values, positions


def read_term(postfile, terminfo, positional: bool = False) -> Postings:
    """A term's postings in one segment (see :class:`Postings`). ``positional``: the field
    keeps positions (an inlined term then has them in its values).

    Reads the term's extent in one piece and unpickles its blocks (normally one).
    Raises ValueError for a block this codec did not write.
    """
    if terminfo.is_inlined():
        ids, weights, values = terminfo.inlined_postings()
        ids = np.asarray(ids, dtype=np.uint32)
        weights = np.asarray(weights, dtype=np.float32)
        if positional and values:  # see _inline_values
            counts = np.asarray([len(v) // 4 for v in values], dtype=np.uint32)
            positions = np.frombuffer(b"".join(values), dtype="<u4")
            return Postings(ids, weights, None, counts, positions)
        return Postings(ids, weights, tuple(values) or None)
    offset, length = terminfo.extent()
    if isinstance(length, tuple):  # W3TermInfo.from_bytes leaves the length as struct.unpack's tuple
        length = length[0]
    stream = io.BytesIO(postfile.get(offset, length))
    if stream.read(4) != WHOOSH3_HEADER_MAGIC:
        raise ValueError("not a postings list")
    parts = []
    while True:
        size = _INT.unpack(stream.read(4))[0]
        end = stream.tell() + abs(size)
        info = pickle.load(stream)
        parts.append(_block_parts(pickle.load(stream), info[0]))
        if size < 0:
            break
        stream.seek(end)
    if len(parts) == 1:
        ids, weights, values, positions = parts[0]
        if positions is None:
            return Postings(ids, weights, values)
        offset, kind, counts_kind, counts = positions
        counts = weights if counts_kind == "w" else _decode_numbers(counts_kind, counts, len(ids))
        return Postings(ids, weights, values, counts.astype(np.uint32), (offset, kind))
    # several blocks: only Whoosh's one-posting-at-a-time writer makes them, without positions
    values = [p[2] for p in parts]
    if all(v is None for v in values):
        values = None
    elif all(isinstance(v, bytes) for v in values):
        values = b"".join(values)
    else:
        values = tuple(x for v in values for x in (v or ()))
    return Postings(np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]), values)


def read_postings(postfile, terminfo) -> tuple[np.ndarray, np.ndarray]:
    """A term's postings in one segment as (document numbers, weights) arrays."""
    found = read_term(postfile, terminfo)
    return found.ids, found.weights


def _inline_values(positions: np.ndarray, counts) -> tuple:
    """Per-posting values of an inlined positional term: its positions as uint32 bytes."""
    out, start = [], 0
    for count in counts:
        out.append(positions[start:start + count].astype("<u4").tobytes())
        start += count
    return tuple(out)


class ArrayLeafMatcher(W3LeafMatcher):
    """Whoosh's block matcher over this codec's blocks."""

    def _read_data(self):
        data = pickle.loads(self._postfile.get(self._dataoffset, self._nextoffset - self._dataoffset))
        self._data = _block_parts(data, self._blocklength)

    def _read_ids(self):
        if self._data is None:
            self._read_data()
        self._ids = self._data[0].tolist()

    def _read_weights(self):
        if self._data is None:
            self._read_data()
        self._weights = self._data[1].tolist()

    def _read_values(self):
        if self._data is None:
            self._read_data()
        values = self._data[2]
        fixed = self._fixedsize
        if values is None:
            self._values = (None,) * self._blocklength if not fixed else (b"\0" * fixed,) * self._blocklength
        elif isinstance(values, bytes):
            self._values = tuple(values[i:i + fixed] for i in range(0, len(values), fixed))
        else:
            self._values = values


class ArrayTermsReader(W3TermsReader):
    """Whoosh's terms reader, plus the segment's positions file (mapped into memory)."""

    def __init__(self, codec, dbfile, length, postfile, posfile=None):
        super().__init__(codec, dbfile, length, postfile)
        self._posfile = posfile
        self._posmap = None

    def positions(self, where, count: int) -> np.ndarray:
        """``count`` positions stored at ``where`` ((offset, type) from :func:`read_term`)."""
        offset, kind = where
        dtype = np.dtype(_DTYPES[kind])
        if self._posmap is None and self._posfile is not None:
            raw = getattr(self._posfile, "file", None)
            try:
                self._posmap = mmap.mmap(raw.fileno(), 0, access=mmap.ACCESS_READ)
            except (AttributeError, OSError, ValueError):  # a file in memory (tests) or empty
                self._posmap = False
        if self._posmap:
            return np.frombuffer(self._posmap, dtype=dtype, count=count, offset=offset)
        return np.frombuffer(self._posfile.get(offset, count * dtype.itemsize), dtype=dtype)

    def close(self):
        super().close()
        if self._posmap:
            with contextlib.suppress(BufferError):  # arrays still refer to it: the GC unmaps it
                self._posmap.close()
        if self._posfile is not None:
            self._posfile.close()


class ArrayFieldWriter(W3FieldWriter):
    """Whoosh's field writer with a positions file beside the postings."""

    def __init__(self, codec, storage, segment):
        super().__init__(codec, storage, segment)
        self._posfile = self._create_file(POSITIONS_EXT)

    def start_field(self, fieldname, fieldobj):
        super().start_field(fieldname, fieldobj)
        self._postwriter._posfile = self._posfile

    def close(self):
        super().close()
        self._posfile.close()


class ArrayCodec(W3Codec):
    """Whoosh 3's files with one array block per term and segment (no compression), and
    positions in a file of their own. Term vectors are not supported."""

    def __init__(self, blocklimit=1 << 30, compression=0, inlinelimit=1):
        super().__init__(blocklimit=blocklimit, compression=0, inlinelimit=inlinelimit)

    def field_writer(self, storage, segment):
        return ArrayFieldWriter(self, storage, segment)

    def postings_writer(self, dbfile, byteids=False):
        if byteids:
            raise NotImplementedError("ArrayCodec 不支持词向量（term vectors）")
        return ArrayPostingsWriter(dbfile, blocklimit=self._blocklimit, compression=0,
                                   inlinelimit=self._inlinelimit)

    def postings_reader(self, dbfile, terminfo, format_, term=None, scorer=None):
        if terminfo.is_inlined():
            return super().postings_reader(dbfile, terminfo, format_, term=term, scorer=scorer)
        offset, length = terminfo.extent()
        return ArrayLeafMatcher(dbfile, offset, length, format_, term=term, scorer=scorer)

    def terms_reader(self, storage, segment):
        tiname = segment.make_filename(self.TERMS_EXT)
        tilen = storage.file_length(tiname)
        tifile = storage.open_file(tiname)
        postfile = segment.open_file(storage, self.POSTS_EXT)
        posname = segment.make_filename(POSITIONS_EXT)
        posfile = storage.open_file(posname) if storage.file_exists(posname) else None
        return ArrayTermsReader(self, tifile, tilen, postfile, posfile)


INLINE_LIMIT = 8  # a term with fewer postings in a segment keeps them in the term dictionary


def refuse_unsupported(schema) -> None:
    """Raise if the schema asks for what ArrayWriter does not write (term vectors, spelling
    fields): an index without them would fail later, when they are read."""
    for name, field in schema.items():
        if field.vector:
            raise ValueError(f"检索索引不支持词向量：字段“{name}”（ArrayWriter 不写 term vectors）")
        if field.separate_spelling() or type(field).__name__ == "SpellField":
            raise ValueError(f"检索索引不支持拼写字段：字段“{name}”（ArrayWriter 不写 spelling 词表）")


class ArrayWriter(SegmentWriter):
    """A segment writer that collects postings per term in arrays (see the module docstring).

    Documents are added as with Whoosh's writer; merged segments (``add_reader``) feed the
    same arrays. Fields in the :class:`TokenCounts` format are counted straight from their
    token string, :class:`TokenPositions` fields take :class:`Tokens`; terms are encoded
    once, when the segment is written. A schema with term vectors or separate spelling
    fields is refused.
    """

    def __init__(self, ix, **kwargs):
        refuse_unsupported(ix.schema)
        kwargs.setdefault("codec", ArrayCodec())
        # Separate files, not one compound file per segment: Whoosh copies every part of a
        # compound file into memory when it opens it.
        kwargs.setdefault("compound", False)
        super().__init__(ix, **kwargs)
        # field -> {term (str for token fields, else bytes): [ids, weights, values, positions, counts]}
        self._fields: dict[str, dict] = {}

    def _postings_of(self, fieldname: str) -> dict:
        found = self._fields.get(fieldname)
        if found is None:
            found = self._fields[fieldname] = {}
        return found

    def add_document(self, **fields):
        self._check_state()
        perdocwriter, schema, docnum = self.perdocwriter, self.schema, self.docnum
        docboost = self._doc_boost(fields)
        fieldnames = sorted(name for name in fields if not name.startswith("_"))
        self._check_fields(schema, fieldnames)
        perdocwriter.start_doc(docnum)
        try:
            for fieldname in fieldnames:
                value = fields.get(fieldname)
                if value is None:
                    continue
                field = schema[fieldname]
                length = 0
                if field.indexed:
                    boost = self._field_boost(fields, fieldname, docboost)
                    terms = self._postings_of(fieldname)
                    if isinstance(value, Tokens) and isinstance(field.format, TokenPositions):
                        length = self._add_tokens(terms, value, docnum, boost * field.format.field_boost)
                    elif isinstance(field.format, TokenCounts) and isinstance(value, (str, Tokens)):
                        boost *= field.format.field_boost
                        if isinstance(value, Tokens):
                            value = " ".join(value.grams + value.words)
                        for word, freq in Counter(value.split()).items():
                            self._add(terms, word, docnum, freq * boost, None)
                            length += freq
                    else:
                        scorable = field.scorable
                        for tbytes, freq, weight, vbytes in field.index(value):
                            if scorable:
                                length += freq
                            self._add(terms, tbytes, docnum, weight * boost, vbytes)
                stored = fields.get("_stored_%s" % fieldname, value)
                perdocwriter.add_field(fieldname, field, stored if field.stored else None, length)
                if field.column_type and stored is not None:
                    perdocwriter.add_column_value(fieldname, field.column_type, field.to_column_value(stored))
        except Exception:
            perdocwriter.cancel_doc()
            raise
        perdocwriter.finish_doc()
        self._added = True
        self.docnum += 1

    @staticmethod
    def _add_tokens(terms: dict, value: Tokens, docnum: int, boost: float) -> int:
        """Add one document's positioned tokens and words; returns the field length."""
        groups: dict = {}
        get = groups.get
        for token, position in zip(value.grams, value.positions):
            found = get(token)
            if found is None:
                groups[token] = [position]
            else:
                found.append(position)
        for token, positions in groups.items():
            entry = terms.get(token)
            if entry is None:
                entry = terms[token] = [array("I"), array("f"), None, array("I"), array("I")]
            count = len(positions)
            entry[0].append(docnum)
            entry[1].append(count * boost)
            entry[3].extend(positions)
            entry[4].append(count)
        for word, freq in Counter(value.words).items():
            entry = terms.get(word)
            if entry is None:
                entry = terms[word] = [array("I"), array("f"), None, None, None]
            entry[0].append(docnum)
            entry[1].append(freq * boost)
        return value.length

    @staticmethod
    def _add(terms: dict, term, docnum: int, weight: float, vbytes) -> None:
        entry = terms.get(term)
        if entry is None:
            entry = terms[term] = [array("I"), array("f"), None, None, None]
        entry[0].append(docnum)
        entry[1].append(weight)
        if vbytes:
            if entry[2] is None:
                entry[2] = []
            entry[2].append(vbytes)

    def add_postings_to_pool(self, reader, startdoc, docmap):
        """Copy a segment's postings (when merging), a whole term at a time."""
        schema = self.schema
        terms_reader = getattr(reader, "_terms", None)
        if not isinstance(terms_reader, ArrayTermsReader):  # not written by this codec
            for fieldname, tbytes, docnum, weight, vbytes in self._process_posts(reader.iter_postings(), startdoc,
                                                                                 docmap):
                token_field = isinstance(schema[fieldname].format, TokenCounts)
                self._add(self._postings_of(fieldname), tbytes.decode("utf-8") if token_field else tbytes, docnum,
                          weight, vbytes)
            return
        live = None
        if docmap is not None:
            live = np.full(reader.doc_count_all(), -1, dtype=np.int64)
            for old, new in docmap.items():
                live[old] = new
        for (fieldname, tbytes), terminfo in terms_reader.items():
            if fieldname not in schema:
                continue
            fieldobj = schema[fieldname]
            found = read_term(terms_reader._postfile, terminfo, positional=isinstance(fieldobj.format, TokenPositions))
            ids = found.ids.astype(np.int64)
            new = ids + startdoc if live is None else live[ids]
            keep = new >= 0
            if not keep.any():
                continue
            terms = self._postings_of(fieldname)
            term = tbytes.decode("utf-8") if isinstance(fieldobj.format, TokenCounts) else tbytes
            entry = terms.get(term)
            if entry is None:
                entry = terms[term] = [array("I"), array("f"), None, None, None]
            entry[0].extend(new[keep].astype(np.uint32).tolist())
            entry[1].extend(found.weights[keep].tolist())
            if found.counts is not None:
                counts = found.counts.astype(np.int64)
                positions = found.positions
                if isinstance(positions, tuple):
                    positions = terms_reader.positions(positions, int(counts.sum()))
                if entry[3] is None:
                    entry[3], entry[4] = array("I"), array("I")
                entry[3].extend(positions[np.repeat(keep, counts)].astype(np.uint32).tolist())
                entry[4].extend(counts[keep].tolist())
            elif found.values:
                values = found.values
                if isinstance(values, bytes):  # fixed-size values, one after the other
                    size = len(values) // len(ids)
                    values = [values[i:i + size] for i in range(0, len(values), size)]
                if entry[2] is None:
                    entry[2] = []
                entry[2].extend(v for v, k in zip(values, keep.tolist()) if k)

    def _flush_segment(self):
        from whoosh.system import pack_ushort

        self.perdocwriter.close()
        lengths_reader = self.per_document_reader()
        fieldwriter = self.fieldwriter
        for fieldname in sorted(self._fields):
            terms = self._fields[fieldname]
            fieldobj = self.schema[fieldname]
            fieldwriter.start_field(fieldname, fieldobj)
            lengths = field_lengths(lengths_reader, fieldname, self.docnum) if fieldobj.scorable else None
            small_lengths = lengths.tolist() if lengths is not None else None
            prefix = pack_ushort(fieldwriter._fieldid)
            add_term = fieldwriter._tindex.add
            # str and UTF-8 sort alike (by code point), as Whoosh's term dictionary wants
            for term in sorted(terms):
                ids, weights, values, positions, counts = terms[term]
                tbytes = term.encode("utf-8") if isinstance(term, str) else term
                if len(ids) < INLINE_LIMIT:  # the long tail (names, numbers): no postings block
                    if any(b <= a for a, b in zip(ids, ids[1:])):
                        raise ValueError(f"postings out of order: {fieldname}:{tbytes!r}")
                    info = W3TermInfo()
                    info._weight, info._df = float(sum(weights)), len(ids)
                    if small_lengths is not None:
                        own = [small_lengths[d] for d in ids]
                        info._minlength, info._maxlength = min(own), max(own)
                    info._maxweight, info._minid, info._maxid = max(weights), ids[0], ids[-1]
                    if positions is not None:
                        values = _inline_values(np.frombuffer(positions, dtype=np.uint32), counts)
                    info._inlined = (tuple(ids), tuple(weights), tuple(values or ()))
                    add_term(prefix + tbytes, info.to_bytes())
                    continue
                ordered = np.frombuffer(ids, dtype=np.uint32)
                if (ordered[1:] <= ordered[:-1]).any():
                    raise ValueError(f"postings out of order: {fieldname}:{tbytes!r}")
                if lengths is not None:
                    own = lengths[ordered]
                    low, high = int(own.min()), int(own.max())
                else:
                    low = high = 0
                fieldwriter.start_term(tbytes)
                fieldwriter._postwriter.write_arrays(ids, weights, values, low, high, positions=positions,
                                                     counts=counts)
                fieldwriter.finish_term()
            fieldwriter.finish_field()
        self._fields = {}
        fieldwriter.close()
        lengths_reader.close()


def field_lengths(perdoc, fieldname: str, count: int) -> np.ndarray:
    """Each document's length in a field, from a per-document reader (Whoosh keeps a length
    as one byte, on a logarithmic scale), read as one column instead of a call a document."""
    try:
        from whoosh.codec.whoosh3 import LENGTHS_COLUMN, _lenfield

        column = perdoc._cached_reader(_lenfield(fieldname), LENGTHS_COLUMN)
        if column is None:
            return np.zeros(count, dtype=np.float32)
        out = LENGTH_TABLE[np.frombuffer(column._dbfile.get(column._basepos, column._count), dtype=np.uint8)]
    except (AttributeError, ImportError, TypeError):
        out = np.asarray([perdoc.doc_field_length(d, fieldname, 0) for d in range(count)], dtype=np.float32)
    if len(out) < count:
        out = np.concatenate([out, np.zeros(count - len(out), dtype=np.float32)])
    return out[:count]
