"""Benchmark: `archive serve` under 20 clerks, against the library called directly.

    python bench/web.py [--clerks 20] [--seconds 20] [--workers 2] [--pace 10] [--paced-seconds 60]
                        [--pdf-seconds 0]
    python bench/web.py --desks-only [--docs 100000] [--desk-seconds 30] [--paced-desk-seconds 60]
                        [--reader-pace 3] [--desk-pace 2] [--keep DIR]

Starts `archive serve` on 127.0.0.1 (a free port) on a fresh sample centre and logs in N
clerk accounts (httpx, async). Saturated phase, PDF output off: first every clerk only
receives cases through ``POST /api/v1/cases`` (the .docx notice written) for a fixed time —
the server's receive throughput — then each does rounds of receive, case page and notice
.docx; p50/p95 per step. The same receive is then done by the library directly in this
process on the same workspace, and the throughputs compared. Paced phase, PDF output on:
each clerk receives at a fixed pace, opens the page and the .docx and waits until
``GET /api/v1/notices/{id}/pdf`` answers 200 (the server makes PDFs after the receive
commits, one thread per LibreOffice server).

Two loads, because they answer different questions:

- saturated (the first phase): every clerk sends its next request the moment the last one
  answers, with no time to read or type. This finds the server's throughput; the latencies
  it prints are queueing behind 19 other clerks on two cores (a closed loop: latency ≈
  clerks × CPU per step ÷ cores), not what a clerk waits.
- paced (``--pace`` seconds between one clerk's receives, default 10 s, the clerks' starts
  spread over the first pace; PDF output on): 20 clerks at one receive every 10 s is 7,200
  cases an hour, some fifty times a city centre's busiest hour. This is the load the
  latency targets are read at: receive, case page, .docx, and the notice PDF ready.

The server's CPU (the uvicorn processes and their children, from /proc) is printed per
saturated round, a figure that survives a loaded machine. ``--pdf-seconds N`` adds the old
third phase: PDFs under the saturated load (the converter then queues without end).

Targets (issue 14): page GET p95 ≤ 100 ms; receive with its .docx p95 ≤ 300 ms; notice PDF
ready p95 ≤ 1.5 s; server receive throughput ≥ 70 % of the library's.

A last phase (issue 15; ``--desks-only`` runs it alone) builds a search index of ``--docs``
synthetic cases (bench/search.py's corpus; 100,000 for the target), bulk-inserts volumes and
one borrower per desk holding ``--past-loans`` returned loans (bench/lending.py's setup), then
has ``--readers`` staff accounts load the search page (a query from a list, page 1 or 2) while
``--desks`` archivists scan archival codes at the lending desk (``POST /lending/{b}/scan``, the
htmx line; each loan then returned through the API, timed apart). Prints p50/p95 of the search
page and of scan-to-line, the server's CPU time and ``uptime``. Targets: search page p95 ≤ 150
ms; scan-to-line p95 ≤ 300 ms. Two loads again, on the same server one after the other:

- saturated (``--desk-seconds``): readers and desks in a closed loop, each sending its next
  request the moment the last one answers (10 readers searching without a pause on two
  cores: latency is mostly queueing, ≈ requests in flight × CPU per request ÷ cores);
- paced (``--paced-desk-seconds``, 0 skips it): each reader searches, then reads the page for
  ``--reader-pace`` seconds (default 3 s between one reader's searches), each desk scans one
  volume every ``--desk-pace`` seconds (default 2 s; the return follows at once), starts
  spread over the first pace. 10 readers every 3 s is 12,000 searches an hour. This is
  the load the latency targets are read at.

Before both, each reader searches every query of the fixed list once (untimed there; printed
apart as the first searches: each worker opens the index then, and remembers a query's
answer until the index changes, see ``Engine.remember``). The timed searches then draw from
``--reader-queries`` queries of 1–3 words taken from the indexed documents (default 1,000),
so most are new to the worker that answers them, as a reading room's are; ``--reader-queries
0`` draws from the fixed list instead, every answer then remembered (a best case). ``--keep DIR`` builds the centre
in DIR once and reuses it in later runs with the same sizes (a 100,000-document build takes
~10 minutes). The final ``targets:`` line names the phase of every figure.

Only loopback traffic; every loop stops at its deadline.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DAY = "2026-09-28"
PASSWORD = "Ji-zhun-ce-shi-2026!"
FOOD_ALL = ["M01", "M02", "M03", "M04", "M05", "M06"]
PERSON_ID = "11010519491231002X"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_centre(home: Path, clerks: int) -> list[str]:
    from sqlalchemy import update

    from archive import centre
    from archive.core import accounts
    from archive.core import store as st
    from archive.core.session import Session

    centre.init(home, sample=True).close()
    names = [f"窗口{n:02d}" for n in range(1, clerks + 1)]
    with centre.open_session(home) as opened:
        su = Session(opened.ws, superuser=True, client="bench")
        for name in names:
            accounts.add(su, name, role="clerk", password=PASSWORD, must_change=False)
        with su.store.write() as conn:
            conn.execute(update(st.users).values(must_change=False))
        su.close()
    return names


class Server:
    def __init__(self, home: Path, *, pdf: str, workers: int, log: Path | None = None):
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = dict(os.environ, ARCHIVE_HOME=str(home), ARCHIVE_TODAY=DAY, ARCHIVE_PDF=pdf)
        self.proc = subprocess.Popen([sys.executable, str(ROOT / "cli.py"), "serve", "--port", str(self.port),
                                      "--workers", str(workers)], cwd=ROOT, env=env,
                                     stdout=subprocess.DEVNULL,
                                     stderr=open(log, "w") if log else subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(self.url + "/healthz", timeout=2):
                    break
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit("archive serve did not start")
                time.sleep(0.2)

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def tree_cpu(pid: int) -> float:
    """CPU seconds (user + system) of process ``pid`` and every process below it, from /proc."""
    tick = os.sysconf("SC_CLK_TCK")
    parents, cpu = {}, {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(entry)] = int(fields[1])
        cpu[int(entry)] = (int(fields[11]) + int(fields[12])) / tick
    total, todo = 0.0, [pid]
    while todo:
        here = todo.pop()
        total += cpu.get(here, 0.0)
        todo.extend(child for child, parent in parents.items() if parent == here)
    return total


def pct(values, q):
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


async def clerk(url, name, seconds, steps, *, pdf=False, receive_only=False):
    import httpx

    async with httpx.AsyncClient(base_url=url, timeout=60) as client:
        r = await client.post("/api/v1/login", json={"username": name, "password": PASSWORD})
        r.raise_for_status()
        headers = {"X-CSRF-Token": r.json()["csrf_token"]}
        deadline = time.monotonic() + seconds
        n = 0
        while time.monotonic() < deadline:
            n += 1
            body = {"item": "SJ-XK-003", "applicant": f"{name}客户{n}", "id_number": PERSON_ID,
                    "phone": "13800138000", "materials": FOOD_ALL, "received_on": DAY}
            t0 = time.perf_counter()
            r = await client.post("/api/v1/cases", json=body, headers=headers)
            t1 = time.perf_counter()
            r.raise_for_status()
            made = r.json()
            notice = made["notices"][0]["id"]
            if pdf:
                steps["receive (PDF on)"].append(t1 - t0)
                while True:
                    got = await client.get(f"/api/v1/notices/{notice}/pdf")
                    if got.status_code == 200 or time.perf_counter() - t0 > 30:
                        break
                    await asyncio.sleep(0.05)
                steps["pdf ready"].append(time.perf_counter() - t0)
                continue
            steps["receive (.docx)"].append(t1 - t0)
            if time.monotonic() <= deadline:
                steps["received in time"].append(t1)
            if receive_only:
                continue
            t0 = time.perf_counter()
            page = await client.get(f"/cases/{made['case']}")
            steps["case page GET"].append(time.perf_counter() - t0)
            page.raise_for_status()
            t0 = time.perf_counter()
            doc = await client.get(f"/api/v1/notices/{notice}/docx")
            steps["notice .docx GET"].append(time.perf_counter() - t0)
            doc.raise_for_status()


async def paced_clerk(url, name, seconds, pace, offset, steps):
    """One clerk receiving a case every ``pace`` seconds (the first after ``offset``), opening
    its page and .docx, and waiting for its PDF, for ``seconds``."""
    import httpx

    async with httpx.AsyncClient(base_url=url, timeout=60) as client:
        r = await client.post("/api/v1/login", json={"username": name, "password": PASSWORD})
        r.raise_for_status()
        headers = {"X-CSRF-Token": r.json()["csrf_token"]}
        start = time.monotonic() + offset
        n = 0
        while (due := start + n * pace) < start - offset + seconds:
            await asyncio.sleep(max(0.0, due - time.monotonic()))
            n += 1
            body = {"item": "SJ-XK-003", "applicant": f"{name}来客{n}", "id_number": PERSON_ID,
                    "phone": "13800138000", "materials": FOOD_ALL, "received_on": DAY}
            t0 = time.perf_counter()
            r = await client.post("/api/v1/cases", json=body, headers=headers)
            steps["receive (.docx)"].append(time.perf_counter() - t0)
            r.raise_for_status()
            made = r.json()
            notice = made["notices"][0]["id"]
            t1 = time.perf_counter()
            (await client.get(f"/cases/{made['case']}")).raise_for_status()
            steps["case page GET"].append(time.perf_counter() - t1)
            t1 = time.perf_counter()
            (await client.get(f"/api/v1/notices/{notice}/docx")).raise_for_status()
            steps["notice .docx GET"].append(time.perf_counter() - t1)
            while True:
                got = await client.get(f"/api/v1/notices/{notice}/pdf")
                if got.status_code == 200 or time.perf_counter() - t0 > 60:
                    break
                await asyncio.sleep(0.05)
            steps["pdf ready"].append(time.perf_counter() - t0)


def run_paced(url, names, seconds, pace):
    steps = {k: [] for k in ("receive (.docx)", "case page GET", "notice .docx GET", "pdf ready")}

    async def main():
        await asyncio.gather(*(paced_clerk(url, name, seconds, pace, pace * i / len(names), steps)
                               for i, name in enumerate(names)))

    asyncio.run(main())
    return steps


def run_clerks(url, names, seconds, *, pdf=False, receive_only=False):
    steps = {k: [] for k in (("receive (PDF on)", "pdf ready") if pdf else
                             ("receive (.docx)", "case page GET", "notice .docx GET", "received in time"))}

    async def main():
        await asyncio.gather(*(clerk(url, name, seconds, steps, pdf=pdf, receive_only=receive_only)
                               for name in names))

    started = time.perf_counter()
    asyncio.run(main())
    return steps, time.perf_counter() - started


def library_direct(home: Path, name: str, seconds: float) -> tuple[int, float, list[float]]:
    from archive.centre import open_session
    from archive.window import cases
    from archive.window.cases import Applicant

    os.environ["ARCHIVE_PDF"] = "never"
    times = []
    with open_session(home, operator=name) as session:
        session.today = dt.date.fromisoformat(DAY)
        deadline = time.monotonic() + seconds
        started = time.perf_counter()
        n = 0
        while time.monotonic() < deadline:
            n += 1
            t0 = time.perf_counter()
            cases.receive(session, item_code="SJ-XK-003", applicant=Applicant.person(f"直接{n}", PERSON_ID, "13800138000"),
                          materials=FOOD_ALL, received_on=DAY)
            times.append(time.perf_counter() - t0)
        return n, time.perf_counter() - started, times


# -- issue 15: readers searching and lending desks scanning at once ------------------------------

QUERIES = ("不动产", "食品经营许可", "营业执照", "个体工商户", "核查", "建设用地", "抵押", "施工许可", "医师", "餐饮管理",
           "江城区", "法定代表人", "卫生许可", "预售", "宅基地", "不动产 抵押", "\"食品经营\"", "许可 -注销")


def _bench_module(name: str):
    """bench/<name>.py as a module (the corpus of bench/search.py, the bulk setup of bench/lending.py)."""
    import importlib

    if str(ROOT / "bench") not in sys.path:  # importable by name: the index builders pickle its functions
        sys.path.insert(0, str(ROOT / "bench"))
    return importlib.import_module(name)


def make_desks_centre(home: Path, *, readers: int, desks: int, docs: int, volumes: int, past: int,
                      procs: int) -> tuple[list[str], list[str], list[str], list[str]]:
    """A sample centre with reader and desk accounts, ``volumes`` bulk-inserted volumes, one borrower
    per desk holding ``past`` returned loans, and a search index of ``docs`` synthetic cases."""
    from functools import partial

    from sqlalchemy import select

    from archive import centre
    from archive.core import accounts, changelog
    from archive.core import store as st
    from archive.core.session import Session
    from archive.search import index as search

    lending, corpus = _bench_module("lending"), _bench_module("search")
    centre.init(home, sample=True).close()
    reader_names = [f"读者{n:02d}" for n in range(1, readers + 1)]
    desk_names = [f"借阅台{n:02d}" for n in range(1, desks + 1)]
    with centre.open_session(home) as opened:
        su = Session(opened.ws, superuser=True, client="bench")
        for name in reader_names:
            accounts.add(su, name, role="staff", password=PASSWORD, must_change=False)
        for name in desk_names:
            accounts.add(su, name, role="archivist", password=PASSWORD, must_change=False)
        codes = lending.setup(su, volumes, desks * 2)
        open_codes = [c for n, c in enumerate(codes, start=1) if n % 10 < 8]  # setup makes 8 in 10 开放
        borrowers = [f"JZ{n:04d}" for n in range(2, desks * 2 + 1, 2)]  # the even ones are internal staff
        with su.store.write() as conn:
            ids = dict(conn.execute(select(st.borrowers.c.code, st.borrowers.c.id)).all())
            rows = []
            for b, code in enumerate(borrowers):
                for k in range(past):
                    lent = dt.date(2024, 1, 1) + dt.timedelta(days=k % 700)
                    rows.append(lending._filled(st.loans, dict(
                        number=f"PL{b:02d}{k:06d}", volume_id=1 + (b * past + k) % volumes, borrower_id=ids[code],
                        open_volume_id=None, mode="read", purpose="工作查考", rules={}, approval_needed="none",
                        lent_on=lent, due_on=lent, returned_on=lent, pages_expected=7, pages_counted=7, renewals=[],
                        reminder_level=0, lent_at=lending.NOW, lent_by="基准测试", returned_at=lending.NOW,
                        returned_by="基准测试")))
            lending._insert(conn, st.loans, rows)
        index_dir = opened.ws.index_dir
        index_dir.mkdir(parents=True, exist_ok=True)
        build = index_dir / "build-bench"
        shutil.rmtree(build, ignore_errors=True)
        t0 = time.perf_counter()
        search.build_index(build, partial(corpus.bench_source, docs, 7), docs, procs=procs,
                           words=corpus.domain_words(), cache_dir=str(index_dir))
        with su.store.read() as conn:
            generation = changelog.head(conn)
        search.install_index(su, build, generation=generation, documents=docs)
        print(f"  index of {docs} synthetic documents built in {time.perf_counter() - t0:.0f} s ({procs} process(es))")
        t0 = time.perf_counter()
        index_volumes(su, codes)
        print(f"  the {len(codes)} volumes' cases indexed too in {time.perf_counter() - t0:.0f} s")
        su.close()
    return reader_names, desk_names, borrowers, open_codes


def reader_queries(count: int, docs: int, seed: int = 15) -> tuple:
    """``count`` queries of 1–3 words drawn from documents of the index's corpus (the fixed
    ``QUERIES`` when 0): readers look for many different things, so most timed searches are
    answers a worker has not remembered yet."""
    if not count:
        return QUERIES
    import random

    from archive.search import index as search

    corpus = _bench_module("search")
    rng = random.Random(seed)
    texts = [search._bridged(corpus.make_doc(rng.randrange(docs), 7)["text"]) for _ in range(min(count, 2000))]
    return tuple(dict.fromkeys(corpus.word_queries(texts, count, rng, search._jieba())))


def index_volumes(su, codes: list[str], batch: int = 2000) -> None:
    """Add the bulk-inserted volumes' cases to the index, as a centre's index holds every filed
    volume (otherwise a desk's first lend of each would add a document, the index would change
    about once a second, and every worker would open it again)."""
    from archive.search import index as search

    for start in range(0, len(codes), batch):
        at = search.applied(su)
        search.apply_changes(su, [("volume", c) for c in codes[start:start + batch]], after=at, upto=at)


async def reader_loop(url, name, seconds, times, seed, failures, *, pace=0.0, offset=0.0, queries=QUERIES):
    """One reader searching for ``seconds``: the next search the moment the page answers, or with
    ``pace`` one every ``pace`` seconds (reading the page in between), the first after ``offset``."""
    import random

    import httpx

    rng = random.Random(seed)
    async with httpx.AsyncClient(base_url=url, timeout=60) as client:
        (await client.post("/api/v1/login", json={"username": name, "password": PASSWORD})).raise_for_status()
        start = time.monotonic() + offset
        deadline = start - offset + seconds
        n = 0
        while (due := start + n * pace if pace else time.monotonic()) < deadline:
            await asyncio.sleep(max(0.0, due - time.monotonic()))
            n += 1
            query = rng.choice(queries)
            page = rng.choice((1, 1, 1, 2))
            t0 = time.perf_counter()
            try:
                r = await client.get("/search", params={"q": query, "page": page})
            except httpx.HTTPError as exc:  # counted, and the server's log shown at the end
                failures.append(f"{type(exc).__name__} {query}")
                continue
            times.append(time.perf_counter() - t0)
            if r.status_code != 200:
                failures.append(f"{r.status_code} {query}")


async def desk_loop(url, name, borrower, codes, seconds, scans, returns, errors, *, pace=0.0, offset=0.0):
    """One lending desk scanning ``codes`` for ``seconds``, each loan returned through the API at
    once: the next scan the moment the return answers, or with ``pace`` one scan every ``pace``
    seconds, the first after ``offset``."""
    import re

    import httpx

    async with httpx.AsyncClient(base_url=url, timeout=60) as client:
        r = await client.post("/api/v1/login", json={"username": name, "password": PASSWORD})
        r.raise_for_status()
        csrf = r.json()["csrf_token"]
        (await client.get("/lending", params={"borrower": borrower})).raise_for_status()  # the banner, once
        start = time.monotonic() + offset
        deadline = start - offset + seconds
        for n, code in enumerate(codes):
            due = start + n * pace if pace else time.monotonic()
            if due >= deadline:
                break
            await asyncio.sleep(max(0.0, due - time.monotonic()))
            t0 = time.perf_counter()
            r = await client.post(f"/lending/{borrower}/scan", headers={"HX-Request": "true"},
                                  data={"csrf_token": csrf, "code": code, "mode": "read", "purpose": "工作查考"})
            scans.append(time.perf_counter() - t0)
            loan = re.search(r"<td>(JY\d+)", r.text)
            if r.status_code != 200 or loan is None:
                errors.append(re.sub(r"<[^>]+>", " ", r.text)[:200])
                continue
            t0 = time.perf_counter()
            back = await client.post(f"/api/v1/loans/{loan.group(1)}/return", json={"pages": 7},
                                     headers={"X-CSRF-Token": csrf})
            returns.append(time.perf_counter() - t0)
            back.raise_for_status()


def _cpu_seconds(pid: int) -> float:
    """User + system CPU of the server process and its live worker processes (Linux /proc)."""
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if stat.parent.name == str(pid) or fields[1] == str(pid):  # fields[1]: the parent's pid
            total += sum(int(v) for v in fields[11:13]) / os.sysconf("SC_CLK_TCK")
    return total


def _uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def _print_desk_figures(figures: dict, cpu: float, wall: float, errors: list, failures: list, work: Path) -> None:
    for label, values in figures.items():
        print(f"  {label:<16} n={len(values):5d}  p50 {pct(values, 50) * 1000:7.1f} ms  "
              f"p95 {pct(values, 95) * 1000:7.1f} ms")
    print(f"  server CPU (process and workers) {cpu:.1f} s over {wall:.1f} s of wall time "
          f"({cpu / wall * 100:.0f} % of one core)")
    if errors:
        print(f"  {len(errors)} scans answered without a loan; first: {errors[0]}")
    if failures:
        print(f"  {len(failures)} search pages failed, e.g. {failures[:3]}; server log:")
        print("\n".join((work / "server.log").read_text(errors="replace").splitlines()[-40:]))
    print("  uptime:", _uptime())


def desks_phase(args) -> None:
    import random

    import json

    work = Path(tempfile.mkdtemp(prefix="bench-desks-"))
    try:
        home = work / "home"
        print(f"readers and lending desks: {args.docs} indexed documents, {args.readers} readers searching, "
              f"{args.desks} desks scanning, each desk's borrower holding {args.past_loans} past loans")
        shape = {"docs": args.docs, "readers": args.readers, "desks": args.desks, "volumes": args.volumes,
                 "past_loans": args.past_loans, "volumes_indexed": True}
        kept = Path(args.keep) / "desks.json" if args.keep else None
        if kept is not None:
            home = Path(args.keep) / "home"
        if kept is not None and kept.exists() and json.loads(kept.read_text()) == shape:
            # the centre of an earlier run (its loans were all returned; the borrowers' past grows)
            print(f"  reusing the centre kept in {args.keep}")
            readers = [f"读者{n:02d}" for n in range(1, args.readers + 1)]
            desks = [f"借阅台{n:02d}" for n in range(1, args.desks + 1)]
            borrowers = [f"JZ{n:04d}" for n in range(2, args.desks * 2 + 1, 2)]
            codes = [f"Z023-XK·JY·2026·D30-003-{n:06d}" for n in range(1, args.volumes + 1) if n % 10 < 8]
        else:
            if kept is not None:
                shutil.rmtree(home, ignore_errors=True)
                kept.unlink(missing_ok=True)
            readers, desks, borrowers, codes = make_desks_centre(
                home, readers=args.readers, desks=args.desks, docs=args.docs, volumes=args.volumes,
                past=args.past_loans, procs=args.procs)
            if kept is not None:
                kept.write_text(json.dumps(shape))
        pool = reader_queries(args.reader_queries, args.docs)
        print(f"  timed searches draw from {len(pool)} queries"
              + (" of 1–3 words taken from the indexed documents (mostly new to a worker: its remembered answers "
                 "help little)" if args.reader_queries else " of the fixed list (each remembered after the warm-up)")
              + f", e.g. {' / '.join(pool[:4])}")
        print("  uptime:", _uptime())
        server = Server(home, pdf="never", workers=args.workers, log=work / "server.log")
        rng = random.Random(11)
        rng.shuffle(codes)
        share = len(codes) // max(1, len(desks))
        half = share // 2  # each desk's first half of its volumes for the saturated phase, the rest paced
        mine = [codes[n * share:(n + 1) * share] for n in range(len(desks))]
        results = {}
        try:
            # Each worker process opens the index at its first search (columns, facet values) and
            # remembers a query's answer until the index changes: the readers first search every
            # query of the list once, untimed in the phases below (so those measure queries the
            # workers have seen, as QUERIES is short), and these first searches are printed apart.
            first, failures = [], []
            t0 = time.perf_counter()

            async def warm_up():
                async def one(n, name):
                    import httpx

                    async with httpx.AsyncClient(base_url=server.url, timeout=120) as client:
                        (await client.post("/api/v1/login", json={"username": name, "password": PASSWORD})
                         ).raise_for_status()
                        for k in range(len(QUERIES)):
                            query = QUERIES[(n + k) % len(QUERIES)]
                            t1 = time.perf_counter()
                            r = await client.get("/search", params={"q": query})
                            first.append(time.perf_counter() - t1)
                            if r.status_code != 200:
                                failures.append(f"{r.status_code} {query}")

                await asyncio.gather(*(one(n, name) for n, name in enumerate(readers)))

            asyncio.run(warm_up())
            print(f"  warm-up: {len(first)} first searches ({len(readers)} readers at once, each query of the list "
                  f"once per reader) in {time.perf_counter() - t0:.1f} s: p50 {pct(first, 50) * 1000:.0f} ms, "
                  f"p95 {pct(first, 95) * 1000:.0f} ms{'; failures: ' + str(failures[:3]) if failures else ''}")
            print(f"  saturated: {args.desk_seconds:.0f} s, every reader and desk sends its next request the "
                  "moment the last one answers:")
            searches, scans, returns, errors, failures = [], [], [], [], []
            cpu0, wall0 = _cpu_seconds(server.proc.pid), time.perf_counter()

            async def saturated():
                await asyncio.gather(
                    *(reader_loop(server.url, name, args.desk_seconds, searches, n, failures, queries=pool)
                      for n, name in enumerate(readers)),
                    *(desk_loop(server.url, name, borrowers[n], mine[n][:half], args.desk_seconds,
                                scans, returns, errors) for n, name in enumerate(desks)))

            asyncio.run(saturated())
            cpu, wall = _cpu_seconds(server.proc.pid) - cpu0, time.perf_counter() - wall0
            results["saturated"] = {"search page GET": searches, "scan to line": scans, "return (API)": returns}
            _print_desk_figures(results["saturated"], cpu, wall, errors, failures, work)
            if args.paced_desk_seconds > 0:
                print(f"  paced: {args.paced_desk_seconds:.0f} s, each reader searching every {args.reader_pace:g} s "
                      f"({len(readers) / args.reader_pace * 3600:,.0f} searches an hour), each desk scanning "
                      f"every {args.desk_pace:g} s:")
                searches, scans, returns, errors, failures = [], [], [], [], []
                cpu0, wall0 = _cpu_seconds(server.proc.pid), time.perf_counter()

                async def paced():
                    await asyncio.gather(
                        *(reader_loop(server.url, name, args.paced_desk_seconds, searches, 100 + n, failures,
                                      pace=args.reader_pace, offset=args.reader_pace * n / len(readers),
                                      queries=pool)
                          for n, name in enumerate(readers)),
                        *(desk_loop(server.url, name, borrowers[n], mine[n][half:], args.paced_desk_seconds,
                                    scans, returns, errors, pace=args.desk_pace, offset=args.desk_pace * n / len(desks))
                          for n, name in enumerate(desks)))

                asyncio.run(paced())
                cpu, wall = _cpu_seconds(server.proc.pid) - cpu0, time.perf_counter() - wall0
                results["paced"] = {"search page GET": searches, "scan to line": scans, "return (API)": returns}
                _print_desk_figures(results["paced"], cpu, wall, errors, failures, work)
        finally:
            server.stop()
        figures = []
        for label, step, target in (("search page", "search page GET", 150), ("scan-to-line", "scan to line", 300)):
            got = ", ".join(f"{phase} {pct(values[step], 95) * 1000:.0f} ms" for phase, values in results.items())
            figures.append(f"{label} p95 ≤ {target} ms: {got}")
        print("targets: " + "; ".join(figures))
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clerks", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--pdf-seconds", type=float, default=0,
                        help="the old third phase: PDFs under the saturated load (0: skipped)")
    parser.add_argument("--pace", type=float, default=10, help="seconds between one clerk's receives, paced phase")
    parser.add_argument("--paced-seconds", type=float, default=60, help="length of the paced phase (0: skipped)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--desks-only", action="store_true", help="run only the readers-and-desks phase (issue 15)")
    parser.add_argument("--no-desks", action="store_true", help="skip the readers-and-desks phase")
    parser.add_argument("--docs", type=int, default=100_000, help="synthetic documents in the search index")
    parser.add_argument("--readers", type=int, default=10)
    parser.add_argument("--desks", type=int, default=5)
    parser.add_argument("--past-loans", type=int, default=1000, help="returned loans each desk's borrower holds")
    parser.add_argument("--volumes", type=int, default=20_000, help="volumes bulk-inserted for the desks to lend")
    parser.add_argument("--desk-seconds", type=float, default=30, help="length of the saturated readers-and-desks phase")
    parser.add_argument("--paced-desk-seconds", type=float, default=60,
                        help="length of the paced readers-and-desks phase (0: skipped)")
    parser.add_argument("--reader-pace", type=float, default=3, help="seconds between one reader's searches, paced")
    parser.add_argument("--reader-queries", type=int, default=1000,
                        help="timed searches draw from this many queries taken from the corpus (0: the fixed list)")
    parser.add_argument("--desk-pace", type=float, default=2, help="seconds between one desk's scans, paced")
    parser.add_argument("--procs", type=int, default=2, help="processes building the index")
    parser.add_argument("--keep", metavar="DIR", help="build the readers-and-desks centre in DIR and keep it; "
                                                      "a later run with the same sizes reuses it")
    args = parser.parse_args()
    if args.desks_only:
        desks_phase(args)
        return

    work = Path(tempfile.mkdtemp(prefix="bench-web-"))
    try:
        home = work / "home"
        names = make_centre(home, args.clerks)
        print(f"load average at the start: {' '.join(open('/proc/loadavg').read().split()[:3])}")
        print(f"saturated: archive serve, {args.clerks} clerks, {args.seconds:.0f} s receiving only, then "
              f"{args.seconds:.0f} s of rounds, {args.workers} worker(s), PDF off, no pause between requests:")
        server = Server(home, pdf="never", workers=args.workers)
        try:
            # Throughput: receives only, as the library's loop below does nothing else.
            only, _ = run_clerks(server.url, names, args.seconds, receive_only=True)
            cpu0 = tree_cpu(server.proc.pid)
            steps, _ = run_clerks(server.url, names, args.seconds)
            cpu = tree_cpu(server.proc.pid) - cpu0
        finally:
            server.stop()
        steps.pop("received in time")
        in_time = only["received in time"]
        for step, values in steps.items():
            print(f"  {step:<18} n={len(values):5d}  p50 {pct(values, 50) * 1000:7.1f} ms  "
                  f"p95 {pct(values, 95) * 1000:7.1f} ms")
        server_rate = len(in_time) / args.seconds
        print(f"  server receive throughput (receives only, {args.seconds:.0f} s before the rounds above): "
              f"{server_rate:.1f} cases/s ({len(in_time)} within {args.seconds:.0f} s)")
        rounds = len(steps["receive (.docx)"])
        print(f"  server CPU per round (receive + case page + .docx): {cpu / max(1, rounds) * 1000:.1f} ms "
              f"({cpu:.1f} s over {rounds} rounds)")

        n, spent, times = library_direct(home, names[0], args.seconds)
        direct_rate = n / spent
        print(f"library receive directly (one process, same workspace): {direct_rate:.1f} cases/s, "
              f"p50 {pct(times, 50) * 1000:.1f} ms, p95 {pct(times, 95) * 1000:.1f} ms")
        print(f"  server / library throughput: {server_rate / direct_rate * 100:.0f} %")

        pdf = shutil.which("soffice") or shutil.which("libreoffice")
        paced = None
        if args.paced_seconds > 0:
            print(f"paced: {args.clerks} clerks, one receive each every {args.pace:.0f} s "
                  f"({args.clerks / args.pace * 3600:,.0f} cases an hour), {args.paced_seconds:.0f} s, "
                  f"PDF {'on' if pdf else 'off (no LibreOffice)'}:")
            server = Server(home, pdf="always" if pdf else "never", workers=args.workers)
            try:
                paced = run_paced(server.url, names, args.paced_seconds, args.pace)
            finally:
                server.stop()
            for step, values in paced.items():
                print(f"  {step:<18} n={len(values):5d}  p50 {pct(values, 50) * 1000:7.1f} ms  "
                      f"p95 {pct(values, 95) * 1000:7.1f} ms")
        if pdf and args.pdf_seconds > 0:
            print(f"archive serve with PDF output, {args.clerks} clerks, {args.pdf_seconds:.0f} s:")
            server = Server(home, pdf="always", workers=args.workers)
            try:
                pdf_steps, _ = run_clerks(server.url, names, args.pdf_seconds, pdf=True)
                # One clerk alone: what a clerk waits for when the converter is not queued up.
                alone, _ = run_clerks(server.url, names[:1], min(args.pdf_seconds, 10), pdf=True)
            finally:
                server.stop()
            for label, got in ((f"{args.clerks} clerks", pdf_steps), ("1 clerk", alone)):
                for step in ("receive (PDF on)", "pdf ready"):
                    values = got[step]
                    print(f"  {label:<10} {step:<17} n={len(values):4d}  p50 {pct(values, 50) * 1000:7.0f} ms  "
                          f"p95 {pct(values, 95) * 1000:7.0f} ms")
            print("  (the PDF is made after the receive commits; 'pdf ready' runs from the receive to the PDF's 200)")
        elif args.pdf_seconds > 0:
            print("PDF phase skipped (no LibreOffice)")
        print(f"load average at the end: {' '.join(open('/proc/loadavg').read().split()[:3])}")
        page = max(pct(steps["case page GET"], 95), pct(steps["notice .docx GET"], 95))
        print("saturated: page GET p95 {:.0f} ms; receive p95 {:.0f} ms; server / library throughput {:.0f} % "
              "(target ≥ 70 %)".format(page * 1000, pct(steps["receive (.docx)"], 95) * 1000,
                                      server_rate / direct_rate * 100))
        if paced:
            page = max(pct(paced["case page GET"], 95), pct(paced["notice .docx GET"], 95))
            print("paced: page GET p95 {:.0f} ms (≤ 100); receive p95 {:.0f} ms (≤ 300); PDF ready p95 {:.0f} ms "
                  "(≤ 1,500)".format(page * 1000, pct(paced["receive (.docx)"], 95) * 1000,
                                    pct(paced["pdf ready"], 95) * 1000))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if not args.no_desks:
        desks_phase(args)


if __name__ == "__main__":
    main()
