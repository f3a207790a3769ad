"""The loans as recorded: the :class:`Loan` value and the queries that read loans back.

Below both :mod:`.borrowers` (a borrower's open loans) and :mod:`.loans` (lending, returns,
renewals), which build on it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Mapping

from sqlalchemy import select

from ..core import store as st
from . import rules as rl


@dataclass(frozen=True)
class Loan:
    """One use of a volume, from lending to return."""

    loan: str | None  # None for a dry run
    archival_code: str
    title: str
    borrower: str
    borrower_name: str
    borrower_unit: str
    borrower_type: str
    mode: str
    purpose: str
    lent_on: dt.date
    due_on: dt.date
    approval_needed: str
    approved_by: str | None
    approver_level: str | None
    renewals: tuple = ()
    returned_on: dt.date | None = None
    pages_expected: int | None = None
    pages_counted: int | None = None
    condition: str | None = None
    discrepancy: str | None = None
    late_days: int | None = None
    effect: str | None = None
    reminder_level: int = 0
    rules: Mapping[str, str] = field(default_factory=dict, hash=False, compare=False)
    dry_run: bool = False

    @property
    def mode_name(self) -> str:
        return rl.MODES[self.mode]

    def to_dict(self) -> dict:
        return {
            "loan": self.loan, "archival_code": self.archival_code, "title": self.title,
            "borrower": self.borrower, "borrower_name": self.borrower_name, "borrower_unit": self.borrower_unit,
            "borrower_type": self.borrower_type, "mode": self.mode, "mode_name": self.mode_name,
            "purpose": self.purpose, "lent_on": self.lent_on.isoformat(), "due_on": self.due_on.isoformat(),
            "approval_needed": self.approval_needed, "approved_by": self.approved_by,
            "approver_level": self.approver_level, "renewals": [dict(r) for r in self.renewals],
            "returned_on": self.returned_on.isoformat() if self.returned_on else None,
            "reminder_level": self.reminder_level, "rules": dict(self.rules), "dry_run": self.dry_run,
        }


# -- reading ------------------------------------------------------------------------------

_V, _B, _L = st.volumes.c, st.borrowers.c, st.loans.c
LOAN_COLUMNS = (st.loans, _V.archival_code, _V.title, _V.pages.label("v_pages"), _B.code.label("b_code"),
                 _B.name.label("b_name"), _B.unit.label("b_unit"), _B.type.label("b_type"))


def loan_query():
    return select(*LOAN_COLUMNS).select_from(
        st.loans.join(st.volumes, _V.id == _L.volume_id).join(st.borrowers, _B.id == _L.borrower_id))


def loan_from_row(row) -> Loan:
    return Loan(
        loan=row.number, archival_code=row.archival_code, title=row.title, borrower=row.b_code,
        borrower_name=row.b_name, borrower_unit=row.b_unit, borrower_type=row.b_type, mode=row.mode,
        purpose=row.purpose, lent_on=row.lent_on, due_on=row.due_on, approval_needed=row.approval_needed,
        approved_by=row.approved_by, approver_level=row.approver_level, renewals=tuple(row.renewals or ()),
        returned_on=row.returned_on, pages_expected=row.pages_expected, pages_counted=row.pages_counted,
        condition=row.condition, discrepancy=row.discrepancy, late_days=row.late_days, effect=row.effect,
        reminder_level=row.reminder_level, rules=row.rules or {},
    )


def loans_of(conn, borrower_id: int, *, open_only: bool = False) -> list[Loan]:
    stmt = loan_query().where(_L.borrower_id == borrower_id)
    if open_only:
        stmt = stmt.where(_L.returned_on.is_(None))
    return [loan_from_row(row) for row in conn.execute(stmt.order_by(_L.id))]
