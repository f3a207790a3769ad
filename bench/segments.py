"""Benchmark: the segments a busy indexer's updates leave, and what they cost a search.

    python bench/segments.py [--batches 160] [--batch 250] [--busy 24] [--queries 60]

Writes ``--batches`` updates of ``--batch`` new cases each (``bench/search.py``'s synthetic
corpus; a busy indexer gathers a second's entries into one commit, 150–290 of them on a
2-core machine running four clerks, ``bench/concurrency.py``) into a fresh index through
``archive.search.index._write_documents``, as the indexer's commits do: each commit merges
as a busy indexer's does (``indexer.BUSY_MERGE_AT``, ``index.MERGE_DOCS``), and after every
``--busy`` commits the indexer is idle for a moment and merges until nothing is left to
merge (``indexer.IDLE_MERGE_AT``, ``index.IDLE_MERGE_DOCS``). Three times, on the same documents:

* **分层合并** (tiers, this version): segments merged with others of their size;
* **分层合并后再经一夜安静时合并** (tiers, then a night): the same, then the merges of a
  quiet time (``indexer.QUIET_SECONDS`` with no entry: segments of every tier below
  ``index.LARGE_MERGE_DOCS``, up to that many documents a merge), until none is left;
* **只合并小段** (small ones only, the version before tiers): segments of ``SMALL_SEGMENT``
  documents or more never merged again (a busy indexer's batches are that large already).

Printed per policy: the segments left and the largest; the CPU of the commits (merges inside
them included) and of the idle merges, and the longest single merge (no entry is applied
while it runs: it is what the index's lag can grow by); then what a searcher pays per
segment: opening the index (every server worker does after each commit; median of 5; and the
files it keeps open, against the process's limit, often 1,024) and a
query of 1–3 words (their postings over every segment, ANDed; median over ``--queries``,
each with the decoded postings forgotten).
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))


def _queries(docs: list[dict], count: int, analyzer, rng) -> list[list[str]]:
    """1–3 tokens a query, from a stretch of a document's text, as a searcher would type it."""
    queries = []
    while len(queries) < count:
        text = rng.choice(docs)["text"]
        start = rng.randrange(max(1, len(text) - 8))
        tokens = list(dict.fromkeys(t.text for t in analyzer(text[start:start + rng.randint(4, 8)])))
        if tokens:
            queries.append(tokens[:3])
    return queries


