"""Scenario 6 (issue 10): the identification service SIGKILLed three times during a bulk import
(`POST /households/import`, NDJSON, with an `Idempotency-Key`), each time once the attempt has
started its import worker processes (the first time at the moment they appear, then once the
attempt has committed 6,000 rows); each time it is started again
and the client re-sends the same file with the same key, which resumes the job after its last
committed line. Checked: one job, completed, and the database holds exactly the file's
households and members — none missing, none twice; the killed service's import workers died
with it."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from shared.cli.generate import generate_households
from tests.reliability.system import ON_POSTGRES_ONLY, System, bearer, query, scalar, until

pytestmark = [pytest.mark.slow, pytest.mark.skipif(**ON_POSTGRES_ONLY)]

HOUSEHOLDS = int(os.environ.get("FANGFAN_REL_IMPORT_HOUSEHOLDS", "20000"))
KILLS = 3
#: Each attempt is killed once it has committed this many rows of its own: by then it runs its
#: worker processes (a service imports the first 4 pieces of 2,000 in process, then starts them).
ROWS_PER_ATTEMPT = 6000
COUNTY = "341224"
KEY = "reliability-import-1"


def _children(pid: int) -> list[int]:
    out: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(OSError):
            out += [int(p) for p in (task / "children").read_text().split()]
    return out


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


async def test_identification_killed_three_times_during_an_import(tmp_path: Path) -> None:
    system = await System(tmp_path, ["identification"]).start()
    ident = system.urls["identification"]
    rows = list(generate_households(HOUSEHOLDS, COUNTY, seed=66))
    body = "".join(json.dumps(h, ensure_ascii=False) + "\n" for h in rows).encode()
    headers = {**bearer("county", COUNTY), "Content-Type": "application/x-ndjson", "Idempotency-Key": KEY}
    report: dict[str, Any] = {"households": HOUSEHOLDS, "kills": []}
    t0 = time.monotonic()

    async def rows_done() -> int:
        sql = "SELECT coalesce(max(rows_done), 0) FROM jobs WHERE idempotency_key = $1"
        return int(await scalar(ident, sql, KEY))

    async def send() -> httpx.Response:
        async with httpx.AsyncClient(base_url=system.url("identification"), timeout=600) as c:
            return await c.post(f"/api/v1/households/import?total={HOUSEHOLDS}", content=body, headers=headers)

    try:
        for k in range(KILLS):
            target = await rows_done() + ROWS_PER_ATTEMPT
            attempt = asyncio.create_task(send())
            pid = system.pid("identification")
            if k == 0:  # the moment the pool's processes appear, before they are initialised
                assert await until(lambda p=pid: asyncio.sleep(0, len(_children(p)) >= 2), 120, 0.02)
            else:  # later, with the workers busy
                assert await until(lambda t=target: _at_least(rows_done(), t), 120, 0.05), await rows_done()
            workers = _children(pid)
            system.kill("identification")
            with pytest.raises(httpx.HTTPError):
                await attempt  # the client sees its upload cut off
            report["kills"].append(
                {
                    "when": "pool starting" if k == 0 else "pool running",
                    "rows_committed": await rows_done(),
                    "pool_processes": len(workers),
                }
            )
            system.spawn("identification")
            await system.wait_ready(["identification"])
            await asyncio.sleep(0.5)
            assert len(workers) >= 2  # the pool's workers (and its resource tracker) were running
            assert not [p for p in workers if _alive(p)]  # none left behind, orphaned
        r = await send()  # the last attempt runs to the end
        assert r.status_code == 202, r.text
        job = r.json()
        report["import_s"] = round(time.monotonic() - t0, 1)
        report["job"] = {k: job[k] for k in ("status", "rows_done", "rows_failed", "result")}
        assert job["status"] == "completed"
        assert (job["rows_done"], job["rows_failed"], job["rows_total"]) == (HOUSEHOLDS, 0, HOUSEHOLDS)
        assert job["result"] == {"inserted": HOUSEHOLDS, "updated": 0, "unchanged": 0}
        assert int(await scalar(ident, "SELECT count(*) FROM jobs WHERE kind = 'import'")) == 1
        # Exactly the file: every household once, with its members.
        stored = await query(
            ident,
            "SELECT h.household_number, h.region_code, count(m.id) AS members FROM households h "
            "LEFT JOIN members m ON m.household_id = h.id GROUP BY h.household_number, h.region_code",
        )
        assert len(stored) == HOUSEHOLDS
        assert {r["household_number"]: (r["region_code"], r["members"]) for r in stored} == {
            h["household_number"]: (h["region_code"], len(h["members"])) for h in rows
        }
        report["members"] = sum(r["members"] for r in stored)
    finally:
        report["total_s"] = round(time.monotonic() - t0, 1)
        print("\nscenario 6:", json.dumps(report, indent=1))
        await system.stop()


async def _at_least(value: Any, threshold: int) -> bool:
    return int(await value) >= threshold
