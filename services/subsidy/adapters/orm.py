"""The subsidy service's tables (its own database; no other service reads them).

Money is stored as whole fen (BIGINT) so that sums are exact on SQLite and PostgreSQL alike;
the decision's inputs, breakdown and explanations are JSON text, kept as they were decided."""

from __future__ import annotations

import sqlalchemy as sa

from shared.audit import audit_chain_table
from shared.db import infra_tables
from shared.policy_store import policy_versions_table

metadata = sa.MetaData()
#: outbox, inbox, dead_letters, idempotency_keys
infra = infra_tables(metadata)
policy_versions = policy_versions_table(metadata)

_BIGINT = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

decisions = sa.Table(
    "decisions",
    metadata,
    sa.Column("seq", _BIGINT, primary_key=True, autoincrement=True),
    sa.Column("id", sa.String(36), nullable=False, unique=True),
    sa.Column("kind", sa.String(40), nullable=False),
    #: The enterprise, person or household the decision is recorded against (an opaque ref).
    sa.Column("subject_id", sa.String(100), nullable=False),
    sa.Column("region_code", sa.String(12), nullable=False, index=True),
    sa.Column("household_id", sa.String(64), nullable=True, index=True),
    sa.Column("as_of", sa.Date, nullable=False),
    #: "YYYY-MM" of `as_of`, for monthly reports without dialect-specific date functions.
    sa.Column("month", sa.String(7), nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("amount_fen", _BIGINT, nullable=False),  # allowed after the cross-decision rules
    sa.Column("calculated_fen", _BIGINT, nullable=False),  # what the calculator gave
    sa.Column("funding_source", sa.String(40), nullable=True),
    sa.Column("policy_id", sa.String(100), nullable=False),
    sa.Column("policy_version", sa.String(40), nullable=False),
    sa.Column("clause", sa.Text, nullable=False),
    sa.Column("inputs", sa.Text, nullable=False),  # JSON: the request's inputs as they were
    sa.Column("parameters", sa.Text, nullable=False),  # JSON: policy figures used {name: value}
    sa.Column("breakdown", sa.Text, nullable=False),  # JSON: lines incl. cross-decision adjustments
    sa.Column("explanations", sa.Text, nullable=False),  # JSON
    sa.Column("history", sa.Text, nullable=False),  # JSON: [{action, from, to, by, role, at, reason}]
    sa.Column("rejection_reason", sa.Text, nullable=True),
    sa.Column("origin", sa.String(16), nullable=False),  # api | event
    sa.Column("origin_event_id", sa.String(64), nullable=True),
    sa.Column("created_by", sa.String(200), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("approved_by", sa.String(200), nullable=True),
    sa.Column("approved_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("paid_by", sa.String(200), nullable=True),
    sa.Column("paid_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("rejected_by", sa.String(200), nullable=True),
    sa.Column("rejected_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("version", sa.Integer, nullable=False),
    #: The civil-affairs payment order the decision records (subs_0005): one decision per order.
    sa.Column("payment_id", sa.String(64), nullable=True),
    sa.Column("reference", sa.Text, nullable=True),  # JSON {kind, id} of the order's civil-affairs record
    sa.Index("ix_decisions_subject", "subject_id", "kind"),
    sa.Index("ux_decisions_payment_id", "payment_id", unique=True),
    sa.Index("ix_decisions_kind_state", "kind", "state"),
)

#: Persons paid something in a decision (breakdown lines with a person id), so the rules that
#: follow a person across subjects (work-for-training months, exclusive pairs) find the ledger.
decision_persons = sa.Table(
    "decision_persons",
    metadata,
    sa.Column("decision_id", sa.String(36), primary_key=True),
    sa.Column("person_id", sa.String(100), primary_key=True),
    sa.Index("ix_decision_persons_person", "person_id"),
)

#: The tamper-evident chain of decisions, approvals and policy versions (shared.audit; subs_0003).
audit_chain = audit_chain_table(metadata)
