"""identification: the latest evaluation of each household moves from `households` to a narrow
`household_outcomes` table (with the policy version and date it was made under): a screening of a
million households then writes a million narrow rows instead of rewriting a million wide ones.

Revision ID: iden_0005
Revises: iden_0004
"""

import sqlalchemy as sa
from alembic import op

from services.identification.adapters.orm import household_outcomes

revision = "iden_0005"
down_revision = "iden_0004"
branch_labels = None
depends_on = None

_MOVED = ("category", "low_income_category", "warning", "per_capita_income", "assessed_at")


def upgrade() -> None:
    bind = op.get_bind()
    household_outcomes.create(bind)
    present = {c["name"] for c in sa.inspect(bind).get_columns("households")}
    if not set(_MOVED) <= present:
        return  # a database created after this change (iden_0002 builds today's households)
    op.execute(
        "INSERT INTO household_outcomes (household_id, category, low_income_category, warning, per_capita_income, "
        "assessed_at) SELECT id, category, low_income_category, warning, per_capita_income, assessed_at "
        "FROM households WHERE assessed_at IS NOT NULL"
    )
    with op.batch_alter_table("households") as batch:
        for column in _MOVED:
            batch.drop_column(column)


def downgrade() -> None:
    with op.batch_alter_table("households") as batch:
        batch.add_column(sa.Column("category", sa.String(24), nullable=True))
        batch.add_column(sa.Column("low_income_category", sa.String(24), nullable=True))
        batch.add_column(sa.Column("warning", sa.String(8), nullable=True))
        batch.add_column(sa.Column("per_capita_income", sa.Numeric(14, 2), nullable=True))
        batch.add_column(sa.Column("assessed_at", sa.DateTime(timezone=True), nullable=True))
    op.execute(
        "UPDATE households SET category = o.category, low_income_category = o.low_income_category, "
        "warning = o.warning, per_capita_income = o.per_capita_income, assessed_at = o.assessed_at "
        "FROM household_outcomes o WHERE o.household_id = households.id"
    )
    op.drop_table("household_outcomes")
