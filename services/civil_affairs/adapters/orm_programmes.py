"""Tables of the dibao / 特困 procedure: applications, their economic checks, enrolments, the monthly
payment orders, and the civil-affairs policy versions added through `/admin/policies`.

Aggregates are kept as one JSON document (`doc`) beside the columns that are searched; resident
ID numbers never enter `doc` in clear (members are opaque person refs; the ID numbers sent to the
check system are encrypted in `programme_applications.sealed_members`)."""

from __future__ import annotations

import sqlalchemy as sa

from services.civil_affairs.adapters.orm import metadata
from shared.policy_store import policy_versions_table

__all__ = ["applications", "economic_checks", "enrolment_payments", "enrolments", "policy_versions"]

_TS = sa.DateTime(timezone=True)

policy_versions = policy_versions_table(metadata)

applications = sa.Table(
    "programme_applications",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("household_id", sa.String(36), nullable=False, index=True),
    sa.Column("region_code", sa.String(12), nullable=False, index=True),
    sa.Column("programme", sa.String(16), nullable=False),
    sa.Column("state", sa.String(24), nullable=False, index=True),
    sa.Column("submitter_index", sa.String(64), nullable=False, index=True),
    sa.Column("deadline", sa.Date, nullable=True),
    sa.Column("sealed_members", sa.Text, nullable=False),  # JSON list of encrypted ID numbers
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("created_at", _TS, nullable=False),
    sa.Column("updated_at", _TS, nullable=False),
    sa.Column("doc", sa.Text, nullable=False),
)

economic_checks = sa.Table(
    "economic_checks",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("application_id", sa.String(36), nullable=False, index=True),
    sa.Column("county", sa.String(6), nullable=False),
    sa.Column("adapter", sa.String(8), nullable=False),  # http | file
    sa.Column("status", sa.String(16), nullable=False, index=True),  # pending | done | timed_out
    sa.Column("requested_at", _TS, nullable=False),
    sa.Column("sent_at", _TS, nullable=True),  # null until the request reached the check system
    sa.Column("due_on", sa.Date, nullable=False),
    sa.Column("reference", sa.String(200), nullable=True),
    sa.Column("request", sa.Text, nullable=False),  # JSON without ID numbers
    sa.Column("result", sa.Text, nullable=True),
    sa.Column("updated_at", _TS, nullable=False),
)

enrolments = sa.Table(
    "enrolments",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("household_id", sa.String(36), nullable=False, index=True),
    sa.Column("region_code", sa.String(12), nullable=False, index=True),
    sa.Column("programme", sa.String(16), nullable=False),
    sa.Column("status", sa.String(16), nullable=False, index=True),
    sa.Column("next_recheck_on", sa.Date, nullable=False, index=True),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("created_at", _TS, nullable=False),
    sa.Column("updated_at", _TS, nullable=False),
    sa.Column("doc", sa.Text, nullable=False),
)

enrolment_payments = sa.Table(
    "enrolment_payments",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),  # the payment_id of the contract
    sa.Column("enrolment_id", sa.String(36), nullable=False),
    sa.Column("period", sa.String(7), nullable=False),
    sa.Column("kind", sa.String(24), nullable=False),
    sa.Column("household_id", sa.String(36), nullable=False),
    sa.Column("region_code", sa.String(12), nullable=False, index=True),
    sa.Column("status", sa.String(16), nullable=False),  # ordered | recorded
    sa.Column("inputs", sa.Text, nullable=False),
    sa.Column("funding_source", sa.String(32), nullable=False),
    sa.Column("amount", sa.String(20), nullable=True),
    sa.Column("decision_id", sa.String(36), nullable=True),
    sa.Column("decision_state", sa.String(24), nullable=True),
    sa.Column("created_at", _TS, nullable=False),
    sa.Column("recorded_at", _TS, nullable=True),
    sa.UniqueConstraint("enrolment_id", "period", name="uq_enrolment_payments_period"),
)
