"""Tables of the household registry look-up (migration iden_0012): the blind index of each
household's head's name, so that a name search is an index look-up instead of decrypting every
head of a county. Derived data: rebuilt from `members` whenever a household's version moved."""

from __future__ import annotations

import sqlalchemy as sa

from services.identification.adapters.orm import households, metadata

__all__ = ["STATUS_REGION_INDEX", "household_heads", "metadata"]

#: The list filtered by status (`GET /households?state=monitored`) in its keyset order: without
#: it a county's page of a rare status scans every household of the county.
STATUS_REGION_INDEX = sa.Index(
    "ix_households_status_region", households.c.status, households.c.region_code, households.c.id
)

#: One row per household with a member recorded as head: the HMAC blind index (the service's
#: index key) of the head's name and the household version it was taken from. A row whose
#: version is not the household's is stale and ignored until the next search refreshes it.
household_heads = sa.Table(
    "household_heads",
    metadata,
    sa.Column("household_id", sa.String(36), primary_key=True),
    sa.Column("name_index", sa.String(64), nullable=False),
    sa.Column("household_version", sa.Integer, nullable=False),
    sa.Index("ix_household_heads_name_index", "name_index"),
)
