"""API keys for machine clients (`X-API-Key`): issued by an admin, shown once, stored only as the
SHA-256 of a 256-bit random key in the gateway's own database, mapped to role + region (+ dept),
revocable. `/api/v1/admin/api-keys` is the gateway's own router."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import time
import uuid
from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.auth import Principal, principal_from_claims
from shared.errors import DomainError, FieldError, Forbidden, NotFound, Unauthorized, Unprocessable

__all__ = [
    "KEY_PREFIX",
    "ApiKeyCreate",
    "ApiKeyCreated",
    "ApiKeyRead",
    "ApiKeyStore",
    "api_keys_table",
    "metadata",
    "router",
]

KEY_PREFIX = "ffk_"
#: Machine clients act for an office or a department, never as a citizen, contact or admin.
API_KEY_ROLES = ("province", "county", "township", "village", "department")

metadata = sa.MetaData()


def api_keys_table(md: sa.MetaData) -> sa.Table:
    return sa.Table(
        "api_keys",
        md,
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("key_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("prefix", sa.String(16), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("region", sa.String(12), nullable=False),
        sa.Column("dept", sa.String(50), nullable=True),
        sa.Column("created_by", sa.String(100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
    )


api_keys = api_keys_table(metadata)


def hash_key(key: str) -> str:
    # A 256-bit random key needs no slow hash: SHA-256 cannot be reversed or guessed.
    return hashlib.sha256(key.encode()).hexdigest()


class ApiKeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200, description="who or what uses the key")
    role: str = Field(description="one of " + ", ".join(API_KEY_ROLES))
    region: str = Field(description="administrative code prefix the key may act on")
    dept: str | None = Field(default=None, max_length=50, description="department code (role=department)")


class ApiKeyRead(BaseModel):
    id: str
    prefix: str
    name: str
    role: str
    region: str
    dept: str | None
    created_by: str
    created_at: dt.datetime
    revoked_at: dt.datetime | None


class ApiKeyCreated(ApiKeyRead):
    key: str = Field(description="the key itself, shown only in this response")


def _read(row: Any) -> dict[str, Any]:
    return {c: getattr(row, c) for c in ApiKeyRead.model_fields}


class ApiKeyStore:
    """Keys by hash, cached for a few seconds so a request costs no database round trip; a
    revocation here is effective at once, on other gateway replicas within the cache time."""

    def __init__(self, engine: AsyncEngine, *, cache_s: float = 10.0) -> None:
        self.engine = engine
        self.cache_s = cache_s
        self._cache: dict[str, tuple[Principal | None, float]] = {}

    async def authenticate(self, key: str) -> Principal:
        if not key.startswith(KEY_PREFIX) or len(key) > 100:
            raise Unauthorized("invalid API key", code="invalid_api_key")
        digest = hash_key(key)
        now = time.monotonic()
        hit = self._cache.get(digest)
        if hit is None or hit[1] < now:
            async with self.engine.connect() as conn:
                row = (
                    await conn.execute(
                        sa.select(api_keys).where(api_keys.c.key_hash == digest, api_keys.c.revoked_at.is_(None))
                    )
                ).first()
                await conn.rollback()
            principal = None
            if row is not None:
                claims = {"sub": f"apikey:{row.id}", "role": row.role, "region": row.region, "dept": row.dept}
                principal = principal_from_claims(claims, "api_key")
            if len(self._cache) > 10_000:
                self._cache.clear()
            hit = self._cache[digest] = (principal, now + self.cache_s)
        if hit[0] is None:
            raise Unauthorized("invalid or revoked API key", code="invalid_api_key")
        return hit[0]

    async def create(self, body: ApiKeyCreate, by: Principal) -> dict[str, Any]:
        if body.role not in API_KEY_ROLES:
            raise Unprocessable(
                "role not allowed for an API key",
                errors=[FieldError("role", "one of " + ", ".join(API_KEY_ROLES), "enum")],
            )
        try:
            principal_from_claims({"sub": "x", "role": body.role, "region": body.region, "dept": body.dept}, "api_key")
        except DomainError as exc:
            errors = [FieldError("region", exc.detail, "value")]
            raise Unprocessable(exc.detail, errors=errors) from None
        key = KEY_PREFIX + secrets.token_urlsafe(32)
        row = {
            "id": uuid.uuid4().hex,
            "key_hash": hash_key(key),
            "prefix": key[:12],
            "name": body.name,
            "role": body.role,
            "region": body.region,
            "dept": body.dept,
            "created_by": by.sub,
            "created_at": dt.datetime.now(dt.UTC),
            "revoked_at": None,
        }
        async with self.engine.begin() as conn:
            await conn.execute(sa.insert(api_keys).values(**row))
        return {**{k: v for k, v in row.items() if k != "key_hash"}, "key": key}

    async def list(self) -> list[dict[str, Any]]:
        async with self.engine.connect() as conn:
            rows = (await conn.execute(sa.select(api_keys).order_by(api_keys.c.created_at))).all()
            await conn.rollback()
        return [_read(r) for r in rows]

    async def revoke(self, key_id: str) -> None:
        async with self.engine.begin() as conn:
            row = (await conn.execute(sa.select(api_keys.c.key_hash).where(api_keys.c.id == key_id))).first()
            if row is None:
                raise NotFound("no such API key")
            await conn.execute(
                sa.update(api_keys)
                .where(api_keys.c.id == key_id, api_keys.c.revoked_at.is_(None))
                .values(revoked_at=dt.datetime.now(dt.UTC))
            )
        self._cache.pop(row.key_hash, None)


router = APIRouter(prefix="/api/v1/admin/api-keys", tags=["api-keys"])


def _admin(request: Request) -> tuple[ApiKeyStore, Principal]:
    # The gateway's middleware has authenticated the caller and checked the permission table.
    principal: Principal | None = request.scope.get("fangfan.principal")
    if principal is None:
        raise Unauthorized("missing bearer token", code="missing_token")
    if principal.role != "admin":
        raise Forbidden("only admin manages API keys", code="role_forbidden")
    return request.app.state.api_keys, principal


@router.post("", status_code=201, response_model=ApiKeyCreated, summary="Issue an API key (shown once)")
async def create_api_key(body: ApiKeyCreate, request: Request) -> dict[str, Any]:
    store, principal = _admin(request)
    return await store.create(body, principal)


@router.get("", response_model=list[ApiKeyRead], summary="List API keys (never the keys themselves)")
async def list_api_keys(request: Request) -> list[dict[str, Any]]:
    store, _ = _admin(request)
    return await store.list()


@router.delete("/{key_id}", status_code=204, summary="Revoke an API key")
async def revoke_api_key(key_id: str, request: Request) -> Response:
    store, _ = _admin(request)
    await store.revoke(key_id)
    return Response(status_code=204)
