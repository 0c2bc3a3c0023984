"""Issue #22: an NDJSON batch line has a size limit and the reader is linear — a line over the
limit is one item's 413 `line_too_long` error, the other lines are calculated, and the reader
never holds more than the limit of one line (the 200 MB line once took 83 s and 1.1 GB)."""

from __future__ import annotations

import json
import tracemalloc
from collections.abc import AsyncIterator

from services.subsidy.application.calculation import MAX_LINE_BYTES, iter_ndjson
from shared.errors import DomainError

from .conftest import COUNTY

URL = "/api/v1/subsidies/calculate:batch"
NDJSON = {"content-type": "application/x-ndjson"}
GOOD = {"kind": "public_welfare_post", "region_code": COUNTY, "as_of": "2020-06-01", "inputs": {"annual_wage": "5000"}}


async def test_a_line_over_the_limit_is_that_items_error(client, as_role) -> None:
    huge = json.dumps({**GOOD, "id": "x" * (3 * MAX_LINE_BYTES)})  # 3 MB, valid JSON
    body = "\n".join([json.dumps({**GOOD, "id": "a"}), huge, json.dumps({**GOOD, "id": "c"})]) + "\n"
    r = await client.post(URL, content=body, headers={**as_role(), **NDJSON})
    assert r.status_code == 200, r.text
    out = [json.loads(line) for line in r.text.splitlines()]
    assert [o["index"] for o in out] == [0, 1, 2]
    assert out[0]["amount"] == out[2]["amount"] == "2500.00"
    assert out[1]["error"]["status"] == 413
    assert out[1]["error"]["code"] == "line_too_long"
    assert "id" not in out[1]


async def _chunks(parts: list[bytes]) -> AsyncIterator[bytes]:
    for p in parts:
        yield p


async def test_the_reader_holds_at_most_one_line_limit() -> None:
    chunk = 64 * 1024
    line = b'{"id": "' + b"y" * (16 * 1024 * 1024) + b'"}'
    body = b'{"a": 1}\n' + line + b'\n{"b": 2}\n{"c": 3}'
    parts = [body[i : i + chunk] for i in range(0, len(body), chunk)]
    tracemalloc.start()
    try:
        items = [x async for x in iter_ndjson(_chunks(parts), max_line=1024 * 1024)]
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert items[0] == {"a": 1}
    assert isinstance(items[1], DomainError)
    assert items[1].code == "line_too_long"
    assert items[2:] == [{"b": 2}, {"c": 3}]
    # the chunks themselves (17 MB) were allocated before tracing began; the reader adds at
    # most the 1 MiB it may hold of a line, never a copy of the whole line
    assert peak < 3 * 1024 * 1024, peak


async def test_lines_split_anywhere_are_read_whole() -> None:
    lines = [{"n": i, "s": "z" * (i * 37 % 500)} for i in range(300)]
    body = b"\n".join(json.dumps(x).encode() for x in lines) + b"\n\n"
    for size in (1, 7, 100, 4096, len(body)):
        parts = [body[i : i + size] for i in range(0, len(body), size)]
        assert [x async for x in iter_ndjson(_chunks(parts), max_line=1000)] == lines


async def test_a_line_of_exactly_the_limit_is_read() -> None:
    line = b'"' + b"q" * 98 + b'"'
    assert len(line) == 100
    got = [x async for x in iter_ndjson(_chunks([line[:50], line[50:], b"\n", line + b"x"]), max_line=100)]
    assert got[0] == "q" * 98
    assert isinstance(got[1], DomainError)
    assert got[1].code == "line_too_long"
