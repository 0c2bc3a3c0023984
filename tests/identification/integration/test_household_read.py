"""Reading a household: ID numbers masked by default; in clear only for county and above, with
a reason, and every such read leaves exactly one row in the hash-chained audit log."""

from __future__ import annotations

import sqlalchemy as sa

from services.identification.adapters.audit import audit_log, verify_chain
from tests.identification.integration.test_cases_support import (
    COUNTY,
    OTHER_VILLAGE,
    VILLAGE,
    Service,
    application,
    id_number,
    service,
)

__all__ = ["service"]


async def _audit_rows(service: Service) -> list[sa.Row]:
    ctx = service.client.app.state.ctx
    async with ctx.sessions() as session:
        return list((await session.execute(sa.select(audit_log).order_by(audit_log.c.seq))).all())


async def test_masked_by_default_clear_only_for_county_with_a_reason_and_audited(service: Service) -> None:
    head = id_number()
    created = (
        await service.apply(
            application(VILLAGE, ids=[head, id_number("19850505")]), service.headers("village", VILLAGE)
        )
    ).json()
    hid = created["household_id"]
    url = f"/api/v1/households/{hid}"

    r = await service.client.get(url, headers=service.headers("village", VILLAGE))
    assert r.status_code == 200, r.text
    first = r.json()["members"][0]
    assert first["id_number"] == head[:6] + "********" + head[14:]
    assert first["name"] is None
    assert head not in r.text
    assert await _audit_rows(service) == []  # a masked read is not an unmasked read

    r = await service.client.get(
        url, params={"reveal": "id_number", "reason": "核对"}, headers=service.headers("village", VILLAGE)
    )
    assert r.status_code == 403
    r = await service.client.get(url, params={"reveal": "id_number"}, headers=service.headers("county", COUNTY))
    assert r.status_code == 422
    assert r.json()["errors"][0]["path"] == "reason"
    r = await service.client.get(
        url, params={"reveal": "id_number", "reason": "核对"}, headers=service.headers("county", "341222")
    )
    assert r.status_code == 404  # another county: does not exist for it
    assert await _audit_rows(service) == []

    county = {**service.headers("county", COUNTY), "x-request-id": "req-audit-1"}
    r = await service.client.get(
        url, params={"reveal": "id_number", "reason": "医保比对 (medical cross-check)"}, headers=county
    )
    assert r.status_code == 200, r.text
    assert r.json()["members"][0]["id_number"] == head
    assert r.json()["members"][0]["name"] == "张三"
    rows = await _audit_rows(service)
    assert len(rows) == 1
    assert (rows[0].role, rows[0].household_id, rows[0].reason, rows[0].request_id) == (
        "county",
        hid,
        "医保比对 (medical cross-check)",
        "req-audit-1",
    )
    await service.client.get(url, params={"reveal": "id_number", "reason": "再次核对"}, headers=county)
    ctx = service.client.app.state.ctx
    async with ctx.sessions() as session:
        assert await verify_chain(session)
    async with ctx.sessions() as session:  # someone edits a row behind the system's back
        await session.execute(sa.update(audit_log).where(audit_log.c.seq == rows[0].seq).values(reason="nothing"))
        await session.commit()
    async with ctx.sessions() as session:
        assert not await verify_chain(session)

    other = await service.client.get(url, headers=service.headers("village", OTHER_VILLAGE))
    assert other.status_code == 404


async def test_audit_chain_detects_a_deleted_row(service: Service) -> None:
    created = (await service.apply(application(VILLAGE, ids=[id_number()]), service.headers("village", VILLAGE))).json()
    url = f"/api/v1/households/{created['household_id']}"
    for i in range(3):
        county = {**service.headers("county", COUNTY), "x-request-id": f"req-del-{i}"}
        r = await service.client.get(url, params={"reveal": "id_number", "reason": f"核对 {i}"}, headers=county)
        assert r.status_code == 200, r.text
    rows = await _audit_rows(service)
    assert [r.request_id for r in rows] == ["req-del-0", "req-del-1", "req-del-2"]
    ctx = service.client.app.state.ctx
    async with ctx.sessions() as session:
        assert await verify_chain(session)
    async with ctx.sessions() as session:  # a row removed from the middle of the log
        await session.execute(sa.delete(audit_log).where(audit_log.c.seq == rows[1].seq))
        await session.commit()
    async with ctx.sessions() as session:
        assert not await verify_chain(session)
