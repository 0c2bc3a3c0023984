"""The household registry look-up (GET /households, POST /households/search, GET
/households/{id}/risk) against a real database and NATS: jurisdiction (another village's
households are not listed and are 404 by id), masking by role, keyset paging, every filter, and
the worklist filters added to GET /cases."""

from __future__ import annotations

import json
from typing import Any

from shared.cli.generate import generate_households
from tests.identification.integration.test_cases_support import (
    COUNTY,
    OTHER_TOWNSHIP,
    OTHER_VILLAGE,
    TOWNSHIP,
    VILLAGE,
    Service,
    application,
    id_number,
    service,
)

__all__ = ["service"]

URL = "/api/v1/households"


async def _apply(
    service: Service, village: str = VILLAGE, *, head: str | None = None, name: str = "张三"
) -> dict[str, Any]:
    ids = [head or id_number(), id_number("19850505")]
    body = application(village, ids=ids)
    body["household"]["members"][0]["name"] = name
    r = await service.apply(body, service.headers("village", village))
    assert r.status_code == 201, r.text
    return {**r.json(), "ids": ids}


async def _list(service: Service, role: str, scope: str, **params: Any) -> Any:
    return await service.client.get(URL, params=params, headers=service.headers(role, scope))


async def _all_ids(service: Service, role: str, scope: str, **params: Any) -> list[str]:
    r = await _list(service, role, scope, **params)
    assert r.status_code == 200, r.text
    return [i["id"] for i in r.json()["items"]]


async def test_jurisdiction_and_masking(service: Service) -> None:
    mine = await _apply(service, VILLAGE)
    neighbour = await _apply(service, OTHER_VILLAGE)
    elsewhere = await _apply(service, OTHER_TOWNSHIP + "201")

    assert await _all_ids(service, "village", VILLAGE) == [mine["household_id"]]
    assert await _all_ids(service, "village", OTHER_VILLAGE) == [neighbour["household_id"]]
    assert set(await _all_ids(service, "township", TOWNSHIP)) == {mine["household_id"], neighbour["household_id"]}
    assert len(await _all_ids(service, "county", COUNTY)) == 3
    assert await _all_ids(service, "county", "341222") == []  # another county sees nothing
    # asking for a region outside one's own: nothing, not an error that tells it exists
    assert await _all_ids(service, "village", VILLAGE, region=OTHER_VILLAGE) == []
    assert await _all_ids(service, "county", COUNTY, region=OTHER_VILLAGE) == [neighbour["household_id"]]
    # a broader region than one's own narrows to one's own
    assert await _all_ids(service, "village", VILLAGE, region=COUNTY) == [mine["household_id"]]
    r = await _list(service, "county", COUNTY, region="3412210")
    assert r.status_code == 422

    # direct ids outside the jurisdiction are 404, like GET /households/{id}
    v = service.headers("village", VILLAGE)
    for hid in (neighbour["household_id"], elsewhere["household_id"]):
        r = await service.client.get(f"{URL}/{hid}/risk", headers=v)
        assert r.status_code == 404, r.text
    assert (await service.client.get(f"{URL}/{mine['household_id']}/risk", headers=v)).status_code == 200
    for odd in ("x" * 65, "a%00b", "%E2%80%AE"):
        assert (await service.client.get(f"{URL}/{odd}/risk", headers=v)).status_code == 404, odd
    assert (await _list(service, "county", COUNTY, region="٣٤١٢٢١")).status_code == 422

    # masking: the head's ID number masked, no name, for every role (county included)
    for role, region in (("village", VILLAGE), ("township", TOWNSHIP), ("county", COUNTY), ("admin", "")):
        r = await _list(service, role, region)
        assert r.status_code == 200, r.text
        assert r.headers["cache-control"] == "no-store"
        item = next(i for i in r.json()["items"] if i["id"] == mine["household_id"])
        head = mine["ids"][0]
        assert item["head"] == {
            "relation": "head",
            "sex": "male" if int(head[16]) % 2 else "female",
            "birth_year": 1980,
            "id_number": head[:6] + "********" + head[14:],
            "name": None,
        }
        assert item["members"] == 2
        assert head not in r.text
        assert "张三" not in r.text

    # contact persons, departments and citizens do not use the registry
    for headers in (
        service.headers("contact", VILLAGE),
        service.headers("department", COUNTY, dept="yibao"),
        service.citizen(mine["ids"][0]),
    ):
        r = await service.client.get(URL, headers=headers)
        assert r.status_code == 403, r.text


