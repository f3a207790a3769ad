"""Commands of the archive: filing, volumes, catalogues, fixity, disposal and the scheme.

``archive file`` ↔ ``volumes.file_case`` / ``volumes.file_all_due``; ``archive case attach``
↔ ``volumes.attach`` (registered on the window's ``case`` group); ``archive volume
show|list|note`` ↔ ``volumes.show|list_volumes|note``; ``archive volume
access|access-changes|approve-access|refuse-access`` ↔ ``access_changes.propose|pending|decide``; ``archive catalogue show|export`` ↔
``catalogues.sheets|export``; ``archive verify`` ↔ ``fixity.verify``; ``archive appraise`` ↔
``disposal.appraise``; ``archive destroy`` ↔ ``disposal.destroy``; ``archive scheme check``
↔ ``scheme.check``.
"""

from __future__ import annotations

import sys

import click

from .common import ArchiveGroup, Choice, emit, json_option, progress_reporter, session_command
from .window import case_group


def _size(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f}{unit}" if unit == "B" else f"{n:.1f}{unit}"
        n /= 1024
    return str(n)


def describe_volume(volume, *, show_state: bool = False) -> str:
    from archive.shelf.scheme import retention_text
    from archive.shelf.volumes import STATES

    lines = [
        f"档号：{volume.archival_code}" + ("（预演，未归档）" if volume.dry_run else ""),
        f"案卷题名：{volume.title}",
        f"办件：{volume.case}　分类号：{volume.classification}　目录号：{volume.catalogue:03d}　案卷号：{volume.volume_no:04d}",
        f"年度：{volume.year}　保管期限：{retention_text(volume.retention)}　开放标识：{volume.access}"
        f"　密级：{volume.security_level or '无'}",
        f"起止日期：{volume.start_date.isoformat()} 至 {volume.end_date.isoformat()}　"
        f"共 {volume.items_count} 件 {volume.pages} 页",
    ]
    if show_state:
        lines.append(f"状态：{STATES.get(volume.state, volume.state)}")
        if volume.destroyed_at:
            lines.append(f"销毁：{volume.destroyed_at:%Y-%m-%d %H:%M}，经办人 {volume.destroyed_by}，"
                         f"销毁清册第{volume.destruction_list}号")
    lines.append("卷内文件：")
    for item in volume.items:
        lines.append(f"  {item.number:>2}. {item.title}　{item.doc_number + '　' if item.doc_number else ''}"
                     f"{item.date.isoformat()}　{item.pages}页　sha256:{item.sha256[:12]}…")
    if volume.forms:
        lines.append("案卷表格：")
        for form in volume.forms:
            lines.append(f"  {form.title}：{form.path}")
    for note in volume.notes:
        lines.append(f"备考：{note.at:%Y-%m-%d %H:%M} {note.text}（{note.operator}）")
    if not volume.destroyed_at:
        lines.append(f"存放目录：{volume.folder}")
    return "\n".join(lines)


# -- filing ----------------------------------------------------------------------------------

