"""notification: subscriptions and their secrets, the delivery queue and its attempts, the in-app
inbox, SMS recipients and messages, reminders.

Revision ID: noti_0002
Revises: noti_0001
"""

import sqlalchemy as sa
from alembic import op

revision = "noti_0002"
down_revision = "noti_0001"
branch_labels = None
depends_on = None

_ORDER = (
    "subscriptions",
    "subscription_secrets",
    "event_payloads",
    "deliveries",
    "delivery_attempts",
    "inbox_items",
    "inbox_reads",
    "application_links",
    "sms_recipients",
    "sms_messages",
    "reminders",
)


def upgrade() -> None:
    from services.notification.adapters.orm import _tables

    bind = op.get_bind()
    tables = _tables(sa.MetaData())
    for name in _ORDER:
        tables[name].create(bind)


def downgrade() -> None:
    for name in reversed(_ORDER):
        op.drop_table(name)
