"""change_log and leases: the index follows the store through a log; one indexer at a time

Writes append what they changed to ``change_log`` (numbered by the store generation, in
commit order) instead of updating the search index themselves; the indexer applies the log
and holds the ``search-indexer`` row of ``leases`` while it does. An index built before
this revision that reflects every change so far goes on from the store generation; an
older one is rebuilt by the indexer.

On PostgreSQL the audit trail is made append-only here as well (0006 did it on SQLite only):
triggers of the same names refuse an UPDATE or DELETE of ``audit_log``.

Revision ID: 0010
Revises: 0009
"""
import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "change_log",
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("committed_at", sa.DateTime(), nullable=False),
        sa.Column("changes", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("seq"),
    )
    op.create_table(
        "leases",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("holder", sa.String(length=200), nullable=True),
        sa.Column("expires_at", sa.Float(), nullable=False),
        sa.Column("acquired_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("name"),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE FUNCTION audit_log_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$ "
                   "BEGIN RAISE EXCEPTION 'audit_log is append-only'; END $$")
        for verb in ("UPDATE", "DELETE"):
            op.execute(f"CREATE TRIGGER audit_log_no_{verb.lower()} BEFORE {verb} ON audit_log "
                       "FOR EACH ROW EXECUTE FUNCTION audit_log_refuse_change()")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_update ON audit_log")
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_delete ON audit_log")
        op.execute("DROP FUNCTION IF EXISTS audit_log_refuse_change()")
    op.drop_table("leases")
    op.drop_table("change_log")
