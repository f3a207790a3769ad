"""A month at the windows with every kind of finding: October 2026 in the sample centre.

October 2026 has the National Day holiday (1–7 October) and a make-up working day on
Saturday 10 October, so every clock below skips the one and counts the other. The cases
(clerk, item, what happens, what supervision finds):

== ====== ========== ===================================================== =====================================
A  王芳   SJ-XK-001  received and settled on 9 Oct                          on the spot; rated 非常满意
B  王芳   SJ-XK-003  received 30 Sep, due 13 Oct, concluded 12 Oct           early (4 of 5 days); rated 满意
C  王芳   SJ-XK-003  two supplement notices (8, 9 Oct), accepted 12 Oct,     overdue 1 working day: red card;
                     due 19 Oct, concluded 20 Oct                          rated 不满意 on 21 Oct: rectification
D  李娜   ZR-QR-001  accepted 12 Oct, paused 13–16 Oct (3 days), due 22 Oct  on time, not early; rated 基本满意
E  赵军   ZJ-XK-002  accepted 12 Oct, extended 10 days to 2 Nov            open on 31 Oct: blue (1 day left)
F  李娜   ZR-QR-002  taken in for review 9 Oct, no notice by 15 Oct         deemed accepted from 9 Oct, due 13 Oct:
                                                                           open and red, 13 days over
G  孙丽   WJ-XK-001  accepted 23 Oct, due 30 Oct                            open on 31 Oct: yellow (0 days left)
H  孙丽   WJ-XK-001  not this organ's competence, 21 Oct                   not accepted
I  赵军   ZJ-XK-001  accepted 29 Oct, due 3 Nov                             open: blue (2 days left)
J  赵军   ZJ-XK-003  accepted 28 Oct, due 11 Nov                            open: on track
K  李娜   ZR-QR-001  accepted 27 Oct, paused 28 Oct                         open and paused (2 days in October)
L  孙丽   WJ-XK-002  accepted 8 Oct, denied on the make-up Saturday 10 Oct  early (2 days)
M  王芳   SJ-XK-001  settled 29 Sep; rated 非常不满意 30 Sep, due 27 Oct,   rectification late 2 working days:
                     called back 9 Oct, put right 29 Oct                   red card
== ====== ========== ===================================================== =====================================

``tests/test_supervision.py`` checks the report of this month figure by figure.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from dataclasses import dataclass

from ..core.session import Session
from ..window import cases
from ..window.cases import Applicant
from . import alerts, ratings

MONTH = "2026-10"
TODAY = dt.date(2026, 11, 2)  # the Monday after the month: the report is run then

_PEOPLE = {
    "张三": "11010519491231002X",
    "李梅": "110101199003071233",
    "王建国": "330106198507150013",
    "陈晓": "440305199212120022",
}
_ORG = ("江州市安居房地产开发有限公司", "91360100MA35K2LX1C", "周华")


def _d(month: int, day: int) -> dt.date:
    return dt.date(2026, month, day)


def _person(name: str) -> Applicant:
    return Applicant.person(name, _PEOPLE[name], "13800138000")


def _org() -> Applicant:
    name, code, rep = _ORG
    return Applicant.organisation(name, code, rep, "0792-85123456")


@contextlib.contextmanager
def _clerk(session: Session, name: str):
    """The same workspace operated by another window clerk."""
    other = Session(session.ws, operator=name, today=session.today)
    try:
        yield other
    finally:
        other.close()


ALL6 = ["M01", "M02", "M03", "M04", "M05", "M06"]


def month(session: Session) -> dict[str, str]:
    """Work through the month of the table above in ``session``'s workspace.

    Returns the case numbers by letter. Leaves ``session.today`` at :data:`TODAY`, the day
    the month's report is run, with the red cards recorded as of that day.
    """
    session.today = TODAY
    made: dict[str, str] = {}
    with _clerk(session, "王芳") as s:
        a = cases.receive(s, item_code="SJ-XK-001", applicant=_person("张三"), materials=["M01", "M02", "M03"],
                          received_on=_d(10, 9)).case.case_no
        cases.conclude(s, a, decision="approved", on=_d(10, 9))
        ratings.record(s, a, level=5, overall=5, efficiency=5, quality=5, attitude=5, source="device",
                       on=_d(10, 9), scope=None)
        b = cases.receive(s, item_code="SJ-XK-003", applicant=_org(), materials=ALL6, received_on=_d(9, 30)).case.case_no
        cases.conclude(s, b, decision="approved", on=_d(10, 12))
        ratings.record(s, b, level=4, overall=4, efficiency=4, quality=5, attitude=4, source="web",
                       comment="办理顺利", on=_d(10, 13), scope=None)
        c = cases.receive(s, item_code="SJ-XK-003", applicant=_org(), materials=["M01", "M02"],
                          received_on=_d(10, 8)).case.case_no
        cases.supplement(s, c, materials=["M03", "M04"], on=_d(10, 9))
        cases.supplement(s, c, materials=["M05", "M06"], on=_d(10, 12))
        cases.conclude(s, c, decision="approved", on=_d(10, 20))
        ratings.record(s, c, level=2, overall=2, efficiency=1, quality=3, attitude=2, source="phone",
                       comment="补正了两次，等待时间过长", on=_d(10, 21), scope=None)
        m = cases.receive(s, item_code="SJ-XK-001", applicant=_person("李梅"), materials=["M01", "M02", "M03"],
                          received_on=_d(9, 29)).case.case_no
        cases.conclude(s, m, decision="approved", on=_d(9, 29))
        ratings.record(s, m, level=1, overall=1, efficiency=1, quality=2, attitude=1, source="phone",
                       comment="窗口人员态度生硬", on=_d(9, 30), scope=None)
        ratings.follow_up(s, m, note="电话回访申请人，了解到窗口解释不耐心", on=_d(10, 9), scope=None)
        ratings.rectify(s, m, action="对窗口人员进行服务规范培训，并向申请人致歉", on=_d(10, 29), scope=None)
        made.update(A=a, B=b, C=c, M=m)
    with _clerk(session, "李娜") as s:
        d = cases.receive(s, item_code="ZR-QR-001", applicant=_person("王建国"), materials=ALL6[:5],
                          received_on=_d(10, 12)).case.case_no
        cases.pause(s, d, reason="房屋权属需实地查验", on=_d(10, 13), expected_days=3)
        cases.resume(s, d, on=_d(10, 16))
        cases.conclude(s, d, decision="approved", on=_d(10, 22))
        ratings.record(s, d, level=3, overall=3, efficiency=3, quality=3, attitude=4, source="device",
                       on=_d(10, 22), scope=None)
        f = cases.receive(s, item_code="ZR-QR-002", applicant=_person("陈晓"), materials=ALL6[:5],
                          received_on=_d(10, 9), defer=True).case.case_no
        k = cases.receive(s, item_code="ZR-QR-001", applicant=_person("李梅"), materials=ALL6[:5],
                          received_on=_d(10, 27)).case.case_no
        cases.pause(s, k, reason="需组织专家评审", on=_d(10, 28), expected_days=5)
        made.update(D=d, F=f, K=k)
    with _clerk(session, "赵军") as s:
        e = cases.receive(s, item_code="ZJ-XK-002", applicant=_org(), materials=ALL6, received_on=_d(10, 12)).case.case_no
        cases.extend(s, e, days=10, reason="需对预售资金监管协议进行核查", on=_d(10, 14))
        with s.as_operator("赵立新") as head:  # the principal approves in their own session
            cases.approve_extension(head, e, on=_d(10, 14))
        i = cases.receive(s, item_code="ZJ-XK-001", applicant=_org(), materials=ALL6, received_on=_d(10, 29)).case.case_no
        j = cases.receive(s, item_code="ZJ-XK-003", applicant=_org(), materials=ALL6, received_on=_d(10, 28)).case.case_no
        made.update(E=e, I=i, J=j)
    with _clerk(session, "孙丽") as s:
        g = cases.receive(s, item_code="WJ-XK-001", applicant=_person("张三"), materials=ALL6[:5],
                          received_on=_d(10, 23)).case.case_no
        h = cases.receive(s, item_code="WJ-XK-001", applicant=_person("王建国"), materials=["M01"],
                          received_on=_d(10, 21), defer=True).case.case_no
        cases.reject(s, h, ground="out-of-scope", reason="申请场所位于江城区，该事项由区级卫生健康部门实施",
                     competent_organ="江州市江城区卫生健康局", on=_d(10, 21))
        l_ = cases.receive(s, item_code="WJ-XK-002", applicant=_person("陈晓"), materials=ALL6[:5],
                           received_on=_d(10, 8)).case.case_no
        cases.conclude(s, l_, decision="denied", reason="申请人提交的医师资格证书经核验与本人信息不一致", on=_d(10, 10))
        made.update(G=g, H=h, L=l_)
    alerts.record_red_cards(session, as_of=TODAY)
    return made


@dataclass(frozen=True)
class MonthSummary:
    """What the demo says about the month's report."""

    totals: dict
    files: tuple[str, ...]
    skipped: tuple[str, ...]

    def to_dict(self) -> dict:
        return {"month": MONTH, "totals": self.totals, "files": list(self.files), "not_written": list(self.skipped)}

    def text(self) -> str:
        t = self.totals

        def pct(value):
            return "—" if value is None else f"{value * 100:.1f}%"

        lines = [
            f"电子监察（{MONTH[:4]}年{int(MONTH[5:])}月示例）：收件 {t['received']}　办结 {t['concluded']}　"
            f"即办率 {pct(t['on_the_spot_rate'])}　按时办结率 {pct(t['on_time_rate'])}　提前办结率 {pct(t['early_rate'])}",
            f"  超期件 {t['overdue']}　视为受理 {t['deemed_accepted']}　暂停计时 {t['paused']}　"
            f"在办 蓝牌 {t['open_blue']}/黄牌 {t['open_yellow']}/红牌 {t['open_red']}　满意率 {pct(t['satisfaction_rate'])}"
            f"　差评 {t['bad_ratings']}　红牌 {t['red_cards']} 张",
        ]
        lines += [f"  报表：{path}" for path in self.files]
        lines += [f"  未生成：{reason}" for reason in self.skipped]
        return "\n".join(lines)


def report_month(session: Session, folder) -> MonthSummary:
    """The month's report as the demo shows it: the figures, a workbook and a printable PDF in ``folder``.

    A file already there is kept (nothing is overwritten); a PDF that cannot be drawn (no
    CJK font) is reported, not fatal.
    """
    from pathlib import Path

    from ..core.errors import ArchiveError
    from . import report

    result = report.window(session, scope=None, month=MONTH)
    folder = Path(folder)
    files, skipped = [], []
    for name in (f"{MONTH}窗口办件监察月报.pdf", f"{MONTH}窗口办件监察报表.xlsx"):
        path = folder / name
        if path.exists():
            skipped.append(f"{path}（已存在，保留原文件）")
            continue
        try:
            files.append(str(report.write(result, path)))
        except ArchiveError as exc:
            skipped.append(f"{name}：{exc}")
    return MonthSummary(result.totals.to_dict(), tuple(files), tuple(skipped))
