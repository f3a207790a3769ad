"""Commands of the lending area: borrowers, lend, return, renew, overdue, copies, register, report."""

from __future__ import annotations

import click

from .common import ArchiveGroup, Choice, emit, json_option, session_command

APPROVAL_HELP = "批准人级别：head-in-charge（分管负责人，默认）或 principal-head（主要负责人）"


def _approver(loan) -> str:
    from archive.lending.rules import APPROVALS

    if not loan.approved_by:  # only asked for when approval was needed
        return "（未审批）"
    return f"{loan.approved_by}（{APPROVALS.get(loan.approver_level, loan.approver_level)}）"


def _describe_loan(loan) -> str:
    from archive.lending.rules import APPROVALS

    head = "【预检通过，未登记】" if loan.dry_run else f"借阅单号：{loan.loan}"
    lines = [
        head,
        f"档号：{loan.archival_code}",
        f"题名：{loan.title}",
        f"借阅人：{loan.borrower} {loan.borrower_name}（{loan.borrower_unit}）",
        f"利用方式：{loan.mode_name}　利用目的：{loan.purpose}",
        f"借阅日期：{loan.lent_on.isoformat()}　应还日期：{loan.due_on.isoformat()}",
        "审批：无需审批" + (f"（批准人：{_approver(loan)}）" if loan.approved_by else "")
        if loan.approval_needed == "none" else f"审批：须经{APPROVALS[loan.approval_needed]}批准；批准人：{_approver(loan)}",
    ]
    if loan.renewals:
        lines.append(f"续借：{len(loan.renewals)}次")
    if loan.returned_on:
        lines.append(f"归还日期：{loan.returned_on.isoformat()}")
    return "\n".join(lines)


def _describe_borrower(b) -> str:
    data = b.to_dict()
    state = f"已停借（{b.blocked_reason}）" if b.blocked else "可借阅"
    return "\n".join([
        f"借阅证号：{b.code}",
        f"姓名：{b.name}　单位：{b.unit}",
        f"类型：{b.type_name}　角色：{b.role}",
        f"身份证号码：{data['id_number']}　联系电话：{b.phone}",
        f"状态：{state}",
    ])


# -- borrowers ------------------------------------------------------------------------------

@click.group("borrower", cls=ArchiveGroup)
def borrower_group():
    """借阅人：登记、查看、停借。"""


@session_command(borrower_group, "add")
@click.option("--name", required=True, help="姓名")
@click.option("--unit", help="工作单位（社会公众可不填）")
@click.option("--type", "kind", required=True, help="类型：internal（内部人员）、agency（外单位人员）、public（社会公众）")
@click.option("--id-number", required=True, help="身份证号码（校验位会被核对）")
@click.option("--phone", required=True, help="联系电话")
@click.option("--role", help="角色，决定能查看哪些档案（默认按类型：内部/外单位为 staff，公众为 public）")
@json_option
def borrower_add(session, name, unit, kind, id_number, phone, role, as_json):
    """登记借阅人，发给借阅证号。

    \b
    示例：
      archive borrower add --name 李四 --unit 江州市市场监督管理局 --type internal \\
          --id-number 11010519491231002X --phone 13800138000
    """
    from archive.lending import borrowers

    b = borrowers.add(session, name=name, unit=unit, type=kind, id_number=id_number, phone=phone, role=role)
    emit(as_json, b.to_dict(), f"已登记借阅人\n{_describe_borrower(b)}")


@session_command(borrower_group, "list")
@click.option("--type", "kind", help="只列出该类型：internal、agency、public")
@click.option("--blocked/--active", default=None, help="只列出已停借的 / 可借阅的")
@click.option("--query", help="按姓名或单位查找")
@json_option
def borrower_list(session, kind, blocked, query, as_json):
    """列出借阅人。

    \b
    示例：
      archive borrower list --type public
    """
    from archive.lending import borrowers

    found = borrowers.list_borrowers(session, type=kind, blocked=blocked, query=query)
    lines = [f"{b.code}\t{b.name}\t{b.unit}\t{b.type_name}\t{b.role}" + ("\t已停借" if b.blocked else "")
             for b in found]
    emit(as_json, [b.to_dict() for b in found], "\n".join(lines) or "（没有借阅人）")


