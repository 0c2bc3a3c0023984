"""Factories and the running identification service shared by the procedure's integration
tests (no tests here): valid resident ID numbers, application bodies, a controllable clock."""

from __future__ import annotations

import datetime as dt
import itertools
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.identification.main import create_app
from shared.identifiers import id_check_digit
from shared.nats import NatsServer
from shared.settings import Settings
from tests.helpers import auth, make_settings, running_app

CST = dt.timezone(dt.timedelta(hours=8))
VILLAGE = "341221001201"
OTHER_VILLAGE = "341221001202"
VILLAGE_200 = "341221001200"
TOWNSHIP = "341221001"
OTHER_TOWNSHIP = "341221002"
COUNTY = "341221"
START = dt.datetime(2024, 3, 4, 10, 0, tzinfo=CST)

_seq = itertools.count(1)


def id_number(birth: str = "19800101", county: str = COUNTY) -> str:
    """A checksum-valid resident ID number, different on every call."""
    first17 = f"{county}{birth}{next(_seq) % 1000:03d}"
    return first17 + id_check_digit(first17)


def member(id_no: str, **overrides: Any) -> dict[str, Any]:
    m: dict[str, Any] = {"id_number": id_no, "name": "张三", "relation": "head", "labor_capacity": "ordinary"}
    m.update(overrides)
    return m


def household(ids: list[str] | None = None, **overrides: Any) -> dict[str, Any]:
    """A marginal household in Anhui (line 5,000): 2 members, 6,000 wage, one seriously ill."""
    ids = ids or [id_number(), id_number("19820202")]
    body: dict[str, Any] = {
        "members": [
            member(ids[0], serious_illness=True),
            *[member(i, relation="spouse", name="李四") for i in ids[1:]],
        ],
        "income": {"wage": "6000"},
    }
    body.update(overrides)
    return body


def application(region: str = VILLAGE, ids: list[str] | None = None, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "region_code": region,
        "household": household(ids),
        "reason": "医疗支出大，收入下降",
        "risk_types": ["illness"],
        "consent": {"commitment": True, "asset_query_authorized": True},
    }
    body.update(overrides)
    return body


@dataclass
class Service:
    client: httpx.AsyncClient
    settings: Settings
    nats_url: str
    now: list[dt.datetime]

    def headers(self, role: str, region: str, **kw: Any) -> dict[str, str]:
        return auth(self.settings, role, region, **kw)

    def citizen(self, id_no: str, region: str = "34") -> dict[str, str]:
        return auth(self.settings, "citizen", region, sub=id_no)

    def set_time(self, when: dt.datetime) -> None:
        self.now[0] = when

    def advance_days(self, days: int) -> None:
        self.now[0] = self.now[0] + dt.timedelta(days=days)

    async def apply(self, body: dict[str, Any], headers: dict[str, str], key: str | None = None) -> httpx.Response:
        return await self.client.post(
            "/api/v1/applications",
            json=body,
            headers={**headers, "Idempotency-Key": key or uuid.uuid4().hex},
        )

    async def act(self, case_id: str, headers: dict[str, str], **body: Any) -> httpx.Response:
        return await self.client.post(f"/api/v1/cases/{case_id}/transitions", json=body, headers=headers)

    async def case(self, case_id: str, headers: dict[str, str]) -> httpx.Response:
        return await self.client.get(f"/api/v1/cases/{case_id}", headers=headers)

    async def to_monitored(self, case_id: str, village: str = VILLAGE) -> None:
        """Walk an identification case through every step (the clock moves past the notice)."""
        v = self.headers("village", village)
        t = self.headers("township", village[:9])
        c = self.headers("county", village[:6])
        steps = [
            (v, {"action": "advance"}),
            (v, {"action": "advance", "investigators": ["王五", "赵六"]}),
            (v, {"action": "advance", "note": "村民主评议通过"}),
        ]
        for h, body in steps:
            r = await self.act(case_id, h, **body)
            assert r.status_code == 200, r.text
        self.advance_days(7)
        for h, body in [
            (v, {"action": "advance"}),
            (t, {"action": "advance", "note": "乡镇审核同意"}),
            (c, {"action": "advance", "note": "县级审定"}),
        ]:
            r = await self.act(case_id, h, **body)
            assert r.status_code == 200, r.text


@pytest.fixture
async def service(tmp_path: Path, database_url: str, nats_server: NatsServer) -> AsyncIterator[Service]:
    settings = make_settings(tmp_path, nats_url=nats_server.url, database_url=database_url)
    async with running_app(create_app, settings) as client:
        now = [START]
        client.app.state.ctx.clock = lambda: now[0]  # type: ignore[attr-defined]
        yield Service(client, settings, nats_server.url, now)
