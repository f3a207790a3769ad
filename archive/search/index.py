"""Full-text search over cases and filed volumes (Whoosh, Chinese-aware).

The index is a cache of the store, kept in ``<workspace>/index``; it can always be thrown
away and rebuilt with :func:`reindex`. One index document per case, from receipt on; once
the case is filed, the same document also carries its volume (archival code, class,
catalogue, access status, security level, notes and the text of its items and forms). A
destroyed volume is taken out of the index.

Chinese text
    Text is folded before it is indexed or searched: Traditional to Simplified (OpenCC
    ``t2s``), full-width ASCII to half-width and ASCII to lower case. Every run of Chinese
    characters is indexed as its overlapping two-character sequences (bigrams; the last
    character of a run also on its own), each with its position, so *any* substring of
    two or more characters that occurs in a document finds it, however a segmenter would
    have cut the query or the document, and only documents where it occurs: a run in a
    query must contain all its bigrams (AND, the upper bound), and then some of them at
    the right distances (咨询办 does not find a document with 咨询 and 询办 apart). A quoted
    phrase, or a term mixing Chinese with digits or letters, must occur as written,
    punctuation included (every other character is a token with a position too); white
    space does not count. jieba segmentation, with the item catalogue, unit names and
    organisation names added to its dictionary, adds the words of three or more
    characters to the same field; they rank a document where 不动产 is a word above one
    where 不动 and 动产 merely occur (and a document with the word needs no position
    check). At query time those words are found in the index's own vocabulary, so
    searching never loads jieba. Runs of ASCII letters and digits are indexed whole;
    case numbers, archival codes, ID numbers and credit codes also go into keyword fields
    that match whole or by prefix.

Searching
    Whoosh stores the index (with postings kept as flat arrays, see
    :mod:`archive.search.codec`); queries are evaluated by :mod:`archive.search.engine`
    with numpy masks over all documents, because Whoosh's own matchers step through every
    match in Python, which is slow when a common word matches most of the archive. Totals
    and facet counts come from those masks, ranking is BM25 (the terms' frequencies, the
    field lengths) over every match, title and applicant matches weigh more, and a
    role's hidden volumes are masked out.

Following the store
    Writes do not touch the index: each appends what it changed to the store's change log
    (:mod:`archive.core.changelog`), and the indexer (:mod:`archive.search.indexer`) applies
    the log in order with :func:`apply_changes`, which records in the index's state file the
    last entry applied. :func:`search` answers from the index as it is and says how far
    behind it is (``lag``); it refuses only when there is no index or it is of an old format.
    :func:`reindex` builds a new index in a temporary folder with two worker processes and
    swaps it in at the log entry its snapshot of the store had reached; the indexer then
    applies what came after. :func:`create_empty` makes the empty index of a new workspace.

Concurrency
    Writers (apply_changes, the swap of a rebuild) take one lock file in turn, with a
    bounded exponential back-off. Readers take no lock: they read the small state file,
    open the current index folder and search it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import os
import random
import re
import shutil
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select

from ..core import store as st
from ..core.errors import ArchiveError, InputError

log = logging.getLogger(__name__)

INDEX_FORMAT = 4  # 3: array postings (archive.search.codec); 4: positions, bitmaps, punctuation tokens
STATE_FILE = "state.json"
LOCK_FILE = "LOCK"
WRITE_TIMEOUT = 30.0  # seconds the indexer waits for the index lock (a rebuild's swap holds it)
SWAP_TIMEOUT = 300.0
MARK_OPEN, MARK_CLOSE = "【", "】"
SNIPPET_CHARS = 96
REMEMBERED_HITS = 100  # the best hits of a query kept for its later pages (see search)
SEGMENT_DOCS = 100_000  # documents per segment written by a rebuild, at most: a query pays per segment
SEGMENT_TOKENS = 50_000_000  # ... and token occurrences (8 bytes each while collected, 25 when written)
# Updates write a small segment each, merged by tiers: segments below SMALL_SEGMENT
# documents, then each TIER_FACTOR times larger, are merged with others of their own tier
# (the smallest first, the oldest of equal ones) once there are enough of them (8, a busy
# indexer 48), so that a busy year leaves a few dozen segments rather than thousands (a
# query, and a commit's look-up of old documents, pay per segment). No entry is applied
# while a merge runs, so its size bounds the index's lag: a merge takes at most
# MERGE_AT_MOST segments and writes at most MERGE_DOCS documents when entries wait (an
# update's commit), IDLE_MERGE_DOCS when the indexer has nothing else to do. Segments of
# MERGED_SEGMENT documents or more (and a rebuild's) are left to the merges of a quiet time
# (the indexer, after QUIET_SECONDS with no entry, or `archive indexer --once` from cron):
# they take segments of any tier below LARGE_MERGE_DOCS, write up to that many documents,
# and rewrite alone a segment whose deleted documents (a case's older versions) are
# COMPACT_SHARE of it or more. `archive reindex` compacts the whole index.
SMALL_SEGMENT = 200
TIER_FACTOR = 8
MERGE_AT_MOST = 8
MERGE_DOCS = 2_000  # 0.7-2.7 s of merging (bench/segments.py: as long as writing them)
IDLE_MERGE_DOCS = 10_000  # a few seconds, once in ten thousand cases
MERGED_SEGMENT = SMALL_SEGMENT * TIER_FACTOR ** 2  # 12,800
LARGE_MERGE_DOCS = SEGMENT_DOCS  # a quiet time's merges: a minute or so each, at night
COMPACT_SHARE = 0.25


# -- errors -------------------------------------------------------------------------------

class IndexMissingError(ArchiveError):
    """There is no usable index yet (exit 1)."""


class IndexBusyError(ArchiveError):
    """Another process held the index lock for too long (exit 1)."""


# -- folding and tokens -------------------------------------------------------------------

_HAN = "\u3007\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f"  # 〇 is a numeral, written in Chinese
_RUN = re.compile(f"([{_HAN}]+)|[0-9a-z]+")
_HAN_RUN = re.compile(f"[{_HAN}]+")
_PIECE = re.compile(f"([{_HAN}]+)|([0-9a-z]+)|([^\\s{_HAN}0-9a-z])")  # white space: no piece
_GAP = re.compile(f"(?<=[{_HAN}])\\s+(?=[{_HAN}])")
_WIDTH = {c + 0xFEE0: chr(c).lower() for c in range(0x21, 0x7F)}
_WIDTH.update({c: chr(c + 32) for c in range(ord("A"), ord("Z") + 1)})
_WIDTH[0x3000] = " "
_WIDE = re.compile("[A-Z\uff01-\uff5e\u3000]+")  # exactly the characters _WIDTH maps
_opencc = None


def _narrow_one(match) -> str:
    return match.group().translate(_WIDTH)


def fold(text: str) -> str:
    """Traditional → Simplified, full-width → half-width, ASCII lower case."""
    global _opencc
    if _opencc is None:
        import opencc

        _opencc = opencc.OpenCC("t2s")
    # translate() looks every character up in a dict; most text has few to change
    return _opencc.convert(_WIDE.sub(_narrow_one, text))


def _pairs(run: str) -> list[str]:
    """The run's overlapping two-character sequences."""
    return [run[i:i + 2] for i in range(len(run) - 1)]


def _bigrams(run: str) -> list[str]:
    """What a run is indexed as: its pairs, and its last character on its own (one token per
    character, so the token at position p starts with the p-th character)."""
    return _pairs(run) + [run[-1]]


def _bridged(text: str) -> str:
    """Folded, with no space or line break left between two Chinese characters: a PDF's layout
    leaves them inside words (江州 市人民政府), a heading spaces its characters (申 请 人)."""
    return _GAP.sub("", fold(text))


def _tokens(text: str, of_run) -> list[str]:
    """``of_run(run)`` for every Chinese run and each ASCII word whole, of the folded text."""
    out: list[str] = []
    for match in _RUN.finditer(_bridged(text)):
        if match.group(1):
            out.extend(of_run(match.group(1)))
        else:
            out.append(match.group())
    return out


def gram_tokens(text: str) -> list[str]:
    """Bigrams of every Chinese run (plus its last character) and whole ASCII words, folded."""
    return _tokens(text, _bigrams)


_run_cache: dict[str, tuple[list[str], list[str]]] = {}
_RUN_CACHE_SIZE = 200_000


def _run_words(run: str) -> tuple[list[str], list[str]]:
    """(bigrams, jieba words of 3+ characters) of a run of the full text."""
    # Administrative prose repeats itself (legal bases, appeal rights); segment each run once.
    found = _run_cache.get(run)
    if found is None:
        words = _jieba_long_words(run) if len(run) >= 3 else []
        found = (_bigrams(run), words)
        if len(_run_cache) >= _RUN_CACHE_SIZE:
            _run_cache.clear()
        _run_cache[run] = found
    return found


def _run_grams(run: str) -> tuple[list[str], tuple]:
    return _bigrams(run), ()  # (names, titles: short and varied, not worth a cache)


def analyse(text: str, words: bool = False):
    """A field's tokens with their positions (:class:`archive.search.codec.Tokens`).

    Positions count the characters of the folded text without white space: a Chinese run
    gives one token per character (its pairs, then its last character alone), an ASCII
    word one token, any other character (punctuation, symbols) one token of its own.
    With ``words``, jieba's words of three or more characters are added, without
    positions (they rank; punctuation does not count in the field's length).
    """
    from .codec import Tokens

    of_run = _run_words if words else _run_grams
    grams: list[str] = []
    positions: list[int] = []
    extra: list[str] = []
    at = others = 0
    for run, word, other in _PIECE.findall(_bridged(text)):
        if run:
            run_grams, run_words = of_run(run)
            grams += run_grams
            positions += range(at, at + len(run))
            if run_words:
                extra += run_words
            at += len(run)
        elif word:
            grams.append(word)
            positions.append(at)
            at += len(word)
        else:
            grams.append(other)
            positions.append(at)
            at += 1
            others += 1
    return Tokens(grams, positions, extra, length=len(grams) - others + len(extra))


