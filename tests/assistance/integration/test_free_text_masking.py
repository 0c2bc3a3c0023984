"""ID and phone numbers typed into assistance's free text (measure reasons, descriptions, notes,
outcomes, drop reasons, reassignment reasons, contacts' units, visit findings and attachments,
employment surveys, services, employers, posts) are masked before they are stored: every response
and every stored row (read with SQL) hold only the masked forms."""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa

from services.assistance.adapters.orm import metadata
from shared.identifiers import id_check_digit
from shared.pii import mask_id_number
from tests.assistance.integration.conftest import COUNTY, VILLAGE, Service

ID = "34122119680416369" + id_check_digit("34122119680416369")
TYPED = f"户主{ID}，电话13812345678，老证341221680416123，手机 +86 139 1234 5678"
MASKED = f"户主{mask_id_number(ID)}，电话138****5678，老证341221******123，手机 +86 139****5678"
CLEAR = (ID, "13812345678", "341221680416123", "139 1234 5678")


def _clean(where: str, value: Any) -> None:
    text = json.dumps(value, ensure_ascii=False, default=str)
    for clear in CLEAR:
        assert clear not in text, f"{where}: {clear[:3]}… in clear"


async def _ok(service: Service, r: Any, status: int = 200) -> dict[str, Any]:
    assert r.status_code == status, r.text
    _clean(f"{r.request.method} {r.request.url.path}", r.json())
    return dict(r.json())


async def test_free_text_is_masked_in_responses_and_at_rest(service: Service) -> None:
    h = service.headers()
    r = await service.client.post(
        "/api/v1/contacts",
        json={"region_code": VILLAGE, "name": "王小明", "phone": "13812345678", "unit": TYPED},
        headers=service.headers("township", VILLAGE[:9]),
    )
    contact = await _ok(service, r, 201)
    assert contact["unit"] == MASKED
    other = await _ok(
        service,
        await service.client.post(
            "/api/v1/contacts", json={"region_code": VILLAGE, "name": "赵大"}, headers=service.headers("township")
        ),
        201,
    )
    plan = await service.identified_plan()
    [m] = plan["measures"]
    r = await service.client.patch(
        f"/api/v1/measures/{m['id']}", json={"reason": TYPED, "description": TYPED, "version": 1}, headers=h
    )
    assert (await _ok(service, r))["description"] == MASKED  # the edit's reason goes to the history
    assert (await _ok(service, await service.act(m["id"], action="accept", note=TYPED)))["status"] == "accepted"
    r = await service.client.post(
        f"/api/v1/plans/{plan['id']}/measures",
        json={"type": "education", "reason": TYPED, "description": TYPED},
        headers=h,
    )
    added = await _ok(service, r, 201)
    assert added["description"] == MASKED
    await _ok(service, await service.act(added["id"], action="drop", reason=TYPED))
    dept = service.headers("department", COUNTY, dept="medical_insurance")
    await _ok(service, await service.act(m["id"], action="refer", note=TYPED))
    await _ok(service, await service.act(m["id"], dept, action="start", note=TYPED))
    closed = await _ok(service, await service.act(m["id"], dept, action="close", outcome=TYPED, note=TYPED))
    assert closed["outcome"] == MASKED
    target = other["id"] if plan["contact_person"] and plan["contact_person"]["id"] == contact["id"] else contact["id"]
    r = await service.client.post(
        f"/api/v1/plans/{plan['id']}/contact", json={"contact_id": target, "reason": TYPED}, headers=h
    )
    moved = await _ok(service, r)
    assert moved["contact_history"][-1]["reason"] == MASKED
    r = await service.client.post(
        "/api/v1/visits",
        json={
            "household_id": plan["household_id"],
            "visited_on": "2024-03-04",
            "findings": TYPED,
            "attachments": [TYPED, "file://visits/photo-1"],
        },
        headers=h,
    )
    await _ok(service, r, 201)
    survey = {"person_ref": "p-1", "household_id": plan["household_id"], "industry": TYPED, "unwilling_reason": TYPED}
    record = await _ok(service, await service.client.post("/api/v1/employment/records", json=survey, headers=h))
    assert record["survey"]["industry"] == MASKED
    r = await service.client.post(
        f"/api/v1/employment/records/{record['id']}/services",
        json={"kind": "training", "provided_on": "2024-03-02", "detail": TYPED},
        headers=h,
    )
    await _ok(service, r, 201)
    placement = {
        "person_ref": "p-1",
        "employer": TYPED,
        "contract_months": 12,
        "social_insurance": True,
        "work_location": "in_county",
        "stable_months": 6,
        "age": 42,
        "placed_on": "2024-03-01",
    }
    await _ok(service, await service.client.post("/api/v1/employment/placements", json=placement, headers=h), 201)
    wage = {"person_ref": "p-1", "year": 2023, "annual_wage": "4800", "post": TYPED}
    await _ok(service, await service.client.post("/api/v1/employment/post-wages", json=wage, headers=h), 201)

    # every read shows the masked forms only
    for path, params in [
        (f"/api/v1/plans/{plan['id']}", {}),
        ("/api/v1/plans", {"household_id": plan["household_id"]}),
        ("/api/v1/measures", {"region": VILLAGE}),
        (f"/api/v1/measures/{m['id']}", {}),
        ("/api/v1/contacts", {"region": VILLAGE}),
        (f"/api/v1/contacts/{contact['id']}", {}),
        ("/api/v1/visits", {"household_id": plan["household_id"]}),
        ("/api/v1/employment/records", {"region": VILLAGE}),
        (f"/api/v1/employment/records/{record['id']}", {}),
    ]:
        await _ok(service, await service.client.get(path, params=params, headers=h))
    detail = (await service.client.get(f"/api/v1/plans/{plan['id']}", headers=h)).json()
    notes = [x["note"] for x in detail["measures"][0]["history"] if x["note"] and "户主" in x["note"]]
    assert len(notes) == 5  # edit, accept, refer, start, close
    assert all(n.endswith(MASKED) for n in notes)

    # at rest: every table, every row, read with SQL
    planted = 0
    async with service.ctx.engine.connect() as conn:
        for table in metadata.sorted_tables:
            for row in (await conn.execute(sa.select(table))).all():
                values = {k: (v.decode("latin-1") if isinstance(v, bytes) else v) for k, v in row._mapping.items()}
                _clean(table.name, values)
                planted += json.dumps(values, ensure_ascii=False, default=str).count(MASKED)
    # unit; reason, description ×2 (edit, new measure); 4 notes + drop reason + outcome (measure
    # history and columns); reassignment reason; findings and an attachment; two survey fields;
    # service detail; employer; post
    assert planted >= 18


