"""Benchmark: several clerks receiving cases at once, on SQLite and on PostgreSQL, with the indexer.

    python bench/concurrency.py [--seconds 15] [--procs 1,2,4,8] [--stores sqlite,postgresql] [--repeat 3]

For each number of clerk processes (spread over the sample centre's four units, one service
item each) and each store, one series on a fresh sample workspace: the clerk processes and
an ``archive indexer`` process are started once, then ``2 × --repeat`` slices of
``--seconds`` each follow one another, in turn

* **无索引** (no index): the indexer is stopped (SIGSTOP) and nothing follows the change log;
* **有索引进程** (indexer): the indexer runs and applies the change log while the clerks write;

in the order without, with; with, without; … Before each slice the indexer has applied
every pending entry (that wait counts in neither), so a slice with the indexer pays for the
indexing of its own cases and nothing else's, and a slice without it pays for none. Each
repetition's two slices are side by side in time, on the same workspace, processes and
database: on this kind of shared 2-core machine the same code runs from 59 to 123 cases/s
from one minute to the next (a fixed pure-Python loop alone takes 0.24–0.36 s from one second
to the next), and runs on separate workspaces minutes apart compared the minutes more
than the indexer. The cases whose entries are still pending when a slice with the indexer
ends (about its lag's worth, ≈ 1 s of 15) are indexed in the wait after it: that part of
the indexer's work, about 6% of it, falls in neither kind.

Each clerk process calls ``archive.window.cases.receive`` in a loop (a receipt notice
rendered as .docx per case, no PDF). Printed per slice: cases/s, p50/p95 latency of one
receive, errors, and with the indexer the index lag p50/p95 (from an entry's commit until
the index's state says it is applied; sampled every 20 ms); per series, whether case and
notice numbers are unique and gap-free. PostgreSQL is a throwaway server started here
(initdb + pg_ctl, ``tools/pgserver.py``) with its default durability (fsync on,
``synchronous_commit`` as ``--pg-synchronous-commit`` says); SQLite runs with the
project's default ``synchronous=NORMAL``.

CPU per case is printed too (the clerks' own, the PostgreSQL server's and the indexer's per
case), and under a slice with the indexer its batches (one index commit each, from its
``--verbose`` lines) and their sizes. The indexer runs in a session of its own (as its own
systemd service would), so that the kernel's autogroup scheduling shares the cores between
it and the clerks as it would between two services.

Targets (issue 13): zero errors everywhere; numbers unique and gap-free; with the indexer
running, throughput ≥ 80% of the same run with no index (the median over the repetitions
of with ÷ without, each repetition's two slices); index lag p95 ≤ 2 s (in every slice);
PostgreSQL with 8 processes over 4 units ≥ the SQLite figure (median against median). The
last line, ``targets:``, says which are met. The whole run (4 process counts × 2 stores,
each a series of 6 slices of 15 s) takes about 18 minutes (the waits for the indexer included); ``--repeat 1`` gives the quick
look.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import multiprocessing
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools"))

DAY = dt.date(2026, 9, 28)
PASSWORD = "Bing-fa-ce-shi-2026!"  # the clerks' accounts (a password that meets the rules)
PEOPLE = ["11010519491231002X", "110101199003071233", "330106198507150013", "440305199212120022"]


def _items(session) -> list[tuple[str, list[str]]]:
    """One service item per unit (the first one whose materials make a complete case)."""
    from archive.window import catalog

    chosen: dict[str, tuple[str, list[str]]] = {}
    for item in catalog.list_items(session):
        if item.unit not in chosen and item.case_type in ("promised", "on_the_spot"):
            chosen[item.unit] = (item.code, [m.code for m in item.materials if m.required])
    return [chosen[unit] for unit in sorted(chosen)]


def _clerk(home: str, url: str | None, n: int, item: tuple[str, list[str]], ready, orders):
    """One clerk process: receives cases for as many seconds as each order says, until told to stop (None)."""
    from archive.centre import open_session
    from archive.window.cases import Applicant, receive

    overrides = {"database_url": url} if url else {}
    count = 0
    with open_session(home, operator=f"窗口{n}", follow=False, pdf="never", **overrides) as session:
        session.today = DAY
        code, materials = item

        def one(i):
            who = Applicant.person(f"客户{n}-{i}", PEOPLE[i % len(PEOPLE)], "13800138000")
            receive(session, item_code=code, applicant=who, materials=materials, received_on=DAY)

        one(-1)  # warm caches (templates, jieba-free), not timed
        ready.release()
        while (seconds := orders.recv()) is not None:
            latencies, errors, done = [], [], 0
            cpu, times = time.process_time(), os.times()
            deadline = time.monotonic() + seconds
            while time.monotonic() < deadline:
                began = time.perf_counter()
                try:
                    one(count)
                except Exception as exc:  # noqa: BLE001 - counted and reported
                    errors.append(f"{type(exc).__name__}: {exc}")
                latencies.append(time.perf_counter() - began)
                count += 1
                done += 1
            cpu, times = time.process_time() - cpu, [b - a for a, b in zip(times, os.times())]
            orders.send({"n": n, "count": done, "latencies": latencies, "errors": errors, "cpu": cpu, "sys": times[1]})


def _state_generation(home: Path) -> int:
    try:
        return int(json.loads((home / "index" / "state.json").read_text(encoding="utf-8")).get("generation") or 0)
    except (OSError, ValueError):
        return -1


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a running process has used so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _server_cpu_seconds(server) -> float:
    """CPU seconds the PostgreSQL server has used so far: the postmaster with the backends it
    reaped (cutime/cstime) plus those still running (Linux /proc)."""
    if server is None:
        return 0.0
    try:
        postmaster = int((server.data / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return float("nan")
    total = 0.0
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            fields = Path(f"/proc/{entry.name}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # gone meanwhile
        pid, ppid = int(entry.name), int(fields[1])
        if pid == postmaster:
            total += sum(int(f) for f in fields[11:15])
        elif ppid == postmaster:
            total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def _monitor(home: Path, samples: list, stop: threading.Event) -> None:
    while not stop.is_set():
        samples.append((dt.datetime.now(), _state_generation(home)))
        time.sleep(0.02)


def _check_numbers(session) -> tuple[bool, str]:
    """Case numbers per unit and day, receipt numbers per unit: each 1..n exactly once."""
    from sqlalchemy import select

    from archive.core import store as st

    problems = []
    with session.store.read() as conn:
        cases = conn.execute(select(st.cases.c.unit, st.cases.c.case_no)).all()
        notices = conn.execute(select(st.notices.c.unit, st.notices.c.kind, st.notices.c.seq)
                               .where(st.notices.c.reprint_no == 0)).all()
    by_unit: dict[str, list[int]] = {}
    for unit, case_no in cases:  # the project's format: unit, yyyymmdd, the number (4 digits or more)
        by_unit.setdefault(unit, []).append(int(re.fullmatch(rf"{re.escape(unit)}\d{{8}}(\d+)", case_no).group(1)))
    for unit, seqs in by_unit.items():
        if sorted(seqs) != list(range(1, len(seqs) + 1)):
            problems.append(f"办件编号 {unit}")
    by_kind: dict[tuple, list[int]] = {}
    for unit, kind, seq in notices:
        by_kind.setdefault((unit, kind), []).append(seq)
    for key, seqs in by_kind.items():
        if sorted(seqs) != list(range(1, len(seqs) + 1)):
            problems.append(f"文书编号 {key}")
    return not problems, "；".join(problems)


def _lags(session, samples, started_at: dt.datetime, ended_at: dt.datetime) -> list[float]:
    """Seconds from each entry's commit within [started_at, ended_at] until the index's state
    first said it was applied (samples: (time, generation) every 20 ms)."""
    from archive.core import changelog

    with session.store.read() as conn:
        entries = changelog.entries(conn, 0, 10 ** 7)
    lags, i = [], 0
    for entry in entries:
        if entry.committed_at < started_at or entry.committed_at > ended_at:
            continue
        while i < len(samples) and samples[i][1] < entry.seq:
            i += 1
        if i == len(samples):
            break
        lags.append(max(0.0, (samples[i][0] - entry.committed_at).total_seconds()))
    return lags


def _pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def _order(repeat: int) -> list[bool]:
    """The kinds of slice in turn (True: the indexer runs): without, with; with, without; ... so
    that a slow stretch of the machine falls on both sides of every comparison."""
    return [kind for repetition in range(repeat) for kind in ((False, True) if repetition % 2 == 0 else (True, False))]


def run_series(store: str, server, procs: int, repeat: int, seconds: float, run_no: int) -> list[dict]:
    """One workspace, ``procs`` clerk processes and an indexer process; ``2 × repeat`` slices of
    ``seconds`` each, the indexer running in half of them and stopped (SIGSTOP) in the other
    half. Before each slice the indexer has applied everything (the wait is in neither), so a
    slice with it does the indexing of its own cases and nothing else's. One row a slice."""
    from archive import centre
    from archive.core import accounts, changelog
    from archive.core.config import open_workspace
    from archive.core.session import Session

    tmp = Path(tempfile.mkdtemp(prefix="bench-concurrency-"))
    home = tmp / "home"
    url = server.url(f"bench{run_no}") if server else None
    env = dict(os.environ, ARCHIVE_PDF="never", PYTHONPATH=str(ROOT))
    env.pop("ARCHIVE_DB_URL", None)
    indexer = indexer_log = None
    workers, orders = [], []
    samples: list = []
    stop = threading.Event()
    monitor = threading.Thread(target=_monitor, args=(home, samples, stop))
    rows = []
    try:
        centre.init(home, sample=True, database_url=url).close()
        with Session(open_workspace(home), superuser=True) as admin:  # one clerk's account per process
            for n in range(procs):
                accounts.add(admin, f"窗口{n}", role="clerk", password=PASSWORD, must_change=False)
        with Session(open_workspace(home), operator="窗口0") as session:
            items = _items(session)
        # A session of its own, as a service of its own under systemd (docs/deploy.md): with
        # the kernel's autogroup scheduling the clerks and the indexer then share the cores as
        # the web server's and the indexer's services would, instead of the indexer taking its
        # CPU out of the clerks' share.
        indexer_log = open(tmp / "indexer.log", "w+b")  # its --verbose lines: one a batch applied
        indexer = subprocess.Popen([sys.executable, str(ROOT / "cli.py"), "indexer", "--home", str(home),
                                    "--poll", "0.05", "--verbose"], cwd=ROOT, env=env, stderr=indexer_log,
                                   start_new_session=True)
        ctx = multiprocessing.get_context("fork")
        ready = ctx.Semaphore(0)
        for n in range(procs):
            mine, theirs = ctx.Pipe()
            orders.append(mine)
            workers.append(ctx.Process(target=_clerk, args=(str(home), url, n, items[n % len(items)], ready, theirs)))
        for worker in workers:
            worker.start()
        for _ in workers:
            ready.acquire()
        monitor.start()
        with Session(open_workspace(home)) as session:
            def caught_up(limit: float = 300) -> bool:
                with session.store.read() as conn:
                    head = changelog.head(conn)
                deadline = time.monotonic() + limit
                while _state_generation(home) < head:
                    if time.monotonic() > deadline:
                        return False
                    time.sleep(0.02)
                return True

            for number, with_indexer in enumerate(_order(repeat)):
                indexer.send_signal(signal.SIGCONT)  # (stopped if the slice before was without it)
                caught = caught_up()  # what the slice before left
                if not with_indexer:
                    indexer.send_signal(signal.SIGSTOP)
                indexer_cpu = _cpu_seconds(indexer.pid)
                log_from = indexer_log.seek(0, os.SEEK_END)
                server_cpu = _server_cpu_seconds(server)
                started_at = dt.datetime.now()
                began = time.perf_counter()
                for order in orders:
                    order.send(seconds)
                results = [order.recv() if order.poll(seconds + 300) else {"count": 0, "latencies": [], "cpu": 0.0,
                           "sys": 0.0, "errors": ["职员进程没有回应"]} for order in orders]
                elapsed = time.perf_counter() - began
                ended_at = dt.datetime.now()
                server_cpu = _server_cpu_seconds(server) - server_cpu
                indexer_cpu = _cpu_seconds(indexer.pid) - indexer_cpu
                batches = []
                if with_indexer:
                    caught = caught_up() and caught
                    indexer_log.seek(log_from)
                    batches = [int(m.group(1)) for m in re.finditer(r"已应用 (\d+) 项变更", indexer_log.read().decode())]
                lags = _lags(session, samples, started_at, ended_at) if with_indexer else []
                latencies = [x for r in results for x in r["latencies"]]
                errors = [e for r in results for e in r["errors"]]
                count = sum(r["count"] for r in results)
                rows.append({
                    "clerk_cpu_ms": sum(r["cpu"] for r in results) / max(count, 1) * 1000,
                    "clerk_sys_ms": sum(r["sys"] for r in results) / max(count, 1) * 1000,
                    "server_cpu_ms": server_cpu / max(count, 1) * 1000 if server else float("nan"),
                    "indexer_cpu_ms": indexer_cpu / max(count, 1) * 1000 if with_indexer else float("nan"),
                    "store": store, "procs": procs, "indexer": with_indexer, "repetition": number // 2 + 1,
                    "cases": count, "rate": count / elapsed, "p50": _pct(latencies, 50) * 1000,
                    "p95": _pct(latencies, 95) * 1000, "errors": len(errors), "first_error": errors[0] if errors else "",
                    "numbers_ok": None, "numbers_problem": "", "lag_p50": _pct(lags, 50), "lag_p95": _pct(lags, 95),
                    "caught_up": caught, "batches": batches})
                _print_row(rows[-1])
            indexer.send_signal(signal.SIGCONT)
            for order in orders:
                order.send(None)
            for worker in workers:
                worker.join(timeout=60)
            numbers_ok, numbers_problem = _check_numbers(session)  # the whole series' numbers
            for row in rows:
                row["numbers_ok"], row["numbers_problem"] = numbers_ok, numbers_problem
            print(f"    本组 {len(rows)} 段的办件与文书编号：{'唯一无缺号' if numbers_ok else '有问题：' + numbers_problem}",
                  flush=True)
    finally:
        stop.set()
        if monitor.is_alive():
            monitor.join()
        for worker in workers:
            if worker.is_alive():
                worker.kill()
        if indexer is not None:
            indexer.send_signal(signal.SIGCONT)
            indexer.send_signal(signal.SIGTERM)
            try:
                indexer.wait(timeout=30)
            except subprocess.TimeoutExpired:
                indexer.kill()
        if indexer_log is not None:
            indexer_log.close()
        shutil.rmtree(tmp, ignore_errors=True)
        if server:
            server.drop_database(f"bench{run_no}")
    return rows


