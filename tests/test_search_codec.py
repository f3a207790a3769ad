"""The search index's postings format: what Whoosh reads, the engine reads, and merges keep."""

from functools import partial

import numpy as np
import pytest
from whoosh import index
from whoosh import query as Q

from archive.search import index as search
from archive.search.codec import INLINE_LIMIT, ArrayWriter, read_postings
from archive.search.engine import Engine

pytestmark = pytest.mark.store_independent  # never opens a store: runs once, on SQLite


def documents(count: int, share: int, shares: int):
    """常见 in every document, 中等 in every 3rd, 罕见 in every 50th, 次数 said i % 4 + 1 times."""
    for i in range(share, count, shares):
        words = ["常见词语"] + (["中等频率"] if i % 3 == 0 else []) + (["罕见词汇"] if i % 50 == 0 else [])
        text = "，".join(words) + "。" + "次数" * (i % 4 + 1) + f"。编号{i}"
        yield {"key": f"K{i:05d}", "year": 2000 + i % 20, "date": 20000101 + i, "unit": "SJ",
               "applicant": f"申请人{i}", "title": f"文件{i}", "text": text,
               "info": {"case": f"K{i:05d}", "title": f"文件{i}", "year": 2000 + i % 20}}


@pytest.fixture
def built(tmp_path):
    path = tmp_path / "ix"
    search.build_index(path, partial(documents, 600), 600, procs=1)
    return path


def whoosh_postings(path, fieldname: str, text: str) -> tuple[list, list]:
    """(document numbers, weights) through Whoosh's own matchers."""
    with index.open_dir(str(path)).searcher() as searcher:
        ids, weights = [], []
        for leaf, offset in searcher.reader().leaf_readers():
            try:
                matcher = leaf.postings(fieldname, text)
            except Exception:  # noqa: BLE001 - the term is not in this segment
                continue
            while matcher.is_active():
                ids.append(matcher.id() + offset)
                weights.append(matcher.weight())
                matcher.next()
    return ids, weights


@pytest.mark.parametrize("term", ["常见", "中等", "罕见", "次数", "编号", "599"])
def test_whoosh_and_the_engine_read_the_same_postings(built, term):
    engine = Engine(built)
    ids, weights = engine.postings("text", term)
    expected_ids, expected_weights = whoosh_postings(built, "text", term)
    assert ids.tolist() == expected_ids and expected_ids
    assert weights.tolist() == expected_weights
    if term == "次数":  # the frequency is the weight
        assert set(weights.tolist()) == {1.0, 2.0, 3.0, 4.0}
    engine.close()


def test_short_posting_lists_live_in_the_term_dictionary_and_read_alike(built):
    with index.open_dir(str(built)).reader() as reader:
        leaf = next(iter(reader.leaf_readers()))[0]
        rare = leaf._terms.term_info("text", "罕见".encode())  # 12 documents of 600: a block
        unique = leaf._terms.term_info("text", b"599")  # one document: inlined
        assert rare.doc_frequency() >= INLINE_LIMIT and not rare.is_inlined()
        assert unique.is_inlined()
        ids, weights = read_postings(leaf._terms._postfile, rare)
        assert ids.tolist() == list(range(0, 600, 50)) and weights.tolist() == [1.0] * 12
        assert read_postings(leaf._terms._postfile, unique)[0].tolist() == [599]


def test_whoosh_queries_and_scoring_work_on_the_index(built):
    with index.open_dir(str(built)).searcher() as searcher:
        hits = searcher.search(Q.And([Q.Term("text", "罕见"), Q.Term("text", "次数")]), limit=3)
        assert len(hits) == 12 and hits.scored_length() == 3  # 12 found, the best 3 scored
        assert sorted(searcher.search(Q.Term("text", "罕见"), limit=None).docs()) == list(range(0, 600, 50))
        # the most repetitions of 次数 rank first (i % 4 == 3 says it four times)
        assert int(searcher.stored_fields(searcher.search(Q.Term("text", "次数"), limit=1)[0].docnum)["key"][1:]) \
            % 4 == 3


