"""Appointments (预约卡 / 群众预约领导办公卡): booking, listing and cancelling."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select

from . import notices as nt
from ..core import access
from ..core import store as st
from ..core.errors import NotFoundError, StateError
from ..core.session import Session, retrying
from ..core.validate import check_code, check_id_number, check_phone, check_text, format_cn_date, mask_id, parse_datetime

SLOT_MINUTES = 30


@dataclass(frozen=True)
class Appointment:
    card: str
    unit: str
    name: str
    phone: str
    with_whom: str
    starts_at: dt.datetime
    place: str
    matter: str
    status: str
    notices: tuple[nt.Notice, ...] = ()

    def to_dict(self) -> dict:
        return {
            "card": self.card, "unit": self.unit, "name": self.name, "phone": self.phone, "with": self.with_whom,
            "at": self.starts_at.strftime("%Y-%m-%d %H:%M"), "place": self.place, "matter": self.matter,
            "status": self.status, "notices": [n.to_dict() for n in self.notices],
        }


def _from_row(row, notices=()) -> Appointment:
    return Appointment(card=row.card_no, unit=row.unit, name=row.visitor["name"], phone=row.visitor["phone"],
                       with_whom=row.with_whom, starts_at=row.starts_at, place=row.place, matter=row.matter,
                       status=row.status, notices=tuple(notices))


@retrying
def book(session: Session, *, name: str, phone: str, with_whom: str, at: str, place: str, matter: str,
         unit: str | None = None, id_number: str | None = None, materials: list[str] | None = None,
         minutes: int = SLOT_MINUTES) -> Appointment:
    """Book a meeting with a leader or a window and print the appointment card."""
    access.require(session, "appointment.book")
    name = check_text(name, "来访人姓名", max_length=50)
    phone = check_phone(phone)
    id_number = check_id_number(id_number) if id_number else ""
    with_whom = check_text(with_whom, "接待人", max_length=100)
    place = check_text(place, "地点", max_length=200)
    matter = check_text(matter, "事由", max_length=500)
    starts = parse_datetime(at, "预约时间")
    if starts.date() < session.today:
        raise StateError(f"预约时间 {at} 已经过去", field="at")
    if not session.calendar.is_workday(starts.date()):
        raise StateError(f"{format_cn_date(starts.date())}不是工作日，请另选日期", field="at")
    bring = [check_text(m, "需携带材料", max_length=200) for m in (materials or [])] or ["本人有效身份证件"]
    unit_code = unit or session.ws.centre.get("default_unit") or next(iter(session.ws.units), None)
    unit_row = session.ws.unit(unit_code or "")
    access.require(session, "appointment.book", unit=unit_code)
    slot = f"{starts:%H:%M}—{starts + dt.timedelta(minutes=minutes):%H:%M}"
    today = session.today
    with session.work() as work:
        # The card's number is the number printed on it: the next appointment notice number,
        # with the counter locked until the commit so that notices.issue takes exactly this one.
        seq = st.reserve_number(work.conn, nt.counter_scope(unit_code, "appointment", today.year))
        card_no = nt.format_number(unit_row, "appointment", today.year, seq)
        visitor = {"name": name, "phone": phone, "id_number": id_number}
        appointment_id = work.conn.execute(st.appointments.insert().values(
            card_no=card_no, unit=unit_code, visitor=visitor, with_whom=with_whom, starts_at=starts, time_slot=slot,
            place=place, matter=matter, materials_to_bring=bring, status="booked", created_at=session.now(),
        )).inserted_primary_key[0]
        session.log(work, "book", card_no, at=starts.isoformat(), with_whom=with_whom)
        fields = {
            "visitor": {"name": name, "masked_id": mask_id(id_number) if id_number else "（未登记）", "phone": phone},
            "matter": matter,
            "with_whom": with_whom,
            "date": format_cn_date(starts.date()),
            "time_slot": slot,
            "place": place,
            "materials_to_bring": bring,
            "reschedule": f"如需改约或取消，请于预约时间前一个工作日致电{unit_row.get('phone', '')}，并告知预约卡号。",
        }
        notice = nt.issue(work, "appointment", unit_code=unit_code, fields=fields, on=today, subject=card_no,
                          appointment_id=appointment_id)
        row = work.conn.execute(select(st.appointments).where(st.appointments.c.id == appointment_id)).first()
    return _from_row(row, [notice])


def booking_defaults(session: Session) -> dict:
    """What the booking form starts with: the next working day at 09:30 and the units the
    acting account may book for."""
    access.require(session, "appointment.book")
    day = session.calendar.add_workdays(session.today, 1)
    user = session.user
    units = {code: u for code, u in session.ws.units.items() if user is None or not user.units or code in user.units}
    return {"at": f"{day.isoformat()} 09:30", "units": units}


def list_appointments(session: Session, *, on=None, status: str | None = None) -> list[Appointment]:
    """Appointments of the units the acting account works for."""
    access.require(session, "appointment.book")
    query = select(st.appointments).order_by(st.appointments.c.starts_at)
    user = session.user
    if user is not None and user.units:
        query = query.where(st.appointments.c.unit.in_(user.units))
    if status:
        query = query.where(st.appointments.c.status == status)
    with session.store.read() as conn:
        rows = conn.execute(query).all()
    if on is not None:
        rows = [r for r in rows if r.starts_at.date() == on]
    return [_from_row(r) for r in rows]


def _visible(session: Session, conn, card_no: str):
    """The appointment's row; one of a unit the account does not work for is as missing."""
    row = conn.execute(select(st.appointments).where(st.appointments.c.card_no == card_no)).first()
    user = session.user
    if row is None or (user is not None and user.units and row.unit not in user.units):
        raise NotFoundError(f"找不到预约卡号“{card_no}”", field="card")
    return row


def show(session: Session, card_no: str) -> Appointment:
    """One appointment with its card (and any reprints)."""
    access.require(session, "appointment.book")
    card_no = check_text(card_no, "预约卡号", max_length=64)
    with session.store.read() as conn:
        row = _visible(session, conn, card_no)
        rows = conn.execute(select(st.notices).where(st.notices.c.appointment_id == row.id)
                            .order_by(st.notices.c.id)).all()
        found = [nt.from_row(session, r, card_no) for r in rows]
    return _from_row(row, found)


def cancel(session: Session, card_no: str, *, reason: str) -> Appointment:
    access.require(session, "appointment.book")
    card_no = check_code(card_no, "预约卡号", max_length=64)
    reason = check_text(reason, "取消原因", max_length=200)
    with session.work() as work:
        row = _visible(session, work.conn, card_no)
        if row.status != "booked":
            raise StateError(f"预约{card_no}已取消", field="card")
        work.conn.execute(st.appointments.update().where(st.appointments.c.id == row.id)
                          .values(status="cancelled", cancel_reason=reason))
        session.log(work, "cancel", card_no, reason=reason)
        row = work.conn.execute(select(st.appointments).where(st.appointments.c.id == row.id)).first()
    return _from_row(row)
