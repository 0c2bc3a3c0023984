"""civil_affairs: dibao / 特困 applications, economic checks, enrolments, monthly payment orders, and
the civil-affairs policy versions (`/admin/policies`).

Revision ID: civi_0002
Revises: civi_0001
"""

from alembic import op

from services.civil_affairs.adapters.orm_programmes import (
    applications,
    economic_checks,
    enrolment_payments,
    enrolments,
    policy_versions,
)

revision = "civi_0002"
down_revision = "civi_0001"
branch_labels = None
depends_on = None

_TABLES = (policy_versions, applications, economic_checks, enrolments, enrolment_payments)


def upgrade() -> None:
    bind = op.get_bind()
    for table in _TABLES:
        table.create(bind, checkfirst=True)


def downgrade() -> None:
    for table in reversed(_TABLES):
        op.drop_table(table.name)