def test_updates_and_merges_of_small_segments_keep_every_posting(built):
    ix = index.open_dir(str(built))
    more = list(documents(620, 0, 1))[600:]
    for doc in more:  # one small segment per update, merged once there are eight
        search._write_documents(ix, [(doc["key"], doc)])
    search._write_documents(ix, [("K00000", None)])  # a deletion
    segments = index.open_dir(str(built))._segments()
    assert len(segments) < 1 + len(more)  # the small segments were merged
    engine = Engine(built)
    mask = engine.docs(Q.Term("text", "罕见")) & ~engine.deleted
    keys = engine.keys()
    assert sorted(keys[d] for d in np.flatnonzero(mask)) == [f"K{i:05d}" for i in range(50, 620, 50)]
    ids = engine.postings("text", "罕见")[0]  # deleted documents included, the engine masks them
    assert whoosh_postings(built, "text", "罕见")[0] == ids[~engine.deleted[ids]].tolist()
    engine.close()


def test_segments_are_merged_by_tiers_and_a_merge_stays_within_its_documents(tmp_path, monkeypatch):
    # A busy indexer's batches hold more than SMALL_SEGMENT documents each: before tiers they
    # were never merged, and a busy year left thousands of segments for every query to visit.
    monkeypatch.setattr(search, "SMALL_SEGMENT", 2)  # tiers: 0-1, 2-15, 16-127 documents
    monkeypatch.setattr(search, "MERGED_SEGMENT", 128)  # and from 128 on, left as they are
    ix = index.create_in(str(tmp_path), search._schema())
    pending = iter(documents(400, 0, 1))

    def batch(count: int, merge_at: int = 100) -> None:  # an update's commit: merges 30 documents at most
        search._write_documents(ix, [(doc["key"], doc) for doc in (next(pending) for _ in range(count))],
                                merge_at=merge_at, merge_docs=30)

    def segments() -> list:
        return index.open_dir(str(tmp_path))._segments()

    def sizes() -> list[int]:
        return [segment.doc_count_all() for segment in segments()]

    batch(130)  # as large as a rebuild's: never merged
    for _ in range(9):
        batch(3)  # tier 1
    batch(1)  # tier 0
    assert sizes() == [130] + [3] * 9 + [1]
    now = segments()
    # the oldest of the lowest tier that holds enough, MERGE_AT_MOST and most_docs at most
    assert search._to_merge(now, at_least=8, most_docs=2_000) == now[1:9]
    assert search._to_merge(now, at_least=8, most_docs=10) == now[1:4]  # 9 documents
    assert search._to_merge(now, at_least=10, most_docs=2_000) == []
    batch(1, merge_at=8)  # eight of tier 1; the batch's own document joins them
    assert sizes() == [130, 3, 1, 25]
    for _ in range(8):
        batch(16)  # tier 2, with the 25
    batch(1, merge_at=8)  # nine of tier 2, but two of them are more than 30 documents
    assert sizes() == [130, 3, 1, 25] + [16] * 8 + [1]
    search._write_documents(ix, [], merge_at=8, merge_docs=1_000)  # the idle indexer's merge: the smallest 8
    assert sizes() == [130, 3, 1, 25, 1, 8 * 16]
    assert search._tier(127) == 2 and search._tier(128) is None  # and 128 is left as it is
    engine = Engine(tmp_path)
    keys = list(engine.keys())
    assert len(keys) == len(set(keys)) == 130 + 9 * 3 + 1 + 1 + 8 * 16 + 1  # every document, once
    assert not engine.deleted.any()
    engine.close()


class _Segment:
    """What the merge policy reads of a segment."""

    def __init__(self, docs: int, deleted: int = 0):
        self.docs, self.deleted = docs, deleted

    def doc_count_all(self) -> int:
        return self.docs

    def deleted_count(self) -> int:
        return self.deleted

    def doc_count(self) -> int:
        return self.docs - self.deleted


