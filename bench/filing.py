"""Benchmark: filing concluded cases as volumes, and verifying the stored files.

    python bench/filing.py [--count 1000] [--pdf-count 20] [--keep]

Sets up a sample workspace in a temporary folder with ``--count`` concluded cases (a mix
of approvals, denials and cases not accepted, spread over every service item), then prints:

* volumes/s for ``archive file --all-due`` without PDF conversion (items and forms as .docx);
* volumes/s with PDF conversion for a smaller batch (``--pdf-count``; every volume then
  needs several LibreOffice conversions and a merged, stamped PDF), when LibreOffice is
  installed;
* ``verify`` throughput in MB/s over every stored file, against a plain ``sha256sum`` of
  the same files in the same run (both with a warm page cache), and their ratio.

Targets (issue 4): ≥ 20 volumes/s without PDF; verify within 1.5× of sha256sum.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DAY = dt.date(2026, 9, 28)
PEOPLE = ["11010519491231002X", "110101199003071233", "330106198507150013", "440305199212120022"]
NAMES = "赵钱孙李周吴郑王冯陈褚卫蒋沈韩杨朱秦尤许何吕施张孔曹严华金魏陶姜"


def make_cases(session, count: int, *, label: str) -> None:
    from archive.window import cases
    from archive.window import catalog
    from archive.window.cases import Applicant

    items = [i for i in catalog.list_items(session)]
    started = time.perf_counter()
    for n in range(count):
        item = items[n % len(items)]
        required = [m.code for m in item.materials if m.required]
        who = Applicant.person(f"{NAMES[n % len(NAMES)]}某{n}", PEOPLE[n % len(PEOPLE)], "13800138000")
        if n % 10 == 9:  # not accepted (out of competence)
            r = cases.receive(session, item_code=item.code, applicant=who, materials=required[:1], received_on=DAY,
                              defer=True)
            cases.reject(session, r.case.case_no, ground="out-of-scope", reason="该事项由区级部门实施",
                         competent_organ="江州市江城区人民政府", on=DAY)
            continue
        r = cases.receive(session, item_code=item.code, applicant=who, materials=required, received_on=DAY)
        if n % 10 == 8:
            cases.conclude(session, r.case.case_no, decision="denied", reason="经审查不符合法定条件", on=DAY)
        else:
            cases.conclude(session, r.case.case_no, decision="approved", on=DAY)
    print(f"  准备 {count} 个已办结办件（{label}）：{time.perf_counter() - started:.1f} s", file=sys.stderr)


def file_all(session) -> tuple[int, float]:
    from archive.shelf import volumes

    started = time.perf_counter()
    result = volumes.file_all_due(session)
    elapsed = time.perf_counter() - started
    if result.failed:
        raise SystemExit(f"归档失败：{result.failed[0][0]}：{result.failed[0][1]}")
    return len(result.filed), elapsed


def stored_files(session) -> list[str]:
    from sqlalchemy import select

    from archive.core import store as st

    with session.store.read() as conn:
        return [str(session.ws.absolute(p)) for p in conn.execute(select(st.volume_items.c.path)).scalars()]


def sha256sum_seconds(files: list[str]) -> float:
    data = b"\0".join(f.encode() for f in files)
    started = time.perf_counter()
    subprocess.run(["xargs", "-0", "sha256sum", "--"], input=data, stdout=subprocess.DEVNULL, check=True)
    return time.perf_counter() - started


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1000, help="cases filed without PDF (default 1000)")
    parser.add_argument("--pdf-count", type=int, default=20, help="cases filed with PDF conversion (default 20)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary workspace and print its path")
    args = parser.parse_args(argv)

    from archive import centre
    from archive.core.config import open_workspace
    from archive.documents import office
    from archive.documents.office import libreoffice_available
    from archive.core.session import Session

    tmp = Path(tempfile.mkdtemp(prefix="bench-filing-"))
    try:
        home = tmp / "home"
        centre.init(home, sample=True).close()
        print(f"归档基准（{os.cpu_count()} 核）", flush=True)

        # The window receives and concludes (王芳); the archive files and verifies (陈静).
        with Session(open_workspace(home, pdf="never"), operator="王芳", today=DAY) as session:
            make_cases(session, args.count, label="不转 PDF")
            filed, elapsed = file_all(session.as_operator("陈静"))
            print(f"不转换 PDF：归档 {filed} 卷，用时 {elapsed:.2f} s，{filed / elapsed:.1f} 卷/秒（目标 ≥ 20）")

        if args.pdf_count and libreoffice_available():
            pdf_home = tmp / "pdf-home"
            centre.init(pdf_home, sample=True).close()
            with Session(open_workspace(pdf_home, pdf="always"), operator="王芳", today=DAY) as session:
                make_cases(session, args.pdf_count, label="出具文书时即生成 PDF")
                office.converter(session)  # start LibreOffice before timing (a batch pays this once)
                filed, elapsed = file_all(session.as_operator("陈静"))
                print(f"转换 PDF（较小批量 {filed} 卷，每卷转换申请登记表、办结审批单和三张表格并合并加盖档号）："
                      f"用时 {elapsed:.2f} s，{filed / elapsed:.2f} 卷/秒")
        elif args.pdf_count:
            print("转换 PDF：未安装 LibreOffice，跳过")

        with Session(open_workspace(home, pdf="never"), operator="陈静", today=DAY) as session:
            from archive.shelf import fixity

            files = stored_files(session)
            size = sum(os.path.getsize(f) for f in files)
            fixity.verify(session, record=False)  # warm the page cache for both contenders
            sha_s = sha256sum_seconds(files)
            started = time.perf_counter()
            report = fixity.verify(session)
            verify_s = time.perf_counter() - started
            if not report.ok:
                raise SystemExit(f"完整性检查发现问题：{report.problems[:3]}")
            sha_s = min(sha_s, sha256sum_seconds(files))
            started = time.perf_counter()
            fixity.hash_files(files, workers=1)
            single_s = time.perf_counter() - started
            mb = size / 1e6
            print(f"完整性检查：{len(files)} 个文件，{mb:.1f} MB")
            print(f"  archive verify：{verify_s:.2f} s，{mb / verify_s:.0f} MB/s（含查询、遍历目录、记录结果）")
            print(f"  单线程只算校验值：{single_s:.2f} s，{mb / single_s:.0f} MB/s（对照：不用线程池时）")
            print(f"  sha256sum：     {sha_s:.2f} s，{mb / sha_s:.0f} MB/s")
            print(f"  verify / sha256sum 用时之比：{verify_s / sha_s:.2f}（目标 ≤ 1.5）")
    finally:
        if args.keep:
            print(f"工作区保留在：{tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
