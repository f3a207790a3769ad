"""Documents and forms: pending materials, approvals, effective dates

* ``items.pending_days``: a 补办件's working days to hand in pending materials;
* ``cases.pending_due`` (the date each pending material is due), ``cases.pause_expected_days``
  (what the excluded-time notice announced), ``cases.approver`` and ``cases.approved_on``
  (the 办结审批单);
* ``events.effective_on``: the date an action takes effect when it was entered later
  (``events.at`` stays the time of entry);
* ``destruction_lists``: the appraisal group, the reviewing archive head and the PDF
  renditions of the draft and executed lists.

Revision ID: 0007
Revises: 0006
"""
import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("items") as batch:
        batch.add_column(sa.Column("pending_days", sa.Integer(), nullable=True))
    with op.batch_alter_table("cases") as batch:
        batch.add_column(sa.Column("pending_due", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("pause_expected_days", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("approver", sa.String(length=100), nullable=True))
        batch.add_column(sa.Column("approved_on", sa.Date(), nullable=True))
    with op.batch_alter_table("events") as batch:
        batch.add_column(sa.Column("effective_on", sa.Date(), nullable=True))
    with op.batch_alter_table("destruction_lists") as batch:
        batch.add_column(sa.Column("appraisers", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("reviewer", sa.String(length=100), nullable=True))
        batch.add_column(sa.Column("pdf_path", sa.String(length=500), nullable=True))
        batch.add_column(sa.Column("executed_pdf_path", sa.String(length=500), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("destruction_lists") as batch:
        batch.drop_column("executed_pdf_path")
        batch.drop_column("pdf_path")
        batch.drop_column("reviewer")
        batch.drop_column("appraisers")
    with op.batch_alter_table("events") as batch:
        batch.drop_column("effective_on")
    with op.batch_alter_table("cases") as batch:
        batch.drop_column("approved_on")
        batch.drop_column("approver")
        batch.drop_column("pause_expected_days")
        batch.drop_column("pending_due")
    with op.batch_alter_table("items") as batch:
        batch.drop_column("pending_days")
