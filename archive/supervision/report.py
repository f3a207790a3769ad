"""The window report (窗口办件监察报表): a period's figures per centre, unit, item and clerk.

:func:`window` builds it (the red cards brought up to date — on PostgreSQL by a second
thread while the figures of :mod:`.figures` are counted); :meth:`WindowReport.to_dict` is
the JSON of ``archive report window --json`` (``schemas/window_report.json``); :func:`write`
saves it as JSON, a formatted workbook (.xlsx, :mod:`.workbook`) or a printable monthly
report with charts (.pdf, :mod:`.printout`).
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select

from ..core import store as st
from ..core.errors import InputError
from . import alerts
from . import figures as fg
from .scope import Scope, units_in

FORMATS = (".json", ".xlsx", ".pdf")


@dataclass(frozen=True)
class Row:
    """One line of a table: a unit, an item or a clerk with its figures."""

    kind: str  # unit | item | clerk
    code: str  # unit code, item code or the clerk's name
    name: str  # unit or item name; the clerk's name
    unit: str
    figures: fg.Figures

    def to_dict(self) -> dict:
        head = {"unit": {"unit": self.code, "name": self.name},
                "item": {"item": self.code, "name": self.name, "unit": self.unit},
                "clerk": {"clerk": self.code, "unit": self.unit}}[self.kind]
        return {**head, **self.figures.to_dict()}


@dataclass(frozen=True)
class WindowReport:
    centre: str
    period: fg.Period
    scope: Scope
    thresholds: tuple[int, int]  # (yellow, blue)
    totals: fg.Figures
    units: tuple[Row, ...]
    items: tuple[Row, ...]
    clerks: tuple[Row, ...]
    red_cards: tuple[alerts.RedCard, ...]

    def to_dict(self) -> dict:
        return {
            "period": self.period.to_dict(),
            "scope": sorted(self.scope) if self.scope is not None else None,
            "totals": self.totals.to_dict(),
            "units": [row.to_dict() for row in self.units],
            "items": [row.to_dict() for row in self.items],
            "clerks": [row.to_dict() for row in self.clerks],
            "red_cards": [card.to_dict() for card in self.red_cards],
        }

    @property
    def title(self) -> str:
        return f"{self.centre}窗口办件监察报表（{self.period.label}）"

    def text(self) -> str:
        """A short summary for the terminal."""
        t = self.totals

        def pct(value):
            return "—" if value is None else f"{value * 100:.1f}%"

        def avg(value):
            return "—" if value is None else f"{value:g}"

        scope = "全中心" if self.scope is None else "、".join(sorted(self.scope))
        lines = [
            self.title,
            f"统计期间：{self.period.start.isoformat()} 至 {self.period.end.isoformat()}；在办件截至 "
            f"{self.period.as_of.isoformat()}；范围：{scope}",
            f"收件 {t.received}　受理 {t.accepted}　不予受理 {t.not_accepted}　办结 {t.concluded}"
            f"（准予 {t.approved}，不予许可 {t.denied}）",
            f"即办率 {pct(t.on_the_spot_rate)}（{t.on_the_spot}/{t.concluded}）　"
            f"按时办结率 {pct(t.on_time_rate)}（{t.on_time}/{t.concluded}）　"
            f"提前办结率 {pct(t.early_rate)}（{t.early}/{t.promised_concluded}）",
            f"平均用时 {avg(t.avg_workdays_used)} 个工作日（平均承诺时限 {avg(t.avg_promised_days)}，"
            f"平均法定时限 {avg(t.avg_statutory_days)}）",
            f"超期件 {t.overdue}（超期办结 {t.overdue_concluded}，超期未办结 {t.open_red}；合计超期 "
            f"{t.overdue_workdays} 个工作日）　视为受理 {t.deemed_accepted}",
            f"在办 {t.open}：正常 {t.open_on_track}　蓝牌 {t.open_blue}　黄牌 {t.open_yellow}　红牌 {t.open_red}"
            f"　暂停计时 {t.open_paused}",
            f"暂停计时件 {t.paused}（{t.paused_workdays} 个工作日）　补正告知书 {t.supplement_notices} 份"
            f"（{t.supplement_cases} 件，每件 {avg(t.supplements_per_case)} 次）",
            f"评价 {t.ratings}　满意率 {pct(t.satisfaction_rate)}（{t.satisfied}/{t.ratings}）　差评 {t.bad_ratings}"
            f"　差评整改：新增 {t.rectifications}，完成 {t.rectifications_done}，超期 {t.rectifications_late}",
            f"红牌 {t.red_cards} 张（本期新亮）",
        ]
        for card in self.red_cards:
            state = f"已于{card.closed_on.isoformat()}办结/整改" if card.closed_on else "未办结"
            lines.append(f"  红牌·{alerts.CARD_KINDS[card.kind]}：{card.case_no}　{card.unit}　{card.clerk}　"
                         f"期限 {card.due_on.isoformat()}　超期 {card.days_over} 个工作日　{state}")
        return "\n".join(lines)


def window(session, *, scope: Scope, month: str | None = None, date_from=None, date_to=None,
           unit: str | None = None, record: bool = True) -> WindowReport:
    """The window report of a month (``YYYY-MM``) or ``[date_from, date_to]``; the current month by default.

    ``scope`` is the caller's (:func:`.scope.scope_for`); ``unit`` narrows it to one unit.
    With ``record`` the red cards are brought up to date and then counted (they stay on
    record); on PostgreSQL that is done while the other figures are counted.
    """
    from .scope import narrow

    scope = narrow(session, scope, unit)
    per = fg.period(session.today, month=month, date_from=date_from, date_to=date_to)
    session.calendar  # read once here, not by both threads below
    # On PostgreSQL the red cards are recorded by a second thread (a connection of its own)
    # while this one counts the figures, which do not depend on them; the cards are counted
    # once it is done. A month nobody swept has tens of thousands of cards to write, and the
    # server inserts them while it answers the figures' queries (bench/report.py: the first
    # report of such a month 6.2 → 4.8 s, median of three). On SQLite all the work is this
    # process's own, and the two threads only slowed each other down (4.6 → 5.5 s): the
    # cards are recorded first there.
    if record and session.store.dialect != "postgresql":
        alerts.record_red_cards(session)
        record = False
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="red-cards") as pool:
        recording = pool.submit(alerts.record_red_cards, session) if record else None
        breakdown = fg.compute(session, per, scope=scope, cards=recording is None)
        with session.store.read() as conn:
            item_names = {row.code: row.name for row in conn.execute(select(st.items.c.code, st.items.c.name))}
        if recording is not None:
            recording.result()  # (its error, if any, is the report's)
            fg.add_red_cards(session, breakdown)
    units_conf = session.ws.units
    by_unit = breakdown.by(0)
    unit_rows = [Row("unit", code, units_conf[code].get("name", code), code, by_unit.get((code,), fg.Figures()))
                 for code in units_in(session, scope)]
    known = set(units_conf)
    unit_rows += [Row("unit", code, code, code, value) for (code,), value in sorted(by_unit.items()) if code not in known]
    item_rows = [Row("item", item, item_names.get(item, item), u, value)
                 for (u, item), value in sorted(breakdown.by(0, 1).items(), key=lambda kv: (kv[0][1], kv[0][0]))]
    order = {code: i for i, code in enumerate(units_conf)}
    clerk_rows = [Row("clerk", clerk or "（未记录）", clerk or "（未记录）", u, value)
                  for (u, clerk), value in sorted(breakdown.by(0, 2).items(),
                                                  key=lambda kv: (order.get(kv[0][0], len(order)), kv[0][1]))]
    cards = alerts.red_cards(session, scope=scope, date_from=per.start, date_to=per.end)
    return WindowReport(
        centre=session.ws.centre.get("name", "政务服务中心"), period=per, scope=scope,
        thresholds=fg.thresholds(session), totals=breakdown.total(), units=tuple(unit_rows),
        items=tuple(item_rows), clerks=tuple(clerk_rows), red_cards=tuple(cards),
    )


def write(report: WindowReport, out: str | Path) -> Path:
    """Save the report by the suffix of ``out``: .json, .xlsx or .pdf (never over an existing file)."""
    from ..documents.render import atomic_write_bytes

    path = Path(out)
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise InputError(f"输出文件“{path.name}”的类型不支持，请用 .json、.xlsx 或 .pdf 结尾", field="out")
    if path.exists():
        raise InputError(f"文件 {path} 已存在，不会覆盖；请换一个文件名", field="out")
    if suffix == ".json":
        data = json.dumps(report.to_dict(), ensure_ascii=False, indent=2).encode("utf-8")
    elif suffix == ".xlsx":
        from .workbook import workbook_bytes

        data = workbook_bytes(report)
    else:
        from .printout import pdf_bytes

        data = pdf_bytes(report)
    return atomic_write_bytes(path, data, field="out")