def text_tokens(text: str) -> list[str]:
    """The tokens of the full-text field: bigrams, jieba words of 3+ characters, ASCII words."""
    found = analyse(text, words=True)
    return [t for t in found.grams if _RUN.fullmatch(t)] + found.words


# -- jieba --------------------------------------------------------------------------------

_tokenizer = None
_jieba_words: set[str] = set()
_jieba_cache_dir: str | None = None
JIEBA_MIN_FREQ = 20  # dictionary words kept (80,000 of 349,000): loads in a quarter of the time


def _jieba():
    """A jieba tokenizer, initialised once per process, quietly, with its files in a writable folder.

    It uses jieba's own dictionary without its rarest words (frequency below
    ``JIEBA_MIN_FREQ``): every clerk's command that changes a case re-indexes it, and
    loading the full dictionary costs about a second; the trimmed one cuts
    administrative prose the same way. Domain words are added on top (add_words).
    """
    global _tokenizer
    if _tokenizer is None:
        import jieba

        jieba.setLogLevel(logging.WARNING)
        folder = _jieba_cache_dir
        if folder is None or not os.access(folder, os.W_OK):
            import tempfile

            folder = tempfile.gettempdir()
        tokenizer = jieba.Tokenizer(_trimmed_dictionary(Path(folder), Path(jieba.__file__).parent / "dict.txt"))
        tokenizer.tmp_dir = folder
        tokenizer.initialize()
        _tokenizer = tokenizer
    return _tokenizer


_JIEBA_HAN = re.compile("[\u4e00-\u9fd5]{3,}")  # the characters jieba segments (jieba.re_han_default), 3 or more
_log_probability: dict[str, float | None] = {}
_log_total: list = [None, 0.0]  # the dictionary total the table above was made for, and its log


def _jieba_long_words(run: str) -> list[str]:
    """``[w for w in jieba.cut_for_search(run, HMM=False) if len(w) >= 3]``, computed the same way.

    jieba finds the most probable route through the dictionary's words (``get_DAG`` and
    ``calc``) with a generator and a tuple per step; the build asks it for every new run
    (names, addresses: most runs are new), and that alone took a third of the analysis.
    This follows the same route in one loop, with the log-probabilities of the words
    computed once (the same floating-point operations in the same order, ties to the
    longer word as ``max`` over (probability, end) does), and skips the runs in which no
    three characters begin a dictionary word (jieba keeps every prefix of a word as a key).
    A test checks it against jieba itself.
    """
    from math import log

    tokenizer = _jieba()
    freq = tokenizer.FREQ
    if _log_total[0] != tokenizer.total:  # words were added since
        total = log(tokenizer.total)
        _log_probability.clear()
        _log_probability.update((w, log(f) - total if f else None) for w, f in freq.items())
        _log_total[:] = [tokenizer.total, total]
    log_total = _log_total[1]
    probability = _log_probability
    out: list[str] = []
    for block in _JIEBA_HAN.findall(run):
        size = len(block)
        if not any(block[i:i + 3] in freq for i in range(size - 2)):
            continue
        best = [0.0] * (size + 1)
        ends = [0] * (size + 1)
        for start in range(size - 1, -1, -1):
            top = end = None
            i, piece = start, block[start]
            while i < size and piece in probability:
                p = probability[piece]
                if p is not None:
                    value = p + best[i + 1]
                    if top is None or value >= top:
                        top, end = value, i
                i += 1
                piece = block[start:i + 1]
            if top is None:  # no word starts here: the character alone
                top, end = log(freq.get(block[start]) or 1) - log_total + best[start + 1], start
            best[start], ends[start] = top, end
        at = 0
        while at < size:
            stop = ends[at] + 1
            if stop - at >= 3:
                word = block[at:stop]
                if stop - at > 3:  # cut_for_search: the word's dictionary trigrams first
                    out += [g for g in (word[k:k + 3] for k in range(len(word) - 2)) if freq.get(g)]
                out.append(word)
            at = stop
    return out


def _trimmed_dictionary(folder: Path, full: Path) -> str:
    target = folder / f"jieba-dict-{JIEBA_MIN_FREQ}.txt"
    if not target.exists():
        lines = []
        with open(full, encoding="utf-8") as source:
            for line in source:
                parts = line.split()
                if len(parts) >= 2 and parts[1].isdigit() and int(parts[1]) >= JIEBA_MIN_FREQ:
                    lines.append(line if line.endswith("\n") else line + "\n")
        tmp = folder / f".{target.name}.{os.getpid()}.tmp"
        tmp.write_text("".join(lines), encoding="utf-8")
        os.replace(tmp, target)
    return str(target)


def use_jieba_cache(folder: str | os.PathLike) -> None:
    """Keep jieba's dictionary cache in ``folder`` (the workspace's index folder)."""
    global _jieba_cache_dir
    _jieba_cache_dir = str(folder)


def add_words(words) -> None:
    """Add domain words (item names, units, organisations) to jieba's dictionary."""
    new = []
    for word in words:
        for run in _HAN_RUN.findall(fold(word or "")):
            if len(run) >= 2 and run not in _jieba_words:
                new.append(run)
    if not new:
        return
    jieba = _jieba()
    for run in new:
        _jieba_words.add(run)
        jieba.add_word(run)
    _run_cache.clear()


def _domain_words(session, conn, case_ids=None) -> list[str]:
    """Item names, unit names and the organisations among the applicants (of ``case_ids``)."""
    words = [row.name for row in conn.execute(select(st.items.c.name))]
    for unit in session.ws.units.values():
        words += [unit.get("name", ""), unit.get("short_name", "")]
    words.append(session.ws.centre.get("name", ""))
    query = select(st.cases.c.applicant)
    if case_ids is not None:
        query = query.where(st.cases.c.id.in_(list(case_ids)))
    for (applicant,) in conn.execute(query):
        if applicant.get("kind") == "organisation":
            words.append(applicant.get("name", ""))
    return words


# -- schema -------------------------------------------------------------------------------

def _schema():
    from whoosh.analysis import IDTokenizer, LowercaseFilter, SpaceSeparatedTokenizer
    from whoosh.fields import ID, KEYWORD, NUMERIC, STORED, FieldType, Schema

    from .codec import TokenPositions

    # Text fields receive ready-made tokens with their positions (see _fields and analyse):
    # analysis runs once, in the worker, and the writer just files them.
    def tokens():
        return FieldType(TokenPositions(), SpaceSeparatedTokenizer(), scorable=True)

    def code():  # one code per field, matched whole or by prefix, case-insensitively
        return ID(analyzer=IDTokenizer() | LowercaseFilter())

    return Schema(
        key=ID(unique=True, stored=True, sortable=True),  # the case number, exactly
        case=code(),
        archival_code=code(),
        ids=KEYWORD(lowercase=True),  # ID number, credit code
        item=code(),
        unit=ID(stored=True),
        classification=ID(),
        catalogue=ID(),
        year=NUMERIC(int),
        year_key=ID(),  # the year as a word, for facet counts
        date=NUMERIC(int, sortable=True),
        status=ID(),
        kind=ID(),
        access=ID(),
        security=ID(),
        applicant=tokens(),
        title=tokens(),
        item_name=tokens(),
        text=tokens(),
        info=STORED(),
        body=STORED(),
    )


def _fields(doc: dict) -> dict:
    """Whoosh field values of one raw document (see _case_document)."""
    text = doc["text"]
    values = {
        "key": doc["key"], "case": doc["key"], "archival_code": doc.get("archival_code") or None,
        "ids": " ".join(doc.get("ids") or ()) or None, "item": doc.get("item") or None,
        "unit": doc.get("unit") or None, "classification": doc.get("classification") or None,
        "catalogue": doc.get("catalogue") or None, "year": int(doc["year"]), "year_key": str(int(doc["year"])),
        "date": int(doc["date"]),
        "status": doc.get("status") or None, "kind": doc.get("kind") or "case",
        "access": doc.get("access") or "-", "security": doc.get("security") or "-",
        "applicant": analyse(doc.get("applicant") or ""),
        "title": analyse(doc.get("title") or ""),
        "item_name": analyse(doc.get("item_name") or ""),
        "text": analyse(text, words=True),
        "info": doc["info"],
        "body": _mask_ids(text),  # compressed with the segment's other stored fields (archive.search.codec)
    }
    return {k: v for k, v in values.items() if v is not None}


# -- documents from the store -------------------------------------------------------------

def _d8(day) -> int:
    return int(day.strftime("%Y%m%d")) if day else 0


def _iso(day) -> str | None:
    return day.isoformat() if day else None


def _masked(applicant: dict) -> str:
    from ..core.validate import mask_id

    number = applicant.get("id_number") or ""
    return mask_id(number) if applicant.get("kind") == "person" and number else number


