"""The notification service's tables (its own database; no other service reads them)."""

from __future__ import annotations

import sqlalchemy as sa

from shared.db import infra_tables

metadata = sa.MetaData()
#: outbox, inbox, dead_letters, idempotency_keys
infra = infra_tables(metadata)

_BIGINT = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TS = sa.DateTime(timezone=True)


def _tables(md: sa.MetaData) -> dict[str, sa.Table]:
    """Defined in a function so migration 0002 creates exactly these (from its own MetaData)."""
    subscriptions = sa.Table(
        "subscriptions",
        md,
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("owner_sub_hash", sa.String(64), nullable=False),
        sa.Column("owner_role", sa.String(20), nullable=False),
        sa.Column("owner_region", sa.String(12), nullable=False),
        sa.Column("owner_dept", sa.String(100), nullable=True),
        sa.Column("url", sa.String(2048), nullable=False),
        sa.Column("event_types", sa.JSON, nullable=False),
        sa.Column("region", sa.String(12), nullable=False),
        sa.Column("description", sa.String(500), nullable=False, server_default=""),
        sa.Column("status", sa.String(20), nullable=False),  # active | disabled
        sa.Column("disabled_reason", sa.String(40), nullable=True),  # by_owner | failing
        sa.Column("disabled_at", _TS, nullable=True),
        sa.Column("failing_since", _TS, nullable=True),
        sa.Column("missed_since", _TS, nullable=True),  # what re-enabling replays
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
    )
    subscription_secrets = sa.Table(
        "subscription_secrets",
        md,
        sa.Column("id", _BIGINT, primary_key=True, autoincrement=True),
        sa.Column("subscription_id", sa.String(36), sa.ForeignKey("subscriptions.id"), nullable=False, index=True),
        sa.Column("secret_enc", sa.Text, nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("expires_at", _TS, nullable=True),  # set on rotation: signs until then
    )
    event_payloads = sa.Table(
        "event_payloads",
        md,
        sa.Column("event_id", sa.String(36), primary_key=True),
        sa.Column("event_type", sa.String(120), nullable=False),
        sa.Column("payload", sa.LargeBinary, nullable=False),  # the CloudEvents JSON as delivered
        sa.Column("created_at", _TS, nullable=False),
    )
    deliveries = sa.Table(
        "deliveries",
        md,
        sa.Column("id", _BIGINT, primary_key=True, autoincrement=True),
        sa.Column("subscription_id", sa.String(36), sa.ForeignKey("subscriptions.id"), nullable=False),
        sa.Column("event_id", sa.String(36), nullable=False),
        sa.Column("event_type", sa.String(120), nullable=False),
        sa.Column("order_key", sa.String(64), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),  # pending | delivered | dead
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),  # in this round
        sa.Column("total_attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("next_attempt_at", _TS, nullable=False),
        sa.Column("lease_owner", sa.String(36), nullable=True),
        sa.Column("lease_until", _TS, nullable=True),
        sa.Column("last_status_code", sa.Integer, nullable=True),
        sa.Column("last_error", sa.String(500), nullable=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("delivered_at", _TS, nullable=True),
        sa.Column("dead_at", _TS, nullable=True),
        sa.UniqueConstraint("subscription_id", "event_id", name="uq_deliveries_subscription_event"),
        # The dispatcher's claim names `status = 'pending'` literally so both planners use these.
        sa.Index(
            "ix_deliveries_pending",
            "id",
            postgresql_where=sa.text("status = 'pending'"),
            sqlite_where=sa.text("status = 'pending'"),
        ),
        sa.Index(
            "ix_deliveries_due",
            "next_attempt_at",
            postgresql_where=sa.text("status = 'pending'"),
            sqlite_where=sa.text("status = 'pending'"),
        ),
        sa.Index(
            "ix_deliveries_order",
            "subscription_id",
            "order_key",
            "id",
            postgresql_where=sa.text("status = 'pending'"),
            sqlite_where=sa.text("status = 'pending'"),
        ),
        sa.Index("ix_deliveries_subscription", "subscription_id", "id"),
    )
    delivery_attempts = sa.Table(
        "delivery_attempts",
        md,
        sa.Column("id", _BIGINT, primary_key=True, autoincrement=True),
        sa.Column("delivery_id", _BIGINT, sa.ForeignKey("deliveries.id"), nullable=False, index=True),
        sa.Column("attempt", sa.Integer, nullable=False),
        sa.Column("started_at", _TS, nullable=False),
        sa.Column("latency_ms", sa.Float, nullable=True),
        sa.Column("status_code", sa.Integer, nullable=True),
        sa.Column("outcome", sa.String(20), nullable=False),  # delivered | failed | refused
        sa.Column("error", sa.String(500), nullable=True),
    )
    inbox_items = sa.Table(
        "inbox_items",
        md,
        sa.Column("id", sa.String(36), primary_key=True),
        # Addressed to a person (blind index of their token subject) or to a role in a region.
        sa.Column("recipient_hash", sa.String(64), nullable=True),
        sa.Column("recipient_role", sa.String(20), nullable=True),
        sa.Column("region", sa.String(12), nullable=False),
        sa.Column("kind", sa.String(60), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("data", sa.JSON, nullable=False),
        sa.Column("event_id", sa.String(36), nullable=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.Index("ix_inbox_person", "recipient_hash", "created_at"),
        sa.Index("ix_inbox_role", "recipient_role", "region", "created_at"),
    )
    inbox_reads = sa.Table(
        "inbox_reads",
        md,
        sa.Column("item_id", sa.String(36), sa.ForeignKey("inbox_items.id"), primary_key=True),
        sa.Column("reader_hash", sa.String(64), primary_key=True),
        sa.Column("read_at", _TS, nullable=False),
    )
    application_links = sa.Table(
        "application_links",
        md,
        sa.Column("case_id", sa.String(36), primary_key=True),
        sa.Column("application_id", sa.String(36), nullable=False),
        sa.Column("applicant_hash", sa.String(64), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
    )
    sms_recipients = sa.Table(
        "sms_recipients",
        md,
        sa.Column("recipient_hash", sa.String(64), primary_key=True),
        sa.Column("phone_enc", sa.Text, nullable=False),  # AES-GCM, decrypted only to send
        sa.Column("phone_hash", sa.String(64), nullable=False),  # blind index, for the rate limit
        sa.Column("enabled", sa.Boolean, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
    )
    sms_messages = sa.Table(
        "sms_messages",
        md,
        sa.Column("id", _BIGINT, primary_key=True, autoincrement=True),
        sa.Column("recipient_hash", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(60), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("inbox_item_id", sa.String(36), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),  # pending | sent | failed | rate_limited | no_phone
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("next_attempt_at", _TS, nullable=False),
        sa.Column("lease_until", _TS, nullable=True),
        sa.Column("phone_hash", sa.String(64), nullable=True),
        sa.Column("error", sa.String(500), nullable=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("sent_at", _TS, nullable=True),
        sa.Index(
            "ix_sms_pending",
            "next_attempt_at",
            sqlite_where=sa.text("status = 'pending'"),
            postgresql_where=sa.text("status = 'pending'"),
        ),
        sa.Index("ix_sms_phone_sent", "phone_hash", "sent_at"),
    )
    reminders = sa.Table(
        "reminders",
        md,
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("ref_id", sa.String(64), nullable=False),
        sa.Column("region", sa.String(12), nullable=False),
        sa.Column("household_id", sa.String(64), nullable=True),
        sa.Column("due_date", sa.Date, nullable=False),
        sa.Column("fire_at", _TS, nullable=False),
        sa.Column("recipient_hash", sa.String(64), nullable=True),
        sa.Column("recipient_roles", sa.JSON, nullable=False),
        sa.Column("data", sa.JSON, nullable=False),
        sa.Column("source_event_id", sa.String(36), nullable=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.Column("fired_at", _TS, nullable=True),
        sa.Column("cancelled_at", _TS, nullable=True),
        sa.Column("cancel_reason", sa.String(200), nullable=True),
        sa.UniqueConstraint("kind", "ref_id", name="uq_reminders_kind_ref"),
        sa.Index(
            "ix_reminders_due",
            "fire_at",
            postgresql_where=sa.text("fired_at IS NULL AND cancelled_at IS NULL"),
            sqlite_where=sa.text("fired_at IS NULL AND cancelled_at IS NULL"),
        ),
    )
    return {
        t.name: t
        for t in (
            subscriptions,
            subscription_secrets,
            event_payloads,
            deliveries,
            delivery_attempts,
            inbox_items,
            inbox_reads,
            application_links,
            sms_recipients,
            sms_messages,
            reminders,
        )
    }


tables = _tables(metadata)
subscriptions = tables["subscriptions"]
subscription_secrets = tables["subscription_secrets"]
event_payloads = tables["event_payloads"]
deliveries = tables["deliveries"]
delivery_attempts = tables["delivery_attempts"]
inbox_items = tables["inbox_items"]
inbox_reads = tables["inbox_reads"]
application_links = tables["application_links"]
sms_recipients = tables["sms_recipients"]
sms_messages = tables["sms_messages"]
reminders = tables["reminders"]
