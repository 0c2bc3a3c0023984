"""identification: the blind indexes of ID numbers (members) and phones (households) become hash
indexes on PostgreSQL. They are only ever compared for equality (`=`, `= ANY`, `IN`); a hash
index keeps a 4-byte hash code per row instead of a 64-character key (146 MB instead of 429 MB
for 3.6 million members), and a bulk import inserts into it ~40 % faster (bench/README.md).
SQLite keeps its B-trees (it has no other kind).

Revision ID: iden_0006
Revises: iden_0005
"""

import sqlalchemy as sa
from alembic import op

revision = "iden_0006"
down_revision = "iden_0005"
branch_labels = None
depends_on = None

_INDEXES = (
    ("members", "ix_members_id_number_index", "id_number_index"),
    ("households", "ix_households_phone_index", "phone_index"),
)


def _method(index: str) -> str | None:
    sql = "SELECT am.amname FROM pg_class c JOIN pg_am am ON am.oid = c.relam WHERE c.relname = :name"
    return op.get_bind().execute(sa.text(sql), {"name": index}).scalar()


def _rebuild(using: str) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, index, column in _INDEXES:
        if _method(index) != using:  # iden_0002 of a new database already builds today's indexes
            op.drop_index(index, table_name=table, if_exists=True)
            op.create_index(index, table, [column], postgresql_using=using)


def upgrade() -> None:
    _rebuild("hash")


def downgrade() -> None:
    _rebuild("btree")
