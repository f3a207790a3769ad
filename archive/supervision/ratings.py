"""Applicants' ratings (好差评, 国办发〔2019〕51号) and the rectification of bad ones.

One rating per case, bound to the case number, recorded at conclusion or afterwards: a
level of five (非常满意 … 非常不满意), the window sub-scores 整体满意度, 服务效率, 服务水平
and 服务态度 (each 1–5), an optional comment and where it came from (window device, web,
phone). A rating is never edited — there is no function to change one, the store has a
unique key per case and refuses UPDATE and DELETE of the table — so what the applicant
said is what the provincial platform receives.

A 不满意 or 非常不满意 opens a rectification record due ``rectification_workdays``
(default 15) working days after the rating; the follow-up call and what was put right are
recorded on it. A rectification not done by its deadline becomes a red card
(:func:`archive.supervision.alerts.record_red_cards`).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select

from ..core import access
from ..core import store as st
from ..core.errors import InputError, NotFoundError, RuleError, StateError
from ..core.session import Session, retrying
from ..core.validate import check_text, parse_date
from .figures import LEVELS, SUBSCORES
from .scope import Scope, allows, where_unit
from . import facts as fx
from . import ledger

SOURCES = {"device": "窗口评价器", "web": "网上评价", "phone": "电话评价"}
BAD = (1, 2)  # 不满意, 非常不满意: a rectification is opened
EXPORT_FORMAT = "service-archive/ratings"
EXPORT_VERSION = 1
_LEVEL_BY_NAME = {name: level for level, name in LEVELS.items()}


@dataclass(frozen=True)
class Rectification:
    """The follow-up of a bad rating."""

    case_no: str
    opened_on: dt.date
    due_on: dt.date
    followed_up_on: dt.date | None
    follow_up: str | None
    followed_up_by: str | None
    rectified_on: dt.date | None
    rectified: str | None
    rectified_by: str | None

    @property
    def done(self) -> bool:
        return self.rectified_on is not None

    def late_on(self, day: dt.date) -> bool:
        """True when the deadline passed on ``day`` without the rectification done in time."""
        end = self.rectified_on or day
        return end > self.due_on

    def to_dict(self) -> dict:
        iso = lambda d: d.isoformat() if d else None  # noqa: E731
        return {"opened_on": iso(self.opened_on), "due_on": iso(self.due_on),
                "followed_up_on": iso(self.followed_up_on), "follow_up": self.follow_up,
                "followed_up_by": self.followed_up_by, "rectified_on": iso(self.rectified_on),
                "rectified": self.rectified, "rectified_by": self.rectified_by,
                "late": self.rectified_on > self.due_on if self.rectified_on else None}


@dataclass(frozen=True)
class Rating:
    """One applicant's rating of one case."""

    case_no: str
    unit: str
    item_code: str
    clerk: str
    level: int
    scores: tuple[int, int, int, int]  # overall, efficiency, quality, attitude
    comment: str | None
    source: str
    rated_on: dt.date
    recorded_at: dt.datetime
    operator: str
    rectification: Rectification | None = None

    @property
    def level_text(self) -> str:
        return LEVELS[self.level]

    @property
    def bad(self) -> bool:
        return self.level in BAD

    def to_dict(self) -> dict:
        return {
            "case": self.case_no, "unit": self.unit, "item": self.item_code, "clerk": self.clerk,
            "level": self.level, "level_text": self.level_text,
            "scores": dict(zip(SUBSCORES, self.scores)), "comment": self.comment,
            "source": self.source, "source_text": SOURCES[self.source],
            "rated_on": self.rated_on.isoformat(), "recorded_at": self.recorded_at.isoformat(sep=" "),
            "operator": self.operator,
            "rectification": self.rectification.to_dict() if self.rectification else None,
        }


# -- parsing ---------------------------------------------------------------------------------

