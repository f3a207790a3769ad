"""The demonstration: a sample centre works a case from the window to the shelf and back.

At the window it covers every outcome (accepted, supplement then accepted, deemed
acceptance, both rejection grounds, excluded time, extension, approval and denial, a
joint case in three parts, a pending-materials case, a forwarded case, an appointment
card) on fixed dates around the 2026 National Day holiday, so the working-day clocks
visibly skip the holiday block. Then the archive: the concluded cases are filed as
volumes (cover, item list, notes sheet), the full-text index is built and searched, a
volume is lent and comes back one page short (written on its notes sheet), and the
catalogue and the lending register are exported. Last, supervision: the windows work
through October 2026 (:mod:`archive.supervision.sample`) and that month's report is
written, so the figures, red cards and ratings have something to show. The report says
where each of these is.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from dataclasses import dataclass, field

from . import centre
from .core.accounts import find_user
from .core.session import Session
from .documents import office
from .supervision import sample
from .window import appointments, cases
from .window.cases import Applicant

DAY = dt.date(2026, 9, 28)  # Monday before the National Day block (10-01 … 10-08)

PEOPLE = {
    "张三": "11010519491231002X",
    "李梅": "110101199003071233",
    "王建国": "330106198507150013",
    "陈晓": "440305199212120022",
}
ORGS = {
    "江州市甲乙&联合餐饮有限公司": ("91350100M000100Y43", "刘强"),
    "江州市安居房地产开发有限公司": ("91360100MA35K2LX1C", "周华"),
}


@dataclass
class Row:
    case: str
    item: str
    applicant: str
    outcome: str
    notices: list[str]


@dataclass
class Report:
    home: str
    rows: list[Row] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    pdf: bool = False
    appointment: str = ""
    volumes: list[str] = field(default_factory=list)  # archival codes filed
    forms: str = ""  # the folder of the volumes and their forms
    search: dict = field(default_factory=dict)  # query, total, first hit
    loan: dict = field(default_factory=dict)  # loan number, code, pages expected / counted, note
    notes_sheet: str = ""  # the notes sheet that records the shortfall
    catalogue: str = ""
    register: str = ""
    accounts: dict = field(default_factory=dict)  # sample account → (role, demo password), new ones only
    supervision: object = None  # archive.supervision.sample.MonthSummary

    def to_dict(self) -> dict:
        return {"home": self.home, "documents": f"{self.home}/documents", "pdf": self.pdf,
                "appointment": self.appointment, "accounts": self.accounts,
                "cases": [row.__dict__ for row in self.rows], "files": self.files,
                "volumes": self.volumes, "forms": self.forms, "search": self.search, "loan": self.loan,
                "notes_sheet": self.notes_sheet, "catalogue": self.catalogue, "register": self.register,
                "supervision": self.supervision.to_dict() if self.supervision else None}

    def text(self) -> str:
        header = ("办件编号", "事项", "申请人", "结果（文书）")
        rows = [(r.case, r.item, r.applicant, r.outcome + (f"（{'、'.join(r.notices)}）" if r.notices else ""))
                for r in self.rows]
        widths = [max(_width(row[i]) for row in [header, *rows]) for i in range(3)]
        lines = ["  ".join(_pad(cell, widths[i]) if i < 3 else cell for i, cell in enumerate(row))
                 for row in [header, *rows]]
        lines.insert(1, "-" * (sum(widths) + 6 + 24))
        lines.append("")
        lines.append(f"预约卡：{self.appointment}")
        lines.append(f"共生成文书 {len(self.files)} 份（{'含 PDF' if self.pdf else '仅 .docx；安装 LibreOffice 后可同时生成 PDF：make deps'}）")
        if self.volumes:
            lines.append(f"归档：{len(self.volumes)} 卷，{self.volumes[0]} 起")
        if self.search:
            lines.append(f"检索“{self.search['query']}”：找到 {self.search['total']} 件，第一件 {self.search['first']}")
        if self.loan:
            lines.append(f"借阅：{self.loan['loan']} 借出 {self.loan['archival_code']}，归还时清点 "
                         f"{self.loan['pages_counted']} 页（应为 {self.loan['pages_expected']} 页），已记入卷内备考表")
        lines.append("")
        lines.append(f"通知书等文书：{self.home}/documents/notices")
        if self.forms:
            lines.append(f"案卷和案卷表格（封面、卷内文件目录、卷内备考表）：{self.forms}")
        if self.notes_sheet:
            lines.append(f"记有缺页的卷内备考表：{self.notes_sheet}")
        if self.catalogue:
            lines.append(f"案卷目录：{self.catalogue}")
        if self.register:
            lines.append(f"借阅登记表：{self.register}")
        if self.supervision:
            lines.append(self.supervision.text())
        lines.append(f"工作区：{self.home}（可用 ARCHIVE_HOME={self.home} archive case list 继续查看）")
        if self.accounts:
            lines.append("")
            lines.append("示例账户（每个角色一个；演示密码只显示这一次，首次登录须修改）：")
            lines += [f"  {name}\t{role}\t{password}" for name, (role, password) in self.accounts.items()]
        return "\n".join(lines)


def _width(text: str) -> int:
    """Columns a text takes in a terminal: CJK characters take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))


