"""Duplicate-person records (一人多户, migration iden_0008): a resident ID number found in two
households, or a request that matched a household outside the caller's jurisdiction, left to the
region covering both (domain.duplicates). The person is kept as a blind index and a masked ID
number only; `history` is the audit trail (every sighting and the resolution, who and when)."""

from __future__ import annotations

import sqlalchemy as sa

from services.identification.adapters.orm import metadata

__all__ = ["household_duplicates"]

_TS = sa.DateTime(timezone=True)

household_duplicates = sa.Table(
    "household_duplicates",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    #: id_number | household_number (domain.duplicates.DuplicateMatch)
    sa.Column("match", sa.String(20), nullable=False),
    #: the person: blind index (HMAC) and masked ID number; None for a household-number match
    sa.Column("person_index", sa.String(64), nullable=True),
    sa.Column("person_masked", sa.String(18), nullable=True),
    #: the household that already held the person (or the number)
    sa.Column("household_id", sa.String(36), nullable=False),
    sa.Column("region_code", sa.String(12), nullable=False),
    #: the new record: the application's or import row's household (None: refused, not stored)
    sa.Column("other_household_id", sa.String(36), nullable=True),
    sa.Column("other_region_code", sa.String(12), nullable=False),
    #: who must resolve it: the lowest region covering both ("" = the whole country)
    sa.Column("resolve_region", sa.String(12), nullable=False),
    #: application | import
    sa.Column("origin", sa.String(20), nullable=False),
    #: True when the request was refused (the match lay outside the caller's jurisdiction)
    sa.Column("refused", sa.Boolean, nullable=False, default=False),
    sa.Column("found_by", sa.String(200), nullable=False),
    sa.Column("found_at", _TS, nullable=False),
    sa.Column("seen", sa.Integer, nullable=False, default=1),
    sa.Column("status", sa.String(12), nullable=False),  # open | resolved
    sa.Column("resolution", sa.String(12), nullable=True),  # keep | move | split
    sa.Column("resolution_note", sa.Text, nullable=True),
    sa.Column("resolved_by", sa.String(200), nullable=True),
    sa.Column("resolved_at", _TS, nullable=True),
    #: the household a split made (None otherwise)
    sa.Column("split_household_id", sa.String(36), nullable=True),
    #: JSON list: [{event: found|seen|resolved, by, role, at, origin, ...}] (no personal data)
    sa.Column("history", sa.Text, nullable=False, default="[]"),
    sa.Column("updated_at", _TS, nullable=False),
    sa.Index("ix_household_duplicates_open", "status", "resolve_region", "found_at"),
    sa.Index("ix_household_duplicates_household", "household_id"),
)
