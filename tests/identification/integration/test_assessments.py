"""POST /api/v1/assessments: DESIGN.md's body and response, defaults, what-if overrides,
validation (422 with field paths), jurisdiction (404) and missing policy (422)."""

from __future__ import annotations

import httpx
import pytest

from shared.settings import Settings
from tests.helpers import auth
from tests.identification.integration.factories import VILLAGE, assessment_body, household, id_number, member

URL = "/api/v1/assessments"
RESPONSE_FIELDS = {
    "per_capita_income",
    "monitoring_line",
    "dibao_standard",
    "category",
    "low_income_category",
    "warning",
    "risk_types",
    "exclusions",
    "eligible",
    "explanations",
    "policy",
}


async def test_marginal_household_full_response(client: httpx.AsyncClient, settings: Settings) -> None:
    # 2 members, 8,000 wage → 4,000 per head < Anhui line 5,000; a seriously ill member → illness risk
    body = assessment_body(
        household=household(
            members=[member(0, serious_illness=True), member(1)],
            income={"wage": "8000"},
            assets={"car": True},
        )
    )
    r = await client.post(URL, json=body, headers=auth(settings, "village", VILLAGE))
    assert r.status_code == 200, r.text
    out = r.json()
    assert set(out) >= RESPONSE_FIELDS
    assert out["per_capita_income"] == "4000.00"
    assert out["monitoring_line"] == "5000.00"
    assert out["dibao_standard"] == "4800.00"
    assert out["category"] == "marginal"
    assert out["risk_types"] == ["illness"]
    assert out["exclusions"][0]["code"] == "car"
    assert out["exclusions"][0]["detail"]
    assert out["eligible"] is False
    assert out["policy"] == {"id": "linquan-2020", "version": "1"}
    assert all({"rule", "source", "detail"} <= set(e) for e in out["explanations"])
    assert "per_capita_income" in [e["rule"] for e in out["explanations"]]


async def test_defaults_for_omitted_fields(client: httpx.AsyncClient, settings: Settings) -> None:
    body = {
        "region_code": VILLAGE,
        "as_of": "2021-06-30",
        "household": {
            "members": [{"id_number": id_number(), "name": "甲", "relation": "head", "labor_capacity": "ordinary"}]
        },
    }
    r = await client.post(URL, json=body, headers=auth(settings, "county", "341221"))
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["per_capita_income"] == "0.00"
    assert out["category"] is None  # below the line, but no risk
    assert out["low_income_category"] == "dibao"
    assert out["warning"] is None
    assert out["exclusions"] == []
    assert out["eligible"] is False


async def test_what_if_override_changes_the_outcome(client: httpx.AsyncClient, settings: Settings) -> None:
    body = assessment_body(household=household(members=[member(0, serious_illness=True)], income={"wage": "5500"}))
    headers = auth(settings, "province", "34")
    plain = (await client.post(URL, json=body, headers=headers)).json()
    assert plain["category"] is None
    r = await client.post(URL, json=body | {"policy_overrides": {"monitoring_line": "6000"}}, headers=headers)
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["monitoring_line"] == "6000.00"
    assert out["category"] == "marginal"
    assert out["explanations"][0]["rule"] == "policy_override"


@pytest.mark.parametrize(
    ("mutate", "path"),
    [
        (
            lambda b: b["household"]["members"][0].update(id_number="341221198001010010"),
            "household.members.0.id_number",
        ),
        (
            lambda b: b["household"]["members"][0].update(id_number="341221198002300011"),
            "household.members.0.id_number",
        ),
        (lambda b: b.update(region_code="341221001"), "region_code"),
        (lambda b: b["household"]["income"].update(wage="-1"), "household.income.wage"),
        (lambda b: b["household"]["members"].__setitem__(1, member(0)), "household.members.1.id_number"),
        (lambda b: b["household"].update(members=[]), "household.members"),
        (lambda b: b["household"]["members"][0].update(labor_capacity="strong"), "household.members.0.labor_capacity"),
        (lambda b: b["household"].update(dibao_status="maybe"), "household.dibao_status"),
        (lambda b: b["household"].update(colour="red"), "household.colour"),
        (lambda b: b.update(status="monitored"), "status"),
        (lambda b: b.update(policy_overrides={"poverty_line": 1}), "policy_overrides.poverty_line"),
        (lambda b: b.update(policy_overrides={"dibao_edge_multiplier": "9"}), "policy_overrides.dibao_edge_multiplier"),
    ],
)
async def test_bad_input_is_422_with_the_field_path(
    client: httpx.AsyncClient, settings: Settings, mutate, path
) -> None:  # type: ignore[no-untyped-def]
    body = assessment_body()
    mutate(body)
    r = await client.post(URL, json=body, headers=auth(settings, "admin", ""))
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    paths = [e["path"] for e in r.json()["errors"]]
    assert path in paths, paths


async def test_id_number_messages_come_from_shared_identifiers(client: httpx.AsyncClient, settings: Settings) -> None:
    body = assessment_body()
    body["household"]["members"][0]["id_number"] = "341221198002300011"
    r = await client.post(URL, json=body, headers=auth(settings, "admin", ""))
    assert "not a real date" in r.json()["errors"][0]["message"]
    body["household"]["members"][0]["id_number"] = "341221198001010010"
    r = await client.post(URL, json=body, headers=auth(settings, "admin", ""))
    assert "check digit" in r.json()["errors"][0]["message"]
    assert "341221198001010010" not in r.text.split('"detail"')[0]  # not echoed in the URL/title


async def test_outside_jurisdiction_is_404(client: httpx.AsyncClient, settings: Settings) -> None:
    r = await client.post(URL, json=assessment_body(), headers=auth(settings, "county", "341225"))
    assert r.status_code == 404
    r = await client.post(URL, json=assessment_body(), headers=auth(settings, "village", "341221001200"))
    assert r.status_code == 404


async def test_no_policy_is_422_policy_not_found(client: httpx.AsyncClient, settings: Settings) -> None:
    r = await client.post(URL, json=assessment_body(as_of="2019-06-30"), headers=auth(settings, "admin", ""))
    assert r.status_code == 422
    assert r.json()["code"] == "policy_not_found"
    r = await client.post(URL, json=assessment_body(region_code="110101001201"), headers=auth(settings, "admin", ""))
    assert r.json()["code"] == "policy_not_found"


async def test_unauthenticated_is_401(client: httpx.AsyncClient) -> None:
    r = await client.post(URL, json=assessment_body())
    assert r.status_code == 401
