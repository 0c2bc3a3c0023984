"""identification: negative-list flags raised by other services' decisions, each with its
explanation (`refuses_work` after three refused job offers). Idempotent.

Revision ID: iden_0017
Revises: iden_0016
"""

import sqlalchemy as sa
from alembic import op

from services.identification.adapters.orm_flags import household_flags

revision = "iden_0017"
down_revision = "iden_0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    if household_flags.name not in set(sa.inspect(bind).get_table_names()):
        household_flags.create(bind)


def downgrade() -> None:
    op.drop_table("household_flags")