def _gather_rows(conn, case_ids: list[int]) -> dict[int, dict]:
    """Everything the index needs about these cases, in a few queries (named columns only)."""
    c, n, a, v, i, t = st.cases.c, st.notices.c, st.attachments.c, st.volumes.c, st.volume_items.c, st.volume_notes.c
    out: dict[int, dict] = {}
    for row in conn.execute(select(c.id, c.case_no, c.item_code, c.unit, c.applicant, c.status, c.received_on,
                                   c.concluded_on, c.decision_reason).where(c.id.in_(case_ids))):
        out[row.id] = {"case": row, "notices": [], "attachments": [], "volume": None, "items": [], "notes": []}
    if not out:
        return out
    ids = list(out)
    for row in conn.execute(select(n.case_id, n.number, n.path).where(n.case_id.in_(ids), n.reprint_of.is_(None))
                            .order_by(n.id)):
        out[row.case_id]["notices"].append(row)
    for row in conn.execute(select(a.case_id, a.title, a.path).where(a.case_id.in_(ids)).order_by(a.id)):
        out[row.case_id]["attachments"].append(row)
    by_volume = {}
    for row in conn.execute(select(v.id, v.case_id, v.archival_code, v.classification, v.catalogue, v.year, v.title,
                                   v.access, v.security_level, v.state, v.end_date, v.merged_pdf)
                            .where(v.case_id.in_(ids))):
        out[row.case_id]["volume"] = row
        by_volume[row.id] = out[row.case_id]
    if by_volume:
        vids = list(by_volume)
        for row in conn.execute(select(i.volume_id, i.role, i.kind, i.title, i.path).where(i.volume_id.in_(vids))
                                .order_by(i.volume_id, i.role, i.number)):
            by_volume[row.volume_id]["items"].append(row)
        for row in conn.execute(select(t.volume_id, t.text).where(t.volume_id.in_(vids)).order_by(t.id)):
            by_volume[row.volume_id]["notes"].append(row)
    return out


def _files_of(ws, data: dict) -> list[tuple[str, str]]:
    """(title, recorded path) of every document whose text is indexed: the volume's items and
    forms once filed, otherwise the notices (.docx) and the attachments."""
    volume = data["volume"]
    if volume is not None:
        files = [(row.title, row.path) for row in data["items"]
                 if row.role != "superseded" and row.kind != "merged_pdf" and row.path != volume.merged_pdf]
        if files:
            return files
    return [(row.number, row.path) for row in data["notices"]] + [(row.title, row.path) for row in data["attachments"]]


_ID_NUMBER = re.compile(r"(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])")


def _mask_ids(text: str) -> str:
    """The text as shown in snippets: identity card numbers masked (they stay searchable)."""
    from ..core.validate import mask_id

    return _ID_NUMBER.sub(lambda m: mask_id(m.group()), text)


def _case_document(ws, data: dict, item_names: dict[str, str], extract=None) -> dict | None:
    """The raw index document of one case (None when its volume was destroyed)."""
    from ..documents.extract import extract as extract_file

    extract = extract or extract_file
    case, volume = data["case"], data["volume"]
    if volume is not None and volume.state == "destroyed":
        return None
    applicant = case.applicant or {}
    unit = ws.units.get(case.unit, {})
    item_name = item_names.get(case.item_code, "")
    asks = "" if "申请" in item_name else "申请"
    title = volume.title if volume is not None else f"{applicant.get('name', '')}{item_name}{asks}"
    lines = [title, applicant.get("name", ""), applicant.get("legal_rep", ""), f"{case.item_code} {item_name}",
             unit.get("name", ""), case.case_no]
    if case.decision_reason:
        lines.append(case.decision_reason)
    if volume is not None:
        lines.append(volume.archival_code)
    seen = set(lines)
    no_text = []
    for label, recorded in _files_of(ws, data):
        got = extract(ws.absolute(recorded))
        if not got.has_text:
            no_text.append({"title": label, "path": recorded, "problem": got.problem})
            continue
        for line in got.text.splitlines():
            if line not in seen:
                seen.add(line)
                lines.append(line)
    for note in data["notes"]:
        lines.append(note.text)
    text = "\n".join(line for line in lines if line)
    ids = [applicant.get("id_number", "")]
    year = volume.year if volume is not None else case.received_on.year
    day = (volume.end_date if volume is not None else None) or case.concluded_on or case.received_on
    info = {
        "case": case.case_no, "archival_code": volume.archival_code if volume is not None else None,
        "title": title, "applicant": applicant.get("name", ""), "applicant_id": _masked(applicant),
        "item": case.item_code, "item_name": item_name, "unit": case.unit, "unit_name": unit.get("name", case.unit),
        "year": year, "status": case.status, "received_on": _iso(case.received_on),
        "concluded_on": _iso(case.concluded_on),
        "filed": volume is not None, "classification": volume.classification if volume is not None else None,
        "access": volume.access if volume is not None else None,
        "security_level": volume.security_level if volume is not None else None,
        "no_text": no_text,
    }
    doc = {
        "key": case.case_no, "archival_code": info["archival_code"], "ids": [i for i in ids if i],
        "item": case.item_code, "item_name": item_name, "unit": case.unit,
        "classification": info["classification"], "catalogue": str(volume.catalogue) if volume is not None else None,
        "year": year, "date": _d8(day), "status": case.status, "kind": "volume" if volume is not None else "case",
        "access": _access_value(volume.access) if volume is not None else "-",
        "security": _security_value(volume.security_level) if volume is not None else "-",
        "applicant": applicant.get("name", ""), "title": title, "text": text, "info": info,
    }
    info["digest"] = _digest(doc)  # stored: an update that changes nothing is not written (apply_changes)
    return doc


def _digest(doc: dict) -> str:
    import hashlib

    return hashlib.sha1(json.dumps(doc, sort_keys=True, ensure_ascii=False, default=str).encode()).hexdigest()


def _changed(ix, docs: list[tuple[str, dict | None]]) -> tuple[list[tuple[str, dict | None]], set[str]]:
    """The documents that differ from those in the index (by the digest each one stores), and
    the keys among them that the index does not hold at all (new cases: nothing to delete).

    A lend or a return names its volume in the change log, but the volume's document is the
    same: writing it again would make a new index segment, and every server worker would open
    the index again and forget the answers it remembers (Engine.remember).
    """
    out, absent = [], set()
    with ix.searcher() as searcher:
        for key, doc in docs:
            stored = searcher.document(key=key)
            if doc is None:
                if stored is not None:
                    out.append((key, doc))
            elif stored is None or (stored.get("info") or {}).get("digest") != doc["info"]["digest"]:
                out.append((key, doc))
                if stored is None:
                    absent.add(key)
    return out, absent


def _access_value(access: str | None) -> str:
    from ..core.access import ACCESS_STATUSES

    return access if access in ACCESS_STATUSES else "?"


def _security_value(level: str | None) -> str:
    from ..core.access import SECURITY_LEVELS

    if not level:
        return "-"
    return level if level in SECURITY_LEVELS else "?"


def _documents(session, conn, case_ids: list[int]) -> list[tuple[str, dict | None]]:
    """(case number, raw document or None to delete) for each case id."""
    item_names = {row.code: row.name for row in conn.execute(select(st.items.c.code, st.items.c.name))}
    rows = _gather_rows(conn, case_ids)
    return [(data["case"].case_no, _case_document(session.ws, data, item_names)) for data in rows.values()]


def _store_generation(conn) -> int:
    from ..core import changelog

    return changelog.head(conn)  # the newest entry of the change log


# -- the index folder: state, lock, versions --------------------------------------------------

class _Area:
    """``<workspace>/index``: the state file, the lock and the index versions."""

    def __init__(self, session):
        self.root = session.ws.index_dir

    @property
    def state_path(self) -> Path:
        return self.root / STATE_FILE

    def read_state(self) -> dict | None:
        try:
            data = json.loads(self.state_path.read_text(encoding="utf-8"))
        except (FileNotFoundError, NotADirectoryError):
            return None
        except (OSError, ValueError):
            return {"format": None}
        return data if isinstance(data, dict) else {"format": None}

    def write_state(self, state: dict) -> None:
        tmp = self.root / f".{STATE_FILE}.{os.getpid()}.tmp"
        tmp.write_text(json.dumps(state, ensure_ascii=False, indent=1), encoding="utf-8")
        os.replace(tmp, self.state_path)

    def current(self, state: dict | None) -> Path | None:
        if not state or state.get("format") != INDEX_FORMAT or not state.get("current"):
            return None
        path = self.root / state["current"]
        return path if path.is_dir() else None

    @contextlib.contextmanager
    def lock(self, timeout: float):
        """The writers' lock, retried with exponential back-off for at most ``timeout`` seconds."""
        from whoosh.util.filelock import FileLock

        self.root.mkdir(parents=True, exist_ok=True)
        lock = FileLock(str(self.root / LOCK_FILE))
        deadline = time.monotonic() + timeout
        delay = 0.01
        while not lock.acquire(blocking=False):
            if time.monotonic() >= deadline:
                raise IndexBusyError(f"检索索引被其他进程占用超过{timeout:.0f}秒", field="index",
                                     hint="稍后重试；如持续出现，请检查是否有卡住的 archive 进程")
            time.sleep(delay * (1 + random.random()))
            delay = min(delay * 2, 0.5)
        try:
            yield
        finally:
            lock.release()


def _open_dir(path: Path):
    from whoosh import index

    return index.open_dir(str(path))


def _write_documents(ix, docs: list[tuple[str, dict | None]], *, merge_at: int = 8, absent=(),
                     merge_docs: int = MERGE_DOCS, quiet: bool = False) -> None:
    """Replace (or delete) the documents of these cases in an open index; segments are merged
    once a tier holds ``merge_at`` of them (:func:`_merge_tiers`; ``quiet``: as a quiet
    time's merges are). The keys in ``absent`` are known not to be in the index (the caller
    holds its lock): they are added without looking for an old document to delete, a
    look-up in every segment that a busy day's new cases would each pay."""
    from functools import partial

    from .codec import ArrayWriter

    writer = ArrayWriter(ix)
    try:
        for key, doc in docs:
            if key not in absent:
                writer.delete_by_term("key", key)
            if doc is not None:
                writer.add_document(**_fields(doc))
    except BaseException:
        writer.cancel()
        raise
    writer.commit(mergetype=partial(_merge_tiers, at_least=merge_at, most_docs=merge_docs, quiet=quiet))