@session_command(None, "file")
@click.argument("case_no", required=False)
@click.option("--all-due", is_flag=True, help="归档所有已办结（含不予受理）且尚未归档的办件")
@click.option("--dry-run", is_flag=True, help="只显示将如何归档（档号、卷内文件、页数），不写入任何内容")
@click.option("--checker", help="检查人（写入卷内备考表）")
@json_option
def file_command(session, case_no, all_due, dry_run, checker, as_json):
    """把已办结的办件归档为案卷（一案一卷），生成案卷封面、卷内文件目录和卷内备考表。

    \b
    示例：
      archive file SJ202609280001
      archive file SJ202609280001 --dry-run --json
      archive file --all-due
    """
    from archive.shelf import volumes
    from archive.core.errors import InputError

    if bool(case_no) == bool(all_due):
        raise InputError("请指定一个办件编号，或使用 --all-due 归档全部待归档办件（二者选一）", field="case")
    if case_no:
        volume = volumes.file_case(session, case_no, dry_run=dry_run, checker=checker)
        emit(as_json, volume.to_dict(), describe_volume(volume))
        return
    result = volumes.file_all_due(session, dry_run=dry_run, checker=checker,
                                  progress=progress_reporter("归档", as_json))
    lines = [f"{v.archival_code}\t{v.case}\t{v.items_count}件\t{v.pages}页" for v in result.filed]
    for case, error in result.failed:
        lines.append(f"未能归档 {case}：{error}")
    verb = "可归档" if dry_run else "已归档"
    summary = f"{verb} {len(result.filed)} 卷" + ("（预演，未写入）" if dry_run else "")
    if result.failed:
        summary += f"，未能归档 {len(result.failed)} 件"
    if not result.filed and not result.failed:
        summary = "没有可归档的办件：" + _why_nothing_due(session)
    lines.append(summary)
    emit(as_json, result.to_dict(), "\n".join(lines))
    if result.failed:
        sys.exit(max(e.exit_code for _c, e in result.failed))


def _why_nothing_due(session) -> str:
    from archive.shelf import volumes
    from archive.window.cases import STATUSES

    waiting = {status: n for status, n in volumes.unfiled_by_status(session).items() if n}
    if not waiting:
        return "还没有办件，或全部办件都已归档（只有办结或不予受理的办件才能归档）"
    shown = "、".join(f"{STATUSES.get(status, status)} {n} 件" for status, n in waiting.items())
    return f"只有办结或不予受理的办件才能归档，尚未归档的办件都还在办理中（{shown}）；办结后再归档：archive case conclude 办件编号 --decision 准予"


@session_command(case_group, "attach")
@click.argument("case_no")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--title", required=True, help="材料题名，如“营业执照复印件”")
@json_option
def attach_command(session, case_no, file, title, as_json):
    """为办件添加申请人提交的材料扫描件（PDF 或 PNG/JPEG/TIFF 图片），归档时一并入卷。

    \b
    示例：
      archive case attach SJ202609280001 营业执照.pdf --title 营业执照复印件
    """
    from archive.shelf import volumes

    added = volumes.attach(session, case_no, file, title=title)
    emit(as_json, added.to_dict(),
         f"已添加：{added.title}（{'PDF' if added.kind == 'pdf' else '图片'}，{added.pages}页）\n存放：{added.path}")


# -- volumes ---------------------------------------------------------------------------------

@click.group("volume", cls=ArchiveGroup)
def volume_group():
    """案卷：查看、列出、在卷内备考表中追加说明、调整开放标识和密级。"""


@session_command(volume_group, "show")
@click.argument("code")
@json_option
def volume_show(session, code, as_json):
    """查看一个案卷：卷内文件、表格、状态和备考说明。

    \b
    示例：
      archive volume show "Z023-XK·ZC·2026·D30-001-0001" --json
    """
    from archive.shelf import volumes

    volume = volumes.show(session, code)
    emit(as_json, volume.to_show_dict(), describe_volume(volume, show_state=True))


@session_command(volume_group, "list")
@click.option("--class", "class_code", help="分类号，如 XK·ZC")
@click.option("--year", type=int, help="年度")
@click.option("--catalogue", type=int, help="目录号")
@click.option("--state", type=Choice("archive.shelf.volumes:STATES"), help="按状态筛选（英文或中文均可）")
@json_option
def volume_list(session, class_code, year, catalogue, state, as_json):
    """列出案卷。

    \b
    示例：
      archive volume list --class XK·ZC --year 2026
    """
    from archive.shelf import volumes

    found = volumes.list_volumes(session, class_code=class_code, year=year, catalogue=catalogue, state=state)
    lines = [f"{v.archival_code}\t{v.case}\t{v.pages}页\t{volumes.STATES.get(v.state, v.state)}\t{v.title}"
             for v in found]
    emit(as_json, [v.summary() for v in found], "\n".join(lines) or "（没有符合条件的案卷）")


