"""The long work a skin may run in the background, as kinds of :mod:`archive.core.jobs`.

Each kind calls the desk's own library function with a progress callback, as the CLI
does; the library keeps its checks (permission, clearance) and its all-or-nothing per item.
Importing this module registers the kinds:

- ``file`` (归档): ``volumes.file_cases`` for the cases named; the result lists the volumes
  filed and the cases refused, each with its reason (``volume.file``);
- ``verify`` (完整性校验): ``fixity.verify`` of the whole shelf or the volumes named; the
  result is the recorded run and its problems (``fixity.verify``);
- ``catalogue_export`` (案卷目录导出): ``catalogues.export`` to .xlsx or .docx under
  ``documents/catalogues/``; the file is downloaded through :func:`result_file`, which checks
  who asks (``catalogue.read``).

- ``reindex`` (重建检索索引): ``search.index.rebuild``, the whole index built again from the
  store in a new folder and swapped in (``index.maintain``, the system administrator's). Its
  workers are spawned, not forked, from the runner's thread; the server's indexer thread
  keeps applying the change log to the current index meanwhile (see ``index.reindex``). One
  rebuild at a time: submitting one while another is queued or running answers that one.

Only the owner follows a job, or an account holding the kind's permission that sees at
least what the owner sees (see :func:`archive.core.jobs.get`).
"""

from __future__ import annotations

from pathlib import Path

from .core import jobs
from .core.errors import InputError, NotFoundError
from .core.validate import check_code, check_positive_int

MAX_CASES = 500  # cases one filing job takes


def _check_file(session, params: dict) -> dict:
    cases = params.get("cases")
    if isinstance(cases, str):
        cases = [cases]
    if not cases or not isinstance(cases, list):
        raise InputError("请至少选择一件要归档的办件", field="cases")
    if len(cases) > MAX_CASES:
        raise InputError(f"一次最多归档 {MAX_CASES} 件，本次选了 {len(cases)} 件", field="cases",
                         hint="分几次提交")
    return {"cases": list(dict.fromkeys(check_code(c, "办件编号", max_length=64) for c in cases))}


def _run_file(session, params: dict, progress) -> dict:
    from .shelf import volumes

    cases = params["cases"]
    progress(0, len(cases), f"准备归档 {len(cases)} 件")

    def step(done, total, case_no):
        progress(done, total, f"已处理 {done}/{total} 件：{case_no}")

    result = volumes.file_cases(session, cases, progress=step)
    return {"filed": [{"archival_code": v.archival_code, "case": v.case, "title": v.title, "pages": v.pages,
                       "items_count": v.items_count, "merged_pdf": bool(v.merged_pdf)} for v in result.filed],
            "refused": [{"case": case, **exc.to_dict()["error"]} for case, exc in result.failed]}


def _check_verify(session, params: dict) -> dict:
    codes = params.get("codes") or []
    if not isinstance(codes, list):
        raise InputError("要校验的档号应为列表", field="codes")
    return {"codes": [check_code(c, "档号", max_length=100) for c in codes]}


def _run_verify(session, params: dict, progress) -> dict:
    from .shelf import fixity

    def step(done, total, code):
        progress(done, total, f"已校验 {done}/{total} 个文件（{code}）")

    progress(0, 0, "清点要校验的文件")
    report = fixity.verify(session, params.get("codes") or None, progress=step)
    return dict(report.to_dict(), run=report.run, volumes=report.volumes, bytes=report.bytes,
                refused=[])


def _check_export(session, params: dict) -> dict:
    from .shelf.catalogues import FORMATS

    fmt = str(params.get("format") or "xlsx").strip().lower()
    if fmt not in FORMATS:
        raise InputError(f"目录格式“{fmt}”无效，可选：xlsx、docx", field="format")
    year, catalogue = params.get("year"), params.get("catalogue")
    blank = (None, "")
    return {"format": fmt, "class_code": (str(params.get("class_code") or "").strip() or None),
            "year": None if year in blank else check_positive_int(year, "年度", minimum=1949, maximum=2999),
            "catalogue": None if catalogue in blank else check_positive_int(catalogue, "目录号", maximum=999)}


def _run_export(session, params: dict, progress) -> dict:
    from .shelf import catalogues

    progress(0, 1, "整理案卷目录")
    path, found = catalogues.export(session, fmt=params["format"], class_code=params.get("class_code"),
                                    year=params.get("year"), catalogue=params.get("catalogue"))
    progress(1, 1, f"已写出 {path.name}")
    return {"file": session.ws.relative(path), "name": path.name, "format": params["format"],
            "catalogues": len(found), "volumes": sum(len(s.rows) for s in found), "refused": []}


def _run_reindex(session, params: dict, progress) -> dict:
    from .search import index

    progress(0, 0, "读取数据库中的办件")

    def step(done, total, label):
        progress(done, total, f"已索引 {done}/{total} 件")

    report = index.rebuild(session, progress=step)
    return dict(report.to_dict(), no_text=report.to_dict()["no_text"][:100], no_text_count=len(report.no_text),
                refused=[])


for _kind in (
    jobs.Kind("file", "归档", "volume.file", _run_file, _check_file, watch="volume.file", first_step="开始归档"),
    jobs.Kind("verify", "完整性校验", "fixity.verify", _run_verify, _check_verify, watch="fixity.verify",
              first_step="开始校验"),
    jobs.Kind("catalogue_export", "案卷目录导出", "catalogue.read", _run_export, _check_export,
              first_step="开始导出"),
    jobs.Kind("reindex", "重建检索索引", "index.maintain", _run_reindex, watch="index.maintain",
              first_step="开始重建", single=True),
):
    jobs.register(_kind)


MEDIA = {"xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
         "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document"}


def result_file(session, job_id: str) -> tuple[Path, str, str]:
    """The file a finished export job wrote: (path, download name, media type).

    Only who may see the job, holding ``catalogue.read`` now; NotFoundError when the job
    wrote no file or the file is gone.
    """
    from .core import access

    job = jobs.get(session, job_id)
    access.require(session, "catalogue.read")
    stored = (job.result or {}).get("file") if job.status == jobs.DONE else None
    if not stored:
        raise NotFoundError("这个任务没有生成文件", field="job")
    path = session.ws.absolute(stored)
    if not path.is_file():
        raise NotFoundError(f"任务生成的文件 {job.result.get('name')} 已不在文档目录中", field="job",
                            hint="请重新导出")
    return path, job.result.get("name") or path.name, MEDIA.get(job.result.get("format"), "application/octet-stream")
