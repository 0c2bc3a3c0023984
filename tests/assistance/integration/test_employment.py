"""Employment records (附件3 fields, opaque person_ref), services and the 1 + 5 standard per
village, placements and post wages published for the subsidy service."""

from __future__ import annotations

from typing import Any

from tests.assistance.integration.conftest import COUNTY, OTHER_VILLAGE, VILLAGE, Service
from tests.helpers import collect_events


async def _record(service: Service, person_ref: str, household_id: str, **extra: Any) -> dict[str, Any]:
    body = {
        "person_ref": person_ref,
        "household_id": household_id,
        "education": "初中",
        "residence_code": VILLAGE,
        "insurance": "城乡居民基本养老保险",
        "skill_grade": "无",
        "last_year_employment": "省外务工",
        "willing_to_work": True,
        "intended_place": "县内",
        "intended_place_type": "工业园区",
        "intended_job": "电子装配",
        "agricultural_training_wish": True,
        "other_training_wishes": "电工",
        **extra,
    }
    r = await service.client.post("/api/v1/employment/records", json=body, headers=service.headers())
    assert r.status_code == 200, r.text
    return dict(r.json())


async def test_standard_per_village(service: Service) -> None:
    plan = await service.identified_plan(risk_types=["unstable_employment"])
    hid = plan["household_id"]
    a = await _record(service, "p-001", hid)
    assert a["created"] is True
    assert a["survey"]["intended_job"] == "电子装配"
    b = await _record(service, "p-002", hid, education="高中")
    again = await _record(service, "p-002", hid, education="中专")
    assert again["created"] is False
    assert again["id"] == b["id"]
    url = f"/api/v1/employment/records/{a['id']}/services"
    for kind in ["guidance"] + ["job_recommendation"] * 5:
        r = await service.client.post(url, json={"kind": kind, "provided_on": "2024-03-01"}, headers=service.headers())
        assert r.status_code == 201, r.text
    r = await service.client.post(
        f"/api/v1/employment/records/{b['id']}/services",
        json={"kind": "training", "provided_on": "2024-03-02", "detail": "电工培训"},
        headers=service.headers(),
    )
    assert r.status_code == 201
    r = await service.client.get(
        "/api/v1/employment/standard", params={"region": COUNTY}, headers=service.headers("county", COUNTY)
    )
    assert r.status_code == 200, r.text
    [village] = r.json()["villages"]
    assert village["region_code"] == VILLAGE
    assert village["laborers"] == 2
    assert village["meeting_standard"] == 1
    [short] = village["short"]
    assert short["person_ref"] == "p-002"
    assert short["missing"] == ["job_recommendations: 0/5"]
    assert "5次就业岗位信息推荐" in r.json()["source"]


async def test_person_ref_must_not_be_an_id_number(service: Service) -> None:
    plan = await service.identified_plan()
    r = await service.client.post(
        "/api/v1/employment/records",
        json={"person_ref": "11010519491231002X", "household_id": plan["household_id"]},
        headers=service.headers(),
    )
    assert r.status_code == 422
    assert r.json()["errors"][0]["path"] == "person_ref"


async def test_placement_and_post_wage_events(service: Service) -> None:
    plan = await service.identified_plan()
    hid = plan["household_id"]
    await _record(service, "p-100", hid)
    r = await service.client.post(
        "/api/v1/employment/placements",
        json={
            "person_ref": "p-100",
            "employer": "临泉某电子厂",
            "contract_months": 12,
            "social_insurance": True,
            "work_location": "out_of_city_in_province",
            "epidemic_period": False,
            "stable_months": 6,
            "age": 42,
            "placed_on": "2024-03-01",
        },
        headers=service.headers(),
    )
    assert r.status_code == 201, r.text
    r = await service.client.post(
        "/api/v1/employment/post-wages",
        json={"person_ref": "p-100", "year": 2023, "annual_wage": "4800"},
        headers=service.headers(),
    )
    assert r.status_code == 201, r.text
    again = await service.client.post(
        "/api/v1/employment/post-wages",
        json={"person_ref": "p-100", "year": 2023, "annual_wage": "5000"},
        headers=service.headers(),
    )
    assert again.status_code == 409
    [placed] = await collect_events(service.nats_url, "fangfan.assistance.placement_recorded.>", count=1)
    assert placed["data"] == {
        "person_ref": "p-100",
        "household_id": hid,
        "region_code": VILLAGE,
        "work_location": "out_of_city_in_province",
        "contract_months": 12,
        "social_insurance": True,
        "epidemic_period": False,
        "stable_months": 6,
        "age": 42,
        "placed_on": "2024-03-01",
    }
    [wage] = await collect_events(service.nats_url, "fangfan.assistance.post_wage_recorded.>", count=1)
    assert wage["data"] == {
        "person_ref": "p-100",
        "household_id": hid,
        "region_code": VILLAGE,
        "annual_wage": "4800.00",
        "year": 2023,
    }
    r = await service.client.post(
        "/api/v1/employment/placements",
        json={
            "person_ref": "p-100",
            "employer": "x",
            "contract_months": 6,
            "social_insurance": True,
            "work_location": "mars",
            "stable_months": 1,
            "age": 30,
            "placed_on": "2024-03-01",
        },
        headers=service.headers(),
    )
    assert r.status_code == 422
    r = await service.client.get("/api/v1/employment/records", headers=service.headers("village", OTHER_VILLAGE))
    assert r.json()["items"] == []
