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
  stand next to each other (see :mod:`archive.search.engine`). Reading a term's documents
  never reads its positions.
* :class:`ArrayWriter` collects each term's postings in arrays while documents are added
  and writes them term by term when the segment is flushed, instead of Whoosh's pool of
  one tuple per posting. Merging segments copies whole arrays, positions included.

Only this module and :mod:`archive.search.engine` know the block layout; the index's
table of contents names :class:`ArrayCodec`, :class:`TokenCounts` and
:class:`TokenPositions` by their import path, so they must stay here.
"""

from __future__ import annotations

import contextlib
import io
import mmap
import pickle
import struct
import zlib
from array import array
from collections import Counter

import numpy as np
from whoosh.codec.whoosh3 import (WHOOSH3_HEADER_MAGIC, W3Codec, W3FieldCursor, W3FieldWriter, W3LeafMatcher,
                                  W3PerDocReader, W3PerDocWriter, W3PostingsWriter, W3TermInfo, W3TermsReader)
from whoosh.columns import Column, PickleColumn, VarBytesColumn
from whoosh.filedb.filetables import OrderedHashWriter, md5_hash
from whoosh.formats import Frequency
from whoosh.util.numeric import byte_to_length, length_to_byte
from whoosh.writing import SegmentWriter

BLOCK_TAG = "a2"  # the first item of every block this codec writes
POSITIONS_EXT = ".pos"
_INT = struct.Struct("!i")
_UINT = struct.Struct("!I")  # whoosh.system.pack_uint
_POINTER = struct.Struct("!Iq")  # whoosh.filedb.filetables: a hash slot (hash, where the item is)
_LENGTHS = struct.Struct("!ii")  # ... and an item's key and value lengths
LENGTH_TABLE = np.array([byte_to_length(b) for b in range(256)], dtype=np.float32)
BITMAP_DENSITY = 32  # a block's documents are a bitmap when at least one in this many has the term
BITMAP_MIN = 64  # ... and it is in at least this many documents


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
    if count >= BITMAP_MIN and span <= count * BITMAP_DENSITY:
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

    def finish_postings(self):
        # W3PostingsWriter.finish_postings, for ids that may be a numpy array
        terminfo = self._terminfo
        if not self.written() and len(self._ids) < self._inlinelimit:
            terminfo.add_block(self)
            terminfo.set_inline(self._ids, self._weights, self._values)
        else:
            if len(self._ids):
                self._write_block(last=True)
            terminfo.set_extent(self._startoffset, self._postfile.tell() - self._startoffset)
        self._terminfo = None
        return terminfo

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


_TERM_INFO = struct.Struct("!BfIBBfIIqi")  # W3TermInfo.to_bytes of a term with a postings block


DIRECT_LIMIT = 256  # terms in fewer documents of a segment are written by _write_positional_term


def _write_positional_term(fieldwriter, key: bytes, ids: np.ndarray, counts: np.ndarray, positions: np.ndarray,
                           lengths: list) -> None:
    """Write one term of a positional field whose weights are its counts and which is in
    fewer than ``DIRECT_LIMIT`` documents: the same bytes as ``start_term``, ``write_arrays``
    and ``finish_term`` (one block), from Python lists instead of a dozen numpy calls on a
    few dozen numbers each.

    Every batch of the indexer writes a small segment, and the common words of the notices
    are in every one of its documents: several hundred such terms a batch, whatever the
    batch holds. ``lengths``: each document's length in the field.
    """
    postfile, posfile = fieldwriter._postfile, fieldwriter._posfile
    id_list, count_list = ids.tolist(), counts.tolist()
    if any(b <= a for a, b in zip(id_list, id_list[1:])):
        raise ValueError(f"postings out of order: {key!r}")
    own = [lengths[d] for d in id_list]
    low, high = length_to_byte(int(min(own))), length_to_byte(int(max(own)))
    top = max(count_list)
    # the positions first, in the .pos file (ArrayPostingsWriter._write_positions)
    where = posfile.tell()
    if where % 4:
        posfile.write(b"\0" * (4 - where % 4))
        where = posfile.tell()
    kind = "H" if int(positions.max()) < 65536 else "I"
    posfile.write(positions.astype(_DTYPES[kind]).tobytes())
    # then the block (ArrayPostingsWriter._write_block with _encode_ids and _encode_numbers)
    if top == 1:
        weights = ("1", None)
    else:
        weight_kind = "B" if top < 256 else "H" if top < 65536 else "I"
        weights = (weight_kind, counts.astype(_DTYPES[weight_kind]).tobytes())
    data = pickle.dumps((BLOCK_TAG, *_encode_ids(ids), *weights, None, (where, kind, "w", None)), pickle.HIGHEST_PROTOCOL)
    head = pickle.dumps((len(id_list), id_list[-1], float(top), 0, low, high), 2)
    start = postfile.tell()
    postfile.write(WHOOSH3_HEADER_MAGIC)
    postfile.write(_INT.pack(-(len(head) + len(data))))
    postfile.write(head)
    postfile.write(data)
    fieldwriter._tindex.add(key, _TERM_INFO.pack(False, float(sum(count_list)), len(id_list), low, high, float(top),
                                                 id_list[0], id_list[-1], start, postfile.tell() - start))


def _varints(numbers) -> bytearray:
    out = bytearray()
    for number in numbers:
        while number >= 0x80:
            out.append((number & 0x7F) | 0x80)
            number >>= 7
        out.append(number)
    return out


def _unvarints(data: bytes, start: int) -> list[int]:
    out, number, shift = [], 0, 0
    for byte in data[start:]:
        number |= (byte & 0x7F) << shift
        if byte & 0x80:
            shift += 7
        else:
            out.append(number)
            number = shift = 0
    return out


def _deltas(numbers) -> list[int]:
    return [b - a for a, b in zip([0] + list(numbers[:-1]), numbers)]


_COMPACT = 2  # the first byte of a term inlined in this codec's compact form (W3's is 0 or 1)


def _compact_positional(ids: list, counts: list, positions: list, lengths: list) -> bytes:
    """What :meth:`ArrayTermInfo.to_bytes` writes for an inlined positional term whose
    weights are its counts (ids ascending; ``positions`` of every posting, one after the
    other; ``lengths`` the field lengths of the documents), without making the term info."""
    numbers = [len(ids), ids[0]]
    numbers += [b - a for a, b in zip(ids, ids[1:])]
    start = 0
    for count in counts:
        found = positions[start:start + count]
        start += count
        numbers.append(count)
        numbers.append(found[0])
        if count > 1:
            numbers += [b - a for a, b in zip(found, found[1:])]
    return bytes((_COMPACT, length_to_byte(min(lengths)), length_to_byte(max(lengths)), 1)) + _varints(numbers)


class ArrayTermInfo(W3TermInfo):
    """Whoosh 3's term info; an inlined term (fewer than INLINE_LIMIT postings, the long
    tail of names and numbers) is written as varints instead of W3's 22-byte header and
    pickled tuples: about 10 bytes instead of 100. The statistics are recomputed when
    read. ``_positions``: each posting's positions, for a positional field."""

    _positions = None

    def to_bytes(self):
        if not self.is_inlined():
            return super().to_bytes()
        ids, weights, values = self._inlined
        ids = [int(i) for i in ids]
        positions = self._positions
        if positions is not None:
            counts = [len(p) for p in positions]
            if any(w != c for w, c in zip(weights, counts)) or values:
                raise ValueError("an inlined positional term weighs its counts and has no values")
            numbers = [len(ids), *_deltas(ids)]
            for found in positions:
                numbers += [len(found), *_deltas(list(found))]
            kind = 1
        else:
            if any(w != int(w) or w < 0 for w in weights):
                return super().to_bytes()
            kind = 0
            if any(values or ()):  # Whoosh's Frequency format repeats the count as a value
                if list(values) != [_UINT.pack(int(w)) for w in weights]:
                    return super().to_bytes()
                kind = 2
            numbers = [len(ids), *_deltas(ids), *(int(w) for w in weights)]
        minlength = 0 if self._minlength is None else length_to_byte(self._minlength)
        return bytes((_COMPACT, minlength, length_to_byte(self._maxlength), kind)) + _varints(numbers)

    @classmethod
    def from_bytes(cls, s):
        if s[0] != _COMPACT:
            return super().from_bytes(s)
        numbers = _unvarints(s, 4)
        count = numbers[0]
        ids, at = [], 0
        for delta in numbers[1:1 + count]:
            at += delta
            ids.append(at)
        positions = None
        if s[3] == 1:
            positions, weights, k = [], [], 1 + count
            for _ in range(count):
                size = numbers[k]
                found, at = [], 0
                for delta in numbers[k + 1:k + 1 + size]:
                    at += delta
                    found.append(at)
                positions.append(tuple(found))
                weights.append(float(size))
                k += 1 + size
        else:
            weights = [float(w) for w in numbers[1 + count:1 + 2 * count]]
        values = tuple(_UINT.pack(int(w)) for w in weights) if s[3] == 2 else ()
        info = cls()
        info._weight, info._df = float(sum(weights)), count
        info._minlength, info._maxlength = byte_to_length(s[1]), byte_to_length(s[2])
        info._maxweight, info._minid, info._maxid = max(weights), ids[0], ids[-1]
        info._inlined = (tuple(ids), tuple(weights), values)
        info._positions = positions
        return info


