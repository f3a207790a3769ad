"""supervision facts: per-case facts and their day sums, kept with every case write

case_facts holds what each case adds to the window figures (the days it was received,
accepted, concluded or refused; on time, early, late by how many working days, working
days used, limits); case_days sums those additions per day, unit, item and clerk, so a
month's report sums a few hundred thousand rows instead of judging a million cases
(archive/supervision/ledger.py). An index on cases.concluded_on finds the cases still
open on a report's as-of day. The cases already there are not counted here: the counter
``supervision:facts`` is not set, so the first report finds the facts stale and counts them
(``ledger.ensure``). A migration that counted them would read ``cases`` through the
library's table definitions of the day it runs, which a later migration adding a column to
``cases`` would break; and the rules would have to be frozen here a second time.

Revision ID: 0008
Revises: 0007
"""
import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

VALUES = ("received", "accepted", "not_accepted", "concluded", "denied", "on_the_spot", "on_time",
          "promised_concluded", "early", "overdue_concluded", "overdue_workdays", "workdays_used",
          "promised_days", "statutory_days", "deemed_accepted")


def _values(names):
    return [sa.Column(name, sa.Integer(), nullable=False) for name in names]


def upgrade() -> None:
    op.create_table(
        "case_facts",
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("unit", sa.String(length=32), nullable=False),
        sa.Column("item_code", sa.String(length=64), nullable=False),
        sa.Column("clerk", sa.String(length=100), nullable=False),
        sa.Column("received_on", sa.Date(), nullable=False),
        sa.Column("accepted_on", sa.Date(), nullable=True),
        sa.Column("concluded_on", sa.Date(), nullable=True),
        sa.Column("deemed_on", sa.Date(), nullable=True),
        *_values(n for n in VALUES if n not in ("received", "accepted", "deemed_accepted")),
        sa.Column("exact", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"]),
        sa.PrimaryKeyConstraint("case_id"),
    )
    inexact = sa.text("exact IS false") if op.get_bind().dialect.name == "postgresql" else sa.text("exact IS 0")
    op.create_index("ix_case_facts_inexact", "case_facts", ["exact"], unique=False, sqlite_where=inexact,
                    postgresql_where=inexact)
    op.create_table(
        "case_days",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("unit", sa.String(length=32), nullable=False),
        sa.Column("item_code", sa.String(length=64), nullable=False),
        sa.Column("clerk", sa.String(length=100), nullable=False),
        *_values(VALUES),
        sa.PrimaryKeyConstraint("day", "unit", "item_code", "clerk"),
    )
    op.create_index("ix_cases_concluded_on", "cases", ["concluded_on"], unique=False)
    # The cases already there are counted by the first report (the facts are stale until then).


def downgrade() -> None:
    op.drop_index("ix_cases_concluded_on", table_name="cases")
    op.drop_table("case_days")
    op.drop_index("ix_case_facts_inexact", table_name="case_facts")
    op.drop_table("case_facts")
