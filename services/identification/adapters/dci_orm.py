"""Tables of the DCI registry exchange (migration `iden_0014`): partners (sender ids, their
bearer subject and public keys), transactions (async searches, subscribes, status look-ups),
subscriptions, and the outbound callbacks and notifications (delivered once each)."""

from __future__ import annotations

import sqlalchemy as sa

from services.identification.adapters.orm import metadata

__all__ = ["dci_outbound", "dci_partners", "dci_subscriptions", "dci_transactions"]

_TS = sa.DateTime(timezone=True)

#: A registry partner (an SPMIS, a department's system): who it is on the wire (`sender_id`),
#: which bearer subject may speak for it, and the JWKS its signatures are checked against.
dci_partners = sa.Table(
    "dci_partners",
    metadata,
    sa.Column("sender_id", sa.String(128), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("client_sub", sa.String(200), nullable=False),
    sa.Column("jwks", sa.Text, nullable=False),
    sa.Column("created_by", sa.String(200), nullable=False),
    sa.Column("created_at", _TS, nullable=False),
    sa.Column("updated_at", _TS, nullable=False),
)

#: One DCI transaction received: `id` is our correlation_id. `request_enc` holds an async
#: search's message (it may carry an ID number: encrypted, FieldCipher) until it is answered;
#: `summary` is what a status look-up answers (per reference: status, reason, counts; no
#: personal data).
dci_transactions = sa.Table(
    "dci_transactions",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("sender_id", sa.String(128), nullable=False),
    sa.Column("transaction_id", sa.String(99), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),  # search | subscribe | unsubscribe
    sa.Column("status", sa.String(8), nullable=False),  # rcvd | pdng | succ | rjct
    sa.Column("caller_sub", sa.String(200), nullable=False),
    sa.Column("caller_role", sa.String(16), nullable=False),
    sa.Column("caller_region", sa.String(12), nullable=False),
    sa.Column("sender_uri", sa.Text, nullable=True),
    sa.Column("request_enc", sa.LargeBinary, nullable=True),
    sa.Column("summary", sa.Text, nullable=False),
    sa.Column("created_at", _TS, nullable=False),
    sa.Column("updated_at", _TS, nullable=False),
    sa.UniqueConstraint("sender_id", "kind", "transaction_id", name="uq_dci_transactions_sender_kind_txn"),
)

#: A partner's subscription to one reg_event_type for the households of one region.
dci_subscriptions = sa.Table(
    "dci_subscriptions",
    metadata,
    sa.Column("code", sa.String(36), primary_key=True),
    sa.Column("sender_id", sa.String(128), nullable=False),
    sa.Column("owner_sub", sa.String(200), nullable=False),
    sa.Column("owner_role", sa.String(16), nullable=False),
    sa.Column("owner_region", sa.String(12), nullable=False),
    sa.Column("region", sa.String(12), nullable=False),
    sa.Column("reg_event_type", sa.String(120), nullable=False),
    sa.Column("notify_record_type", sa.String(64), nullable=False),
    sa.Column("notify_uri", sa.Text, nullable=False),
    sa.Column("criteria", sa.Text, nullable=False),  # JSON: the subscribe_criteria as received
    sa.Column("status", sa.String(12), nullable=False),  # subscribe | unsubscribe
    sa.Column("transaction_id", sa.String(99), nullable=False),
    sa.Column("reference_id", sa.String(99), nullable=False),
    sa.Column("created_at", _TS, nullable=False),
    sa.Column("updated_at", _TS, nullable=False),
    sa.Index("ix_dci_subscriptions_event_status", "reg_event_type", "status"),
)

#: A message to POST to a partner (on-search, on-subscribe, on-unsubscribe, txn-on-status,
#: notify). The relay event `dci.callback_queued` makes a consumer deliver it; `delivered_at`
#: set once it was answered 2xx. A notification's id is derived from (event, subscription), so a
#: redelivered event cannot queue it twice.
dci_outbound = sa.Table(
    "dci_outbound",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("action", sa.String(24), nullable=False),
    sa.Column("receiver_id", sa.String(128), nullable=False),
    sa.Column("url", sa.Text, nullable=False),
    sa.Column("message_enc", sa.LargeBinary, nullable=False),
    sa.Column("status", sa.String(12), nullable=False),  # pending | delivered
    sa.Column("event_id", sa.String(36), nullable=True),
    sa.Column("subscription_code", sa.String(36), nullable=True),
    sa.Column("created_at", _TS, nullable=False),
    sa.Column("delivered_at", _TS, nullable=True),
)
