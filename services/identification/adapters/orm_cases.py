"""Tables of the identification procedure: applications, cases and their append-only history,
department signals, warnings and leads (owned by the procedure's use cases; migration 0003).

No resident ID number is stored in clear here: a citizen applicant is kept as a blind index and
a mask; an unknown person named by a department signal (a lead) is AES-GCM encrypted."""

from __future__ import annotations

import sqlalchemy as sa

from services.identification.adapters.orm import metadata

__all__ = [
    "applications",
    "case_exclusions",
    "case_history",
    "cases",
    "lead_resolutions",
    "leads",
    "metadata",
    "risk_warnings",
    "signals",
]

_BIGINT = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TS = sa.DateTime(timezone=True)

#: One run of a procedure for one household (domain.cases.Case); `version` is the optimistic
#: concurrency token — every transition updates `WHERE version = :seen`.
cases = sa.Table(
    "cases",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("household_id", sa.String(36), nullable=False, index=True),
    sa.Column("region_code", sa.String(12), nullable=False),
    sa.Column("procedure", sa.String(16), nullable=False),
    sa.Column("state", sa.String(20), nullable=False),
    sa.Column("is_open", sa.Boolean, nullable=False),
    sa.Column("category", sa.String(24), nullable=True),
    sa.Column("risk_types", sa.Text, nullable=False),  # JSON list
    sa.Column("urgent", sa.Boolean, nullable=False, default=False),
    sa.Column("deadline", sa.Date, nullable=True),
    #: last day of the county's department comparison (set on entering county_review; iden_0007)
    sa.Column("comparison_due", sa.Date, nullable=True),
    sa.Column("submitted_at", _TS, nullable=False),
    sa.Column("notice_started_on", sa.Date, nullable=True),
    sa.Column("notice_days", sa.Integer, nullable=True),
    sa.Column("objections", sa.Text, nullable=False),  # JSON list of objections
    sa.Column("investigators", sa.Text, nullable=False),  # JSON list of names (officers)
    sa.Column("monitored_since", sa.Date, nullable=True),
    sa.Column("eliminated_on", sa.Date, nullable=True),
    sa.Column("parent_case_id", sa.String(36), nullable=True),
    sa.Column("reason", sa.Text, nullable=True),
    sa.Column("application_id", sa.String(36), nullable=True),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("created_at", _TS, nullable=False),
    sa.Column("updated_at", _TS, nullable=False),
    sa.Index("ix_cases_region_state", "region_code", "state"),
    sa.Index("ix_cases_open_deadline", "is_open", "deadline"),
    # At most one open case per household: two concurrent applications cannot both open one.
    sa.Index(
        "uq_cases_one_open_per_household",
        "household_id",
        unique=True,
        postgresql_where=sa.text("is_open"),
        sqlite_where=sa.text("is_open"),
    ),
)

#: Append-only: rows are inserted, never updated or deleted. (case_id, seq) is unique, so two
#: writers that both saw the same case cannot both append the same step.
case_history = sa.Table(
    "case_history",
    metadata,
    sa.Column("id", _BIGINT, primary_key=True, autoincrement=True),
    sa.Column("case_id", sa.String(36), nullable=False),
    sa.Column("seq", sa.Integer, nullable=False),
    sa.Column("action", sa.String(24), nullable=False),
    sa.Column("from_state", sa.String(20), nullable=True),
    sa.Column("to_state", sa.String(20), nullable=False),
    sa.Column("by", sa.String(200), nullable=False),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("at", _TS, nullable=False),
    sa.Column("note", sa.Text, nullable=True),
    sa.UniqueConstraint("case_id", "seq", name="uq_case_history_seq"),
)

#: A self-application (农户自主申报) or an officer-started case. Its status is its case's state.
applications = sa.Table(
    "applications",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("household_id", sa.String(36), nullable=False, index=True),
    sa.Column("case_id", sa.String(36), nullable=False, unique=True),
    sa.Column("region_code", sa.String(12), nullable=False, index=True),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("risk_types", sa.Text, nullable=False),  # JSON list, as declared
    sa.Column("urgent", sa.Boolean, nullable=False, default=False),
    sa.Column("consent", sa.Text, nullable=False),  # JSON {commitment, asset_query_authorized, at}
    sa.Column("submitter_role", sa.String(16), nullable=False),
    #: Blind index of the submitter's `sub` (for a citizen: their ID number) — "own applications".
    sa.Column("submitter_index", sa.String(64), nullable=False, index=True),
    sa.Column("submitted_by", sa.String(200), nullable=False),  # officer sub, or a masked ID number
    sa.Column("created_at", _TS, nullable=False),
)

