"""Benchmark: a province-sized month of the window report, on SQLite and on PostgreSQL.

    python bench/report.py [--cases 1000000] [--units 200] [--store sqlite|postgresql|both] [--keep DIR [--reuse]]
                           [--repeat 3]

Setup (not timed) bulk-inserts October 2026 into a fresh workspace: ``--cases`` cases over
``--units`` units (10 items and 5 clerks each): about 60% settled on the spot, the rest
promised cases concluded early, on time or late or still open at the month's end, with
pauses (their events), extensions, supplement notices, deemed acceptances, refusals, and
ratings for a third of the concluded cases (bad ones with rectifications). Each case has
its receive event (the clerk), as the window desk writes it. The rows are written beside
the library, so supervision's kept facts are then counted from them
(``archive.supervision.ledger.rebuild``, what the first report after an upgrade does for
the cases a store already holds; its time is printed as ``facts_seconds``).

Timed, each in a fresh process (so the memory peak is the report's own): the month's
report through the library (``archive.supervision.report.window``, as ``archive report
window --month 2026-10`` runs it), three times:

1. the first report after the month, nobody having recorded its red cards (a centre
   without the server's sweeper or cron's ``archive warning sweep``): it records them all;
2. again, the cards on record and nothing changed;
3. the everyday case: the store put back to its state before 1, the cards recorded as of
   the previous working day (not timed, what the sweeper left on Friday), then Monday's
   report, which records only the day's news.

Prints seconds (wall clock, and the process's CPU time: on SQLite that is all the work, so
it shows what the report costs on a machine busy with other work; on PostgreSQL the
server's CPU time as well, read from /proc for the postmaster and its backends), the load
average, the machine's speed just before (seconds a fixed pure-Python loop took: about 0.25
when this VM runs at its usual speed, up to half more in a slow stretch) and the process's
peak resident memory. Targets: at most 5 s and 1 GB on either
store.

The three are measured ``--repeat`` times (the store put back to its generated copy before
each repetition), and the targets judged on the median of each: this kind of shared 2-core
machine gives the same report a third slower or faster from one minute to the next, so a
single run says more about the minute than about the report. Every run's figures are
printed as well.

The store as generated is copied first (SQLite: the workspace folder ``sqlite.unswept``
beside it; PostgreSQL: the database ``archive_unswept``), for run 3. ``--keep DIR`` keeps
the workspaces, the copies (and, for PostgreSQL, the server's data folder) in DIR;
``--reuse`` with it measures again on what an earlier run kept there, without generating
the month anew: the store is put back to its copy, migrated to the newest schema and
supervision's kept facts brought up to date (``ledger.ensure``, timed apart as
``facts_seconds``). A kept folder without the copy (from an older run) keeps the red cards
an earlier run recorded: both runs are then repeated reports.

PostgreSQL: a throwaway server is started from /usr/lib/postgresql/*/bin (initdb, pg_ctl)
in a temporary folder on a free loopback port, as the ``postgres`` user when run as root,
and stopped at the end. Without it (or without psycopg) the PostgreSQL run is skipped.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

MONTH = "2026-10"
TODAY = dt.date(2026, 11, 2)
NOW = dt.datetime(2026, 11, 2, 9, 0)
CHUNK = 20000
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "芳娜敏静丽强磊军洋勇艳杰涛明超秀霞平刚桂"


def _units(count: int) -> list[dict]:
    sample = json.loads((ROOT / "archive" / "data" / "sample_centre.json").read_text(encoding="utf-8"))["units"][0]
    out = []
    for n in range(count):
        code = f"U{n:03d}"
        unit = dict(sample, code=code, name=f"第{n + 1}窗口单位", short_name=f"窗口单位{n + 1}", seal="seal_SJ.png")
        unit["number_formats"] = {k: f"{code}〔{{year}}〕{{seq}}号" for k in sample["number_formats"]}
        out.append(unit)
    return out


def _workspace(home: Path, units: list[dict], database_url: str | None) -> None:
    from archive import centre  # noqa: F401  (the desks, as every skin has them)
    from archive.core import calendar as cal
    from archive.core import workspace
    from archive.core.session import Session

    sample = json.loads((ROOT / "archive" / "data" / "sample_centre.json").read_text(encoding="utf-8"))
    config = {"version": 1, "centre": sample["centre"], "units": units}
    if database_url:
        config["settings"] = {"database_url": database_url}
    ws = workspace.create(home, config=config,
                          seals={"seal_SJ.png": ROOT / "archive" / "data" / "seal_SJ.png"})
    with Session(ws, superuser=True) as session:  # setting up, as on the server's own shell
        cal.save_schedules(session, cal.schedules_from_chinesecalendar())


def _fill(home: Path, units: list[dict], cases: int, seed: int = 16) -> dict:
    """Insert the month; returns counts of what was made."""
    from archive.core import store as st
    from archive.core.config import open_workspace
    from archive.core.session import Session

    rng = random.Random(seed)
    session = Session(open_workspace(home), superuser=True)
    calendar = session.calendar
    month_days = [dt.date(2026, 10, d) for d in range(1, 32)]
    workdays = [d for d in month_days if calendar.is_workday(d)]
    as_of = dt.date(2026, 10, 31)
    items = []
    for u in units:
        for k in range(10):
            spot = k < 6
            items.append({"code": f"{u['code']}-{k:02d}", "name": f"{u['name']}事项{k + 1}", "unit": u["code"],
                          "case_type": "on_the_spot" if spot else "promised", "promised_days": 0 if spot else (3, 5, 5, 10)[k - 6],
                          "statutory_days": 20, "legal_basis": "《中华人民共和国行政许可法》", "fee": "不收费",
                          "delivery": "窗口领取", "materials": [], "updated_at": NOW})
    clerks = {u["code"]: [f"{SURNAMES[(i * 7 + j) % 20]}{GIVEN[(i * 3 + j * 5) % 20]}{j + 1}" for j in range(5)]
              for i, u in enumerate(units)}
    by_unit = {}
    for item in items:
        by_unit.setdefault(item["unit"], []).append(item)
    applicant = {"kind": "person", "name": "张三", "id_number": "11010519491231002X", "phone": "13800138000", "legal_rep": ""}
    counts = dict(cases=0, events=0, notices=0, ratings=0, rectifications=0)
    with session.store.write() as conn:
        conn.execute(st.items.insert(), items)
    case_id = 0
    notice_id = 0
    for start in range(0, cases, CHUNK):
        case_rows, events, notices, ratings, rects = [], [], [], [], []
        for n in range(start, min(start + CHUNK, cases)):
            case_id += 1
            unit = units[n % len(units)]["code"]
            item = rng.choice(by_unit[unit])
            clerk = rng.choice(clerks[unit])
            received = workdays[n * len(workdays) // cases]  # cases arrive in the order they are received
            promised = item["promised_days"]
            row = dict(id=case_id, case_no=f"{unit}{received:%Y%m%d}{n:07d}", item_code=item["code"], unit=unit,
                       case_type=item["case_type"], applicant=applicant, status="concluded", materials=[],
                       defects={}, missing=[], received_on=received,
                       check_due_on=calendar.add_workdays(received, 5), accepted_on=received, deemed_accepted=False,
                       due_on=calendar.add_workdays(received, promised), promised_days=promised, statutory_days=20,
                       paused_on=None, paused_workdays=0, extended_days=0, decision="approved", decision_reason=None,
                       concluded_on=received, sealed_at=NOW, created_at=NOW, updated_at=NOW, clerk=clerk)
            events.append(dict(case_id=case_id, subject=row["case_no"], action="receive", operator=clerk, at=NOW, detail={}))
            r = rng.random()
            if r < 0.01:  # refused at the window
                row.update(status="not_accepted", accepted_on=None, due_on=None, decision="not_accepted")
            elif r < 0.02:  # taken in for review and forgotten: deemed accepted
                row.update(status="received", accepted_on=None, due_on=None, decision=None, concluded_on=None,
                           sealed_at=None)
            elif promised:
                if r < 0.08:  # one supplement notice, accepted a day or two later
                    notice_id += 1
                    notices.append(dict(id=notice_id, kind="supplement", unit=unit, year=2026, seq=notice_id,
                                        number=f"{unit}补{notice_id}", check_code="0000", case_id=case_id,
                                        subject=row["case_no"], reprint_no=0, path=f"n/{notice_id}.docx",
                                        sha256="0" * 64, context={}, issued_on=received, issued_at=NOW,
                                        operator=clerk))
                    accepted = calendar.add_workdays(received, rng.choice((1, 2)))
                    row.update(accepted_on=accepted, due_on=calendar.add_workdays(accepted, promised))
                accepted, due = row["accepted_on"], row["due_on"]
                if r < 0.11:  # excluded time: paused the next working day for two working days
                    paused_on = calendar.add_workdays(accepted, 1)
                    resumed = calendar.add_workdays(paused_on, 2)
                    due = calendar.add_workdays(due, 2)
                    row.update(paused_workdays=2, due_on=due)
                    events.append(dict(case_id=case_id, subject=row["case_no"], action="pause", operator=clerk, at=NOW,
                                       detail={"on": paused_on.isoformat(), "reason": "专家评审"}))
                    events.append(dict(case_id=case_id, subject=row["case_no"], action="resume", operator=clerk, at=NOW,
                                       detail={"on": resumed.isoformat(), "paused_workdays": 2}))
                elif r < 0.12:  # extended by 5 working days
                    due = calendar.add_workdays(due, 5)
                    row.update(extended_days=5, due_on=due)
                took = rng.choice((0, 1, 2, 2, 3, 3, 4, promised, promised, promised + 1, promised + 3))
                concluded = calendar.add_workdays(accepted, took + row["paused_workdays"])
                if concluded > as_of or rng.random() < 0.03:
                    row.update(status="accepted", decision=None, concluded_on=None, sealed_at=None)
                else:
                    row.update(concluded_on=concluded, decision="denied" if rng.random() < 0.02 else "approved")
            if row["status"] == "concluded" and rng.random() < 0.33:
                level = rng.choices((5, 4, 3, 2, 1), weights=(70, 20, 6, 3, 1))[0]
                rating_id = len(ratings) + counts["ratings"] + 1
                ratings.append(dict(id=rating_id, case_id=case_id, case_no=row["case_no"], unit=unit,
                                    item_code=item["code"], clerk=clerk, level=level, overall=level, efficiency=level,
                                    quality=level, attitude=level, comment=None, source="device",
                                    rated_on=row["concluded_on"], recorded_at=NOW, operator=clerk))
                if level <= 2:
                    due_fix = calendar.add_workdays(row["concluded_on"], 15)
                    done = rng.random() < 0.5
                    fixed = calendar.add_workdays(row["concluded_on"], rng.choice((5, 10, 18))) if done else None
                    rects.append(dict(rating_id=rating_id, case_id=case_id, case_no=row["case_no"], unit=unit,
                                      item_code=item["code"], clerk=clerk, opened_on=row["concluded_on"], due_on=due_fix,
                                      followed_up_on=row["concluded_on"] if done else None, follow_up="已回访" if done else None,
                                      followed_up_by=clerk if done else None, rectified_on=fixed,
                                      rectified="已整改" if done else None, rectified_by=clerk if done else None))
            case_rows.append(row)
        _bulk(session, ((st.cases, case_rows), (st.events, events), (st.notices, notices),
                        (st.ratings, ratings), (st.rectifications, rects)))
        counts["cases"] += len(case_rows)
        counts["events"] += len(events)
        counts["notices"] += len(notices)
        counts["ratings"] += len(ratings)
        counts["rectifications"] += len(rects)
        print(f"  已写入 {counts['cases']:,} 件", end="\r", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    # The rows went in beside the library: count supervision's facts from them, as the
    # first report after an upgrade does for the cases a store already holds.
    from archive.supervision import ledger

    started = time.perf_counter()
    with session.store.write() as conn:
        ledger.rebuild(conn, calendar)
    counts["facts_seconds"] = round(time.perf_counter() - started, 1)
    with session.store.write() as conn:  # planner statistics, as a maintained database has them
        conn.exec_driver_sql("ANALYZE")
    session.close()
    return counts


def _bulk(session, batches) -> None:
    """Insert rows fast through the driver: executemany on SQLite, COPY on PostgreSQL."""
    raw = session.store.engine.raw_connection()
    try:
        cursor = raw.cursor()
        postgres = session.store.engine.dialect.name == "postgresql"
        if not postgres:
            cursor.execute("BEGIN")
        for table, rows in batches:
            if not rows:
                continue
            names = list(rows[0])
            json_columns = {c.name for c in table.columns if c.type.__class__.__name__ == "JSON"}

            def value(name, v):
                if name in json_columns:
                    return json.dumps(v, ensure_ascii=False)
                if not postgres and isinstance(v, (dt.date, dt.datetime)):
                    return v.isoformat(sep=" ") if isinstance(v, dt.datetime) else v.isoformat()
                return v

            tuples = [tuple(value(n, row[n]) for n in names) for row in rows]
            if postgres:
                with cursor.copy(f"COPY {table.name} ({', '.join(names)}) FROM STDIN") as copy:
                    for item in tuples:
                        copy.write_row(item)
            else:
                marks = ", ".join("?" for _ in names)
                cursor.executemany(f"INSERT INTO {table.name} ({', '.join(names)}) VALUES ({marks})", tuples)
        raw.commit()
    finally:
        raw.close()


def _machine_speed() -> float:
    """Seconds a fixed pure-Python loop takes now (about 0.25 s when this machine runs at its
    usual speed): printed beside each report, since a shared VM's speed moves by half from one
    minute to the next and a report's seconds mean little without it."""
    started = time.perf_counter()
    total = 0
    for i in range(3_000_000):
        total += i * i % 7
    return time.perf_counter() - started


