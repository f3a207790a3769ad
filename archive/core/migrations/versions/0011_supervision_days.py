"""supervision days: ratings and red cards summed per day, month sums, cases' pauses kept

case_days gains the day's ratings (by level, and the sums of the four sub-scores) and red
cards raised, added as ratings and cards are recorded (neither is ever edited); case_months
holds the same sums per calendar month, for reports of whole months; case_pauses holds each
case's pauses (art. 45) read from its pause and resume events, recounted with the case's
facts. A month's report then sums small tables instead of grouping the ratings, the red
cards and the event log (archive/supervision/ledger.py).

Nothing is counted here: the counter ``supervision:facts`` is removed, so the first report
finds the facts stale and counts everything again from the cases, ratings, red cards and
events (``ledger.ensure``), with the library's rules and the stored calendar. The migration
itself is schema only and does not depend on the library's table definitions.

Revision ID: 0011
Revises: 0010
"""
import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

FACT_VALUES = ("received", "accepted", "not_accepted", "concluded", "denied", "on_the_spot", "on_time",
               "promised_concluded", "early", "overdue_concluded", "overdue_workdays", "workdays_used",
               "promised_days", "statutory_days", "deemed_accepted")
RECORD_VALUES = ("ratings", "level_5", "level_4", "level_3", "level_2", "level_1", "overall", "efficiency",
                 "quality", "attitude", "red_cards")


def upgrade() -> None:
    with op.batch_alter_table("case_days") as batch:
        for name in RECORD_VALUES:
            batch.add_column(sa.Column(name, sa.Integer(), nullable=False, server_default="0"))
    op.create_table(
        "case_months",
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("unit", sa.String(length=32), nullable=False),
        sa.Column("item_code", sa.String(length=64), nullable=False),
        sa.Column("clerk", sa.String(length=100), nullable=False),
        *(sa.Column(name, sa.Integer(), nullable=False) for name in FACT_VALUES + RECORD_VALUES),
        sa.PrimaryKeyConstraint("month", "unit", "item_code", "clerk"),
    )
    op.create_table(
        "case_pauses",
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("unit", sa.String(length=32), nullable=False),
        sa.Column("item_code", sa.String(length=64), nullable=False),
        sa.Column("clerk", sa.String(length=100), nullable=False),
        sa.Column("received_on", sa.Date(), nullable=False),
        sa.Column("concluded_on", sa.Date(), nullable=True),
        sa.Column("paused_on", sa.Date(), nullable=False),
        sa.Column("resumed_on", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"]),
        sa.PrimaryKeyConstraint("case_id", "seq"),
    )
    # Stale facts: the next report counts them all again (see the docstring).
    op.execute("DELETE FROM counters WHERE scope = 'supervision:facts'")


def downgrade() -> None:
    op.drop_table("case_pauses")
    op.drop_table("case_months")
    with op.batch_alter_table("case_days") as batch:
        for name in RECORD_VALUES:
            batch.drop_column(name)
    op.execute("DELETE FROM counters WHERE scope = 'supervision:facts'")
