"""the archivist's, lending and reader's desks in the browser (issue 15)

- destruction_lists.approved_by/approved_at and destruction_witnesses: the approval and the
  two witnesses of a destruction are accounts, each acting in their own session;
- access_changes: a change of a volume's access status or security level, proposed by one
  account and decided by another holding ``access.change``;
- borrowers.account: the account of a borrower who uses the reader's pages;
- loan_requests: a use or renewal waiting for a head's approval;
- jobs: long work started from a page or the API, with its progress and result.

Revision ID: 0009
Revises: 0008
"""
import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("destruction_lists") as batch:
        batch.add_column(sa.Column("approved_by", sa.String(length=100), nullable=True))
        batch.add_column(sa.Column("approved_at", sa.DateTime(), nullable=True))
    op.create_table(
        "destruction_witnesses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("list_id", sa.Integer(), nullable=False),
        sa.Column("account", sa.String(length=100), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("client", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["list_id"], ["destruction_lists.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("list_id", "account", name="uq_destruction_witness"),
    )
    op.create_index("ix_destruction_witnesses_list_id", "destruction_witnesses", ["list_id"])
    op.create_table(
        "access_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("volume_id", sa.Integer(), nullable=False),
        sa.Column("access", sa.String(length=16), nullable=False),
        sa.Column("security_level", sa.String(length=16), nullable=True),
        sa.Column("previous_access", sa.String(length=16), nullable=False),
        sa.Column("previous_security_level", sa.String(length=16), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("requested_at", sa.DateTime(), nullable=False),
        sa.Column("requested_by", sa.String(length=100), nullable=False),
        sa.Column("decided_at", sa.DateTime(), nullable=True),
        sa.Column("decided_by", sa.String(length=100), nullable=True),
        sa.Column("decision_note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["volume_id"], ["volumes.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_access_changes_volume_id", "access_changes", ["volume_id"])
    with op.batch_alter_table("borrowers") as batch:
        batch.add_column(sa.Column("account", sa.String(length=50), nullable=True))
        batch.create_unique_constraint("uq_borrowers_account", ["account"])
    op.create_table(
        "loan_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("volume_id", sa.Integer(), nullable=False),
        sa.Column("borrower_id", sa.Integer(), nullable=False),
        sa.Column("loan_id", sa.Integer(), nullable=True),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("approval_needed", sa.String(length=16), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("requested_at", sa.DateTime(), nullable=False),
        sa.Column("requested_by", sa.String(length=100), nullable=False),
        sa.Column("decided_at", sa.DateTime(), nullable=True),
        sa.Column("decided_by", sa.String(length=100), nullable=True),
        sa.Column("approver_level", sa.String(length=16), nullable=True),
        sa.Column("decision_note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["volume_id"], ["volumes.id"]),
        sa.ForeignKeyConstraint(["borrower_id"], ["borrowers.id"]),
        sa.ForeignKeyConstraint(["loan_id"], ["loans.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("number"),
    )
    op.create_index("ix_loan_requests_volume_id", "loan_requests", ["volume_id"])
    op.create_index("ix_loan_requests_borrower_id", "loan_requests", ["borrower_id"])
    op.create_index("ix_loan_requests_status", "loan_requests", ["status"])
    op.create_table(
        "jobs",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("account", sa.String(length=100), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("done", sa.Integer(), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.Column("error", sa.JSON(), nullable=True),
        sa.Column("pid", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=True),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_jobs_account", "jobs", ["account", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_jobs_account", table_name="jobs")
    op.drop_table("jobs")
    for name in ("status", "borrower_id", "volume_id"):
        op.drop_index(f"ix_loan_requests_{name}", table_name="loan_requests")
    op.drop_table("loan_requests")
    with op.batch_alter_table("borrowers") as batch:
        batch.drop_constraint("uq_borrowers_account", type_="unique")
        batch.drop_column("account")
    op.drop_index("ix_access_changes_volume_id", table_name="access_changes")
    op.drop_table("access_changes")
    op.drop_index("ix_destruction_witnesses_list_id", table_name="destruction_witnesses")
    op.drop_table("destruction_witnesses")
    with op.batch_alter_table("destruction_lists") as batch:
        batch.drop_column("approved_at")
        batch.drop_column("approved_by")