class Postings:
    """A term's postings in one segment: document numbers (ascending; decoded from the
    bitmap only when asked), weights, Whoosh's per-posting values, and where the
    positions are (None for a field without positions)."""

    __slots__ = ("_ids", "weights", "values", "counts", "positions", "bits")

    def __init__(self, ids, weights, values=None, counts=None, positions=None, bits=None):
        self._ids, self.weights, self.values, self.counts, self.positions = ids, weights, values, counts, positions
        self.bits = bits  # (first document, a bool array from it) when the block is a bitmap

    @property
    def ids(self) -> np.ndarray:
        if self._ids is None:
            first, bits = self.bits
            self._ids = np.flatnonzero(bits).astype(np.uint32) + np.uint32(first)
        return self._ids


def _block_parts(data, count: int, bitmaps: bool = False):
    if not (isinstance(data, tuple) and len(data) == 7 and data[0] == BLOCK_TAG):
        raise ValueError("not an array block")
    _, id_kind, id_data, weight_kind, weight_data, values, positions = data
    if bitmaps and id_kind == "b":
        first, span, packed = id_data
        bits = np.unpackbits(np.frombuffer(packed, dtype=np.uint8), count=span, bitorder="little").view(bool)
        ids = (first, bits)
    else:
        ids = _decode_ids(id_kind, id_data)
    return ids, _decode_numbers(weight_kind, weight_data, count), values, positions


