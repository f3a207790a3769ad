"""Commands of the window desk: workspace, catalogue, calendar, cases, notices, appointments."""

from __future__ import annotations

import click

from .common import (
    ArchiveCommand,
    ArchiveGroup,
    Choice,
    describe_result,
    emit,
    home_option,
    json_option,
    session_command,
    split_codes,
)

GROUNDS = Choice({"not-required": "不需要许可", "out-of-scope": "不属于本机关职权"},
                 aliases={"依法不需要许可": "not-required", "不属于职权": "out-of-scope", "非本机关职权": "out-of-scope"})
DECISIONS = Choice("archive.window.cases:DECISIONS", aliases={"准予": "approved", "许可": "approved", "不予": "denied",
                                                             "不许可": "denied"})
CASE_STATUSES = Choice("archive.window.cases:STATUSES", aliases={"暂停": "paused", "暂停计时": "paused",
                                                                "办结": "concluded", "受理": "accepted"})
APPOINTMENT_STATUSES = Choice({"booked": "已预约", "cancelled": "已取消"})


@click.command("init", cls=ArchiveCommand)
@home_option
@click.option("--sample", is_flag=True, help="载入示例服务中心（单位、事项、样章）")
@click.option("--db", "database_url",
              help="数据库地址，写入配置文件；默认为工作区内的 SQLite 文件 archive.db。"
                   "多个窗口共用一台服务器时用 PostgreSQL：postgresql+psycopg://用户@主机/库名（库不存在时自动建立）")
@json_option
def init_command(home, sample, database_url, as_json):
    """建立工作区（数据库、文书目录、配置文件、空的全文检索索引）。

    \b
    示例：
      archive init --home ./demo --sample
      archive init --home /srv/archive --db postgresql+psycopg://archive@localhost/centre
    """
    from archive import centre

    with centre.init(home, sample=sample, database_url=database_url) as session:
        ws = session.ws
        from archive.core.store import shown_url

        data = {"home": str(ws.home), "config": str(ws.config_path), "database": shown_url(ws.database_url),
                "units": len(ws.units), "accounts": session.new_accounts}
    text = f"工作区已就绪：{data['home']}\n配置文件：{data['config']}\n数据库：{data['database']}\n单位数：{data['units']}"
    if session.new_accounts:
        text += "\n\n示例账户（演示密码只显示这一次，首次登录须修改）：\n" + "\n".join(
            f"  {name}  {password}" for name, password in session.new_accounts.items())
    emit(as_json, data, text)


# -- catalog -----------------------------------------------------------------------------

@click.group("catalog", cls=ArchiveGroup)
def catalog_group():
    """事项目录：导入与查看。"""


@session_command(catalog_group, "import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--replace", is_flag=True, help="覆盖已有的同编码事项（默认遇到已有编码即报错）")
@json_option
def catalog_import(session, file, replace, as_json):
    """从 Excel（.xlsx）或 JSON 文件导入事项目录。

    \b
    示例：
      archive catalog import 事项目录.xlsx
      archive catalog import items.json --replace
    """
    from archive.window import catalog

    items = catalog.import_file(session, file, replace=replace)
    emit(as_json, {"imported": len(items), "items": [i.code for i in items]}, f"已导入 {len(items)} 个事项")


@session_command(catalog_group, "list")
@click.option("--unit", help="只列出该单位的事项")
@json_option
def catalog_list(session, unit, as_json):
    """列出事项目录。

    \b
    示例：
      archive catalog list --unit SJ --json
    """
    from archive.window import catalog

    items = catalog.list_items(session, unit=unit)
    lines = ["事项编码\t事项名称\t单位\t办件类型\t承诺期限\t法定期限"]
    lines += [f"{i.code}\t{i.name}\t{i.unit}\t{catalog.CASE_TYPES[i.case_type]}\t"
              f"{_workdays(i.promised_days)}\t{_workdays(i.statutory_days)}" for i in items]
    emit(as_json, [catalog.item_summary(i) for i in items],
         "\n".join(lines) if items else "（事项目录为空：用 archive catalog import 导入，或 archive init --sample 载入示例）")


def _workdays(days: int) -> str:
    return "当场办结" if days == 0 else f"{days}个工作日"


# -- calendar ------------------------------------------------------------------------------

@click.group("calendar", cls=ArchiveGroup)
def calendar_group():
    """节假日安排：载入与查看（期限按工作日计算）。"""


