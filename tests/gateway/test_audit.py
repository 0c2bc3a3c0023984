"""`GET /api/v1/audit?subject=` through the real gateway in front of the real identification and
subsidy services (uvicorn on loopback, each with its own database, one NATS): the fan-out
merges both services' chains by time, each entry with its service, seq and hashes, and reports
each chain's verification; county and above only, within region; a service that does not
answer is named, not dropped silently."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway.audit import merge
from gateway.config import GatewayConfig
from gateway.main import create_app as gateway_app
from services.identification.main import create_app as identification_app
from services.subsidy.main import create_app as subsidy_app
from shared.nats import NatsServer, free_port
from shared.settings import SERVICES, Settings
from tests.conftest import TEST_DB, create_pg_database, drop_pg_database
from tests.gateway.conftest import serve
from tests.helpers import auth, make_settings
from tests.identification.integration.test_cases_support import application

VILLAGE = "341221001201"
COUNTY = "341221"


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
        settings: Settings | None = None
        for name, factory in (("identification", identification_app), ("subsidy", subsidy_app)):
            db = await stack.enter_async_context(_database(tmp_path, name))
            s = make_settings(tmp_path / name, nats_url=nats_server.url, database_url=db)
            settings = settings or s
            urls[name] = await stack.enter_async_context(serve(factory(s)))
        assert settings is not None
        gw_settings = make_settings(
            tmp_path, nats_url=nats_server.url, database_url=f"sqlite+aiosqlite:///{tmp_path / 'gateway.db'}"
        )
        upstreams = {s: urls.get(s, f"http://127.0.0.1:{free_port()}") for s in SERVICES}
        gw = await stack.enter_async_context(serve(gateway_app(gw_settings, GatewayConfig(upstreams=upstreams))))
        client = await stack.enter_async_context(httpx.AsyncClient(base_url=gw, timeout=30))
        yield client, gw_settings


async def test_audit_fans_out_and_merges_both_chains(system: tuple[httpx.AsyncClient, Settings]) -> None:
    client, settings = system
    village = auth(settings, "village", VILLAGE)
    r = await client.post(
        "/api/v1/applications", json=application(VILLAGE), headers={**village, "Idempotency-Key": uuid.uuid4().hex}
    )
    assert r.status_code == 201, r.text
    household_id, case_id = r.json()["household_id"], r.json()["case_id"]
    r = await client.post(f"/api/v1/cases/{case_id}/transitions", json={"action": "advance"}, headers=village)
    assert r.status_code == 200, r.text
    county = auth(settings, "county", COUNTY, sub="chief-1")
    body: dict[str, Any] = {
        "kind": "transport_allowance",
        "region_code": "341221001001",
        "as_of": "2020-06-01",
        "household_id": household_id,
        "inputs": {
            "person_id": "person-1",
            "work_location": "out_of_province",
            "contract_months": 12,
            "social_insurance": True,
        },
    }
    r = await client.post(
        "/api/v1/subsidies/decisions", json=body, headers={**county, "Idempotency-Key": uuid.uuid4().hex}
    )
    assert r.status_code == 201, r.text
    decision_id = r.json()["id"]
    r = await client.post(f"/api/v1/subsidies/decisions/{decision_id}/approve", json={"note": "ok"}, headers=county)
    assert r.status_code == 200, r.text

    r = await client.get("/api/v1/audit", params={"subject": household_id}, headers=county)
    assert r.status_code == 200, r.text
    audit = r.json()
    assert audit["complete"] is True
    assert audit["verified"] is True
    assert set(audit["chains"]) == {"identification", "subsidy"}
    assert audit["chains"]["identification"]["rows"] == 2
    assert audit["chains"]["subsidy"]["rows"] == 2
    got = [(e["service"], e["kind"]) for e in audit["entries"]]
    assert sorted(got) == sorted(
        [
            ("identification", "case_transition"),
            ("identification", "case_transition"),
            ("subsidy", "subsidy_decision_calculate"),
            ("subsidy", "subsidy_decision_approve"),
        ]
    )
    assert [e["at"] for e in audit["entries"]] == sorted(e["at"] for e in audit["entries"])
    for e in audit["entries"]:
        assert {"service", "seq", "hash", "prev_hash"} <= set(e)
    subsidy = [e for e in audit["entries"] if e["service"] == "subsidy"]
    assert subsidy[1]["prev_hash"] == subsidy[0]["hash"]
    assert subsidy[1]["detail"]["amount"] == "500.00"

    by_decision = (await client.get("/api/v1/audit", params={"subject": decision_id}, headers=county)).json()
    assert [e["kind"] for e in by_decision["entries"]] == ["subsidy_decision_calculate", "subsidy_decision_approve"]
    # within region: another county sees nothing; township and village may not ask at all
    other = (
        await client.get("/api/v1/audit", params={"subject": household_id}, headers=auth(settings, "county", "341222"))
    ).json()
    assert other["entries"] == []
    for role, region in (("township", "341221001"), ("village", VILLAGE), ("department", COUNTY)):
        headers = auth(settings, role, region, dept="minzheng" if role == "department" else None)
        r = await client.get("/api/v1/audit", params={"subject": household_id}, headers=headers)
        assert r.status_code == 403, (role, r.text)
    assert (await client.get("/api/v1/audit", headers=county)).status_code == 422


def test_merge_names_a_service_that_did_not_answer() -> None:
    answer = {
        "entries": [{"seq": 1, "at": "2024-01-01T00:00:01Z", "hash": "h", "prev_hash": "0" * 64}],
        "chain": {"verified": True, "rows": 1, "broken_at": None, "head_hash": "h"},
    }
    merged = merge({"identification": answer, "subsidy": None}, "x")
    assert merged["complete"] is False
    assert merged["verified"] is False
    assert merged["chains"]["subsidy"] == {"verified": None, "error": "unavailable"}
    assert [e["service"] for e in merged["entries"]] == ["identification"]