def _describe_change(change) -> str:
    lines = [f"第{change.number}号调整申请（{change.status_text}）：{change.archival_code} {change.title}",
             f"  {'；'.join(change.changes)}", f"  理由：{change.reason}",
             f"  提出：{change.requested_by}，{change.requested_at:%Y-%m-%d %H:%M}"]
    if change.decided_by:
        lines.append(f"  审批：{change.decided_by}，{change.decided_at:%Y-%m-%d %H:%M}"
                     + (f"，意见：{change.decision_note}" if change.decision_note else ""))
    return "\n".join(lines)


@session_command(volume_group, "access")
@click.argument("code")
@click.option("--access", help="新的开放标识：开放、控制、延期开放、未审核")
@click.option("--security-level", help="新的密级：秘密、机密、绝密，或“无”")
@click.option("--reason", required=True, help="调整理由（批准后记入卷内备考表）")
@json_option
def volume_access(session, code, access, security_level, reason, as_json):
    """提出调整案卷的开放标识或密级：由另一位有审批权的负责人（档案室负责人）以自己的账户批准后才生效。

    \b
    示例：
      archive volume access "Z023-XK·ZC·2026·D30-001-0001" --access 开放 \\
          --reason 经开放审核，卷内个人信息已作技术处理
    """
    from archive.shelf import access_changes

    change = access_changes.propose(session, code, access=access, security_level=security_level, reason=reason)
    emit(as_json, change.to_dict(), _describe_change(change) + "\n待档案室负责人审批："
         f"archive volume approve-access {change.number}")


@session_command(volume_group, "access-changes")
@json_option
def volume_access_changes(session, as_json):
    """列出待审批的开放标识/密级调整申请（档案室负责人）。

    \b
    示例：
      archive volume access-changes
    """
    from archive.shelf import access_changes

    found = access_changes.pending(session)
    emit(as_json, [c.to_dict() for c in found],
         "\n".join(_describe_change(c) for c in found) or "（没有待审批的调整申请）")


@session_command(volume_group, "approve-access")
@click.argument("proposal")
@click.option("--note", help="审批意见（可不填）")
@json_option
def volume_approve_access(session, proposal, note, as_json):
    """批准一项开放标识/密级调整申请：调整生效，记入卷内备考表，并重新制作案卷封面。不能批准自己提出的申请。

    \b
    示例：
      archive volume approve-access 1
    """
    from archive.shelf import access_changes

    change = access_changes.decide(session, proposal, approve=True, note=note)
    emit(as_json, change.to_dict(), "已批准并调整：" + _describe_change(change))


@session_command(volume_group, "refuse-access")
@click.argument("proposal")
@click.option("--reason", required=True, help="不批准的理由")
@json_option
def volume_refuse_access(session, proposal, reason, as_json):
    """不批准一项开放标识/密级调整申请（须说明理由）；案卷的标识不变。

    \b
    示例：
      archive volume refuse-access 1 --reason 卷内仍有未处理的个人信息
    """
    from archive.shelf import access_changes

    change = access_changes.decide(session, proposal, approve=False, note=reason)
    emit(as_json, change.to_dict(), "未批准：" + _describe_change(change))


@session_command(volume_group, "note")
@click.argument("code")
@click.option("--text", required=True, help="追加到卷内备考表的说明（已归档的文件不会被修改）")
@json_option
def volume_note(session, code, text, as_json):
    """在卷内备考表中追加一条说明（重新生成备考表，原文件保留）。

    \b
    示例：
      archive volume note "Z023-XK·ZC·2026·D30-001-0001" --text 申请人补交营业执照原件核验无误
    """
    from archive.shelf import volumes

    volume = volumes.note(session, code, text=text)
    sheet = next((f.path for f in volume.forms if f.kind == "notes_sheet"), "")
    emit(as_json, volume.to_show_dict(), f"已追加备考说明：{volume.archival_code}\n卷内备考表：{sheet}")


