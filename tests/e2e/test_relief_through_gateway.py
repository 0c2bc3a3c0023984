"""Temporary relief end to end through the real gateway, in front of the real civil-affairs and
subsidy services (uvicorn on loopback, each with its own database, one NATS): a township approves
a relief within its limit → civil affairs orders the payment → subsidy records the decision
(approved, exact amount, temporary_relief_fund) → civil affairs marks the order recorded; an
amount one fen above the limit needs the county."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway.config import GatewayConfig
from gateway.main import create_app as gateway_app
from services.civil_affairs.main import create_app as civil_affairs_app
from services.subsidy.main import create_app as subsidy_app
from shared.nats import NatsServer, free_port
from shared.settings import SERVICES, Settings
from tests.conftest import TEST_DB, create_pg_database, drop_pg_database
from tests.gateway.conftest import serve
from tests.helpers import auth, make_settings

VILLAGE = "341221001001"
TOWNSHIP = "341221001"
COUNTY = "341221"
RELIEF = "/api/v1/social-assistance/relief"


@contextlib.asynccontextmanager
async def _database(tmp_path: Path, name: str) -> AsyncIterator[str]:
    if TEST_DB == "postgres":
        db, url = await create_pg_database()
        try:
            yield url
        finally:
            await drop_pg_database(db)
    else:
        yield f"sqlite+aiosqlite:///{tmp_path / (name + '.db')}"


@pytest.fixture
async def system(tmp_path: Path, nats_server: NatsServer) -> AsyncIterator[tuple[httpx.AsyncClient, Settings]]:
    async with contextlib.AsyncExitStack() as stack:
        urls: dict[str, str] = {}
        for name, factory in (("civil_affairs", civil_affairs_app), ("subsidy", subsidy_app)):
            db = await stack.enter_async_context(_database(tmp_path, name))
            s = make_settings(tmp_path / name, nats_url=nats_server.url, database_url=db)
            urls[name] = await stack.enter_async_context(serve(factory(s)))
        gw_settings = make_settings(
            tmp_path, nats_url=nats_server.url, database_url=f"sqlite+aiosqlite:///{tmp_path / 'gateway.db'}"
        )
        upstreams = {s: urls.get(s, f"http://127.0.0.1:{free_port()}") for s in SERVICES}
        gw = await stack.enter_async_context(serve(gateway_app(gw_settings, GatewayConfig(upstreams=upstreams))))
        client = await stack.enter_async_context(httpx.AsyncClient(base_url=gw, timeout=30))
        yield client, gw_settings


async def _eventually(probe: Any, timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        got = await probe()
        if got or time.monotonic() > deadline:
            return got
        await asyncio.sleep(0.2)


async def test_relief_within_the_limit_is_paid_through_subsidy(system: tuple[httpx.AsyncClient, Settings]) -> None:
    client, settings = system
    township = auth(settings, "township", TOWNSHIP, sub="township-chief")
    county = auth(settings, "county", COUNTY, sub="county-chief")

    async def request(household_id: str, amount: str) -> str:
        body = {"region_code": VILLAGE, "household_id": household_id, "reason": "accident", "amount": amount}
        r = await client.post(RELIEF, json=body, headers=township)
        assert r.status_code == 201, r.text
        assert r.json()["township_limit"] == "3840.00"  # 6 × 640 a month (Linquan placeholder)
        return str(r.json()["id"])

    async def decision(household_id: str) -> dict[str, Any] | None:
        r = await client.get("/api/v1/subsidies/decisions", params={"household_id": household_id}, headers=county)
        assert r.status_code == 200, r.text
        items = r.json()["items"]
        return items[0] if items else None

    # within the limit: the township approves, subsidy records it exactly
    rid = await request("hh-e2e-1", "3840.00")
    r = await client.post(f"{RELIEF}/{rid}/actions", json={"action": "approve"}, headers=township)
    assert r.status_code == 200, r.text
    payment_id = r.json()["payments"][0]["payment_id"]
    d = await _eventually(lambda: decision("hh-e2e-1"))
    assert d is not None, "subsidy recorded no decision"
    assert (d["kind"], d["state"], d["amount"], d["funding_source"]) == (
        "temporary_relief",
        "approved",
        "3840.00",
        "temporary_relief_fund",
    )
    assert (d["payment_id"], d["reference"]) == (payment_id, {"kind": "relief_request", "id": rid})
    assert d["approved_by"] == "township-chief"

    async def recorded() -> dict[str, Any] | None:
        p = (await client.get(f"{RELIEF}/{rid}", headers=township)).json()["payments"][0]
        return p if p["status"] == "recorded" else None

    p = await _eventually(recorded)
    assert p is not None, "civil affairs never saw the decision"
    assert (p["decision_id"], p["recorded_amount"]) == (d["id"], "3840.00")

    # one fen above: the township may not, the county does
    rid2 = await request("hh-e2e-2", "3840.01")
    r = await client.post(f"{RELIEF}/{rid2}/actions", json={"action": "approve"}, headers=township)
    assert (r.status_code, r.json()["code"]) == (409, "above_township_limit")
    r = await client.post(f"{RELIEF}/{rid2}/actions", json={"action": "refer_to_county"}, headers=township)
    assert r.json()["state"] == "county_review"
    r = await client.post(f"{RELIEF}/{rid2}/actions", json={"action": "approve"}, headers=county)
    assert r.status_code == 200, r.text
    d2 = await _eventually(lambda: decision("hh-e2e-2"))
    assert d2 is not None
    assert (d2["amount"], d2["state"], d2["history"][1]["role"]) == ("3840.01", "approved", "county")
    # a department token is not let through to relief by the gateway
    r = await client.get(RELIEF, headers=auth(settings, "department", COUNTY, dept="health"))
    assert r.status_code == 403
