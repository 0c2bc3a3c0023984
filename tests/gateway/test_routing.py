"""Routing: request bodies streamed to the service (and counted: 413), answers streamed back,
request ids and trace context, per-route timeouts, retries of idempotent requests only, and the
per-service circuit breaker — over real sockets, with a TCP relay to inject network faults."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import pytest

from gateway import routes as gw_routes
from shared.nats import free_port
from shared.settings import SERVICES
from tests.gateway.conftest import assert_problem
from tests.helpers import auth

pytestmark = pytest.mark.sqlite_only

MiB = 1024 * 1024


class FaultyLink:
    """A TCP relay between the gateway and the service: forwards bytes both ways, or — while
    `down`, or for the next `drop` connections — accepts and hangs up at once."""

    def __init__(self, target: str) -> None:
        parts = urlsplit(target)
        self.target = (parts.hostname, parts.port)
        self.down = False
        self.drop = 0
        self.connections = 0
        self.port = free_port()
        self.server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def _pipe(self, r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        try:
            while data := await r.read(65536):
                w.write(data)
                await w.drain()
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            w.close()

    async def _on_connect(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        if self.down or self.drop > 0:
            self.drop = max(0, self.drop - 1)
            writer.close()
            return
        ur, uw = await asyncio.open_connection(*self.target)
        await asyncio.gather(self._pipe(reader, uw), self._pipe(ur, writer))

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[FaultyLink]:
        self.server = await asyncio.start_server(self._on_connect, "127.0.0.1", self.port)
        try:
            yield self
        finally:
            self.server.close()


async def test_request_id_and_traceparent(gateway, upstream, settings) -> None:
    _echo, _ = upstream
    h = auth(settings, "county", "341221")
    tp = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    async with gateway() as client:
        r1 = await client.get("/api/v1/cases/1", headers={**h, "x-request-id": "req-123", "traceparent": tp})
        r2 = await client.get("/api/v1/cases/1", headers={**h, "traceparent": "garbage"})
    assert r1.headers["x-request-id"] == "req-123"
    assert r1.json()["headers"]["x-request-id"] == "req-123"
    assert r1.json()["headers"]["traceparent"] == tp
    rid = r2.headers["x-request-id"]
    assert len(rid) == 32
    assert r2.json()["headers"]["x-request-id"] == rid
    generated = r2.json()["headers"]["traceparent"]
    assert generated != "garbage"
    assert len(generated.split("-")[1]) == 32
    assert r1.headers.get("x-request-id")
    assert "," not in r1.headers["x-request-id"]


async def test_a_large_upload_is_streamed_not_buffered(gateway, upstream, settings) -> None:
    """The service sees the first chunk while the client still holds the rest back: a gateway
    that buffered the body would never forward anything and this would time out."""
    echo, _ = upstream
    h = auth(settings, "county", "341221")
    digest = hashlib.sha256()

    async def body() -> AsyncIterator[bytes]:
        first = b"{" + b" " * (MiB - 1)
        digest.update(first)
        yield first
        await asyncio.wait_for(echo.first_chunk.wait(), 10)
        for _ in range(4):
            part = b"x" * MiB
            digest.update(part)
            yield part

    async with gateway() as client:
        r = await client.post("/api/v1/households/import", content=body(), headers=h)
    assert r.status_code == 200, r.text
    assert r.json()["size"] == 5 * MiB
    assert r.json()["sha256"] == digest.hexdigest()


async def test_body_limits_are_413_with_or_without_content_length(gateway, upstream, settings) -> None:
    _echo, _ = upstream
    h = auth(settings, "county", "341221")

    async def chunked(n: int) -> AsyncIterator[bytes]:
        for _ in range(n):
            yield b"x" * (256 * 1024)

    async with gateway() as client:
        assert_problem(await client.post("/api/v1/assessments", content=b"x" * (MiB + 1), headers=h), 413)
        r = await client.post("/api/v1/assessments", content=chunked(8), headers=h)
        assert_problem(r, 413, "payload_too_large")
        ok = await client.post("/api/v1/assessments", content=b"x" * MiB, headers=h)
        assert ok.status_code == 200
        assert ok.json()["size"] == MiB
        # the gateway stays healthy after cutting uploads short
        again = await client.post("/api/v1/assessments", json={"a": 1}, headers=h)
        assert again.status_code == 200, again.text
    assert gw_routes.limits_for("POST", "/households/import")[0] == 2 * 1024**3
    assert gw_routes.limits_for("POST", "/subsidies/calculate:batch")[0] == 2 * 1024**3
    assert gw_routes.limits_for("POST", "/assessments")[0] == MiB


async def test_large_answers_stream_back(gateway, settings) -> None:
    async with gateway() as client:
        h = auth(settings, "county", "341221")
        async with client.stream("GET", "/api/v1/plans/big?mib=3", headers=h) as r:
            assert r.status_code == 200
            size = 0
            async for part in r.aiter_bytes():
                size += len(part)
    assert size == 3 * MiB


async def test_admin_policies_are_routed_by_their_service_field(gateway, settings) -> None:
    h = auth(settings, "admin", "")
    async with gateway() as client:
        r = await client.post("/api/v1/admin/policies", json={"service": "subsidy", "parameters": {}}, headers=h)
        assert r.status_code == 200
        assert r.json()["size"] > 0
        assert_problem(await client.post("/api/v1/admin/policies", json={"service": "x"}, headers=h), 422)
        r = await client.get("/api/v1/admin/policies?service=subsidy&region=34", headers=h)
        assert r.status_code == 200
        assert "service=subsidy" in r.json()["query"]


async def test_per_route_timeout_is_504(gateway, settings, monkeypatch) -> None:
    monkeypatch.setattr(gw_routes, "DEFAULT_TIMEOUT_S", 0.3)
    h = auth(settings, "county", "341221")
    async with gateway() as client:
        assert_problem(await client.get("/api/v1/cases/1?sleep=1", headers=h), 504, "upstream_timeout")
        r = await client.get("/api/v1/cases/1?sleep=0.01", headers=h)
        assert r.status_code == 200


async def test_idempotent_requests_are_retried_on_connection_errors_and_others_are_not(
    gateway, upstream, settings
) -> None:
    echo, url = upstream
    h = auth(settings, "county", "341221")
    # Idle pooled connections are dropped almost at once, so every request opens a new one.
    async with (
        FaultyLink(url).running() as link,
        gateway(upstreams=dict.fromkeys(SERVICES, link.url), upstream_keepalive_s=0.01) as client,
    ):
        await asyncio.sleep(0.3)  # the OpenAPI warm-up has been and gone
        before_connections = link.connections
        link.drop = 1
        r = await client.get("/api/v1/cases/1", headers=h)
        assert r.status_code == 200, r.text
        assert link.connections == before_connections + 2
        await asyncio.sleep(0.1)
        link.drop = 1
        before = len(echo.seen)
        r = await client.post("/api/v1/applications", json={}, headers=h)
        assert_problem(r, 503, "upstream_unavailable")
        assert len(echo.seen) == before  # a POST is never sent twice


async def test_circuit_breaker_opens_fails_fast_and_half_opens(gateway, upstream, settings) -> None:
    _echo, url = upstream
    h = auth(settings, "county", "341221")
    async with (
        FaultyLink(url).running() as link,
        gateway(
            upstreams=dict.fromkeys(SERVICES, link.url),
            breaker_failures=3,
            breaker_cooldown_s=0.5,
            upstream_keepalive_s=0.01,
        ) as client,
    ):
        await asyncio.sleep(0.3)  # no pooled connection from the OpenAPI warm-up is left
        link.down = True
        for _ in range(3):
            assert_problem(await client.post("/api/v1/assessments", json={}, headers=h), 503, "upstream_unavailable")
        tried = link.connections
        r = await client.post("/api/v1/assessments", json={}, headers=h)
        assert_problem(r, 503, "circuit_open")
        assert int(r.headers["retry-after"]) >= 1
        assert link.connections == tried  # failed fast, without touching the service
        # other services have their own breaker… (all point at the same link here, so: subsidy)
        r = await client.post("/api/v1/subsidies/calculate", json={}, headers=h)
        assert_problem(r, 503, "upstream_unavailable")
        # half-open after the cool-down: one probe; failing, it opens again at once
        await asyncio.sleep(0.6)
        assert_problem(await client.post("/api/v1/assessments", json={}, headers=h), 503, "upstream_unavailable")
        assert_problem(await client.post("/api/v1/assessments", json={}, headers=h), 503, "circuit_open")
        # the service recovers: the next probe closes the circuit
        link.down = False
        await asyncio.sleep(0.6)
        for _ in range(3):
            r = await client.post("/api/v1/assessments", json={}, headers=h)
            assert r.status_code == 200, r.text
        breakers = client.app.state.gateway.breakers
        assert breakers["identification"].state == "closed"


async def test_replicas_share_requests_and_a_dead_one_is_skipped(gateway, upstream, settings) -> None:
    """FANGFAN_<SERVICE>_URL may list several replicas: requests go round-robin; a replica that
    refuses connections (killed) is skipped even for a POST, because nothing was sent to it."""
    from tests.gateway.conftest import EchoUpstream, serve

    echo_a, url_a = upstream
    echo_b = EchoUpstream(settings.secret("internal_secret"))
    dead = f"http://127.0.0.1:{free_port()}"  # nothing listens here
    h = auth(settings, "county", "341221")
    async with serve(echo_b.app) as url_b:
        replicas = dict.fromkeys(SERVICES, (url_a, url_b))
        async with gateway(replicas=replicas) as client:
            for i in range(10):
                r = await client.get(f"/api/v1/cases/{i}", headers=h)
                assert r.status_code == 200
        assert len(echo_a.seen) == 5
        assert len(echo_b.seen) == 5
        with_dead = dict.fromkeys(SERVICES, (dead, url_b))
        async with gateway(replicas=with_dead) as client:
            for _ in range(4):
                r = await client.post("/api/v1/cases/1/transitions", json={"action": "advance"}, headers=h)
                assert r.status_code == 200, r.text
        posts = [s for s in echo_b.seen if s["method"] == "POST"]
        assert len(posts) == 4  # each POST delivered once, none lost to the dead replica
