"""Temporary relief's tables: the requests (state, amounts in fen, the limit in force with its
explanation, history, paperwork) and the payment orders sent to subsidy with what came back."""

from __future__ import annotations

import sqlalchemy as sa

from .orm import metadata

__all__ = ["relief_payments", "relief_requests"]

_BIGINT = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TS = sa.DateTime(timezone=True)

relief_requests = sa.Table(
    "relief_requests",
    metadata,
    sa.Column("seq", _BIGINT, primary_key=True, autoincrement=True),
    sa.Column("id", sa.String(36), nullable=False, unique=True),
    sa.Column("region_code", sa.String(12), nullable=False, index=True),
    #: identification's household id, when the household is on file
    sa.Column("household_id", sa.String(64), nullable=True, index=True),
    sa.Column("household", sa.Text, nullable=True),  # JSON: a household not on file (members, note)
    sa.Column("reason", sa.String(24), nullable=False),
    sa.Column("description", sa.Text, nullable=True),  # free text, numbers masked
    sa.Column("requested_fen", _BIGINT, nullable=False),
    sa.Column("approved_fen", _BIGINT, nullable=True),  # approved, or paid first
    sa.Column("state", sa.String(20), nullable=False, index=True),
    sa.Column("approved_level", sa.String(12), nullable=True),
    sa.Column("limit_fen", _BIGINT, nullable=False),  # the township limit in force when submitted
    sa.Column("policy_id", sa.String(100), nullable=False),
    sa.Column("policy_version", sa.String(40), nullable=False),
    sa.Column("as_of", sa.Date, nullable=False),  # the policy date
    sa.Column("explanations", sa.Text, nullable=False),  # JSON [{rule, source, detail, inputs}]
    sa.Column("history", sa.Text, nullable=False),  # JSON [{action, from, to, by, role, at, ...}]
    sa.Column("paperwork", sa.Text, nullable=True),  # JSON {economic_check_ref, verification_record}
    sa.Column("paperwork_due_on", sa.Date, nullable=True),
    sa.Column("rejection_reason", sa.Text, nullable=True),
    sa.Column("submitted_by", sa.String(200), nullable=False),
    sa.Column("submitted_role", sa.String(16), nullable=False),
    sa.Column("created_at", _TS, nullable=False),
    sa.Column("updated_at", _TS, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
)

relief_payments = sa.Table(
    "relief_payments",
    metadata,
    sa.Column("payment_id", sa.String(36), primary_key=True),
    sa.Column("request_id", sa.String(36), nullable=False, index=True),
    sa.Column("amount_fen", _BIGINT, nullable=False),
    sa.Column("funding_source", sa.String(40), nullable=False),
    sa.Column("approved_level", sa.String(12), nullable=False),
    #: ordered → recorded (subsidy's decision) | refused (subsidy's decision_refused)
    sa.Column("status", sa.String(12), nullable=False),
    sa.Column("decision_id", sa.String(36), nullable=True),
    sa.Column("recorded_fen", _BIGINT, nullable=True),
    sa.Column("refusal", sa.Text, nullable=True),  # JSON {code, reason}
    sa.Column("ordered_at", _TS, nullable=False),
    sa.Column("recorded_at", _TS, nullable=True),
)
