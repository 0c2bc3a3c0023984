"""The frame every service runs in: `create_service_app(spec)` builds a FastAPI app whose
lifespan opens the database, applies the service's migrations, links to NATS in the
background, starts the outbox relay and the consumers, and stops them cleanly. Adds
/healthz, /readyz, /metrics, request ids, JSON access logs and problem+json errors."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar

import sqlalchemy as sa
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from starlette.exceptions import HTTPException as StarletteHTTPException

from shared import metrics
from shared.auth import (
    PRINCIPAL_HEADER,
    PRINCIPAL_SIGNATURE_HEADER,
    Principal,
    verify_jwt,
    verify_principal,
)
from shared.consumer import EventHandler, InboxConsumer
from shared.db import UnitOfWork, infra_tables, make_engine
from shared.errors import DomainError, Unauthorized, problem
from shared.logging import request_id_var, setup_logging
from shared.migrations import upgrade
from shared.nats import NatsLink
from shared.outbox import OutboxRelay
from shared.pii import FieldCipher
from shared.process import limit_malloc_arenas
from shared.settings import Settings, get_settings

__all__ = [
    "CST",
    "ConsumerSpec",
    "ServiceContext",
    "ServiceSpec",
    "create_service_app",
    "document_problems",
    "get_ctx",
    "get_principal",
    "get_session",
    "get_uow",
    "problem_response",
    "request_body",
]

log = logging.getLogger("fangfan.app")
#: how long background tasks get to finish the work in hand at shutdown before they are cancelled
_GRACEFUL_STOP_S = 10.0
#: China Standard Time, the zone of every deadline and date the rules speak of.
CST = dt.timezone(dt.timedelta(hours=8))
PROBLEM_JSON = "application/problem+json"


@dataclass(frozen=True)
class ConsumerSpec:
    name: str
    filter_subjects: Sequence[str]
    #: Builds the handler once the context exists (handlers may need settings, cipher, …).
    handler: Callable[[ServiceContext], EventHandler]
    max_deliver: int = 5
    retry_delays: Sequence[float] = (1.0, 5.0, 30.0, 120.0)


@dataclass
class ServiceSpec:
    """What a service is made of. `extras` builds the service's own typed state (its policy
    store, its test hooks, …) reached as `ctx.extras`; a service without any leaves it out."""

    name: str
    metadata: sa.MetaData
    migrations: Path
    routers: Sequence[APIRouter] = ()
    consumers: Sequence[ConsumerSpec] = ()
    on_startup: Callable[[ServiceContext], Awaitable[None]] | None = None
    on_shutdown: Callable[[ServiceContext], Awaitable[None]] | None = None
    background: Sequence[Callable[[ServiceContext], Coroutine[Any, Any, None]]] = ()
    version: str = "0.1.0"
    description: str = ""
    extras: Callable[[], Any] = lambda: None
    #: The service's unit of work: a subclass of `shared.db.UnitOfWork` (same constructor) whose
    #: properties are the service's repositories and queries over the one session, so that use
    #: cases reach the database only through the Protocols of their `application/ports.py`.
    unit_of_work: type[UnitOfWork] = UnitOfWork


ExtrasT = TypeVar("ExtrasT")


@dataclass
class ServiceContext(Generic[ExtrasT]):
    """What a running service holds; reached from routers with `Depends(get_ctx)`. What is
    common to every service is a typed field here; what one service holds of its own is its
    `extras` (a dataclass the service defines, built by `ServiceSpec.extras`)."""

    name: str
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    tables: dict[str, sa.Table]
    link: NatsLink
    relay: OutboxRelay
    consumers: list[InboxConsumer] = field(default_factory=list)
    tasks: list[asyncio.Task[Any]] = field(default_factory=list)
    extras: ExtrasT = None  # type: ignore[assignment]
    #: The service clock's source (a callable returning an aware datetime); tests and the demo
    #: set it to run a 7-day public notice in a second. None: the wall clock.
    clock: Callable[[], dt.datetime] | None = None
    #: Set when the service shuts down; background loops return when they see it.
    stopping: bool = False
    #: Called at shutdown before tasks are cancelled (a loop registers its wake-up here).
    stop_hooks: list[Callable[[], None]] = field(default_factory=list)
    #: How long background tasks get to finish the work in hand at shutdown.
    stop_grace_s: float = _GRACEFUL_STOP_S
    #: Named wake-ups of background loops (`shared.periodic.every(wake_key=...)`): set one to
    #: run a cycle at once.
    wakes: dict[str, asyncio.Event] = field(default_factory=dict)
    #: See `ServiceSpec.unit_of_work`.
    unit_of_work: type[UnitOfWork] = UnitOfWork
    _cipher: FieldCipher | None = None

    def wake(self, key: str) -> asyncio.Event:
        """The named wake-up event (created on first use)."""
        return self.wakes.setdefault(key, asyncio.Event())

    def uow(self) -> UnitOfWork:
        return self.unit_of_work(self.sessions, self.tables["outbox"], on_commit=self.relay.wake)

    def now(self) -> dt.datetime:
        """The service clock in China Standard Time (deadlines and notice periods are local
        dates); `clock` replaces the wall clock in tests and the demo."""
        clock = self.clock
        return (clock() if clock is not None else dt.datetime.now(CST)).astimezone(CST)

    def today(self) -> dt.date:
        return self.now().date()

    @property
    def cipher(self) -> FieldCipher:
        if self._cipher is None:
            self._cipher = FieldCipher(
                self.settings.pii_key_bytes(),
                self.settings.pii_index_key_bytes(),
                previous_keys=self.settings.pii_previous_key_bytes(),
            )
        return self._cipher


def problem_response(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


_VALIDATION_PROBLEM = {
    "type": "object",
    "title": "ValidationProblem",
    "description": "RFC 9457 problem; for payload validation `errors` lists every field path",
    "required": ["type", "title", "status", "code", "detail"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "code": {"type": "string"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"path": {"type": "string"}, "message": {"type": "string"}, "type": {"type": "string"}},
            },
        },
    },
}


def request_body(schema: dict[str, Any]) -> dict[str, Any]:
    """`openapi_extra` documenting a JSON request body that a route reads itself (several shapes,
    or decoded with its own options), from a pydantic JSON schema. Its `$defs` are written in
    place: a `#/$defs/…` reference inside an OpenAPI document would point at the document's root,
    where there are none."""
    defs = schema.get("$defs", {})

    def inline(node: Any, seen: tuple[str, ...] = ()) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                name = ref.removeprefix("#/$defs/")
                if name in seen:  # recursive models keep one level
                    return {"type": "object", "title": name}
                rest = {k: inline(v, seen) for k, v in node.items() if k not in ("$ref", "$defs")}
                return {**inline(defs[name], (*seen, name)), **rest}
            return {k: inline(v, seen) for k, v in node.items() if k != "$defs"}
        if isinstance(node, list):
            return [inline(v, seen) for v in node]
        return node

    return {"requestBody": {"required": True, "content": {"application/json": {"schema": inline(schema)}}}}


def document_problems(app: FastAPI) -> None:
    """FastAPI documents its 422 as `application/json` `HTTPValidationError`, but
    `install_error_handlers` answers every error as `application/problem+json`: say so in the
    OpenAPI document, so that clients (and schema fuzzers) see what the service sends."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = build()
        ref = {"$ref": "#/components/schemas/ValidationProblem"}
        for ops in schema.get("paths", {}).values():
            for op in ops.values():
                resp = op.get("responses", {}).get("422") if isinstance(op, dict) else None
                if resp is not None:
                    resp["content"] = {PROBLEM_JSON: {"schema": ref}}
        comps = schema.setdefault("components", {}).setdefault("schemas", {})
        comps["ValidationProblem"] = _VALIDATION_PROBLEM
        if "schemas/HTTPValidationError" not in json.dumps(schema["paths"]):
            comps.pop("HTTPValidationError", None)
            if "schemas/ValidationError" not in json.dumps(comps):
                comps.pop("ValidationError", None)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def get_ctx(request: Request) -> ServiceContext:
    ctx: ServiceContext = request.app.state.ctx
    return ctx