async def test_rows_stored_in_clear_are_masked_when_read(service: Service) -> None:
    """A row written in clear (before the scanner, or by a replica of the version before during a
    rolling deploy, after the migration ran) is shown masked all the same."""
    h = service.headers()
    await service.add_contact()
    plan = await service.identified_plan()
    [m] = plan["measures"]
    r = await service.client.post(
        "/api/v1/visits",
        json={"household_id": plan["household_id"], "visited_on": "2024-03-04", "findings": "x"},
        headers=h,
    )
    assert r.status_code == 201, r.text
    survey = {"person_ref": "p-1", "household_id": plan["household_id"], "industry": "x"}
    record = await _ok(service, await service.client.post("/api/v1/employment/records", json=survey, headers=h))
    r = await service.client.post(
        f"/api/v1/employment/records/{record['id']}/services",
        json={"kind": "training", "provided_on": "2024-03-02", "detail": "x"},
        headers=h,
    )
    assert r.status_code == 201, r.text
    t = metadata.tables
    async with service.ctx.engine.begin() as conn:
        await conn.execute(
            t["measures"].update().values(reason=TYPED, description=TYPED, outcome=TYPED, drop_reason=TYPED)
        )
        await conn.execute(t["plan_history"].update().values(note=TYPED))
        await conn.execute(t["measure_history"].update().values(note=TYPED))
        await conn.execute(t["contacts"].update().values(unit=TYPED))
        await conn.execute(t["visits"].update().values(findings=TYPED, attachments=[TYPED]))
        await conn.execute(t["employment_records"].update().values(survey={"industry": TYPED}))
        await conn.execute(t["employment_services"].update().values(detail=TYPED))
    detail = await _ok(service, await service.client.get(f"/api/v1/plans/{plan['id']}", headers=h))
    measure = detail["measures"][0]
    assert [measure[k] for k in ("reason", "description", "outcome", "drop_reason")] == [MASKED] * 4
    assert {x["note"] for x in detail["history"] + measure["history"]} == {MASKED}
    assert detail["contact_person"]["unit"] == MASKED
    await _ok(service, await service.client.get(f"/api/v1/measures/{m['id']}", headers=h))
    await _ok(service, await service.client.get("/api/v1/contacts", params={"region": VILLAGE}, headers=h))
    visits = await _ok(
        service, await service.client.get("/api/v1/visits", params={"household_id": plan["household_id"]}, headers=h)
    )
    assert visits["items"][0]["findings"] == MASKED
    assert visits["items"][0]["attachments"] == [MASKED]
    got = await _ok(service, await service.client.get(f"/api/v1/employment/records/{record['id']}", headers=h))
    assert got["survey"] == {"industry": MASKED}
    assert got["services"][0]["detail"] == MASKED
