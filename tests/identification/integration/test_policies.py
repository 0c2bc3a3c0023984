"""/api/v1/admin/policies: a county version overriding one parameter of the province changes
/assessments for that county only; who may add versions."""

from __future__ import annotations

import httpx

from shared.settings import Settings
from tests.helpers import auth
from tests.identification.integration.factories import assessment_body, household, member

POLICIES = "/api/v1/admin/policies"


def _version(prefix: str, **params: object) -> dict[str, object]:
    return {
        "service": "identification",
        "region_prefix": prefix,
        "effective_from": "2021-01-01",
        "parameters": params,
        "source": "县政府通知 2021 第1号 §2",
    }


async def test_county_version_changes_that_county_only(client: httpx.AsyncClient, settings: Settings) -> None:
    admin = auth(settings, "admin", "")
    ill = household(members=[member(0, serious_illness=True)], income={"wage": "5500"})
    linquan = assessment_body(household=ill)
    funan = assessment_body(household=ill, region_code="341225001201")
    before = [(await client.post("/api/v1/assessments", json=b, headers=admin)).json() for b in (linquan, funan)]
    assert [b["category"] for b in before] == [None, None]

    r = await client.post(POLICIES, json=_version("341221", monitoring_line="6000"), headers=admin)
    assert r.status_code == 201, r.text
    vid = r.json()["id"]

    after = [(await client.post("/api/v1/assessments", json=b, headers=admin)).json() for b in (linquan, funan)]
    assert after[0]["category"] == "marginal"
    assert after[0]["monitoring_line"] == "6000.00"
    assert after[0]["policy"]["id"] == vid
    assert after[1]["category"] is None
    assert after[1]["monitoring_line"] == "5000.00"

    shown = await client.get(POLICIES, params={"region": "341221001201", "as_of": "2021-06-30"}, headers=admin)
    assert shown.status_code == 200
    params = shown.json()["parameters"]
    assert params["monitoring_line"]["value"] == "6000"
    assert params["monitoring_line"]["version_id"] == vid
    assert params["dibao_standard_rural"]["version_id"] == "anhui-2020"  # the rest still from the province


async def test_province_may_add_for_its_own_province_only(client: httpx.AsyncClient, settings: Settings) -> None:
    anhui = auth(settings, "province", "34")
    r = await client.post(POLICIES, json=_version("3412", public_notice_days=5), headers=anhui)
    assert r.status_code == 201, r.text
    r = await client.post(POLICIES, json=_version("51", public_notice_days=5), headers=anhui)
    assert r.status_code == 404


async def test_village_and_county_roles_are_403(client: httpx.AsyncClient, settings: Settings) -> None:
    for role, region in (("village", "341221001201"), ("county", "341221")):
        r = await client.post(
            POLICIES, json=_version("341221", public_notice_days=5), headers=auth(settings, role, region)
        )
        assert r.status_code == 403


async def test_unknown_or_bad_parameters_are_422(client: httpx.AsyncClient, settings: Settings) -> None:
    admin = auth(settings, "admin", "")
    r = await client.post(POLICIES, json=_version("341221", poverty_line=1), headers=admin)
    assert r.status_code == 422
    assert r.json()["errors"][0]["path"] == "parameters.poverty_line"
    for name, value in (
        ("monitoring_line", "-5"),
        ("dibao_edge_multiplier", "0.5"),
        ("public_notice_days", "2.5"),
        ("income_year_start", "13-01"),
        ("identification_time_limit_kind", "weekly"),
    ):
        r = await client.post(POLICIES, json=_version("341221", **{name: value}), headers=admin)
        assert r.status_code == 422, (name, r.text)
        assert r.json()["errors"][0]["path"] == f"parameters.{name}"
