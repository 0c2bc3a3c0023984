"""The assistance service's tables (its own database; no other service reads them).

One file and one plan per household (一户一档一方案): `households` (what identification told us),
`plans` (at most one not closed per household) with `plan_history`, `measures` with
`measure_history`, the contact-person roster (`contacts`, names and phones AES-GCM encrypted)
and `contact_assignments`, `visits`, the employment tables, and `alerts` (what the overdue sweep
has published, so each fires once)."""

from __future__ import annotations

import sqlalchemy as sa

from shared.db import infra_tables

metadata = sa.MetaData()
#: outbox, inbox, dead_letters, idempotency_keys
infra = infra_tables(metadata)

_BIGINT = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TS = sa.DateTime(timezone=True)

households = sa.Table(
    "households",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),  # identification's household id
    sa.Column("region_code", sa.String(12), nullable=False, index=True),
    sa.Column("case_id", sa.String(64), nullable=True),
    sa.Column("category", sa.String(24), nullable=True),
    sa.Column("risk_types", sa.JSON, nullable=False),
    sa.Column("has_labor_capacity", sa.Boolean, nullable=False),
    sa.Column("labor_capable_members", sa.Integer, nullable=True),
    sa.Column("self_farming", sa.Boolean, nullable=False),
    #: monitored | eliminated | stable | pending (a green-channel application not yet identified)
    sa.Column("monitoring_status", sa.String(16), nullable=False),
    sa.Column("identified_on", sa.Date, nullable=True),
    sa.Column("eliminated_on", sa.Date, nullable=True),
    sa.Column("created_at", _TS, nullable=False),
    sa.Column("updated_at", _TS, nullable=False),
)

contacts = sa.Table(
    "contacts",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("region_code", sa.String(12), nullable=False, index=True),  # the village
    sa.Column("name_enc", sa.LargeBinary, nullable=False),
    sa.Column("phone_enc", sa.LargeBinary, nullable=True),
    sa.Column("unit", sa.String(200), nullable=True),  # 派出单位 (township, work team, county office)
    #: blind index of the contact person's token subject (`blind_index("contact:" + sub)`): the
    #: address notification files their inbox items under; the subject itself is not kept
    sa.Column("sub_hash", sa.String(64), nullable=True, index=True),
    sa.Column("active", sa.Boolean, nullable=False),
    sa.Column("created_by", sa.String(200), nullable=False),
    sa.Column("created_at", _TS, nullable=False),
)

plans = sa.Table(
    "plans",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("household_id", sa.String(64), nullable=False, index=True),
    sa.Column("region_code", sa.String(12), nullable=False, index=True),
    sa.Column("case_id", sa.String(64), nullable=True),
    sa.Column("status", sa.String(16), nullable=False),  # open | completed | closed
    sa.Column("active_key", sa.String(64), nullable=True, unique=True),  # household id while not closed
    sa.Column("origin", sa.String(16), nullable=False),  # identified | green_channel
    sa.Column("opened_on", sa.Date, nullable=False),
    sa.Column("due_date", sa.Date, nullable=False),
    sa.Column("drawn_up_on", sa.Date, nullable=True),  # first measure accepted (计划制定)
    sa.Column("contact_id", sa.String(36), sa.ForeignKey("contacts.id"), nullable=True, index=True),
    sa.Column("last_visit_on", sa.Date, nullable=True),
    sa.Column("next_visit_due", sa.Date, nullable=True),
    #: the id the next visit will be recorded under (announced in `visit_scheduled` beforehand)
    sa.Column("next_visit_id", sa.String(36), nullable=True),
    sa.Column("completed_at", _TS, nullable=True),
    sa.Column("closed_at", _TS, nullable=True),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("created_at", _TS, nullable=False),
    sa.Column("updated_at", _TS, nullable=False),
)

plan_history = sa.Table(
    "plan_history",
    metadata,
    sa.Column("id", _BIGINT, primary_key=True, autoincrement=True),
    sa.Column("plan_id", sa.String(36), sa.ForeignKey("plans.id"), nullable=False, index=True),
    sa.Column("action", sa.String(40), nullable=False),
    sa.Column("from_status", sa.String(16), nullable=True),
    sa.Column("to_status", sa.String(16), nullable=True),
    sa.Column("measure_id", sa.String(36), nullable=True),
    sa.Column("by", sa.String(200), nullable=False),
    sa.Column("role", sa.String(20), nullable=False),
    sa.Column("note", sa.Text, nullable=True),
    sa.Column("at", _TS, nullable=False),
)

