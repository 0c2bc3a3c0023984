"""The identification service's tables (its own database; no other service reads them).

Households and members: the household's facts (income, expenses, assets) as JSON, members'
resident ID numbers and names AES-GCM encrypted with an HMAC blind index for exact look-ups
and a masked copy for display. Case/application tables live in `orm_cases.py`."""

from __future__ import annotations

import sqlalchemy as sa

from shared.db import infra_tables
from shared.policy_store import policy_versions_table

metadata = sa.MetaData()
#: outbox, inbox, dead_letters, idempotency_keys
infra = infra_tables(metadata)
policy_versions = policy_versions_table(metadata)

_BIGINT = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

households = sa.Table(
    "households",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("household_number", sa.String(64), nullable=False, unique=True),
    sa.Column("region_code", sa.String(12), nullable=False),
    sa.Column("escaped_poverty", sa.Boolean, nullable=False, default=False),
    sa.Column("dibao_status", sa.String(16), nullable=False, default="none"),
    sa.Column("phone_enc", sa.LargeBinary, nullable=True),
    sa.Column("phone_index", sa.String(64), nullable=True),
    #: JSON: income, expenses, last_year_income, assets and any other non-personal facts.
    sa.Column("facts", sa.Text, nullable=False),
    #: Monitoring status kept by the case procedure: registered | monitored | eliminated | cleared.
    sa.Column("status", sa.String(24), nullable=False, default="registered"),
    sa.Column("source", sa.String(20), nullable=False, default="import"),
    sa.Column("version", sa.Integer, nullable=False, default=1),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    #: Keyed hash (HMAC, blind-index key) of the imported record: a re-sent unchanged row is skipped.
    sa.Column("content_hash", sa.String(64), nullable=True),
    #: What screenings need, reduced once at write time (domain.columnar.profile_of): sizes,
    #: counted income and deductions, flags, risk types; no ID numbers or names.
    sa.Column("screening_profile", sa.Text, nullable=True),
    # keyset pagination of a region's households (screening, simulation): region prefix, then id
    sa.Index("ix_households_region_id", "region_code", "id"),
    # blind indexes are only ever compared for equality: a hash index (PostgreSQL) keeps a 4-byte
    # hash code per row instead of 64 characters, and a bulk import inserts into it ~40 % faster
    sa.Index("ix_households_phone_index", "phone_index", postgresql_using="hash"),
)

#: The latest evaluation of each household (screening or assessment), apart from the wide
#: `households` row: a screening writes a million of these without rewriting a million households
#: (their facts and five indexes). Which policy version, as of which date, from which screening —
#: what an officer needs to answer "why?" (the explanation itself: `POST /assessments`).
household_outcomes = sa.Table(
    "household_outcomes",
    metadata,
    sa.Column("household_id", sa.String(36), primary_key=True),
    sa.Column("category", sa.String(24), nullable=True),
    sa.Column("low_income_category", sa.String(24), nullable=True),
    sa.Column("warning", sa.String(8), nullable=True),
    sa.Column("per_capita_income", sa.Numeric(14, 2), nullable=True),
    sa.Column("assessed_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("as_of", sa.Date, nullable=True),
    sa.Column("policy_id", sa.String(120), nullable=True),
    sa.Column("policy_version", sa.String(40), nullable=True),
    #: the screening job that wrote it (None: an application's assessment)
    sa.Column("screening_job_id", sa.String(36), nullable=True),
)

members = sa.Table(
    "members",
    metadata,
    sa.Column("id", _BIGINT, primary_key=True, autoincrement=True),
    sa.Column("household_id", sa.String(36), nullable=False, index=True),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("id_number_enc", sa.LargeBinary, nullable=False),
    sa.Column("id_number_index", sa.String(64), nullable=False),
    sa.Column("id_number_masked", sa.String(18), nullable=False),
    sa.Column("name_enc", sa.LargeBinary, nullable=False),
    sa.Column("relation", sa.String(16), nullable=False),
    sa.Column("sex", sa.String(8), nullable=False),
    sa.Column("birth_date", sa.Date, nullable=False),
    sa.Column("labor_capacity", sa.String(16), nullable=False),
    sa.Column("disability_grade", sa.Integer, nullable=True),
    sa.Column("disability_kind", sa.String(16), nullable=True),
    sa.Column("serious_illness", sa.Boolean, nullable=False, default=False),
    sa.Column("schooling", sa.String(16), nullable=False, default="none"),
    sa.Index("ix_members_id_number_index", "id_number_index", postgresql_using="hash"),  # see phone_index
)

#: Long-running work (bulk imports, screenings): progress, resumption point and the error report.
jobs = sa.Table(
    "jobs",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("kind", sa.String(20), nullable=False),  # import | screening
    sa.Column("status", sa.String(16), nullable=False),  # running | completed | failed
    sa.Column("region", sa.String(12), nullable=False),
    sa.Column("created_by", sa.String(200), nullable=False),
    sa.Column("idempotency_key", sa.String(200), nullable=True),
    #: JSON: what the job was asked (format, as_of …) — never personal data.
    sa.Column("params", sa.Text, nullable=False, default="{}"),
    #: Resumption point: input lines consumed (import) or the keyset cursor (screening), JSON.
    sa.Column("cursor", sa.Text, nullable=True),
    sa.Column("rows_done", sa.Integer, nullable=False, default=0),
    sa.Column("rows_failed", sa.Integer, nullable=False, default=0),
    sa.Column("rows_total", sa.Integer, nullable=True),
    #: JSON list of the first errors [{line, household_number, path, message}] (no personal data).
    sa.Column("errors", sa.Text, nullable=False, default="[]"),
    sa.Column("error_count", sa.Integer, nullable=False, default=0),
    #: JSON: counts (inserted/updated/unchanged, warnings raised …).
    sa.Column("result", sa.Text, nullable=False, default="{}"),
    sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
    sa.UniqueConstraint("kind", "created_by", "idempotency_key", name="uq_jobs_idempotency"),
)

#: A job's share of work that any replica may claim (screenings: a slice of a region's
#: households by (region_code, id) keyset). Claimed with `FOR UPDATE SKIP LOCKED` on PostgreSQL
#: (a write lock on SQLite); a claim is a lease: a replica that dies leaves `lease_until` to run
#: out and another replica takes the chunk again. A chunk's results, events and `status = done`
#: are one transaction, so a chunk is done exactly once.
job_chunks = sa.Table(
    "job_chunks",
    metadata,
    sa.Column("job_id", sa.String(36), primary_key=True),
    sa.Column("seq", sa.Integer, primary_key=True),
    #: keyset bounds: households with (region_code, id) > (after_region, after_id) and
    #: <= (last_region, last_id); the first chunk has no lower bound
    sa.Column("after_region", sa.String(12), nullable=True),
    sa.Column("after_id", sa.String(36), nullable=True),
    sa.Column("last_region", sa.String(12), nullable=False),
    sa.Column("last_id", sa.String(36), nullable=False),
    sa.Column("rows", sa.Integer, nullable=False),
    sa.Column("status", sa.String(12), nullable=False),  # pending | claimed | done
    sa.Column("claimed_by", sa.String(200), nullable=True),  # hostname-pid of the replica
    sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
    #: JSON: this chunk's counts (done, failed, warnings raised)
    sa.Column("result", sa.Text, nullable=True),
    sa.Index("ix_job_chunks_claimable", "status", "lease_until"),
)

from services.identification.adapters import orm_flags as _orm_flags  # noqa: E402,F401  (negative-list flags)
