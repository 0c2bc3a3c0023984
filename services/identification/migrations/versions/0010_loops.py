"""identification: the loops with assistance — `household_loops` (measures since, last income
update and its re-assessment, manual red mark), `household_measures` (each assistance measure's
status), `household_marks` (red-mark history), `scheduled_screenings` (one lease row per county
and period).

Revision ID: iden_0010
Revises: iden_0009
"""

import sqlalchemy as sa
from alembic import op

from services.identification.adapters.orm_loops import (
    household_loops,
    household_marks,
    household_measures,
    scheduled_screenings,
)

revision = "iden_0010"
down_revision = "iden_0009"
branch_labels = None
depends_on = None

_TABLES = (household_loops, household_measures, household_marks, scheduled_screenings)


def upgrade() -> None:
    bind = op.get_bind()
    present = set(sa.inspect(bind).get_table_names())
    for table in _TABLES:
        if table.name not in present:
            table.create(bind)


def downgrade() -> None:
    bind = op.get_bind()
    for table in reversed(_TABLES):
        table.drop(bind, checkfirst=True)
