"""Matching only inside the caller's jurisdiction (issue #22) and one person in two households
(issue #16), over HTTP against a real database and NATS.

RT-VICTIM-1/2/3 are the issue's reproductions: before the fix an application or an import row of
county 341221 took over a household of county 341222 (moved it, dropped a member, overwrote it).
Now the other county's household never changes, the request is refused with a neutral 409
`household_conflict` (an import: that row), and a duplicate is recorded for the level above."""

from __future__ import annotations

import json
from typing import Any

import httpx
import sqlalchemy as sa

from services.identification.adapters.orm_duplicates import household_duplicates
from tests.identification.integration.test_cases_support import Service, household, id_number, service

__all__ = ["service"]

URL = "/api/v1/households/import"
NDJSON = {"content-type": "application/x-ndjson"}
VICTIM_VILLAGE = "341222001001"
MY_VILLAGE = "341221001201"
MY_OTHER_VILLAGE = "341221001202"


def _row(number: str, region: str, ids: list[str]) -> dict[str, Any]:
    return {**household(ids), "household_number": number, "region_code": region}


async def _import(svc: Service, county: str, rows: list[dict[str, Any]]) -> dict[str, Any]:
    body = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode()
    r = await svc.client.post(URL, content=body, headers=NDJSON | svc.headers("county", county))
    assert r.status_code == 202, r.text
    job = r.json()
    assert job["status"] == "completed", job
    return job


async def _household_id(svc: Service, number: str) -> str:
    ctx = svc.client.app.state.ctx  # type: ignore[attr-defined]
    async with ctx.engine.connect() as conn:
        return str(
            (
                await conn.execute(sa.text("SELECT id FROM households WHERE household_number = :n"), {"n": number})
            ).scalar_one()
        )


async def _read(svc: Service, household_id: str, county: str) -> dict[str, Any]:
    r = await svc.client.get(f"/api/v1/households/{household_id}", headers=svc.headers("county", county))
    assert r.status_code == 200, r.text
    return r.json()


async def _snapshot(svc: Service, household_id: str, county: str) -> dict[str, Any]:
    """What the owning county sees of a household, plus its stored version and content hash."""
    body = await _read(svc, household_id, county)
    ctx = svc.client.app.state.ctx  # type: ignore[attr-defined]
    async with ctx.engine.connect() as conn:
        row = (
            await conn.execute(
                sa.text("SELECT version, content_hash, region_code, updated_at FROM households WHERE id = :i"),
                {"i": household_id},
            )
        ).one()
    return {"read": body, "row": tuple(row)}


async def _duplicates(svc: Service) -> list[Any]:
    ctx = svc.client.app.state.ctx  # type: ignore[attr-defined]
    async with ctx.engine.connect() as conn:
        return list((await conn.execute(sa.select(household_duplicates).order_by(household_duplicates.c.id))).all())


async def _events(svc: Service, name: str) -> list[dict[str, Any]]:
    ctx = svc.client.app.state.ctx  # type: ignore[attr-defined]
    outbox = ctx.tables["outbox"]
    async with ctx.engine.connect() as conn:
        payloads = (await conn.execute(sa.select(outbox.c.payload))).scalars().all()
    events = [json.loads(p) for p in payloads]
    return [e for e in events if e["type"] == f"cn.fangfan.household.{name}.v1"]


def _assert_neutral(r: httpx.Response, *secrets: str) -> None:
    assert r.status_code == 409, r.text
    body = r.json()
    assert body["code"] == "household_conflict"
    for s in secrets:
        assert s not in r.text