def _measure(home: str) -> None:
    """Run in a child process: one timed month's report; prints a JSON line."""
    import resource

    from archive.centre import open_session
    from archive.supervision import report

    with open_session(home) as session:
        session.today = TODAY
        session.calendar  # the calendar is read once per session, not part of the report
        with session.store.read() as conn:  # the connection the report will use, opened beforehand
            conn.exec_driver_sql("SELECT 1")
        speed = _machine_speed()
        server = _server_cpu()
        started, cpu = time.perf_counter(), time.process_time()
        result = report.window(session, scope=None, month=MONTH)
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
        server = _server_cpu() - server if server is not None else None
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    t = result.totals
    print(json.dumps({"seconds": round(seconds, 2), "cpu": round(cpu, 2),
                      "server_cpu": round(server, 2) if server is not None else None,
                      "load": round(os.getloadavg()[0], 2), "speed": round(speed, 3),
                      "peak_mb": round(peak_mb), "received": t.received,
                      "concluded": t.concluded, "on_time_rate": t.on_time_rate, "overdue": t.overdue,
                      "open": t.open, "red_cards": len(result.red_cards), "units": len(result.units),
                      "items": len(result.items), "clerks": len(result.clerks)}))


def _server_cpu() -> float | None:
    """CPU seconds the PostgreSQL server has used (postmaster, its live backends and those that ended).

    The server named by ``BENCH_PG_DATA`` (its data folder); None on SQLite, where the
    store's work is the process's own.
    """
    data = os.environ.get("BENCH_PG_DATA")
    if not data:
        return None
    tick = os.sysconf("SC_CLK_TCK")
    master = int((Path(data) / "postmaster.pid").read_text().split()[0])

    def fields(pid):
        text = Path(f"/proc/{pid}/stat").read_text()
        return text[text.rindex(")") + 2:].split()

    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            f = fields(entry.name)
        except OSError:
            continue
        pid = int(entry.name)
        if pid == master:  # its own time and that of backends that have ended
            total += sum(int(v) for v in f[11:15])
        elif int(f[1]) == master:
            total += int(f[11]) + int(f[12])
    return total / tick