#: Department risk signals (部门筛查预警), exactly once per (department, signal id).
signals = sa.Table(
    "signals",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("source_dept", sa.String(64), nullable=False),
    sa.Column("signal_id", sa.String(128), nullable=False),
    sa.Column("kind", sa.String(48), nullable=False),
    sa.Column("region_code", sa.String(12), nullable=False, index=True),
    sa.Column("household_id", sa.String(36), nullable=True, index=True),
    sa.Column("lead_id", sa.String(36), nullable=True),
    sa.Column("observed_at", _TS, nullable=False),
    sa.Column("payload", sa.Text, nullable=False),  # JSON, as sent (must not hold ID numbers)
    sa.Column("outcome", sa.String(24), nullable=False),
    sa.Column("warning", sa.String(8), nullable=True),
    sa.Column("case_id", sa.String(36), nullable=True),
    sa.Column("received_by", sa.String(200), nullable=False),
    sa.Column("received_at", _TS, nullable=False),
    sa.UniqueConstraint("source_dept", "signal_id", name="uq_signals_dept_signal"),
)

#: The household's current warning raised by signals (三色预警): colour, the kinds behind it.
risk_warnings = sa.Table(
    "risk_warnings",
    metadata,
    sa.Column("household_id", sa.String(36), primary_key=True),
    sa.Column("region_code", sa.String(12), nullable=False, index=True),
    sa.Column("colour", sa.String(8), nullable=False),
    sa.Column("risk_types", sa.Text, nullable=False),  # JSON list
    sa.Column("kinds", sa.Text, nullable=False),  # JSON list of signal kinds seen
    sa.Column("signals", sa.Integer, nullable=False),
    sa.Column("raised_at", _TS, nullable=False),
    sa.Column("updated_at", _TS, nullable=False),
)

#: A person a department named who is not in any household: the village verifies (线索).
leads = sa.Table(
    "leads",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("region_code", sa.String(12), nullable=False, index=True),
    sa.Column("id_number_enc", sa.LargeBinary, nullable=False),
    sa.Column("id_number_index", sa.String(64), nullable=False, index=True),
    sa.Column("id_number_masked", sa.String(18), nullable=False),
    sa.Column("source_dept", sa.String(64), nullable=False),
    sa.Column("kind", sa.String(48), nullable=False),
    sa.Column("risk_types", sa.Text, nullable=False),
    sa.Column("warning", sa.String(8), nullable=True),
    sa.Column("signals", sa.Integer, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),  # open | matched | dismissed (lead_resolutions)
    sa.Column("first_observed_at", _TS, nullable=False),
    sa.Column("created_at", _TS, nullable=False),
    sa.Column("updated_at", _TS, nullable=False),
)


#: The negative-list exclusions found when a case was opened, with their evidence, and the
#: village-assembly override that lifted each (iden_0009). One row per (case, code).
case_exclusions = sa.Table(
    "case_exclusions",
    metadata,
    sa.Column("case_id", sa.String(36), primary_key=True),
    sa.Column("code", sa.String(40), primary_key=True),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("detail", sa.Text, nullable=False),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("inputs", sa.Text, nullable=False),  # JSON: the input flag(s)
    sa.Column("policy_id", sa.String(100), nullable=True),
    sa.Column("policy_version", sa.String(40), nullable=True),
    sa.Column("overridden", sa.Boolean, nullable=False, default=False),
    sa.Column("override_by", sa.String(200), nullable=True),
    sa.Column("override_role", sa.String(16), nullable=True),
    sa.Column("override_at", _TS, nullable=True),
    sa.Column("override_reason", sa.Text, nullable=True),
    sa.Column("assembly_decided_on", sa.Date, nullable=True),
    sa.Column("assembly_minutes_ref", sa.String(200), nullable=True),
)

#: How a lead was resolved (iden_0009): matched to a household, or dismissed with a reason.
lead_resolutions = sa.Table(
    "lead_resolutions",
    metadata,
    sa.Column("lead_id", sa.String(36), primary_key=True),
    sa.Column("outcome", sa.String(16), nullable=False),  # matched | dismissed
    sa.Column("household_id", sa.String(36), nullable=True),
    sa.Column("reason", sa.Text, nullable=True),
    sa.Column("resolved_by", sa.String(200), nullable=False),
    sa.Column("resolved_role", sa.String(16), nullable=False),
    sa.Column("resolved_at", _TS, nullable=False),
)