def parse_level(value, field: str = "level") -> int:
    """A level given as 1–5 or by its name (非常满意 … 非常不满意)."""
    if value is None or value == "":
        raise InputError("缺少评价等级", field=field, hint="加上 --level，如 --level 满意 或 --level 4")
    if isinstance(value, str):
        text = value.strip()
        if text in _LEVEL_BY_NAME:
            return _LEVEL_BY_NAME[text]
        value = text
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = 0
    if isinstance(value, bool) or number not in LEVELS:
        listed = "、".join(f"{level} {name}" for level, name in LEVELS.items())
        raise InputError(f"评价等级“{value}”无效，可选：{listed}", field=field)
    return number


def _score(value, name: str) -> int:
    label = SUBSCORES[name]
    if value is None or value == "":
        raise InputError(f"缺少{label}评分（1～5）", field=name, hint=f"加上 --{name} 1～5")
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = 0
    if isinstance(value, bool) or not 1 <= number <= 5:
        raise InputError(f"{label}评分“{value}”无效，应为 1～5 的整数（5 非常满意 … 1 非常不满意）", field=name)
    return number


def _source(value: str) -> str:
    if value is None:
        raise InputError("缺少评价渠道", field="source", hint="加上 --source device|web|phone")
    if value not in SOURCES:
        listed = "、".join(f"{key}（{name}）" for key, name in SOURCES.items())
        raise InputError(f"评价渠道“{value}”无效，可选：{listed}", field="source")
    return value


# -- reading -----------------------------------------------------------------------------------

def _rectification(row) -> Rectification | None:
    if row is None:
        return None
    return Rectification(row.case_no, row.opened_on, row.due_on, row.followed_up_on, row.follow_up,
                         row.followed_up_by, row.rectified_on, row.rectified, row.rectified_by)


def _rating(row, rect_row=None) -> Rating:
    return Rating(row.case_no, row.unit, row.item_code, row.clerk, row.level,
                  (row.overall, row.efficiency, row.quality, row.attitude), row.comment, row.source, row.rated_on,
                  row.recorded_at, row.operator, _rectification(rect_row))


def _case_row(conn, case_no: str, scope: Scope):
    case_no = check_text(case_no, "办件编号", max_length=64)
    c = st.cases
    joined, clerk = fx.clerk_join(c)
    row = conn.execute(select(c.c.id, c.c.case_no, c.c.unit, c.c.item_code, c.c.status, c.c.concluded_on,
                              clerk.label("clerk")).select_from(joined).where(c.c.case_no == case_no)).first()
    if row is None or not allows(scope, row.unit):
        # Outside the caller's units a case looks exactly like one that does not exist.
        raise NotFoundError(f"找不到办件编号为“{case_no}”的办件", field="case")
    return row


def show(session: Session, case_no: str, *, scope: Scope) -> Rating:
    """The rating of a case with its rectification; NotFoundError if it has none."""
    with session.store.read() as conn:
        case = _case_row(conn, case_no, scope)
        row = conn.execute(select(st.ratings).where(st.ratings.c.case_id == case.id)).first()
        if row is None:
            raise NotFoundError(f"办件{case.case_no}尚无评价", field="case")
        rect = conn.execute(select(st.rectifications).where(st.rectifications.c.rating_id == row.id)).first()
        return _rating(row, rect)


def list_ratings(session: Session, *, scope: Scope, date_from: dt.date | None = None,
                 date_to: dt.date | None = None, bad_only: bool = False, pending_only: bool = False) -> list[Rating]:
    """Ratings given in ``[date_from, date_to]`` (all without dates), in the order given.

    ``bad_only``: 不满意 and 非常不满意 only; ``pending_only``: bad ratings not yet put right.
    """
    r, x = st.ratings, st.rectifications
    query = (select(r, x.c.opened_on, x.c.due_on, x.c.followed_up_on, x.c.follow_up, x.c.followed_up_by,
                    x.c.rectified_on, x.c.rectified, x.c.rectified_by, x.c.id.label("rect_id"))
             .select_from(r.outerjoin(x, x.c.rating_id == r.c.id))
             .where(where_unit(r.c.unit, scope)).order_by(r.c.rated_on, r.c.id))
    if date_from is not None:
        query = query.where(r.c.rated_on >= date_from)
    if date_to is not None:
        query = query.where(r.c.rated_on <= date_to)
    if bad_only:
        query = query.where(r.c.level.in_(BAD))
    if pending_only:
        query = query.where(x.c.id.is_not(None), x.c.rectified_on.is_(None))
    with session.store.read() as conn:
        return [_rating(row, row if row.rect_id is not None else None) for row in conn.execute(query)]


