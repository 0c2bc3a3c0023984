"""Negative-list flags raised on a household by another service's decision, with the
explanation behind each (iden_0017): today `refuses_work` after assistance's
`employment.offers_refused`."""

from __future__ import annotations

import sqlalchemy as sa

from .orm import metadata

__all__ = ["household_flags"]

household_flags = sa.Table(
    "household_flags",
    metadata,
    sa.Column("household_id", sa.String(36), primary_key=True),
    sa.Column("code", sa.String(40), primary_key=True),  # a NEGATIVE_LIST code
    sa.Column("person_ref", sa.String(64), primary_key=True),  # the member, as assistance knows them
    sa.Column("rule", sa.String(60), nullable=False),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("detail", sa.Text, nullable=False),
    sa.Column("evidence", sa.Text, nullable=False),  # JSON: recommendation ids, refusals, event id
    sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
)
