"""extension_requests: a clerk asks for the one extension (art. 42), a unit head decides

Until now ``case extend`` took the approving head's name as typed text. A request is now a
row of its own: pending until a head of the case's unit approves (the due date moves and
the extension notice is issued, with that account as the approver) or refuses it with a
reason; a head's own request is approved at once. The table is written out here as it is
at this revision, not imported from ``store``.

Revision ID: 0012
Revises: 0010
"""
import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "extension_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("days", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("requested_on", sa.Date(), nullable=False),
        sa.Column("requested_at", sa.DateTime(), nullable=False),
        sa.Column("requested_by", sa.String(length=100), nullable=False),
        sa.Column("decided_on", sa.Date(), nullable=True),
        sa.Column("decided_at", sa.DateTime(), nullable=True),
        sa.Column("decided_by", sa.String(length=100), nullable=True),
        sa.Column("refusal", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_extension_requests_case_id", "extension_requests", ["case_id"])
    op.create_index("ix_extension_requests_status", "extension_requests", ["status"])


def downgrade() -> None:
    op.drop_index("ix_extension_requests_status", table_name="extension_requests")
    op.drop_index("ix_extension_requests_case_id", table_name="extension_requests")
    op.drop_table("extension_requests")
