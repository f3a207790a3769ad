"""Benchmark: what the indexer spends on each case it applies, and on a merge.

    python bench/indexer.py [--cases 800] [--repeat 3]

Builds a sample workspace (SQLite) in which one clerk receives ``--cases`` cases (a receipt
notice .docx each, no PDF) without following the change log, keeps a copy of its index
(empty of them), then ``--repeat`` times, from that copy:

* applies the change log in batches of 20 and of 80 entries (``Indexer.step``, one index
  commit a batch, as ``archive indexer`` does), printing the CPU a case — from the two batch
  sizes, the CPU of one commit whatever it holds and of one case besides (a busy indexer
  gathers a second's entries into a batch, ``indexer.GATHER_SECONDS``);
* splits a case's CPU into its parts (reading the notices' text, building the index
  document, analysing and adding it, committing), from the batches of 80;
* times one idle merge of the small segments the batches of 80 left
  (``index.merge_segments``, ``index.MERGE_AT_MOST`` of them): no entry is applied
  while it runs, so it is what the index's lag can grow by.

The floor beside each figure is the clerk's own CPU per received case, measured in the
same run: the indexer's CPU a case as a share of it is what a 2-core machine whose clerks
keep both cores busy loses to the indexer (the target of issue 13 is at most 20%, see
``bench/concurrency.py`` for the measured share).
"""

from __future__ import annotations

import argparse
import functools
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))


def _workspace(home: Path, cases: int) -> float:
    """A sample workspace with ``cases`` received cases; the clerk's CPU a case (ms)."""
    from concurrency import DAY, PASSWORD, PEOPLE, _items

    from archive import centre
    from archive.centre import open_session
    from archive.core import accounts
    from archive.core.config import open_workspace
    from archive.core.session import Session
    from archive.window.cases import Applicant, receive

    centre.init(home, sample=True).close()
    with Session(open_workspace(home), superuser=True) as admin:
        accounts.add(admin, "窗口0", role="clerk", password=PASSWORD, must_change=False)
    with Session(open_workspace(home), operator="窗口0") as session:
        items = _items(session)
    with open_session(home, operator="窗口0", follow=False, pdf="never") as session:
        session.today = DAY
        cpu = time.process_time()
        for i in range(cases):
            code, materials = items[i % len(items)]
            receive(session, item_code=code, applicant=Applicant.person(f"客户{i}", PEOPLE[i % 4], "13800138000"),
                    materials=materials, received_on=DAY)
        return (time.process_time() - cpu) / cases * 1000


def _apply(home: Path, kept: Path, batch: int, parts: dict | None = None, totals: dict | None = None
           ) -> tuple[float, int]:
    """Apply the whole log from the kept index in batches; (CPU ms a case, entries). With
    ``parts``: then merge, and keep there the split of ``totals`` before it and the merge's CPU."""
    from archive.core.config import open_workspace
    from archive.core.session import Session
    from archive.search import index
    from archive.search.indexer import Indexer

    shutil.rmtree(home / "index")
    shutil.copytree(kept, home / "index")
    with Session(open_workspace(home), superuser=True) as own:
        indexer = Indexer(own, batch=batch, gather=0, merge_at=10_000)  # no merge while applying
        index.add_words(["预热"])  # jieba's dictionary, loaded once per process
        total, cpu = 0, time.process_time()
        while applied := indexer.step():
            total += applied
        cpu = time.process_time() - cpu
        if parts is not None:
            parts["split"] = dict(totals or {})
            parts["merge"] = _merge(own)
    return cpu / total * 1000, total


def _merge(session) -> float:
    from archive.search import index

    cpu = time.process_time()
    index.merge_segments(session, at_least=2)
    return time.process_time() - cpu


def _timed(module, name: str, totals: dict, label: str) -> None:
    original = getattr(module, name)

    @functools.wraps(original)
    def timed(*args, **kwargs):
        cpu = time.process_time()
        try:
            return original(*args, **kwargs)
        finally:
            totals[label] = totals.get(label, 0.0) + time.process_time() - cpu

    setattr(module, name, timed)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", type=int, default=800)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    os.environ["ARCHIVE_PDF"] = "never"

    tmp = Path(tempfile.mkdtemp(prefix="bench-indexer-"))
    try:
        home = tmp / "home"
        print(f"索引进程基准：{args.cases} 件受理（每件一份受理通知书 .docx），SQLite，{args.repeat} 轮", flush=True)
        clerk = _workspace(home, args.cases)
        kept = tmp / "index.kept"
        shutil.copytree(home / "index", kept)
        print(f"受理（对照）：每件 {clerk:.2f} ms CPU", flush=True)

        from archive.documents import extract
        from archive.search import index

        per20, per80, merges = [], [], []
        totals: dict = {}
        for label, module, name in (("读取文书文字", extract, "docx_text"), ("组成索引文档", index, "_prepare"),
                                    ("分析与加入", index, "_fields"), ("写入索引", index, "_write_documents")):
            _timed(module, name, totals, label)
        for run in range(args.repeat):
            cost20, _ = _apply(home, kept, 20)
            totals.clear()
            parts: dict = {}
            cost80, entries = _apply(home, kept, 80, parts, totals)
            per20.append(cost20)
            per80.append(cost80)
            merges.append(parts["merge"])
            split = "，".join(f"{k} {v / entries * 1000:.2f}" for k, v in parts["split"].items())
            print(f"第 {run + 1} 轮：每批 20 项 {cost20:.2f} ms/件，每批 80 项 {cost80:.2f} ms/件（{split}；"
                  f"“组成索引文档”含“读取文书文字”，“写入索引”含“分析与加入”）；合并 {index.MERGE_AT_MOST} 个小段 "
                  f"{parts['merge']:.2f} s CPU", flush=True)
        c20, c80 = statistics.median(per20), statistics.median(per80)
        commit = (c20 - c80) / (1 / 20 - 1 / 80)  # ms a commit, from cost = case + commit / batch
        case = c80 - commit / 80
        print(f"中位数：每批 20 项 {c20:.2f} ms/件，每批 80 项 {c80:.2f} ms/件 → 每次提交约 {commit:.0f} ms，"
              f"另每件约 {case:.2f} ms；合并 {statistics.median(merges):.2f} s", flush=True)
        print(f"每批 80 项时索引 CPU 为受理 CPU 的 {c80 / clerk:.0%}（2 核占满时，目标有索引吞吐 ≥ 80% 要求索引的"
              f"总代价 ≤ 受理与数据库服务器 CPU 之和的 25%）", flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
