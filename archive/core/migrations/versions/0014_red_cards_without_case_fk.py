"""red cards keep their case by id and number, without a foreign key to cases

A red card names its case by ``case_id`` and ``case_no``. The foreign key made PostgreSQL
check every card it wrote by locking the case's row (``SELECT … FOR KEY SHARE``): a lock
written into the case's page, with its WAL record and, after a checkpoint, the whole page.
For a month nobody swept (68,631 cards on a province's month) that was 1.1 of the 1.8 s of
the cards' COPY (measured with psql's ``\\copy`` into ``red_cards`` with and without it).
Nothing is lost: cases are never deleted, and the sweep (``alerts.record_red_cards``) raises
a card only for a case it has just read in the same transaction. ``tests/test_supervision.py``
checks that every card names a case that exists, on both stores.

Revision ID: 0014
Revises: 0013
"""
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

# SQLite's foreign key has no name: the batch copy of the table finds it by this convention.
_CONVENTION = {"fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s"}


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_constraint("red_cards_case_id_fkey", "red_cards", type_="foreignkey")
        return
    with op.batch_alter_table("red_cards", naming_convention=_CONVENTION) as batch:
        batch.drop_constraint("fk_red_cards_case_id_cases", type_="foreignkey")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.create_foreign_key("red_cards_case_id_fkey", "red_cards", "cases", ["case_id"], ["id"])
        return
    with op.batch_alter_table("red_cards") as batch:
        batch.create_foreign_key("fk_red_cards_case_id_cases", "cases", ["case_id"], ["id"])
