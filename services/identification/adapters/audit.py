"""The audit log of unmasked reads of personal data: who, whose, which fields, why, the request
id and when — one row per read, in a hash chain (each row's hash covers the previous row's), so
an edited or deleted row is detected by `verify_chain`.

`audit_chain` is the service's decision audit (shared.audit: case transitions, exclusion
overrides, policy versions, lead resolutions; iden_0009), read by `GET /api/v1/audit`."""

from __future__ import annotations

import datetime as dt
import hashlib
import json

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from services.identification.adapters.orm import metadata
from shared.audit import audit_chain_table
from shared.db import is_postgres

__all__ = ["audit_chain", "audit_log", "record_unmasked_read", "verify_chain"]

#: The tamper-evident chain of decisions (shared.audit).
audit_chain = audit_chain_table(metadata)

audit_log = sa.Table(
    "audit_log",
    metadata,
    sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("actor", sa.String(200), nullable=False),
    sa.Column("role", sa.String(20), nullable=False),
    sa.Column("household_id", sa.String(36), nullable=False, index=True),
    sa.Column("fields", sa.String(100), nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("request_id", sa.String(100), nullable=False),
    sa.Column("prev_hash", sa.String(64), nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
)

_GENESIS = "0" * 64


def _digest(prev: str, at: str, actor: str, role: str, household_id: str, fields: str, reason: str, rid: str) -> str:
    body = json.dumps([prev, at, actor, role, household_id, fields, reason, rid], ensure_ascii=False)
    return hashlib.sha256(body.encode()).hexdigest()


def _at(value: dt.datetime) -> str:
    return (value if value.tzinfo else value.replace(tzinfo=dt.UTC)).astimezone(dt.UTC).isoformat()


async def record_unmasked_read(
    session: AsyncSession, *, actor: str, role: str, household_id: str, fields: str, reason: str, request_id: str
) -> None:
    """Append one row (in the caller's transaction; PostgreSQL serialises appends with a lock)."""
    if is_postgres(session.get_bind()):
        await session.execute(sa.text("SELECT pg_advisory_xact_lock(7341221)"))
    prev = (await session.execute(sa.select(audit_log.c.hash).order_by(audit_log.c.seq.desc()).limit(1))).scalar()
    at = dt.datetime.now(dt.UTC).replace(microsecond=0)
    digest = _digest(prev or _GENESIS, _at(at), actor, role, household_id, fields, reason, request_id)
    await session.execute(
        sa.insert(audit_log).values(
            at=at,
            actor=actor,
            role=role,
            household_id=household_id,
            fields=fields,
            reason=reason,
            request_id=request_id,
            prev_hash=prev or _GENESIS,
            hash=digest,
        )
    )


async def verify_chain(session: AsyncSession) -> bool:
    """True when every row's hash matches its contents and its predecessor (nothing edited,
    inserted or deleted in between)."""
    prev = _GENESIS
    for r in (await session.execute(sa.select(audit_log).order_by(audit_log.c.seq))).all():
        expected = _digest(prev, _at(r.at), r.actor, r.role, r.household_id, r.fields, r.reason, r.request_id)
        if r.prev_hash != prev or r.hash != expected:
            return False
        prev = r.hash
    return True
