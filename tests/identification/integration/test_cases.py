"""Cases over HTTP against a real database and NATS: reading with history and allowed actions,
the transitions' 409 rules with their sources, optimistic concurrency, scope (404), listing."""

from __future__ import annotations

import asyncio
import datetime as dt

import sqlalchemy as sa

from services.identification.adapters.orm_cases import case_history
from tests.identification.integration.test_cases_support import (
    COUNTY,
    OTHER_TOWNSHIP,
    OTHER_VILLAGE,
    TOWNSHIP,
    VILLAGE,
    VILLAGE_200,
    Service,
    application,
    service,
)

__all__ = ["service"]


async def _open(svc: Service, region: str = VILLAGE) -> str:
    r = await svc.apply(application(region), svc.headers("village", region))
    assert r.status_code == 201, r.text
    return r.json()["case_id"]


async def test_read_case_with_history_deadline_and_allowed_actions(service: Service) -> None:
    case_id = await _open(service)
    r = await service.case(case_id, service.headers("village", VILLAGE))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["procedure"] == "identification"
    assert body["state"] == "submitted"
    assert body["category"] == "marginal"
    assert "illness" in body["risk_types"]
    assert body["deadline"] == "2024-03-19"  # Anhui: 15 calendar days
    assert body["allowed_actions"] == ["advance", "reject"]
    [entry] = body["history"]
    assert entry["action"] == "submit"
    assert entry["from"] is None
    assert entry["to"] == "submitted"
    assert entry["role"] == "village"
    county = (await service.case(case_id, service.headers("county", COUNTY))).json()
    assert county["allowed_actions"] == []  # the county acts only at county_review


async def test_guards_refuse_with_rule_code_and_source(service: Service) -> None:
    case_id = await _open(service)
    v = service.headers("village", VILLAGE)
    assert (await service.act(case_id, v, action="advance")).status_code == 200
    r = await service.act(case_id, v, action="advance", investigators=["王五"])
    assert r.status_code == 409
    problem = r.json()
    assert r.headers["content-type"].startswith("application/problem+json")
    assert problem["code"] == "investigators_required"
    assert "2人" in problem["source"]
    assert (await service.act(case_id, v, action="advance", investigators=["王五", "赵六"])).status_code == 200
    r = await service.act(case_id, v, action="advance")
    assert r.status_code == 409
    assert r.json()["code"] == "note_required"
    r = await service.act(case_id, service.headers("township", TOWNSHIP), action="advance", note="ok")
    assert r.status_code == 409
    assert r.json()["code"] == "role_not_allowed"
    r = await service.act(case_id, v, action="clear", reason="x")
    assert r.status_code == 409
    assert r.json()["code"] == "state_not_allowed"
    r = await service.act(case_id, v, action="advance", note="评议通过")
    assert r.status_code == 200
    assert r.json()["state"] == "public_notice"
    assert r.json()["notice"] == {"started_on": "2024-03-04", "days": 7, "ends_on": "2024-03-10"}
    r = await service.act(case_id, v, action="advance")
    assert r.status_code == 409
    assert r.json()["code"] == "notice_period_running"
    r = await service.act(case_id, service.headers("county", COUNTY), action="object", note="收入不实")
    assert r.status_code == 200, r.text
    service.advance_days(7)
    r = await service.act(case_id, v, action="advance")
    assert r.status_code == 409
    assert r.json()["code"] == "objection_open"
    r = await service.act(case_id, v, action="resolve_objection", note="经核实收入属实")
    assert r.status_code == 200, r.text
    r = await service.act(case_id, v, action="advance")
    assert r.status_code == 200
    assert r.json()["state"] == "township_review"
    r = await service.act(case_id, service.headers("township", TOWNSHIP), action="reject")
    assert r.status_code == 409
    assert r.json()["code"] == "reason_required"
    r = await service.act(case_id, service.headers("township", TOWNSHIP), action="reject", reason="不符合条件")
    assert r.status_code == 200
    assert r.json()["state"] == "rejected"
    actions = [h["action"] for h in r.json()["history"]]
    assert actions == ["submit", "advance", "advance", "advance", "object", "resolve_objection", "advance", "reject"]