async def test_item_shape_and_open_case(service: Service) -> None:
    made = await _apply(service)
    r = await _list(service, "village", VILLAGE)
    (item,) = r.json()["items"]
    assert set(item) == {
        "id",
        "household_number",
        "region_code",
        "status",
        "category",
        "low_income_category",
        "warning",
        "members",
        "head",
        "open_case",
        "updated_at",
    }
    assert item["region_code"] == VILLAGE
    assert item["status"] == "registered"
    assert item["category"] == "marginal"
    assert item["open_case"] == {
        "id": made["case_id"],
        "procedure": "identification",
        "state": "submitted",
        "deadline": item["open_case"]["deadline"],
        "overdue": False,
    }
    assert item["open_case"]["deadline"] is not None
    assert r.json()["next_cursor"] is None


async def test_keyset_paging_covers_everything_once(service: Service) -> None:
    made = {
        (await _apply(service, v))["household_id"] for v in (VILLAGE, VILLAGE, OTHER_VILLAGE, VILLAGE, OTHER_VILLAGE)
    }
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 2}
        if cursor:
            params["cursor"] = cursor
        body = (await _list(service, "township", TOWNSHIP, **params)).json()
        pages += 1
        seen += [i["id"] for i in body["items"]]
        assert len(body["items"]) <= 2
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert pages == 3
    assert len(seen) == len(set(seen)) == 5
    assert set(seen) == made
    # (region_code, id) order: the first village's households first
    regions = [i["region_code"] for i in (await _list(service, "township", TOWNSHIP, limit=5)).json()["items"]]
    assert regions == sorted(regions)
    odd_cursors = ("WyIzNDEyMjEwMDEyMDFcbiIsICJ4Il0", "WyIzNDEyMjEwMDEyMDEiLCAiYVx1MDAwMGIiXQ")  # "\n", "\u0000"
    for bad in ("not-a-cursor", "W10", "WyJhIl0", *odd_cursors):
        r = await _list(service, "township", TOWNSHIP, cursor=bad)
        assert r.status_code == 422, bad
        assert r.json()["errors"][0]["path"] == "cursor"
    assert (await _list(service, "township", TOWNSHIP, limit=0)).status_code == 422
    assert (await _list(service, "township", TOWNSHIP, limit=201)).status_code == 422


async def test_filters_state_warning_category(service: Service) -> None:
    open_one = await _apply(service)
    monitored = await _apply(service)
    await service.to_monitored(monitored["case_id"])
    rejected = await _apply(service)
    r = await service.act(rejected["case_id"], service.headers("village", VILLAGE), action="reject", reason="材料不全")
    assert r.status_code == 200, r.text

    async def ids(**params: Any) -> set[str]:
        return set(await _all_ids(service, "village", VILLAGE, **params))

    assert await ids(state="monitored") == {monitored["household_id"]}
    assert await ids(state="open_case") == {open_one["household_id"]}
    assert await ids(state="registered") == {open_one["household_id"], rejected["household_id"]}
    assert await ids(state="eliminated") == set()
    assert await ids(category="marginal") == {h["household_id"] for h in (open_one, monitored, rejected)}
    assert await ids(category="sudden_hardship") == set()

    # a department's red warning (a large hospital stay) — the colour statistics count
    dept = service.headers("department", COUNTY, dept="yibao")
    signal = {
        "source_dept": "yibao",
        "signal_id": "reg-1",
        "kind": "hospital_stay",
        "region_code": VILLAGE,
        "observed_at": "2024-03-01T08:00:00+08:00",
        "household_id": rejected["household_id"],
        "payload": {"self_paid": "30000"},
    }
    r = await service.client.post("/api/v1/signals", json=[signal], headers=dept)
    assert r.status_code == 200, r.text
    assert await ids(warning="red") == {rejected["household_id"]}
    assert await ids(warning="red", state="monitored") == set()
    assert await ids(warning="red", category="marginal") == {rejected["household_id"]}
    # the others keep their screening's colour (marginal: yellow); the signal's red wins over it
    assert await ids(warning="yellow") == {open_one["household_id"], monitored["household_id"]}
    assert await ids(warning="orange") == set()

    for name, value in (("state", "closed"), ("warning", "green"), ("category", "poor")):
        r = await _list(service, "village", VILLAGE, **{name: value})
        assert r.status_code == 422
        assert r.json()["errors"][0]["path"] == name

    risk = (
        await service.client.get(f"{URL}/{rejected['household_id']}/risk", headers=service.headers("village", VILLAGE))
    ).json()
    assert risk["warning"] == "red"
    assert risk["signal_warning"]["colour"] == "red"
    assert risk["signal_warning"]["explanations"][0]["rule"] == "signal:hospital_stay"
    assert "002 篇十四" in risk["signal_warning"]["explanations"][0]["source"]
    assert risk["outcome"]["category"] == "marginal"
    assert risk["outcome"]["policy"]["id"]
    assert list(risk["assessment"])[:2] == ["as_of", "per_capita_income"]
    assert risk["assessment"]["category"] == "marginal"
    assert {e["rule"] for e in risk["assessment"]["explanations"]} >= {"per_capita_income"}
    assert all(e["source"] for e in risk["assessment"]["explanations"])
    assert rejected["ids"][0] not in str(risk)