def test_a_large_segment_of_a_tier_does_not_keep_the_small_ones_from_merging(monkeypatch):
    # An idle merge writes up to IDLE_MERGE_DOCS; its segment stays in its tier, the oldest.
    # Taken oldest first, it and the next were always too many documents, and the tier's
    # small segments piled up behind it for ever.
    monkeypatch.setattr(search, "SMALL_SEGMENT", 2)  # tiers: 0-1, 2-15, 16-127 documents
    monkeypatch.setattr(search, "MERGED_SEGMENT", 128)
    now = [_Segment(100), _Segment(20), _Segment(16), _Segment(17)]
    assert search._to_merge(now, at_least=2, most_docs=40) == now[2:]  # the smallest two (33)
    assert search._to_merge(now, at_least=2, most_docs=60) == now[1:]
    assert search._to_merge(now, at_least=2, most_docs=30) == []  # no two fit


def test_a_quiet_time_merges_large_segments_and_compacts_deleted_ones(tmp_path, monkeypatch):
    monkeypatch.setattr(search, "SMALL_SEGMENT", 2)  # tiers: ... 16-127, 128-1023 documents
    monkeypatch.setattr(search, "MERGED_SEGMENT", 128)  # left to a quiet time from 128 on
    monkeypatch.setattr(search, "LARGE_MERGE_DOCS", 1_000)  # and left as they are from 1,000 on
    ix = index.create_in(str(tmp_path), search._schema())
    pending = iter(documents(400, 0, 1))
    written = []
    for _ in range(3):
        docs = [next(pending) for _ in range(130)]
        written.append([doc["key"] for doc in docs])
        search._write_documents(ix, [(doc["key"], doc) for doc in docs], merge_at=100)

    def sizes() -> list[tuple[int, int]]:
        return [(s.doc_count_all(), s.deleted_count()) for s in index.open_dir(str(tmp_path))._segments()
                if s.doc_count_all()]

    assert not search._merge_once(ix, at_least=2, most_docs=10_000)  # an idle merge leaves them
    assert search._merge_once(ix, at_least=2, most_docs=300, quiet=True)  # a quiet time's: the oldest two fit
    assert sizes() == [(130, 0), (260, 0)]
    assert not search._merge_once(ix, at_least=2, most_docs=300, quiet=True)  # 390 do not; nothing deleted
    gone = written[1][:70]  # 70 of the 260 (27%): their cases changed since, say
    search._write_documents(ix, [(key, None) for key in gone])
    assert sizes() == [(130, 0), (260, 70)]
    assert search._tier(260) is None and search._tier(260, quiet=True) == 3
    assert search._merge_once(ix, at_least=2, most_docs=300, quiet=True)  # rewritten alone, without them
    assert sizes() == [(130, 0), (190, 0)]
    assert not search._merge_once(ix, at_least=2, most_docs=300, quiet=True)
    search._write_documents(ix, [(key, None) for key in written[0][:20]])  # 15%: not yet
    assert not search._merge_once(ix, at_least=2, most_docs=300, quiet=True)
    engine = Engine(tmp_path)
    live = sorted(key for key, deleted in zip(engine.keys(), engine.deleted) if not deleted)
    assert live == sorted(set(sum(written, [])) - set(gone) - set(written[0][:20]))
    engine.close()


def test_fractional_weights_are_kept(tmp_path):
    ix = index.create_in(str(tmp_path), search._schema())
    writer = ArrayWriter(ix)
    for i in range(INLINE_LIMIT + 2):
        writer.add_document(key=f"K{i}", text="加权 加权", _text_boost=0.75, info={}, date=i, year=2020)
    writer.commit()
    engine = Engine(tmp_path)
    assert engine.postings("text", "加权")[1].tolist() == [1.5] * (INLINE_LIMIT + 2)
    assert whoosh_postings(tmp_path, "text", "加权")[1] == [1.5] * (INLINE_LIMIT + 2)
    engine.close()


# -- Whoosh's own field writer over this codec ------------------------------------------------

