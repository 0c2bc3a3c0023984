"""The civil-affairs service and the real identification service, in-process, each on its own
real database, on one real NATS server; civil affairs asks identification over HTTP (ASGI
transport) with the caller's signed principal, and runs on a controllable clock."""

from __future__ import annotations

import contextlib
import datetime as dt
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.civil_affairs.main import create_app as civil_affairs_app
from services.identification.main import create_app as identification_app
from shared.nats import NatsServer
from shared.settings import Settings
from tests.conftest import TEST_DB, create_pg_database, drop_pg_database
from tests.helpers import auth, make_settings, running_app
from tests.identification.integration.test_cases_support import application, household, id_number

CST = dt.timezone(dt.timedelta(hours=8))
VILLAGE = "341221001201"
TOWNSHIP = "341221001"
COUNTY = "341221"
CITY = "3412"
#: a Monday
START = dt.datetime(2026, 3, 2, 10, 0, tzinfo=CST)

__all__ = ["CITY", "COUNTY", "START", "TOWNSHIP", "VILLAGE", "World", "database", "world"]


@contextlib.asynccontextmanager
async def database(tmp_path: Path, name: str) -> AsyncIterator[str]:
    if TEST_DB == "postgres":
        db, url = await create_pg_database()
        try:
            yield url
        finally:
            await drop_pg_database(db)
    else:
        yield f"sqlite+aiosqlite:///{tmp_path / (name + '.db')}"


@dataclass
class World:
    civil: httpx.AsyncClient
    identification: httpx.AsyncClient
    settings: Settings
    nats_url: str
    now: list[dt.datetime]
    ctx: Any

    def headers(self, role: str, region: str, **kw: Any) -> dict[str, str]:
        return auth(self.settings, role, region, **kw)

    def citizen(self, id_no: str) -> dict[str, str]:
        return auth(self.settings, "citizen", "34", sub=id_no)

    def advance_days(self, days: int) -> None:
        self.now[0] = self.now[0] + dt.timedelta(days=days)

    async def rejected_application(self, *, by: str = "township") -> tuple[str, dict[str, Any]]:
        """A citizen's self-application, rejected by the township: (applicant ID number, application)."""
        me = id_number()
        body = application(VILLAGE, household=household([me, id_number("19820202")]))
        r = await self.identification.post(
            "/api/v1/applications", json=body, headers={**self.citizen(me), "Idempotency-Key": uuid.uuid4().hex}
        )
        assert r.status_code == 201, r.text
        app = r.json()
        region = {"township": TOWNSHIP, "village": VILLAGE}[by]
        r = await self.identification.post(
            f"/api/v1/cases/{app['case_id']}/transitions",
            json={"action": "reject", "reason": "家庭收入高于监测范围"},
            headers=self.headers(by, region),
        )
        assert r.status_code == 200, r.text
        return me, app

    async def appeal_body(self, app: dict[str, Any], **overrides: Any) -> dict[str, Any]:
        body: dict[str, Any] = {
            "subject": {"kind": "identification_application", "id": app["id"]},
            "household_id": app["household_id"],
            "region_code": VILLAGE,
            "grounds": "我家今年医疗支出很大，收入核算有误，联系电话13812345678",
        }
        body.update(overrides)
        return body


@pytest.fixture
async def world(tmp_path: Path, nats_server: NatsServer, database_url: str) -> AsyncIterator[World]:
    civil_settings = make_settings(tmp_path / "civil", nats_url=nats_server.url, database_url=database_url)
    async with contextlib.AsyncExitStack() as stack:
        ident_db = await stack.enter_async_context(database(tmp_path, "identification"))
        ident_settings = make_settings(tmp_path / "ident", nats_url=nats_server.url, database_url=ident_db)
        ident = await stack.enter_async_context(running_app(identification_app, ident_settings))
        civil = await stack.enter_async_context(running_app(civil_affairs_app, civil_settings))
        now = [START]
        ctx = civil.app.state.ctx  # type: ignore[attr-defined]
        ctx.clock = lambda: now[0]
        ctx.extras.identification_url = "http://identification"
        ctx.extras.identification_transport = httpx.ASGITransport(app=ident.app)  # type: ignore[attr-defined]
        await ctx.link.wait_ready(10)
        yield World(civil, ident, civil_settings, nats_server.url, now, ctx)
