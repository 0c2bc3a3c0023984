"""assistance: household files, plans and their history, measures, contacts and assignments,
visits, employment records/services/placements/post wages, overdue alerts.

Revision ID: assi_0002
Revises: assi_0001
"""

from alembic import op

from services.assistance.adapters.orm import ASSISTANCE_TABLES

revision = "assi_0002"
down_revision = "assi_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    for table in ASSISTANCE_TABLES:
        table.create(bind)


def downgrade() -> None:
    for table in reversed(ASSISTANCE_TABLES):
        op.drop_table(table.name)
