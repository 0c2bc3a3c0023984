"""A tamper-evident audit chain (infrastructure): one append-only table per service whose rows
each carry the SHA-256 of their content and of the previous row's hash, so an edited, inserted,
reordered or deleted row breaks `verify_chain`.

A service makes its table with `audit_chain_table(metadata)`, records entries in the transaction
of the change they describe with `record_audit(session, table, ...)` — queued, and appended when
the unit of work commits, so the chain's lock is held only for the commit itself (no transaction
waits for a row lock while holding it) — or appends at once with `append_audit`, and reads with
`audit_entries` / `verify_chain`.
Appends never fork the chain: `seq` is assigned as the last seq + 1 and is the primary key (two
appends that read the same predecessor cannot both commit), and on PostgreSQL appends to one
table are serialised with a transaction-scoped advisory lock (SQLite transactions here begin
IMMEDIATE, so writers are serialised already). What the chain holds is free of resident ID and
phone numbers: every string of `detail` is masked (`shared.pii.mask_numbers_in_text`)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Query
from sqlalchemy.ext.asyncio import AsyncSession

from shared.auth import Principal
from shared.db import before_commit, is_postgres
from shared.errors import Forbidden
from shared.identifiers import region_within
from shared.pii import mask_numbers_in_text

__all__ = [
    "AUDIT_READERS",
    "GENESIS",
    "ChainStatus",
    "append_audit",
    "append_many",
    "audit_chain_table",
    "audit_entries",
    "audit_router",
    "entry_read",
    "record_audit",
    "verify_chain",
    "verify_entries",
]

GENESIS = "0" * 64
#: Who may read the chain (DESIGN.md: county and above, within region).
AUDIT_READERS = frozenset({"county", "province", "admin"})
_BIGINT = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def audit_chain_table(metadata: sa.MetaData, name: str = "audit_chain") -> sa.Table:
    """The chain's table. `subject_id` is what the entry is about (a case, a decision, a policy
    version, a lead); `household_id` the household it concerns, if any — both are searchable."""
    return sa.Table(
        name,
        metadata,
        sa.Column("seq", _BIGINT, primary_key=True, autoincrement=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("subject_type", sa.String(20), nullable=False),
        sa.Column("subject_id", sa.String(100), nullable=False, index=True),
        sa.Column("household_id", sa.String(64), nullable=True, index=True),
        sa.Column("region_code", sa.String(12), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("detail", sa.Text, nullable=False),  # canonical JSON, numbers masked
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )


def _masked(value: Any) -> Any:
    if isinstance(value, str):
        return mask_numbers_in_text(value)
    if isinstance(value, Mapping):
        return {str(k): _masked(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_masked(v) for v in value]
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return value


def _canonical(detail: Mapping[str, Any]) -> str:
    return json.dumps(_masked(detail), ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def _at(value: dt.datetime) -> str:
    """Stored times come back naive (UTC) from SQLite: hash them as UTC ISO text."""
    return (value if value.tzinfo else value.replace(tzinfo=dt.UTC)).astimezone(dt.UTC).isoformat()


def _digest(prev: str, seq: int, at: str, values: Mapping[str, Any]) -> str:
    body = json.dumps(
        [
            prev,
            seq,
            at,
            values["kind"],
            values["subject_type"],
            values["subject_id"],
            values["household_id"],
            values["region_code"],
            values["actor"],
            values["role"],
            values["detail"],
        ],
        ensure_ascii=False,
    )
    return hashlib.sha256(body.encode()).hexdigest()


def _lock_key(table: sa.Table) -> int:
    """A stable advisory-lock key per table (a signed 32-bit number)."""
    return zlib.crc32(f"fangfan.audit:{table.name}".encode()) - 2**31


async def append_audit(
    session: AsyncSession,
    table: sa.Table,
    *,
    kind: str,
    subject_type: str,
    subject_id: str,
    region_code: str,
    actor: str,
    role: str,
    detail: Mapping[str, Any],
    household_id: str | None = None,
    at: dt.datetime | None = None,
) -> dict[str, Any]:
    """Append one entry in the caller's transaction (the unit of work commits it); returns it."""
    entry = {
        "kind": kind,
        "subject_type": subject_type,
        "subject_id": subject_id,
        "region_code": region_code,
        "actor": actor,
        "role": role,
        "detail": detail,
        "household_id": household_id,
        "at": at,
    }
    [row] = await append_many(session, table, [entry])
    return row


