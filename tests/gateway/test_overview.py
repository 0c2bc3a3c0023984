"""`GET /api/v1/households/{id}/overview`, put together by the gateway from the real services
(the whole system in one process over a real NATS, `fangfan demo`'s walk): everything about a
household on one page, masked; 404 outside the caller's jurisdiction; a service that is down
leaves a partial overview naming it, not a 5xx — even identification: each remaining service
still applies its own jurisdiction."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import httpx
import pytest

from shared.cli.demo import demo_system, walk

pytestmark = pytest.mark.sqlite_only  # the demo runs on its own SQLite files


async def test_overview_of_a_household_and_with_a_service_down(tmp_path: Path) -> None:
    async with demo_system(tmp_path) as system:
        seen = await walk(system, households=40)
        app = seen["application"]
        hid = app["household_id"]
        county = system.token("county", "341221")
        async with httpx.AsyncClient(base_url=system.gateway_url, timeout=60) as c:
            household = (await c.get(f"/api/v1/households/{hid}", headers=county)).json()
            village = household["region_code"]
            decision = {
                "kind": "public_welfare_post",
                "region_code": village,
                "as_of": system.clock().date().isoformat(),
                "inputs": {"annual_wage": "7200", "person_id": f"{hid}:1"},
                "household_id": hid,
            }
            r = await c.post(
                "/api/v1/subsidies/decisions",
                json=decision,
                headers={**county, "Idempotency-Key": uuid.uuid4().hex},
            )
            assert r.status_code == 201, r.text
            decision_id = r.json()["id"]

            officer = system.token("village", village)
            r = await c.get(f"/api/v1/households/{hid}/overview", headers=officer)
            assert r.status_code == 200, r.text
            assert r.headers["cache-control"] == "no-store"
            body = r.json()
            assert body["unavailable"] == []
            assert body["household_id"] == hid
            assert body["household"]["id"] == hid
            assert body["household"]["unmasked"] is False
            assert all(m["name"] is None and "*" in m["id_number"] for m in body["household"]["members"])
            listed = (await c.get("/api/v1/cases", params={"household_id": hid}, headers=officer)).json()["items"]
            assert body["cases"] == listed  # exactly what GET /cases answers this caller
            assert (app["case_id"], "monitored") in [(x["id"], x["state"]) for x in body["cases"]]
            assert all(x["household_id"] == hid and {"deadline", "overdue"} <= set(x) for x in body["cases"])
            assert body["risk"]["household_id"] == hid
            assert body["risk"]["assessment"]["explanations"]
            assert len(body["plans"]) == 1
            assert body["plans"][0]["measures"]
            assert body["visits"] == []
            assert [d["id"] for d in body["subsidy_decisions"]] == [decision_id]

            # another village's officer: the household does not exist for them
            other = system.token("village", village[:-1] + ("2" if village[-1] != "2" else "3"))
            r = await c.get(f"/api/v1/households/{hid}/overview", headers=other)
            assert r.status_code == 404, r.text
            assert r.headers["content-type"].startswith("application/problem+json")
            r = await c.get("/api/v1/households/no-such-household/overview", headers=county)
            assert r.status_code == 404
            # not for contact persons, departments or citizens (the permission table)
            for headers in (
                system.token("contact", village),
                system.token("department", "341221", dept="yibao"),
            ):
                r = await c.get(f"/api/v1/households/{hid}/overview", headers=headers)
                assert r.status_code == 403, r.text
            r = await c.get(f"/api/v1/households/{hid}/overview")
            assert r.status_code == 401

            # subsidy goes down: the rest of the page still comes, and says what is missing
            names = ("identification", "assistance", "subsidy", "notification")
            server, task = system.servers[names.index("subsidy")]
            server.should_exit = True
            await asyncio.wait_for(task, 30)
            r = await c.get(f"/api/v1/households/{hid}/overview", headers=officer)
            assert r.status_code == 200, r.text
            body = r.json()
            assert body["unavailable"] == ["subsidy"]
            assert body["subsidy_decisions"] == []
            assert body["household"]["id"] == hid
            assert len(body["plans"]) == 1
            assert body["cases"] == listed
            # and outside the jurisdiction it is still 404, not a partial page
            r = await c.get(f"/api/v1/households/{hid}/overview", headers=other)
            assert r.status_code == 404

            # identification goes down too: the household cannot be shown, but each remaining
            # service still answers only within the caller's jurisdiction
            server, task = system.servers[names.index("identification")]
            server.should_exit = True
            await asyncio.wait_for(task, 30)
            r = await c.get(f"/api/v1/households/{hid}/overview", headers=officer)
            assert r.status_code == 200, r.text
            body = r.json()
            assert body["unavailable"] == ["identification", "subsidy"]
            assert (body["household"], body["risk"], body["cases"]) == (None, None, [])
            assert len(body["plans"]) == 1
            r = await c.get(f"/api/v1/households/{hid}/overview", headers=other)
            assert r.status_code == 200, r.text
            assert r.json()["plans"] == []
            assert r.json()["visits"] == []
            assert r.json()["subsidy_decisions"] == []
