"""The outcome of each job-post recommendation (an `employment_services` row of kind
`job_recommendation`) and the one sanction per person after refused offers (assi_0006)."""

from __future__ import annotations

import sqlalchemy as sa

from .orm import metadata

__all__ = ["job_offer_outcomes", "job_offer_sanctions"]

_BIGINT = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TS = sa.DateTime(timezone=True)

job_offer_outcomes = sa.Table(
    "job_offer_outcomes",
    metadata,
    sa.Column("service_id", _BIGINT, primary_key=True),  # employment_services.id (one outcome each)
    sa.Column("record_id", sa.String(36), nullable=False, index=True),
    sa.Column("outcome", sa.String(12), nullable=False),  # accepted | refused | no_answer
    sa.Column("valid_reason", sa.Boolean, nullable=True),  # refused: with a valid reason?
    sa.Column("note", sa.Text, nullable=True),  # numbers masked
    sa.Column("by", sa.String(200), nullable=False),
    sa.Column("recorded_at", _TS, nullable=False),
)

#: One row per person once the refusals reach the policy's count: `employment.offers_refused`
#: is written with it, so it is emitted exactly once (the primary key refuses a second).
job_offer_sanctions = sa.Table(
    "job_offer_sanctions",
    metadata,
    sa.Column("record_id", sa.String(36), primary_key=True),
    sa.Column("person_ref", sa.String(64), nullable=False),
    sa.Column("household_id", sa.String(64), nullable=False),
    sa.Column("region_code", sa.String(12), nullable=False),
    sa.Column("refusals", sa.Integer, nullable=False),
    sa.Column("recommendation_ids", sa.JSON, nullable=False),
    sa.Column("event_id", sa.String(36), nullable=False),
    sa.Column("decided_at", _TS, nullable=False),
)
