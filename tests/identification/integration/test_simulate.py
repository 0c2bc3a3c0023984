"""POST /api/v1/assessments:simulate: the region's households under what-if overrides; how many
change category (from → to), by village."""

from __future__ import annotations

import json

import httpx

from shared.cli.generate import generate_households
from shared.settings import Settings
from tests.helpers import auth

URL = "/api/v1/assessments:simulate"


async def test_raising_the_line_moves_households_into_categories(client: httpx.AsyncClient, settings: Settings) -> None:
    items = list(generate_households(800, "341221"))
    body = "".join(json.dumps(h, ensure_ascii=False) + "\n" for h in items).encode()
    headers = auth(settings, "county", "341221")
    await client.post(
        "/api/v1/households/import", content=body, headers={"content-type": "application/x-ndjson"} | headers
    )
    same = (await client.post(URL, json={"region": "341221", "as_of": "2024-06-30"}, headers=headers)).json()
    assert same["households"] == 800
    assert same["changed"] == 0

    r = await client.post(
        URL,
        json={"region": "341221", "as_of": "2024-06-30", "policy_overrides": {"monitoring_line": "9000"}},
        headers=headers,
    )
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["changed"] > 0
    assert all(t["from"] != t["to"] for t in out["transitions"])
    assert any(t["from"] is None and t["to"] in ("marginal", "unstable_escaped") for t in out["transitions"])
    assert sum(v["changed"] for v in out["by_village"]) == out["changed"]
    assert sum(v["households"] for v in out["by_village"]) == 800
    assert {v["village"][:6] for v in out["by_village"]} == {"341221"}

    one_village = out["by_village"][0]["village"]
    r = await client.post(
        URL,
        json={"region": one_village, "as_of": "2024-06-30", "policy_overrides": {"monitoring_line": "9000"}},
        headers=headers,
    )
    assert r.json()["changed"] == out["by_village"][0]["changed"]


async def test_bad_overrides_and_jurisdiction(client: httpx.AsyncClient, settings: Settings) -> None:
    r = await client.post(
        URL,
        json={"region": "341221", "as_of": "2024-06-30", "policy_overrides": {"poverty_line": 1}},
        headers=auth(settings, "county", "341221"),
    )
    assert r.status_code == 422
    assert r.json()["errors"][0]["path"] == "policy_overrides.poverty_line"
    r = await client.post(
        URL, json={"region": "341221", "as_of": "2024-06-30"}, headers=auth(settings, "county", "341225")
    )
    assert r.status_code == 404