def _tier(docs: int, *, quiet: bool = False) -> int | None:
    """A segment's tier by its documents: 0 below SMALL_SEGMENT, then one a TIER_FACTOR; None
    for a segment merges leave as it is (from MERGED_SEGMENT documents on; in a quiet time's
    merges, from LARGE_MERGE_DOCS on)."""
    if docs >= (LARGE_MERGE_DOCS if quiet else MERGED_SEGMENT):
        return None
    tier, bound = 0, SMALL_SEGMENT
    while docs >= bound:
        tier, bound = tier + 1, bound * TIER_FACTOR
    return tier


def _to_merge(segments, *, at_least: int, most_docs: int, quiet: bool = False) -> list:
    """The segments to merge now (oldest first), none when no merge is due.

    The lowest tier holding ``at_least`` segments gives its smallest ones (the oldest of
    equal ones), ``MERGE_AT_MOST`` of them and ``most_docs`` documents at most, two at least:
    a large segment of the tier then never keeps the small ones from merging. With
    ``quiet`` (a quiet time's merges), when no tier does, the oldest segment whose deleted
    documents are ``COMPACT_SHARE`` of it or more and whose others fit in ``most_docs`` is
    rewritten alone, without them."""
    tiers: dict[int, list] = {}
    for segment in segments:  # oldest first
        tier = _tier(segment.doc_count_all(), quiet=quiet)
        if tier is not None:
            tiers.setdefault(tier, []).append(segment)
    for tier in sorted(tiers):
        if len(tiers[tier]) < max(2, at_least):
            continue
        chosen, docs = [], 0
        for segment in sorted(tiers[tier], key=lambda segment: segment.doc_count_all()):  # (a stable sort)
            if len(chosen) == MERGE_AT_MOST or docs + segment.doc_count_all() > most_docs:
                break
            chosen.append(segment)
            docs += segment.doc_count_all()
        if len(chosen) >= 2:
            return [segment for segment in tiers[tier] if segment in chosen]
    if quiet:
        for segment in segments:
            if segment.deleted_count() >= COMPACT_SHARE * segment.doc_count_all() > 0 \
                    and segment.doc_count() <= most_docs:
                return [segment]
    return []


def _merge_tiers(writer, segments, at_least: int = 8, most_docs: int = MERGE_DOCS, quiet: bool = False):
    """Whoosh merge policy for updates (see SMALL_SEGMENT): merge the segments
    :func:`_to_merge` picks, within ``most_docs`` (Whoosh's MERGE_SMALL would, once there
    are enough of them, merge most of the archive inside a clerk's command)."""
    from whoosh.reading import SegmentReader

    chosen = _to_merge(segments, at_least=at_least, most_docs=most_docs, quiet=quiet)
    for segment in chosen:
        reader = SegmentReader(writer.storage, writer.schema, segment)
        writer.add_reader(reader)
        reader.close()
    return [s for s in segments if s not in chosen]


# -- following the store --------------------------------------------------------------------

def _case_ids_for(conn, touched) -> tuple[list[int], list[str]]:
    """Case ids named by the touched records, and case numbers that no longer exist (a batch
    of the change log names hundreds: a few IN queries instead of one query each)."""
    case_nos = list(dict.fromkeys(key for kind, key in touched if kind == "case"))
    codes = list(dict.fromkeys(key for kind, key in touched if kind == "volume"))
    by_number: dict[str, int] = {}
    by_code: dict[str, int] = {}
    for start in range(0, len(case_nos), 500):
        chunk = case_nos[start:start + 500]
        by_number.update(conn.execute(select(st.cases.c.case_no, st.cases.c.id)
                                      .where(st.cases.c.case_no.in_(chunk))).all())
    for start in range(0, len(codes), 500):
        chunk = codes[start:start + 500]
        by_code.update(conn.execute(select(st.volumes.c.archival_code, st.volumes.c.case_id)
                                    .where(st.volumes.c.archival_code.in_(chunk))).all())
    ids: dict[int, None] = {}
    gone: list[str] = []
    for kind, key in touched:
        found = by_number.get(key) if kind == "case" else by_code.get(key) if kind == "volume" else None
        if kind == "case" and found is None:
            gone.append(key)
        if found is not None:
            ids[found] = None
    return list(ids), gone


def _prepare(session, touched) -> list[tuple[str, dict | None]]:
    """Read and extract the touched cases (outside the lock): their documents, or None to delete.

    The rows are read in one short transaction and the files extracted after it: a reader
    held open for seconds would keep SQLite from checkpointing its WAL, and every clerk's
    commit would pay for that.
    """
    with session.store.read() as conn:
        ids, gone = _case_ids_for(conn, touched)
        add_words(_domain_words(session, conn, ids))
        item_names = {row.code: row.name for row in conn.execute(select(st.items.c.code, st.items.c.name))}
        rows = _gather_rows(conn, ids) if ids else {}
    docs = [(data["case"].case_no, _case_document(session.ws, data, item_names)) for data in rows.values()]
    return docs + [(key, None) for key in gone]


def applied(session) -> int | None:
    """The last change-log entry the current index reflects; None without a usable index."""
    area = _Area(session)
    state = area.read_state()
    return int(state.get("generation") or 0) if area.current(state) is not None else None


def apply_changes(session, touched: list[tuple[str, str]], *, after: int, upto: int, merge_at: int = 8) -> bool:
    """Re-index what the change-log entries ``after`` + 1 … ``upto`` touched and record ``upto``
    as the last entry applied.

    Called by the indexer (:mod:`archive.search.indexer`). The cases are read from the store
    as they are now, so applying an entry twice does no harm. Returns False, changing
    nothing, when the index no longer stands at ``after`` (a rebuild was swapped in): the
    caller reads the state again. Errors propagate: the entries then stay to be applied.
    The segments updates leave are merged once a tier holds ``merge_at`` of them (a busy
    indexer puts that off, see :func:`merge_segments`).
    """
    area = _Area(session)
    use_jieba_cache(area.root)
    docs = _prepare(session, touched)
    with area.lock(WRITE_TIMEOUT):
        state = area.read_state()
        current = area.current(state)
        if current is None or int(state.get("generation") or 0) != after:
            return False
        if docs:
            ix = _open_dir(current)
            docs, absent = _changed(ix, docs)
            if docs:
                _write_documents(ix, docs, merge_at=merge_at, absent=absent)
        state["generation"] = upto
        area.write_state(state)
    return True


def merge_segments(session, *, at_least: int = 2, most_docs: int = IDLE_MERGE_DOCS, quiet: bool = False) -> bool:
    """Merge the segments updates left, once a tier holds ``at_least`` of them (one merge, see
    :func:`_to_merge`; ``quiet``: a quiet time's merge, of larger segments and up to
    ``most_docs``, or a compaction); False when none did (the indexer merges when it has
    nothing else to do, a merge at a time, so that merging does not hold up new entries for long)."""
    area = _Area(session)
    with area.lock(WRITE_TIMEOUT):
        current = area.current(area.read_state())
        if current is None:
            return False
        return _merge_once(_open_dir(current), at_least=at_least, most_docs=most_docs, quiet=quiet)


def _merge_once(ix, *, at_least: int, most_docs: int, quiet: bool = False) -> bool:
    """One merge in an open index whose lock the caller holds, when a tier holds ``at_least``
    segments (or, ``quiet``, a segment is due for compaction); False, writing nothing, when none is."""
    if not _to_merge(ix._segments(), at_least=at_least, most_docs=most_docs, quiet=quiet):
        return False
    _write_documents(ix, [], merge_at=at_least, merge_docs=most_docs, quiet=quiet)
    return True


def _doc_count(path: Path) -> int:
    ix = _open_dir(path)
    try:
        return ix.doc_count()
    finally:
        ix.close()


def create_empty(session) -> bool:
    """Give a workspace with no usable index an empty one at the store's newest change (``archive
    init``), so that search answers at once; a store that already holds cases is indexed
    whole instead. False when there was an index already."""
    area = _Area(session)
    if area.current(area.read_state()) is not None:
        return False
    with session.store.read() as conn:
        generation = _store_generation(conn)
        has_cases = conn.execute(select(st.cases.c.id).limit(1)).first() is not None
    if has_cases:
        reindex(session)
        return True
    area.root.mkdir(parents=True, exist_ok=True)
    build = area.root / f"build-{os.getpid()}-{random.randrange(16 ** 6):06x}"
    try:
        build_index(build, _no_documents, 0, procs=1)
        install_index(session, build, generation=generation, documents=0)
    except BaseException:
        shutil.rmtree(build, ignore_errors=True)
        raise
    return True


def _no_documents(share: int, shares: int):
    return iter(())


# -- building -----------------------------------------------------------------------------

_progress_counter = None


def _init_worker(counter, words, cache_dir) -> None:
    global _progress_counter
    _progress_counter = counter
    if cache_dir:
        use_jieba_cache(cache_dir)
    add_words(words)


def _build_share(path: str, source, share: int, shares: int):
    """Index one share of the documents into new segments of the index at ``path``.

    A segment is written every ``SEGMENT_DOCS`` documents, its postings collected in
    memory as arrays (see archive.search.codec). Returns (segments, documents, files without text).
    """
    from .codec import ArrayWriter

    ix = _open_dir(Path(path))
    segments, count, no_text, pending = [], 0, [], 0
    writer = None
    try:
        for doc in source(share, shares):
            if writer is None:
                writer = ArrayWriter(ix, _lk=False)
            writer.add_document(**_fields(doc))
            count += 1
            no_text.extend(dict(item, case=doc["key"]) for item in doc["info"].get("no_text", ()))
            if writer.docnum >= SEGMENT_DOCS or writer.entries() >= SEGMENT_TOKENS:
                segments.append(writer._finalize_segment())
                writer = None
            pending += 1
            if _progress_counter is not None and pending >= 25:
                with _progress_counter.get_lock():
                    _progress_counter.value += pending
                pending = 0
        if writer is not None:
            segments.append(writer._finalize_segment())
            writer = None
        if _progress_counter is not None and pending:
            with _progress_counter.get_lock():
                _progress_counter.value += pending
        return segments, count, no_text
    except BaseException:
        if writer is not None:
            with contextlib.suppress(Exception):
                writer.cancel()
        raise


