"""assistance: contacts.sub_hash (the contact person's account, as a blind index) and
plans.next_visit_id (the id announced in `visit_scheduled`).

Revision ID: assi_0003
Revises: assi_0002

0002 creates the tables from the current ORM, so a fresh database has the columns already;
only a database created before this revision gets them here.
"""

import sqlalchemy as sa
from alembic import op

revision = "assi_0003"
down_revision = "assi_0002"
branch_labels = None
depends_on = None


def _has(table: str, column: str) -> bool:
    return any(c["name"] == column for c in sa.inspect(op.get_bind()).get_columns(table))


def upgrade() -> None:
    if not _has("contacts", "sub_hash"):
        with op.batch_alter_table("contacts") as batch:
            batch.add_column(sa.Column("sub_hash", sa.String(64), nullable=True))
            batch.create_index("ix_contacts_sub_hash", ["sub_hash"])
    if not _has("plans", "next_visit_id"):
        with op.batch_alter_table("plans") as batch:
            batch.add_column(sa.Column("next_visit_id", sa.String(36), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("plans") as batch:
        batch.drop_column("next_visit_id")
    with op.batch_alter_table("contacts") as batch:
        batch.drop_index("ix_contacts_sub_hash")
        batch.drop_column("sub_hash")
