"""identification: `cases.comparison_due` — the last day of the county's cross-department
comparison (DOMAIN.md §3: ≤ 10 days, 002 篇二 §四(二)), set when a case enters `county_review`;
`GET /cases?overdue=true` lists cases past it.

Revision ID: iden_0007
Revises: iden_0006
"""

import sqlalchemy as sa
from alembic import op

revision = "iden_0007"
down_revision = "iden_0006"
branch_labels = None
depends_on = None


def _has_column() -> bool:
    return "comparison_due" in {c["name"] for c in sa.inspect(op.get_bind()).get_columns("cases")}


def upgrade() -> None:
    if not _has_column():  # iden_0003 of a new database already creates today's table
        op.add_column("cases", sa.Column("comparison_due", sa.Date, nullable=True))


def downgrade() -> None:
    if _has_column():
        with op.batch_alter_table("cases") as batch:
            batch.drop_column("comparison_due")