def read_term(postfile, terminfo, positional: bool = False, bitmaps: bool = False) -> Postings:
    """A term's postings in one segment (see :class:`Postings`). ``positional``: the field
    keeps positions (an inlined term then has them in its values); ``bitmaps``: leave a
    dense block's documents as a bitmap (``Postings.bits``).

    Reads the term's extent in one piece and unpickles its blocks (normally one).
    Raises ValueError for a block this codec did not write.
    """
    if terminfo.is_inlined():
        ids, weights, values = terminfo.inlined_postings()
        ids = np.asarray(ids, dtype=np.uint32)
        weights = np.asarray(weights, dtype=np.float32)
        found = getattr(terminfo, "_positions", None)
        if positional and found is None and values:  # boosted weights: W3's form, positions as values
            found = [np.frombuffer(v, dtype="<u4").tolist() for v in values]
        if positional and found is not None:
            counts = np.asarray([len(p) for p in found], dtype=np.uint32)
            positions = np.asarray([x for p in found for x in p], dtype=np.uint32)
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
        parts.append(_block_parts(pickle.load(stream), info[0], bitmaps))
        if size < 0:
            break
        stream.seek(end)
    if len(parts) == 1:
        ids, weights, values, positions = parts[0]
        bits = None
        if isinstance(ids, tuple):
            ids, bits = None, ids
        if positions is None:
            return Postings(ids, weights, values, bits=bits)
        offset, kind, counts_kind, counts = positions
        counts = weights if counts_kind == "w" else _decode_numbers(counts_kind, counts, len(weights))
        return Postings(ids, weights, values, counts.astype(np.uint32), (offset, kind), bits)
    parts = [(p[0] if not isinstance(p[0], tuple) else Postings(None, p[1], bits=p[0]).ids, *p[1:]) for p in parts]
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

    def _find(self, fieldname, tbytes):
        """(where the term's info starts, its length) in the term dictionary, or None.

        Whoosh's hash table, read straight from the mapped file (Whoosh's own lookup makes
        two file calls per slot it reads)."""
        tindex = self._tindex
        mapped = tindex.dbfile.file
        key = self._keycoder(fieldname, tbytes)
        if not isinstance(mapped, mmap.mmap):
            for found in tindex.ranges_for_key(key):
                return found
            return None
        keyhash = tindex.hashfn(key)
        start, slots = tindex.tables[keyhash & 255]
        if not slots:
            return None
        end = start + slots * _POINTER.size
        at = start + ((keyhash >> 8) % slots) * _POINTER.size
        for _ in range(slots):
            slothash, item = _POINTER.unpack_from(mapped, at)
            if not item:
                return None
            if slothash == keyhash:
                keylength, datalength = _LENGTHS.unpack_from(mapped, item)
                keystart = item + _LENGTHS.size
                if keylength == len(key) and mapped[keystart:keystart + keylength] == key:
                    return keystart + keylength, datalength
            at += _POINTER.size
            if at == end:
                at = start
        return None

    def __contains__(self, term):
        return self._find(*term) is not None

    def term_info(self, fieldname, tbytes):
        from whoosh.reading import TermNotFound

        found = self._find(fieldname, tbytes)
        if found is None:
            raise TermNotFound(f"No term {fieldname}:{tbytes!r}")
        return ArrayTermInfo.from_bytes(self._tindex.dbfile.get(*found))

    def items(self):
        decode = self._keydecoder
        return ((decode(key), ArrayTermInfo.from_bytes(value)) for key, value in self._tindex.items())

    def items_from(self, fieldname, prefix):
        decode = self._keydecoder
        return ((decode(key), ArrayTermInfo.from_bytes(value))
                for key, value in self._tindex.items_from(self._keycoder(fieldname, prefix)))

    def frequency(self, fieldname, tbytes):
        return self.term_info(fieldname, tbytes).weight()

    def doc_frequency(self, fieldname, tbytes):
        return self.term_info(fieldname, tbytes).doc_frequency()

    def cursor(self, fieldname, fieldobj):
        return ArrayFieldCursor(self._tindex, fieldname, self._keycoder, self._keydecoder, fieldobj)

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