# -- writing -----------------------------------------------------------------------------------

@retrying
def record(session: Session, case_no: str, *, level, overall, efficiency, quality, attitude,
           source: str, comment: str | None = None, on=None, scope: Scope) -> Rating:
    """Record the applicant's rating of a concluded (or not accepted) case; once only.

    A bad rating (不满意, 非常不满意) opens its rectification record in the same transaction.
    """
    access.require(session, "rating.record")
    level = parse_level(level)
    scores = tuple(_score(value, name) for value, name in
                   zip((overall, efficiency, quality, attitude), SUBSCORES))
    source = _source(source)
    comment = check_text(comment, "评价意见", required=False, max_length=1000) or None
    day = parse_date(on, "on") if on else session.today
    if day > session.today:
        raise InputError(f"评价日期 {day.isoformat()} 晚于今天（{session.today.isoformat()}）", field="on")
    with session.work() as work:
        conn = work.conn
        case = _case_row(conn, case_no, scope)
        if case.status not in ("concluded", "not_accepted"):
            raise StateError(f"办件{case.case_no}尚未办结，办结（或作出不予受理决定）后才能评价", field="case")
        if day < case.concluded_on:
            raise InputError(f"评价日期 {day.isoformat()} 早于办结日期 {case.concluded_on.isoformat()}",
                             field="on")
        if conn.execute(select(st.ratings.c.id).where(st.ratings.c.case_id == case.id)).first() is not None:
            raise StateError(f"办件{case.case_no}已有评价；每件只评价一次，评价一经记录不得修改", field="case")
        values = dict(case_id=case.id, case_no=case.case_no, unit=case.unit, item_code=case.item_code,
                      clerk=case.clerk, level=level, overall=scores[0], efficiency=scores[1], quality=scores[2],
                      attitude=scores[3], comment=comment, source=source, rated_on=day,
                      recorded_at=session.now(), operator=session.operator)
        rating_id = conn.execute(st.ratings.insert().values(**values)).inserted_primary_key[0]
        ledger.rated(conn, values)  # the day's sums, in the same transaction
        detail = {"level": level, "source": source, "on": day.isoformat()}
        if level in BAD:
            due = session.calendar.add_workdays(day, int(session.ws.get("rectification_workdays")))
            conn.execute(st.rectifications.insert().values(
                rating_id=rating_id, case_id=case.id, case_no=case.case_no, unit=case.unit,
                item_code=case.item_code, clerk=case.clerk, opened_on=day, due_on=due))
            detail["rectification_due_on"] = due.isoformat()
        session.log(work, "rate", case.case_no, case_id=case.id, **detail)
        row = conn.execute(select(st.ratings).where(st.ratings.c.id == rating_id)).first()
        rect = conn.execute(select(st.rectifications).where(st.rectifications.c.rating_id == rating_id)).first()
        return _rating(row, rect)


def _open_rectification(conn, case_no: str, scope: Scope):
    case = _case_row(conn, case_no, scope)
    row = conn.execute(select(st.rectifications).where(st.rectifications.c.case_id == case.id)).first()
    if row is None:
        raise StateError(f"办件{case.case_no}没有待整改的差评（只有不满意、非常不满意的评价需要回访整改）", field="case")
    return row