@session_command(calendar_group, "load")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--replace", is_flag=True, help="替换该年度已载入的数据")
@json_option
def calendar_load(session, file, replace, as_json):
    """载入某一年度的节假日和调休安排（JSON 文件，格式见 schemas/calendar.json）。

    \b
    示例：
      archive calendar load 2027.json
    """
    from archive.core import calendar

    schedule = calendar.load_file(session, file, replace=replace)
    emit(as_json, {"year": schedule.year, "holidays": len(schedule.holidays), "workdays": len(schedule.workdays)},
         f"已载入 {schedule.year} 年：放假 {len(schedule.holidays)} 天，调休上班 {len(schedule.workdays)} 天")


@session_command(calendar_group, "list")
@json_option
def calendar_list(session, as_json):
    """列出已载入节假日数据的年度。

    \b
    示例：
      archive calendar list
    """
    years = session.calendar.years()
    emit(as_json, years, "已载入年度：" + "、".join(map(str, years)))


# -- cases ---------------------------------------------------------------------------------

@click.group("case", cls=ArchiveGroup)
def case_group():
    """办件：收件、补正、不予受理、暂停与恢复计时、延期、办结、查询。"""


@session_command(case_group, "receive")
@click.option("--item", "item_code", required=True, help="事项编码（见 archive catalog list）")
@click.option("--applicant", required=True, help="申请人姓名或申请单位名称")
@click.option("--id-number", help="申请人身份证号码（自然人）")
@click.option("--credit-code", help="统一社会信用代码（法人或其他组织）")
@click.option("--legal-rep", help="法定代表人（法人或其他组织）")
@click.option("--phone", required=True, help="联系电话")
@click.option("--materials", default="", help="已收材料编码，逗号分隔，如 M01,M02")
@click.option("--defective", multiple=True, metavar="材料编码=问题", help="已收但有问题的材料，如 M03=已过有效期（可多次）")
@click.option("--received-on", help="收件日期 YYYY-MM-DD（默认今天）")
@click.option("--defer", is_flag=True, help="收件后转后台审查（须在5个工作日内一次告知补正）")
@json_option
def case_receive(session, item_code, applicant, id_number, credit_code, legal_rep, phone, materials, defective,
                 received_on, defer, as_json):
    """收件并当场决定：材料齐全即受理，不齐全一次性告知补正。

    \b
    示例：
      archive case receive --item SJ-XK-001 --applicant 张三 \\
          --id-number 11010519491231002X --phone 13800138000 --materials M01,M02,M03
      archive case receive --item SJ-XK-002 --applicant 江州市甲乙餐饮有限公司 \\
          --credit-code 91330100MA27XL0R3Y --legal-rep 李四 --phone 0571-87654321 --materials M01
    """
    from archive.window import cases
    from archive.core.errors import InputError

    if credit_code and id_number:
        raise InputError("自然人填写 --id-number，法人或其他组织填写 --credit-code，二者不能同时填写", field="id-number")
    if credit_code:
        who = cases.Applicant.organisation(applicant, credit_code, legal_rep or "", phone)
    elif id_number:
        who = cases.Applicant.person(applicant, id_number, phone)
    else:
        raise InputError("请填写申请人的身份证号码（--id-number）或统一社会信用代码（--credit-code）", field="id-number")
    defects = {}
    for entry in defective:
        code, sep, problem = entry.partition("=")
        if not sep:
            raise InputError(f"--defective 的格式应为 材料编码=问题，收到“{entry}”", field="defective")
        defects[code.strip()] = problem
    result = cases.receive(session, item_code=item_code, applicant=who, materials=split_codes(materials),
                           received_on=received_on, defects=defects, defer=defer)
    emit(as_json, result.to_dict(), describe_result(result, session))


@session_command(case_group, "examine")
@click.argument("case_no")
@click.option("--on", help="审查日期 YYYY-MM-DD（默认今天）")
@json_option
def case_examine(session, case_no, on, as_json):
    """审查转后台的收件（--defer），决定受理或一次性告知补正。

    \b
    示例：
      archive case examine SJ202610120001 --on 2026-10-14
    """
    from archive.window import cases

    result = cases.examine(session, case_no, on=on)
    emit(as_json, result.to_dict(), describe_result(result, session))