def _prepare_again(home: Path) -> dict:
    """A kept workspace: migrate its store to the newest schema and bring the facts up to date."""
    from archive.centre import open_session
    from archive.core import store as st
    from archive.supervision import ledger

    with open_session(str(home)) as session:
        st.upgrade(session.store)
        started = time.perf_counter()
        ledger.ensure(session)
        return {"facts_seconds": round(time.perf_counter() - started, 1)}


UNSWEPT = "archive_unswept"  # PostgreSQL: the generated month's copy, before any report


def _admin(database_url: str, *statements: str) -> None:
    """Run statements on the server's maintenance database (CREATE/DROP DATABASE need no transaction)."""
    import psycopg

    url = database_url.replace("postgresql+psycopg://", "postgresql://").rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(url, autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement)


def _save_unswept(home: Path, database_url: str | None) -> None:
    """Keep a copy of the store as generated, before a report records the month's red cards."""
    if database_url:
        _admin(database_url, f"DROP DATABASE IF EXISTS {UNSWEPT}", f"CREATE DATABASE {UNSWEPT} TEMPLATE archive")
    else:
        copy = home.with_name(home.name + ".unswept")
        shutil.rmtree(copy, ignore_errors=True)
        shutil.copytree(home, copy)


def _restore_unswept(home: Path, database_url: str | None) -> bool:
    """Put the kept store back to its generated copy; False when an older run kept none."""
    if database_url:
        import psycopg

        try:
            _admin(database_url, "DROP DATABASE archive", f"CREATE DATABASE archive TEMPLATE {UNSWEPT}")
        except psycopg.errors.InvalidCatalogName:
            _admin(database_url, "CREATE DATABASE archive")  # DROP ran: nothing else to go back to
            return False
        return True
    copy = home.with_name(home.name + ".unswept")
    if not copy.exists():
        return False
    shutil.rmtree(home)
    shutil.copytree(copy, home)
    return True


