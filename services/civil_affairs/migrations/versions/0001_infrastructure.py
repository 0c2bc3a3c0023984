"""civil_affairs: infrastructure tables (outbox, inbox, dead letters, idempotency keys).

Revision ID: civi_0001
Revises:
"""

from alembic import op

from shared.migrations import create_infra_tables

revision = "civi_0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_infra_tables(op.get_bind())


def downgrade() -> None:
    for table in ("idempotency_keys", "dead_letters", "inbox", "outbox"):
        op.drop_table(table)
