"""`Idempotency-Key` handling over the infrastructure table `idempotency_keys`, scoped per
caller and route: the same key with the same body replays the first response (status and body);
with a different body it is 422; while the first request still runs it is 409. Keys are kept
at least 24 hours (`RETENTION`); an expired key may be used again.

The claim is its own short transaction (so a concurrent request sees it at once); the response
is stored in the use case's own unit of work (`complete`), atomically with its effects; a
failed request releases its claim so the client can retry with the same key."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from shared.app import ServiceContext
from shared.auth import Principal
from shared.db import insert_ignoring_duplicates, utcnow
from shared.errors import Conflict, FieldError, Unprocessable

__all__ = ["RETENTION", "IdempotencyClaim", "claim", "complete", "release", "request_hash", "scope_for"]

RETENTION = dt.timedelta(hours=24)
MAX_KEY_LENGTH = 200


@dataclass(frozen=True, slots=True)
class IdempotencyClaim:
    """Either a claim to run the request (`replay` None) or a stored response to replay."""

    scope: str
    key: str
    request_hash: str
    replay: tuple[int, dict[str, Any]] | None = None


def scope_for(route: str, principal: Principal) -> str:
    """Keys are scoped by caller: a hash, because a citizen's `sub` is their ID number."""
    who = hashlib.sha256(f"{principal.role}:{principal.sub}".encode()).hexdigest()[:40]
    return f"{route}|{who}"


def request_hash(body: Any) -> str:
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


async def claim(ctx: ServiceContext, *, scope: str, key: str | None, body: Any) -> IdempotencyClaim:
    """Claim `key` for this request, or return the stored response to replay."""
    if key is None or not key.strip():
        raise Unprocessable(
            "the Idempotency-Key header is required",
            errors=[FieldError("Idempotency-Key", "required header", "missing")],
        )
    key = key.strip()
    if len(key) > MAX_KEY_LENGTH:
        raise Unprocessable(
            "Idempotency-Key is too long",
            errors=[FieldError("Idempotency-Key", f"at most {MAX_KEY_LENGTH} characters", "too_long")],
        )
    digest = request_hash(body)
    table = ctx.tables["idempotency_keys"]
    now = utcnow()
    async with ctx.uow() as uow:
        session = uow.session
        await session.execute(
            sa.delete(table).where(table.c.scope == scope, table.c.key == key, table.c.created_at < now - RETENTION)
        )
        stmt = insert_ignoring_duplicates(
            session.bind.dialect.name,
            table,
            [{"scope": scope, "key": key, "request_hash": digest, "status": None, "response": None, "created_at": now}],
        )
        inserted = (await session.execute(stmt)).rowcount == 1
        row = None
        if not inserted:
            row = (await session.execute(sa.select(table).where(table.c.scope == scope, table.c.key == key))).first()
        await uow.commit()
    if inserted or row is None:
        return IdempotencyClaim(scope, key, digest)
    if row.request_hash != digest:
        raise Unprocessable(
            "this Idempotency-Key was used with a different request body",
            code="idempotency_key_reused",
            errors=[FieldError("Idempotency-Key", "already used with a different body", "idempotency_key_reused")],
        )
    if row.status is None:
        raise Conflict(
            "a request with this Idempotency-Key is still being processed; retry later",
            code="idempotency_in_progress",
            retry_after=1,
        )
    return IdempotencyClaim(scope, key, digest, replay=(int(row.status), json.loads(row.response)))


async def complete(session: AsyncSession, ctx: ServiceContext, c: IdempotencyClaim, status: int, body: Any) -> None:
    """Store the response in the caller's transaction (commit it with the effects)."""
    table = ctx.tables["idempotency_keys"]
    payload = json.dumps(body, default=str, ensure_ascii=False).encode()
    await session.execute(
        sa.update(table).where(table.c.scope == c.scope, table.c.key == c.key).values(status=status, response=payload)
    )


async def release(ctx: ServiceContext, c: IdempotencyClaim) -> None:
    """Forget an unfinished claim (the request failed; nothing was committed)."""
    table = ctx.tables["idempotency_keys"]
    async with ctx.uow() as uow:
        await uow.session.execute(
            sa.delete(table).where(table.c.scope == c.scope, table.c.key == c.key, table.c.status.is_(None))
        )
        await uow.commit()
