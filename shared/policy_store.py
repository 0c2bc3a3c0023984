"""Policy versions added at run time (`POST /admin/policies`) next to the ones a service ships in
YAML: one table per service, merged with the shipped versions and resolved by (region, date)
with `shared.policy.resolve_policy`. No redeploy needed; every value keeps its source.

A service plugs it in with `PolicyStore(service, shipped, table, known_parameters)` and
`policy_router(store)`; the gateway routes `/admin/policies` by the `service` field."""

from __future__ import annotations

import datetime as dt
import json
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.ext.asyncio import AsyncSession

from shared.audit import record_audit
from shared.auth import Principal
from shared.errors import FieldError, Forbidden, NotFound, Unprocessable
from shared.identifiers import REGION_LEVELS, region_within
from shared.policy import (
    PolicyError,
    PolicyNotFound,
    PolicyVersion,
    ResolvedPolicy,
    parse_policy_document,
    resolve_policy,
)

__all__ = [
    "PolicyStore",
    "PolicyVersionCreate",
    "add_policy_version",
    "audit_policy_version",
    "policy_router",
    "policy_versions_table",
]


def policy_versions_table(metadata: sa.MetaData) -> sa.Table:
    return sa.Table(
        "policy_versions",
        metadata,
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("id", sa.String(100), nullable=False, unique=True),
        sa.Column("service", sa.String(40), nullable=False),
        sa.Column("region_prefix", sa.String(12), nullable=False),
        sa.Column("effective_from", sa.Date, nullable=False),
        sa.Column("effective_to", sa.Date, nullable=True),
        sa.Column("version", sa.String(40), nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("parameters", sa.Text, nullable=False),  # JSON {name: {value: "decimal text" | any, source}}
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )


def _jsonable(value: Any) -> Any:
    if isinstance(value, Decimal):
        return {"$decimal": str(value)}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    return value


def _from_json(value: Any) -> Any:
    if isinstance(value, dict) and set(value) == {"$decimal"}:
        return Decimal(value["$decimal"])
    if isinstance(value, list):
        return [_from_json(v) for v in value]
    if isinstance(value, dict):
        return {k: _from_json(v) for k, v in value.items()}
    return value


def _decimals_within(value: Any) -> Any:
    """Numbers inside a structured value (e.g. a list of tiers) as the YAML loader gives them:
    floats and numeric strings become Decimal from their text, integers stay integers."""
    if isinstance(value, list):
        return [_decimals_within(v) for v in value]
    if isinstance(value, dict):
        return {k: _decimals_within(v) for k, v in value.items()}
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, str) and _looks_numeric(value):
        return Decimal(value)
    return value


#: Checks what a version leaves in force, with the other versions, for one region and day:
#: [(parameter name or "", why)] — the typed loaders the service's use cases run, so that a value
#: they would refuse later is refused when it is written.
ResolvedCheck = Callable[[ResolvedPolicy], list[tuple[str, str]]]


class PolicyVersionCreate(BaseModel):
    """A dated policy version: overrides, for its region and period, only the parameters it names."""

    model_config = ConfigDict(extra="forbid")

    service: str = Field(description="identification or subsidy")
    region_prefix: str = Field(description="2, 4, 6, 9 or 12-digit region code prefix", examples=["341221"])
    effective_from: dt.date
    effective_to: dt.date | None = Field(default=None, description="inclusive last day; open-ended if omitted")
    parameters: dict[str, Any] = Field(
        description="name → value, or name → {value, source}; numbers as decimal strings or numbers",
        examples=[{"monitoring_line": {"value": "6000", "source": "县政府通知 2024 第3号 §2"}}],
    )
    source: str = Field(min_length=1, description="document and clause the values come from")
    id: str | None = Field(default=None, max_length=100)
    version: str | None = Field(default=None, max_length=40)