async def test_q_number_prefix_and_name_search_only_for_those_who_see_names(service: Service) -> None:
    a = await _apply(service, name="王大山")
    b = await _apply(service, name="张三")
    c = await _apply(service, OTHER_VILLAGE, name="王大山")
    numbers = {i["id"]: i["household_number"] for i in (await _list(service, "county", COUNTY)).json()["items"]}

    assert await _all_ids(service, "village", VILLAGE, q=numbers[a["household_id"]]) == [a["household_id"]]
    assert await _all_ids(service, "village", VILLAGE, q=numbers[a["household_id"]][:-3]) == [a["household_id"]]
    assert await _all_ids(service, "village", VILLAGE, q=numbers[c["household_id"]]) == []  # not theirs
    # LIKE's wildcards are plain characters in a prefix
    number = numbers[a["household_id"]]
    assert await _all_ids(service, "village", VILLAGE, q=number[:2] + "_") == []
    assert await _all_ids(service, "village", VILLAGE, q=number[:3] + "_" + number[4:]) == []

    # by the head's exact name: county and above; the answer stays masked
    r = await _list(service, "county", COUNTY, q="王大山")
    assert r.status_code == 200, r.text
    assert {i["id"] for i in r.json()["items"]} == {a["household_id"], c["household_id"]}
    assert "王大山" not in r.text  # never echoed back
    assert all(i["head"]["name"] is None for i in r.json()["items"])
    assert await _all_ids(service, "county", COUNTY, q="王大山", region=VILLAGE) == [a["household_id"]]
    assert await _all_ids(service, "county", COUNTY, q="王大") == []  # exact, never a prefix
    assert await _all_ids(service, "county", COUNTY, q="李四") == []  # spouses are not heads
    assert await _all_ids(service, "county", COUNTY, q="张三") == [b["household_id"]]
    for role, region in (("village", VILLAGE), ("township", TOWNSHIP)):
        r = await _list(service, role, region, q="王大山")
        assert r.status_code == 403, r.text
        assert r.json()["code"] == "name_search_forbidden"

    # ID and phone numbers are never looked up from a URL
    for q in (a["ids"][0], "13800138000"):
        r = await _list(service, "county", COUNTY, q=q)
        assert r.status_code == 422, q
        assert r.json()["code"] == "personal_number_in_url"


async def test_search_by_id_number_in_the_body(service: Service) -> None:
    a = await _apply(service)
    b = await _apply(service, OTHER_VILLAGE)
    search = f"{URL}/search"

    async def found(role: str, region: str, number: str) -> list[str]:
        r = await service.client.post(search, json={"id_number": number}, headers=service.headers(role, region))
        assert r.status_code == 200, r.text
        assert number not in r.text
        return [i["id"] for i in r.json()["items"]]

    assert await found("village", VILLAGE, a["ids"][0]) == [a["household_id"]]
    assert await found("village", VILLAGE, a["ids"][1]) == [a["household_id"]]  # any member
    assert await found("village", VILLAGE, a["ids"][0].lower()) == [a["household_id"]]
    assert await found("village", VILLAGE, b["ids"][0]) == []  # another village's: not found
    assert await found("township", TOWNSHIP, b["ids"][0]) == [b["household_id"]]
    assert await found("county", COUNTY, id_number()) == []
    r = await service.client.post(
        search, json={"id_number": a["ids"][0][:17] + "0"}, headers=service.headers("village", VILLAGE)
    )
    if a["ids"][0][17] != "0":
        assert r.status_code == 422
        assert r.json()["errors"][0]["path"] == "id_number"
    r = await service.client.post(
        search, json={"id_number": a["ids"][0], "name": "x"}, headers=service.headers("village", VILLAGE)
    )
    assert r.status_code == 422  # extra="forbid"
    r = await service.client.post(search, json={"id_number": a["ids"][0]}, headers=service.headers("contact", VILLAGE))
    assert r.status_code == 403