PREVIOUS_WORKDAY = dt.date(2026, 10, 30)  # the Friday before TODAY, a Monday


def _sweep(home: str) -> None:
    """Run in a child process: the red cards as the server's sweeper left them on the previous working day."""
    from archive.centre import open_session
    from archive.supervision import alerts

    with open_session(home) as session:
        session.today = PREVIOUS_WORKDAY
        print(json.dumps(alerts.record_red_cards(session, as_of=PREVIOUS_WORKDAY).to_dict()))


def _child(mode: str, home: Path, env: dict, label: str) -> dict:
    out = subprocess.run([sys.executable, __file__, mode, str(home)], capture_output=True, text=True, env=env)
    if out.returncode != 0:
        print(out.stderr, file=sys.stderr)
        raise SystemExit(f"{label} 报表失败")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _run_store(label: str, home: Path, units, cases: int, database_url: str | None, reuse: bool = False,
               server_data: Path | None = None, repeat: int = 1) -> None:
    started = time.perf_counter()
    env = dict(os.environ)
    if database_url and server_data:
        env["BENCH_PG_DATA"] = str(server_data)
    steady = True
    if reuse and (home / "config.json").exists():
        if _restore_unswept(home, database_url):
            print(f"== {label}：沿用 {home} 中已生成的数据（恢复到报表前的副本）…", flush=True)
        else:
            print(f"== {label}：沿用 {home} 中已生成的数据（无报表前副本，红牌已在册）…", flush=True)
            steady = False
        counts = _prepare_again(home)
    else:
        print(f"== {label}：准备 {cases:,} 件（{len(units)} 个单位）…", flush=True)
        _workspace(home, units, database_url)
        counts = _fill(home, units, cases)
        _save_unswept(home, database_url)
    print(f"   准备用时 {time.perf_counter() - started:.0f} 秒：{counts}", flush=True)

    def again_from_the_copy():
        _restore_unswept(home, database_url)
        _prepare_again(home)
        swept = _child("--sweep", home, env, label)
        print(f"   （已按 {PREVIOUS_WORKDAY} 登记红牌，不计时：{swept}）", flush=True)

    if steady:
        runs = [("首次：整月红牌待登记（无人登记过）", None), ("再次：红牌已在册", None),
                ("日常：前一工作日已登记（archive serve 的登记线程或 cron 的 archive warning sweep）",
                 again_from_the_copy)]
    else:
        runs = [("再次（沿用）", None), ("再次（沿用）", None)]
    measured: dict[str, list[dict]] = {}
    for repetition in range(1, repeat + 1):
        if repetition > 1 and steady:  # the store as generated again, for the first report
            _restore_unswept(home, database_url)
            _prepare_again(home)
        for run, before in runs:
            if before:
                before()
            figures = _child("--measure", home, env, label)
            measured.setdefault(run, []).append(figures)
            verdict = "达标" if figures["seconds"] <= 5 and figures["peak_mb"] <= 1024 else "未达标"
            server = f"，数据库服务器 CPU {figures['server_cpu']:.2f} 秒" if figures.get("server_cpu") is not None else ""
            print(f"   第 {repetition} 轮 月报 {run}：{figures['seconds']:.2f} 秒（本进程 CPU {figures['cpu']:.2f} 秒{server}，"
                  f"负载 {figures['load']}，本机速度 {figures['speed']:.2f} 秒），内存峰值 {figures['peak_mb']} MB（{verdict}）", flush=True)
            print(f"     收件 {figures['received']:,}　办结 {figures['concluded']:,}　按时办结率 {figures['on_time_rate']}"
                  f"　超期件 {figures['overdue']:,}　在办 {figures['open']:,}　红牌 {figures['red_cards']:,}"
                  f"　单位/事项/人员 {figures['units']}/{figures['items']}/{figures['clerks']}", flush=True)
    if repeat > 1:
        print(f"   {repeat} 轮的中位数（对照目标 ≤ 5 秒、≤ 1 GB）：", flush=True)
        for run, results in measured.items():
            seconds = sorted(r["seconds"] for r in results)
            median = statistics.median(seconds)
            peak = max(r["peak_mb"] for r in results)
            verdict = "达标" if median <= 5 and peak <= 1024 else "未达标"
            speeds = sorted(r["speed"] for r in results)
            print(f"     {run}：{median:.2f} 秒（各轮 {' / '.join(f'{x:.2f}' for x in seconds)}；本机速度 "
                  f"{speeds[0]:.2f}–{speeds[-1]:.2f} 秒），内存峰值 {peak} MB（{verdict}）", flush=True)


