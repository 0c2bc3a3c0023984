"""The gateway: one front door at /api/v1. Verifies the caller's JWT, hands the services a
principal signed with the internal secret, and forwards over pooled keep-alive connections."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

from gateway.routes import API_PREFIX, service_for
from shared.app import RequestContextMiddleware, add_ops_routes, install_error_handlers
from shared.auth import PRINCIPAL_HEADER, PRINCIPAL_SIGNATURE_HEADER, sign_principal, verify_jwt
from shared.errors import NotFound, ServiceUnavailable, Unauthorized, Unprocessable
from shared.logging import request_id_var, setup_logging
from shared.settings import SERVICE_PORTS, SERVICES, Settings, get_settings

log = logging.getLogger("fangfan.gateway")

_HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailers",
    "transfer-encoding",
    "upgrade",
    "host",
    "content-length",
    "authorization",
    PRINCIPAL_HEADER,
    PRINCIPAL_SIGNATURE_HEADER,
}


def service_urls() -> dict[str, str]:
    return {s: os.environ.get(f"FANGFAN_{s.upper()}_URL", f"http://127.0.0.1:{SERVICE_PORTS[s]}") for s in SERVICES}


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    upstreams = service_urls()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        setup_logging("gateway", settings.log_level)
        connector = aiohttp.TCPConnector(limit=256, keepalive_timeout=30, ttl_dns_cache=300)
        app.state.http = aiohttp.ClientSession(connector=connector, auto_decompress=False)
        try:
            yield
        finally:
            await app.state.http.close()

    app = FastAPI(title="fangfan", version="0.1.0", lifespan=lifespan, docs_url="/docs", openapi_url="/openapi.json")
    install_error_handlers(app)
    app.add_middleware(RequestContextMiddleware, service="gateway")

    async def ready() -> dict[str, Any]:
        http: aiohttp.ClientSession | None = getattr(app.state, "http", None)
        if http is None:
            return dict.fromkeys(upstreams, "starting")

        async def check(name: str, url: str) -> tuple[str, str]:
            try:
                async with http.get(url + "/readyz", timeout=aiohttp.ClientTimeout(total=2)) as r:
                    return name, "ok" if r.status == 200 else f"status {r.status}"
            except Exception as exc:
                return name, f"unreachable: {type(exc).__name__}"

        return dict(await asyncio.gather(*(check(n, u) for n, u in upstreams.items())))

    add_ops_routes(app, ready)

    @app.api_route(
        API_PREFIX + "/{path:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"], include_in_schema=False
    )
    async def proxy(path: str, request: Request) -> Response:
        sub = "/" + path
        auth = request.headers.get("authorization", "")
        if not auth.lower().startswith("bearer "):
            raise Unauthorized("missing bearer token", code="missing_token")
        principal = verify_jwt(auth[7:].strip(), settings)
        body = await request.body()
        service = service_for(sub)
        if sub == "/admin/policies" or sub.startswith("/admin/policies"):
            service = _policy_service(request, body)
        if service is None:
            raise NotFound(f"no such route: {API_PREFIX}{sub}")
        raw, sig = sign_principal(principal, settings.secret("internal_secret"), request_id=request_id_var.get())
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP_BY_HOP}
        headers[PRINCIPAL_HEADER] = raw
        headers[PRINCIPAL_SIGNATURE_HEADER] = sig
        headers["x-request-id"] = request_id_var.get()
        url = upstreams[service] + API_PREFIX + sub
        http: aiohttp.ClientSession = app.state.http
        try:
            upstream = await http.request(
                request.method,
                url,
                params=list(request.query_params.multi_items()),
                data=body,
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=300, sock_connect=2),
            )
        except (aiohttp.ClientConnectionError, TimeoutError) as exc:
            raise ServiceUnavailable(f"{service} is unavailable ({type(exc).__name__})") from None
        out_headers = {k: v for k, v in upstream.headers.items() if k.lower() not in _HOP_BY_HOP}

        async def stream() -> AsyncIterator[bytes]:
            try:
                async for chunk in upstream.content.iter_chunked(65536):
                    yield chunk
            finally:
                upstream.release()

        return StreamingResponse(stream(), status_code=upstream.status, headers=out_headers)

    return app


def _policy_service(request: Request, body: bytes) -> str:
    if request.method == "GET":
        svc = request.query_params.get("service", "identification")
    else:
        try:
            svc = json.loads(body or b"{}").get("service", "")
        except (ValueError, AttributeError):
            svc = ""
    if svc not in ("identification", "subsidy"):
        raise Unprocessable(
            "service must be identification or subsidy",
            errors=[{"path": "service", "message": "must be identification or subsidy", "type": "enum"}],
        )
    return svc


__all__ = ["JSONResponse", "create_app"]
