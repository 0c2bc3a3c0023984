"""identification: the hash-chained audit log of unmasked reads of personal data.

Revision ID: iden_0004
Revises: iden_0003
"""

from alembic import op

from services.identification.adapters.audit import audit_log

revision = "iden_0004"
down_revision = "iden_0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    audit_log.create(op.get_bind())


def downgrade() -> None:
    op.drop_table("audit_log")