async def test_unknown_field_and_action(service: Service) -> None:
    case_id = await _open(service)
    v = service.headers("village", VILLAGE)
    r = await service.act(case_id, v, action="advance", state="monitored")
    assert r.status_code == 422
    r = await service.act(case_id, v, action="fly")
    assert r.status_code == 409
    assert r.json()["code"] == "state_not_allowed"


async def test_stale_version_and_concurrent_transitions_are_409(service: Service) -> None:
    case_id = await _open(service)
    v = service.headers("village", VILLAGE)
    r = await service.act(case_id, v, action="advance", version=1)
    assert r.status_code == 200
    assert r.json()["version"] == 2
    r = await service.act(case_id, v, action="reject", reason="重复", version=1)
    assert r.status_code == 409
    assert r.json()["code"] == "version_conflict"
    # two officers act on the version they both read: one wins, the other is told
    results = await asyncio.gather(
        service.act(case_id, v, action="advance", investigators=["a", "b"], version=2),
        service.act(case_id, v, action="reject", reason="不符合", version=2),
    )
    codes = sorted(r.status_code for r in results)
    assert codes == [200, 409], [r.text for r in results]
    loser = next(r for r in results if r.status_code == 409).json()
    assert loser["code"] in {"version_conflict", "state_not_allowed"}
    body = (await service.case(case_id, v)).json()
    assert len(body["history"]) == 3
    assert body["version"] == 3
    engine = service.client.app.state.ctx.engine  # type: ignore[attr-defined]
    async with engine.connect() as conn:
        seqs = (await conn.execute(sa.select(case_history.c.seq).where(case_history.c.case_id == case_id))).scalars()
        assert sorted(seqs) == [1, 2, 3]


async def test_out_of_scope_is_404(service: Service) -> None:
    case_id = await _open(service, VILLAGE_200)
    assert (await service.case(case_id, service.headers("township", TOWNSHIP))).status_code == 200
    assert (await service.case(case_id, service.headers("village", VILLAGE_200))).status_code == 200
    for headers in (
        service.headers("village", VILLAGE),
        service.headers("township", OTHER_TOWNSHIP),
        service.headers("county", "341222"),
    ):
        r = await service.case(case_id, headers)
        assert r.status_code == 404, r.text
        assert r.json()["code"] == "not_found"
        r = await service.act(case_id, headers, action="advance")
        assert r.status_code == 404
    assert (await service.case("no-such-case", service.headers("province", "34"))).status_code == 404


async def test_list_cases_by_region_state_overdue_and_capped_pages(service: Service) -> None:
    first = await _open(service, VILLAGE)
    await _open(service, OTHER_VILLAGE)
    await _open(service, VILLAGE_200)
    county = service.headers("county", COUNTY)
    r = await service.client.get("/api/v1/cases", params={"region": TOWNSHIP}, headers=county)
    assert r.status_code == 200
    assert r.json()["total"] == 3
    r = await service.client.get("/api/v1/cases", params={"region": VILLAGE}, headers=county)
    assert [c["id"] for c in r.json()["items"]] == [first]
    r = await service.client.get("/api/v1/cases", headers=service.headers("village", OTHER_VILLAGE))
    assert r.json()["total"] == 1
    r = await service.client.get(
        "/api/v1/cases", params={"region": VILLAGE}, headers=service.headers("village", OTHER_VILLAGE)
    )
    assert r.json()["total"] == 0
    await service.act(first, service.headers("village", VILLAGE), action="advance")
    r = await service.client.get("/api/v1/cases", params={"state": "verification"}, headers=county)
    assert [c["id"] for c in r.json()["items"]] == [first]
    r = await service.client.get("/api/v1/cases", params={"overdue": "true"}, headers=county)
    assert r.json()["total"] == 0
    service.set_time(dt.datetime(2024, 3, 20, 9, 0, tzinfo=service.now[0].tzinfo))
    r = await service.client.get("/api/v1/cases", params={"overdue": "true"}, headers=county)
    assert r.json()["total"] == 3
    assert all(c["overdue"] for c in r.json()["items"])
    r = await service.client.get("/api/v1/cases", params={"page_size": 10_000, "page": 2}, headers=county)
    assert r.json()["page_size"] == 200
    assert r.json()["items"] == []
    r = await service.client.get("/api/v1/cases", params={"page_size": 2}, headers=county)
    assert len(r.json()["items"]) == 2
    assert r.json()["total"] == 3


