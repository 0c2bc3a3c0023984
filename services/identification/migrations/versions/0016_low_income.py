"""identification: the low-income side's tracked work — `joint_screenings` (one run per county and
half-year, 003 §二(二)) and `low_income_comparisons` (one monthly comparison task per county,
month and department, 003 §二(三)).

Revision ID: iden_0016
Revises: iden_0015
"""

import sqlalchemy as sa
from alembic import op

from services.identification.adapters.orm_low_income import joint_screenings, low_income_comparisons

revision = "iden_0016"
down_revision = "iden_0015"
branch_labels = None
depends_on = None

_TABLES = (joint_screenings, low_income_comparisons)


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