@session_command(borrower_group, "show")
@click.argument("borrower")
@json_option
def borrower_show(session, borrower, as_json):
    """查看借阅人及其未归还的借阅（按借阅证号或身份证号码）。

    \b
    示例：
      archive borrower show JZ0001
    """
    from archive.lending import borrowers

    record = borrowers.show(session, borrower)
    lines = [_describe_borrower(record.borrower), f"累计借阅：{record.uses}次"]
    for loan in record.open_loans:
        lines.append(f"未归还：{loan.loan}　{loan.archival_code}　{loan.mode_name}　应还 {loan.due_on.isoformat()}")
    emit(as_json, record.to_dict(), "\n".join(lines))


@session_command(borrower_group, "block")
@click.argument("borrower")
@click.option("--reason", help="停借原因（停借时必填）")
@click.option("--unblock", is_flag=True, help="恢复借阅")
@json_option
def borrower_block(session, borrower, reason, unblock, as_json):
    """停止（或用 --unblock 恢复）借阅人的借阅。

    \b
    示例：
      archive borrower block JZ0001 --reason 归还时发现缺页，待查明
      archive borrower block JZ0001 --unblock
    """
    from archive.lending import borrowers

    b = borrowers.block(session, borrower, reason=reason, unblock=unblock)
    emit(as_json, b.to_dict(), f"{'已恢复借阅' if unblock else '已停止借阅'}：{b.code} {b.name}")


# -- lending ----------------------------------------------------------------------------------

@session_command(None, "lend")
@click.argument("code")
@click.option("--borrower", required=True, help="借阅证号或身份证号码")
@click.option("--purpose", required=True, help="利用目的：工作查考、编史修志、学术研究、经济建设、宣传教育、其他")
@click.option("--mode", required=True, help="利用方式：read（阅览）、excerpt（摘抄）、copy（复制）、loan（外借）；可写中文")
@click.option("--approved-by", help="批准人姓名")
@click.option("--approver-level", help=APPROVAL_HELP)
@click.option("--on", help="借阅日期 YYYY-MM-DD（默认今天）")
@click.option("--dry-run", is_flag=True, help="只检查能否借阅，不登记")
@json_option
def lend_command(session, code, borrower, purpose, mode, approved_by, approver_level, on, dry_run, as_json):
    """按借阅规则借出案卷（阅览、摘抄、复制或外借），登记借阅单。

    规则不允许或缺少所需审批时拒绝（退出码 2），并说明依据的规则。

    \b
    示例：
      archive lend Z023-XK·JY·2026·D30-003-0001 --borrower JZ0001 --purpose 工作查考 --mode 阅览
      archive lend Z023-XK·JY·2026·D30-003-0001 --borrower JZ0001 --purpose 工作查考 \\
          --mode loan --approved-by 赵明 --approver-level head-in-charge
    """
    from archive.lending import loans

    loan = loans.lend(session, code, borrower=borrower, purpose=purpose, mode=mode, approved_by=approved_by,
                      approver_level=approver_level, on=on, dry_run=dry_run)
    emit(as_json, loan.to_dict(), _describe_loan(loan))


@session_command(None, "return")
@click.argument("loan")
@click.option("--pages", required=True, type=int, help="清点的页数（与卷内文件目录核对）")
@click.option("--condition", help="案卷状况，如 完好、第3页撕裂（默认完好）")
@click.option("--effect", help="利用效果，记入借阅登记表")
@click.option("--on", help="归还日期 YYYY-MM-DD（默认今天）")
@json_option
def return_command(session, loan, pages, condition, effect, on, as_json):
    """归还案卷：清点页数；缺页、多页或损坏自动记入卷内备考表并标记待检查。

    \b
    示例：
      archive return JY202600001 --pages 12
      archive return JY202600001 --pages 10 --condition 第3页撕裂
    """
    from archive.lending import loans

    result = loans.return_loan(session, loan, pages=pages, condition=condition, on=on, effect=effect)
    lines = [f"已归还：{result.loan.loan}（{result.loan.archival_code}）",
             f"归还日期：{result.returned_on.isoformat()}",
             f"页数：应为 {result.pages_expected} 页，清点 {result.pages_counted} 页"]
    if result.late_days:
        lines.append(f"逾期 {result.late_days} 天")
    if result.note:
        lines.append(f"已记入卷内备考表并标记待检查：{result.note}")
    emit(as_json, result.to_dict(), "\n".join(lines))