async def test_rt_victim_1_application_by_member_id_never_moves_another_countys_household(service: Service) -> None:
    v1, v2 = id_number(county="341222"), id_number("19850505", county="341222")
    job = await _import(service, "341222", [_row("RT-VICTIM-1", VICTIM_VILLAGE, [v1, v2])])
    assert job["rows_done"] == 1
    victim = await _household_id(service, "RT-VICTIM-1")
    before = await _snapshot(service, victim, "341222")

    me = id_number()
    citizen = service.headers("citizen", MY_VILLAGE, sub=me)
    body = {
        "region_code": MY_VILLAGE,
        "household": household([v1, me]),
        "reason": "收入下降",
        "risk_types": ["illness"],
        "consent": {"commitment": True, "asset_query_authorized": True},
    }
    r = await service.apply(body, citizen)
    _assert_neutral(r, victim, VICTIM_VILLAGE, "RT-VICTIM-1", v1, v2)
    assert await _snapshot(service, victim, "341222") == before  # same region, members, version
    assert len(before["read"]["members"]) == 2
    # the same key again is not a replay of a stored success: still refused, still unchanged
    assert (await service.apply(body, citizen)).status_code == 409
    assert await _snapshot(service, victim, "341222") == before

    dups = await _duplicates(service)
    assert len(dups) == 1
    d = dups[0]
    assert (d.match, d.household_id, d.region_code, d.other_household_id, d.other_region_code) == (
        "id_number",
        victim,
        VICTIM_VILLAGE,
        None,
        MY_VILLAGE,
    )
    assert (d.resolve_region, d.origin, d.refused, d.status, d.seen) == ("34", "application", True, "open", 2)
    assert d.person_masked == v1[:6] + "********" + v1[14:]
    assert v1 not in d.history
    assert me not in d.history
    assert me not in d.found_by
    # the audit trail: who, when, origin — twice
    assert [h["event"] for h in json.loads(d.history)] == ["found", "seen"]
    assert all(h["origin"] == "application" and h["role"] == "citizen" for h in json.loads(d.history))

    found = await _events(service, "duplicate_found")
    assert len(found) == 1
    assert found[0]["data"]["household_id"] == victim
    assert found[0]["region"] == "34"
    assert v1 not in json.dumps(found)
    assert me not in json.dumps(found)

    # the province covering both lists it; neither county does (it is not theirs to resolve)
    prov = await service.client.get("/api/v1/households/duplicates", headers=service.headers("province", "34"))
    assert prov.status_code == 200, prov.text
    assert [i["id"] for i in prov.json()["items"]] == [d.id]
    assert v1 not in prov.text
    for county in ("341221", "341222"):
        mine = await service.client.get("/api/v1/households/duplicates", headers=service.headers("county", county))
        assert mine.json()["items"] == []


async def test_rt_victim_2_import_row_by_household_number_is_a_row_error(service: Service) -> None:
    theirs = [id_number(county="341222"), id_number("19850505", county="341222")]
    await _import(service, "341222", [_row("RT-VICTIM-2", VICTIM_VILLAGE, theirs)])
    victim = await _household_id(service, "RT-VICTIM-2")
    before = await _snapshot(service, victim, "341222")

    mine = _row("MY-0001", MY_VILLAGE, [id_number(), id_number("19900101")])
    hostile = _row("RT-VICTIM-2", MY_VILLAGE, [id_number(), id_number("19910101")])
    job = await _import(service, "341221", [mine, hostile])
    assert job["rows_done"] == 1
    assert job["rows_failed"] == 1
    assert job["result"]["inserted"] == 1
    assert job["result"]["updated"] == 0
    assert job["result"]["conflicts"] == 1
    (error,) = job["errors"]
    assert error["line"] == 2
    assert error["code"] == "household_conflict"
    assert error["path"] == "household_number"
    assert victim not in json.dumps(job)
    assert VICTIM_VILLAGE not in json.dumps(job)
    assert await _snapshot(service, victim, "341222") == before
    # re-sending the file changes nothing either
    again = await _import(service, "341221", [mine, hostile])
    assert again["rows_failed"] == 1
    assert await _snapshot(service, victim, "341222") == before
    (d,) = await _duplicates(service)
    assert (d.match, d.household_id, d.other_region_code, d.origin, d.seen) == (
        "household_number",
        victim,
        MY_VILLAGE,
        "import",
        2,
    )
    assert d.person_index is None
    assert d.resolve_region == "34"


async def test_rt_victim_3_application_by_household_number_is_refused(service: Service) -> None:
    theirs = [id_number(county="341222"), id_number("19850505", county="341222")]
    await _import(service, "341222", [_row("RT-VICTIM-3", VICTIM_VILLAGE, theirs)])
    victim = await _household_id(service, "RT-VICTIM-3")
    before = await _snapshot(service, victim, "341222")
    body = {
        "region_code": MY_VILLAGE,
        "household": household(),
        "reason": "收入下降",
        "risk_types": ["illness"],
        "consent": {"commitment": True, "asset_query_authorized": True},
        "household_number": "RT-VICTIM-3",
    }
    r = await service.apply(body, service.headers("village", MY_VILLAGE))
    _assert_neutral(r, victim, VICTIM_VILLAGE)
    assert await _snapshot(service, victim, "341222") == before
    # a province officer covering both may still apply for it: that is inside their jurisdiction
    ok = await service.apply(dict(body, household=household(theirs)), service.headers("province", "34"))
    assert ok.status_code == 201, ok.text
    assert ok.json()["household_id"] == victim