# -- catalogues --------------------------------------------------------------------------------

def _catalogue_filters(func):
    func = click.option("--catalogue", type=int, help="目录号")(func)
    func = click.option("--class", "class_code", help="分类号，如 XK·ZC")(func)
    func = click.option("--year", type=int, help="年度")(func)
    func = click.option("--fonds", help="全宗号（默认本工作区的全宗）")(func)
    return func


@click.group("catalogue", cls=ArchiveGroup)
def catalogue_group():
    """案卷目录：查看与导出（Excel 或可打印的 Word 文档）。"""


@session_command(catalogue_group, "show")
@_catalogue_filters
@json_option
def catalogue_show(session, fonds, year, class_code, catalogue, as_json):
    """查看案卷目录（案卷号、档号、案卷题名、起止日期、页数、保管期限、备注）。

    \b
    示例：
      archive catalogue show --year 2026 --class XK·ZC
    """
    from archive.shelf import catalogues
    from archive.shelf.scheme import load

    found = catalogues.sheets(session, fonds=fonds, year=year, class_code=class_code, catalogue=catalogue)
    scheme = load(session)
    lines = []
    for sheet in found:
        lines.append(sheet.heading(scheme.fonds_code, scheme.fonds_name))
        lines.append("\t".join(catalogues.COLUMNS))
        lines += ["\t".join(map(str, row.cells())) for row in sheet.rows]
        lines.append(f"共 {len(sheet.rows)} 卷，{sheet.pages} 页")
        lines.append("")
    emit(as_json, [s.to_dict() for s in found], "\n".join(lines).rstrip() or "（没有符合条件的案卷）")


@session_command(catalogue_group, "export")
@_catalogue_filters
@click.option("--format", "fmt", type=Choice({"xlsx": "Excel 表格", "docx": "Word 文档"}), default="xlsx",
              show_default=True, help="xlsx：Excel 表格；docx：可打印的 Word 文档")
@click.option("--out", type=click.Path(dir_okay=False), help="输出文件（默认存入工作区 documents/catalogues/）")
@json_option
def catalogue_export(session, fonds, year, class_code, catalogue, fmt, out, as_json):
    """导出案卷目录为 Excel 表格或可打印的 Word 文档（每个目录号一张表）。

    \b
    示例：
      archive catalogue export --year 2026 --format xlsx
      archive catalogue export --class XK·ZC --format docx --out 案卷目录.docx
    """
    from archive.shelf import catalogues

    path, found = catalogues.export(session, fmt=fmt, out=out, fonds=fonds, year=year, class_code=class_code,
                                    catalogue=catalogue)
    data = {"path": str(path), "format": fmt, "catalogues": len(found),
            "volumes": sum(len(s.rows) for s in found)}
    emit(as_json, data, f"已导出案卷目录：{path}（{data['catalogues']} 个目录，{data['volumes']} 卷）")


# -- fixity ------------------------------------------------------------------------------------

@session_command(None, "verify")
@click.argument("codes", nargs=-1)
@click.option("--last", "show_last", is_flag=True, help="只显示上一次检查的结果")
@json_option
def verify_command(session, codes, show_last, as_json):
    """检查归档文件是否完整：重新计算校验值，报告被改动、缺失或多余的文件（有问题时退出码为 1）。

    \b
    示例：
      archive verify
      archive verify "Z023-XK·ZC·2026·D30-001-0001" --json
      archive verify --last
    """
    from archive.shelf import fixity

    if show_last:
        summary = fixity.last(session)
        if summary is None:
            emit(as_json, None, "尚未进行过完整性检查")
            return
        emit(as_json, summary.to_dict(), f"上次检查：{summary.at}（{summary.operator}），检查文件 {summary.checked} 个，"
             f"{_size(summary.bytes)}，发现问题 {len(summary.problems)} 处")
        return
    report = fixity.verify(session, list(codes))
    lines = [f"{fixity.PROBLEMS[p.problem]}\t{p.archival_code or '（不属于任何案卷）'}\t{p.path}" for p in report.problems]
    if any(p.problem == "destroying" for p in report.problems):
        from archive.shelf import disposal

        for number in disposal.pending_lists(session):
            lines.append(f"第{number}号销毁清册已开始执行但未完成，运行以下命令完成：archive destroy --list {number} --yes")
    lines.append(f"检查 {report.volumes} 卷、{report.checked} 个文件（{_size(report.bytes)}）："
                 + ("全部完好" if report.ok else f"发现问题 {len(report.problems)} 处"))
    emit(as_json, report.to_dict(), "\n".join(lines))
    if not report.ok:
        sys.exit(1)