async def append_many(session: AsyncSession, table: sa.Table, entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Append entries (keyword arguments of `append_audit`) in order: one lock, one look-up of
    the last row and one multi-row insert however many there are."""
    if not entries:
        return []
    if is_postgres(session.get_bind()):
        await session.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _lock_key(table)})
    last = (await session.execute(sa.select(table.c.seq, table.c.hash).order_by(table.c.seq.desc()).limit(1))).first()
    seq = 0 if last is None else int(last.seq)
    prev = GENESIS if last is None else str(last.hash)
    rows = []
    for e in entries:
        seq += 1
        when = (e.get("at") or dt.datetime.now(dt.UTC)).astimezone(dt.UTC).replace(microsecond=0)
        values: dict[str, Any] = {
            "kind": e["kind"],
            "subject_type": e["subject_type"],
            "subject_id": e["subject_id"],
            "household_id": e.get("household_id"),
            "region_code": e["region_code"],
            "actor": mask_numbers_in_text(e["actor"]),
            "role": e["role"],
            "detail": _canonical(e["detail"]),
        }
        digest = _digest(prev, seq, _at(when), values)
        rows.append(dict(values, seq=seq, at=when, prev_hash=prev, hash=digest))
        prev = digest
    for i in range(0, len(rows), 1000):
        await session.execute(sa.insert(table), rows[i : i + 1000])
    return rows


class _Pending:
    """The entries one unit of work recorded, appended when it commits."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.entries: list[tuple[sa.Table, dict[str, Any]]] = []

    async def __call__(self) -> None:
        entries, self.entries = self.entries, []
        by_table: dict[str, tuple[sa.Table, list[dict[str, Any]]]] = {}
        for table, entry in entries:
            by_table.setdefault(table.name, (table, []))[1].append(entry)
        for table, batch in by_table.values():
            await append_many(self.session, table, batch)


async def record_audit(
    session: AsyncSession,
    table: sa.Table,
    *,
    kind: str,
    subject_type: str,
    subject_id: str,
    region_code: str,
    actor: str,
    role: str,
    detail: Mapping[str, Any],
    household_id: str | None = None,
    at: dt.datetime | None = None,
) -> None:
    """Queue one entry for `append_audit` when the unit of work owning `session` commits (in
    that transaction; a rollback drops it with the change it describes)."""
    pending = before_commit(session, "fangfan.audit", _Pending(session))
    pending.entries.append(
        (
            table,
            {
                "kind": kind,
                "subject_type": subject_type,
                "subject_id": subject_id,
                "region_code": region_code,
                "actor": actor,
                "role": role,
                "detail": _masked(detail),  # as it is now, whatever later happens to the inputs
                "household_id": household_id,
                "at": at or dt.datetime.now(dt.UTC),
            },
        )
    )


@dataclass(frozen=True, slots=True)
class ChainStatus:
    """`verified`: every row matches its content and its predecessor; else `broken_at` is the
    first seq that does not (edited, inserted, reordered, or after a deleted row)."""

    verified: bool
    rows: int
    broken_at: int | None = None
    head_hash: str = GENESIS
    #: `full`: every row from the first; `entries`: the rows shown and the links to them
    scope: str = "full"

    def as_dict(self) -> dict[str, Any]:
        return {
            "verified": self.verified,
            "scope": self.scope,
            "rows": self.rows,
            "broken_at": self.broken_at,
            "head_hash": self.head_hash,
        }


async def verify_chain(session: AsyncSession, table: sa.Table, *, batch: int = 5000) -> ChainStatus:
    """Walk the whole chain in seq order (in batches) and check every link."""
    prev, expected_seq, rows, after = GENESIS, 1, 0, 0
    while True:
        chunk = (
            await session.execute(sa.select(table).where(table.c.seq > after).order_by(table.c.seq).limit(batch))
        ).all()
        if not chunk:
            return ChainStatus(True, rows, None, prev)
        for r in chunk:
            values: Mapping[str, Any] = dict(r._mapping)
            if (
                int(r.seq) != expected_seq
                or r.prev_hash != prev
                or r.hash != _digest(prev, int(r.seq), _at(r.at), values)
            ):
                return ChainStatus(False, rows, int(r.seq), prev)
            prev, expected_seq, rows, after = r.hash, expected_seq + 1, rows + 1, int(r.seq)


async def verify_entries(session: AsyncSession, table: sa.Table, seqs: list[int]) -> ChainStatus:
    """Check only the rows `seqs` — each one's hash over its content, and its link to the row
    before it (which must exist): cheap whatever the chain's length, and it catches an edit of
    an entry shown or a deletion just before one; `verify_chain` catches everything else."""
    wanted = sorted(set(seqs) | {s - 1 for s in seqs if s > 1})
    rows: dict[int, Any] = {}
    for i in range(0, len(wanted), 500):
        stmt = sa.select(table).where(table.c.seq.in_(wanted[i : i + 500]))
        rows.update({int(r.seq): r for r in (await session.execute(stmt)).all()})
    head = (await session.execute(sa.select(table.c.hash).order_by(table.c.seq.desc()).limit(1))).scalar()
    for seq in sorted(set(seqs)):
        r = rows.get(seq)
        before = GENESIS if seq == 1 else (rows[seq - 1].hash if seq - 1 in rows else None)
        if (
            r is None
            or before is None
            or r.prev_hash != before
            or r.hash != _digest(r.prev_hash, seq, _at(r.at), dict(r._mapping))
        ):
            return ChainStatus(False, len(set(seqs)), seq, head or GENESIS, "entries")
    return ChainStatus(True, len(set(seqs)), None, head or GENESIS, "entries")


def entry_read(row: Any) -> dict[str, Any]:
    at = row.at if row.at.tzinfo else row.at.replace(tzinfo=dt.UTC)
    return {
        "seq": int(row.seq),
        "at": at.astimezone(dt.UTC).isoformat().replace("+00:00", "Z"),
        "kind": row.kind,
        "subject_type": row.subject_type,
        "subject_id": row.subject_id,
        "household_id": row.household_id,
        "region_code": row.region_code,
        "actor": row.actor,
        "role": row.role,
        "detail": json.loads(row.detail),
        "prev_hash": row.prev_hash,
        "hash": row.hash,
    }


async def audit_entries(
    session: AsyncSession, table: sa.Table, *, subject: str, region: str, limit: int = 1000
) -> list[dict[str, Any]]:
    """Entries about `subject` (as subject or as household) that a caller of `region` may see,
    oldest first: those within the region, and policy versions in force there (a province-wide
    version concerns a county too)."""
    c = table.c
    stmt = (
        sa.select(table)
        .where(sa.or_(c.subject_id == subject, c.household_id == subject))
        .order_by(c.seq)
        .limit(max(1, min(limit, 10_000)))
    )
    out = []
    for r in (await session.execute(stmt)).all():
        code = str(r.region_code)
        if region_within(code, region) or (r.subject_type == "policy" and region_within(region, code)):
            out.append(entry_read(r))
    return out


def audit_router(
    table: sa.Table,
    *,
    service: str,
    session_dep: Callable[..., Any],
    principal_dep: Callable[..., Any],
) -> APIRouter:
    """`GET /api/v1/audit?subject=` of one service: county, province and admin, within region;
    the entries and the verification of the whole chain."""
    router = APIRouter(prefix="/api/v1", tags=["audit"])

    @router.get("/audit", summary="Audit-chain entries about a household, case, decision or policy version")
    async def read_audit(
        subject: str = Query(min_length=1, max_length=100, description="household, case, decision or policy id"),
        limit: int = Query(default=1000, ge=1, le=10_000),
        verify: Literal["full", "entries"] = Query(
            default="full",
            description="full: walk the whole chain (cost grows with it); entries: the entries shown and their links",
        ),
        principal: Principal = Depends(principal_dep),
        session: AsyncSession = Depends(session_dep),
    ) -> dict[str, Any]:
        if principal.role not in AUDIT_READERS:
            raise Forbidden("the audit chain is for county, province and admin", code="role_not_allowed")
        entries = await audit_entries(session, table, subject=subject, region=principal.region, limit=limit)
        if verify == "entries":
            status = await verify_entries(session, table, [e["seq"] for e in entries])
        else:
            status = await verify_chain(session, table)
        return {
            "service": service,
            "subject": subject,
            "entries": [dict(e, service=service) for e in entries],
            "chain": status.as_dict(),
        }

    return router
