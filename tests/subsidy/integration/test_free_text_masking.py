"""ID and phone numbers typed into a decision's notes and a rejection's reason are masked before
they are stored: the responses and the stored row (read with SQL) hold only the masked forms."""

from __future__ import annotations

import json
import uuid
from typing import Any

import sqlalchemy as sa

from services.subsidy.adapters.orm import metadata
from shared.identifiers import id_check_digit
from shared.pii import mask_id_number
from tests.subsidy.integration.conftest import COUNTY, VILLAGE

URL = "/api/v1/subsidies/decisions"
ID = "34122119680416369" + id_check_digit("34122119680416369")
TYPED = f"经办人 13812345678，户主 {ID[:6]} {ID[6:14]} {ID[14:]}"
MASKED = f"经办人 138****5678，户主 {mask_id_number(ID)}"
CLEAR = (ID, "13812345678", f"{ID[:6]} {ID[6:14]} {ID[14:]}")


def _clean(where: str, value: Any) -> None:
    text = json.dumps(value, ensure_ascii=False, default=str)
    for clear in CLEAR:
        assert clear not in text, f"{where}: {clear[:3]}… in clear"


async def test_decision_notes_and_reasons_are_masked(client: Any, as_role: Any) -> None:
    county = as_role("county", COUNTY, sub="chief-1")
    inputs = {
        "person_id": "person-1",
        "work_location": "out_of_province",
        "contract_months": 12,
        "social_insurance": True,
    }
    body = {
        "kind": "transport_allowance",
        "region_code": VILLAGE,
        "as_of": "2020-06-01",
        "inputs": inputs,
        "note": TYPED,
    }
    r = await client.post(URL, json=body, headers={**county, "Idempotency-Key": str(uuid.uuid4())})
    assert r.status_code == 201, r.text
    _clean("create", r.json())
    d = r.json()
    r = await client.post(f"{URL}/{d['id']}/approve", json={"note": TYPED}, headers=county)
    assert r.status_code == 200, r.text
    _clean("approve", r.json())
    r = await client.post(f"{URL}/{d['id']}/reject", json={"reason": TYPED}, headers=county)
    assert r.status_code == 200, r.text
    _clean("reject", r.json())
    assert r.json()["rejection_reason"] == MASKED
    read = await client.get(f"{URL}/{d['id']}", headers=county)
    _clean("read", read.json())
    assert [h.get("note") for h in read.json()["history"]][:2] == [MASKED, MASKED]
    listed = await client.get(URL, headers=county)
    _clean("list", listed.json())
    async with client.app.state.ctx.engine.connect() as conn:
        for table in metadata.sorted_tables:
            for row in (await conn.execute(sa.select(table))).all():
                _clean(table.name, dict(row._mapping))
        row = (await conn.execute(sa.text("SELECT history, rejection_reason FROM decisions"))).one()
    assert row.rejection_reason == MASKED
    assert json.dumps(json.loads(row.history), ensure_ascii=False).count(MASKED) == 3  # two notes, the reason


async def test_decisions_stored_in_clear_are_masked_when_read(client: Any, as_role: Any) -> None:
    county = as_role("county", COUNTY, sub="chief-1")
    inputs = {
        "person_id": "person-2",
        "work_location": "out_of_province",
        "contract_months": 12,
        "social_insurance": True,
    }
    body = {"kind": "transport_allowance", "region_code": VILLAGE, "as_of": "2020-06-01", "inputs": inputs}
    r = await client.post(URL, json=body, headers={**county, "Idempotency-Key": str(uuid.uuid4())})
    assert r.status_code == 201, r.text
    history = json.dumps([{**r.json()["history"][0], "note": TYPED}], ensure_ascii=False)
    async with client.app.state.ctx.engine.begin() as conn:
        await conn.execute(metadata.tables["decisions"].update().values(rejection_reason=TYPED, history=history))
    for got in (await client.get(f"{URL}/{r.json()['id']}", headers=county), await client.get(URL, headers=county)):
        assert got.status_code == 200, got.text
        _clean("read", got.json())
    read = (await client.get(f"{URL}/{r.json()['id']}", headers=county)).json()
    assert read["rejection_reason"] == MASKED
    assert read["history"][0]["note"] == MASKED