async def test_elimination_guards_then_elimination_case(service: Service) -> None:
    case_id = await _open(service)
    await service.to_monitored(case_id)
    v = service.headers("village", VILLAGE)
    body = (await service.case(case_id, v)).json()
    assert body["state"] == "monitored"
    assert body["monitored_since"] == "2024-03-11"
    r = await service.act(case_id, v, action="propose_elimination", measures_since="2023-01-01")
    assert r.status_code == 409
    problem = r.json()
    assert problem["code"] == "elimination_min_months"
    assert "elimination_income_floor" in problem["violations"]  # 3,000 per person < 5,000
    assert "三个月" in problem["source"]
    service.advance_days(120)
    r = await service.act(case_id, v, action="propose_elimination", measures_since="2023-01-01")
    assert r.status_code == 409
    assert r.json()["code"] == "elimination_income_floor"
    # Anhui has no half-year rule (Liaoning's): without `measures_since` only the floor refuses
    r = await service.act(case_id, v, action="propose_elimination")
    assert r.status_code == 409
    assert r.json()["violations"] == ["elimination_income_floor"]


async def test_a_case_past_the_ten_day_department_comparison_is_overdue(service: Service) -> None:
    """DOMAIN.md §3: the county's department comparison takes at most 10 days. A county whose own
    time limit is 60 days still sees a case overdue once it has been in county review 11 days."""
    admin = service.headers("admin", "")
    version = {
        "service": "identification",
        "region_prefix": COUNTY,
        "effective_from": "2024-01-01",
        "parameters": {"identification_time_limit_days": 60},
        "source": "县政府通知 2024 第1号",
    }
    r = await service.client.post("/api/v1/admin/policies", json=version, headers=admin)
    assert r.status_code == 201, r.text
    case_id = await _open(service)
    v, t = service.headers("village", VILLAGE), service.headers("township", TOWNSHIP)
    for body in ({}, {"investigators": ["王五", "赵六"]}, {"note": "村民主评议通过"}):
        assert (await service.act(case_id, v, action="advance", **body)).status_code == 200
    service.advance_days(7)
    assert (await service.act(case_id, v, action="advance")).status_code == 200
    r = await service.act(case_id, t, action="advance", note="乡镇审核同意")
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "county_review"
    assert r.json()["comparison_due"] == "2024-03-21"  # entered on 2024-03-11
    assert r.json()["deadline"] == "2024-05-03"
    county = service.headers("county", COUNTY)

    async def overdue() -> list[str]:
        listed = await service.client.get("/api/v1/cases", params={"overdue": "true"}, headers=county)
        assert listed.status_code == 200
        return [c["id"] for c in listed.json()["items"]]

    service.advance_days(10)  # 2024-03-21: the tenth day, still in time
    assert await overdue() == []
    assert (await service.case(case_id, county)).json()["overdue"] is False
    service.advance_days(1)
    assert await overdue() == [case_id]
    assert (await service.case(case_id, county)).json()["overdue"] is True
    not_overdue = await service.client.get("/api/v1/cases", params={"overdue": "false"}, headers=county)
    assert case_id not in [c["id"] for c in not_overdue.json()["items"]]
    r = await service.act(case_id, county, action="advance", note="县级审定")
    assert r.status_code == 200, r.text
    assert await overdue() == []
