"""The loops end to end over real NATS (issue 16): identification and assistance running
in-process with their real lifespans (each its own database, relay and consumers) on one NATS
server. A household identified in identification gets its plan in assistance; assistance's
events come back:
- a visit's income (`POST /visits` with `income`) re-assesses the household: the warning is
  cleared, then raised again, each once — across a redelivered copy of the event, an event
  handled but never acknowledged (the consumer "dies" between commit and ack: JetStream delivers
  it again) and identification stopped and started again while assistance published;
- the plan's measures reach identification: `measures.since` from the plan being drawn up, the
  open/closed/dropped counts, and the county's approval of elimination refused with
  `measures_open` until every measure is closed or dropped."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import nats
import pytest
import sqlalchemy as sa
from nats.aio.msg import Msg

from services.assistance.main import create_app as create_assistance
from services.identification.main import create_app as create_identification
from shared.db import make_engine
from shared.nats import NatsServer
from shared.settings import Settings
from tests.conftest import TEST_DB, create_pg_database, drop_pg_database
from tests.helpers import auth, collect_events, make_settings, running_app
from tests.identification.integration.test_cases_support import COUNTY, START, TOWNSHIP, VILLAGE, application

CONSUMER_INCOME = "identification-income-updated"


@dataclass
class Loops:
    """Both services; identification can be stopped and started again on the same database."""

    tmp: Path
    nats_url: str
    iden_url: str
    assi_url: str
    now: list[dt.datetime]
    stack: contextlib.AsyncExitStack = field(default_factory=contextlib.AsyncExitStack)
    iden: httpx.AsyncClient | None = None
    assi: httpx.AsyncClient | None = None
    _iden_cm: Any = None

    def settings(self, name: str, url: str) -> Settings:
        # a message handled but not acknowledged comes again after 2 s (not 60)
        return make_settings(self.tmp / name, nats_url=self.nats_url, database_url=url, consumer_ack_wait_s=2.0)

    def h(self, role: str, region: str = VILLAGE, **kw: Any) -> dict[str, str]:
        return auth(self.settings("iden", self.iden_url), role, region, **kw)

    def _clock(self) -> Callable[[], dt.datetime]:
        return lambda: self.now[0]

    async def start_identification(self) -> None:
        (self.tmp / "iden").mkdir(exist_ok=True)
        self._iden_cm = running_app(create_identification, self.settings("iden", self.iden_url))
        self.iden = await self._iden_cm.__aenter__()
        ctx = self.iden.app.state.ctx  # type: ignore[attr-defined]
        ctx.clock = self._clock()
        await ctx.link.wait_ready(10)

    async def stop_identification(self) -> None:
        await self._iden_cm.__aexit__(None, None, None)
        self.iden = None

    async def start_assistance(self) -> None:
        (self.tmp / "assi").mkdir(exist_ok=True)
        self.assi = await self.stack.enter_async_context(
            running_app(create_assistance, self.settings("assi", self.assi_url))
        )
        ctx = self.assi.app.state.ctx  # type: ignore[attr-defined]
        ctx.clock = self._clock()
        await ctx.link.wait_ready(10)

    async def household(self, hid: str) -> dict[str, Any]:
        assert self.iden is not None
        r = await self.iden.get(f"/api/v1/households/{hid}", headers=self.h("county", COUNTY))
        assert r.status_code == 200, r.text
        return dict(r.json())

    async def until_household(self, hid: str, check: Callable[[dict[str, Any]], bool], timeout: float = 15) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            body = await self.household(hid)
            if check(body):
                return body
            if time.monotonic() > deadline:
                raise AssertionError(f"household {hid} never matched: {json.dumps(body, ensure_ascii=False)}")
            await asyncio.sleep(0.1)

    async def plan(self, hid: str, timeout: float = 15) -> dict[str, Any]:
        assert self.assi is not None
        deadline = time.monotonic() + timeout
        while True:
            r = await self.assi.get("/api/v1/plans", params={"household_id": hid}, headers=self.h("county", COUNTY))
            assert r.status_code == 200, r.text
            if r.json()["items"]:
                return dict(r.json()["items"][0])
            if time.monotonic() > deadline:
                raise AssertionError(f"no plan for {hid}")
            await asyncio.sleep(0.1)

    async def act(self, case_id: str, headers: dict[str, str], **body: Any) -> httpx.Response:
        assert self.iden is not None
        return await self.iden.post(f"/api/v1/cases/{case_id}/transitions", json=body, headers=headers)

    async def measure(self, measure_id: str, **body: Any) -> None:
        assert self.assi is not None
        r = await self.assi.post(f"/api/v1/measures/{measure_id}/transitions", json=body, headers=self.h("village"))
        assert r.status_code == 200, r.text

    async def visit(self, hid: str, on: dt.date, **income: str) -> None:
        assert self.assi is not None
        r = await self.assi.post(
            "/api/v1/visits",
            json={"household_id": hid, "visited_on": on.isoformat(), "findings": "入户走访", "income": income},
            headers=self.h("village"),
        )
        assert r.status_code == 201, r.text

    async def monitored_household(self) -> tuple[str, str]:
        """An application walked to `monitored` (identification); returns (household, case)."""
        assert self.iden is not None
        r = await self.iden.post(
            "/api/v1/applications",
            json=application(VILLAGE),
            headers={**self.h("village"), "Idempotency-Key": uuid.uuid4().hex},
        )
        assert r.status_code == 201, r.text
        hid, case_id = r.json()["household_id"], r.json()["case_id"]
        v, t, c = self.h("village"), self.h("township", TOWNSHIP), self.h("county", COUNTY)
        for headers, body in [
            (v, {"action": "advance"}),
            (v, {"action": "advance", "investigators": ["王五", "赵六"]}),
            (v, {"action": "advance", "note": "村民主评议通过"}),
        ]:
            assert (await self.act(case_id, headers, **body)).status_code == 200
        self.now[0] += dt.timedelta(days=7)
        for headers, body in [
            (v, {"action": "advance"}),
            (t, {"action": "advance", "note": "乡镇审核同意"}),
            (c, {"action": "advance", "note": "县级审定"}),
        ]:
            r = await self.act(case_id, headers, **body)
            assert r.status_code == 200, r.text
        return hid, case_id


async def _database(tmp: Path, name: str) -> tuple[str, str | None]:
    if TEST_DB == "postgres":
        pg, url = await create_pg_database()
        return url, pg
    return f"sqlite+aiosqlite:///{tmp / (name + '.db')}", None


@pytest.fixture
async def loops(tmp_path: Path, nats_server: NatsServer) -> AsyncIterator[Loops]:
    iden_url, iden_pg = await _database(tmp_path, "iden")
    assi_url, assi_pg = await _database(tmp_path, "assi")
    sys = Loops(tmp_path, nats_server.url, iden_url, assi_url, [START])
    try:
        async with sys.stack:
            await sys.start_assistance()
            await sys.start_identification()
            assert sys.assi is not None
            r = await sys.assi.post(
                "/api/v1/contacts",
                json={"region_code": VILLAGE, "name": "王小明", "phone": "13812345678", "unit": "驻村工作队"},
                headers=sys.h("township", TOWNSHIP),
            )
            assert r.status_code == 201, r.text
            try:
                yield sys
            finally:
                if sys.iden is not None:
                    await sys.stop_identification()
    finally:
        for pg in (iden_pg, assi_pg):
            if pg is not None:
                await drop_pg_database(pg)


async def _scalar(url: str, sql: str, **params: Any) -> Any:
    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            return (await conn.execute(sa.text(sql), params)).scalar()
    finally:
        await engine.dispose()


async def _events(url: str, subject: str, hid: str, *, at_least: int = 0) -> list[dict[str, Any]]:
    got = await collect_events(url, subject, count=1000, timeout=2 if at_least == 0 else 5)
    return [e for e in got if e["data"].get("household_id") == hid]


async def test_income_update_reassesses_exactly_once_across_redelivery_and_restart(
    loops: Loops, monkeypatch: pytest.MonkeyPatch
) -> None:
    hid, _case = await loops.monitored_household()
    before = await loops.household(hid)
    assert before["warning"] is not None  # a marginal household (per capita 3,000): a colour
    plan = await loops.plan(hid)
    assert plan["household_id"] == hid

    # 1. a visit finds a steady wage: per capita 30,000 → the warning is cleared, explained
    loops.now[0] += dt.timedelta(days=3)
    await loops.visit(hid, loops.now[0].date(), wage="60000")
    body = await loops.until_household(hid, lambda b: (b["reassessment"] or {}).get("outcome") == "warning_cleared")
    assert body["warning"] is None
    assert body["per_capita_income"] == "30000.00"
    re = body["reassessment"]
    assert re["previous_warning"] == before["warning"]
    assert re["income"] == {"wage": "60000.00"}
    assert re["policy"]["id"]
    assert re["explanations"]
    assert all({"rule", "source", "detail"} <= set(x) for x in re["explanations"])
    cleared = await _events(loops.nats_url, "fangfan.risk.warning_cleared.>", hid, at_least=1)
    assert len(cleared) == 1
    assert cleared[0]["data"]["previous_warning"] == before["warning"]
    assert cleared[0]["data"]["trigger"] == "income_updated"
    assert cleared[0]["data"]["rules"] == re["rules"]

    # 2. the same event again (a copy past the duplicate window: a new message id) → no effect
    [income_event] = await _events(loops.nats_url, "fangfan.assistance.income_updated.>", hid, at_least=1)
    nc = await nats.connect(loops.nats_url)
    try:
        subject = "fangfan.assistance.income_updated.34.3412.341221.341221001." + VILLAGE
        await nc.jetstream().publish(
            subject, json.dumps(income_event).encode(), headers={"Nats-Msg-Id": f"again-{income_event['id']}"}
        )
    finally:
        await nc.close()
    version = await _scalar(loops.iden_url, "SELECT version FROM households WHERE id = :h", h=hid)
    deadline = time.monotonic() + 10
    while await _scalar(loops.iden_url, "SELECT count(*) FROM inbox WHERE event_id = :e", e=income_event["id"]) != 1:
        assert time.monotonic() < deadline
        await asyncio.sleep(0.1)
    await asyncio.sleep(1.0)  # the copy is delivered and acknowledged (absorbed by the inbox)
    assert await _scalar(loops.iden_url, "SELECT version FROM households WHERE id = :h", h=hid) == version
    assert len(await _events(loops.nats_url, "fangfan.risk.warning_cleared.>", hid)) == 1

    # 3. identification's consumer "dies" after committing an event and before acknowledging it:
    # JetStream delivers the event again (after ack_wait) and the inbox absorbs it
    lost: list[str] = []
    acked: list[int] = []  # deliveries of the income event when acknowledged
    original_ack = Msg.ack

    async def ack_lost_once(msg: Msg) -> None:
        if "income_updated" in msg.subject:
            if not lost:
                lost.append(msg.subject)
                return  # the acknowledgement never reaches the server (the process died)
            acked.append(msg.metadata.num_delivered)
        await original_ack(msg)

    monkeypatch.setattr(Msg, "ack", ack_lost_once)
    loops.now[0] += dt.timedelta(days=5)
    await loops.visit(hid, loops.now[0].date(), wage="60001")
    body = await loops.until_household(hid, lambda b: (b["reassessment"] or {}).get("income") == {"wage": "60001.00"})
    assert lost
    assert body["reassessment"]["outcome"] == "unchanged"
    version = await _scalar(loops.iden_url, "SELECT version FROM households WHERE id = :h", h=hid)
    deadline = time.monotonic() + 30
    while not acked:  # past ack_wait (2 s) the unacknowledged delivery comes again
        assert time.monotonic() < deadline, "the unacknowledged event was not delivered again"
        await asyncio.sleep(0.1)
    assert await _scalar(loops.iden_url, "SELECT version FROM households WHERE id = :h", h=hid) == version
    nc = await nats.connect(loops.nats_url)
    try:
        info = await nc.jetstream().consumer_info("FANGFAN", CONSUMER_INCOME)
        assert info.num_ack_pending == 0
    finally:
        await nc.close()
    assert acked == [2]  # delivered again, found in the inbox, acknowledged: no second effect
    monkeypatch.setattr(Msg, "ack", original_ack)

    # 4. identification stopped; assistance records a visit finding the wage gone; started again
    await loops.stop_identification()
    loops.now[0] += dt.timedelta(days=20)
    await loops.visit(hid, loops.now[0].date(), wage="4000")
    await loops.start_identification()
    body = await loops.until_household(hid, lambda b: (b["reassessment"] or {}).get("outcome") == "warning_raised")
    assert body["warning"] is not None
    assert body["per_capita_income"] == "2000.00"
    raised = [
        e
        for e in await _events(loops.nats_url, "fangfan.risk.warning_raised.>", hid, at_least=1)
        if e["data"].get("trigger") == "income_updated"
    ]
    assert len(raised) == 1
    data = raised[0]["data"]
    assert data["warning"] == body["warning"]
    assert data["previous_warning"] is None
    assert data["manual"] is False
    assert data["explanations"]
    assert data["rules"]
    assert "id_number" not in json.dumps(data)
    # three income events (the copy has the first one's event id), each handled once
    assert await _scalar(loops.iden_url, "SELECT count(*) FROM inbox WHERE consumer = :c", c=CONSUMER_INCOME) == 3
    assert await _scalar(loops.iden_url, "SELECT count(*) FROM dead_letters") == 0


async def test_measures_reach_the_elimination_guards(loops: Loops) -> None:
    hid, case_id = await loops.monitored_household()
    plan = await loops.plan(hid)
    ids = [m["id"] for m in plan["measures"]]
    assert ids
    body = await loops.until_household(hid, lambda b: b["measures"]["open"] == len(ids))
    assert body["measures"] == {"since": None, "open": len(ids), "closed": 0, "dropped": 0}

    accepted_on = loops.now[0].date()
    await loops.measure(ids[0], action="accept", note="受理")
    body = await loops.until_household(hid, lambda b: b["measures"]["since"] is not None)
    assert body["measures"]["since"] == accepted_on.isoformat()

    # income above the floor, three months of monitoring: an elimination case to county review
    await loops.visit(hid, loops.now[0].date(), wage="60000")
    await loops.until_household(hid, lambda b: b["reassessment"] is not None)
    loops.now[0] += dt.timedelta(days=95)
    v, t, c = loops.h("village"), loops.h("township", TOWNSHIP), loops.h("county", COUNTY)
    r = await loops.act(case_id, v, action="propose_elimination", note="收入稳定")
    assert r.status_code == 200, r.text
    elim = r.json()["opened_case_id"]
    for headers, step in [
        (v, {"action": "advance"}),
        (v, {"action": "advance", "investigators": ["王五", "赵六"]}),
        (v, {"action": "advance", "note": "评议通过"}),
    ]:
        assert (await loops.act(elim, headers, **step)).status_code == 200
    loops.now[0] += dt.timedelta(days=8)
    for headers, step in [(v, {"action": "advance"}), (t, {"action": "advance", "note": "乡镇审核"})]:
        r = await loops.act(elim, headers, **step)
        assert r.status_code == 200, r.text
    case = (await loops.iden.get(f"/api/v1/cases/{elim}", headers=c)).json()  # type: ignore[union-attr]
    assert case["state"] == "county_review"
    assert "advance" not in case["allowed_actions"]
    r = await loops.act(elim, c, action="advance", note="县级审定")
    assert r.status_code == 409
    assert r.json()["code"] == "measures_open"
    assert "002 篇九 §四(一)" in r.json()["source"]

    # deliver the first measure, drop the others: the county may approve
    await loops.measure(ids[0], action="start", note="实施")
    await loops.measure(ids[0], action="close", outcome="已落实")
    for mid in ids[1:]:
        await loops.measure(mid, action="drop", reason="不再需要")
    body = await loops.until_household(hid, lambda b: b["measures"]["open"] == 0)
    assert body["measures"] == {
        "since": accepted_on.isoformat(),
        "open": 0,
        "closed": 1,
        "dropped": len(ids) - 1,
    }
    case = (await loops.iden.get(f"/api/v1/cases/{elim}", headers=c)).json()  # type: ignore[union-attr]
    assert "advance" in case["allowed_actions"]
    r = await loops.act(elim, c, action="advance", note="县级审定")
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "eliminated"