class ArrayFieldCursor(W3FieldCursor):
    def term_info(self):
        if self._pos is None:
            return None
        return ArrayTermInfo.from_bytes(self._tindex.dbfile.get(self._datapos, self._datalen))


class _TermIndexWriter(OrderedHashWriter):
    """Whoosh's term dictionary file, the same bytes; :meth:`add` with one write and one
    position look-up instead of three and two (an indexer's batch adds a thousand terms)."""

    def add(self, key, value):
        if key <= self.lastkey:
            raise ValueError(f"Keys must increase: {self.lastkey!r}..{key!r}")
        dbfile = self.dbfile
        where = dbfile.tell()
        self.index.append(where)
        dbfile.write(_LENGTHS.pack(len(key), len(value)) + key + value)
        hashed = md5_hash(key)
        self.buckets[hashed & 255].append((hashed, where))
        self.lastkey = key


class ArrayFieldWriter(W3FieldWriter):
    """Whoosh's field writer with a positions file beside the postings."""

    def __init__(self, codec, storage, segment):
        super().__init__(codec, storage, segment)
        self._tindex.__class__ = _TermIndexWriter  # the same writer and file, with the leaner add
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

    def per_document_writer(self, storage, segment):
        return ArrayPerDocWriter(self, storage, segment)

    def per_document_reader(self, storage, segment):
        return ArrayPerDocReader(storage, segment)

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
        tifile = open_mapped(storage, tiname)
        postfile = open_mapped(storage, segment.make_filename(self.POSTS_EXT))
        posname = segment.make_filename(POSITIONS_EXT)
        posfile = storage.open_file(posname) if storage.file_exists(posname) else None
        return ArrayTermsReader(self, tifile, tilen, postfile, posfile)


def open_mapped(storage, name: str):
    """A file of the index, mapped into memory when it is on disk: Whoosh reads its term
    dictionary and postings with a seek and a read each, two system calls a lookup."""
    from whoosh.filedb.structfile import StructFile

    opened = storage.open_file(name)
    raw = getattr(opened, "file", None)
    try:
        mapped = mmap.mmap(raw.fileno(), 0, access=mmap.ACCESS_READ)
    except (AttributeError, OSError, ValueError):  # in memory (tests), or empty
        return opened
    opened.close()
    return StructFile(mapped, name=name)  # an mmap reads, seeks and tells like a file


# -- stored fields -------------------------------------------------------------------------

TRAIN_DOCS = 256  # the first documents of a segment make its compression dictionary
_DICT_SIZE = 32768  # what deflate can look back at
_DICT_HEAD = struct.Struct("<I")


class TrainedZlibColumn(Column):
    """Variable-length bytes, each value deflated on its own (random access) with a preset
    dictionary: the segment's first TRAIN_DOCS values, the last 32 KB of them. Documents
    of an archive repeat each other (the same notices, legal bases, addresses, field
    names), which one document alone cannot exploit: stored fields shrink about fourfold.
    The dictionary opens the column; the values follow as in Whoosh's VarBytesColumn."""

    _default = b""

    def writer(self, dbfile):
        return self.Writer(dbfile)

    def reader(self, dbfile, basepos, length, doccount):
        return self.Reader(dbfile, basepos, length, doccount)

    class Writer(VarBytesColumn.Writer):
        def __init__(self, dbfile):
            super().__init__(dbfile)
            self._pending: list = []
            self._dictionary = None

        def add(self, docnum, v):
            if self._dictionary is None:
                self._pending.append((docnum, v))
                if len(self._pending) >= TRAIN_DOCS:
                    self._train()
                return
            super().add(docnum, _deflate(v, self._dictionary))

        def _train(self):
            self._dictionary = b"".join(v for _, v in self._pending)[-_DICT_SIZE:]
            self._dbfile.write(_DICT_HEAD.pack(len(self._dictionary)) + self._dictionary)
            pending, self._pending = self._pending, []
            for docnum, v in pending:
                super().add(docnum, _deflate(v, self._dictionary))

        def finish(self, doccount):
            if self._dictionary is None:
                self._train()
            super().finish(doccount)

    class Reader(VarBytesColumn.Reader):
        def __init__(self, dbfile, basepos, length, doccount):
            size = _DICT_HEAD.unpack(dbfile.get(basepos, _DICT_HEAD.size))[0]
            self._dictionary = dbfile.get(basepos + _DICT_HEAD.size, size)
            head = _DICT_HEAD.size + size
            super().__init__(dbfile, basepos + head, length - head, doccount)

        def __getitem__(self, docnum):
            v = super().__getitem__(docnum)
            return _inflate(v, self._dictionary) if v else v

        def __iter__(self):
            for v in super().__iter__():
                yield _inflate(v, self._dictionary) if v else v


_primed: dict[bytes, object] = {}  # a compressor with the dictionary already loaded, per dictionary


