"""identification: negative-list exclusions stored on cases with their village-assembly
overrides, the tamper-evident decision audit chain (shared.audit), and lead resolutions.

Revision ID: iden_0009
Revises: iden_0008
"""

from alembic import op

from services.identification.adapters.audit import audit_chain
from services.identification.adapters.orm_cases import case_exclusions, lead_resolutions

revision = "iden_0009"
down_revision = "iden_0008"
branch_labels = None
depends_on = None

_TABLES = (case_exclusions, lead_resolutions, audit_chain)


def upgrade() -> None:
    bind = op.get_bind()
    for table in _TABLES:
        table.create(bind, checkfirst=True)


def downgrade() -> None:
    for table in reversed(_TABLES):
        op.drop_table(table.name)
