"""Tables of the national monitoring system export (migration iden_0015): runs, the per-county
cursor, what each county's files last said about each household, and a run's staged rows.

Staged rows hold ID numbers and names (the national system needs them): AES-GCM encrypted with
the service's `FieldCipher`; what was last exported is kept only as a keyed hash."""

from __future__ import annotations

import sqlalchemy as sa

from services.identification.adapters.orm import metadata

__all__ = [
    "national_sync_cursors",
    "national_sync_days",
    "national_sync_exported",
    "national_sync_rows",
    "national_sync_runs",
]

_TS = sa.DateTime(timezone=True)

#: One run = one county's file; `id` is also its job's id (`GET /jobs/{id}`). At most one
#: running run per county (partial unique index): a second request gets the running one.
national_sync_runs = sa.Table(
    "national_sync_runs",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("county", sa.String(6), nullable=False),
    sa.Column("sequence", sa.Integer, nullable=False),
    sa.Column("full", sa.Boolean, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),  # running | completed | failed
    #: households changed after `since` (the previous completed run's `until`; None: full)
    sa.Column("since", _TS, nullable=True),
    sa.Column("until", _TS, nullable=False),
    sa.Column("period", sa.String(6), nullable=False),  # YYYYMM
    sa.Column("file_name", sa.String(80), nullable=False),
    sa.Column("phase", sa.String(16), nullable=False),  # households | removals | file | done
    sa.Column("households", sa.Integer, nullable=True),  # F rows in the file (at the end)
    sa.Column("checksum", sa.String(64), nullable=True),
    sa.Column("bytes", sa.BigInteger, nullable=True),
    sa.Column("created_by", sa.String(200), nullable=False),
    sa.Column("claimed_by", sa.String(200), nullable=True),
    sa.Column("lease_until", _TS, nullable=True),
    sa.Column("created_at", _TS, nullable=False),
    sa.Column("finished_at", _TS, nullable=True),
    sa.Index("ix_national_sync_runs_county", "county", "created_at"),
    sa.Index(
        "uq_national_sync_runs_one_running",
        "county",
        unique=True,
        postgresql_where=sa.text("status = 'running'"),
        sqlite_where=sa.text("status = 'running'"),
    ),
)

#: Per county: the last completed run (its `until` is the next run's `since`) and the sequence.
national_sync_cursors = sa.Table(
    "national_sync_cursors",
    metadata,
    sa.Column("county", sa.String(6), primary_key=True),
    sa.Column("last_sequence", sa.Integer, nullable=False),
    sa.Column("last_until", _TS, nullable=True),
    sa.Column("last_run_id", sa.String(36), nullable=True),
    sa.Column("updated_at", _TS, nullable=False),
)

#: What the county's files last said about each household: a keyed hash (HMAC) of its row, so an
#: unchanged household is not sent again, and number/village, so a removal can still be written.
national_sync_exported = sa.Table(
    "national_sync_exported",
    metadata,
    sa.Column("county", sa.String(6), primary_key=True),
    sa.Column("household_id", sa.String(36), primary_key=True),
    sa.Column("household_number", sa.String(64), nullable=False),
    sa.Column("region_code", sa.String(12), nullable=False),
    sa.Column("row_hash", sa.String(64), nullable=False),
    sa.Column("run_id", sa.String(36), nullable=False),
)

#: A running run's rows, written chunk by chunk in the same transaction as the job's cursor (a
#: restart continues after the last committed chunk); the file is put together from them at the
#: end, then they are deleted. `row_enc`: the encoded row lines, encrypted.
national_sync_rows = sa.Table(
    "national_sync_rows",
    metadata,
    sa.Column("run_id", sa.String(36), primary_key=True),
    sa.Column("household_id", sa.String(36), primary_key=True),
    sa.Column("region_code", sa.String(12), nullable=False),
    sa.Column("household_number", sa.String(64), nullable=False),
    sa.Column("change", sa.String(1), nullable=False),
    sa.Column("row_hash", sa.String(64), nullable=False),
    sa.Column("row_enc", sa.LargeBinary, nullable=False),
    sa.Index("ix_national_sync_rows_order", "run_id", "region_code", "household_id"),
)

#: The daily schedule's claim: the replica whose insert of (county, day) succeeds starts the run.
national_sync_days = sa.Table(
    "national_sync_days",
    metadata,
    sa.Column("county", sa.String(6), primary_key=True),
    sa.Column("day", sa.Date, primary_key=True),
    sa.Column("started_by", sa.String(200), nullable=False),
    sa.Column("run_id", sa.String(36), nullable=True),
)
