"""`/api/v1/low-income/**` end to end through the real gateway in front of the real
identification service (uvicorn on loopback, one NATS): routed, role-checked by the gateway,
scoped by the service; a joint screening started by a county officer, the summary and the
roster (CSV with masked ID numbers) of the county it screened."""

from __future__ import annotations

import asyncio
import contextlib
import csv
import io
import json
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from gateway.config import GatewayConfig
from gateway.main import create_app as gateway_app
from services.identification.main import create_app as identification_app
from shared.cli.generate import generate_households
from shared.nats import NatsServer, free_port
from shared.settings import SERVICES, Settings
from tests.gateway.conftest import serve
from tests.gateway.test_audit import _database
from tests.helpers import auth, make_settings

COUNTY = "341221"
N = 60


@pytest.fixture
async def system(tmp_path: Path, nats_server: NatsServer) -> AsyncIterator[tuple[httpx.AsyncClient, Settings]]:
    async with contextlib.AsyncExitStack() as stack:
        db = await stack.enter_async_context(_database(tmp_path, "identification"))
        s = make_settings(tmp_path / "identification", nats_url=nats_server.url, database_url=db)
        url = await stack.enter_async_context(serve(identification_app(s)))
        gw_settings = make_settings(
            tmp_path, nats_url=nats_server.url, database_url=f"sqlite+aiosqlite:///{tmp_path / 'gateway.db'}"
        )
        upstreams = {name: f"http://127.0.0.1:{free_port()}" for name in SERVICES} | {"identification": url}
        gw = await stack.enter_async_context(serve(gateway_app(gw_settings, GatewayConfig(upstreams=upstreams))))
        client = await stack.enter_async_context(httpx.AsyncClient(base_url=gw, timeout=60))
        yield client, gw_settings


async def test_low_income_through_the_gateway(system: tuple[httpx.AsyncClient, Settings]) -> None:
    client, settings = system
    body = "".join(json.dumps(h, ensure_ascii=False) + "\n" for h in generate_households(N, COUNTY)).encode()
    r = await client.post(
        "/api/v1/households/import",
        content=body,
        headers={"content-type": "application/x-ndjson"} | auth(settings, "province", "34"),
    )
    assert r.json()["rows_done"] == N, r.text
    county = auth(settings, "county", COUNTY)
    r = await client.post("/api/v1/low-income/joint-screenings", json={"county": COUNTY}, headers=county)
    assert r.status_code == 201, r.text
    job_id = r.json()["job_id"]
    for _ in range(200):
        job = (await client.get(f"/api/v1/jobs/{job_id}", headers=county)).json()
        if job["status"] != "running":
            break
        await asyncio.sleep(0.1)
    assert job["status"] == "completed"
    summary = (await client.get("/api/v1/low-income/summary", params={"level": "village"}, headers=county)).json()
    assert all(len(row["region"]) == 12 for row in summary["rows"])
    total = summary["totals"]["low_income_households"]
    assert total == sum(row["low_income_households"] for row in summary["rows"]) > 0
    exported = await client.get("/api/v1/low-income/roster", params={"format": "csv"}, headers=county)
    assert exported.status_code == 200, exported.text
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert len(rows) == total
    assert all("*" in row["head_id_number_masked"] for row in rows)
    listed = await client.get("/api/v1/low-income/comparisons", headers=auth(settings, "township", COUNTY + "001"))
    assert listed.status_code == 200
    # the gateway refuses a village officer's POST and a citizen's read (403); the service, another county (404)
    village = auth(settings, "village", COUNTY + "001201")
    refused = await client.post("/api/v1/low-income/joint-screenings", json={"county": COUNTY}, headers=village)
    assert refused.status_code == 403
    citizen = await client.get("/api/v1/low-income/roster", headers=auth(settings, "citizen", COUNTY))
    assert citizen.status_code == 403
    stranger = await client.get(
        "/api/v1/low-income/roster", params={"region": COUNTY}, headers=auth(settings, "county", "341222")
    )
    assert stranger.status_code == 404
