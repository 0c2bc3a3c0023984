"""ID and phone numbers typed into identification's free text — an application's `reason`, review
notes, investigators, objection and resolution notes, reject reasons, signal payloads (strings
and phone-shaped numbers, nested) — are masked before they are stored: the responses and every
stored row (read with SQL, the outbox's event payloads included) hold only the masked forms."""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa

from services.identification.adapters.orm import metadata
from shared.identifiers import id_check_digit
from shared.pii import mask_id_number
from tests.identification.integration.test_cases_support import (
    COUNTY,
    TOWNSHIP,
    VILLAGE,
    Service,
    application,
    service,
)

__all__ = ["service"]

ID = "34122119680416369" + id_check_digit("34122119680416369")
TYPED = f"户主{ID.lower()}，电话13812345678，老证341221680416123，手机 +86 139-1234-5678，座机0558-2345678"
MASKED = f"户主{mask_id_number(ID)}，电话138****5678，老证341221******123，手机 +86 139****5678，座机0558-***5678"
CLEAR = (ID, ID.lower(), "13812345678", "341221680416123", "139-1234-5678", "0558-2345678")


def _clean(where: str, value: Any) -> None:
    text = json.dumps(value, ensure_ascii=False, default=str)
    for clear in CLEAR:
        assert clear not in text, f"{where}: {clear[:3]}… in clear"


def _ok(r: Any, status: int = 200) -> dict[str, Any]:
    assert r.status_code == status, r.text
    _clean(f"{r.request.method} {r.request.url.path}", r.json())
    return dict(r.json())


async def test_free_text_is_masked_in_responses_and_at_rest(service: Service) -> None:
    v = service.headers("village", VILLAGE)
    created = _ok(await service.apply(application(reason=TYPED), v), 201)
    case_id = created["case_id"]
    read = _ok(await service.client.get(f"/api/v1/applications/{created['id']}", headers=v))
    assert read["reason"] == MASKED
    _ok(await service.act(case_id, v, action="advance"))
    _ok(await service.act(case_id, v, action="advance", investigators=["王五 13812345678", "赵六"]))
    _ok(await service.act(case_id, v, action="advance", note=TYPED))
    _ok(await service.act(case_id, service.headers("county", COUNTY), action="object", note=TYPED))
    _ok(await service.act(case_id, v, action="resolve_objection", note=TYPED))
    service.advance_days(7)
    _ok(await service.act(case_id, v, action="advance"))
    rejected = _ok(await service.act(case_id, service.headers("township", TOWNSHIP), action="reject", reason=TYPED))
    assert rejected["state"] == "rejected"
    case = _ok(await service.case(case_id, service.headers("county", COUNTY)))
    notes = [h["note"] for h in case["history"] if h["note"] and "户主" in h["note"]]
    assert len(notes) == 4  # review, objection, resolution, rejection
    assert all(MASKED in n for n in notes)

    dept = service.headers("department", COUNTY, dept="yibao")
    signal = {
        "source_dept": "yibao",
        "signal_id": "s-pii",
        "kind": "hospital_stay",
        "household_id": created["household_id"],
        "region_code": VILLAGE,
        "observed_at": "2024-03-01T08:00:00+08:00",
        "payload": {"self_paid": "1000", "note": TYPED, "contact": 13912345678, "family": [{"id": ID}]},
    }
    _ok(await service.client.post("/api/v1/signals", json=[signal], headers=dept))

    async with service.client.app.state.ctx.engine.connect() as conn:  # type: ignore[attr-defined]
        [stored] = (await conn.execute(sa.text("SELECT payload FROM signals WHERE signal_id = 's-pii'"))).scalars()
        assert json.loads(stored) == {
            "self_paid": "1000",
            "note": MASKED,
            "contact": "139****5678",
            "family": [{"id": mask_id_number(ID)}],
        }
        reason = (await conn.execute(sa.text("SELECT reason FROM applications"))).scalar_one()
        assert reason == MASKED
        investigators = (await conn.execute(sa.text("SELECT investigators FROM cases"))).scalar_one()
        assert json.loads(investigators) == ["王五 138****5678", "赵六"]
        planted = 0
        for table in metadata.sorted_tables:  # every row of every table, the outbox too
            for row in (await conn.execute(sa.select(table))).all():
                values = {k: (v.decode("latin-1") if isinstance(v, bytes) else v) for k, v in row._mapping.items()}
                _clean(table.name, values)
                planted += json.dumps(values, ensure_ascii=False, default=str).count("138****5678")
    assert planted >= 7  # reason, investigators, four notes, the reject reason (case too), the payload


async def test_case_texts_stored_in_clear_are_masked_when_read(service: Service) -> None:
    """A case row written in clear (before the scanner, or by a replica of the version before
    during a rolling deploy) is read masked: its reason, objections, investigators, history."""
    v = service.headers("village", VILLAGE)
    created = _ok(await service.apply(application(), v), 201)
    case_id = created["case_id"]
    _ok(await service.act(case_id, v, action="advance"))
    _ok(await service.act(case_id, v, action="advance", investigators=["王五", "赵六"]))
    _ok(await service.act(case_id, v, action="advance", note="评议通过"))
    _ok(await service.act(case_id, service.headers("county", COUNTY), action="object", note="收入不实"))
    async with service.client.app.state.ctx.engine.begin() as conn:  # type: ignore[attr-defined]
        objections = json.loads((await conn.execute(sa.text("SELECT objections FROM cases"))).scalar_one())
        objections[0]["text"] = TYPED
        await conn.execute(
            sa.text("UPDATE cases SET reason = :r, investigators = :i, objections = :o"),
            {"r": TYPED, "i": json.dumps([TYPED, "赵六"], ensure_ascii=False), "o": json.dumps(objections)},
        )
        await conn.execute(sa.text("UPDATE case_history SET note = :n"), {"n": TYPED})
    case = _ok(await service.case(case_id, service.headers("county", COUNTY)))
    assert {h["note"] for h in case["history"]} == {MASKED}
    assert case["reason"] == MASKED
    application_read = _ok(await service.client.get(f"/api/v1/applications/{created['id']}", headers=v))
    assert {h["note"] for h in application_read["history"]} == {MASKED}
    # the next step writes the masked values back
    _ok(await service.act(case_id, v, action="resolve_objection", note="经核实"))
    async with service.client.app.state.ctx.engine.connect() as conn:  # type: ignore[attr-defined]
        row = (await conn.execute(sa.text("SELECT reason, investigators, objections FROM cases"))).one()
    _clean("cases", list(row))
    assert json.loads(row.investigators) == [MASKED, "赵六"]