def _kept_port(home: Path) -> int | None:
    """The port a kept workspace's store was on (its URL names it), so a kept server starts there again."""
    try:
        url = json.loads((home / "config.json").read_text(encoding="utf-8"))["settings"]["database_url"]
    except (OSError, KeyError, ValueError):
        return None
    return int(url.rsplit(":", 1)[1].split("/", 1)[0])


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Postgres:
    """A throwaway PostgreSQL server in a temporary folder on a loopback port."""

    def __init__(self, folder: Path | None = None, port: int | None = None):
        bins = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))
        if not bins:
            raise RuntimeError("未找到 PostgreSQL（/usr/lib/postgresql/*/bin/pg_ctl）")
        self.bin = bins[-1].parent
        self.kept = folder is not None  # a kept server's data folder outlives the run
        if folder is not None:
            folder.mkdir(parents=True, exist_ok=True)
        self.dir = folder or Path(tempfile.mkdtemp(prefix="bench-pg-"))
        self.port = port or _free_port()
        self.user = "postgres" if os.geteuid() == 0 else None

    def _run(self, *args):
        command = [str(a) for a in args]
        if self.user:
            command = ["runuser", "-u", self.user, "--", *command]
        subprocess.run(command, check=True, capture_output=True, text=True)

    def __enter__(self):
        if self.user:
            shutil.chown(self.dir, self.user)
        data = self.dir / "data"
        fresh = not data.exists()
        if fresh:
            self._run(self.bin / "initdb", "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8")
        options = (f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c shared_buffers=256MB "
                   "-c work_mem=64MB -c fsync=off -c synchronous_commit=off")
        self._run(self.bin / "pg_ctl", "-D", data, "-o", options, "-l", self.dir / "log", "-w", "start")
        if fresh:
            self._run(self.bin / "createdb", "-h", "127.0.0.1", "-p", self.port, "-U", "postgres", "archive")
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/archive"

    def __exit__(self, *exc):
        try:
            self._run(self.bin / "pg_ctl", "-D", self.dir / "data", "-m", "fast", "-w", "stop")
        finally:
            if not self.kept:
                shutil.rmtree(self.dir, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--units", type=int, default=200)
    parser.add_argument("--store", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--keep", help="keep the workspaces in this folder")
    parser.add_argument("--reuse", action="store_true", help="measure again on what --keep DIR holds")
    parser.add_argument("--repeat", type=int, default=3,
                        help="measure the three reports this many times, the store put back each time; "
                             "the targets are judged on the medians (default 3)")
    parser.add_argument("--measure", help=argparse.SUPPRESS)
    parser.add_argument("--sweep", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.reuse and not args.keep:
        parser.error("--reuse needs --keep DIR")
    if args.repeat < 1:
        parser.error("--repeat 至少为 1")
    if args.measure:
        _measure(args.measure)
        return
    if args.sweep:
        _sweep(args.sweep)
        return
    units = _units(args.units)
    base = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="bench-report-"))
    print(f"负载：{os.getloadavg()[0]:.2f}（1 分钟平均）", flush=True)
    try:
        if args.store in ("sqlite", "both"):
            _run_store("SQLite", base / "sqlite", units, args.cases, None, args.reuse, repeat=args.repeat)
        if args.store in ("postgresql", "both"):
            try:
                import psycopg  # noqa: F401
            except ImportError:
                print("== PostgreSQL：未安装 psycopg，跳过", flush=True)
                return
            home = base / "postgresql"
            try:
                server = _Postgres(base / "postgresql-server", _kept_port(home)) if args.keep else _Postgres()
            except RuntimeError as exc:
                print(f"== PostgreSQL：{exc}，跳过", flush=True)
                return
            with server as url:
                _run_store("PostgreSQL", home, units, args.cases, url, args.reuse, server.dir / "data", args.repeat)
    finally:
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)
    print(f"负载：{os.getloadavg()[0]:.2f}（1 分钟平均）", flush=True)


if __name__ == "__main__":
    main()
