"""Support for the notification tests: a real loopback HTTP receiver (aiohttp.web on a free
port) that records what it gets and can fail on purpose, and publishing events to the stream
the way a service's outbox relay does (encode_event + js.publish with Nats-Msg-Id)."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
import nats
from aiohttp import web

from shared.events import Event, encode_event
from shared.nats import free_port

COUNTY = "341221"
TOWNSHIP = "341221001"
VILLAGE = "341221001001"
OTHER_COUNTY = "341222"
OTHER_VILLAGE = "341222001001"


@dataclass
class Received:
    body: bytes
    headers: dict[str, str]
    at: float


@dataclass
class Receiver:
    """`fail_first` answers 500 to the first N requests; `down` answers 503 to everything."""

    fail_first: int = 0
    down: bool = False
    fail_ids: dict[str, int] = field(default_factory=dict)  # webhook-id → times to fail it
    status_ok: int = 204
    received: list[Received] = field(default_factory=list)
    requests: list[Received] = field(default_factory=list)
    port: int = 0
    host: str = "127.0.0.1"
    _runner: web.AppRunner | None = None
    _arrived: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/hook"

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        rec = Received(body, dict(request.headers), time.perf_counter())
        self.requests.append(rec)
        self._arrived.set()
        wid = request.headers.get("webhook-id", "")
        if self.down:
            return web.Response(status=503)
        if len(self.requests) <= self.fail_first:
            return web.Response(status=500)
        if self.fail_ids.get(wid, 0) > 0:
            self.fail_ids[wid] -= 1
            return web.Response(status=500)
        self.received.append(rec)
        return web.Response(status=self.status_ok)

    async def start(self) -> Receiver:
        app = web.Application()
        app.router.add_post("/hook", self._handle)
        app.router.add_post("/sms", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        self.port = self.port or free_port()
        await web.TCPSite(self._runner, self.host, self.port).start()
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def wait_for(self, n: int, *, timeout: float = 20.0, ok_only: bool = True) -> list[Received]:
        deadline = time.monotonic() + timeout
        while True:
            got = self.received if ok_only else self.requests
            if len(got) >= n:
                return list(got)
            if time.monotonic() > deadline:
                raise AssertionError(f"expected {n} requests, got {len(got)} ({len(self.requests)} in all)")
            self._arrived.clear()
            try:
                await asyncio.wait_for(self._arrived.wait(), 0.2)
            except TimeoutError:
                pass


async def subscribe(
    client: httpx.AsyncClient, headers: dict[str, str], url: str, event_types: list[str], region: str
) -> str:
    """`POST /api/v1/subscriptions` (201 asserted); returns the webhook secret."""
    r = await client.post(
        "/api/v1/subscriptions", json={"url": url, "event_types": event_types, "region": region}, headers=headers
    )
    assert r.status_code == 201, r.text
    return str(r.json()["secret"])


async def publish(nats_url: str, *events: Event, timeout: float = 15.0) -> None:
    """As an outbox relay: the CloudEvents body on the event's subject, Nats-Msg-Id = event id.
    Retries until the service has (re)created the stream."""
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        deadline = time.monotonic() + timeout
        for ev in events:
            subject, payload = encode_event(ev)
            while True:
                try:
                    await js.publish(subject, payload, headers={"Nats-Msg-Id": ev.id})
                    break
                except Exception:
                    if time.monotonic() > deadline:
                        raise
                    await asyncio.sleep(0.1)
    finally:
        await nc.close()


async def eventually(check: Any, *, timeout: float = 15.0, interval: float = 0.1) -> Any:
    """Poll an async `check()` until it returns something truthy."""
    deadline = time.monotonic() + timeout
    while True:
        value = await check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s (last: {value!r})")
        await asyncio.sleep(interval)


def risk_event(region: str = VILLAGE, household: str = "hh-1", **data: Any) -> Event:
    return Event("risk", "warning_raised", household, region, {"household_id": household, "warning": "red", **data})


def case_event(
    case_id: str, to: str, frm: str | None, *, region: str = VILLAGE, household: str = "hh-1", **data: Any
) -> Event:
    return Event(
        "case",
        "status_changed",
        case_id,
        region,
        {"case_id": case_id, "household_id": household, "procedure": "identification", "from": frm, "to": to, **data},
        source="identification",
    )