@session_command(None, "renew")
@click.argument("loan")
@click.option("--approved-by", help="批准人姓名（续借须另行审批）")
@click.option("--approver-level", help=APPROVAL_HELP)
@click.option("--on", help="续借日期 YYYY-MM-DD（默认今天）")
@json_option
def renew_command(session, loan, approved_by, approver_level, on, as_json):
    """续借：在规则允许的次数内延长应还日期。

    \b
    示例：
      archive renew JY202600001 --approved-by 赵明
    """
    from archive.lending import loans

    result = loans.renew(session, loan, approved_by=approved_by, approver_level=approver_level, on=on)
    emit(as_json, result.to_dict(), f"已续借：{result.loan}，应还日期改为 {result.due_on.isoformat()}"
                                    f"（第{len(result.renewals)}次续借）")


@session_command(None, "overdue")
@click.option("--as-of", help="统计日期 YYYY-MM-DD（默认今天）")
@click.option("--notices", is_flag=True, help="对到期的逾期借阅出具催还通知单（第一次、第二次、最后一次）")
@json_option
def overdue_command(session, as_of, notices, as_json):
    """列出逾期未还的借阅；--notices 逐级出具催还通知单。

    \b
    示例：
      archive overdue
      archive overdue --as-of 2026-10-20 --notices
    """
    from archive.lending import loans

    report = loans.overdue(session, as_of=as_of, notices=notices)
    lines = [f"截至 {report.as_of.isoformat()}，逾期未还 {len(report.loans)} 卷"]
    for item in report.loans:
        line = (f"{item.loan}\t{item.archival_code}\t{item.borrower} {item.borrower_name}（{item.borrower_phone}）"
                f"\t应还 {item.due_on.isoformat()}\t逾期 {item.days_overdue} 天\t已催还 {item.reminder_level} 次")
        if item.notice:
            line += f"\t本次出具：{item.notice.number} {item.notice.docx}"
        lines.append(line)
    emit(as_json, report.to_dict(), "\n".join(lines))


@session_command(None, "inspect")
@click.argument("code")
@click.option("--result", required=True, help="检查结果与处理情况，记入卷内备考表")
@click.option("--on", help="检查日期 YYYY-MM-DD（默认今天）")
@json_option
def inspect_command(session, code, result, on, as_json):
    """检查归还时标记待检查的案卷，记入卷内备考表并重新上架。

    \b
    示例：
      archive inspect Z023-XK·JY·2026·D30-003-0001 --result 缺页已交回并归位
    """
    from archive.lending import loans

    done = loans.inspect(session, code, result=result, on=on)
    emit(as_json, done, f"已检查并重新上架：{done['archival_code']}\n{done['note']}")


@session_command(None, "copy")
@click.argument("loan")
@click.option("--pages", help="要复制的页码（按卷内文件目录的页号），如 1-5,8；默认全卷")
@click.option("--certified", is_flag=True, help="加盖档案证明章的核对一致复制件（须经批准）")
@click.option("--approved-by", help="批准人姓名（复制须经批准；以复制方式借阅时沿用借阅审批）")
@click.option("--approver-level", help=APPROVAL_HELP)
@click.option("--on", help="复制日期 YYYY-MM-DD（默认今天）")
@json_option
def copy_command(session, loan, pages, certified, approved_by, approver_level, on, as_json):
    """为借阅制作复制件 PDF：每页加“仅供查阅”水印（或档案证明章），并加密禁止修改。

    \b
    示例：
      archive copy JY202600001 --pages 1-5
      archive copy JY202600001 --certified --approved-by 赵明
    """
    from archive.lending import copies

    made = copies.make_copy(session, loan, pages=pages, certified=certified, approved_by=approved_by,
                            approver_level=approver_level, on=on)
    data = made.to_dict()
    emit(as_json, data, f"已制作{'核对一致的' if certified else ''}复制件 {made.copy}（{data['page_count']}页）："
                        f"{made.path}\n标注：{' / '.join(made.marks)}")


# -- register and statistics ------------------------------------------------------------------

@click.group("register", cls=ArchiveGroup)
def register_group():
    """登记簿：借阅登记表（export）、窗口办件登记簿（cases）。"""


@session_command(register_group, "export")
@click.option("--from", "date_from", help="起始日期 YYYY-MM-DD（默认本年1月1日）")
@click.option("--to", "date_to", help="截止日期 YYYY-MM-DD（默认今天）")
@click.option("--format", "fmt", type=Choice({"xlsx": "Excel 表格", "csv": "CSV 文本"}), default="xlsx",
              show_default=True,
              help="导出格式")
