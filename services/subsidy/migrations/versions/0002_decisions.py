"""subsidy: policy versions added at run time; decisions and the persons they pay.

Revision ID: subs_0002
Revises: subs_0001
"""

from alembic import op

from services.subsidy.adapters.orm import decision_persons, decisions, policy_versions

revision = "subs_0002"
down_revision = "subs_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    for table in (policy_versions, decisions, decision_persons):
        table.create(bind)


def downgrade() -> None:
    for table in ("decision_persons", "decisions", "policy_versions"):
        op.drop_table(table)
