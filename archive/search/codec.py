"""How the search index stores its postings: flat arrays, collected per term.

Whoosh 3's codec pickles every block of 128 postings as tuples of Python numbers, and its
writer sends every posting through a sorting pool and half a dozen Python calls. Both
cost microseconds a posting; a search archive has hundreds of postings a document and
common words that occur in most of 100,000 documents. This module keeps Whoosh's files,
term dictionary and reader API, and changes two things:

* :class:`ArrayCodec` writes a term's postings in a segment as one block of machine
  integers (document numbers as uint32, frequencies as uint16, or float32 weights when
  a weight is not a whole number), which :func:`read_postings` turns into numpy arrays
  without a loop. :class:`ArrayLeafMatcher` reads the same blocks for Whoosh, so Whoosh's
  own queries, deletions and segment merges keep working.
* :class:`ArrayWriter` collects each term's postings in two arrays while documents are
  added and writes them term by term when the segment is flushed, instead of Whoosh's
  pool of one tuple per posting. It also reads each document's field lengths once.

Only this module and :mod:`archive.search.engine` know the block layout; the index's
table of contents names :class:`ArrayCodec` and :class:`TokenCounts` by their import
path, so they must stay here.
"""

from __future__ import annotations

import io
import pickle
import struct
from array import array
from collections import Counter

import numpy as np
from whoosh.codec.whoosh3 import WHOOSH3_HEADER_MAGIC, W3Codec, W3LeafMatcher, W3PostingsWriter
from whoosh.formats import Frequency
from whoosh.util.numeric import byte_to_length, length_to_byte
from whoosh.writing import SegmentWriter

BLOCK_TAG = "a1"  # the first item of every block this codec writes
_INT = struct.Struct("!i")
LENGTH_TABLE = np.array([byte_to_length(b) for b in range(256)], dtype=np.float32)


class TokenCounts(Frequency):
    """Whoosh's Frequency format, fed a string of ready-made tokens separated by spaces
    (counted in C, not token by token), with no per-posting value: the weight is the count."""

    posting_size = 0

    def word_values(self, value, analyzer, **kwargs):
        if isinstance(value, str):
            boost = self.field_boost
            return ((word, freq, freq * boost, b"") for word, freq in Counter(value.split()).items())
        return ((w, f, wt, b"") for w, f, wt, _ in Frequency.word_values(self, value, analyzer, **kwargs))

    def decode_frequency(self, valuestring):
        return 1

    def decode_weight(self, valuestring):
        return self.field_boost


class ArrayPostingsWriter(W3PostingsWriter):
    """Writes a term's postings as one block: (tag, ids, weight kind, weights, values)."""

    def write_arrays(self, ids: array, weights: array, values, min_length: int, max_length: int) -> None:
        """Give a whole posting list at once (ids ascending), between start and finish."""
        self._ids, self._weights, self._values = ids, weights, values or []
        self._minlength, self._maxlength = min_length, max_length

    def _write_block(self, last=False):
        postfile = self._postfile
        if not self._blockcount:
            postfile.write(WHOOSH3_HEADER_MAGIC)
        ids = np.asarray(self._ids, dtype="<u4")
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
        if (weights == 1.0).all():
            kind, packed = "1", None
        elif top < 65536 and weights.min() >= 0 and (weights == np.floor(weights)).all():
            kind, packed = "H", weights.astype("<u2").tobytes()
        else:
            kind, packed = "f", weights.astype("<f4").tobytes()
        fixed = self._format.fixed_value_size()
        if fixed is None or fixed < 0:
            values = tuple(self._values)
        elif fixed == 0 or not self._values:
            values = None
        else:
            values = b"".join(self._values)
        data = pickle.dumps((BLOCK_TAG, ids.tobytes(), kind, packed, values), pickle.HIGHEST_PROTOCOL)
        head = pickle.dumps((len(ids), int(ids[-1]), top, 0, length_to_byte(self._minlength),
                             length_to_byte(self._maxlength)), 2)
        length = len(head) + len(data)
        postfile.write_int(-length if last else length)
        postfile.write(head)
        postfile.write(data)
        self._blockcount += 1


def _ids_of(data) -> np.ndarray:
    return np.frombuffer(data[1], dtype="<u4")


def _weights_of(data, count: int) -> np.ndarray:
    kind, packed = data[2], data[3]
    if kind == "1":
        return np.ones(count, dtype=np.float32)
    return np.frombuffer(packed, dtype="<u2" if kind == "H" else "<f4").astype(np.float32)


class ArrayLeafMatcher(W3LeafMatcher):
    """Whoosh's block matcher over this codec's blocks."""

    def _read_data(self):
        self._data = pickle.loads(self._postfile.get(self._dataoffset, self._nextoffset - self._dataoffset))

    def _read_ids(self):
        if self._data is None:
            self._read_data()
        self._ids = _ids_of(self._data).tolist()

    def _read_weights(self):
        if self._data is None:
            self._read_data()
        self._weights = _weights_of(self._data, self._blocklength).tolist()

    def _read_values(self):
        if self._data is None:
            self._read_data()
        values = self._data[4]
        fixed = self._fixedsize
        if values is None:
            self._values = (None,) * self._blocklength if not fixed else (b"\0" * fixed,) * self._blocklength
        elif isinstance(values, bytes):
            self._values = tuple(values[i:i + fixed] for i in range(0, len(values), fixed))
        else:
            self._values = values


