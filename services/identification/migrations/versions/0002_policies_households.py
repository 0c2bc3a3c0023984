"""identification: policy versions added at run time; households and members.

Revision ID: iden_0002
Revises: iden_0001
"""

from alembic import op

from services.identification.adapters.orm import households, members, policy_versions

revision = "iden_0002"
down_revision = "iden_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    for table in (policy_versions, households, members):
        table.create(bind)


def downgrade() -> None:
    for table in ("members", "households", "policy_versions"):
        op.drop_table(table)
