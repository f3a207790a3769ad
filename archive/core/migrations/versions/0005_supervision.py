"""supervision: ratings (好差评), rectifications, red cards; cases.clerk; events by action

A rating is never edited: besides the unique case_id, triggers refuse any UPDATE or
DELETE of a rating on SQLite and PostgreSQL alike. Rectifications and red cards are
separate tables so that following up a bad rating or closing a card never touches the
rating. cases.clerk holds the operator of the case's receive event — filled here for
existing cases and by a trigger on events for new ones, whatever code writes them — so a
month's figures group by clerk without joining the event log. The index on events
(action, case_id) finds the pause and resume events without scanning the whole log,
the one on notices (kind, issued_on) a period's supplement notices, and a partial
index holds the cases concluded after their due date (the red cards' sweep).

Revision ID: 0005
Revises: 0004
"""
import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_REFUSAL = "ratings are never edited (好差评一经记录不得修改)"


def upgrade() -> None:
    op.create_table(
        "ratings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("case_no", sa.String(length=64), nullable=False),
        sa.Column("unit", sa.String(length=32), nullable=False),
        sa.Column("item_code", sa.String(length=64), nullable=False),
        sa.Column("clerk", sa.String(length=100), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("overall", sa.Integer(), nullable=False),
        sa.Column("efficiency", sa.Integer(), nullable=False),
        sa.Column("quality", sa.Integer(), nullable=False),
        sa.Column("attitude", sa.Integer(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("rated_on", sa.Date(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
        sa.Column("operator", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("case_id"),
    )
    op.create_index("ix_ratings_unit", "ratings", ["unit"], unique=False)
    op.create_index("ix_ratings_rated_on", "ratings", ["rated_on"], unique=False)
    op.create_table(
        "rectifications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("rating_id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("case_no", sa.String(length=64), nullable=False),
        sa.Column("unit", sa.String(length=32), nullable=False),
        sa.Column("item_code", sa.String(length=64), nullable=False),
        sa.Column("clerk", sa.String(length=100), nullable=False),
        sa.Column("opened_on", sa.Date(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("followed_up_on", sa.Date(), nullable=True),
        sa.Column("follow_up", sa.Text(), nullable=True),
        sa.Column("followed_up_by", sa.String(length=100), nullable=True),
        sa.Column("rectified_on", sa.Date(), nullable=True),
        sa.Column("rectified", sa.Text(), nullable=True),
        sa.Column("rectified_by", sa.String(length=100), nullable=True),
        sa.ForeignKeyConstraint(["rating_id"], ["ratings.id"]),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("rating_id"),
    )
    op.create_index("ix_rectifications_unit", "rectifications", ["unit"], unique=False)
    op.create_index("ix_rectifications_due_on", "rectifications", ["due_on"], unique=False)
    op.create_table(
        "red_cards",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("case_no", sa.String(length=64), nullable=False),
        sa.Column("unit", sa.String(length=32), nullable=False),
        sa.Column("item_code", sa.String(length=64), nullable=False),
        sa.Column("clerk", sa.String(length=100), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("raised_on", sa.Date(), nullable=False),
        sa.Column("days_over", sa.Integer(), nullable=False),
        sa.Column("closed_on", sa.Date(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("kind", "case_id", name="uq_red_card"),
    )
    op.create_index("ix_red_cards_unit", "red_cards", ["unit"], unique=False)
    op.create_index("ix_red_cards_raised_on", "red_cards", ["raised_on"], unique=False)
    op.create_index("ix_events_action_case", "events", ["action", "case_id"], unique=False)
    op.create_index("ix_notices_kind_issued", "notices", ["kind", "issued_on"], unique=False)
    late = sa.text("concluded_on > due_on")
    op.create_index("ix_cases_concluded_late", "cases", ["concluded_on"], unique=False, sqlite_where=late,
                    postgresql_where=late)
    with op.batch_alter_table("cases") as batch:
        batch.add_column(sa.Column("clerk", sa.String(length=100), nullable=True))
    op.execute("UPDATE cases SET clerk = (SELECT operator FROM events WHERE events.case_id = cases.id "
               "AND events.action = 'receive' ORDER BY events.id LIMIT 1)")

    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for verb in ("UPDATE", "DELETE"):
            op.execute(f"CREATE TRIGGER ratings_no_{verb.lower()} BEFORE {verb} ON ratings "
                       f"BEGIN SELECT RAISE(ABORT, '{_REFUSAL}'); END")
        op.execute("CREATE TRIGGER cases_clerk_from_receive AFTER INSERT ON events "
                   "WHEN NEW.action = 'receive' AND NEW.case_id IS NOT NULL "
                   "BEGIN UPDATE cases SET clerk = NEW.operator WHERE id = NEW.case_id AND clerk IS NULL; END")
    elif dialect == "postgresql":
        op.execute("CREATE FUNCTION ratings_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$ "
                   f"BEGIN RAISE EXCEPTION '{_REFUSAL}'; END $$")
        op.execute("CREATE TRIGGER ratings_no_change BEFORE UPDATE OR DELETE ON ratings "
                   "FOR EACH ROW EXECUTE FUNCTION ratings_refuse_change()")
        op.execute("CREATE FUNCTION cases_clerk_from_receive() RETURNS trigger LANGUAGE plpgsql AS $$ "
                   "BEGIN UPDATE cases SET clerk = NEW.operator WHERE id = NEW.case_id AND clerk IS NULL; "
                   "RETURN NULL; END $$")
        op.execute("CREATE TRIGGER cases_clerk_from_receive AFTER INSERT ON events FOR EACH ROW "
                   "WHEN (NEW.action = 'receive' AND NEW.case_id IS NOT NULL) "
                   "EXECUTE FUNCTION cases_clerk_from_receive()")


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS ratings_no_update")
        op.execute("DROP TRIGGER IF EXISTS ratings_no_delete")
        op.execute("DROP TRIGGER IF EXISTS cases_clerk_from_receive")
    elif dialect == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS ratings_no_change ON ratings")
        op.execute("DROP FUNCTION IF EXISTS ratings_refuse_change()")
        op.execute("DROP TRIGGER IF EXISTS cases_clerk_from_receive ON events")
        op.execute("DROP FUNCTION IF EXISTS cases_clerk_from_receive()")
    with op.batch_alter_table("cases") as batch:
        batch.drop_column("clerk")
    op.drop_index("ix_cases_concluded_late", table_name="cases")
    op.drop_index("ix_notices_kind_issued", table_name="notices")
    op.drop_index("ix_events_action_case", table_name="events")
    op.drop_table("red_cards")
    op.drop_table("rectifications")
    op.drop_table("ratings")