async def test_one_person_in_two_households_of_one_county_is_flagged_and_kept(service: Service) -> None:
    p = id_number()
    first = _row("DUP-A", MY_VILLAGE, [p, id_number("19700101")])
    second = _row("DUP-B", MY_OTHER_VILLAGE, [id_number("19720101"), p, id_number("19990101")])
    await _import(service, "341221", [first])
    job = await _import(service, "341221", [second])
    assert job["rows_done"] == 1
    assert job["result"]["duplicates"] == 1
    a, b = await _household_id(service, "DUP-A"), await _household_id(service, "DUP-B")
    (d,) = await _duplicates(service)
    assert (d.household_id, d.other_household_id, d.resolve_region, d.refused) == (a, b, "341221", False)
    # re-sending the same file: unchanged, not flagged twice
    again = await _import(service, "341221", [second])
    assert again["result"]["unchanged"] == 1
    assert len(await _duplicates(service)) == 1

    county = service.headers("county", "341221")
    listed = await service.client.get("/api/v1/households/duplicates", params={"status": "open"}, headers=county)
    assert [i["id"] for i in listed.json()["items"]] == [d.id]
    assert p not in listed.text
    # another county: 404 on resolve, an empty list for its region, nothing for a village officer
    other = service.headers("county", "341222")
    assert (await service.client.get("/api/v1/households/duplicates", headers=other)).json()["items"] == []
    r = await service.client.post(
        f"/api/v1/households/duplicates/{d.id}/resolve", json={"action": "keep", "note": "x"}, headers=other
    )
    assert r.status_code == 404
    village = service.headers("village", MY_VILLAGE)
    r = await service.client.post(
        f"/api/v1/households/duplicates/{d.id}/resolve", json={"action": "keep", "note": "x"}, headers=village
    )
    assert r.status_code == 403

    r = await service.client.post(
        f"/api/v1/households/duplicates/{d.id}/resolve",
        json={"action": "keep", "note": f"核实：户籍在A户，身份证{p}"},
        headers=county,
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "resolved"
    assert body["resolution"] == "keep"
    assert p not in r.text  # the note is kept masked
    assert len((await _read(service, a, "341221"))["members"]) == 2
    kept_b = await _read(service, b, "341221")
    assert len(kept_b["members"]) == 2
    assert kept_b["region_code"] == MY_OTHER_VILLAGE
    assert p[:6] + "********" + p[14:] not in {m["id_number"] for m in kept_b["members"]}
    again = await service.client.post(
        f"/api/v1/households/duplicates/{d.id}/resolve", json={"action": "move", "note": "y"}, headers=county
    )
    assert again.status_code == 409
    assert again.json()["code"] == "duplicate_resolved"
    (resolved,) = await _events(service, "duplicate_resolved")
    assert resolved["data"]["resolution"] == "keep"
    assert resolved["data"]["changed_household_ids"] == [b]
    assert p not in json.dumps(resolved)
    done = await service.client.get("/api/v1/households/duplicates", params={"status": "resolved"}, headers=county)
    assert [h["event"] for h in done.json()["items"][0]["history"]] == ["found", "resolved"]


async def test_move_and_split(service: Service) -> None:
    p, q = id_number(), id_number("19750505")
    await _import(service, "341221", [_row("MV-A", MY_VILLAGE, [p, id_number("19700101")])])
    await _import(service, "341221", [_row("MV-B", MY_OTHER_VILLAGE, [id_number("19720101"), p])])
    await _import(service, "341221", [_row("SP-A", MY_VILLAGE, [q, id_number("19600101")])])
    await _import(service, "341221", [_row("SP-B", MY_OTHER_VILLAGE, [id_number("19620101"), q])])
    mv, sp = await _duplicates(service)
    county = service.headers("county", "341221")

    def resolve(dup_id: str, **body: Any) -> Any:
        return service.client.post(f"/api/v1/households/duplicates/{dup_id}/resolve", json=body, headers=county)

    r = await resolve(mv.id, action="move", note="已迁入B户")
    assert r.status_code == 200, r.text
    a, b = await _household_id(service, "MV-A"), await _household_id(service, "MV-B")
    assert len((await _read(service, a, "341221"))["members"]) == 1
    assert len((await _read(service, b, "341221"))["members"]) == 2

    bad = await resolve(sp.id, action="split", note="分户", region_code="341222001001")
    assert bad.status_code == 422
    r = await resolve(sp.id, action="split", note="分户", region_code=MY_OTHER_VILLAGE)
    assert r.status_code == 200, r.text
    alone = r.json()["split_household_id"]
    own = await _read(service, alone, "341221")
    assert own["region_code"] == MY_OTHER_VILLAGE
    assert len(own["members"]) == 1
    assert own["members"][0]["relation"] == "head"
    for number in ("SP-A", "SP-B"):
        h = await _read(service, await _household_id(service, number), "341221")
        assert len(h["members"]) == 1
        assert h["region_code"] == (MY_VILLAGE if number == "SP-A" else MY_OTHER_VILLAGE)


async def test_the_last_member_is_never_removed_and_a_refused_request_cannot_be_moved(service: Service) -> None:
    p = id_number(county="341222")
    await _import(service, "341222", [_row("LAST-A", VICTIM_VILLAGE, [p])])
    body = {
        "region_code": MY_VILLAGE,
        "household": household([p, id_number()]),
        "reason": "收入下降",
        "risk_types": ["illness"],
        "consent": {"commitment": True, "asset_query_authorized": True},
    }
    assert (await service.apply(body, service.headers("county", "341221"))).status_code == 409
    (d,) = await _duplicates(service)
    province = service.headers("province", "34")
    url = f"/api/v1/households/duplicates/{d.id}/resolve"
    r = await service.client.post(url, json={"action": "move", "note": "x"}, headers=province)
    assert r.status_code == 409
    assert r.json()["code"] == "no_other_household"
    r = await service.client.post(url, json={"action": "split", "note": "x"}, headers=province)
    assert r.status_code == 409
    assert r.json()["code"] == "last_member"
    r = await service.client.post(url, json={"action": "keep", "note": "留在原户"}, headers=province)
    assert r.status_code == 200
    assert r.json()["resolution"] == "keep"
    victim = await _household_id(service, "LAST-A")
    assert len((await _read(service, victim, "341222"))["members"]) == 1


async def test_an_application_naming_members_of_two_households_of_the_jurisdiction_flags_one(
    service: Service,
) -> None:
    a1, b1 = id_number(), id_number("19700303")
    await _import(service, "341221", [_row("AP-A", MY_VILLAGE, [a1, id_number("19710101")])])
    await _import(service, "341221", [_row("AP-B", MY_VILLAGE, [b1, id_number("19720101")])])
    body = {
        "region_code": MY_VILLAGE,
        "household": household([a1, b1]),
        "reason": "收入下降",
        "risk_types": ["illness"],
        "consent": {"commitment": True, "asset_query_authorized": True},
    }
    r = await service.apply(body, service.headers("village", MY_VILLAGE))
    assert r.status_code == 201, r.text
    a, b = await _household_id(service, "AP-A"), await _household_id(service, "AP-B")
    assert r.json()["household_id"] == a
    (d,) = await _duplicates(service)
    assert (d.household_id, d.other_household_id, d.resolve_region, d.refused) == (b, a, "341221", False)


async def test_two_rows_of_one_file_sharing_a_person_are_one_duplicate_and_updates_are_not_self_duplicates(
    service: Service,
) -> None:
    p = id_number()
    first = _row("ONE-A", MY_VILLAGE, [p, id_number("19700101")])
    second = _row("ONE-B", MY_OTHER_VILLAGE, [id_number("19720101"), p])
    job = await _import(service, "341221", [first, second])
    assert job["result"]["inserted"] == 2
    assert job["result"]["duplicates"] == 1
    (d,) = await _duplicates(service)
    assert {d.household_id, d.other_household_id} == {
        await _household_id(service, "ONE-A"),
        await _household_id(service, "ONE-B"),
    }
    # a changed row of a household (same number, same people) is an update, not a duplicate of itself
    changed = dict(first, income={"wage": "7000"})
    again = await _import(service, "341221", [changed])
    assert again["result"]["updated"] == 1
    assert again["result"].get("duplicates", 0) == 0  # ONE-A and ONE-B: already open, seen again
    assert len(await _duplicates(service)) == 1
    (d,) = await _duplicates(service)
    assert d.seen == 2