@session_command(case_group, "supplement")
@click.argument("case_no")
@click.option("--materials", required=True, help="补交的材料编码，逗号分隔")
@click.option("--on", help="补正日期 YYYY-MM-DD（默认今天）")
@json_option
def case_supplement(session, case_no, materials, on, as_json):
    """登记补正材料；补齐后即受理，期限自补齐之日起计算。

    \b
    示例：
      archive case supplement SJ202610120001 --materials M03,M04
    """
    from archive.window import cases

    result = cases.supplement(session, case_no, materials=split_codes(materials), on=on)
    emit(as_json, result.to_dict(), describe_result(result, session))


@session_command(case_group, "reject")
@click.argument("case_no")
@click.option("--ground", required=True, type=GROUNDS,
              help="不予受理的理由类别：not-required（依法不需要许可）或 out-of-scope（不属于本机关职权），可写中文")
@click.option("--reason", required=True, help="具体理由")
@click.option("--competent-organ", help="有权机关名称（不属于本机关职权 out-of-scope 时必填）")
@click.option("--on", help="决定日期 YYYY-MM-DD（默认今天）")
@json_option
def case_reject(session, case_no, ground, reason, competent_organ, on, as_json):
    """作出不予受理决定并打印不予受理决定书。

    \b
    示例：
      archive case reject SJ202610120002 --ground out-of-scope \\
          --reason 该事项由区级部门实施 --competent-organ 江州市江城区市场监督管理局
    """
    from archive.window import cases

    result = cases.reject(session, case_no, ground=ground, reason=reason, competent_organ=competent_organ, on=on)
    emit(as_json, result.to_dict(), describe_result(result, session))


@session_command(case_group, "pause")
@click.argument("case_no")
@click.option("--reason", required=True, help="除外时间事由（听证、检验、检测、鉴定、专家评审等）")
@click.option("--on", help="暂停日期 YYYY-MM-DD（默认今天）")
@click.option("--expected-days", type=int, help="预计所需工作日")
@json_option
def case_pause(session, case_no, reason, on, expected_days, as_json):
    """暂停计时（行政许可法第四十五条）并打印除外时间告知书。

    \b
    示例：
      archive case pause SJ202610120001 --reason 现场核查需专家评审 --expected-days 5
    """
    from archive.window import cases

    result = cases.pause(session, case_no, reason=reason, on=on, expected_days=expected_days)
    emit(as_json, result.to_dict(), describe_result(result, session))


@session_command(case_group, "resume")
@click.argument("case_no")
@click.option("--on", help="恢复计时日期 YYYY-MM-DD（默认今天）")
@json_option
def case_resume(session, case_no, on, as_json):
    """恢复计时；承诺办结日期顺延暂停的工作日数。

    \b
    示例：
      archive case resume SJ202610120001 --on 2026-10-20
    """
    from archive.window import cases

    result = cases.resume(session, case_no, on=on)
    emit(as_json, result.to_dict(), describe_result(result, session))


def _no_typed_approver(approver) -> None:
    """``--approver`` is gone: a head approves as themselves, never as a typed name."""
    if approver is not None:
        from archive.core.errors import InputError

        raise InputError("批准人不再手工填写：负责人须用自己的账户批准（以本人为经办人运行"
                         "“archive case approve-extension 办件编号”，或在网页“延期审批”中批准）", field="approver",
                         hint="去掉 --approver；单位负责人自己登记延期或办结时，即以其本人为批准人")


@session_command(case_group, "extend")
@click.argument("case_no")
@click.option("--days", required=True, type=int, help="延长的工作日数（一般不超过10日，联办件不超过15日）")
@click.option("--reason", required=True, help="延期理由（将告知申请人）")
@click.option("--on", help="申请日期 YYYY-MM-DD（默认今天；须在办结期限届满前）")
@click.option("--approver", hidden=True, help="已停用：批准人不再手工填写")
@json_option
def case_extend(session, case_no, days, reason, on, approver, as_json):
    """申请延长办理期限（行政许可法第四十二条，限一次），待本单位负责人批准。

    窗口工作人员提出申请后，办件显示“延期待批”；负责人批准后顺延承诺办结日期并打印
    延期告知书（批准人为批准的负责人本人）。单位负责人自己申请的，即时批准。

    \b
    示例：
      archive case extend SJ202610120001 --days 10 --reason 需补充现场勘验 --operator 王芳
      archive case approve-extension SJ202610120001 --operator 钱进
    """
    from archive.window import cases

    _no_typed_approver(approver)
    result = cases.extend(session, case_no, days=days, reason=reason, on=on)
    emit(as_json, result.to_dict(), describe_result(result, session))


