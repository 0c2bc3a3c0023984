"""Gateway tests run the real gateway under uvicorn on a loopback port, in front of a real
upstream FastAPI app under uvicorn (an echo service that checks the signed principal the way the
services do), so streaming, pooling, timeouts and the breaker are exercised over real sockets."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import BaseModel
from starlette.requests import ClientDisconnect

from gateway.config import GatewayConfig
from gateway.main import create_app
from shared.auth import PRINCIPAL_HEADER, PRINCIPAL_SIGNATURE_HEADER, verify_principal
from shared.errors import DomainError
from shared.nats import free_port
from shared.settings import SERVICES, Settings
from tests.helpers import make_settings


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:  # the test runner owns the signals
        yield


@contextlib.asynccontextmanager
async def serve(app: Any, port: int | None = None, **kw: Any) -> AsyncIterator[str]:
    """Serve an ASGI app with uvicorn on a loopback port in this event loop; yields its base URL."""
    port = port or free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False, **kw)
    server = _Server(config)
    task = asyncio.create_task(server.serve())
    for _ in range(500):
        if server.started or task.done():
            break
        await asyncio.sleep(0.01)
    if task.done():
        task.result()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 10)


class Summary(BaseModel):
    households: int


class EchoUpstream:
    """What the upstream saw, and hooks the tests use to hold a request in flight."""

    def __init__(self, internal_secret: str) -> None:
        self.secret = internal_secret
        self.seen: list[dict[str, Any]] = []
        self.first_chunk = asyncio.Event()
        self.jwks: dict[str, Any] | None = None
        self.app = self._build()

    def _build(self) -> FastAPI:
        app = FastAPI(title="echo")

        @app.get("/jwks.json", include_in_schema=False)
        async def jwks() -> JSONResponse:
            return JSONResponse(self.jwks or {"keys": []})

        @app.get("/readyz", include_in_schema=False)
        async def readyz() -> dict[str, str]:
            return {"status": "ok"}

        @app.get("/api/v1/statistics/summary", response_model=Summary, tags=["statistics"])
        async def summary() -> Summary:
            return Summary(households=1)

        @app.get("/internal/metrics-raw")
        async def internal() -> dict[str, str]:
            return {"secret": "internal"}

        @app.get("/api/v1/plans/big", include_in_schema=False)
        async def big(mib: int = 3) -> StreamingResponse:
            async def gen() -> AsyncIterator[bytes]:
                for _ in range(mib * 16):
                    yield b"x" * 65536

            return StreamingResponse(gen(), media_type="application/octet-stream")

        methods = ["GET", "POST", "PUT", "PATCH", "DELETE"]

        @app.api_route("/api/v1/{path:path}", methods=methods, include_in_schema=False)
        async def echo(path: str, request: Request) -> Response:
            raw = request.headers.get(PRINCIPAL_HEADER)
            try:
                sig = request.headers.get(PRINCIPAL_SIGNATURE_HEADER, "")
                principal = verify_principal(raw or "", sig, self.secret)
            except DomainError as exc:
                return JSONResponse({"upstream_refused": exc.code}, status_code=401)
            digest, size, chunks = hashlib.sha256(), 0, 0
            try:
                async for chunk in request.stream():
                    if chunk:
                        chunks += 1
                        size += len(chunk)
                        digest.update(chunk)
                        self.first_chunk.set()
            except ClientDisconnect:  # the gateway cut an oversized upload short
                return Response(status_code=499)
            sleep = float(request.query_params.get("sleep", 0))
            if sleep:
                await asyncio.sleep(sleep)
            record = {
                "method": request.method,
                "path": "/api/v1/" + path,
                "query": str(request.query_params),
                "principal": {"sub": principal.sub, "role": principal.role, "region": principal.region},
                "headers": dict(request.headers.items()),
                "size": size,
                "chunks": chunks,
                "sha256": digest.hexdigest(),
            }
            self.seen.append(record)
            status = int(request.query_params.get("status", 200))
            return JSONResponse(record, status_code=status)

        return app


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(
        tmp_path, nats_url="nats://127.0.0.1:1", database_url=f"sqlite+aiosqlite:///{tmp_path / 'gateway.db'}"
    )


@pytest.fixture
async def upstream(settings: Settings) -> AsyncIterator[tuple[EchoUpstream, str]]:
    echo = EchoUpstream(settings.secret("internal_secret"))
    async with serve(echo.app) as url:
        yield echo, url


def config_for(url: str, **overrides: Any) -> GatewayConfig:
    base = GatewayConfig(upstreams=dict.fromkeys(SERVICES, url))
    return replace(base, **overrides)


GatewayFactory = Callable[..., contextlib.AbstractAsyncContextManager[httpx.AsyncClient]]


@pytest.fixture
def gateway(settings: Settings, upstream: tuple[EchoUpstream, str]) -> GatewayFactory:
    """`async with gateway(**config_overrides) as client:` — the real gateway under uvicorn."""

    @contextlib.asynccontextmanager
    async def run(settings_: Settings | None = None, **overrides: Any) -> AsyncIterator[httpx.AsyncClient]:
        overrides.setdefault("upstreams", dict.fromkeys(SERVICES, upstream[1]))
        app = create_app(settings_ or settings, config_for(upstream[1], **overrides))
        async with serve(app) as url, httpx.AsyncClient(base_url=url, timeout=30) as client:
            client.app = app  # type: ignore[attr-defined]
            yield client

    return run


def assert_problem(r: httpx.Response, status: int, code: str | None = None) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json"), r.headers
    body = r.json()
    assert body["status"] == status
    if code:
        assert body["code"] == code, body
    return body
