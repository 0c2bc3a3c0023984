"""Issue #22: an import that fails part-way ends `failed` with the reason in `GET /jobs/{id}`
(it used to stay `running` for good), keeps what it stored, and resumes when the file is re-sent
with the same Idempotency-Key; hostile lines (10,000 deep, 5,000-digit numbers) are row errors,
never a 500."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from services.identification.application.households import IMPORT_BATCH
from shared.cli.generate import generate_households, write_households
from shared.settings import Settings
from tests.helpers import auth

URL = "/api/v1/households/import"
NDJSON = {"content-type": "application/x-ndjson"}


def _lines(items: list[dict]) -> list[bytes]:
    return [json.dumps(h, ensure_ascii=False).encode() + b"\n" for h in items]


class StorageBroke(Exception):
    pass


async def test_a_failed_import_says_why_and_resumes(client: httpx.AsyncClient, settings: Settings) -> None:
    items = list(generate_households(IMPORT_BATCH + 30, "341221"))
    lines = _lines(items)
    headers = NDJSON | auth(settings, "county", "341221", sub="county-officer") | {"Idempotency-Key": "file-7"}

    async def breaks_after_first_piece() -> AsyncIterator[bytes]:
        yield b"".join(lines[: IMPORT_BATCH + 10])  # whole lines: one piece, stored
        raise StorageBroke("the body stream failed")

    with pytest.raises(StorageBroke):  # the in-process transport re-raises what the app raised
        await client.post(URL, content=breaks_after_first_piece(), headers=headers)
    ctx = client.app.state.ctx  # type: ignore[attr-defined]
    async with ctx.sessions() as s:
        from services.identification.adapters.jobs import find_job

        job = await find_job(s, kind="import", created_by="county-officer", idempotency_key="file-7")
    assert job is not None
    got = (await client.get(f"/api/v1/jobs/{job.id}", headers=headers)).json()
    assert got["status"] == "failed"
    assert got["failure"]["code"] == "internal_error"
    assert got["failure"]["line"] == IMPORT_BATCH + 10
    assert "Idempotency-Key" in got["failure"]["detail"]
    assert "the body stream failed" not in json.dumps(got)  # no internals
    assert got["rows_done"] == IMPORT_BATCH + 10
    assert got["finished_at"] is not None

    r = await client.post(URL, content=b"".join(lines), headers=headers)
    done = r.json()
    assert r.status_code == 202
    assert done["id"] == job.id
    assert done["status"] == "completed"
    assert done["failure"] is None
    assert done["rows_done"] == IMPORT_BATCH + 30
    assert done["result"] == {"inserted": IMPORT_BATCH + 30, "updated": 0, "unchanged": 0}


@pytest.mark.parametrize("fmt", ["ndjson", "json"])
async def test_hostile_lines_are_row_errors(client: httpx.AsyncClient, settings: Settings, fmt: str) -> None:
    items = list(generate_households(3, "341221"))
    deep = b"[" * 10_000 + b"]" * 10_000
    digits = b'{"household_number": "x", "n": ' + b"9" * 5000 + b"}"
    if fmt == "ndjson":
        body = b"".join([_lines(items)[0], deep + b"\n", digits + b"\n", *_lines(items)[1:]])
        ctype = NDJSON
    else:
        body = b"[" + json.dumps(items[0]).encode() + b"," + deep + b"]"
        ctype = {"content-type": "application/json"}
    r = await client.post(URL, content=body, headers=ctype | auth(settings, "county", "341221"))
    assert r.status_code == 202, r.text
    job = r.json()
    messages = [e["message"] for e in job["errors"]]
    assert "not JSON: nested too deeply" in " ".join(messages)
    if fmt == "ndjson":
        assert job["status"] == "completed"
        assert job["rows_done"] == 3
        assert job["rows_failed"] == 2
        assert "not JSON: a number with too many digits" in messages
    else:
        assert job["rows_done"] == 1  # a JSON array cannot be read past a broken item


async def test_a_csv_line_over_1_mib_is_one_row_error(
    client: httpx.AsyncClient, settings: Settings, tmp_path: Path
) -> None:
    path = tmp_path / "h.csv"
    write_households(path, 5, "341221", fmt="csv")
    lines = path.read_text().splitlines()
    households = len({line.split(",")[0] for line in lines[1:]})
    # a 3 MiB line in the middle, between two households' rows, sent in 64 KiB chunks
    at = next(i for i in range(2, len(lines)) if lines[i].split(",")[0] != lines[i - 1].split(",")[0])
    long_field = '"' + "y" * 200_000 + '"'  # under 1 MiB, over the csv module's field limit
    body = "\n".join([*lines[:at], "z" * (3 * 1024 * 1024), *lines[at:], long_field]).encode() + b"\n"

    async def chunks() -> AsyncIterator[bytes]:
        for i in range(0, len(body), 65536):
            yield body[i : i + 65536]

    r = await client.post(URL, content=chunks(), headers={"content-type": "text/csv"} | auth(settings, "admin", ""))
    job = r.json()
    assert job["status"] == "completed", job
    assert job["rows_done"] == households
    assert job["error_count"] == 2  # the rest of the long line no longer comes back as a row
    assert job["errors"][0]["line"] == at + 1
    assert job["errors"][1]["message"].startswith("not CSV: field larger than field limit")