class PolicyStore:
    def __init__(
        self,
        *,
        service: str,
        shipped: Iterable[PolicyVersion],
        table: sa.Table,
        known_parameters: Iterable[str],
        validate_value: Callable[[str, Any], str | None] | None = None,
        validate_resolved: ResolvedCheck | None = None,
        cache_ttl_s: float = 5.0,
    ) -> None:
        self.service = service
        self.shipped = list(shipped)
        self.table = table
        self.known = frozenset(known_parameters)
        self.validate_value = validate_value
        self.validate_resolved = validate_resolved
        self.cache_ttl_s = cache_ttl_s
        self._cache: tuple[float, list[PolicyVersion]] | None = None

    async def versions(self, session: AsyncSession) -> list[PolicyVersion]:
        now = time.monotonic()
        if self._cache and now - self._cache[0] < self.cache_ttl_s:
            return self._cache[1]
        rows = (await session.execute(sa.select(self.table).order_by(self.table.c.seq))).mappings().all()
        added = []
        for r in rows:
            params = {k: dict(v, value=_from_json(v["value"])) for k, v in json.loads(r["parameters"]).items()}
            added.append(
                parse_policy_document(
                    {
                        "id": r["id"],
                        "service": r["service"],
                        "region_prefix": r["region_prefix"],
                        "effective_from": r["effective_from"],
                        "effective_to": r["effective_to"],
                        "version": r["version"],
                        "source": r["source"],
                        "parameters": params,
                    },
                    sequence=1_000_000 + int(r["seq"]),  # added later than anything shipped
                )
            )
        merged = [*self.shipped, *added]
        self._cache = (now, merged)
        return merged

    def invalidate(self) -> None:
        self._cache = None

    async def resolve(self, session: AsyncSession, region_code: str, as_of: dt.date) -> ResolvedPolicy:
        return resolve_policy(await self.versions(session), service=self.service, region_code=region_code, as_of=as_of)

    def check_parameters(self, parameters: Mapping[str, Any], path: str = "parameters") -> dict[str, Any]:
        """Validate names (and values) of a version or of what-if overrides; returns them with
        numbers as Decimal."""
        errors: list[FieldError] = []
        out: dict[str, Any] = {}
        for name, raw in parameters.items():
            value = raw["value"] if isinstance(raw, Mapping) and "value" in raw else raw
            if name not in self.known:
                errors.append(FieldError(f"{path}.{name}", f"unknown {self.service} parameter", "unknown_parameter"))
                continue
            if isinstance(value, bool) or value is None:
                pass
            elif isinstance(value, list | dict):
                value = _decimals_within(value)
            elif isinstance(value, int | float | str) and not isinstance(value, bool):
                try:
                    value = Decimal(str(value)) if not isinstance(value, str) or _looks_numeric(value) else value
                except InvalidOperation:
                    pass
            if isinstance(value, Decimal) and (value.is_nan() or value.is_infinite()):
                errors.append(FieldError(f"{path}.{name}", "must be a finite number", "number"))
                continue
            if self.validate_value:
                problem = self.validate_value(name, value)
                if problem:
                    errors.append(FieldError(f"{path}.{name}", problem, "invalid_value"))
                    continue
            out[name] = dict(raw, value=value) if isinstance(raw, Mapping) and "value" in raw else value
        if errors:
            raise Unprocessable("invalid policy parameters", errors=errors)
        return out

    async def add(self, session: AsyncSession, body: PolicyVersionCreate, principal: Principal) -> PolicyVersion:
        if body.service != self.service:
            raise Unprocessable(
                f"this is the {self.service} service", errors=[FieldError("service", f"must be {self.service}")]
            )
        if principal.role == "province":
            if not region_within(body.region_prefix, principal.region):
                raise NotFound("no such region in your jurisdiction")
        elif principal.role != "admin":
            raise Forbidden("only admin, or a province for its own province, may add policy versions")
        if body.region_prefix and (not body.region_prefix.isdigit() or len(body.region_prefix) not in REGION_LEVELS):
            raise Unprocessable(
                "bad region prefix", errors=[FieldError("region_prefix", "must be 2, 4, 6, 9 or 12 digits")]
            )
        if not body.parameters:
            raise Unprocessable("no parameters", errors=[FieldError("parameters", "name at least one parameter")])
        params = self.check_parameters(body.parameters)
        vid = body.id or f"{self.service}-{body.region_prefix}-{body.effective_from.isoformat()}-{uuid.uuid4().hex[:8]}"
        doc = {
            "id": vid,
            "service": self.service,
            "region_prefix": body.region_prefix,
            "effective_from": body.effective_from,
            "effective_to": body.effective_to,
            "version": body.version or "1",
            "source": body.source,
            "parameters": params,
        }
        try:
            version = parse_policy_document(doc)
        except PolicyError as exc:
            raise Unprocessable(str(exc), errors=[FieldError("effective_to", str(exc))]) from None
        if any(v.id == vid for v in self.shipped):
            raise Unprocessable("id taken", errors=[FieldError("id", "a shipped version has this id")])
        if self.validate_resolved is not None:
            self._check_in_force(await self.versions(session), version)
        stored = {k: {"value": _jsonable(pv.value), "source": pv.source} for k, pv in version.parameters.items()}
        exists = (await session.execute(sa.select(self.table.c.seq).where(self.table.c.id == vid))).first()
        if exists:
            raise Unprocessable("id taken", errors=[FieldError("id", "a version with this id exists")])
        await session.execute(
            sa.insert(self.table).values(
                id=vid,
                service=self.service,
                region_prefix=body.region_prefix,
                effective_from=body.effective_from,
                effective_to=body.effective_to,
                version=version.version,
                source=body.source,
                parameters=json.dumps(stored, ensure_ascii=False),
                created_by=principal.sub,
                created_at=dt.datetime.now(dt.UTC),
            )
        )
        self.invalidate()
        return version

    def _check_in_force(self, existing: list[PolicyVersion], version: PolicyVersion) -> None:
        """422 when `version`, layered with the versions already there, leaves a region of its
        scope with a policy the service's loaders refuse — on its first day, and on every later
        day within its period when another version of that scope starts or ends."""
        assert self.validate_resolved is not None
        scoped = [
            v
            for v in existing
            if v.service == self.service
            and (
                region_within(v.region_prefix, version.region_prefix)
                or region_within(version.region_prefix, v.region_prefix)
            )
        ]
        regions = {version.region_prefix} | {
            v.region_prefix for v in scoped if region_within(v.region_prefix, version.region_prefix)
        }
        days = {version.effective_from}
        for v in scoped:
            for day in (v.effective_from, v.effective_to and v.effective_to + dt.timedelta(days=1)):
                if day is not None and version.in_force(day):
                    days.add(day)
        candidates = [*existing, version]
        errors: list[FieldError] = []
        seen: set[tuple[str, str]] = set()
        for region in sorted(regions):
            for day in sorted(days):
                try:
                    resolved = resolve_policy(candidates, service=self.service, region_code=region, as_of=day)
                except PolicyNotFound:
                    continue
                for name, problem in self.validate_resolved(resolved):
                    if (name, problem) in seen:
                        continue
                    seen.add((name, problem))
                    path = f"parameters.{name}" if name in version.parameters else "parameters"
                    where = (
                        ""
                        if region == version.region_prefix and day == version.effective_from
                        else (f" (in force for {region} on {day.isoformat()})")
                    )
                    errors.append(
                        FieldError(
                            path,
                            f"{name}: {problem}{where}" if path == "parameters" else problem + where,
                            "invalid_value",
                        )
                    )
        if errors:
            raise Unprocessable("the version would leave a policy the service cannot apply", errors=errors)


