"""identification: the DCI registry exchange — partners, transactions, subscriptions and the
outbound callbacks/notifications (docs/registry.md). Creates only what is missing.

Revision ID: iden_0014
Revises: iden_0013
"""

import sqlalchemy as sa
from alembic import op

from services.identification.adapters.dci_orm import dci_outbound, dci_partners, dci_subscriptions, dci_transactions

revision = "iden_0014"
down_revision = "iden_0013"
branch_labels = None
depends_on = None

_TABLES = (dci_partners, dci_transactions, dci_subscriptions, dci_outbound)


def upgrade() -> None:
    bind = op.get_bind()
    for table in _TABLES:
        if not sa.inspect(bind).has_table(table.name):
            table.create(bind)


def downgrade() -> None:
    bind = op.get_bind()
    for table in reversed(_TABLES):
        if sa.inspect(bind).has_table(table.name):
            table.drop(bind)