def test_postings_written_one_at_a_time_in_several_blocks_are_kept_once():
    """Whoosh's test_fieldwriter_multiblock, with this codec: every block starts empty."""
    from whoosh import fields
    from whoosh.filedb.filestore import RamStorage

    from archive.search.codec import ArrayCodec

    field = fields.TEXT()
    storage, codec = RamStorage(), ArrayCodec(blocklimit=2)
    segment = codec.new_segment(storage, "test")
    writer = codec.field_writer(storage, segment)
    writer.start_field("text", field)
    writer.start_term(b"alfa")
    postings = [(0, 2.0, b"test1", 2), (1, 5.0, b"test2", 5), (2, 3.0, b"test3", 3), (3, 4.0, b"test4", 4),
                (4, 1.0, b"test5", 1)]
    for posting in postings:
        writer.add(*posting)
    writer.finish_term()
    writer.finish_field()
    writer.close()

    terms = codec.terms_reader(storage, segment)
    info = terms.term_info("text", b"alfa")
    assert (info.weight(), info.doc_frequency(), info.max_weight()) == (15.0, 5, 5.0)
    assert (info.min_length(), info.max_length(), info.min_id(), info.max_id()) == (1, 5, 0, 4)
    matcher = terms.matcher("text", b"alfa", field.format)
    found = []
    while matcher.is_active():
        found.append((matcher.id(), matcher.weight(), matcher.value()))
        matcher.next()
    assert found == [(d, w, v) for d, w, v, _ in postings]
    ids, weights = read_postings(terms._postfile, info)
    assert ids.tolist() == [0, 1, 2, 3, 4] and weights.tolist() == [2.0, 5.0, 3.0, 4.0, 1.0]


def test_term_vectors_and_spelling_fields_are_refused_before_anything_is_written(tmp_path):
    from whoosh import fields
    from whoosh.analysis import StemmingAnalyzer

    from archive.search.codec import ArrayCodec

    for name, schema in (("vectors", fields.Schema(body=fields.TEXT(vector=True))),
                         ("spelling", fields.Schema(body=fields.TEXT(spelling=True, analyzer=StemmingAnalyzer())))):
        folder = tmp_path / name
        folder.mkdir()
        ix = index.create_in(str(folder), schema)
        with pytest.raises(ValueError, match="不支持"):
            ArrayWriter(ix)
        assert not [p for p in folder.iterdir() if p.suffix in (".seg", ".pst", ".trm")]
    with pytest.raises(NotImplementedError, match="词向量"):
        ArrayCodec().postings_writer(None, byteids=True)


# -- positions -----------------------------------------------------------------------------------

def positions_of(engine, fieldname: str, token: str) -> dict:
    """{key: positions} of a token, read the way the engine reads them for phrase checks."""
    out = {}
    keys = engine.keys()
    for number, (leaf, offset) in enumerate(engine.leaves):
        found = engine._term(number, fieldname, token)
        if found is None:
            continue
        positions = found.positions
        if isinstance(positions, tuple):
            positions = leaf._terms.positions(positions, int(found.counts.sum()))
        start = 0
        for doc, count in zip(found.ids.tolist(), found.counts.tolist()):
            out[keys[doc + offset]] = positions[start:start + count].tolist()
            start += count
    return out


def test_positions_count_characters_without_white_space(built):
    engine = Engine(built)
    # K00003: "常见词语，中等频率。次数次数次数次数。编号3": 常见 at 0, "，" (folded to ",") at 4, 次数 at 10, …
    assert positions_of(engine, "text", "常见")["K00003"] == [0]
    assert positions_of(engine, "text", ",")["K00003"] == [4]
    assert positions_of(engine, "text", "。")["K00003"] == [9, 18]
    assert positions_of(engine, "text", "次数")["K00003"] == [10, 12, 14, 16]
    assert positions_of(engine, "text", "数次")["K00003"] == [11, 13, 15]
    assert positions_of(engine, "text", "3")["K00003"] == [21]
    # the last character of a run stands alone at its own position; 3 positions: an inlined term
    assert positions_of(engine, "text", "号")["K00003"] == [20]
    engine.close()


