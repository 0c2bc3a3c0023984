"""identification: policy versions added at run time; households and members; jobs (imports,
screenings).

Revision ID: iden_0002
Revises: iden_0001
"""

from alembic import op

from services.identification.adapters.orm import households, jobs, members, policy_versions

revision = "iden_0002"
down_revision = "iden_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    for table in (policy_versions, households, members, jobs):
        table.create(bind)


def downgrade() -> None:
    for table in ("jobs", "members", "households", "policy_versions"):
        op.drop_table(table)