def build_index(path: str | os.PathLike, source, total: int, *, procs: int | None = None, words=(),
                progress=None, cache_dir: str | None = None, start_method: str | None = None) -> dict:
    """Build a new index at ``path`` from ``source(share, shares)``, which yields raw documents.

    With ``procs`` > 1 (default: two, or one on a single core) each worker process reads,
    analyses and indexes its share into segments of its own, and the segments are
    committed together without a merge, as Whoosh's own multiprocessing writer does with
    ``multisegment=True``. The workers are forked unless ``start_method`` says otherwise
    (``"spawn"`` from a thread of a server: a fork copies the other threads' locks).
    Returns {"documents": n, "no_text": [...]}.
    """
    import multiprocessing

    from whoosh import index

    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    ix = index.create_in(str(path), _schema())
    procs = max(1, procs if procs is not None else min(2, os.cpu_count() or 1))
    if total < 200:
        procs = 1
    if cache_dir:
        use_jieba_cache(cache_dir)
    add_words(words)
    if procs == 1:
        global _progress_counter
        _progress_counter = None
        results = [_build_share(str(path), source, 0, 1)]
        if progress:
            progress(total, total, "建立检索索引")
    else:
        methods = multiprocessing.get_all_start_methods()
        ctx = multiprocessing.get_context(start_method or ("fork" if "fork" in methods else None))
        counter = ctx.Value("i", 0)
        with ctx.Pool(procs, initializer=_init_worker, initargs=(counter, list(words), cache_dir)) as pool:
            pending = pool.starmap_async(_build_share, [(str(path), source, i, procs) for i in range(procs)])
            while not pending.ready():
                pending.wait(0.25)
                if progress:
                    progress(min(counter.value, total), total, "建立检索索引")
            results = pending.get()
    from .codec import ArrayWriter

    writer = ArrayWriter(ix)  # commits the workers' segments (cf. whoosh.multiproc.MpWriter)
    segments = [segment for found, _, _ in results for segment in found]
    writer._close_segment()
    writer._commit_toc(segments)
    writer._finish()
    return {"documents": sum(n for _, n, _ in results), "no_text": [x for _, _, items in results for x in items]}


def _store_source(home: str, overrides: dict, case_ids: list[int], share: int, shares: int):
    """The raw documents of one share of the cases, read by a worker from the store."""
    from ..core.config import open_workspace
    from ..core.session import Session

    mine = case_ids[share::shares]
    with Session(open_workspace(home, **overrides)) as session:
        for start in range(0, len(mine), 200):
            with session.store.read() as conn:
                docs = _documents(session, conn, mine[start:start + 200])
            for _, doc in docs:
                if doc is not None:
                    yield doc


@dataclass(frozen=True)
class ReindexReport:
    """What a rebuild did."""

    documents: int
    generation: int
    seconds: float
    no_text: tuple[dict, ...] = ()
    path: str = ""

    def to_dict(self) -> dict:
        return {"documents": self.documents, "generation": self.generation, "seconds": round(self.seconds, 2),
                "no_text": list(self.no_text), "path": self.path}


def _pid_alive(pid) -> bool:
    try:
        os.kill(int(pid), 0)
    except (OSError, ValueError, TypeError):
        return False
    return True


_REBUILDING = threading.Lock()  # one rebuild at a time within a process (the state file tells other processes)


def _another_rebuild(pid) -> ArchiveError:
    return ArchiveError(f"另一个重建索引的进程（{pid}）正在运行", field="index", hint="等它完成后再试")


def rebuild(session, *, progress=None) -> ReindexReport:
    """Rebuild the index for an account holding ``index.maintain`` (the system administrator;
    the installation's superuser on the server's shell), recorded in the audit trail.

    What the skins call: ``archive reindex``, the index page's button and ``POST
    /api/v1/reindex`` (both as a background job, see :mod:`archive.background`). The work is
    :func:`reindex`, which the installation's own processes (``archive init``, a restore,
    the indexer meeting a pruned log) call directly.
    """
    from ..core import access, audit

    access.require(session, "index.maintain")
    report = reindex(session, progress=progress)
    audit.record(session, "index.rebuild", "检索索引", documents=report.documents, generation=report.generation,
                 seconds=round(report.seconds, 2))
    return report


def maintenance(session) -> IndexStatus:
    """The index's state for the account that keeps it (``index.maintain``): the index page."""
    from ..core import access

    access.require(session, "index.maintain")
    return status(session)


def reindex(session, *, progress=None, procs: int | None = None) -> ReindexReport:
    """Rebuild the index from the store alone, in a new folder, and swap it in.

    ``progress(done, total, label)`` is called while documents are indexed. The new index
    reflects the change log up to the entry the store had reached when the rebuild began;
    the indexer applies the entries committed during the rebuild after the swap. The
    indexer keeps writing the current index meanwhile: the rebuild writes only its own
    folder, and the swap, like every write of the current index, holds the index's lock.

    Checks no account (the index is a cache of what the store holds): skins call
    :func:`rebuild`. From the main thread the workers are forked; from any other thread
    (a job of the web server) they are spawned, and the session's store, shared with the
    server's requests, is left alone. One rebuild runs at a time; a second one, in this
    process or another, raises ArchiveError.
    """
    if not _REBUILDING.acquire(blocking=False):
        raise _another_rebuild(os.getpid())
    try:
        return _reindex(session, progress=progress, procs=procs)
    finally:
        _REBUILDING.release()


def _reindex(session, *, progress=None, procs: int | None = None) -> ReindexReport:
    from functools import partial

    started = time.monotonic()
    area = _Area(session)
    area.root.mkdir(parents=True, exist_ok=True)
    use_jieba_cache(area.root)
    with area.lock(SWAP_TIMEOUT):
        state = area.read_state() or {}
        if state.get("format") != INDEX_FORMAT:
            state = {"format": INDEX_FORMAT, "current": None, "generation": 0}
        running = state.get("reindexing") or {}
        if running.get("pid") not in (None, os.getpid()) and _pid_alive(running.get("pid")):
            raise _another_rebuild(running["pid"])
        state["reindexing"] = {"pid": os.getpid(), "started": dt.datetime.now().isoformat(timespec="seconds")}
        area.write_state(state)
    build = area.root / f"build-{os.getpid()}-{random.randrange(16 ** 6):06x}"
    try:
        with session.store.read() as conn:
            generation = _store_generation(conn)
            case_ids = list(conn.execute(select(st.cases.c.id).order_by(st.cases.c.id)).scalars())
            words = _domain_words(session, conn)
        forking = threading.current_thread() is threading.main_thread()
        if forking:
            session.store.dispose()  # no pooled SQLite connection crosses into the workers
        source = partial(_store_source, str(session.ws.home), dict(session.ws.overrides), case_ids)
        built = build_index(build, source, len(case_ids), procs=procs, words=words, progress=progress,
                            cache_dir=str(area.root), start_method=None if forking else "spawn")
        name = install_index(session, build, generation=generation, documents=built["documents"],
                             no_text=len(built["no_text"]))
    except BaseException:
        shutil.rmtree(build, ignore_errors=True)
        with contextlib.suppress(Exception), area.lock(10):
            state = area.read_state() or {}
            if (state.get("reindexing") or {}).get("pid") == os.getpid():
                state["reindexing"] = None
                area.write_state(state)
        raise
    return ReindexReport(documents=built["documents"], generation=generation, seconds=time.monotonic() - started,
                         no_text=tuple(built["no_text"]), path=str(area.root / name))


def install_index(session, build: Path, *, generation: int, documents: int, no_text: int = 0) -> str:
    """Swap a freshly built index folder in as the current index; its version name is returned.

    Under the writers' lock the folder is renamed into place and the state file names it,
    with the last change-log entry it reflects (``generation``). The version before stays
    one more round for readers still using it; older ones are removed. (Used by
    :func:`reindex`, :func:`create_empty` and the benchmark.)
    """
    area = _Area(session)
    with area.lock(SWAP_TIMEOUT):
        state = area.read_state() or {}
        previous = state.get("current")
        name = _next_version(area.root, previous)
        os.replace(build, area.root / name)
        area.write_state({
            "format": INDEX_FORMAT, "current": name, "generation": generation,
            "built_at": session.now().isoformat(timespec="seconds"), "documents": documents,
            "no_text": no_text, "reindexing": None,
        })
    _remove_old_versions(area.root, keep={name, previous})
    return name


def _next_version(root: Path, previous: str | None) -> str:
    number = 0
    if previous and previous.startswith("v") and previous[1:].isdigit():
        number = int(previous[1:])
    for child in root.iterdir():
        if child.name.startswith("v") and child.name[1:].isdigit():
            number = max(number, int(child.name[1:]))
    return f"v{number + 1:04d}"


def _remove_old_versions(root: Path, keep: set) -> None:
    # The previous version stays one more round: a search may still be reading it.
    for child in root.iterdir():
        if child.is_dir() and child.name not in keep and child.name.startswith("v") and child.name[1:].isdigit():
            shutil.rmtree(child, ignore_errors=True)


# -- the state of the index -----------------------------------------------------------------

