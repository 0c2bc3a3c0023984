"""One caller's failure never breaks another's requests (issues #20, #22): answers the service
breaks off, its 4xx and 500 answers, clients that hang up mid-upload or mid-download, and a
half-open probe whose request is refused — none open the circuit or spoil a pooled connection
for the next callers. Over real sockets: the real gateway in front of a real upstream."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import httpx
import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from starlette.requests import ClientDisconnect

from gateway.main import create_app
from shared.settings import SERVICES, Settings
from tests.gateway.conftest import assert_problem, config_for, serve
from tests.helpers import auth

pytestmark = pytest.mark.sqlite_only


def _upstream() -> FastAPI:
    app = FastAPI()

    @app.get("/readyz")
    async def readyz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/api/v1/plans/broken")
    async def broken() -> StreamingResponse:
        async def gen() -> AsyncIterator[bytes]:
            yield b"x" * 300_000
            raise RuntimeError("the answer breaks off (an input this service cannot handle)")

        return StreamingResponse(gen(), media_type="application/octet-stream")

    @app.get("/api/v1/plans/big")
    async def big() -> StreamingResponse:
        async def gen() -> AsyncIterator[bytes]:
            for _ in range(200):
                yield b"y" * 65536
                await asyncio.sleep(0.001)

        return StreamingResponse(gen(), media_type="application/octet-stream")

    @app.api_route("/api/v1/{path:path}", methods=["GET", "POST"])
    async def any_route(path: str, request: Request) -> Response:
        size = 0
        try:
            async for chunk in request.stream():
                size += len(chunk)
        except ClientDisconnect:
            return Response(status_code=499)
        return JSONResponse({"path": path, "size": size}, status_code=int(request.query_params.get("status", 200)))

    return app


@contextlib.asynccontextmanager
async def _system(settings: Settings, **overrides: object) -> AsyncIterator[tuple[httpx.AsyncClient, FastAPI]]:
    async with serve(_upstream()) as up:
        app = create_app(settings, config_for(up, upstreams=dict.fromkeys(SERVICES, up), **overrides))
        async with serve(app) as url, httpx.AsyncClient(base_url=url, timeout=30) as client:
            yield client, app


def _breaker(app: FastAPI, service: str = "assistance"):  # type: ignore[no-untyped-def]
    return app.state.gateway.breakers[service]


async def _others_are_served(client: httpx.AsyncClient, h: dict[str, str], n: int = 10) -> None:
    for i in range(n):
        r = await client.get(f"/api/v1/plans/p{i}", headers=h)
        assert r.status_code == 200, r.text
        r = await client.post("/api/v1/visits", json={"i": i}, headers=h)
        assert r.status_code == 200, r.text


async def test_answers_broken_off_for_one_caller_do_not_open_the_circuit(settings: Settings) -> None:
    h = auth(settings, "county", "341221")
    async with _system(settings, breaker_failures=3) as (client, app):
        for _ in range(6):
            with contextlib.suppress(httpx.HTTPError):
                async with client.stream("GET", "/api/v1/plans/broken", headers=h) as r:
                    assert r.status_code == 200
                    async for _ in r.aiter_bytes():
                        pass
        assert _breaker(app).state == "closed"
        assert _breaker(app).failures == 0
        await _others_are_served(client, h)


@pytest.mark.parametrize("status", [400, 401, 404, 409, 413, 422, 500])
async def test_a_services_4xx_and_500_never_count(settings: Settings, status: int) -> None:
    h = auth(settings, "county", "341221")
    async with _system(settings, breaker_failures=3) as (client, app):
        for _ in range(6):
            r = await client.post(f"/api/v1/visits?status={status}", json={"bad": True}, headers=h)
            assert r.status_code == status
        assert _breaker(app).failures == 0
        await _others_are_served(client, h, n=3)


async def test_a_probe_refused_for_its_body_does_not_keep_the_circuit_open(settings: Settings) -> None:
    h = auth(settings, "county", "341221")
    async with _system(settings, breaker_failures=3, breaker_cooldown_s=0.2) as (client, app):
        breaker = _breaker(app)
        breaker.failures, breaker.opened_at = 3, time.monotonic() - 1  # open, cool-down over: half-open

        async def too_big() -> AsyncIterator[bytes]:  # chunked: only counting finds it too large
            for _ in range(40):
                yield b" " * 65536

        assert_problem(await client.post("/api/v1/visits", content=too_big(), headers=h), 413, "payload_too_large")

        async def too_deep() -> AsyncIterator[bytes]:
            yield b"[" * 60
            yield b"[" * 60

        breaker.opened_at = time.monotonic() - 1
        r = await client.post("/api/v1/visits", content=too_deep(), headers=h | {"content-type": "application/json"})
        assert_problem(r, 422, "json_too_deep")
        # the next caller is the probe: it succeeds and closes the circuit
        await _others_are_served(client, h, n=2)
        assert breaker.state == "closed"


async def _hang_up_mid_upload(base: str, token: str) -> None:
    parts = urlsplit(base)
    _reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
    writer.write(
        b"POST /api/v1/plans/upload HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        + f"Authorization: {token}\r\nContent-Length: 50000000\r\n\r\n".encode()
        + b"["
        + b"1," * 200_000
    )
    await writer.drain()
    writer.close()
    with contextlib.suppress(ConnectionError):
        await writer.wait_closed()


async def _hang_up_mid_download(base: str, token: str) -> None:
    parts = urlsplit(base)
    reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
    writer.write(f"GET /api/v1/plans/big HTTP/1.1\r\nHost: x\r\nAuthorization: {token}\r\n\r\n".encode())
    await writer.drain()
    await reader.read(100_000)
    writer.close()
    with contextlib.suppress(ConnectionError):
        await writer.wait_closed()


async def test_clients_hanging_up_leave_the_others_alone(settings: Settings) -> None:
    h = auth(settings, "county", "341221")
    async with _system(settings, breaker_failures=3) as (client, app):
        base = str(client.base_url)

        async def hostile() -> None:
            for _ in range(5):
                await _hang_up_mid_upload(base, h["Authorization"])
                await _hang_up_mid_download(base, h["Authorization"])

        await asyncio.gather(hostile(), _others_are_served(client, h, n=20))
        await asyncio.sleep(0.2)
        await _others_are_served(client, h, n=5)
        assert _breaker(app).failures == 0
        assert _breaker(app).state == "closed"


async def test_a_deep_policy_body_not_declared_as_json_is_422_not_500(settings: Settings) -> None:
    h = auth(settings, "admin", "")
    async with _system(settings) as (client, _app):
        r = await client.post(
            "/api/v1/admin/policies", content=b"[" * 10_000 + b"]" * 10_000, headers=h | {"content-type": "text/plain"}
        )
        assert_problem(r, 422, "validation_failed")  # no `service`: the gateway cannot route it
