"""The DCI Social Registry API through the real gateway in front of the real identification
service (uvicorn on loopback, one NATS): routed by `/registry`, roles checked by the gateway,
the signed envelope and its bearer subject survive the hop, the JWKS is reachable, and the
merged OpenAPI lists the endpoints."""

from __future__ import annotations

import contextlib
import datetime as dt
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from gateway.config import GatewayConfig
from gateway.main import create_app as gateway_app
from services.identification.adapters.dci_keys import verify_envelope
from services.identification.main import create_app as identification_app
from shared.nats import NatsServer, free_port
from shared.settings import SERVICES, Settings
from tests.contract.test_dci_registry import SOCIAL, Partner, _consent, _search, sync_response_of
from tests.gateway.conftest import serve
from tests.gateway.test_audit import _database
from tests.helpers import auth, make_settings
from tests.identification.integration.test_cases_support import application, id_number

VILLAGE = "341221001201"
COUNTY = "341221"


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
        yield await stack.enter_async_context(httpx.AsyncClient(base_url=gw, timeout=30)), gw_settings


async def test_dci_sync_search_through_the_gateway(system: tuple[httpx.AsyncClient, Settings]) -> None:
    client, settings = system
    partner = Partner("mca.341221.example.cn", "spmis-341221")
    r = await client.post(
        "/api/v1/registry/partners",
        json={"sender_id": partner.sender_id, "name": "县民政", "client_sub": partner.sub, "jwks": partner.jwks},
        headers=auth(settings, "admin", ""),
    )
    assert r.status_code == 201, r.text
    r = await client.get("/api/v1/registry/partners", headers=auth(settings, "county", COUNTY))
    assert r.status_code == 403  # the gateway: partners are an admin's
    ids = [id_number(), id_number("19820202")]
    r = await client.post(
        "/api/v1/applications",
        json=application(VILLAGE, ids),
        headers={**auth(settings, "village", VILLAGE), "Idempotency-Key": uuid.uuid4().hex},
    )
    assert r.status_code == 201, r.text
    household_id = r.json()["household_id"]

    now = dt.datetime.now(dt.UTC)
    criteria = {"query_type": "idtype-value", "query": {"type": "UIN", "value": ids[0]}, "consent": _consent(now)}
    body = partner.envelope("search", _search(criteria, now), now)
    r = await client.post("/api/v1/registry/sync/search", json=body, headers=auth(settings, "township", "341221001"))
    assert r.status_code == 403  # township systems are not DCI partners (gateway role table)
    r = await client.post(
        "/api/v1/registry/sync/search", json=body, headers=auth(settings, "county", COUNTY, sub=partner.sub)
    )
    assert r.status_code == 200, r.text
    sync_response_of(SOCIAL, "/registry/sync/search", r.json())
    jwks = await client.get(
        "/api/v1/registry/.well-known/jwks.json", headers=auth(settings, "department", "34", dept="hrss")
    )
    assert jwks.status_code == 200, jwks.text
    verify_envelope(r.json()["signature"], r.json()["header"], r.json()["message"], jwks.json())
    [record] = r.json()["message"]["search_response"][0]["data"]["reg_records"]
    assert record["household_identifier"] == household_id

    doc = (await client.get("/openapi.json")).json()
    for path in ("/api/v1/registry/search", "/api/v1/registry/sync/search", "/api/v1/registry/subscribe",
                 "/api/v1/registry/unsubscribe", "/api/v1/registry/txn/status", "/api/v1/registry/sync/txn/status",
                 "/api/v1/registry/.well-known/jwks.json", "/api/v1/registry/partners"):  # fmt: skip
        assert path in doc["paths"], path