@dataclass(frozen=True)
class IndexStatus:
    """Where the index stands against the store's change log."""

    exists: bool
    documents: int
    generation: int  # the last change-log entry applied
    store_generation: int  # the newest entry of the log
    built_at: str | None
    lag_seconds: float = 0.0  # since the oldest entry not yet applied was committed

    @property
    def fresh(self) -> bool:
        return self.exists and self.generation >= self.store_generation

    @property
    def lag(self) -> dict:
        return {"changes": max(0, self.store_generation - self.generation) if self.exists else None,
                "seconds": round(self.lag_seconds, 1)}

    def to_dict(self) -> dict:
        return {"exists": self.exists, "documents": self.documents, "generation": self.generation,
                "store_generation": self.store_generation, "built_at": self.built_at, "fresh": self.fresh,
                "lag": self.lag}


def status(session) -> IndexStatus:
    """Whether the index exists and how far behind the store's change log it is."""
    from ..core import changelog

    area = _Area(session)
    state = area.read_state()
    current = area.current(state)
    exists = current is not None
    generation = int((state or {}).get("generation") or 0)
    with session.store.read() as conn:
        lag = changelog.lag(conn, generation)
    documents = _doc_count(current) if exists else 0  # the state file's count is the rebuild's
    return IndexStatus(exists=exists, documents=documents, generation=generation,
                       store_generation=lag.head, built_at=(state or {}).get("built_at"),
                       lag_seconds=lag.seconds if exists else 0.0)


def _current(area: _Area) -> tuple[Path, int]:
    """The current index folder and the last change-log entry it reflects; IndexMissingError
    when there is none or it is of an old format."""
    state = area.read_state()
    current = area.current(state)
    if current is None:
        if state and state.get("format") != INDEX_FORMAT:
            raise IndexMissingError("检索索引是旧版本的格式，需要重建", field="index",
                                    hint="运行 archive reindex 重建索引（索引随时可以从数据库重建）")
        raise IndexMissingError("尚未建立检索索引", field="index",
                                hint="运行 archive reindex 建立索引（索引随时可以从数据库重建）")
    return current, int(state.get("generation") or 0)


# -- queries ------------------------------------------------------------------------------

FIELDS = {
    "applicant": "applicant", "申请人": "applicant",
    "title": "title", "题名": "title",
    "item": "item", "事项": "item",
    "unit": "unit", "单位": "unit",
    "class": "class", "分类": "class", "类别": "class",
    "year": "year", "年度": "year",
    "status": "status", "状态": "status",
    "case": "case", "办件编号": "case", "办件": "case",
    "code": "code", "档号": "code",
    "id": "id", "证件号": "id", "证件号码": "id",
    "text": "text", "全文": "text",
}
FIELD_HELP = ("applicant（申请人）、title（题名）、item（事项）、unit（单位）、class（分类）、year（年度）、"
              "status（状态）、case（办件编号）、code（档号）、id（证件号）、text（全文）")
FILED = ("filed", "已归档")
# Double and single quotes alike, ASCII or Chinese, mark a phrase.
_OPEN_QUOTES = {'"': '"”', "“": "”\"", "「": "」", "『": "』", "'": "'’", "‘": "’'"}
_CLOSE_QUOTES = set("”」』’")
_FIELD_NAME = re.compile(r"([A-Za-z_]+|[\u4e00-\u9fff]{1,4})[:：]")
_CODE_LIKE = re.compile(r"[0-9a-z][0-9a-z·\-_./]*")
_OR_WORDS = {"OR", "或", "|"}
_AND_WORDS = {"AND", "且", "&"}
_NOT_WORDS = {"NOT", "非"}


@dataclass(frozen=True)
class Clause:
    """One condition of a query: a word, a phrase or a field value."""

    field: str | None
    value: str
    phrase: bool = False
    negated: bool = False
    prefix: bool = False


@dataclass(frozen=True)
class ParsedQuery:
    """Groups joined by AND; the clauses of a group joined by OR."""

    groups: tuple[tuple[Clause, ...], ...]

    @property
    def clauses(self) -> list[Clause]:
        return [c for group in self.groups for c in group]


def _query_error(message: str) -> InputError:
    return InputError(message, field="query",
                      hint="示例：不动产 登记、\"不予受理决定书\"、applicant:张三、code:Z023-XK*、year:2020-2023")


def parse_query(text: str) -> ParsedQuery:
    """Parse the query syntax: words (AND), "phrases", field:value, OR, NOT/-word, prefix*.

    A malformed query raises InputError naming the problem.
    """
    text = (text or "").strip()
    tokens: list = []
    i, n = 0, len(text)
    pending_not = False
    while i < n:
        if text[i].isspace():
            i += 1
            continue
        start = i
        negated = pending_not
        pending_not = False
        if text[i] == "-" and i + 1 < n and not text[i + 1].isspace():
            negated, i = True, i + 1
        field = None
        match = _FIELD_NAME.match(text, i)
        if match:
            name = match.group(1)
            key = name.lower() if name.isascii() else name
            if key in FIELDS:
                field, i = FIELDS[key], match.end()
            elif name.isascii() and text[match.end() - 1] == ":":
                raise _query_error(f"未知的检索字段“{name}”，可用的字段：{FIELD_HELP}")
        phrase = False
        if i < n and text[i] in _OPEN_QUOTES:
            closers = _OPEN_QUOTES[text[i]]
            end = min((p for p in (text.find(c, i + 1) for c in closers) if p != -1), default=-1)
            if end == -1:
                raise _query_error(f"检索式“{text}”中的引号不成对：从“{text[start:start + 12]}”开始的引号没有结束")
            value, phrase, i = text[i + 1:end], True, end + 1
        else:
            j = i
            while j < n and not text[j].isspace() and text[j] not in _OPEN_QUOTES:
                if text[j] in _CLOSE_QUOTES:
                    raise _query_error(f"检索式“{text}”中的引号不成对：“{text[start:j + 1]}”中有右引号而没有对应的左引号")
                j += 1
            value, i = text[i:j], j
        if field is None and not negated and not phrase:
            if value in _OR_WORDS:
                tokens.append("OR")
                continue
            if value in _AND_WORDS:
                continue
            if value in _NOT_WORDS:
                pending_not = True
                continue
        prefix = not phrase and value.endswith("*")
        value = value.rstrip("*") if prefix else value
        if not value.strip():
            if field:
                raise _query_error(f"字段“{text[start:i].split(':')[0].split('：')[0].lstrip('-')}”后缺少检索词")
            if phrase:
                raise _query_error("引号中没有检索词")
            continue
        tokens.append(Clause(field=field, value=value.strip(), phrase=phrase, negated=negated, prefix=prefix))
    if pending_not:
        raise _query_error("NOT 后缺少检索词")
    groups: list[list[Clause]] = []
    join = False
    for token in tokens:
        if token == "OR":
            if not groups or join:
                raise _query_error("OR 的两边都要有检索词")
            join = True
            continue
        if join:
            if token.negated or groups[-1][-1].negated:
                raise _query_error("排除条件（-词 或 NOT 词）不能与 OR 连用")
            groups[-1].append(token)
            join = False
        else:
            groups.append([token])
    if join:
        raise _query_error("OR 的两边都要有检索词")
    if groups and all(c.negated for g in groups for c in g):
        raise _query_error("检索式不能只有排除条件，请至少给出一个要查找的词")
    return ParsedQuery(groups=tuple(tuple(g) for g in groups))


def _unique(items) -> list:
    out = []
    for item in items:
        if item not in out:
            out.append(item)
    return out