# -- disposal ----------------------------------------------------------------------------------

def _describe_list(result) -> str:
    from archive.shelf.scheme import retention_text

    lines = [f"{e.number}\t{e.archival_code}\t{e.year}\t{retention_text(e.retention)}\t{e.pages}页\t{e.title}"
             for e in result.entries]
    return "\n".join(lines)


@session_command(None, "appraise")
@click.option("--as-of", required=True, help="鉴定截止日期 YYYY-MM-DD：列出到该日保管期限已满的案卷")
@click.option("--dry-run", is_flag=True, help="只列出到期案卷，不编制销毁清册")
@click.option("--appraiser", "appraisers", multiple=True,
              help="鉴定小组成员（可多次）；不填时清册上留空，由成员签名")
@json_option
def appraise_command(session, as_of, dry_run, appraisers, as_json):
    """鉴定：列出保管期限已满的案卷，并编制销毁清册（草稿，.docx）。

    \b
    示例：
      archive appraise --as-of 2037-01-01
    """
    from archive.shelf import disposal

    result = disposal.appraise(session, as_of, dry_run=dry_run, appraisers=appraisers)
    if result.status == "empty":
        text = f"截至 {result.as_of.isoformat()} 没有保管期限已满、尚未列入销毁清册的案卷"
    else:
        text = _describe_list(result) + f"\n共 {len(result.entries)} 卷，{result.total_pages} 页"
        if result.number:
            text += (f"\n已编制第{result.number}号销毁清册（草稿）：{result.path}"
                     f"\n下一步：负责人批准 archive destroy --list {result.number} --approve；"
                     "两名监销人各自确认 archive destroy --list 编号 --witness")
    emit(as_json, result.to_dict(), text)


@session_command(None, "destroy")
@click.option("--list", "list_no", required=True, type=int, help="销毁清册编号（archive appraise 编制）")
@click.option("--approve", "action", flag_value="approve", help="以经办人（须有批准销毁清册的权限）的身份批准清册")
@click.option("--witness", "action", flag_value="witness",
              help="以经办人的身份确认监销；两名不同的监销人各自确认，第二人确认时执行销毁")
