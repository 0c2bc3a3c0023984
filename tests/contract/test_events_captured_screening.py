"""The screening run writes its `risk.warning_raised` rows to the outbox itself, in bulk, not
through `UnitOfWork.add_event` — so its rows are checked here: a real run over generated
households, every row read back conforms to the contract and parses to the run's values."""

from __future__ import annotations

import asyncio
import datetime as dt
import json

import httpx

from shared import contracts
from shared.cli.generate import generate_households
from shared.contracts.identification import RiskWarning
from shared.settings import Settings
from tests.contract.capture import outbox_events
from tests.helpers import auth
from tests.identification.integration.conftest import client, settings

__all__ = ["client", "settings"]

N = 200


async def test_a_screening_run_writes_warnings_on_contract(client: httpx.AsyncClient, settings: Settings) -> None:
    headers = auth(settings, "county", "341221")
    body = "".join(json.dumps(h, ensure_ascii=False) + "\n" for h in generate_households(N, "341221")).encode()
    r = await client.post(
        "/api/v1/households/import", content=body, headers={"content-type": "application/x-ndjson"} | headers
    )
    assert r.json()["rows_done"] == N
    r = await client.post("/api/v1/screenings", json={"region": "341221", "as_of": "2024-06-30"}, headers=headers)
    assert r.status_code == 202, r.text
    job_id = r.json()["id"]
    for _ in range(300):
        job = (await client.get(f"/api/v1/jobs/{job_id}", headers=headers)).json()
        if job["status"] != "running":
            break
        await asyncio.sleep(0.1)
    assert job["status"] == "completed"

    events = [ev for ev in await outbox_events(client.app.state.ctx) if ev.name == "warning_raised"]  # type: ignore[attr-defined]
    assert len(events) == job["result"]["warnings_raised"] > 0
    assert [contracts.validate(ev) for ev in events] == [[]] * len(events)
    warnings = [contracts.parse(ev, RiskWarning) for ev in events]
    assert {(w.screening_job_id, w.as_of, w.region_code, w.previous_warning) for w in warnings} == {
        (job_id, dt.date(2024, 6, 30), None, None)
    }
    assert {w.warning for w in warnings} <= {"red", "orange", "yellow"}
    assert all(
        w.household_id == ev.subject and w.household_number and w.policy for w, ev in zip(warnings, events, strict=True)
    )
