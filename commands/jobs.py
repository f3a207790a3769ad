"""`archive jobs`: the operator's background jobs (filing, verify, catalogue export, reindex).

``archive jobs`` ↔ ``jobs.recent``; ``archive jobs show ID`` ↔ ``jobs.get``, whose
``--json`` is the object ``GET /api/v1/jobs/{id}`` answers. Who sees a job is the
library's rule, as on the web: its owner, or an account allowed to follow that kind of
work that sees at least what the owner sees; anyone else is told it does not exist.
"""

from __future__ import annotations

import click

from .common import ArchiveGroup, emit, home_option, json_option, operator_option, session_command


def _when(moment) -> str:
    return moment.isoformat(sep=" ", timespec="seconds") if moment else "—"


def _progress(job) -> str:
    if job.total:
        return f"{job.done}/{job.total}（{job.percent}%）"
    return "100%" if job.status == "done" else "—"


def _line(job) -> str:
    return (f"{job.id}  {job.kind_label}  {job.status_label}  {_progress(job)}  "
            f"提交 {_when(job.created_at)}  开始 {_when(job.started_at)}  结束 {_when(job.finished_at)}")


def _result_lines(kind: str, r: dict) -> list[str]:
    """What a finished job did, in words (its kind's result; ``--json`` has all of it)."""
    if kind == "file":
        lines = [f"已归档 {len(r.get('filed') or [])} 卷"]
        lines += [f"  {v['archival_code']}  {v['title']}（办件 {v['case']}）" for v in r.get("filed") or []]
    elif kind == "verify":
        problems = r.get("problems") or []
        lines = [f"检查了 {r.get('volumes')} 卷的 {r.get('checked')} 个文件，第 {r.get('run')} 次校验："
                 + (f"发现问题 {len(problems)} 处（archive verify 查看）" if problems else "全部完好")]
    elif kind == "catalogue_export":
        lines = [f"已导出 {r.get('catalogues')} 个案卷目录，共 {r.get('volumes')} 卷：{r.get('file')}"]
    elif kind == "reindex":
        lines = [f"检索索引已重建：{r.get('documents')} 件，用时 {r.get('seconds')} 秒"]
    else:
        lines = []
    refused = r.get("refused") or []
    if refused:
        lines.append(f"未能办理 {len(refused)} 件：")
        lines += [f"  {x.get('case', '')}  {x.get('message')}" for x in refused]
    return lines


def _mine(session):
    """The session's account, named: jobs belong to accounts (none for an unnamed operator)."""
    session.operator  # noqa: B018  (raises, saying how to name one, when nobody is named)


@click.group("jobs", cls=ArchiveGroup, invoke_without_command=True)
@home_option
@operator_option
@click.option("--limit", type=click.IntRange(1, 500), default=20, show_default=True, help="最多列出几个任务")
@json_option
@click.pass_context
def jobs_group(ctx, home, operator, limit, as_json):
    """后台任务：列出经办人提交的任务（新的在前），或查看一个任务的进度与结果。

    归档（含 PDF）、完整性校验、案卷目录导出和重建检索索引在网页或接口上提交后在服务器后台进行；
    这里可以查看它们。任务只有提交它的账户（或有权查看这类工作、权限不低于提交人的负责人）能看到，
    其他人查看时答复“找不到”。

    \b
    示例：
      archive jobs --operator 陈静
      archive jobs --operator 陈静 --json
      archive jobs show 3f2a…（任务编号） --operator 陈静 --json
    """
    if ctx.invoked_subcommand is not None:
        return
    import archive.background  # noqa: F401  (the kinds of job: their names)
    from archive.centre import open_session
    from archive.core import jobs

    with open_session(home, operator=operator) as session:
        _mine(session)
        found = jobs.recent(session, limit=limit)
        text = "\n".join(_line(j) for j in found) if found else f"{session.operator} 还没有提交过后台任务"
        emit(as_json, {"jobs": [j.to_dict() for j in found]}, text)


@session_command(jobs_group, "show")
@click.argument("job_id", metavar="任务编号")
@json_option
def show_command(session, job_id, as_json):
    """一个后台任务：类型、状态、进度、提交/开始/结束时间，完成后的结果或未完成的原因。

    --json 输出的对象与接口 GET /api/v1/jobs/{id} 的答复相同。

    \b
    示例：
      archive jobs show 3f2a9c0d5e6b4a718293a4b5c6d7e8f9 --operator 陈静
      archive jobs show 3f2a9c0d5e6b4a718293a4b5c6d7e8f9 --operator 陈静 --json
    """
    import archive.background  # noqa: F401  (the kinds of job)
    from archive.core import jobs

    _mine(session)
    job = jobs.get(session, job_id)
    lines = [f"任务 {job.id}：{job.kind_label}，{job.status_label}，提交人 {job.account}",
             f"进度：{_progress(job)}  {job.label}",
             f"提交 {_when(job.created_at)}  开始 {_when(job.started_at)}  结束 {_when(job.finished_at)}"]
    if job.error:
        lines.append(f"未完成：{job.error.get('message')}" + (f"（{job.error['hint']}）" if job.error.get("hint") else ""))
    if job.result is not None:
        lines += _result_lines(job.kind, job.result)
    emit(as_json, job.to_dict(), "\n".join(lines))


COMMANDS = (jobs_group,)