def _print_row(row: dict) -> None:
    store, procs, with_indexer = row["store"], row["procs"], row["indexer"]
    lag = (f"{row['lag_p50']:>7.2f}s{row['lag_p95']:>7.2f}s" if with_indexer else f"{'—':>8}{'—':>8}")
    numbers = {None: "（组末核对）", True: "唯一无缺号"}.get(row["numbers_ok"], f"有问题：{row['numbers_problem']}")
    print(f"{store:<12}{procs:>4}{row['repetition']:>4}  {'有索引进程' if with_indexer else '无索引':<6}{row['cases']:>6}"
          f"{row['rate']:>8.1f}{row['p50']:>8.1f}{row['p95']:>8.1f}{row['errors']:>5}  {numbers:<10}{lag}"
          f"  {row['clerk_cpu_ms']:>5.1f} ms（内核 {row['clerk_sys_ms']:.1f}）"
          + (f" {row['server_cpu_ms']:>5.1f} ms" if store == "postgresql" else f" {'—':>8}")
          + (f" {row['indexer_cpu_ms']:>5.1f} ms" if with_indexer else ""),
          flush=True)
    if row["batches"]:
        sizes = sorted(row["batches"])
        print(f"    索引进程：{len(sizes)} 批（每批一次索引提交），每批 {sizes[0]}–{sizes[-1]} 项变更，"
              f"中位数 {sizes[len(sizes) // 2]}", flush=True)
    if row["errors"]:
        print(f"    第一个错误：{row['first_error']}", flush=True)
    if not row["caught_up"]:
        print("    索引进程在 300 秒内没有追上", flush=True)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=15.0, help="length of each slice (default 15)")
    parser.add_argument("--procs", default="1,2,4,8", help="numbers of clerk processes (default 1,2,4,8)")
    parser.add_argument("--stores", default="sqlite,postgresql", help="stores to run on (default both)")
    parser.add_argument("--repeat", type=int, default=3,
                        help="pairs of slices (without and with the indexer) in each series; the target is judged on "
                             "the median of their ratios (default 3)")
    parser.add_argument("--pg-synchronous-commit", choices=("on", "off"), default="on",
                        help="PostgreSQL synchronous_commit (default on: every commit waits for its WAL flush)")
    args = parser.parse_args(argv)
    procs_list = [int(p) for p in args.procs.split(",")]
    stores = args.stores.split(",")
    if args.repeat < 1:
        parser.error("--repeat 至少为 1")

    print(f"并发受理基准（{os.cpu_count()} 核；每组 {args.repeat} 轮，每轮无索引与有索引进程各一段 {args.seconds:.0f} 秒，"
          f"同一工作区交替进行；每件一份受理通知书 .docx，不转 PDF）", flush=True)
    server = None
    rows = []
    run_no = 0
    try:
        if "postgresql" in stores:
            import pgserver

            server = pgserver.Server.start(fast=False, settings=f"-c synchronous_commit={args.pg_synchronous_commit}")
            print(f"PostgreSQL：{server.bindir}，127.0.0.1:{server.port}，fsync=on，"
                  f"synchronous_commit={args.pg_synchronous_commit}", flush=True)
        print(f"{'数据库':<10}{'进程':>4}{'轮':>3}  {'索引':<6}{'件数':>6}{'件/秒':>8}{'p50 ms':>8}{'p95 ms':>8}"
              f"{'错误':>5}  {'编号':<10}{'滞后p50':>8}{'滞后p95':>8}  CPU/件：受理 数据库服务器 索引", flush=True)
        for procs in procs_list:
            for store in stores:
                run_no += 1
                rows += run_series(store, server if store == "postgresql" else None, procs, args.repeat,
                                   args.seconds, run_no)
    finally:
        if server is not None:
            server.stop()

    def rates(store, procs, with_indexer):
        return [r["rate"] for r in rows if r["store"] == store and r["procs"] == procs and r["indexer"] == with_indexer]

    def cores(store, procs, with_indexer):
        """The cores the clerks, the database server and the indexer kept busy (median of the
        slices): a store that leaves some idle is held back by something else than the CPU."""
        def busy(row):
            parts = (row["clerk_cpu_ms"], row["server_cpu_ms"], row["indexer_cpu_ms"])
            return row["rate"] * sum(x for x in parts if x == x) / 1000  # (nan: not measured)
        return statistics.median(busy(r) for r in rows if r["store"] == store and r["procs"] == procs
                                 and r["indexer"] == with_indexer)

    print(f"\n对照目标（每组 {args.repeat} 轮，每轮有索引进程与无索引各一段）：")
    errors = sum(r["errors"] for r in rows)
    print(f"  错误总数 {errors}（目标 0）{'✓' if errors == 0 else '✗'}")
    bad_numbers = [r for r in rows if not r["numbers_ok"]]
    print(f"  编号唯一且无缺号：{'全部满足 ✓' if not bad_numbers else f'{len(bad_numbers)} 轮不满足 ✗'}")
    ratios_ok = lags_ok = True
    for store in stores:
        for procs in procs_list:
            base, with_ix = rates(store, procs, False), rates(store, procs, True)
            if not base or not with_ix:
                continue
            pairs = [w / b for w, b in zip(with_ix, base)]  # each repetition's two slices, side by side in time
            ratio = statistics.median(pairs)
            series = [r for r in rows if r["store"] == store and r["procs"] == procs]
            pooled = (sum(r["rate"] for r in series if r["indexer"]) / sum(r["rate"] for r in series if not r["indexer"]))
            lag_p95 = max(r["lag_p95"] for r in series if r["indexer"])
            caught_up = all(r["caught_up"] for r in series)
            ratios_ok &= ratio >= 0.8
            lags_ok &= lag_p95 <= 2 and caught_up
            print(f"  {store} {procs} 进程：有索引进程与无索引之比，逐轮 {'、'.join(f'{x:.0%}' for x in pairs)}，"
                  f"中位数 {ratio:.0%}（目标 ≥ 80%）{'✓' if ratio >= 0.8 else '✗'}（合计 {statistics.mean(with_ix):.1f} 对 "
                  f"{statistics.mean(base):.1f} 件/秒，{pooled:.0%}）；索引滞后 p95 最大 {lag_p95:.2f} s（目标 ≤ 2 s）"
                  f"{'✓' if lag_p95 <= 2 else '✗'}")
    pg_vs_lite = []
    for mode in (False, True):
        pg, lite = rates("postgresql", 8, mode), rates("sqlite", 8, mode)
        if pg and lite:
            label = "有索引进程" if mode else "无索引"
            ok = statistics.median(pg) >= statistics.median(lite)
            print(f"  8 进程 4 个单位（{label}）：PostgreSQL {statistics.median(pg):.1f} 件/秒，SQLite {statistics.median(lite):.1f} 件/秒"
                  f"（目标 PostgreSQL ≥ SQLite）{'✓' if ok else '✗'}"
                  f"（逐轮 PostgreSQL {'、'.join(f'{x:.1f}' for x in pg)}；SQLite {'、'.join(f'{x:.1f}' for x in lite)}；"
                  f"占用 CPU：PostgreSQL {cores('postgresql', 8, mode):.2f} 核，SQLite {cores('sqlite', 8, mode):.2f} 核，"
                  f"本机 {os.cpu_count()} 核）")
            pg_vs_lite.append(ok)
    for store in stores:
        cpu = [r["clerk_cpu_ms"] for r in rows if r["store"] == store]
        server_cpu = [r["server_cpu_ms"] for r in rows if r["store"] == store and r["server_cpu_ms"] == r["server_cpu_ms"]]
        print(f"  {store} 每件受理的客户端 CPU：{min(cpu):.1f}–{max(cpu):.1f} ms"
              + (f"，数据库服务器 CPU：{min(server_cpu):.1f}–{max(server_cpu):.1f} ms" if server_cpu else ""))

    def mark(ok):
        return "✓" if ok else "✗"

    summary = [f"errors 0 {mark(errors == 0)}", f"numbers unique, gap-free {mark(not bad_numbers)}",
               f"indexer ≥ 80% (median of paired slices) {mark(ratios_ok)}", f"lag p95 ≤ 2 s {mark(lags_ok)}"]
    if pg_vs_lite:
        summary.append(f"PostgreSQL 8 ≥ SQLite 8 (medians) {mark(all(pg_vs_lite))}")
    else:
        summary.append("PostgreSQL 8 ≥ SQLite 8 not run (needs --procs with 8 and both stores)")
    print("targets: " + "; ".join(summary), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
