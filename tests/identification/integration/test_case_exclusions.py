"""The negative list stored on cases, over HTTP against a real database and NATS: an application
with a car keeps the exclusion and its evidence on the case; the county's approval is 409
`exclusion_standing` until a county officer overrides it with the village-assembly decision; the
case transitions, the override and policy versions are in the audit chain, which verifies and
detects an edited row."""

from __future__ import annotations

import sqlalchemy as sa

from services.identification.adapters.audit import audit_chain
from services.identification.adapters.orm_cases import case_exclusions
from shared.audit import verify_chain
from tests.identification.integration.test_cases_support import (
    COUNTY,
    TOWNSHIP,
    VILLAGE,
    Service,
    application,
    household,
    id_number,
    service,
)

__all__ = ["service"]

ASSEMBLY = {"date": "2024-03-08", "minutes_ref": "村民代表会议纪要〔2024〕3号"}


async def _to_county_review(svc: Service, case_id: str) -> None:
    v = svc.headers("village", VILLAGE)
    for body in (
        {"action": "advance"},
        {"action": "advance", "investigators": ["王五", "赵六"]},
        {"action": "advance", "note": "村民主评议通过"},
    ):
        r = await svc.act(case_id, v, **body)
        assert r.status_code == 200, r.text
    svc.advance_days(7)
    for h, body in (
        (v, {"action": "advance"}),
        (svc.headers("township", TOWNSHIP), {"action": "advance", "note": "乡镇审核同意"}),
    ):
        r = await svc.act(case_id, h, **body)
        assert r.status_code == 200, r.text


async def test_exclusion_blocks_monitored_until_the_county_overrides_it(service: Service) -> None:
    body = application(household=household(assets={"car": True}))
    r = await service.apply(body, service.headers("village", VILLAGE))
    assert r.status_code == 201, r.text
    case_id = r.json()["case_id"]
    county = service.headers("county", COUNTY)
    read = (await service.case(case_id, county)).json()
    [exclusion] = read["exclusions"]
    assert exclusion["code"] == "car"
    assert exclusion["overridden"] is False
    assert exclusion["override"] is None
    assert exclusion["inputs"] == {"assets.car": True}
    assert "篇十二" in exclusion["source"]
    assert exclusion["policy"]["id"]
    assert exclusion["policy"]["version"]
    assert "override_exclusion" in read["allowed_actions"]

    await _to_county_review(service, case_id)
    r = await service.act(case_id, county, action="advance", note="县级审定")
    assert r.status_code == 409, r.text
    problem = r.json()
    assert problem["code"] == "exclusion_standing"
    assert [e["code"] for e in problem["exclusions"]] == ["car"]
    assert (await service.case(case_id, county)).json()["allowed_actions"] == ["reject", "override_exclusion"]

    # a township officer may not, nor may a county officer without the assembly's decision
    r = await service.act(
        case_id, service.headers("township", TOWNSHIP), action="override_exclusion", reason="x", exclusion_code="car"
    )
    assert r.status_code == 409
    assert r.json()["code"] == "role_not_allowed"
    r = await service.act(case_id, county, action="override_exclusion", reason="代步车", exclusion_code="car")
    assert r.status_code == 409
    assert r.json()["code"] == "assembly_decision_required"
    r = await service.act(
        case_id, county, action="override_exclusion", exclusion_code="car", assembly_decision=ASSEMBLY
    )
    assert r.json()["code"] == "reason_required"
    r = await service.act(
        case_id,
        county,
        action="override_exclusion",
        exclusion_code="car",
        reason="残疾人代步车, 联系电话13912345678",
        assembly_decision=ASSEMBLY,
    )
    assert r.status_code == 200, r.text
    [exclusion] = r.json()["exclusions"]
    assert exclusion["overridden"] is True
    o = exclusion["override"]
    assert o["role"] == "county"
    assert o["assembly_decision"] == ASSEMBLY
    assert "13912345678" not in o["reason"]  # numbers masked in what is kept
    assert r.json()["state"] == "county_review"
    assert r.json()["allowed_actions"] == ["advance", "reject"]

    r = await service.act(case_id, county, action="advance", note="县级审定")
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "monitored"
    assert r.json()["exclusions"][0]["overridden"] is True

    # the audit chain: every transition and the override, verified
    r = await service.client.get("/api/v1/audit", params={"subject": case_id}, headers=county)
    assert r.status_code == 200, r.text
    audit = r.json()
    kinds = [(e["kind"], e["detail"].get("action"), e["detail"].get("to")) for e in audit["entries"]]
    assert kinds == [
        ("case_transition", "submit", "submitted"),
        ("case_transition", "advance", "verification"),
        ("case_transition", "advance", "village_review"),
        ("case_transition", "advance", "public_notice"),
        ("case_transition", "advance", "township_review"),
        ("case_transition", "advance", "county_review"),
        ("exclusion_override", None, None),
        ("case_transition", "advance", "monitored"),
    ]
    assert audit["entries"][0]["detail"]["exclusions"] == ["car"]
    override_entry = audit["entries"][6]
    assert override_entry["detail"]["assembly_decision"] == ASSEMBLY
    assert override_entry["detail"]["exclusion_code"] == "car"
    assert "13912345678" not in r.text
    assert audit["chain"]["verified"] is True
    seqs = [e["seq"] for e in audit["entries"]]
    assert seqs == sorted(seqs)
    for before, after in zip(audit["entries"], audit["entries"][1:], strict=False):
        if after["seq"] == before["seq"] + 1:
            assert after["prev_hash"] == before["hash"]
    household_id = read["household_id"]
    by_household = (await service.client.get("/api/v1/audit", params={"subject": household_id}, headers=county)).json()
    assert len(by_household["entries"]) == 8

    # who may read: county and above, within region (404-free: an empty list outside it)
    r = await service.client.get(
        "/api/v1/audit", params={"subject": case_id}, headers=service.headers("village", VILLAGE)
    )
    assert r.status_code == 403
    r = await service.client.get(
        "/api/v1/audit", params={"subject": case_id}, headers=service.headers("county", "341222")
    )
    assert r.status_code == 200
    assert r.json()["entries"] == []

    # stored evidence
    engine = service.client.app.state.ctx.engine  # type: ignore[attr-defined]
    async with engine.connect() as conn:
        row = (await conn.execute(sa.select(case_exclusions).where(case_exclusions.c.case_id == case_id))).one()
        assert row.overridden is True
        assert row.assembly_minutes_ref == ASSEMBLY["minutes_ref"]


