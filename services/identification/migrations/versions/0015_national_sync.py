"""identification: the national monitoring system export — `national_sync_runs` (one county's file
per run; its job is `jobs.id`), `national_sync_cursors` (per county: the last completed run),
`national_sync_exported` (keyed hash of each household's last exported row) and
`national_sync_rows` (a running run's staged rows, encrypted), `national_sync_days` (the daily
schedule's once-per-county-and-day claim).

Revision ID: iden_0015
Revises: iden_0014
"""

import sqlalchemy as sa
from alembic import op

from services.identification.adapters.orm_national_sync import (
    national_sync_cursors,
    national_sync_days,
    national_sync_exported,
    national_sync_rows,
    national_sync_runs,
)

revision = "iden_0015"
down_revision = "iden_0014"
branch_labels = None
depends_on = None

_TABLES = (national_sync_runs, national_sync_cursors, national_sync_exported, national_sync_rows, national_sync_days)


def upgrade() -> None:
    bind = op.get_bind()
    for table in _TABLES:
        if not sa.inspect(bind).has_table(table.name):
            table.create(bind)  # with its indexes


def downgrade() -> None:
    bind = op.get_bind()
    for table in reversed(_TABLES):
        if sa.inspect(bind).has_table(table.name):
            op.drop_table(table.name)