async def get_uow(ctx: ServiceContext = Depends(get_ctx)) -> AsyncIterator[UnitOfWork]:
    """A unit of work for one request; the handler calls `await uow.commit()` (nothing else
    commits), otherwise everything is rolled back."""
    async with ctx.uow() as uow:
        yield uow


async def get_session(ctx: ServiceContext = Depends(get_ctx)) -> AsyncIterator[AsyncSession]:
    """A read-only session (rolled back at the end)."""
    async with ctx.sessions() as session:
        try:
            yield session
        finally:
            await session.rollback()


def get_principal(request: Request, ctx: ServiceContext = Depends(get_ctx)) -> Principal:
    """The caller: a principal signed by the gateway, or a bearer JWT presented directly. An
    unsigned or forged principal header is refused, never trusted."""
    raw = request.headers.get(PRINCIPAL_HEADER)
    if raw is not None:
        sig = request.headers.get(PRINCIPAL_SIGNATURE_HEADER, "")
        return verify_principal(raw, sig, ctx.settings.secret("internal_secret"))
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return verify_jwt(auth[7:].strip(), ctx.settings)
    raise Unauthorized("missing bearer token", code="missing_token")


def _validation_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    out = []
    for e in exc.errors():
        loc = [str(p) for p in e.get("loc", ())]
        if loc and loc[0] in ("body", "query", "path", "header"):
            where, loc = loc[0], loc[1:]
        else:
            where = "body"
        out.append(
            {
                "path": ".".join(loc) or where,
                "in": where,
                "message": e.get("msg", ""),
                "type": e.get("type", ""),
            }
        )
    return out


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def _domain(request: Request, exc: DomainError) -> JSONResponse:
        headers = {"Retry-After": str(exc.extra["retry_after"])} if "retry_after" in exc.extra else None
        return problem_response(exc.status, exc.to_problem(instance=request.url.path), headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = _validation_errors(exc)
        detail = "; ".join(f"{e['path']}: {e['message']}" for e in errors[:5])
        return problem_response(
            422,
            problem(
                422,
                "validation_failed",
                detail or "invalid request",
                title="Validation failed",
                errors=errors,
            ),
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {
            404: "not_found",
            405: "method_not_allowed",
            401: "unauthorized",
            403: "forbidden",
        }.get(exc.status_code, "http_error")
        return problem_response(exc.status_code, problem(exc.status_code, code, str(exc.detail)))

    @app.exception_handler(RecursionError)
    async def _too_deep(request: Request, exc: RecursionError) -> JSONResponse:
        # A body nested thousands deep (the gateway bounds depth; this is the service's own guard).
        log.warning("recursion limit on %s %s: refused as too deeply nested", request.method, request.url.path)
        return problem_response(
            422,
            problem(
                422,
                "json_too_deep",
                "the request nests too deeply",
                title="Validation failed",
                errors=[{"path": "body", "in": "body", "message": "nested too deeply", "type": "json_depth"}],
            ),
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return problem_response(
            500,
            problem(
                500,
                "internal_error",
                "internal error; quote the request id",
                request_id=request_id_var.get(),
            ),
        )


class RequestContextMiddleware:
    """Request id (X-Request-ID in, generated otherwise, echoed out), access log, metrics."""

    def __init__(self, app: Any, service: str) -> None:
        self.app = app
        self.service = service
        self.log = logging.getLogger("fangfan.access")

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = ""
        for k, v in scope.get("headers", []):
            if k == b"x-request-id":
                rid = v.decode("latin-1")[:100]
                break
        rid = rid or uuid.uuid4().hex
        token = request_id_var.set(rid)
        start = time.perf_counter()
        status_holder = [500]

        async def _send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                status_holder[0] = message["status"]
                message.setdefault("headers", []).append((b"x-request-id", rid.encode()))
            await send(message)

        try:
            await self.app(scope, receive, _send)
        finally:
            dur = time.perf_counter() - start
            route = scope.get("route")
            route_path = getattr(route, "path", "unmatched")
            metrics.HTTP_REQUESTS.labels(self.service, scope["method"], route_path, str(status_holder[0])).inc()
            metrics.HTTP_LATENCY.labels(self.service, route_path).observe(dur)
            if scope["path"] not in ("/healthz", "/readyz", "/metrics"):
                self.log.info(
                    "%s %s %s",
                    scope["method"],
                    scope["path"],
                    status_holder[0],
                    extra={
                        "method": scope["method"],
                        "path": scope["path"],
                        "status": status_holder[0],
                        "duration_ms": round(dur * 1000, 2),
                    },
                )
            request_id_var.reset(token)


def add_ops_routes(app: FastAPI, ready: Callable[[], Awaitable[dict[str, Any]]]) -> None:
    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", include_in_schema=False)
    async def readyz() -> Response:
        checks = await ready()
        ok = all(v == "ok" for v in checks.values())
        return JSONResponse(
            {"status": "ok" if ok else "unavailable", "checks": checks},
            status_code=200 if ok else 503,
        )

    @app.get("/metrics", include_in_schema=False)
    async def prom() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


def create_service_app(spec: ServiceSpec, settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    tables = (
        infra_tables(spec.metadata)
        if "outbox" not in spec.metadata.tables
        else {n: spec.metadata.tables[n] for n in ("outbox", "inbox", "dead_letters", "idempotency_keys")}
    )
    tables.update(spec.metadata.tables)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        setup_logging(spec.name, settings.log_level)
        limit_malloc_arenas()
        engine = make_engine(settings.database_url_for(spec.name))
        if settings.migrate_on_start:
            await upgrade(engine, spec.name, spec.migrations)
        link = NatsLink(
            settings.resolved_nats_url(), name=f"fangfan-{spec.name}", stream_replicas=settings.stream_replicas
        )
        relay = OutboxRelay(engine, tables["outbox"], link, service=spec.name)
        ctx = ServiceContext(
            name=spec.name,
            settings=settings,
            engine=engine,
            sessions=async_sessionmaker(engine, expire_on_commit=False),
            tables=tables,
            link=link,
            relay=relay,
            extras=spec.extras(),
            unit_of_work=spec.unit_of_work,
        )
        app.state.ctx = ctx
        for c in spec.consumers:
            ctx.consumers.append(
                InboxConsumer(
                    name=f"{spec.name}-{c.name}",
                    filter_subjects=c.filter_subjects,
                    handler=c.handler(ctx),
                    uow_factory=ctx.uow,
                    inbox=tables["inbox"],
                    dead_letters=tables["dead_letters"],
                    link=link,
                    max_deliver=c.max_deliver,
                    retry_delays=c.retry_delays,
                    ack_wait=settings.consumer_ack_wait_s,
                )
            )
        if spec.on_startup:
            await spec.on_startup(ctx)
        link.start()
        relay.start()
        for consumer in ctx.consumers:
            consumer.start()
        for bg in spec.background:
            ctx.tasks.append(asyncio.create_task(bg(ctx)))
        log.info("%s started", spec.name)
        try:
            yield
        finally:
            # Background tasks that registered a stop hook (`ctx.stop_hooks`) are asked
            # to stop first (the flag, and their wake-ups) and given time to finish what they
            # hold: a task cancelled inside a database call has its connection terminated, and
            # with aiosqlite a terminated connection can leave a close waiting for a worker
            # thread that has already ended — the event loop then never closes (the intermittent
            # hang at shutdown after screenings).
            ctx.stopping = True
            hooks = ctx.stop_hooks
            for hook in hooks:
                hook()
            pending = set(ctx.tasks)
            if pending and hooks:  # tasks that registered a stop hook return once woken
                grace = ctx.stop_grace_s
                _, pending = await asyncio.wait(pending, timeout=grace)
            for t in pending:
                t.cancel()
            # Then wait for the rest to unwind (roll back, return their connections) before the
            # engine is disposed, cancelling again what is still running: Python 3.11's
            # asyncio.wait_for can swallow a cancellation that arrives as its wait ends.
            for _ in range(20):
                if not pending:
                    break
                _, pending = await asyncio.wait(pending, timeout=0.5)
                for t in pending:
                    t.cancel()
            for consumer in ctx.consumers:
                await consumer.stop()
            await relay.stop()
            if spec.on_shutdown:
                await spec.on_shutdown(ctx)
            await link.close()
            await engine.dispose()
            log.info("%s stopped", spec.name)

    app = FastAPI(
        title=f"fangfan {spec.name}",
        version=spec.version,
        description=spec.description,
        lifespan=lifespan,
        openapi_url="/openapi.json",
    )
    install_error_handlers(app)
    document_problems(app)
    app.add_middleware(RequestContextMiddleware, service=spec.name)

    async def ready() -> dict[str, Any]:
        ctx: ServiceContext | None = getattr(app.state, "ctx", None)
        if ctx is None:
            return {"database": "starting", "nats": "starting"}
        checks: dict[str, Any] = {}
        try:
            async with ctx.engine.connect() as conn:
                await conn.execute(sa.text("SELECT 1"))
                await conn.rollback()
            checks["database"] = "ok"
        except Exception as exc:
            checks["database"] = f"error: {type(exc).__name__}"
        checks["nats"] = "ok" if ctx.link.connected else "disconnected"
        return checks

    add_ops_routes(app, ready)
    for r in spec.routers:
        app.include_router(r)
    return app