@session_command(case_group, "approve-extension")
@click.argument("case_no")
@click.option("--on", help="批准日期 YYYY-MM-DD（默认今天；须在办结期限届满前）")
@json_option
def case_approve_extension(session, case_no, on, as_json):
    """以负责人本人的账户批准办件的延期申请，顺延期限并打印延期告知书。

    不能批准自己提出的申请；办结期限已过的不能再批准。

    \b
    示例：
      archive case extensions --operator 钱进
      archive case approve-extension SJ202610120001 --operator 钱进
    """
    from archive.window import cases

    result = cases.approve_extension(session, case_no, on=on)
    emit(as_json, result.to_dict(), describe_result(result, session))


@session_command(case_group, "refuse-extension")
@click.argument("case_no")
@click.option("--reason", required=True, help="不批准的理由（告知提出申请的窗口工作人员）")
@click.option("--on", help="审批日期 YYYY-MM-DD（默认今天）")
@json_option
def case_refuse_extension(session, case_no, reason, on, as_json):
    """以负责人本人的账户不批准办件的延期申请（须写明理由），期限不变。

    \b
    示例：
      archive case refuse-extension SJ202610120001 --reason 可在承诺期限内办结 --operator 钱进
    """
    from archive.window import cases

    result = cases.refuse_extension(session, case_no, reason=reason, on=on)
    emit(as_json, result.to_dict(), describe_result(result, session))


@session_command(case_group, "extensions")
@json_option
def case_extensions(session, as_json):
    """列出等待本人批准的延期申请（本人所辖单位的，不含本人提出的）。

    \b
    示例：
      archive case extensions --operator 钱进
    """
    from archive.window import cases

    found = cases.pending_extensions(session)
    lines = ["办件编号\t事项\t申请人\t承诺办结\t延长\t理由\t提出人"]
    lines += [f"{r.case_no}\t{r.item_name}\t{r.applicant}\t{r.due_on.isoformat() if r.due_on else ''}\t"
              f"{r.days}个工作日\t{r.reason}\t{r.requested_by}" for r in found]
    emit(as_json, [r.to_dict() for r in found], "\n".join(lines) if found else "没有等待批准的延期申请。")


@session_command(case_group, "conclude")
@click.argument("case_no")
@click.option("--decision", required=True, type=DECISIONS,
              help="办结决定：approved（准予许可）或 denied（不予许可），可写中文")
@click.option("--reason", help="不予许可的理由（不予许可 denied 时必填）")
@click.option("--on", help="办结日期 YYYY-MM-DD（默认今天）")
@click.option("--approver", hidden=True, help="已停用：批准人不再手工填写")
@json_option
def case_conclude(session, case_no, decision, reason, on, approver, as_json):
    """办结；不予许可时打印不予许可决定书。补办件材料未补齐时不能准予许可。

    单位负责人办结的，办结审批单以其本人为批准人；窗口工作人员办结的，审批单不列批准人。

    \b
    示例：
      archive case conclude SJ202610120001 --decision approved --operator 钱进
      archive case conclude SJ202610120003 --decision denied --reason 经现场核查不符合条件
    """
    from archive.window import cases

    _no_typed_approver(approver)
    result = cases.conclude(session, case_no, decision=decision, reason=reason, on=on)
    emit(as_json, result.to_dict(), describe_result(result, session))


@session_command(case_group, "show")
@click.argument("case_no")
@json_option
def case_show(session, case_no, as_json):
    """查看一个办件及其全部文书。

    \b
    示例：
      archive case show SJ202610120001 --json
    """
    from archive.window import cases

    case = cases.show(session, case_no)
    emit(as_json, case.to_dict(), describe_result(cases.Result(case, case.notices), session))


@session_command(case_group, "list")
@click.option("--status", type=CASE_STATUSES, help="按状态筛选（英文或中文均可）")
@click.option("--unit", help="按单位筛选")
@click.option("--due-within", type=int, help="承诺办结日期在 N 个工作日内")
@click.option("--overdue", is_flag=True, help="只列出已超期的办件")
@json_option
def case_list(session, status, unit, due_within, overdue, as_json):
    """列出办件。

    \b
    示例：
      archive case list --status accepted --due-within 2
      archive case list --overdue --json
    """
    from archive.window import cases

    found = cases.list_cases(session, status=status, unit=unit, due_within=due_within, overdue=overdue)
    lines = ["办件编号\t事项\t申请人\t状态\t承诺办结日期"]
    lines += [f"{c.case_no}\t{c.item_name}\t{c.applicant.name}\t{cases.STATUSES[c.status]}\t"
              f"{c.due_on.isoformat() if c.due_on else '-'}" for c in found]
    emit(as_json, [c.to_dict() for c in found], "\n".join(lines) if found else "（没有符合条件的办件）")


