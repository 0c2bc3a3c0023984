"""subsidy: the tamper-evident audit chain of decisions, their approvals and policy versions
(shared.audit).

Revision ID: subs_0003
Revises: subs_0002
"""

from alembic import op

from services.subsidy.adapters.orm import audit_chain

revision = "subs_0003"
down_revision = "subs_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    audit_chain.create(op.get_bind(), checkfirst=True)


def downgrade() -> None:
    op.drop_table(audit_chain.name)