def _person(name: str, phone: str = "13800138000") -> Applicant:
    return Applicant.person(name, PEOPLE[name], phone)


def _org(name: str, phone: str = "0792-85123456") -> Applicant:
    code, rep = ORGS[name]
    return Applicant.organisation(name, code, rep, phone)


def run(home, *, progress=None) -> Report:
    """Initialise the sample centre in ``home`` and process a day of applications."""
    session = centre.init(home, sample=True, operator="王芳")
    session.today = DAY  # the demo's working day, so dates and deadlines are the same on every run
    steps = []  # (label, function returning (Result, outcome label))

    def step(label):
        def register(func):
            steps.append((label, func))
            return func
        return register

    def at(day):
        session.today = day

    @step("即办件：材料齐全，当场受理并办结")
    def _():
        r = cases.receive(session, item_code="SJ-XK-001", applicant=_person("张三"), materials=["M01", "M02", "M03"],
                          received_on=DAY)
        cases.conclude(session, r.case.case_no, decision="approved", on=DAY)
        return r, "受理并当场办结（准予）"

    @step("承诺件：材料齐全，受理，期限跨国庆假期")
    def _():
        r = cases.receive(session, item_code="ZR-QR-001", applicant=_person("李梅"),
                          materials=["M01", "M02", "M03", "M04", "M05"], received_on=DAY)
        return r, f"受理，承诺{r.case.due_on.isoformat()}前办结"

    @step("承诺件：材料不全，一次性告知补正，补齐后受理")
    def _():
        r = cases.receive(session, item_code="SJ-XK-003", applicant=_org("江州市甲乙&联合餐饮有限公司"),
                          materials=["M01", "M02", "M04"], defects={"M04": "食品安全管理制度未加盖公章"},
                          received_on=DAY)
        s = cases.supplement(session, r.case.case_no, materials=["M03", "M04", "M05", "M06"], on=DAY + dt.timedelta(days=1))
        return cases.Result(s.case, r.notices + s.notices), f"补正后受理，承诺{s.case.due_on.isoformat()}前办结"

    @step("联办件：三联文书（申请人、窗口、中心）")
    def _():
        r = cases.receive(session, item_code="SJ-XK-002", applicant=_org("江州市安居房地产开发有限公司"),
                          materials=["M01", "M02", "M03", "M04", "M05", "M06"], received_on=DAY)
        return r, "联办受理（三联）"

    @step("补办件：先受理，缺件限期补交")
    def _():
        r = cases.receive(session, item_code="SJ-XK-004", applicant=_org("江州市甲乙&联合餐饮有限公司"),
                          materials=["M01", "M02"], received_on=DAY)
        return r, "受理（材料待补交）"

    @step("上报件：初审后上报省级")
    def _():
        r = cases.receive(session, item_code="ZJ-XK-003", applicant=_org("江州市安居房地产开发有限公司"),
                          materials=["M01", "M02", "M03", "M04", "M05", "M06"], received_on=DAY)
        return r, "受理（初审后上报）"

    @step("不属于本机关职权：不予受理，告知有权机关")
    def _():
        r = cases.receive(session, item_code="WJ-XK-001", applicant=_person("王建国"), materials=["M01"],
                          received_on=DAY, defer=True)
        j = cases.reject(session, r.case.case_no, ground="out-of-scope", reason="申请场所位于江城区，该事项由区级卫生健康部门实施",
                         competent_organ="江州市江城区卫生健康局", on=DAY)
        return cases.Result(j.case, j.notices), "不予受理（告知有权机关）"

    @step("依法不需要许可：不予受理")
    def _():
        r = cases.receive(session, item_code="ZJ-GG-005", applicant=_person("陈晓"), materials=["M01"],
                          received_on=DAY, defer=True)
        j = cases.reject(session, r.case.case_no, ground="not-required",
                         reason="所申请的信息已主动公开，可在市政府门户网站查阅，无需依申请办理", on=DAY)
        return cases.Result(j.case, j.notices), "不予受理（无需许可）"

    @step("除外时间：专家评审暂停计时，恢复后顺延")
    def _():
        r = cases.receive(session, item_code="ZJ-XK-001", applicant=_org("江州市安居房地产开发有限公司"),
                          materials=["M01", "M02", "M03", "M04", "M05", "M06"], received_on=DAY)
        p = cases.pause(session, r.case.case_no, reason="施工图需组织专家评审", on=DAY + dt.timedelta(days=1),
                        expected_days=3)
        s = cases.resume(session, r.case.case_no, on=DAY + dt.timedelta(days=15))
        return cases.Result(s.case, r.notices + p.notices), f"暂停{s.case.paused_workdays}个工作日，顺延至{s.case.due_on.isoformat()}"

    @step("延期：窗口申请，负责人赵立新用自己的账户批准延长10个工作日")
    def _():
        r = cases.receive(session, item_code="ZJ-XK-002", applicant=_org("江州市安居房地产开发有限公司"),
                          materials=["M01", "M02", "M03", "M04", "M05", "M06"], received_on=DAY)
        cases.extend(session, r.case.case_no, days=10, reason="需对预售资金监管协议进行核查",
                     on=DAY + dt.timedelta(days=2))
        with session.as_operator("赵立新") as head:
            e = cases.approve_extension(head, r.case.case_no, on=DAY + dt.timedelta(days=2))
        return cases.Result(e.case, r.notices + e.notices), f"延期至{e.case.due_on.isoformat()}"

    @step("审查后不予许可：不予许可决定书")
    def _():
        r = cases.receive(session, item_code="WJ-XK-002", applicant=_person("陈晓"),
                          materials=["M01", "M02", "M03", "M04", "M05"], received_on=DAY)
        d = cases.conclude(session, r.case.case_no, decision="denied",
                           reason="申请人提交的医师资格证书经核验与本人信息不一致", on=DAY + dt.timedelta(days=10))
        return cases.Result(d.case, r.notices + d.notices), "不予许可"

    @step("转后台审查逾期未告知补正：视为受理")
    def _():
        r = cases.receive(session, item_code="ZR-QR-002", applicant=_person("王建国"), materials=["M01", "M02"],
                          received_on=DAY, defer=True)
        at(dt.date(2026, 10, 20))
        shown = cases.show(session, r.case.case_no)
        at(DAY)
        return cases.Result(shown, shown.notices), "逾期未告知补正，视为受理"

    report = Report(home=str(session.ws.home), pdf=office.pdf_enabled(session))
    report.accounts = {name: (find_user(session, name).role, password)
                       for name, password in session.new_accounts.items()}
    total = len(steps) + 3
    try:
        for number, (label, func) in enumerate(steps, start=1):
            if progress:
                progress(number, total, label)
            result, outcome = func()
            report.rows.append(Row(case=result.case.case_no, item=result.case.item_name, applicant=result.case.applicant.name,
                                   outcome=outcome, notices=[n.title for n in result.notices]))
            for notice in result.notices:
                report.files.append(notice.docx)
                if notice.pdf:
                    report.files.append(notice.pdf)
        if progress:
            progress(total - 2, total, "预约卡：群众预约领导接待")
        booked = appointments.book(session, name="张三", phone="13800138000", id_number=PEOPLE["张三"],
                                   with_whom="市场监管局 赵立新副局长", at="2026-09-30 09:30", place="市民中心三楼接待室",
                                   matter="咨询个体工商户转企业的办理流程", materials=["本人身份证件", "营业执照副本"])
        report.appointment = booked.card
        for notice in booked.notices:
            report.files.append(notice.docx)
            if notice.pdf:
                report.files.append(notice.pdf)
        if progress:
            progress(total - 1, total, "归档、检索、借阅与归还")
        with Session(session.ws, operator="陈静", today=DAY) as archivist:  # the archive is the archivist's
            _shelf_and_lending(archivist, report)
        if progress:
            progress(total, total, "电子监察：示例月份（2026年10月）的办件、好差评与月报")
        _conclude_the_days_cases(session)
        sample.month(session)
        report.supervision = sample.report_month(session, session.ws.documents_dir / "reports")
    finally:
        session.close()
    return report


