"""The income loop under SIGKILL (issue 16: each loop exactly once across a consumer kill):
200 `assistance.income_updated` events in the stream for 200 households; an identification
process (its real lifespan, forked by `forker.py`) takes a batch of 4, stores the incomes and
re-assessments, commits, and is SIGKILLed before the acks — 20 times; then one runs on. Every
household's income is applied once (its version moved by exactly one), every event is in the
inbox once, and each household whose colour changed has exactly one warning event."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from services.identification.main import create_app
from shared.cli.generate import generate_households
from shared.events import Event, encode_event
from shared.nats import NatsServer
from tests.helpers import TEST_SECRETS, auth, make_settings, running_app
from tests.reliability import checker
from tests.reliability.system import ON_POSTGRES_ONLY, Zygote, query, scalar, until
from tests.reliability.test_subsidy_consumer import consumer_state, publish

pytestmark = [pytest.mark.slow, pytest.mark.skipif(**ON_POSTGRES_ONLY)]

KILLS = int(os.environ.get("FANGFAN_REL_LOOP_KILLS", "20"))
HOUSEHOLDS = 200
CONSUMER = "identification-income-updated"
COUNTY = "341221"


@pytest.fixture(scope="module")
def zygote(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Zygote]:
    z = Zygote(tmp_path_factory.mktemp("forker"))
    asyncio.run(z.ready())
    yield z
    asyncio.run(z.close())


def child_env(database_url: str, nats_url: str, data_dir: Path) -> dict[str, str]:
    env = {f"FANGFAN_{k.upper()}": v for k, v in TEST_SECRETS.items()}
    env.update(
        FANGFAN_ENV="test",
        FANGFAN_DATA_DIR=str(data_dir),
        FANGFAN_IDENTIFICATION_DATABASE_URL=database_url,
        FANGFAN_NATS_URL=nats_url,
        FANGFAN_MIGRATE_ON_START="false",
        FANGFAN_LOG_LEVEL="WARNING",
        FANGFAN_CONSUMER_ACK_WAIT_S="2.0",
    )
    return env


async def households(tmp_path: Path, database_url: str, nats_url: str) -> list[tuple[str, str]]:
    """The identification database migrated and 200 generated households imported (through the
    service's own API, in this process)."""
    settings = make_settings(tmp_path / "import", nats_url=nats_url, database_url=database_url)
    (tmp_path / "import").mkdir()
    async with running_app(create_app, settings) as client:
        body = "".join(json.dumps(h, ensure_ascii=False) + "\n" for h in generate_households(HOUSEHOLDS, COUNTY))
        r = await client.post(
            "/api/v1/households/import",
            content=body.encode(),
            headers={"content-type": "application/x-ndjson"} | auth(settings, "county", COUNTY),
        )
        assert r.json()["rows_done"] == HOUSEHOLDS, r.text
    rows = await query(database_url, "SELECT id, region_code FROM households ORDER BY id")
    return [(r["id"], r["region_code"]) for r in rows]


def income_event(i: int, hid: str, region: str) -> Event:
    data: dict[str, Any] = {
        "household_id": hid,
        "region_code": region,
        "visit_id": f"visit-{i}",
        "visited_on": "2024-06-30",
        "income": {"wage": str(1000 + 211 * i)},
    }
    return Event("assistance", "income_updated", hid, region, data, source="assistance")


async def test_income_loop_killed_after_commit_before_ack(
    database_url: str, nats_server: NatsServer, zygote: Zygote, tmp_path: Path
) -> None:
    homes = await households(tmp_path, database_url, nats_server.url)
    versions = {r["id"]: r["version"] for r in await query(database_url, "SELECT id, version FROM households")}
    events = [income_event(i, hid, region) for i, (hid, region) in enumerate(homes)]
    await publish(nats_server.url, [(*encode_event(e), e.id) for e in events])
    env = child_env(database_url, nats_server.url, tmp_path)
    report: dict[str, Any] = {"events": len(events)}

    async def handled() -> int:
        return int(await scalar(database_url, "SELECT count(*) FROM inbox WHERE consumer = $1", CONSUMER))

    t0 = time.monotonic()
    kills, before = 0, 0
    for _ in range(KILLS):
        pid = await zygote.start(role="identification", env=env, batch=4, kill_after_decision=True)
        assert await zygote.gone(pid, 90) == "signal 9"
        kills += 1
        after = await handled()
        assert after > before  # it died holding committed, unacknowledged events
        before = after
    report.update(kills=kills, handled_by_killed_processes=before, kill_loop_s=round(time.monotonic() - t0, 1))

    pid = await zygote.start(role="identification", env=env, batch=100, kill_after_decision=False)
    try:

        async def settled() -> bool:
            return await consumer_state(nats_server.url, CONSUMER) == (0, 0) and await handled() >= len(events)

        assert await until(settled, 90, 0.5)
        await until(lambda: _published(database_url), 30, 0.5)
    finally:
        os.kill(pid, signal.SIGTERM)
        await zygote.gone(pid, 30)

    print("\nincome loop under kills:", json.dumps(report))
    assert await checker.inbox(database_url, CONSUMER) == {e.id for e in events}
    after = {r["id"]: r["version"] for r in await query(database_url, "SELECT id, version FROM households")}
    assert {hid: after[hid] - versions[hid] for hid in after} == dict.fromkeys(after, 1)  # each income once
    loops = await query(
        database_url, "SELECT household_id, income_visit_id, reassessment FROM household_loops ORDER BY household_id"
    )
    assert len(loops) == HOUSEHOLDS
    expected = {e.data["household_id"]: e.data["visit_id"] for e in events}
    assert {r["household_id"]: r["income_visit_id"] for r in loops} == expected
    changed = {r["household_id"] for r in loops if json.loads(r["reassessment"])["outcome"] != "unchanged"}
    warned = await query(
        database_url, "SELECT payload FROM outbox WHERE subject LIKE 'fangfan.risk.warning_%' ORDER BY id"
    )
    subjects = [json.loads(bytes(r["payload"]))["subject"] for r in warned]
    assert len(subjects) == len(set(subjects)) == len(changed) > 0  # one warning event per change
    assert set(subjects) == changed
    assert int(await scalar(database_url, "SELECT count(*) FROM dead_letters")) == 0


async def _published(database_url: str) -> bool:
    return await checker.unpublished(database_url) == 0