def _needle(value: str) -> list[tuple[int, int, str]]:
    """(offset, kind, text) of each piece of a folded query value, as analyse() places
    them: kind 1 a Chinese run, 2 an ASCII word, 4 any other character; no white space."""
    out, at = [], 0
    for pieces in _PIECE.findall(_bridged(value)):
        kind = 1 if pieces[0] else 2 if pieces[1] else 4
        text = pieces[kind // 2]  # 1 -> 0, 2 -> 1, 4 -> 2
        out.append((at, kind, text))
        at += len(text)
    return out


def _text_plan(fieldname: str, value: str, prefix: bool, whole: bool):
    """How ``value`` is found in a field with positions: (the query its documents must
    match, the position check or ()). The query asks for every token (every pair of a
    Chinese run); the check, for tokens at the right distances: a run of Chinese
    characters as a substring, and with ``whole`` the entire value as written (white
    space aside). (None, ()) when the value has nothing to search for."""
    from whoosh import query as Q

    pieces = _needle(value)
    if not whole:  # one run (a word or an ASCII word); punctuation around it does not count
        pieces = [(0, kind, text) for _, kind, text in pieces if kind != 4][:1]
    if not any(kind != 4 for _, kind, _ in pieces):
        return None, ()
    parts, elements = [], []
    for index, (at, kind, text) in enumerate(pieces):
        last = index == len(pieces) - 1
        if kind == 1 and len(text) > 1:
            grams = _pairs(text)
            parts.extend(Q.Term(fieldname, g) for g in _unique(grams))
            # pairs every two characters and the last one cover the run
            elements += [(at + i, (grams[i],), None) for i in sorted({*range(0, len(grams), 2), len(grams) - 1})]
        elif (kind == 1 and last) or (kind == 2 and prefix and last):
            # a character at the end: any token that starts with it (its pairs, or itself
            # closing a run); followed by something else it closes a run, see below
            parts.append(Q.Prefix(fieldname, text))
            elements.append((at, (), text))
        else:
            parts.append(Q.Term(fieldname, text))
            elements.append((at, (text,), None))
    required = parts[0] if len(parts) == 1 else Q.And(_unique(parts))
    return required, tuple(elements) if len(elements) > 1 else ()


def _code_query(fieldnames, value: str, prefix: bool):
    from whoosh import query as Q

    value = fold(value).strip()
    alternatives = [Q.Term(f, value) for f in fieldnames]
    if prefix or len(value) >= 4:
        alternatives += [Q.Prefix(f, value) for f in fieldnames]
    return alternatives[0] if len(alternatives) == 1 else Q.Or(alternatives)


def _long_words(engine, value: str) -> list[str]:
    """Words of 3+ characters of ``value`` found in the index's vocabulary (forward maximum match)."""
    words = []
    for run in _HAN_RUN.findall(fold(value)):
        k = 0
        while k < len(run) - 2:
            for size in range(min(len(run) - k, 12), 2, -1):
                word = run[k:k + size]
                if engine.frequency("text", word):
                    words.append(word)
                    k += size
                    break
            else:
                k += 1
    return words


def _year_range(value, field_name: str) -> tuple[int, int]:
    text = str(value).strip().replace("—", "-").replace("–", "-").replace("～", "-").replace("~", "-")
    match = re.fullmatch(r"(\d{4})(?:\s*-\s*(\d{4}))?", text)
    if not match:
        raise InputError(f"年度“{value}”无效，应为 2026 或 2020-2023 这样的四位年份", field=field_name)
    low = int(match.group(1))
    high = int(match.group(2) or low)
    if high < low:
        raise InputError(f"年度范围“{value}”的起止颠倒了", field=field_name)
    return low, high


def _status_query(value: str, field_name: str):
    from whoosh import query as Q

    from ..window.cases import STATUSES

    text = value.strip()
    if text.lower() in FILED or text in FILED:
        return Q.Term("kind", "volume")
    for code, label in STATUSES.items():
        if text.lower() == code or text == label:
            return Q.Term("status", code)
    known = "、".join(f"{code}（{label}）" for code, label in STATUSES.items())
    raise InputError(f"状态“{value}”无效，可选：{known}、filed（已归档）", field=field_name)


def _unit_query(session, value: str, field_name: str):
    from whoosh import query as Q

    text = value.strip()
    units = session.ws.units
    codes = [code for code in units if code.lower() == text.lower()]
    if not codes:
        codes = [code for code, unit in units.items()
                 if text and (text == unit.get("name") or text == unit.get("short_name"))]
    if not codes:
        codes = [code for code, unit in units.items() if text and text in unit.get("name", "")]
    if not codes:
        known = "、".join(f"{code}（{unit.get('name', '')}）" for code, unit in units.items()) or "（未配置单位）"
        raise InputError(f"未知的单位“{value}”，可选：{known}", field=field_name)
    return Q.Term("unit", codes[0]) if len(codes) == 1 else Q.Or([Q.Term("unit", c) for c in codes])


def _class_query(value: str):
    from whoosh import query as Q

    code = value.strip().upper().replace(".", "·")
    return Q.Or([Q.Term("classification", code), Q.Prefix("classification", code + "·")])


def _scoring_terms(engine, fieldname: str, value: str, boost: float = 1.0) -> list[tuple[str, str, float]]:
    """The (field, token, boost) whose weights rank the documents matching ``value``: for each
    run of Chinese characters its rarest bigram (every match contains it, and how often says
    how often the run occurs), for each ASCII word the word."""
    out = []
    for match in _RUN.finditer(fold(value)):
        run = match.group()
        if match.group(1):
            if len(run) > 1:
                grams = _unique(_pairs(run))
                out.append((fieldname, min(grams, key=lambda g: engine.frequency(fieldname, g)), boost))
        else:
            out.append((fieldname, run, boost))
    return out


@dataclass
class _Plan:
    """How one clause is evaluated: the documents of ``required`` (every token present)
    that pass the position check of ``elements`` in ``field`` (none: they all match),
    plus those of ``sure``, which match without a check; ``ranking`` ranks them."""

    required: object = None
    ranking: list = field(default_factory=list)
    sure: object = None
    field: str = "text"
    elements: tuple = ()
    upper: object = None  # the mask of required | sure, once computed


def _text_clause(fieldname: str, clause: Clause, message: str) -> _Plan:
    required, elements = _text_plan(fieldname, clause.value, clause.prefix, _exact(clause))
    if required is None:
        raise _query_error(message)
    return _Plan(required=required, field=fieldname, elements=elements)


def _clause_plan(session, clause: Clause, engine) -> _Plan:
    """The plan (see :class:`_Plan`) of one clause."""
    from whoosh import query as Q

    value, field = clause.value, clause.field
    if field in (None, "text"):
        plan = _Plan(field="text")
        plan.required, plan.elements = _text_plan("text", value, clause.prefix, _exact(clause))
        plan.ranking = _scoring_terms(engine, "text", value)
        plan.ranking += [("text", w, 1.5) for w in _long_words(engine, value)]
        plan.ranking += _scoring_terms(engine, "applicant", value, 3.0) + _scoring_terms(engine, "title", value, 2.0)
        sure = []
        pieces = _needle(value)
        if plan.elements and len(pieces) == 1 and pieces[0][1] == 1 and engine.frequency("text", pieces[0][2]):
            sure.append(Q.Term("text", pieces[0][2]))  # a word of the run's own: jieba found it as written
        if field is None and _CODE_LIKE.fullmatch(fold(value)):
            sure.append(_code_query(("case", "archival_code", "ids", "item"), value, clause.prefix))
            plan.ranking += [(f, fold(value).strip(), 5.0) for f in ("case", "archival_code", "ids", "item")]
        if plan.required is None and not sure:
            raise _query_error(f"检索词“{value}”中没有可以检索的文字或数字")
        plan.sure = sure[0] if len(sure) == 1 else Q.Or(sure) if sure else None
        return plan
    if field in ("applicant", "title"):
        plan = _text_clause(field, clause, f"检索词“{value}”中没有可以检索的文字或数字")
        plan.ranking = _scoring_terms(engine, field, value, 3.0)
        return plan
    if field == "item":
        if _CODE_LIKE.fullmatch(fold(value)) and any(ch.isdigit() for ch in value):
            return _Plan(required=_code_query(("item",), value, clause.prefix))
        plan = _text_clause("item_name", clause, f"事项“{value}”中没有可以检索的文字")
        plan.ranking = _scoring_terms(engine, "item_name", value)
        return plan
    if field == "case":
        return _Plan(required=_code_query(("case",), value, clause.prefix))
    if field == "code":
        return _Plan(required=_code_query(("archival_code",), value, clause.prefix))
    if field == "id":
        return _Plan(required=_code_query(("ids",), value, clause.prefix))
    if field == "unit":
        return _Plan(required=_unit_query(session, value, "query"))
    if field == "class":
        return _Plan(required=_class_query(value))
    if field == "year":
        low, high = _year_range(value, "query")
        return _Plan(required=Q.NumericRange("year", low, high))
    if field == "status":
        return _Plan(required=_status_query(value, "query"))
    raise _query_error(f"未知的检索字段“{field}”，可用的字段：{FIELD_HELP}")  # pragma: no cover


def _exact(clause: Clause) -> bool:
    """Whether a clause must occur as written, not only each of its runs: a quoted phrase,
    or a word mixing Chinese and digits or letters (第13贸易 must not find 第12贸易 just
    because 13 occurs elsewhere). A run of Chinese characters always occurs as written."""
    if clause.field not in (None, "text", "applicant", "title", "item"):
        return False
    return clause.phrase or len(list(_RUN.finditer(fold(clause.value)))) >= 2


def _needles(parsed: ParsedQuery) -> list[str]:
    """The folded strings to mark in snippets, longest first."""
    out = []
    for clause in parsed.clauses:
        if clause.negated or clause.field in ("unit", "class", "year", "status"):
            continue
        folded = fold(clause.value)
        if clause.field in ("case", "code", "id") or (clause.field is None and _CODE_LIKE.fullmatch(folded)):
            out.append(folded.strip())
        if _exact(clause):
            out.append("".join(folded.split()))
        out += [m.group() for m in _RUN.finditer(folded)]
    return sorted(_unique(x for x in out if x), key=len, reverse=True)


# -- searching ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Hit:
    """One case or volume found."""

    case: str
    archival_code: str | None
    title: str
    applicant: str
    year: int
    score: float
    snippet: str
    unit: str = ""
    unit_name: str = ""
    item_name: str = ""
    status: str = ""

    def to_dict(self) -> dict:
        return {"case": self.case, "archival_code": self.archival_code, "title": self.title,
                "applicant": self.applicant, "year": self.year, "score": self.score, "snippet": self.snippet}


@dataclass(frozen=True)
class SearchResult:
    """A page of hits, the total and the facet counts of everything found."""

    total: int
    hits: tuple[Hit, ...]
    facets: dict = field(default_factory=dict)
    page: int = 1
    limit: int = 10
    role: str = ""
    lag: dict = field(default_factory=lambda: {"changes": 0, "seconds": 0.0})  # how far the index is behind

    def to_dict(self) -> dict:
        return {"total": self.total, "hits": [h.to_dict() for h in self.hits],
                "facets": {k: dict(v) for k, v in self.facets.items()}, "lag": dict(self.lag)}


# -- searching ------------------------------------------------------------------------------

def _body(stored: dict) -> str:
    return stored.get("body") or ""


def snippet(text: str, needles: list[str], width: int = SNIPPET_CHARS) -> str:
    """The stretch of ``text`` with the most query terms, terms marked 【like this】."""
    text = " ".join(text.split())
    folded = fold(text)
    if len(folded) != len(text):  # a conversion changed lengths: show the folded text
        text = folded
    spans = []
    for needle in needles:
        start = folded.find(needle)
        found = 0
        while start != -1 and found < 50:
            spans.append((start, start + len(needle), needle))
            found += 1
            start = folded.find(needle, start + len(needle))
    if not spans:
        return text[:width] + ("…" if len(text) > width else "")
    spans.sort()
    # Slide a window over the matches: the start that covers the most distinct terms wins.
    best, best_start, right = -1, 0, 0
    inside: dict[str, int] = {}
    for left, (start, _, name) in enumerate(spans):
        if right <= left:  # the window is empty: start it here
            right, inside = left, {}
        while right < len(spans) and spans[right][1] <= start + width:
            inside[spans[right][2]] = inside.get(spans[right][2], 0) + 1
            right += 1
        if len(inside) > best:
            best, best_start = len(inside), start
        if right > left:
            inside[name] -= 1
            if not inside[name]:
                del inside[name]
    lo = max(0, best_start - width // 5)
    hi = min(len(text), lo + width)
    lo = max(0, min(lo, hi - width))
    marks = []
    for s, e, _ in spans:
        s, e = max(s, lo), min(e, hi)
        if s >= e:
            continue
        if marks and s <= marks[-1][1]:
            marks[-1] = (marks[-1][0], max(marks[-1][1], e))
        else:
            marks.append((s, e))
    out, pos = [], lo
    for s, e in marks:
        out.append(text[pos:s])
        out.append(MARK_OPEN + text[s:e] + MARK_CLOSE)
        pos = e
    out.append(text[pos:hi])
    return ("…" if lo > 0 else "") + "".join(out) + ("…" if hi < len(text) else "")


def _filters(session, *, year=None, unit=None, item=None, classification=None, status=None) -> list:
    from whoosh import query as Q

    filters = []
    if year is not None and str(year).strip():
        filters.append(Q.NumericRange("year", *_year_range(year, "year")))
    if unit:
        filters.append(_unit_query(session, unit, "unit"))
    if item:
        filters.append(Q.Term("item", fold(item).strip()))
    if classification:
        filters.append(_class_query(classification))
    if status:
        filters.append(_status_query(status, "status"))
    return filters


def _matches(session, engine, parsed: ParsedQuery, filters: list, role):
    """(the matching documents a role may see, as a mask over the index; the ranking terms).

    Every clause is first taken as the documents with all its tokens (an upper bound);
    the clauses that need it are then checked by position, only among the documents the
    whole query can still match."""
    import numpy as np

    plans = [[(_clause_plan(session, c, engine), c) for c in group] for group in parsed.groups]
    found = ~engine.deleted & ~engine.mask(role)
    unfiled = _unfiled_hidden(session, role)
    if unfiled is not None:
        found &= ~engine.docs(unfiled)
    for query in filters:
        found &= engine.docs(query)
    positive = [group for group in plans if not group[0][1].negated]
    negative = [group[0][0] for group in plans if group[0][1].negated]
    ranking = [t for group in positive for plan, _ in group for t in plan.ranking]
    for group in positive:
        if not found.any():
            break
        mask = np.zeros_like(found)
        for plan, _ in group:
            mask |= _upper(engine, plan)
        found &= mask
    for group in positive:
        if found.any() and any(plan.elements for plan, _ in group):
            mask = np.zeros_like(found)
            for plan, _ in group:
                mask |= _exact_docs(engine, plan, found)
            found &= mask
    for plan in negative:
        if found.any():
            found &= ~_exact_docs(engine, plan, found)
    return found, ranking


def _unfiled_hidden(session, role):
    """The unfiled cases the searcher may not see: all without ``case.read``, else those of
    units the account does not work for (a filed volume's visibility is its clearance)."""
    from whoosh import query as Q

    if not role.may("case.read"):
        return Q.Term("kind", "case")
    user = None if session.superuser else session.user
    if user is None or not user.units:
        return None
    return Q.And([Q.Term("kind", "case"), Q.Not(Q.Or([Q.Term("unit", u) for u in user.units]))])


def _unit_scope(session):
    """The units whose unfiled cases the searcher sees apart from the role (see _unfiled_hidden):
    None for all of them."""
    user = None if session.superuser else session.user
    if user is None or not user.units:
        return None
    return tuple(sorted(user.units))


def _upper(engine, plan: _Plan):
    """The documents that may match a clause: all its tokens, or its sure part."""
    import numpy as np

    if plan.upper is None:
        mask = engine.docs(plan.required) if plan.required is not None else np.zeros(engine.count_all, dtype=bool)
        if plan.sure is not None:
            mask = mask | engine.docs(plan.sure)
        plan.upper = mask
    return plan.upper


def _exact_docs(engine, plan: _Plan, within):
    """The documents of ``within`` that match a clause."""
    upper = _upper(engine, plan) & within
    if not plan.elements or not upper.any():
        return upper
    sure = engine.docs(plan.sure) & upper if plan.sure is not None else upper & False
    return sure | engine.phrase(plan.field, plan.elements, upper & ~sure)


def _role(session, role):
    if role is None:
        from ..core.access import role_of

        role = role_of(session)
    return role


def search(session, query: str = "", *, year=None, unit: str | None = None, item: str | None = None,
           classification: str | None = None, status: str | None = None, limit: int = 10, page: int = 1,
           sort: str = "relevance", role=None, highlight: bool = True, facets: bool = True) -> SearchResult:
    """Search the index: query syntax of :func:`parse_query`, filters, a page of hits and facets.

    ``role`` (an :class:`archive.core.access.Role`) decides which restricted volumes may appear;
    by default the operator's. The result says how far the index is behind the store
    (``lag``: change-log entries not yet applied, and the seconds since the oldest of them).
    Raises InputError (exit 2) for a malformed query or filter, IndexMissingError (exit 1)
    when there is no index or it must be rebuilt first.
    """
    from ..core.access import require

    require(session, "search")
    parsed = parse_query(query)
    if sort not in ("relevance", "date"):
        raise InputError(f"排序方式“{sort}”无效，可选：relevance（相关度）、date（日期）", field="sort")
    if not isinstance(limit, int) or not 1 <= limit <= 1000:
        raise InputError("每页条数应为 1 到 1000 之间的整数", field="limit")
    if not isinstance(page, int) or page < 1:
        raise InputError("页码应为从 1 开始的整数", field="page")
    filters = _filters(session, year=year, unit=unit, item=item, classification=classification, status=status)
    role = _role(session, role)
    engine, applied_upto = _open_engine(session, start=False)
    wanted = page * limit
    # What a query finds, its facets and its best hits are the same for every searcher who
    # may see the same (role, and the units whose unfiled cases they see) until the index
    # changes: remembered by the engine of this state of the index (Engine.remember).
    key = ("search", query, str(year or ""), unit or "", item or "", classification or "", status or "", sort,
           role, _unit_scope(session))

    def ranked(count: int):
        found, ranking = _matches(session, engine, parsed, filters, role)
        if sort == "relevance" and ranking:
            top = engine.best(found, ranking, count)
        else:
            top = [(docnum, 0.0) for docnum in engine.newest(found, count)]
        facet_counts = {}
        for name, fieldname in (("year", "year_key"), ("unit", "unit"), ("class", "classification")):
            counts = engine.facet(fieldname, found)
            facet_counts[name] = dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))
        return int(found.sum()), tuple(top), facet_counts, count

    with engine.lock:  # one search at a time per engine (see Engine.lock)
        engine.start()
        total, top, facet_counts, ranked_upto = engine.remember(key, lambda: ranked(max(wanted, REMEMBERED_HITS)))
        if wanted > ranked_upto and len(top) >= ranked_upto:  # a page beyond those remembered
            total, top, facet_counts, _ = ranked(wanted)
        shown = top[(page - 1) * limit:wanted]
        hits = engine.recall(key + (page, limit, highlight))  # the page itself, once made
        stored = None if hits is not None else [engine.searcher.stored_fields(docnum) for docnum, _ in shown]
    if hits is None:
        # snippets are made from this request's copies of the stored fields: outside the lock
        needles = _needles(parsed) if highlight else []
        hits = tuple(_hit(fields, score, needles, highlight) for (_, score), fields in zip(shown, stored))
        with engine.lock:
            engine.keep(key + (page, limit, highlight), hits)
    return SearchResult(total=total, hits=hits, facets={k: dict(v) for k, v in facet_counts.items()} if facets else {},
                        page=page, limit=limit, role=role.name, lag=_lag(session, applied_upto))


