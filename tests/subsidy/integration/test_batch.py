"""`POST /subsidies/calculate:batch`: JSON array or NDJSON, streamed in and out, results in
order, per-item errors that never fail the other items."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

from .conftest import COUNTY

URL = "/api/v1/subsidies/calculate:batch"
NDJSON = {"content-type": "application/x-ndjson"}


def item(kind: str, inputs: dict[str, Any], **kw: Any) -> dict[str, Any]:
    return {"kind": kind, "region_code": COUNTY, "as_of": "2020-06-01", "inputs": inputs, **kw}


MIXED = [
    item("public_welfare_post", {"annual_wage": "5000"}, id="a"),
    item("public_welfare_post", {"annual_wage": "-1"}, id="b"),
    item("moon_subsidy", {}, id="c"),
    {**item("housing_renovation", {"type": "rebuild"}), "region_code": "341225"},  # outside a county officer
    item("public_welfare_post", {"annual_wage": "5000"}, as_of="2019-01-01"),
    item("tiered_wage_subsidy", {"poor_laborers": 3, "total_wages": "10000"}),
    item("public_welfare_post", {"annual_wage": "5000"}, id="g"),
]


def check_mixed(results: list[dict[str, Any]]) -> None:
    assert [r["index"] for r in results] == list(range(len(MIXED)))
    assert results[0]["id"] == "a"
    assert results[0]["amount"] == "2500.00"
    assert results[1]["error"]["errors"][0]["path"] == "inputs.annual_wage"
    assert results[2]["error"]["errors"][0]["path"] == "kind"
    assert results[3]["error"]["status"] == 404
    assert results[4]["error"]["code"] == "policy_not_found"
    assert results[5]["amount"] == "3000.00"
    assert results[6] == {**results[0], "index": 6, "id": "g"}


async def test_json_array_in_json_array_out(client, as_role) -> None:
    r = await client.post(URL, json=MIXED, headers=as_role())
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/json")
    check_mixed(r.json())


async def test_ndjson_in_ndjson_out_with_a_broken_line(client, as_role) -> None:
    lines = [json.dumps(x) for x in MIXED[:3]] + ["{not json", ""] + [json.dumps(x) for x in MIXED[3:]]
    r = await client.post(URL, content="\n".join(lines) + "\n", headers={**as_role(), **NDJSON})
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/x-ndjson")
    out = [json.loads(line) for line in r.text.splitlines()]
    assert len(out) == len(MIXED) + 1
    assert out[3]["error"]["code"] == "invalid_json"
    check_mixed(out[:3] + [{**o, "index": o["index"] - 1} for o in out[4:]])


async def test_a_streamed_body_in_small_chunks(client, as_role) -> None:
    n = 5000
    payload = json.dumps(
        [item("public_welfare_post", {"annual_wage": str(3000 + i)}) for i in range(n)], ensure_ascii=False
    ).encode()

    async def chunks() -> AsyncIterator[bytes]:
        for i in range(0, len(payload), 997):  # cuts through strings and numbers
            yield payload[i : i + 997]

    r = await client.post(URL, content=chunks(), headers={**as_role(), "content-type": "application/json"})
    out = r.json()
    assert len(out) == n
    assert out[0]["amount"] == "0.00"
    assert out[600]["amount"] == "1800.00"  # 3600 × 50%
    assert out[-1]["amount"] == f"{Decimal(3000 + n - 1) * Decimal('0.6'):.2f}"


async def test_decimal_numbers_in_a_batch(client, as_role) -> None:
    raw = (
        '[{"kind":"public_welfare_post","region_code":"341221","as_of":"2020-06-01","inputs":{"annual_wage":4000.10}}]'
    )
    r = await client.post(URL, content=raw, headers={**as_role(), "content-type": "application/json"})
    assert r.json()[0]["amount"] == "2000.05"


async def test_a_broken_array_answers_what_it_could_read(client, as_role) -> None:
    raw = json.dumps(MIXED[:2])[:-1] + ', {"kind": oops}]'
    r = await client.post(URL, content=raw, headers={**as_role(), "content-type": "application/json"})
    out = r.json()
    assert [o["index"] for o in out] == [0, 1, 2]
    assert out[0]["amount"] == "2500.00"
    assert out[2]["error"]["code"] == "invalid_json"


async def test_empty_array(client, as_role) -> None:
    r = await client.post(URL, content=b" [ ] ", headers={**as_role(), "content-type": "application/json"})
    assert r.json() == []


async def test_more_than_100000_items_stops_with_an_error(client, as_role) -> None:
    line = (json.dumps(item("housing_renovation", {"type": "repair"}, region_code="341225")) + "\n").encode()

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(100_005 // 1000):
            yield line * 1000
        yield line * 5

    r = await client.post(URL, content=chunks(), headers={**as_role("county", "341225"), **NDJSON})
    out = r.text.splitlines()
    assert len(out) == 100_001
    assert json.loads(out[-2])["amount"] == "6000.00"
    assert json.loads(out[-1])["error"]["code"] == "batch_too_large"


async def test_citizens_may_not_batch(client, as_role) -> None:
    r = await client.post(URL, json=MIXED, headers=as_role("citizen"))
    assert r.status_code == 403
