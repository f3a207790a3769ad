"""red cards counted from their own table: case_days and case_months lose red_cards

A report counts the red cards raised in its period from ``red_cards`` itself (one GROUP BY
over the raised_on index; it reads the period's cards anyway to list them). Keeping a sum
per day and per month beside them cost the red cards' sweep an upsert of both tables for
every card it raised: on a province's month (68,631 cards at once) about a third of the
sweep. Nothing is counted here: the other sums are unchanged, so the facts stay current.
Downgrading puts the column back at 0 and marks the facts stale (the counter
``supervision:facts`` is removed), so the older code counts the sums again.

Revision ID: 0013
Revises: 0012
"""
import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for table in ("case_days", "case_months"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("red_cards")


def downgrade() -> None:
    with op.batch_alter_table("case_days") as batch:
        batch.add_column(sa.Column("red_cards", sa.Integer(), nullable=False, server_default="0"))
    with op.batch_alter_table("case_months") as batch:
        batch.add_column(sa.Column("red_cards", sa.Integer(), nullable=False, server_default="0"))
    op.execute("DELETE FROM counters WHERE scope = 'supervision:facts'")
