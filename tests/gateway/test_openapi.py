"""One API surface: /openapi.json at the gateway is merged from the services' documents (only
public /api/v1 paths the gateway routes; conflicting component names get service prefixes), plus
the gateway's own routes and security schemes; also with the real identification service."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.openapi import merge
from services.identification.main import create_app as identification_app
from shared.nats import free_port
from shared.settings import SERVICES
from tests.gateway.conftest import serve
from tests.helpers import make_settings

pytestmark = pytest.mark.sqlite_only


def _doc(paths: dict[str, Any], schemas: dict[str, Any]) -> dict[str, Any]:
    return {"openapi": "3.1.0", "paths": paths, "components": {"schemas": schemas}}


def test_merge_keeps_public_paths_and_prefixes_conflicting_components() -> None:
    page = {"$ref": "#/components/schemas/Page"}
    ok = {"responses": {"200": {"content": {"application/json": {"schema": page}}}}}
    ident = _doc(
        {
            "/api/v1/cases": {"get": ok},
            "/internal/outbox": {"get": ok},
            "/api/v1/internal/x": {"get": ok},
            "/healthz": {"get": ok},
        },
        {"Page": {"type": "object", "properties": {"cases": {}}}, "Shared": {"type": "string"}},
    )
    subsidy = _doc(
        {"/api/v1/subsidies/decisions": {"get": ok}},
        {"Page": {"type": "object", "properties": {"decisions": {}}}, "Shared": {"type": "string"}},
    )
    out = merge({"identification": ident, "subsidy": subsidy}, _doc({}, {}), title="t", version="1")
    assert sorted(out["paths"]) == ["/api/v1/cases", "/api/v1/subsidies/decisions"]
    schemas = out["components"]["schemas"]
    assert set(schemas) == {"Page", "Subsidy_Page", "Shared"}
    ref = out["paths"]["/api/v1/subsidies/decisions"]["get"]["responses"]["200"]["content"]["application/json"]
    assert ref["schema"]["$ref"] == "#/components/schemas/Subsidy_Page"
    assert out["paths"]["/api/v1/cases"]["get"]["x-fangfan-service"] == "identification"
    assert set(out["components"]["securitySchemes"]) == {"bearerAuth", "apiKeyAuth"}


async def test_gateway_serves_the_merged_document_and_docs(gateway) -> None:
    async with gateway() as client:
        doc = (await client.get("/openapi.json")).json()
        assert "/api/v1/statistics/summary" in doc["paths"]  # from the upstream
        assert "Summary" in doc["components"]["schemas"]
        assert "/internal/metrics-raw" not in doc["paths"]
        assert {"post", "get"} <= set(doc["paths"]["/api/v1/admin/api-keys"])  # the gateway's own
        assert "delete" in doc["paths"]["/api/v1/admin/api-keys/{key_id}"]
        assert doc["components"]["securitySchemes"]["apiKeyAuth"]["name"] == "X-API-Key"
        assert doc["info"]["x-fangfan-services"] == sorted(SERVICES)
        refreshed = (await client.get("/openapi.json?refresh=true")).json()
        assert refreshed["paths"].keys() == doc["paths"].keys()
        html = await client.get("/docs")
        assert html.status_code == 200
        assert "/openapi.json" in html.text


async def test_with_the_real_identification_service(gateway, tmp_path, nats_server) -> None:
    ident_settings = make_settings(
        tmp_path, nats_url=nats_server.url, database_url=f"sqlite+aiosqlite:///{tmp_path / 'ident.db'}"
    )
    async with serve(identification_app(ident_settings)) as ident_url:
        upstreams = dict.fromkeys(SERVICES, "http://127.0.0.1:9")  # nothing listens on the discard port
        upstreams["identification"] = ident_url
        async with gateway(upstreams=upstreams) as client:
            ready = (await client.get("/readyz")).json()
            assert ready["checks"]["identification"] == "ok"
            assert ready["checks"]["subsidy"].startswith("unreachable")
            doc = (await client.get("/openapi.json")).json()
            assert doc["info"]["x-fangfan-services"] == ["identification"]
            assert all(p.startswith("/api/v1/") for p in doc["paths"])


async def test_ready_means_the_document_has_every_service(gateway, tmp_path, nats_server) -> None:
    """Services that came up after the gateway's warm-up fetch: once /readyz answers 200 the merged
    document already has their paths (it used to lack them for up to 5 s after readiness)."""
    ident_settings = make_settings(
        tmp_path, nats_url=nats_server.url, database_url=f"sqlite+aiosqlite:///{tmp_path / 'ident.db'}"
    )
    port = free_port()
    late = {"upstreams": dict.fromkeys(SERVICES, f"http://127.0.0.1:{port}")}  # every route to one late app
    async with gateway(**late) as client:
        first = (await client.get("/openapi.json")).json()  # the warm-up found nobody
        assert first["info"]["x-fangfan-services"] == []
        async with serve(identification_app(ident_settings), port=port):
            ready = await client.get("/readyz")
            assert ready.status_code == 200, ready.text
            assert ready.json()["checks"]["openapi"] == "ok"
            doc = (await client.get("/openapi.json")).json()
            assert doc["info"]["x-fangfan-services"] == sorted(SERVICES)
            assert "/api/v1/applications" in doc["paths"]
