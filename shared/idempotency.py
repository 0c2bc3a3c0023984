"""`Idempotency-Key` over each service's `idempotency_keys` table, scoped per caller and route.

The same key with the same body replays the first response (status and body); with a different
body it is 422 `idempotency_key_reused`; while the first request still runs it is 409
`idempotency_in_progress` (with Retry-After). The claim is its own short transaction, so a
concurrent request sees it at once; the response is stored by `complete` inside the use case's
own unit of work, atomically with its effects; a failed request `release`s its claim so the
client can retry with the same key. Keys are kept at least 24 hours (`RETENTION`); a claim left
behind by a crashed process is taken over after `STALE_AFTER`."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from shared.auth import Principal
from shared.db import UnitOfWork, insert_ignoring_duplicates, utcnow
from shared.errors import Conflict, FieldError, Unprocessable

__all__ = [
    "RETENTION",
    "STALE_AFTER",
    "IdempotencyClaim",
    "claim",
    "complete",
    "release",
    "request_hash",
    "scope_for",
]

RETENTION = dt.timedelta(hours=24)
#: A claim with no response after this long belongs to a process that died: another may take it.
#: Longer than any request may run; `FANGFAN_IDEMPOTENCY_STALE_AFTER_S` changes it.
STALE_AFTER = dt.timedelta(seconds=float(os.environ.get("FANGFAN_IDEMPOTENCY_STALE_AFTER_S", "300")))
MAX_KEY_LENGTH = 200


@dataclass(frozen=True, slots=True)
class IdempotencyClaim:
    """Either a claim to run the request (`replay` None) or a stored response to replay."""

    scope: str
    key: str
    request_hash: str
    replay: tuple[int, dict[str, Any]] | None = None


def scope_for(route: str, principal: Principal) -> str:
    """Keys are scoped by caller and route; the caller is hashed because a citizen's `sub` is
    their resident ID number."""
    who = hashlib.sha256(f"{principal.role}:{principal.sub}".encode()).hexdigest()[:40]
    return f"{route}|{who}"


def request_hash(body: Any) -> str:
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _checked_key(key: str | None) -> str:
    if key is None or not key.strip():
        raise Unprocessable(
            "the Idempotency-Key header is required",
            errors=[FieldError("Idempotency-Key", "required header", "missing")],
        )
    key = key.strip()
    if len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise Unprocessable(
            "bad Idempotency-Key",
            errors=[FieldError("Idempotency-Key", f"1 to {MAX_KEY_LENGTH} printable characters", "invalid")],
        )
    return key


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)  # SQLite returns naive UTC


async def claim(
    uow_factory: Callable[[], UnitOfWork], table: sa.Table, *, scope: str, key: str | None, body: Any
) -> IdempotencyClaim:
    """Claim `key` for this request, or return the stored response to replay, or refuse."""
    key = _checked_key(key)
    digest = request_hash(body)
    now = utcnow()
    c = table.c
    async with uow_factory() as uow:
        session = uow.session
        await session.execute(
            sa.delete(table).where(
                c.scope == scope, c.key == key, c.created_at < now - RETENTION, c.status.is_not(None)
            )
        )
        row_values = {
            "scope": scope,
            "key": key,
            "request_hash": digest,
            "status": None,
            "response": None,
            "created_at": now,
        }
        stmt = insert_ignoring_duplicates(session.get_bind().dialect.name, table, [row_values]).returning(c.key)
        if (await session.execute(stmt)).first() is not None:
            await uow.commit()
            return IdempotencyClaim(scope, key, digest)
        row = (await session.execute(sa.select(table).where(c.scope == scope, c.key == key))).one()
        if row.request_hash != digest:
            raise Unprocessable(
                "this Idempotency-Key was used with a different request body",
                code="idempotency_key_reused",
                errors=[FieldError("Idempotency-Key", "already used with a different body", "idempotency_key_reused")],
            )
        if row.status is None:
            if now - _aware(row.created_at) < STALE_AFTER:
                raise Conflict(
                    "a request with this Idempotency-Key is still being processed; retry later",
                    code="idempotency_in_progress",
                    retry_after=1,
                )
            # The process that claimed it died: take the claim over.
            await session.execute(sa.update(table).where(c.scope == scope, c.key == key).values(created_at=now))
            await uow.commit()
            return IdempotencyClaim(scope, key, digest)
    return IdempotencyClaim(scope, key, digest, replay=(int(row.status), json.loads(row.response)))


async def complete(session: AsyncSession, table: sa.Table, c: IdempotencyClaim, status: int, body: Any) -> None:
    """Store the response in the caller's transaction (commit it with the effects)."""
    payload = json.dumps(body, default=str, ensure_ascii=False).encode()
    await session.execute(
        sa.update(table).where(table.c.scope == c.scope, table.c.key == c.key).values(status=status, response=payload)
    )


async def release(uow_factory: Callable[[], UnitOfWork], table: sa.Table, c: IdempotencyClaim) -> None:
    """Forget an unfinished claim (the request failed; nothing was committed)."""
    async with uow_factory() as uow:
        await uow.session.execute(
            sa.delete(table).where(table.c.scope == c.scope, table.c.key == c.key, table.c.status.is_(None))
        )
        await uow.commit()