def run(policy: str, folder: Path, docs: list[dict], batch: int, busy: int, queries: list[list[str]]) -> dict:
    from whoosh import index as whoosh_index
    from whoosh import query as Q

    from archive.search import index
    from archive.search.engine import Engine
    from archive.search.indexer import BUSY_MERGE_AT, IDLE_MERGE_AT

    saved = index.MERGED_SEGMENT
    if policy == "small":
        index.MERGED_SEGMENT = index.SMALL_SEGMENT  # only tier 0 is ever merged: the version before
    try:
        ix = whoosh_index.create_in(str(folder), index._schema())
        commits = idle = longest = 0.0
        for number, start in enumerate(range(0, len(docs), batch), 1):
            chunk = [(doc["key"], doc) for doc in docs[start:start + batch]]
            cpu = time.process_time()
            index._write_documents(ix, chunk, merge_at=BUSY_MERGE_AT, absent={key for key, _ in chunk})
            commits += time.process_time() - cpu
            if number % busy == 0 or start + batch >= len(docs):
                while True:  # the idle indexer's merges (index.merge_segments, without a workspace)
                    cpu = time.process_time()
                    if not index._merge_once(ix, at_least=IDLE_MERGE_AT, most_docs=index.IDLE_MERGE_DOCS):
                        break
                    spent = time.process_time() - cpu
                    idle += spent
                    longest = max(longest, spent)
        quiet = quiet_longest = 0.0
        while policy == "quiet":  # then a night: the quiet time's merges (indexer.QUIET_SECONDS)
            cpu = time.process_time()
            if not index._merge_once(ix, at_least=2, most_docs=index.LARGE_MERGE_DOCS, quiet=True):
                break
            spent = time.process_time() - cpu
            quiet += spent
            quiet_longest = max(quiet_longest, spent)
        sizes = [segment.doc_count_all() for segment in whoosh_index.open_dir(str(folder))._segments()]
    finally:
        index.MERGED_SEGMENT = saved
    opens = []
    for _ in range(5):
        files = len(os.listdir("/proc/self/fd"))
        cpu = time.process_time()
        engine = Engine(folder)
        engine.keys()  # the key column of every segment, as a search's hits need
        opens.append(time.process_time() - cpu)
        files = len(os.listdir("/proc/self/fd")) - files
        engine.close()
    engine = Engine(folder)
    spent, found = [], 0
    for tokens in queries:
        engine._forget()
        cpu = time.process_time()
        found += int(engine.docs(Q.And([Q.Term("text", token) for token in tokens])).sum())
        spent.append(time.process_time() - cpu)
    engine.close()
    return {"segments": len(sizes), "largest": max(sizes), "documents": sum(sizes), "commits": commits,
            "idle": idle, "longest": longest, "quiet": quiet, "quiet_longest": quiet_longest, "open_ms": statistics.median(opens) * 1000,
            "query_ms": statistics.median(spent) * 1000, "found": found, "files": files}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=160)
    parser.add_argument("--batch", type=int, default=250)
    parser.add_argument("--busy", type=int, default=24, help="commits between two idle moments")
    parser.add_argument("--queries", type=int, default=60)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)

    from search import domain_words, make_doc

    from archive.search import index

    index.add_words(domain_words())
    total = args.batches * args.batch
    print(f"索引分段基准：{args.batches} 次提交，每次 {args.batch} 件新办件（共 {total} 件），"
          f"每 {args.busy} 次提交后空闲合并一次", flush=True)
    docs = [make_doc(i, args.seed) for i in range(total)]
    queries = _queries(docs, args.queries, index._schema()["text"].analyzer, random.Random(args.seed))
    results = {}
    tmp = Path(tempfile.mkdtemp(prefix="bench-segments-"))
    try:
        for policy, label in (("tiers", "分层合并"), ("quiet", "分层合并后再经一夜安静时合并"),
                              ("small", "只合并小段（早先）")):
            started = time.perf_counter()
            (tmp / policy).mkdir()
            result = results[policy] = run(policy, tmp / policy, docs, args.batch, args.busy, queries)
            print(f"{label}：{result['segments']} 段（最大 {result['largest']} 件，共 {result['documents']} 件）；"
                  f"提交 CPU {result['commits']:.1f} s，空闲合并 {result['idle']:.1f} s，最长一次合并 "
                  f"{result['longest']:.2f} s"
                  + (f"，安静时合并 {result['quiet']:.1f} s（最长一次 {result['quiet_longest']:.2f} s）"
                     if policy == "quiet" else "")
                  + f"；打开索引 {result['open_ms']:.1f} ms、{result['files']} 个文件，一次查询 {result['query_ms']:.2f} ms"
                  f"（{time.perf_counter() - started:.0f} s）", flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    tiers, quiet, small = results["tiers"], results["quiet"], results["small"]
    assert tiers["found"] == small["found"] == quiet["found"], "the indexes answered differently"
    print(f"安静时合并后对分层合并：段数 {quiet['segments']} 对 {tiers['segments']}，打开索引 "
          f"{quiet['open_ms'] / tiers['open_ms']:.0%}，查询 {quiet['query_ms'] / tiers['query_ms']:.0%}")
    print(f"分层合并对早先：段数 {tiers['segments']} 对 {small['segments']}，打开索引 "
          f"{tiers['open_ms'] / small['open_ms']:.0%}，查询 {tiers['query_ms'] / small['query_ms']:.0%}，"
          f"写入与合并 CPU {(tiers['commits'] + tiers['idle']) / (small['commits'] + small['idle']):.0%}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