def _deflate(value: bytes, dictionary: bytes) -> bytes:
    if not value:
        return value
    # Loading a 32 KB dictionary costs more than deflating a document: copy a primed compressor.
    primed = _primed.get(dictionary)
    if primed is None:
        _primed.clear()  # one segment's dictionary at a time
        primed = _primed[dictionary] = zlib.compressobj(6, zlib.DEFLATED, -15, zdict=dictionary) if dictionary \
            else zlib.compressobj(6, zlib.DEFLATED, -15)
    packer = primed.copy()
    return packer.compress(value) + packer.flush()


_primed_inflate: dict[bytes, object] = {}


def _inflate(value: bytes, dictionary: bytes) -> bytes:
    primed = _primed_inflate.get(dictionary)
    if primed is None:
        if len(_primed_inflate) >= 64:  # a dictionary per segment
            _primed_inflate.clear()
        primed = _primed_inflate[dictionary] = zlib.decompressobj(-15, zdict=dictionary) if dictionary \
            else zlib.decompressobj(-15)
    unpacker = primed.copy()
    return unpacker.decompress(value) + unpacker.flush()


STORED = PickleColumn(TrainedZlibColumn())


class ArrayPerDocWriter(W3PerDocWriter):
    """Whoosh's per-document writer, with stored fields in a :class:`TrainedZlibColumn`."""

    def _create_column(self, fieldname, column):
        super()._create_column(fieldname, STORED if fieldname == "_stored" else column)


class ArrayPerDocReader(W3PerDocReader):
    def stored_fields(self, docnum):
        return self._cached_reader("_stored", STORED)[docnum] or {}

    def has_column(self, fieldname):
        # A segment's files never change: look once, not once a document and field (a merge
        # asks for every length of every document, each a stat() of the column's file).
        known = self.__dict__.setdefault("_has_column", {})
        if fieldname not in known:
            known[fieldname] = super().has_column(fieldname)
        return known[fieldname]


INLINE_LIMIT = 8  # a term with fewer postings in a segment keeps them in the term dictionary


def refuse_unsupported(schema) -> None:
    """Raise if the schema asks for what ArrayWriter does not write (term vectors, spelling
    fields): an index without them would fail later, when they are read."""
    for name, field in schema.items():
        if field.vector:
            raise ValueError(f"检索索引不支持词向量：字段“{name}”（ArrayWriter 不写 term vectors）")
        if field.separate_spelling() or type(field).__name__ == "SpellField":
            raise ValueError(f"检索索引不支持拼写字段：字段“{name}”（ArrayWriter 不写 spelling 词表）")


NO_POSITION = 0xFFFFFFFF  # a token without a position (a word that only ranks)


