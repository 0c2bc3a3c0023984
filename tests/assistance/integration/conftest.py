"""The assistance service running in-process (real lifespan: migrations, NATS link, outbox relay,
consumers) against a real database and a real NATS server; identification's events published to
JetStream exactly as its relay does (encode_event + Nats-Msg-Id), a controllable clock."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import nats
import pytest

from services.assistance.main import create_app
from shared.events import Event, encode_event
from shared.nats import NatsServer
from shared.settings import Settings
from tests.helpers import auth, make_settings, running_app

CST = dt.timezone(dt.timedelta(hours=8))
VILLAGE = "341221001201"
OTHER_VILLAGE = "341221001202"
TOWNSHIP = "341221001"
COUNTY = "341221"
OTHER_COUNTY = "341222"
START = dt.datetime(2024, 3, 4, 10, 0, tzinfo=CST)


def identified(household_id: str | None = None, region: str = VILLAGE, **data: Any) -> Event:
    hid = household_id or f"hh-{uuid.uuid4().hex[:10]}"
    body: dict[str, Any] = {
        "household_id": hid,
        "case_id": f"case-{hid}",
        "category": "marginal",
        "risk_types": ["illness"],
        "has_labor_capacity": True,
        "identified_on": "2024-03-04",
    }
    body.update(data)
    return Event("household", "identified", hid, region, body, source="identification")


@dataclass
class Service:
    client: httpx.AsyncClient
    settings: Settings
    nats_url: str
    now: list[dt.datetime]
    nc: Any = None
    sent: list[str] = field(default_factory=list)

    @property
    def ctx(self) -> Any:
        return self.client.app.state.ctx  # type: ignore[attr-defined]

    def headers(self, role: str = "village", region: str = VILLAGE, **kw: Any) -> dict[str, str]:
        return auth(self.settings, role, region, **kw)

    def advance_days(self, days: int) -> None:
        self.now[0] = self.now[0] + dt.timedelta(days=days)

    async def publish(self, ev: Event) -> None:
        """As identification's relay: the CloudEvent on its subject, Nats-Msg-Id = a message id."""
        subject, payload = encode_event(ev)
        await self.nc.jetstream().publish(subject, payload, headers={"Nats-Msg-Id": uuid.uuid4().hex})

    async def plans_of(self, household_id: str, headers: dict[str, str] | None = None) -> list[dict[str, Any]]:
        r = await self.client.get(
            "/api/v1/plans", params={"household_id": household_id}, headers=headers or self.headers("county", COUNTY)
        )
        assert r.status_code == 200, r.text
        return list(r.json()["items"])

    async def wait_plan(self, household_id: str, *, timeout: float = 10.0, **expect: Any) -> dict[str, Any]:
        """The household's plan once it exists (and matches `expect`)."""
        deadline = time.monotonic() + timeout
        while True:
            items = await self.plans_of(household_id)
            if items and all(items[0].get(k) == v for k, v in expect.items()):
                return items[0]
            if time.monotonic() > deadline:
                raise AssertionError(f"no plan for {household_id} matching {expect}: {items}")
            await asyncio.sleep(0.1)

    async def identified_plan(self, **data: Any) -> dict[str, Any]:
        ev = identified(**data)
        await self.publish(ev)
        return await self.wait_plan(ev.subject)

    async def act(self, measure_id: str, headers: dict[str, str] | None = None, **body: Any) -> httpx.Response:
        return await self.client.post(
            f"/api/v1/measures/{measure_id}/transitions", json=body, headers=headers or self.headers()
        )

    async def add_contact(self, region: str = VILLAGE, name: str = "王小明", phone: str = "13812345678") -> str:
        r = await self.client.post(
            "/api/v1/contacts",
            json={"region_code": region, "name": name, "phone": phone, "unit": "驻村工作队"},
            headers=self.headers("township", region[:9]),
        )
        assert r.status_code == 201, r.text
        return str(r.json()["id"])


@pytest.fixture
def settings(tmp_path: Path, nats_server: NatsServer, database_url: str) -> Settings:
    return make_settings(tmp_path, nats_url=nats_server.url, database_url=database_url)


@pytest.fixture
async def service(settings: Settings, nats_server: NatsServer) -> AsyncIterator[Service]:
    async with running_app(create_app, settings) as client:
        now = [START]
        ctx = client.app.state.ctx  # type: ignore[attr-defined]
        ctx.clock = lambda: now[0]
        await ctx.link.wait_ready(10)
        nc = await nats.connect(nats_server.url)
        try:
            yield Service(client, settings, nats_server.url, now, nc)
        finally:
            await nc.close()