class ArrayCodec(W3Codec):
    """Whoosh 3's files with one array block per term and segment (no compression)."""

    def __init__(self, blocklimit=1 << 30, compression=0, inlinelimit=1):
        super().__init__(blocklimit=blocklimit, compression=0, inlinelimit=inlinelimit)

    def postings_writer(self, dbfile, byteids=False):
        if byteids:  # term vectors (not used by the archive's schema)
            return super().postings_writer(dbfile, byteids=True)
        return ArrayPostingsWriter(dbfile, blocklimit=self._blocklimit, compression=0,
                                   inlinelimit=self._inlinelimit)

    def postings_reader(self, dbfile, terminfo, format_, term=None, scorer=None):
        if terminfo.is_inlined():
            return super().postings_reader(dbfile, terminfo, format_, term=term, scorer=scorer)
        offset, length = terminfo.extent()
        return ArrayLeafMatcher(dbfile, offset, length, format_, term=term, scorer=scorer)


def read_postings(postfile, terminfo) -> tuple[np.ndarray, np.ndarray]:
    """A term's postings in one segment as (document numbers, weights) arrays.

    Reads the term's extent in one piece and unpickles its blocks (normally one).
    Raises ValueError for a block this codec did not write.
    """
    if terminfo.is_inlined():
        ids, weights, _ = terminfo.inlined_postings()
        return np.asarray(ids, dtype=np.uint32), np.asarray(weights, dtype=np.float32)
    offset, length = terminfo.extent()
    if isinstance(length, tuple):  # W3TermInfo.from_bytes leaves the length as struct.unpack's tuple
        length = length[0]
    stream = io.BytesIO(postfile.get(offset, length))
    if stream.read(4) != WHOOSH3_HEADER_MAGIC:
        raise ValueError("not a postings list")
    parts_ids, parts_weights = [], []
    while True:
        size = _INT.unpack(stream.read(4))[0]
        end = stream.tell() + abs(size)
        info = pickle.load(stream)
        data = pickle.load(stream)
        if not (isinstance(data, tuple) and data and data[0] == BLOCK_TAG):
            raise ValueError("not an array block")
        parts_ids.append(_ids_of(data))
        parts_weights.append(_weights_of(data, info[0]))
        if size < 0:
            break
        stream.seek(end)
    if len(parts_ids) == 1:
        return parts_ids[0], parts_weights[0]
    return np.concatenate(parts_ids), np.concatenate(parts_weights)


INLINE_LIMIT = 8  # a term with fewer postings in a segment keeps them in the term dictionary


class ArrayWriter(SegmentWriter):
    """A segment writer that collects postings per term in arrays (see the module docstring).

    Documents are added as with Whoosh's writer; merged segments (``add_reader``) feed the
    same arrays. Fields in the :class:`TokenCounts` format are counted straight from their
    token string; terms are encoded once, when the segment is written. The schema must not
    use term vectors or separate spelling fields.
    """

    def __init__(self, ix, **kwargs):
        kwargs.setdefault("codec", ArrayCodec())
        # Separate files, not one compound file per segment: Whoosh copies every part of a
        # compound file into memory when it opens it.
        kwargs.setdefault("compound", False)
        super().__init__(ix, **kwargs)
        self._fields: dict[str, dict] = {}  # field -> {term (str for token fields, else bytes): postings}

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
                    if isinstance(field.format, TokenCounts) and isinstance(value, str):
                        boost *= field.format.field_boost
                        for word, freq in Counter(value.split()).items():
                            entry = terms.get(word)
                            if entry is None:
                                entry = terms[word] = (array("I"), array("f"), [])
                            entry[0].append(docnum)
                            entry[1].append(freq * boost)
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
    def _add(terms: dict, term, docnum: int, weight: float, vbytes) -> None:
        entry = terms.get(term)
        if entry is None:
            entry = terms[term] = (array("I"), array("f"), [])
        entry[0].append(docnum)
        entry[1].append(weight)
        if vbytes:
            entry[2].append(vbytes)

    def add_postings_to_pool(self, reader, startdoc, docmap):
        schema = self.schema
        for fieldname, tbytes, docnum, weight, vbytes in self._process_posts(reader.iter_postings(), startdoc,
                                                                             docmap):
            token_field = isinstance(schema[fieldname].format, TokenCounts)
            self._add(self._postings_of(fieldname), tbytes.decode("utf-8") if token_field else tbytes, docnum,
                      weight, vbytes)

    def _flush_segment(self):
        from whoosh.codec.whoosh3 import W3TermInfo
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
                ids, weights, values = terms[term]
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
                    info._inlined = (tuple(ids), tuple(weights), tuple(values))
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
                fieldwriter._postwriter.write_arrays(ids, weights, values or None, low, high)
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


