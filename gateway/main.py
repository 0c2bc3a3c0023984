"""The gateway: one front door at /api/v1. Authenticates (JWT or API key), applies the permission
table and rate limits, hands the services a principal signed with the internal secret, and
forwards over pooled keep-alive connections (gateway/proxy.py); serves the merged OpenAPI."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse

from gateway import apikeys, audit
from gateway.auth import Authenticator, JwtVerifier
from gateway.config import GatewayConfig
from gateway.console import make_router as console_router
from gateway.openapi import OpenApiMerger
from gateway.proxy import GatewayState, ProxyMiddleware
from shared.app import RequestContextMiddleware, add_ops_routes, document_problems, install_error_handlers
from shared.db import make_engine
from shared.logging import setup_logging
from shared.migrations import upgrade
from shared.settings import Settings, get_settings

__all__ = ["create_app"]

log = logging.getLogger("fangfan.gateway")
SERVICE = "gateway"
VERSION = "0.1.0"


def create_app(settings: Settings | None = None, config: GatewayConfig | None = None) -> FastAPI:
    settings = settings or get_settings()
    config = config or GatewayConfig.from_env()
    verifier = JwtVerifier(settings, jwks=config.jwks)
    state = GatewayState(
        config=config,
        authenticator=Authenticator(verifier, None),
        internal_secret=settings.secret("internal_secret"),
    )

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        setup_logging(SERVICE, settings.log_level)
        engine = make_engine(settings.database_url_for(SERVICE), pool_size=5)
        if settings.migrate_on_start:
            await upgrade(engine, SERVICE, Path(__file__).parent / "migrations")
        store = apikeys.ApiKeyStore(engine, cache_s=config.api_key_cache_s)
        app.state.api_keys = store
        state.authenticator.api_keys = store
        connector = aiohttp.TCPConnector(
            limit=512, limit_per_host=256, keepalive_timeout=config.upstream_keepalive_s, ttl_dns_cache=300
        )
        http = aiohttp.ClientSession(connector=connector, auto_decompress=False, cookie_jar=aiohttp.DummyCookieJar())
        state.http = http
        await verifier.load(http)
        # Services may still be starting (fangfan up starts everything together): fetch their
        # OpenAPI documents in the background; /openapi.json fetches what is still missing.
        warmup = asyncio.create_task(merger.refresh(http))
        log.info("gateway started; upstreams %s", config.upstreams)
        try:
            yield
        finally:
            warmup.cancel()
            state.http = None
            await http.close()
            await engine.dispose()

    app = FastAPI(
        title="fangfan",
        version=VERSION,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.gateway = state
    install_error_handlers(app)
    document_problems(app)
    app.include_router(apikeys.router)
    app.include_router(audit.router)
    app.include_router(console_router(settings, verifier, state))
    merger = OpenApiMerger(config.upstreams, app.openapi, title="fangfan", version=VERSION)
    app.state.openapi = merger

    async def ready() -> dict[str, Any]:
        http = state.http
        if http is None:
            return dict.fromkeys(config.upstreams, "starting")

        async def check(name: str, url: str) -> tuple[str, str]:
            try:
                async with http.get(url + "/readyz", timeout=aiohttp.ClientTimeout(total=2)) as r:
                    return name, "ok" if r.status == 200 else f"status {r.status}"
            except Exception as exc:
                return name, f"unreachable: {type(exc).__name__}"

        checks = dict(await asyncio.gather(*(check(n, u) for n, u in config.upstreams.items())))
        # Ready means a client may rely on the merged OpenAPI too: fetch, now, the documents of the
        # services that answer but whose document the warm-up missed.
        up = {name for name, status in checks.items() if status == "ok"}
        if up - merger.docs.keys():
            await merger.refresh(http, only=up - merger.docs.keys())
        missing = sorted(up - merger.docs.keys())
        checks["openapi"] = "ok" if not missing else "missing: " + ", ".join(missing)
        return checks

    add_ops_routes(app, ready)

    @app.get("/openapi.json", include_in_schema=False)
    async def openapi(request: Request, refresh: bool = False) -> JSONResponse:
        return JSONResponse(await merger.document(state.http, refresh=refresh))

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        return get_swagger_ui_html(openapi_url="/openapi.json", title="fangfan API")

    # Order matters: the request context (request id, access log, metrics) wraps the proxy.
    app.add_middleware(ProxyMiddleware, state=state)
    app.add_middleware(RequestContextMiddleware, service=SERVICE)
    return app