def _hit(stored: dict, score: float, needles: list[str], highlight: bool) -> Hit:
    info = stored.get("info") or {}
    return Hit(case=info.get("case", stored.get("key", "")), archival_code=info.get("archival_code"),
               title=info.get("title", ""), applicant=info.get("applicant", ""), year=int(info.get("year") or 0),
               score=round(score, 3), snippet=snippet(_body(stored), needles) if highlight else "",
               unit=info.get("unit", ""), unit_name=info.get("unit_name", ""), item_name=info.get("item_name", ""),
               status=info.get("status", ""))


def find_all(session, query: str = "", *, role=None, **filters) -> list[str]:
    """The case numbers of every match, unranked and sorted (for exports and recall checks)."""
    parsed = parse_query(query)
    filter_queries = _filters(session, **filters)
    role = _role(session, role)
    engine, _ = _open_engine(session, start=False)
    with engine.lock:
        engine.start()
        found, _ = _matches(session, engine, parsed, filter_queries, role)
        docs = found.nonzero()[0].tolist()
        if len(docs) < 200:
            return sorted(engine.searcher.stored_fields(d)["key"] for d in docs)
        keys = engine.keys()
        return sorted(keys[d] for d in docs)


def _open_engine(session, *, start: bool = True):
    """The query engine over the current index, and the last change-log entry it reflects
    (begun for a query unless ``start`` is false: the caller starts it holding ``engine.lock``)."""
    from .engine import engine

    current, generation = _current(_Area(session))
    found = engine(current)
    return (found.start() if start else found), generation


def _lag(session, applied_upto: int) -> dict:
    from ..core import changelog

    with session.store.read() as conn:
        lag = changelog.lag(conn, applied_upto)
    return {"changes": lag.changes, "seconds": round(lag.seconds, 1)}

