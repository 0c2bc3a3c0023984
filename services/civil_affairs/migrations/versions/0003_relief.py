"""civil_affairs: temporary relief requests and their payment orders. Idempotent: a table already
there is left alone.

Revision ID: civi_0003
Revises: civi_0002
"""

import sqlalchemy as sa
from alembic import op

from services.civil_affairs.adapters.orm_relief import relief_payments, relief_requests

revision = "civi_0003"
down_revision = "civi_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    existing = set(sa.inspect(bind).get_table_names())
    for table in (relief_requests, relief_payments):
        if table.name not in existing:
            table.create(bind)


def downgrade() -> None:
    for table in ("relief_payments", "relief_requests"):
        op.drop_table(table)