def _looks_numeric(s: str) -> bool:
    try:
        Decimal(s)
    except InvalidOperation:
        return False
    return True


def version_read(v: PolicyVersion) -> dict[str, Any]:
    return {
        "id": v.id,
        "service": v.service,
        "region_prefix": v.region_prefix,
        "effective_from": v.effective_from,
        "effective_to": v.effective_to,
        "version": v.version,
        "source": v.source,
        "parameters": {k: {"value": _plain(p.value), "source": p.source} for k, p in v.parameters.items()},
    }


def _plain(value: Any) -> Any:
    """Decimals as their text, inside lists (tiers) too: never a float on the wire."""
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return str(value) if isinstance(value, Decimal) else value


async def add_policy_version(
    uow: Any,
    store: PolicyStore,
    body: PolicyVersionCreate,
    principal: Principal,
    audit: Callable[[AsyncSession, PolicyVersion, Principal], Awaitable[None]] | None = None,
) -> PolicyVersion:
    """The use case behind `POST /admin/policies`: add the version, record it in the service's
    audit chain in the same transaction, commit, and drop the store's cache."""
    version = await store.add(uow.session, body, principal)
    if audit is not None:
        await audit(uow.session, version, principal)
    await uow.commit()
    store.invalidate()
    return version


def policy_router(
    store: PolicyStore | Callable[..., PolicyStore],
    *,
    service: str | None = None,
    session_dep: Callable[..., Any],
    uow_dep: Callable[..., Any],
    principal_dep: Callable[..., Any],
    audit: Callable[[AsyncSession, PolicyVersion, Principal], Awaitable[None]] | None = None,
) -> APIRouter:
    """`POST /api/v1/admin/policies` and `GET /api/v1/admin/policies` for one service. `store`
    is the store itself or a FastAPI dependency returning the running app's store (then
    `service` names the service); `audit` records an added version (in the same transaction) in
    the service's audit chain."""
    if isinstance(store, PolicyStore):
        fixed = store
        service = fixed.service

        def store_dep() -> PolicyStore:
            return fixed

    else:
        store_dep = store
        if service is None:
            raise TypeError("policy_router(store_dep) needs service=")
    router = APIRouter(prefix="/api/v1/admin/policies", tags=["policies"])

    @router.post("", status_code=201, summary="Add a dated policy version (no redeploy)")
    async def add_version(
        body: PolicyVersionCreate,
        principal: Principal = Depends(principal_dep),
        uow: Any = Depends(uow_dep),
        store: PolicyStore = Depends(store_dep),
    ) -> dict[str, Any]:
        return version_read(await add_policy_version(uow, store, body, principal, audit))

    @router.get("", summary="What is in force for a region at a date, and where each value comes from")
    async def in_force(
        service: str = Query(default=service),
        region: str | None = Query(default=None, description="region code (2–12 digits)"),
        as_of: dt.date | None = Query(default=None),
        principal: Principal = Depends(principal_dep),
        session: AsyncSession = Depends(session_dep),
        store: PolicyStore = Depends(store_dep),
    ) -> dict[str, Any]:
        if service != store.service:
            raise Unprocessable("wrong service", errors=[FieldError("service", f"must be {store.service}")])
        versions = await store.versions(session)
        if region is None:
            return {"service": store.service, "versions": [version_read(v) for v in versions]}
        if not region.isdigit() or len(region) not in REGION_LEVELS:
            raise Unprocessable("bad region", errors=[FieldError("region", "must be 2, 4, 6, 9 or 12 digits")])
        day = as_of or dt.date.today()
        try:
            resolved = resolve_policy(versions, service=store.service, region_code=region, as_of=day)
        except PolicyNotFound as exc:
            raise Unprocessable(str(exc), code="policy_not_found", errors=[FieldError("region", str(exc))]) from None
        return {
            "service": store.service,
            "region": region,
            "as_of": day,
            "policy": {"id": resolved.id, "version": resolved.version},
            "parameters": {
                k: {"value": _plain(p.value), "source": p.source, "version_id": p.version_id}
                for k, p in sorted(resolved.values.items())
            },
            "versions": [version_read(v) for v in resolved.versions],
        }

    return router


async def audit_policy_version(
    session: AsyncSession, table: sa.Table, version: PolicyVersion, principal: Principal
) -> None:
    """Record an added policy version in `table` (a shared.audit chain): who, which version, for
    which region and period, and every value with its source."""
    await record_audit(
        session,
        table,
        kind="policy_version_added",
        subject_type="policy",
        subject_id=version.id,
        region_code=version.region_prefix,
        actor=principal.sub,
        role=principal.role,
        detail={
            "service": version.service,
            "version": version.version,
            "effective_from": version.effective_from,
            "effective_to": version.effective_to,
            "source": version.source,
            "parameters": {k: {"value": p.value, "source": p.source} for k, p in version.parameters.items()},
        },
    )