async def test_an_edited_audit_row_breaks_the_chain(service: Service) -> None:
    r = await service.apply(application(), service.headers("village", VILLAGE))
    case_id = r.json()["case_id"]
    v = service.headers("village", VILLAGE)
    for body in (
        {"action": "advance"},
        {"action": "advance", "investigators": ["王五", "赵六"]},
        {"action": "advance", "note": "评议通过"},
        {"action": "object", "note": "收入不实"},
        {"action": "resolve_objection", "note": "经核实属实"},
    ):
        assert (await service.act(case_id, v, **body)).status_code == 200
    county = service.headers("county", COUNTY)
    entries = (await service.client.get("/api/v1/audit", params={"subject": case_id}, headers=county)).json()["entries"]
    assert [(e["detail"]["action"], e["detail"]["to"]) for e in entries[-2:]] == [
        ("object", "public_notice"),
        ("resolve_objection", "public_notice"),
    ]
    assert entries[-1]["detail"]["objection_id"] == "objection-1"
    assert entries[-2]["detail"]["note"] == "收入不实"
    assert (await service.client.get("/api/v1/audit", params={"subject": case_id}, headers=county)).json()["chain"][
        "verified"
    ]
    engine = service.client.app.state.ctx.engine  # type: ignore[attr-defined]
    async with engine.begin() as conn:
        await conn.execute(sa.update(audit_chain).where(audit_chain.c.seq == 1).values(actor="someone-else"))
    chain = (await service.client.get("/api/v1/audit", params={"subject": case_id}, headers=county)).json()["chain"]
    assert chain == {"verified": False, "scope": "full", "rows": 0, "broken_at": 1, "head_hash": "0" * 64}
    quick = (
        await service.client.get("/api/v1/audit", params={"subject": case_id, "verify": "entries"}, headers=county)
    ).json()["chain"]
    assert (quick["verified"], quick["scope"], quick["broken_at"]) == (False, "entries", 1)
    async with engine.connect() as conn:
        from sqlalchemy.ext.asyncio import AsyncSession

        async with AsyncSession(bind=conn) as session:
            assert (await verify_chain(session, audit_chain)).broken_at == 1


async def test_a_policy_version_is_in_the_chain(service: Service) -> None:
    admin = service.headers("admin", "")
    r = await service.client.post(
        "/api/v1/admin/policies",
        json={
            "service": "identification",
            "region_prefix": COUNTY,
            "effective_from": "2024-01-01",
            "parameters": {"monitoring_line": {"value": "7000", "source": "县政府通知 2024 第3号"}},
            "source": "县政府通知 2024 第3号",
            "id": "iden-341221-2024-audit",
        },
        headers=admin,
    )
    assert r.status_code == 201, r.text
    r = await service.client.get(
        "/api/v1/audit", params={"subject": "iden-341221-2024-audit"}, headers=service.headers("county", COUNTY)
    )
    [entry] = r.json()["entries"]
    assert entry["kind"] == "policy_version_added"
    assert entry["detail"]["parameters"]["monitoring_line"]["value"] == "7000"
    assert entry["role"] == "admin"


async def test_a_member_id_number_never_reaches_the_chain(service: Service) -> None:
    ids = [id_number(), id_number("19850505")]
    r = await service.apply(application(ids=ids, household=household(ids)), service.headers("village", VILLAGE))
    assert r.status_code == 201
    engine = service.client.app.state.ctx.engine  # type: ignore[attr-defined]
    async with engine.connect() as conn:
        text = " ".join(str(tuple(row)) for row in (await conn.execute(sa.select(audit_chain))).all())
    assert text
    assert not any(i in text for i in ids)
