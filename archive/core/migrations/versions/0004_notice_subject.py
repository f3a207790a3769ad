"""notices.subject: what a notice is about (case, appointment card or loan)

Reminders (催还通知单) concern a loan, which neither case_id nor appointment_id can
name, so a reprint could not find its subject. Existing rows are filled from their
case or appointment.

Revision ID: 0004
Revises: 0003
"""
import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("notices") as batch:
        batch.add_column(sa.Column("subject", sa.String(length=100), nullable=True))
        batch.create_index("ix_notices_subject", ["subject"], unique=False)
    op.execute("UPDATE notices SET subject = (SELECT case_no FROM cases WHERE cases.id = notices.case_id) "
               "WHERE case_id IS NOT NULL")
    op.execute("UPDATE notices SET subject = (SELECT card_no FROM appointments "
               "WHERE appointments.id = notices.appointment_id) WHERE appointment_id IS NOT NULL")


def downgrade() -> None:
    with op.batch_alter_table("notices") as batch:
        batch.drop_index("ix_notices_subject")
        batch.drop_column("subject")
