"""civil_affairs: appeals (申诉/复核), complaints (12345 投诉举报) and the alerts their sweep published.

Revision ID: civi_0004
Revises: civi_0003
"""

from alembic import op

from services.civil_affairs.adapters.orm_appeals import APPEALS_TABLES

revision = "civi_0004"
down_revision = "civi_0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    for table in APPEALS_TABLES:
        table.create(bind, checkfirst=True)


def downgrade() -> None:
    for table in reversed(APPEALS_TABLES):
        op.drop_table(table.name)