class _TokenTable:
    """Every token of a positional field in a segment, one entry per occurrence (term
    number, position; the entries of a document one after the other), sorted into posting
    lists once, when the segment is written: a dictionary lookup a token instead of a few
    Python calls. 8 bytes an entry while documents are added."""

    def __init__(self):
        self.numbers: dict[str, int] = {}
        self.tokens: list[str] = []
        self.terms = array("I")
        self.positions = array("I")
        self.docs = array("I")  # the documents, in the order their entries were added
        self.sizes = array("I")  # ... and how many entries each has
        self.boosts: dict[int, float] = {}

    def number_of(self, tokens) -> list[int]:
        found = list(map(self.numbers.get, tokens))
        if None in found:
            for index, number in enumerate(found):
                if number is None:
                    token = tokens[index]
                    number = self.numbers.get(token)
                    if number is None:
                        number = self.numbers[token] = len(self.tokens)
                        self.tokens.append(token)
                    found[index] = number
        return found

    def add(self, docnum: int, tokens: list, positions, boost: float = 1.0) -> None:
        """``tokens`` of a document; ``positions`` for the first of them (the rest are words)."""
        self.terms.extend(self.number_of(tokens))
        self.positions.extend(positions)
        if len(positions) < len(tokens):
            self.positions.extend(array("I", [NO_POSITION]) * (len(tokens) - len(positions)))
        self.docs.append(docnum)
        self.sizes.append(len(tokens))
        if boost != 1.0:
            self.boosts[docnum] = boost

    def add_inverted(self, tokens, ids: np.ndarray, positions: np.ndarray) -> None:
        """Entries (token, document, position) in any order, e.g. a merged segment's postings:
        filed document after document, in the order they came for each document. ``tokens``:
        a list of tokens, or an array of their numbers (:meth:`number_of`)."""
        if not len(ids):
            return
        numbers = tokens if isinstance(tokens, np.ndarray) else np.asarray(self.number_of(tokens), dtype=np.uint32)
        order = np.argsort(ids, kind="stable")
        ids = ids[order]
        self.terms.extend(numbers[order].tolist())
        self.positions.extend(positions[order].astype(np.uint32).tolist())
        starts = np.flatnonzero(np.concatenate(([True], ids[1:] != ids[:-1])))
        self.docs.extend(ids[starts].astype(np.uint32).tolist())
        self.sizes.extend(np.diff(np.append(starts, len(ids))).astype(np.uint32).tolist())

    def __len__(self) -> int:
        return len(self.terms)

    def postings(self):
        """(token, ids, counts, weights, positions or None) of every term, by token."""
        count = len(self.terms)
        if not count:
            return
        docs_of = np.repeat(np.frombuffer(self.docs, dtype=np.uint32), np.frombuffer(self.sizes, dtype=np.uint32))
        if len(self.docs) > 1 and (np.diff(np.frombuffer(self.docs, dtype=np.uint32).astype(np.int64)) < 0).any():
            # documents came out of order (a merge before an addition): order the entries by document
            by_doc = np.argsort(docs_of, kind="stable")
            docs_of = docs_of[by_doc]
            terms = np.frombuffer(self.terms, dtype=np.uint32)[by_doc]
            positions = np.frombuffer(self.positions, dtype=np.uint32)[by_doc]
            del by_doc
        else:
            terms = np.frombuffer(self.terms, dtype=np.uint32)
            positions = np.frombuffer(self.positions, dtype=np.uint32)
        # by term; within a term, by document and position as added (in place: memory is the limit)
        keys = terms.astype(np.uint64)
        del terms
        self.terms = array("I")  # written once: what was collected can go as soon as it is sorted
        keys <<= np.uint64(32)
        keys |= np.arange(count, dtype=np.uint64)
        keys.sort()
        order = keys.astype(np.uint32)  # the low half
        keys >>= np.uint64(32)
        terms = keys.astype(np.uint32)
        del keys
        docs = docs_of[order]
        del docs_of
        positions = positions[order]
        self.positions = array("I")
        del order
        new = np.empty(count, dtype=bool)  # where a (term, document) group starts
        new[0] = True
        np.not_equal(terms[1:], terms[:-1], out=new[1:])
        new[1:] |= docs[1:] != docs[:-1]
        group_starts = np.flatnonzero(new)
        del new
        group_terms = terms[group_starts]
        del terms
        group_docs = docs[group_starts]
        del docs
        group_counts = np.diff(np.append(group_starts, count)).astype(np.uint32)
        term_starts = np.flatnonzero(np.concatenate(([True], group_terms[1:] != group_terms[:-1])))
        term_ends = np.append(term_starts[1:], len(group_starts))
        where = np.empty(len(self.tokens), dtype=np.int64)
        where[group_terms[term_starts]] = np.arange(len(term_starts))
        boosts = None
        if self.boosts:
            boosts = np.ones(int(group_docs.max()) + 1, dtype=np.float32)
            for doc, boost in self.boosts.items():
                if doc < len(boosts):
                    boosts[doc] = boost
        where = where.tolist()
        term_starts, term_ends = term_starts.tolist(), term_ends.tolist()
        group_starts = np.append(group_starts, count)
        for token in sorted(self.numbers):
            k = where[self.numbers[token]]
            first, last = term_starts[k], term_ends[k]
            ids = group_docs[first:last]
            counts = group_counts[first:last]
            weights = counts.astype(np.float32)
            if boosts is not None:
                weights *= boosts[ids]
            found = positions[group_starts[first]:group_starts[last]]
            yield token, ids, counts, weights, (None if found[0] == NO_POSITION else found)


_WHOLE: dict[int, object] = {}


def _whole_value(field):
    """For a field that indexes its value whole (Whoosh's ID: Existence format, IDTokenizer,
    optionally lower-cased): whether it lower-cases; None for any other field."""
    key = id(field)
    if key not in _WHOLE:
        from whoosh.analysis import CompositeAnalyzer, IDTokenizer, LowercaseFilter
        from whoosh.formats import Existence

        analyzer, found = field.analyzer, None
        if type(field.format) is Existence:
            if type(analyzer) is IDTokenizer:
                found = False
            elif (type(analyzer) is CompositeAnalyzer and len(analyzer.items) == 2
                  and type(analyzer.items[0]) is IDTokenizer and type(analyzer.items[1]) is LowercaseFilter):
                found = True
        _WHOLE[key] = (field, found)  # the field is kept so that its id is not reused
    return _WHOLE[key][1]


