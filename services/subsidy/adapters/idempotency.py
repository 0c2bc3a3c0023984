"""`Idempotency-Key` for POST requests that record money, on the `idempotency_keys` table.

A key is reserved (status null) in its own short transaction before the work starts; the final
response is written in the same transaction as the work (or, for a refusal, just after it).
Same key and body → the stored response again; same key, other body → 422; the first request
still running → 409. A reservation left by a crashed request is taken over after `STALE_AFTER`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from services.subsidy.adapters.orm import infra
from shared.db import insert_ignoring_duplicates, utcnow
from shared.errors import Conflict, FieldError, Unprocessable

__all__ = ["STALE_AFTER", "StoredResponse", "complete", "release", "request_hash", "reserve"]

STALE_AFTER = dt.timedelta(minutes=5)
_keys = infra["idempotency_keys"]


@dataclass(frozen=True, slots=True)
class StoredResponse:
    status: int
    body: dict[str, Any]


def request_hash(body: Any) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":"), default=str).encode()).hexdigest()


def _check_key(key: str) -> None:
    if not key or len(key) > 200 or not key.isprintable():
        raise Unprocessable(
            "bad Idempotency-Key",
            errors=[FieldError("Idempotency-Key", "1 to 200 printable characters")],
        )


async def reserve(session: AsyncSession, scope: str, key: str, digest: str) -> StoredResponse | None:
    """Claim the key (None: go ahead), or return the stored response, or refuse."""
    _check_key(key)
    now = utcnow()
    stmt = insert_ignoring_duplicates(
        session.bind.dialect.name,
        _keys,
        [{"scope": scope, "key": key, "request_hash": digest, "status": None, "response": None, "created_at": now}],
    ).returning(_keys.c.key)
    if (await session.execute(stmt)).first() is not None:
        return None
    row = (await session.execute(sa.select(_keys).where(_keys.c.scope == scope, _keys.c.key == key))).first()
    assert row is not None
    if row.request_hash != digest:
        raise Unprocessable(
            "this Idempotency-Key was used with a different request body",
            code="idempotency_key_reused",
            errors=[FieldError("Idempotency-Key", "already used with a different body")],
        )
    if row.status is None:
        created = row.created_at if row.created_at.tzinfo else row.created_at.replace(tzinfo=dt.UTC)
        if now - created < STALE_AFTER:
            raise Conflict(
                "a request with this Idempotency-Key is still being processed; retry later",
                code="idempotency_in_progress",
            )
        await session.execute(sa.update(_keys).where(_keys.c.scope == scope, _keys.c.key == key).values(created_at=now))
        return None
    return StoredResponse(row.status, json.loads(row.response))


async def complete(session: AsyncSession, scope: str, key: str, status: int, body: dict[str, Any]) -> None:
    await session.execute(
        sa.update(_keys)
        .where(_keys.c.scope == scope, _keys.c.key == key)
        .values(status=status, response=json.dumps(body, ensure_ascii=False, default=str).encode())
    )


async def release(session: AsyncSession, scope: str, key: str) -> None:
    """Forget a reservation whose request failed unexpectedly (a retry may run again)."""
    await session.execute(sa.delete(_keys).where(_keys.c.scope == scope, _keys.c.key == key, _keys.c.status.is_(None)))
