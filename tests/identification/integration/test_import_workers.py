"""A large import runs its validation and encryption in worker processes: the same households,
errors and upsert outcomes as in process, the rows readable with the service's cipher."""

from __future__ import annotations

import json

import httpx
import pytest
import sqlalchemy as sa

from services.identification.adapters.households import find_members_by_id_number
from services.identification.adapters.orm import households, members
from services.identification.application import households as import_use_case
from shared.cli.generate import generate_households
from shared.settings import Settings
from tests.helpers import auth

N = 400


async def test_an_import_over_worker_processes(
    client: httpx.AsyncClient, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(import_use_case, "IMPORT_BATCH", 40)
    monkeypatch.setattr(import_use_case, "_POOL_AFTER", 1)
    monkeypatch.setenv("FANGFAN_IMPORT_WORKERS", "2")
    items = list(generate_households(N, "341221"))
    lines = [json.dumps(h, ensure_ascii=False) for h in items]
    lines[250] = json.dumps(items[250] | {"dibao_status": "poor"})
    body = ("\n".join(lines) + "\n").encode()
    headers = {"content-type": "application/x-ndjson"} | auth(settings, "province", "34")
    job = (await client.post("/api/v1/households/import", content=body, headers=headers)).json()
    ctx = client.app.state.ctx  # type: ignore[attr-defined]
    assert ctx.extras.import_pool is not None  # the worker processes did most of it
    assert job["status"] == "completed"
    assert (job["rows_done"], job["rows_failed"]) == (N - 1, 1)
    assert job["errors"][0]["line"] == 251
    assert job["errors"][0]["path"] == "dibao_status"
    assert job["result"] == {"inserted": N - 1, "updated": 0, "unchanged": 0}
    async with ctx.sessions() as s:
        n_members = (await s.execute(sa.select(sa.func.count()).select_from(members))).scalar_one()
        found = await find_members_by_id_number(s, ctx.cipher, items[399]["members"][0]["id_number"])
        profiles = (
            await s.execute(sa.select(sa.func.count()).where(households.c.screening_profile.is_not(None)))
        ).scalar_one()
    assert n_members == sum(len(h["members"]) for i, h in enumerate(items) if i != 250)
    assert found[0].name == items[399]["members"][0]["name"]
    assert profiles == N - 1

    again = (await client.post("/api/v1/households/import", content=body, headers=headers)).json()
    assert again["result"] == {"inserted": 0, "updated": 0, "unchanged": N - 1}