# -- notices -------------------------------------------------------------------------------

@click.group("notice", cls=ArchiveGroup)
def notice_group():
    """文书：补打。"""


@session_command(notice_group, "reprint")
@click.argument("number")
@json_option
def notice_reprint(session, number, as_json):
    """补打一份文书（同一文号，标注“补打”，另存为新文件）。

    \b
    示例：
      archive notice reprint "江市监受字〔2026〕1号"
    """
    from archive.window import notices

    notice = notices.reprint(session, number)
    emit(as_json, notice.to_dict(), f"已补打：{notice.number}\nDOCX：{notice.docx}\nPDF： {notice.pdf or '（未生成）'}")


# -- appointments --------------------------------------------------------------------------

@click.group("appointment", cls=ArchiveGroup)
def appointment_group():
    """预约：预约领导接待或窗口办理，打印预约卡。"""


@session_command(appointment_group, "book")
@click.option("--name", required=True, help="来访人姓名")
@click.option("--phone", required=True, help="联系电话")
@click.option("--id-number", help="身份证号码（卡上只显示掩码）")
@click.option("--with", "with_whom", required=True, help="接待的领导或窗口")
@click.option("--at", required=True, help="预约时间 \"YYYY-MM-DD HH:MM\"")
@click.option("--place", required=True, help="地点")
@click.option("--matter", required=True, help="事由")
@click.option("--unit", help="出卡单位代码（默认中心的默认单位）")
@click.option("--bring", multiple=True, help="需携带的材料（可多次）")
@json_option
def appointment_book(session, name, phone, id_number, with_whom, at, place, matter, unit, bring, as_json):
    """预约并打印预约卡。

    \b
    示例：
      archive appointment book --name 张三 --phone 13800138000 --with 赵局长 \\
          --at "2026-12-01 09:30" --place 三楼接待室 --matter 咨询不动产登记
    """
    from archive.window import appointments

    booked = appointments.book(session, name=name, phone=phone, id_number=id_number, with_whom=with_whom, at=at,
                               place=place, matter=matter, unit=unit, materials=list(bring))
    data = {"card": booked.card, "notices": [n.to_dict() for n in booked.notices]}
    emit(as_json, data, f"预约卡号：{booked.card}\n时间：{booked.starts_at:%Y-%m-%d %H:%M}\n"
         + "\n".join(f"DOCX：{n.docx}\nPDF： {n.pdf or '（未生成）'}" for n in booked.notices))


@session_command(appointment_group, "list")
@click.option("--status", type=APPOINTMENT_STATUSES, help="按状态筛选：booked（已预约）或 cancelled（已取消）")
@json_option
def appointment_list(session, status, as_json):
    """列出预约。

    \b
    示例：
      archive appointment list --status booked
    """
    from archive.window import appointments

    found = appointments.list_appointments(session, status=status)
    lines = [f"{a.card}\t{a.starts_at:%Y-%m-%d %H:%M}\t{a.name}\t{a.with_whom}\t{a.status}" for a in found]
    emit(as_json, [a.to_dict() for a in found], "\n".join(lines) or "（没有预约）")


@session_command(appointment_group, "cancel")
@click.argument("card")
@click.option("--reason", required=True, help="取消原因")
@json_option
def appointment_cancel(session, card, reason, as_json):
    """取消预约。

    \b
    示例：
      archive appointment cancel SJ-YY-2026-0001 --reason 来访人改期
    """
    from archive.window import appointments

    cancelled = appointments.cancel(session, card, reason=reason)
    emit(as_json, cancelled.to_dict(), f"已取消预约 {cancelled.card}")


# -- demo ----------------------------------------------------------------------------------

@click.command("demo", cls=ArchiveCommand)
@home_option
@json_option
def demo_command(home, as_json):
    """演示：示例服务中心办理一天的业务，覆盖各种办理结果。

    \b
    示例：
      archive demo --home ./demo-home
    """
    from archive import demo

    def progress(done, total, label):
        if not as_json:
            click.echo(f"[{done}/{total}] {label}", err=True)

    report = demo.run(home or "demo-home", progress=progress)
    emit(as_json, report.to_dict(), report.text())




COMMANDS = (init_command, catalog_group, calendar_group, case_group, notice_group, appointment_group, demo_command)