def test_positions_survive_updates_merges_and_deletions(built):
    ix = index.open_dir(str(built))
    more = list(documents(620, 0, 1))[600:]
    for doc in more:
        search._write_documents(ix, [(doc["key"], doc)])
    search._write_documents(ix, [("K00601", None), ("K00000", None)])
    engine = Engine(built)
    assert len(engine.leaves) < 1 + len(more)
    deleted = {engine.keys()[d] for d in np.flatnonzero(engine.deleted)}
    found = {k: v for k, v in positions_of(engine, "text", "次数").items() if k not in deleted}
    assert set(found) == {f"K{i:05d}" for i in range(1, 620) if i != 601}
    for key, positions in found.items():
        i = int(key[1:])
        start = len("常见词语，中等频率。" if i % 3 == 0 else "常见词语。") + (5 if i % 50 == 0 else 0)
        assert positions == [start + 2 * k for k in range(i % 4 + 1)], key
    engine.close()


def test_a_small_segment_is_written_to_the_same_bytes_by_the_direct_path(tmp_path, monkeypatch):
    # The indexer's batches make small segments, where most terms are in a few dozen
    # documents: those are written straight from lists (_write_positional_term), and the
    # term dictionary by _TermIndexWriter, which must give the bytes the general path and
    # Whoosh's own writer give.
    import re

    from whoosh.filedb.filetables import OrderedHashWriter

    from archive.search import codec

    written = {}
    for direct in (True, False):
        folder = tmp_path / f"direct-{direct}"
        folder.mkdir()
        ix = index.create_in(str(folder), search._schema())
        monkeypatch.setattr(ArrayWriter, "direct_small_terms", direct)
        if not direct:
            monkeypatch.setattr(codec._TermIndexWriter, "add", OrderedHashWriter.add)
        writer = ArrayWriter(ix)
        for doc in documents(60, 0, 1):
            writer.add_document(**search._fields(doc))
        writer.commit()
        written[direct] = {re.sub(r"^MAIN_\w+?(?=[._])", "", f.name): f.read_bytes()
                           for f in folder.iterdir() if f.name.startswith("MAIN_") and f.suffix != ".toc"}
    assert written[True].keys() == written[False].keys() and ".pst" in written[True]
    for name, data in written[True].items():
        assert data == written[False][name], name
    engine = Engine(tmp_path / "direct-True")
    ids, weights = engine.postings("text", "次数")  # in all 60 documents, 1 to 4 times
    assert ids.tolist() == list(range(60)) and weights.tolist() == [float(i % 4 + 1) for i in range(60)]
    assert engine.postings("text", "中等")[0].tolist() == list(range(0, 60, 3))  # 20 documents
    assert engine.postings("text", "59")[0].tolist() == [59]  # inlined in the term dictionary
    engine.close()


def test_a_merge_takes_the_oldest_small_segments_eight_at_most(built):
    # No entry is applied while the indexer merges: a merge's size bounds the index's lag.
    ix = index.open_dir(str(built))
    big = len(ix._segments())
    more = list(documents(620, 0, 1))[600:]
    for doc in more:  # twenty small segments, none merged
        search._write_documents(ix, [(doc["key"], doc)], merge_at=100)

    def small():
        return [s for s in index.open_dir(str(built))._segments() if s.doc_count_all() < search.SMALL_SEGMENT]

    assert len(small()) == 20
    oldest = {s.segment_id() for s in small()[:search.MERGE_AT_MOST]}
    search._write_documents(ix, [], merge_at=8)
    left = small()
    assert len(left) == 20 - search.MERGE_AT_MOST + 1  # eight became one
    assert not oldest & {s.segment_id() for s in left}
    assert len(index.open_dir(str(built))._segments()) == big + len(left)
    engine = Engine(built)
    keys = engine.keys()
    mask = engine.docs(Q.Term("text", "次数")) & ~engine.deleted
    assert {keys[d] for d in np.flatnonzero(mask)} >= {doc["key"] for doc in more}
    engine.close()