class ArrayWriter(SegmentWriter):
    """A segment writer that collects postings per term in arrays (see the module docstring).

    Documents are added as with Whoosh's writer; merged segments (``add_reader``) feed the
    same arrays. Fields in the :class:`TokenCounts` format are counted straight from their
    token string; :class:`TokenPositions` fields take :class:`Tokens`, filed in a
    :class:`_TokenTable`; terms are encoded once, when the segment is written. A schema
    with term vectors or separate spelling fields is refused.
    """

    direct_small_terms = True  # _write_positional_term where it applies (False: the general path, the same bytes)

    def __init__(self, ix, **kwargs):
        refuse_unsupported(ix.schema)
        kwargs.setdefault("codec", ArrayCodec())
        # Separate files, not one compound file per segment: Whoosh copies every part of a
        # compound file into memory when it opens it.
        kwargs.setdefault("compound", False)
        super().__init__(ix, **kwargs)
        # field -> {term (str for token fields, else bytes): [ids, weights, values]}
        self._fields: dict[str, dict] = {}
        self._tables: dict[str, _TokenTable] = {}  # positional fields

    def _postings_of(self, fieldname: str) -> dict:
        found = self._fields.get(fieldname)
        if found is None:
            found = self._fields[fieldname] = {}
        return found

    def entries(self) -> int:
        """How many token occurrences of positional fields wait to be written (memory)."""
        return sum(len(table) for table in self._tables.values())

    def _table(self, fieldname: str) -> _TokenTable:
        found = self._tables.get(fieldname)
        if found is None:
            found = self._tables[fieldname] = _TokenTable()
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
                    if isinstance(field.format, TokenPositions) and isinstance(value, (str, Tokens)):
                        boost *= field.format.field_boost
                        if isinstance(value, str):  # tokens without positions
                            value = Tokens([], [], value.split())
                        self._table(fieldname).add(docnum, value.grams + value.words if value.words else value.grams,
                                                   value.positions, boost)
                        length = value.length
                    elif isinstance(field.format, TokenCounts) and isinstance(value, (str, Tokens)):
                        boost *= field.format.field_boost
                        if isinstance(value, Tokens):
                            value = " ".join(value.grams + value.words)
                        terms = self._postings_of(fieldname)
                        for word, freq in Counter(value.split()).items():
                            self._add(terms, word, docnum, freq * boost, None)
                            length += freq
                    elif isinstance(value, str) and _whole_value(field) is not None:
                        # an ID field: the value itself is the one term (what field.index gives,
                        # without its analyzer's token objects and generators)
                        term = value.lower() if _whole_value(field) else value
                        self._add(self._postings_of(fieldname), term.encode("utf-8"), docnum,
                                  field.format.field_boost * boost, None)
                        if field.scorable:
                            length += 1
                    else:
                        terms = self._postings_of(fieldname)
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
    def _add(terms: dict, term, docnum: int, weight: float, vbytes) -> None:
        entry = terms.get(term)
        if entry is None:
            entry = terms[term] = [array("I"), array("f"), None]
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
                fieldobj = schema[fieldname]
                if isinstance(fieldobj.format, TokenPositions):  # only counts: words without positions
                    times = max(1, round(weight))
                    self._table(fieldname).add_inverted([tbytes.decode("utf-8")] * times, np.full(times, docnum),
                                                        np.full(times, NO_POSITION, dtype=np.uint32))
                    continue
                token_field = isinstance(fieldobj.format, TokenCounts)
                self._add(self._postings_of(fieldname), tbytes.decode("utf-8") if token_field else tbytes, docnum,
                          weight, vbytes)
            return
        live = None
        if docmap is not None:
            live = np.full(reader.doc_count_all(), -1, dtype=np.int64)
            for old, new in docmap.items():
                live[old] = new
        inverted: dict = {}  # positional field -> (tokens, documents, positions) of every entry
        for (fieldname, tbytes), terminfo in terms_reader.items():
            if fieldname not in schema:
                continue
            fieldobj = schema[fieldname]
            positional = isinstance(fieldobj.format, TokenPositions)
            found = read_term(terms_reader._postfile, terminfo, positional=positional)
            if positional:
                if found.counts is None:  # a word: as many entries as it occurs, without positions
                    counts, positions = np.maximum(1, np.rint(found.weights)).astype(np.uint32), None
                else:
                    counts, positions = found.counts, found.positions
                    if isinstance(positions, tuple):
                        positions = terms_reader.positions(positions, int(counts.sum()))
                weights = found.weights
                if live is None:  # the usual case (small segments without deletions): every entry as it is
                    new = found.ids.astype(np.int64) + startdoc
                else:
                    new = live[found.ids]
                    keep = new >= 0
                    if not keep.any():
                        continue
                    if positions is not None:
                        positions = positions[np.repeat(keep, counts)]
                    new, counts, weights = new[keep], counts[keep], weights[keep]
                if positions is None:
                    positions = np.full(int(counts.sum()), NO_POSITION, dtype=np.uint32)
                table = self._table(fieldname)
                boosted = weights != counts
                if boosted.any():
                    for doc, count, weight in zip(new[boosted].tolist(), counts[boosted].tolist(),
                                                  weights[boosted].tolist()):
                        table.boosts[doc] = weight / count
                pending = inverted.setdefault(fieldname, ([], [], []))
                pending[0].append(np.full(len(positions), table.number_of([tbytes.decode("utf-8")])[0],
                                          dtype=np.uint32))
                pending[1].append(np.repeat(new, counts))
                pending[2].append(positions)
                continue
            ids = found.ids.astype(np.int64)
            new = ids + startdoc if live is None else live[ids]
            keep = new >= 0
            if not keep.any():
                continue
            terms = self._postings_of(fieldname)
            term = tbytes.decode("utf-8") if isinstance(fieldobj.format, TokenCounts) else tbytes
            entry = terms.get(term)
            if entry is None:
                entry = terms[term] = [array("I"), array("f"), None]
            entry[0].extend(new[keep].astype(np.uint32).tolist())
            entry[1].extend(found.weights[keep].tolist())
            if found.values:
                values = found.values
                if isinstance(values, bytes):  # fixed-size values, one after the other
                    size = len(values) // len(ids)
                    values = [values[i:i + size] for i in range(0, len(values), size)]
                if entry[2] is None:
                    entry[2] = []
                entry[2].extend(v for v, k in zip(values, keep.tolist()) if k)
        for fieldname, (numbers, ids, positions) in inverted.items():
            self._table(fieldname).add_inverted(np.concatenate(numbers), np.concatenate(ids), np.concatenate(positions))

    def _flush_segment(self):
        from whoosh.system import pack_ushort

        self.perdocwriter.close()
        lengths_reader = self.per_document_reader()
        fieldwriter = self.fieldwriter
        for fieldname in sorted(set(self._fields) | set(self._tables)):
            fieldobj = self.schema[fieldname]
            fieldwriter.start_field(fieldname, fieldobj)
            lengths = field_lengths(lengths_reader, fieldname, self.docnum) if fieldobj.scorable else None
            small_lengths = lengths.tolist() if lengths is not None else None
            prefix = pack_ushort(fieldwriter._fieldid)
            add_term = fieldwriter._tindex.add
            # a positional field's weights are its counts unless a document was boosted
            direct = (self.direct_small_terms and fieldname in self._tables and not self._tables[fieldname].boosts
                      and lengths is not None and fieldobj.format.fixed_value_size() == 0)
            if fieldname in self._tables:
                postings = ((term, ids, counts, weights, None, positions)
                            for term, ids, counts, weights, positions in self._tables[fieldname].postings())
            else:
                terms = self._fields[fieldname]
                # str and UTF-8 sort alike (by code point), as Whoosh's term dictionary wants
                postings = ((term, terms[term][0], None, terms[term][1], terms[term][2], None) for term in sorted(terms))
            for term, ids, counts, weights, values, positions in postings:
                tbytes = term.encode("utf-8") if isinstance(term, str) else term
                if len(ids) < INLINE_LIMIT:  # the long tail (names, numbers): no postings block
                    ids_list = ids.tolist() if isinstance(ids, np.ndarray) else [int(i) for i in ids]
                    weights_list = weights.tolist() if isinstance(weights, np.ndarray) else [float(w) for w in weights]
                    if any(b <= a for a, b in zip(ids_list, ids_list[1:])):
                        raise ValueError(f"postings out of order: {fieldname}:{tbytes!r}")
                    if positions is not None and small_lengths is not None and weights_list == counts.tolist():
                        # most terms of a build: ArrayTermInfo.to_bytes's compact form, written
                        # straight from the lists (a new name or number a document)
                        add_term(prefix + tbytes, _compact_positional(ids_list, counts.tolist(), positions.tolist(),
                                                                      [small_lengths[d] for d in ids_list]))
                        continue
                    info = ArrayTermInfo()
                    info._weight, info._df = float(sum(weights_list)), len(ids_list)
                    if small_lengths is not None:
                        own = [small_lengths[d] for d in ids_list]
                        info._minlength, info._maxlength = min(own), max(own)
                    info._maxweight, info._minid, info._maxid = max(weights_list), ids_list[0], ids_list[-1]
                    info._inlined = (tuple(ids_list), tuple(weights_list), tuple(values or ()))
                    if positions is not None:
                        found, start = [], 0
                        for count in counts.tolist():
                            found.append(tuple(positions[start:start + count].tolist()))
                            start += count
                        info._positions = tuple(found)
                        if any(w != len(p) for w, p in zip(weights_list, found)):  # boosted: W3's form
                            info._positions = None
                            info._inlined = (info._inlined[0], info._inlined[1],
                                             tuple(np.asarray(p, dtype="<u4").tobytes() for p in found))
                    add_term(prefix + tbytes, info.to_bytes())
                    continue
                if direct and positions is not None and len(ids) < DIRECT_LIMIT:
                    _write_positional_term(fieldwriter, prefix + tbytes, ids, counts, positions, small_lengths)
                    continue
                ordered = np.asarray(ids, dtype=np.uint32)
                if (ordered[1:] <= ordered[:-1]).any():
                    raise ValueError(f"postings out of order: {fieldname}:{tbytes!r}")
                if lengths is not None:
                    own = lengths[ordered]
                    low, high = int(own.min()), int(own.max())
                else:
                    low = high = 0
                fieldwriter.start_term(tbytes)
                fieldwriter._postwriter.write_arrays(ordered, np.asarray(weights, dtype=np.float32), values, low,
                                                     high, positions=positions,
                                                     counts=counts if positions is not None else None)
                fieldwriter.finish_term()
            fieldwriter.finish_field()
        self._fields = {}
        self._tables = {}
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