@retrying
def _step(session: Session, case_no: str, *, scope: Scope, on, text: str, step: str) -> Rating:
    """Record the follow-up call (``step`` "followed_up") or the rectification ("rectified"), once each."""
    label, done_label, after_label = {
        "followed_up": ("回访情况", "回访", "评价日期"),
        "rectified": ("整改情况", "整改完毕", "回访日期"),
    }[step]
    access.require(session, "rating.follow_up")
    text = check_text(text, label, max_length=1000)
    day = parse_date(on, "on") if on else session.today
    with session.work() as work:
        row = _open_rectification(work.conn, case_no, scope)
        if getattr(row, f"{step}_on") is not None:
            raise StateError(f"办件{row.case_no}的差评已于{getattr(row, f'{step}_on').isoformat()}{done_label}，"
                             "记录不得修改", field="case")
        if step == "rectified" and row.followed_up_on is None:
            raise RuleError(f"办件{row.case_no}的差评尚未回访，请先记录回访（rating follow-up）", field="case")
        after = row.opened_on if step == "followed_up" else row.followed_up_on
        if day < after or day > session.today:
            raise InputError(f"日期 {day.isoformat()} 应在{after_label} {after.isoformat()} 与今天之间",
                             field="on")
        column = "follow_up" if step == "followed_up" else "rectified"
        work.conn.execute(st.rectifications.update().where(st.rectifications.c.id == row.id)
                          .values(**{f"{step}_on": day, column: text, f"{step}_by": session.operator}))
        detail = {"on": day.isoformat()}
        if step == "rectified":
            detail["late"] = day > row.due_on
        session.log(work, "rating_follow_up" if step == "followed_up" else "rating_rectify", row.case_no,
                    case_id=row.case_id, **detail)
    return show(session, case_no, scope=scope)


def follow_up(session: Session, case_no: str, *, note: str, on=None, scope: Scope) -> Rating:
    """Record the follow-up call of a bad rating (once)."""
    return _step(session, case_no, scope=scope, on=on, text=note, step="followed_up")


def rectify(session: Session, case_no: str, *, action: str, on=None, scope: Scope) -> Rating:
    """Record what was put right for a bad rating (once; the follow-up call comes first)."""
    return _step(session, case_no, scope=scope, on=on, text=action, step="rectified")


# -- export for the provincial platform ------------------------------------------------------

def export(session: Session, *, date_from: dt.date, date_to: dt.date, scope: Scope) -> dict:
    """The period's ratings as the document described by ``schemas/rating_export.json``."""
    if date_to < date_from:
        raise InputError(f"结束日期 {date_to.isoformat()} 早于开始日期 {date_from.isoformat()}", field="to")
    items = {}
    with session.store.read() as conn:
        for row in conn.execute(select(st.items.c.code, st.items.c.name)):
            items[row.code] = row.name
    units = session.ws.units
    out = []
    for rating in list_ratings(session, scope=scope, date_from=date_from, date_to=date_to):
        entry = rating.to_dict()
        entry.pop("operator")
        entry["unit_name"] = units.get(rating.unit, {}).get("name", rating.unit)
        entry["item_name"] = items.get(rating.item_code, "")
        out.append(entry)
    return {
        "format": EXPORT_FORMAT,
        "version": EXPORT_VERSION,
        "centre": session.ws.centre.get("name", ""),
        "period": {"from": date_from.isoformat(), "to": date_to.isoformat()},
        "generated_at": session.now().isoformat(sep=" "),
        "count": len(out),
        "ratings": out,
    }


def write_export(session: Session, out: str | Path, *, date_from: dt.date, date_to: dt.date, scope: Scope) -> dict:
    """Write :func:`export` to ``out`` (UTF-8 JSON, atomically; an existing file is an error)."""
    from ..documents.render import atomic_write_bytes

    data = export(session, date_from=date_from, date_to=date_to, scope=scope)
    atomic_write_bytes(Path(out), json.dumps(data, ensure_ascii=False, indent=2).encode("utf-8"), field="out")
    return data

