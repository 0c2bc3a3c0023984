"""identification: the procedure — cases, their append-only history, applications, department
signals, warnings and leads.

Revision ID: iden_0003
Revises: iden_0002
"""

from alembic import op

from services.identification.adapters.orm_cases import (
    applications,
    case_history,
    cases,
    leads,
    risk_warnings,
    signals,
)

revision = "iden_0003"
down_revision = "iden_0002"
branch_labels = None
depends_on = None

_TABLES = (cases, case_history, applications, signals, risk_warnings, leads)


def upgrade() -> None:
    bind = op.get_bind()
    for table in _TABLES:
        table.create(bind)


def downgrade() -> None:
    for table in reversed(_TABLES):
        op.drop_table(table.name)