measures = sa.Table(
    "measures",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("plan_id", sa.String(36), sa.ForeignKey("plans.id"), nullable=False, index=True),
    sa.Column("household_id", sa.String(64), nullable=False),
    sa.Column("region_code", sa.String(12), nullable=False, index=True),
    sa.Column("type", sa.String(32), nullable=False),
    sa.Column("department", sa.String(32), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("position", sa.Integer, nullable=False),  # order within the plan (development first)
    sa.Column("origin", sa.String(16), nullable=False),  # recommended | officer
    sa.Column("rule", sa.String(40), nullable=True),
    sa.Column("source", sa.Text, nullable=True),
    sa.Column("reason", sa.Text, nullable=True),
    sa.Column("description", sa.Text, nullable=True),
    sa.Column("outcome", sa.Text, nullable=True),
    sa.Column("drop_reason", sa.Text, nullable=True),
    sa.Column("last_progress_at", _TS, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("created_at", _TS, nullable=False),
    sa.Column("updated_at", _TS, nullable=False),
)

measure_history = sa.Table(
    "measure_history",
    metadata,
    sa.Column("id", _BIGINT, primary_key=True, autoincrement=True),
    sa.Column("measure_id", sa.String(36), sa.ForeignKey("measures.id"), nullable=False, index=True),
    sa.Column("action", sa.String(40), nullable=False),
    sa.Column("from_status", sa.String(16), nullable=True),
    sa.Column("to_status", sa.String(16), nullable=True),
    sa.Column("by", sa.String(200), nullable=False),
    sa.Column("role", sa.String(20), nullable=False),
    sa.Column("note", sa.Text, nullable=True),
    sa.Column("at", _TS, nullable=False),
)

contact_assignments = sa.Table(
    "contact_assignments",
    metadata,
    sa.Column("id", _BIGINT, primary_key=True, autoincrement=True),
    sa.Column("plan_id", sa.String(36), sa.ForeignKey("plans.id"), nullable=False, index=True),
    sa.Column("contact_id", sa.String(36), sa.ForeignKey("contacts.id"), nullable=False),
    sa.Column("previous_contact_id", sa.String(36), nullable=True),
    sa.Column("reason", sa.Text, nullable=True),
    sa.Column("by", sa.String(200), nullable=False),
    sa.Column("at", _TS, nullable=False),
)

visits = sa.Table(
    "visits",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("plan_id", sa.String(36), sa.ForeignKey("plans.id"), nullable=False, index=True),
    sa.Column("household_id", sa.String(64), nullable=False, index=True),
    sa.Column("region_code", sa.String(12), nullable=False, index=True),
    sa.Column("contact_id", sa.String(36), nullable=True),
    sa.Column("visited_on", sa.Date, nullable=False),
    sa.Column("mode", sa.String(16), nullable=False),  # visit | phone
    sa.Column("findings", sa.Text, nullable=False),
    sa.Column("income", sa.JSON, nullable=True),  # {kind: "decimal text"}
    sa.Column("attachments", sa.JSON, nullable=False),  # [reference]
    sa.Column("recorded_by", sa.String(200), nullable=False),
    sa.Column("created_at", _TS, nullable=False),
)

employment_records = sa.Table(
    "employment_records",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("person_ref", sa.String(64), nullable=False, unique=True),
    sa.Column("household_id", sa.String(64), nullable=False, index=True),
    sa.Column("region_code", sa.String(12), nullable=False, index=True),
    sa.Column("survey", sa.JSON, nullable=False),  # the 附件3 fields
    sa.Column("created_by", sa.String(200), nullable=False),
    sa.Column("created_at", _TS, nullable=False),
    sa.Column("updated_at", _TS, nullable=False),
)

employment_services = sa.Table(
    "employment_services",
    metadata,
    sa.Column("id", _BIGINT, primary_key=True, autoincrement=True),
    sa.Column("record_id", sa.String(36), sa.ForeignKey("employment_records.id"), nullable=False, index=True),
    sa.Column("kind", sa.String(24), nullable=False),  # guidance | training | job_recommendation
    sa.Column("provided_on", sa.Date, nullable=False),
    sa.Column("detail", sa.Text, nullable=True),
    sa.Column("by", sa.String(200), nullable=False),
    sa.Column("created_at", _TS, nullable=False),
)

placements = sa.Table(
    "placements",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("person_ref", sa.String(64), nullable=False, index=True),
    sa.Column("household_id", sa.String(64), nullable=False),
    sa.Column("region_code", sa.String(12), nullable=False, index=True),
    sa.Column("employer", sa.String(200), nullable=False),
    sa.Column("contract_months", sa.Integer, nullable=False),
    sa.Column("social_insurance", sa.Boolean, nullable=False),
    sa.Column("work_location", sa.String(32), nullable=False),
    sa.Column("epidemic_period", sa.Boolean, nullable=False),
    sa.Column("stable_months", sa.Integer, nullable=False),
    sa.Column("age", sa.Integer, nullable=False),
    sa.Column("placed_on", sa.Date, nullable=False),
    sa.Column("by", sa.String(200), nullable=False),
    sa.Column("created_at", _TS, nullable=False),
)

post_wages = sa.Table(
    "post_wages",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("person_ref", sa.String(64), nullable=False),
    sa.Column("household_id", sa.String(64), nullable=False),
    sa.Column("region_code", sa.String(12), nullable=False, index=True),
    sa.Column("year", sa.Integer, nullable=False),
    sa.Column("annual_wage", sa.Numeric(14, 2), nullable=False),
    sa.Column("post", sa.String(200), nullable=True),
    sa.Column("by", sa.String(200), nullable=False),
    sa.Column("created_at", _TS, nullable=False),
    sa.UniqueConstraint("person_ref", "year", name="uq_post_wages_person_year"),
)

alerts = sa.Table(
    "alerts",
    metadata,
    sa.Column("kind", sa.String(24), primary_key=True),  # plan_overdue | measure_stalled | visit_overdue
    sa.Column("key", sa.String(120), primary_key=True),  # what makes this occurrence unique
    sa.Column("ref_id", sa.String(64), nullable=False),
    sa.Column("region_code", sa.String(12), nullable=False),
    sa.Column("event_id", sa.String(36), nullable=False),
    sa.Column("published_at", _TS, nullable=False),
)

ASSISTANCE_TABLES = (
    households,
    contacts,
    plans,
    plan_history,
    measures,
    measure_history,
    contact_assignments,
    visits,
    employment_records,
    employment_services,
    placements,
    post_wages,
    alerts,
)

from services.assistance.adapters import orm_job_offers as _orm_job_offers  # noqa: E402,F401  (refused offers)
