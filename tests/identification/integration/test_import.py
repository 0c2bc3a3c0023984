"""POST /api/v1/households/import and GET /api/v1/jobs/{id}: streamed NDJSON, JSON array and
CSV; row errors with line and field path; upsert by household number (a re-sent file changes
nothing); resumption after a crash with the same Idempotency-Key; personal data encrypted."""

from __future__ import annotations

import io
import json
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from services.identification.adapters.households import find_members_by_id_number, get_household
from services.identification.adapters.orm import households, members
from services.identification.application.households import (
    ParsedRow,
    StartImport,
    parse_stream,
    run_import,
    start_import_job,
)
from shared.auth import Principal
from shared.cli.generate import generate_households, write_households
from shared.settings import Settings
from tests.helpers import auth

URL = "/api/v1/households/import"
NDJSON = {"content-type": "application/x-ndjson"}


def _ndjson(items: list[dict]) -> bytes:
    return "".join(json.dumps(h, ensure_ascii=False) + "\n" for h in items).encode()


async def _chunked(data: bytes, size: int = 7_000) -> AsyncIterator[bytes]:
    for i in range(0, len(data), size):
        yield data[i : i + size]


async def test_ndjson_rows_stored_bad_rows_reported(client: httpx.AsyncClient, settings: Settings) -> None:
    items = list(generate_households(40, "341221"))
    bad_id = dict(items[3], members=[dict(items[3]["members"][0], id_number="341221198001010010")])
    dup = dict(items[5], members=[items[5]["members"][0], items[5]["members"][0]])
    negative = dict(items[7], income=dict(items[7]["income"], wage="-3"))
    lines = [json.dumps(h, ensure_ascii=False) for h in items]
    lines[3], lines[5], lines[7] = json.dumps(bad_id), json.dumps(dup), json.dumps(negative)
    lines.insert(10, "{not json")
    body = ("\n".join(lines) + "\n").encode()
    r = await client.post(URL, content=_chunked(body), headers=NDJSON | auth(settings, "county", "341221"))
    assert r.status_code == 202, r.text
    job = r.json()
    assert job["status"] == "completed"
    assert job["rows_done"] == 37
    assert job["rows_failed"] == 4
    assert job["error_count"] == len(job["errors"]) == 4
    by_line = {e["line"]: e for e in job["errors"]}
    assert by_line[4]["path"] == "members.0.id_number"
    assert "check digit" in by_line[4]["message"]
    assert by_line[6]["path"] == "members.1.id_number"
    assert by_line[8]["path"] == "income.wage"
    assert by_line[11]["message"].startswith("not JSON")
    assert "341221198001010010" not in r.text
    assert job["result"] == {"inserted": 37, "updated": 0, "unchanged": 0}

    got = await client.get(f"/api/v1/jobs/{job['id']}", headers=auth(settings, "county", "341221"))
    assert got.status_code == 200
    assert got.json()["rows_done"] == 37
    assert (
        await client.get(f"/api/v1/jobs/{job['id']}", headers=auth(settings, "county", "341225"))
    ).status_code == 404

    ctx = client.app.state.ctx  # type: ignore[attr-defined]
    async with ctx.sessions() as s:
        n_members = (await s.execute(sa.select(sa.func.count()).select_from(members))).scalar_one()
        raw = (await s.execute(sa.select(members.c.id_number_enc, members.c.id_number_masked))).first()
        hid = (
            await s.execute(
                sa.select(households.c.id).where(households.c.household_number == items[0]["household_number"])
            )
        ).scalar_one()
        stored = await get_household(s, hid, cipher=ctx.cipher)
        found = await find_members_by_id_number(s, ctx.cipher, items[0]["members"][0]["id_number"])
    good = [h for i, h in enumerate(items) if i not in (3, 5, 7)]
    assert n_members == sum(len(h["members"]) for h in good)
    assert b"341221" not in raw.id_number_enc
    assert "*" in raw.id_number_masked
    assert stored is not None
    assert [m.id_number for m in stored.members] == [m["id_number"] for m in items[0]["members"]]
    assert stored.members[0].name == items[0]["members"][0]["name"]
    assert stored.phone == items[0]["phone"]
    assert stored.to_domain().income.wage == __import__("decimal").Decimal(items[0]["income"]["wage"])
    assert [m.household_id for m in found] == [hid]


