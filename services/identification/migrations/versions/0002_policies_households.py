"""identification: policy versions added at run time; households and members; jobs (imports,
screenings) and their chunks (shared by replicas).

Revision ID: iden_0002
Revises: iden_0001
"""

from alembic import op

from services.identification.adapters.orm import households, job_chunks, jobs, members, policy_versions

revision = "iden_0002"
down_revision = "iden_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    for table in (policy_versions, households, members, jobs, job_chunks):
        table.create(bind)


def downgrade() -> None:
    for table in ("job_chunks", "jobs", "members", "households", "policy_versions"):
        op.drop_table(table)