@click.option("--out", type=click.Path(dir_okay=False), help="输出文件（默认 documents/registers/ 下）")
@json_option
def register_export(session, date_from, date_to, fmt, out, as_json):
    """导出借阅登记表（每次利用一行）。

    \b
    示例：
      archive register export --from 2026-01-01 --to 2026-12-31 --format xlsx
    """
    from archive.lending import registers

    result = registers.export_register(session, date_from=date_from, date_to=date_to, format=fmt, out=out)
    emit(as_json, result.to_dict(), f"已导出借阅登记表 {result.rows} 条：{result.path}")


@click.group("report", cls=ArchiveGroup)
def report_group():
    """统计报表。"""


def _counts(title: str, counts: dict, names: dict | None = None) -> list[str]:
    names = names or {}
    body = "　".join(f"{names.get(k, k)} {v}" for k, v in counts.items()) or "（无）"
    return [f"{title}：{body}"]


@session_command(report_group, "lending")
@click.option("--year", type=int, required=True, help="年度")
@json_option
def report_lending(session, year, as_json):
    """年度借阅统计：按目的、方式、借阅人类型和单位，逾期情况和平均借期。

    \b
    示例：
      archive report lending --year 2026
    """
    from archive.lending import registers
    from archive.lending.rules import BORROWER_TYPES, MODES

    data = registers.lending_report(session, year)
    overdue = data["overdue"]
    lines = [f"{year}年借阅统计：利用 {data['uses']} 次，{data['volumes']} 卷，借阅人 {data['borrowers']} 人"]
    lines += _counts("按利用目的", data["by_purpose"])
    lines += _counts("按利用方式", data["by_mode"], MODES)
    lines += _counts("按借阅人类型", data["by_borrower_type"], BORROWER_TYPES)
    lines += _counts("按借阅人单位", data["by_unit"])
    lines += _counts("按案卷所属单位", data["by_volume_unit"])
    lines.append(f"逾期：逾期归还 {overdue['returned_late']} 次，截至 {overdue['as_of']} 逾期未还 {overdue['open_overdue']} 卷；"
                 f"催还通知 第一次 {overdue['reminders']['first']} / 第二次 {overdue['reminders']['second']} / "
                 f"最后一次 {overdue['reminders']['final']}")
    average = data["average_loan_days"]
    lines.append(f"外借平均借期：{average if average is not None else '—'} 天；"
                 f"复制件：{data['copies']['ordinary']} 份，核对一致复制件 {data['copies']['certified']} 份")
    emit(as_json, data, "\n".join(lines))


# -- rules ----------------------------------------------------------------------------------

@click.group("lending", cls=ArchiveGroup)
def lending_group():
    """借阅规则。"""


@session_command(lending_group, "rules")
@json_option
def lending_rules(session, as_json):
    """列出借阅规则表（最具体的规则在前；未设定的项目取默认值）。

    \b
    示例：
      archive lending rules
    """
    from archive.lending import rules

    def shown(value):
        if isinstance(value, bool):
            return "是" if value else "否"
        return rules.APPROVALS.get(value, value) if isinstance(value, str) else value

    names = {**rules.BORROWER_TYPES, **rules.MODES, "*": "任意", "none": "非密", "classified": "涉密"}
    table = rules.table(session)
    listing = table.to_list()
    lines = ["编号\t借阅人类型×开放状态×密级×利用方式\t规则\t设定"]
    for r in listing:
        keys = "×".join(names.get(r[k], r[k]) for k in ("borrower_type", "access", "security", "mode"))
        sets = "，".join(f"{rules.FIELD_NAMES[f]}={shown(r[f])}" for f in rules.FIELDS if f in r)
        lines.append(f"{r['id']}\t{keys}\t{r['name']}\t{sets}")
    defaults = "，".join(f"{rules.FIELD_NAMES[f]}={shown(table.defaults[f])}" for f in rules.FIELDS)
    lines.append(f"默认值\t{defaults}")
    emit(as_json, {"rules": listing, "defaults": table.defaults}, "\n".join(lines))


COMMANDS = (borrower_group, lend_command, return_command, renew_command, overdue_command, inspect_command, copy_command,
            register_group, report_group, lending_group)