@click.option("--method", help="销毁方式，批准时确定（默认：删除全部存储文件，保留目录记录）")
@click.option("--reviewer", help="审核销毁清册的档案部门负责人，批准时确定（不填时清册上留空待签名）")
@click.option("--dry-run", is_flag=True, help="只显示将销毁的案卷和文件，不做任何改动")
@click.option("--yes", is_flag=True, help="不再询问确认（供脚本使用）")
@json_option
def destroy_command(session, list_no, action, method, reviewer, dry_run, yes, as_json):
    """销毁清册的批准、监销与执行：删除存储的文件，目录中保留并标注“已销毁”，档号不再使用。

    批准人和两名监销人都是账户，各自以自己的身份操作（--operator 或 ARCHIVE_OPERATOR）；
    批准人不能担任监销人，两名监销人须为不同的人。第二名监销人确认时执行销毁。
    不带 --approve/--witness 时，完成一次被中断的销毁。

    \b
    示例：
      archive destroy --list 1 --approve --operator 周敏
      archive destroy --list 1 --witness --operator 陈静
      archive destroy --list 1 --witness --operator 赵立新 --yes
    """
    from archive.core.errors import InputError
    from archive.shelf import disposal

    if action == "approve":
        result = disposal.approve(session, list_no, method=method, reviewer=reviewer)
        emit(as_json, result.to_dict(), _describe_list(result) + f"\n第{result.number}号销毁清册已由{result.approver}批准；"
             "须由两名不同的监销人各自确认：archive destroy --list " + f"{result.number} --witness --operator 监销人")
        return
    if action == "witness" and not yes:
        preview = disposal.show_list(session, list_no)
        if len(preview.confirmed) + 1 >= disposal.WITNESSES:  # this confirmation executes the list
            if not sys.stdin.isatty():
                # Piped input ("echo n | archive destroy …") is no confirmation: refuse rather than guess.
                raise InputError("销毁前须确认：没有终端可以询问，请核对销毁清册后加 --yes 执行", field="yes")
            click.echo(_describe_list(preview), err=True)
            click.confirm(f"确认监销并销毁以上 {len(preview.entries)} 卷？", abort=True, err=True)
    if action == "witness":
        result = disposal.witness(session, list_no)
        if result.status != "executed":
            emit(as_json, result.to_dict(), f"已确认监销第{result.number}号销毁清册（{len(result.confirmed)}/"
                 f"{disposal.WITNESSES}）；还须另一名监销人用自己的账户确认")
            return
    else:
        if method or reviewer:
            raise InputError("销毁方式和档案部门负责人在批准时确定：archive destroy --list 编号 --approve --method … "
                             "--reviewer …", field="method" if method else "reviewer")
        if not dry_run and not yes and not sys.stdin.isatty():
            raise InputError("销毁前须确认：没有终端可以询问，请核对销毁清册后加 --yes 执行（或先用 --dry-run 预演）",
                             field="yes")
        if not dry_run and not yes:
            preview = disposal.destroy(session, list_no, dry_run=True)
            click.echo(_describe_list(preview), err=True)
            click.confirm(f"确认销毁以上 {len(preview.entries)} 卷（{preview.removed_files} 个文件）？", abort=True,
                          err=True)
        result = disposal.destroy(session, list_no, dry_run=dry_run)
    head = "预演：将销毁" if dry_run else "已销毁"
    text = (_describe_list(result) + f"\n{head} {len(result.entries)} 卷，删除文件 {result.removed_files} 个"
            f"（{_size(result.removed_bytes)}）；批准人 {result.approver}，监销人 {'、'.join(result.witnesses)}")
    if result.executed_path:
        text += f"\n销毁清册（已执行）：{result.executed_path}"
    emit(as_json, result.to_dict(), text)


# -- scheme ------------------------------------------------------------------------------------

@click.group("scheme", cls=ArchiveGroup)
def scheme_group():
    """档案分类方案：全宗、类目、案卷目录与档号格式。"""


@session_command(scheme_group, "check")
@json_option
def scheme_check(session, as_json):
    """检查分类方案：每个事项都要归入类目，每个保管期限都要有案卷目录（有问题时退出码为 1）。

    \b
    示例：
      archive scheme check --json
    """
    from archive.shelf import scheme

    report = scheme.check(session)
    lines = [f"全宗：{report.scheme.fonds_code} {report.scheme.fonds_name}　类目 {len(report.scheme.classes)} 个　"
             f"案卷目录 {len(report.scheme.catalogues)} 个　事项 {report.items_checked} 个",
             f"档号格式：{report.scheme.code_template}"]
    lines += [f"问题：{p.message}" for p in report.problems]
    lines.append("分类方案完整" if report.ok else f"发现问题 {len(report.problems)} 处")
    emit(as_json, report.to_dict(), "\n".join(lines))
    if not report.ok:
        sys.exit(1)


COMMANDS = (file_command, volume_group, catalogue_group, verify_command, appraise_command, destroy_command,
            scheme_group)