async def test_worklist_filters_of_cases(service: Service) -> None:
    v = service.headers("village", VILLAGE)
    submitted = await _apply(service)
    verifying = await _apply(service)
    assert (await service.act(verifying["case_id"], v, action="advance")).status_code == 200
    noticed = await _apply(service)
    for body in ({"action": "advance"}, {"action": "advance", "investigators": ["王五", "赵六"]}):
        assert (await service.act(noticed["case_id"], v, **body)).status_code == 200
    r = await service.act(noticed["case_id"], v, action="advance", note="村民主评议通过")
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "public_notice"
    quiet = await _apply(service)
    for body in (
        {"action": "advance"},
        {"action": "advance", "investigators": ["王五", "赵六"]},
        {"action": "advance", "note": "通过"},
    ):
        assert (await service.act(quiet["case_id"], v, **body)).status_code == 200
    r = await service.act(noticed["case_id"], v, action="object", note="收入有隐瞒")
    assert r.status_code == 200, r.text

    async def cases(**params: Any) -> set[str]:
        r = await service.client.get("/api/v1/cases", params=params, headers=v)
        assert r.status_code == 200, r.text
        return {c["id"] for c in r.json()["items"]}

    assert await cases(state="submitted,verification") == {submitted["case_id"], verifying["case_id"]}
    assert await cases(state="submitted") == {submitted["case_id"]}
    assert await cases(state="public_notice") == {noticed["case_id"], quiet["case_id"]}
    assert await cases(has_open_objection="true") == {noticed["case_id"]}
    assert await cases(has_open_objection="false", state="public_notice") == {quiet["case_id"]}
    assert await cases(procedure="elimination") == set()
    case = (await service.case(noticed["case_id"], v)).json()
    objection = case["objections"][0]["id"]
    r = await service.act(noticed["case_id"], v, action="resolve_objection", objection_id=objection, note="核实无误")
    assert r.status_code == 200, r.text
    assert await cases(has_open_objection="true") == set()
    assert await cases(has_open_objection="false", state="public_notice") == {noticed["case_id"], quiet["case_id"]}


async def test_name_search_follows_a_changed_head(service: Service) -> None:
    """The name index is derived: after a re-import renames the head, the old name finds
    nothing and the new one finds the household (no stale answer)."""
    rows = list(generate_households(3, COUNTY, seed=5))
    county = service.headers("county", COUNTY)

    async def load(items: list[dict[str, Any]]) -> None:
        r = await service.client.post(
            "/api/v1/households/import",
            content="\n".join(json.dumps(x, ensure_ascii=False) for x in items).encode(),
            headers={**county, "content-type": "application/x-ndjson"},
        )
        assert r.status_code == 202, r.text
        assert r.json()["rows_failed"] == 0, r.text

    await load(rows)
    heads = [next(m for m in x["members"] if m["relation"] == "head") for x in rows]
    first = await _all_ids(service, "county", COUNTY, q=heads[0]["name"])
    assert len(first) >= 1
    numbers = {i["id"]: i["household_number"] for i in (await _list(service, "county", COUNTY)).json()["items"]}
    assert rows[0]["household_number"] in {numbers[i] for i in first}
    target = next(i for i in first if numbers[i] == rows[0]["household_number"])

    old_name = heads[0]["name"]
    heads[0]["name"] = "欧阳新名"
    await load(rows[:1])
    assert await _all_ids(service, "county", COUNTY, q="欧阳新名") == [target]
    assert target not in await _all_ids(service, "county", COUNTY, q=old_name)