def _conclude_the_days_cases(session) -> None:
    """Conclude, on their due dates, the cases the demo's day left in progress.

    The sample month is reported as of its report day (2 November): cases received on the
    demo's day and never concluded would stand in it as weeks overdue (8 of 10 超期件), which
    no real month looks like. A real window concludes them in October, on time. Cases paused
    or still owing materials stay as they are.
    """
    from sqlalchemy import select

    from .core import store as st

    c = st.cases
    with session.store.read() as conn:
        rows = conn.execute(select(c.c.case_no, c.c.due_on, c.c.clerk).where(
            c.c.status == "accepted", c.c.received_on < dt.date(2026, 10, 1)).order_by(c.c.id)).all()
    for row in rows:
        with Session(session.ws, operator=row.clerk or session.operator, today=sample.TODAY) as clerk:
            if cases.show(clerk, row.case_no).missing:
                continue
            cases.conclude(clerk, row.case_no, decision="approved", on=row.due_on)


def _shelf_and_lending(session, report: Report) -> None:
    """File the concluded cases, search them, lend one and take it back a page short."""
    from .lending import borrowers, loans, registers
    from .search import index as search
    from .shelf import catalogues, fixity, volumes

    at_filing = DAY + dt.timedelta(days=14)  # 2026-10-12, after the holiday and the last conclusion
    session.today = at_filing
    batch = volumes.file_all_due(session, checker="李强")
    filed = [v for v in batch.filed]
    report.volumes = [v.archival_code for v in filed]
    report.forms = str(fixity.volumes_root(session))
    search.reindex(session)
    query = "张三"
    found = search.search(session, query, limit=1)
    report.search = {"query": query, "total": found.total,
                     "first": f"{found.hits[0].case} {found.hits[0].title}" if found.hits else ""}
    if not filed:  # a second run in the same folder: everything was filed the first time
        return
    volume = filed[0]
    code = borrowers.list_borrowers(session, query="李明")
    borrower = code[0] if code else borrowers.add(
        session, name="李明", unit="江州市市场监督管理局", type="internal", id_number="110101199003071233",
        phone="0792-85123456")
    # A person's case holds an ID number: its volume is filed 控制, read with the head's approval.
    loan = loans.lend(session, volume.archival_code, borrower=borrower.code, purpose="工作查考", mode="read",
                      approved_by="赵立新", approver_level="head-in-charge", on=at_filing)
    back = loans.return_loan(session, loan.loan, pages=volume.pages - 1, condition="第2页缺失",
                             effect="核实了营业执照登记事项", on=at_filing)
    report.loan = {"loan": loan.loan, "archival_code": volume.archival_code, "pages_expected": back.pages_expected,
                   "pages_counted": back.pages_counted, "note": back.note}
    shown = volumes.show(session, volume.archival_code)
    report.notes_sheet = next((f.path for f in reversed(shown.forms) if f.kind == "notes_sheet"), "")
    path, _sheets = catalogues.export(session, fmt="xlsx")
    report.catalogue = str(path)
    folder = session.ws.documents_dir / "registers"
    name = f"借阅登记表_{DAY.isoformat()}_{at_filing.isoformat()}"
    out = next(folder / f"{name}{suffix}.xlsx" for suffix in ("", *(f"-{n}" for n in range(2, 1000)))
               if not (folder / f"{name}{suffix}.xlsx").exists())  # the demo may run again in the same folder
    report.register = str(registers.export_register(session, date_from=DAY, date_to=at_filing, format="xlsx",
                                                    out=out).path)