async def test_resent_file_changes_nothing_and_changed_rows_update(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    items = list(generate_households(30, "341221"))
    headers = NDJSON | auth(settings, "province", "34")
    first = (await client.post(URL, content=_ndjson(items), headers=headers)).json()
    ctx = client.app.state.ctx  # type: ignore[attr-defined]

    async def snapshot() -> list[tuple]:
        async with ctx.sessions() as s:
            return [tuple(r) for r in (await s.execute(sa.select(households).order_by(households.c.id))).all()]

    before = await snapshot()
    again = (await client.post(URL, content=_ndjson(items), headers=headers)).json()
    assert again["id"] != first["id"]
    assert again["result"] == {"inserted": 0, "updated": 0, "unchanged": 30}
    assert await snapshot() == before

    items[2] = dict(items[2], dibao_status="dibao")
    third = (await client.post(URL, content=_ndjson(items), headers=headers)).json()
    assert third["result"] == {"inserted": 0, "updated": 1, "unchanged": 29}
    async with ctx.sessions() as s:
        row = (
            await s.execute(sa.select(households).where(households.c.household_number == items[2]["household_number"]))
        ).one()
    assert row.dibao_status == "dibao"
    assert row.version == 2


@pytest.mark.parametrize("fmt", ["json", "csv"])
async def test_json_array_and_csv(client: httpx.AsyncClient, settings: Settings, tmp_path: Path, fmt: str) -> None:
    path = tmp_path / f"h.{fmt}"
    write_households(path, 60, "341221", fmt=fmt)
    ctype = {"json": "application/json", "csv": "text/csv"}[fmt]
    r = await client.post(
        URL, content=_chunked(path.read_bytes(), 4096), headers={"content-type": ctype} | auth(settings, "admin", "")
    )
    assert r.status_code == 202, r.text
    job = r.json()
    assert job["errors"] == []
    assert job["rows_done"] == 60
    assert job["rows_total"] == 60
    ctx = client.app.state.ctx  # type: ignore[attr-defined]
    async with ctx.sessions() as s:
        n = (await s.execute(sa.select(sa.func.count()).select_from(members))).scalar_one()
    assert n == sum(len(h["members"]) for h in generate_households(60, "341221"))


async def test_csv_line_numbers_and_bad_header(client: httpx.AsyncClient, settings: Settings, tmp_path: Path) -> None:
    path = tmp_path / "h.csv"
    write_households(path, 5, "341221", fmt="csv")
    lines = path.read_text().splitlines()
    header = lines[0].split(",")
    col = header.index("labor_capacity")
    row = lines[1].split(",")
    row[col] = "strong"
    lines[1] = ",".join(row)
    r = await client.post(
        URL, content="\n".join(lines).encode(), headers={"content-type": "text/csv"} | auth(settings, "admin", "")
    )
    job = r.json()
    assert job["errors"][0]["line"] == 2
    assert job["errors"][0]["path"] == "members.0.labor_capacity"
    bad = "household_number,colour\nx,red\n"
    job = (
        await client.post(URL, content=bad.encode(), headers={"content-type": "text/csv"} | auth(settings, "admin", ""))
    ).json()
    assert job["errors"][0]["line"] == 1
    assert "colour" in job["errors"][0]["message"]


async def test_roles_and_jurisdiction(client: httpx.AsyncClient, settings: Settings) -> None:
    items = list(generate_households(3, "341221"))
    r = await client.post(
        URL, content=_ndjson(items), headers=NDJSON | auth(settings, "village", items[0]["region_code"])
    )
    assert r.status_code == 403
    r = await client.post(URL, content=_ndjson(items), headers=NDJSON | auth(settings, "county", "341225"))
    job = r.json()
    assert job["rows_done"] == 0
    assert {e["path"] for e in job["errors"]} == {"region_code"}


async def test_crash_then_resend_with_same_key_resumes(client: httpx.AsyncClient, settings: Settings) -> None:
    items = list(generate_households(100, "341221"))
    ctx = client.app.state.ctx  # type: ignore[attr-defined]
    principal = Principal(sub="platform", role="province", region="34")

    async def dies_after(n: int) -> AsyncIterator[ParsedRow]:
        async for row in parse_stream(_chunked(_ndjson(items)), "ndjson"):
            if row.line > n:
                raise ConnectionError("client went away")
            yield row

    started = await start_import_job(ctx, principal, StartImport("ndjson", idempotency_key="upload-1"))
    job, fresh = started.job, started.fresh
    assert fresh
    with pytest.raises(ConnectionError):
        await run_import(ctx, principal, job, dies_after(45), batch_size=20)
    headers = NDJSON | auth(settings, "province", "34", sub="platform") | {"Idempotency-Key": "upload-1"}
    progress = (await client.get(f"/api/v1/jobs/{job.id}", headers=headers)).json()
    assert progress["status"] == "failed"  # issue #22: never `running` for good
    assert progress["failure"]["code"] == "upload_interrupted"
    assert progress["failure"]["line"] == 40
    assert progress["rows_done"] == 40  # two batches of 20 committed, the third lost

    r = await client.post(URL, content=_chunked(_ndjson(items)), headers=headers)
    done = r.json()
    assert done["id"] == job.id
    assert done["status"] == "completed"
    assert done["rows_done"] == 100
    assert done["result"] == {"inserted": 100, "updated": 0, "unchanged": 0}  # lines 1–40 were skipped
    again = (await client.post(URL, content=io.BytesIO(b"").read(), headers=headers)).json()
    assert again == done
