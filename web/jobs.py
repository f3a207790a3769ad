"""Long work in the background, seen from the browser: the job page, its progress, its file.

A desk's form submits a job (:func:`start`: ``archive.core.jobs.submit`` checks the
permission and the input first, then the app's runner takes it) and redirects to
``/jobs/{id}``. The page shows a ``<progress>`` bar and the step in words; htmx asks for
``/jobs/{id}/progress`` every second and swaps the fragment only when something changed
(an unchanged job answers 204), and a persistent ``role="status"`` line tells screen
readers. The page is the job's, not the request's: a reload, or coming back later, shows
it as it is. At the end the same fragment is the result (done, refused with reasons,
links to volumes, the export downloaded through ``/jobs/{id}/file``) and polling stops.
Who may see a job is the library's decision (``jobs.get``): anyone else gets the 404 page.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, RedirectResponse, Response

from .common import desk, render

router = APIRouter(include_in_schema=False)

PROBLEMS = {"changed": "已改动", "missing": "缺失", "unexpected": "多出的文件", "destroying": "销毁未完成"}
BACK = {"file": ("/filing", "返回待归档"), "verify": ("/verify", "返回完整性校验"),
        "catalogue_export": ("/catalogues", "返回案卷目录"), "reindex": ("/index", "返回检索索引")}


def start(request: Request, here, kind: str, params: dict):
    """Submit a job of ``kind`` as the request's account and hand it to the app's runner."""
    from archive.core import jobs

    job = jobs.submit(here.session, kind, params)
    request.app.state.jobs.start(job)
    return job


def recent_of(here, kind: str, limit: int = 5) -> list:
    """The account's latest jobs of ``kind``, for the desk page that starts them (a closed tab's job is found again)."""
    from archive.core import jobs

    return jobs.recent(here.session, kind=kind, limit=limit)


def redirect_to(job) -> RedirectResponse:
    return RedirectResponse(f"/jobs/{job.id}", status_code=303)


def _key(job) -> str:
    return f"{job.status}-{job.done}-{job.total}-{len(job.label)}"


def said(job) -> str:
    """The job's state in one sentence, for the screen reader's status line."""
    if job.status == "done":
        return f"{job.kind_label}已完成。"
    if job.status == "failed":
        return f"{job.kind_label}未完成：{(job.error or {}).get('message') or job.label}"
    if job.total:
        return f"{job.kind_label}：{job.label}（{job.percent}%）"
    return f"{job.kind_label}：{job.label}"


def _context(here, job, **extra) -> dict:
    return dict({"csrf": here.csrf, "job": job, "key": _key(job), "said": said(job), "problems": PROBLEMS,
                 "back": BACK.get(job.kind, ("/", "返回首页"))}, **extra)


@router.get("/jobs/{job_id}")
def job_page(request: Request, job_id: str):
    from archive.core import jobs

    here = desk(request)
    return render(request, "job.html", _context(here, jobs.get(here.session, job_id)))


@router.get("/jobs/{job_id}/progress")
def job_fragment(request: Request, job_id: str, seen: str = ""):
    """The progress (or, at the end, the result) fragment; 204 when nothing changed since ``seen``."""
    from archive.core import jobs

    here = desk(request)
    job = jobs.get(here.session, job_id)
    if seen and seen == _key(job) and not job.finished:
        return Response(status_code=204)
    return render(request, "_job.html", _context(here, job, oob=True))


@router.get("/jobs/{job_id}/file")
def job_file(request: Request, job_id: str):
    """The file an export job wrote, only after the library's check (never a static path)."""
    from archive import background

    path, name, media = background.result_file(desk(request).session, job_id)
    return FileResponse(path, media_type=media, filename=name)
