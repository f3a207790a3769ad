"""Benchmark: `archive serve` under 20 clerks, against the library called directly.

    python bench/web.py [--clerks 20] [--seconds 20] [--workers 2] [--pdf-seconds 20]

Starts `archive serve` on 127.0.0.1 (a free port) on a fresh sample centre, logs in N
clerk accounts (httpx, async) and has each, for a fixed time, receive a case through
``POST /api/v1/cases`` (the .docx notice written; PDF output off), open the case page and
fetch the notice (.docx; the PDF in the second phase). Prints p50/p95 per step and the server's receive throughput, then the
same receive done by the library directly in this process on the same machine, and their
ratio. A second phase runs the server with PDF output on and times a receive until its
notice's PDF is ready (``GET /api/v1/notices/{id}/pdf`` answers 200).

Targets (issue 14): page GET p95 ≤ 100 ms; receive with its .docx p95 ≤ 300 ms; notice PDF
ready p95 ≤ 1.5 s; server receive throughput ≥ 70 % of the library's.
Only loopback traffic; every loop stops at its deadline.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import shutil
import socket
import statistics
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
    def __init__(self, home: Path, *, pdf: str, workers: int):
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = dict(os.environ, ARCHIVE_HOME=str(home), ARCHIVE_TODAY=DAY, ARCHIVE_PDF=pdf)
        self.proc = subprocess.Popen([sys.executable, str(ROOT / "cli.py"), "serve", "--port", str(self.port),
                                      "--workers", str(workers)], cwd=ROOT, env=env,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
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


def pct(values, q):
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


async def clerk(url, name, seconds, steps, *, pdf=False):
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
            t0 = time.perf_counter()
            page = await client.get(f"/cases/{made['case']}")
            steps["case page GET"].append(time.perf_counter() - t0)
            page.raise_for_status()
            t0 = time.perf_counter()
            doc = await client.get(f"/api/v1/notices/{notice}/docx")
            steps["notice .docx GET"].append(time.perf_counter() - t0)
            doc.raise_for_status()


def run_clerks(url, names, seconds, *, pdf=False):
    steps = {k: [] for k in (("pdf ready",) if pdf else ("receive (.docx)", "case page GET", "notice .docx GET",
                                                          "received in time"))}

    async def main():
        await asyncio.gather(*(clerk(url, name, seconds, steps, pdf=pdf) for name in names))

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


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clerks", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--pdf-seconds", type=float, default=20)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench-web-"))
    try:
        home = work / "home"
        names = make_centre(home, args.clerks)
        print(f"archive serve, {args.clerks} clerks, {args.seconds:.0f} s, {args.workers} worker(s), PDF off:")
        server = Server(home, pdf="never", workers=args.workers)
        try:
            steps, elapsed = run_clerks(server.url, names, args.seconds)
        finally:
            server.stop()
        in_time = steps.pop("received in time")
        for step, values in steps.items():
            print(f"  {step:<18} n={len(values):5d}  p50 {pct(values, 50) * 1000:7.1f} ms  "
                  f"p95 {pct(values, 95) * 1000:7.1f} ms")
        server_rate = len(in_time) / args.seconds
        print(f"  server receive throughput: {server_rate:.1f} cases/s ({len(in_time)} within {args.seconds:.0f} s; "
              f"the last loops ended after {elapsed:.1f} s)")

        n, spent, times = library_direct(home, names[0], args.seconds)
        direct_rate = n / spent
        print(f"library receive directly (one process, same workspace): {direct_rate:.1f} cases/s, "
              f"p50 {pct(times, 50) * 1000:.1f} ms, p95 {pct(times, 95) * 1000:.1f} ms")
        print(f"  server / library throughput: {server_rate / direct_rate * 100:.0f} %")

        pdf = shutil.which("soffice") or shutil.which("libreoffice")
        if pdf and args.pdf_seconds > 0:
            print(f"archive serve with PDF output, {args.clerks} clerks, {args.pdf_seconds:.0f} s:")
            server = Server(home, pdf="always", workers=args.workers)
            try:
                pdf_steps, _ = run_clerks(server.url, names, args.pdf_seconds, pdf=True)
            finally:
                server.stop()
            values = pdf_steps["pdf ready"]
            print(f"  receive → notice PDF ready  n={len(values)}  p50 {pct(values, 50) * 1000:.0f} ms  "
                  f"p95 {pct(values, 95) * 1000:.0f} ms")
        else:
            print("PDF phase skipped (no LibreOffice)")
        page = max(pct(steps["case page GET"], 95), pct(steps["notice .docx GET"], 95))
        print("targets: page GET p95 ≤ 100 ms: {:.0f} ms; receive p95 ≤ 300 ms: {:.0f} ms; "
              "server ≥ 70 % of library: {:.0f} %".format(page * 1000, pct(steps["receive (.docx)"], 95) * 1000,
                                                        server_rate / direct_rate * 100))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
