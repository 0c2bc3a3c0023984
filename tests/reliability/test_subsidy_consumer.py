"""The subsidy service's event consumer under faults (issue 10, scenarios 3 and 5), run in real
processes forked by `forker.py` with the service's own lifespan (consumers and relay, no HTTP):
killed with SIGKILL right after committing decisions and before acknowledging them, 50 times;
and fed 10 poison events among 10,000. Checked: the money decided, to the fen; the inbox; the
dead letters; the consumer's pending counts in JetStream."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nats
import pytest

from shared.db import make_engine
from shared.events import Event, encode_event
from shared.migrations import upgrade
from shared.nats import NatsServer, ensure_stream
from tests.helpers import TEST_SECRETS
from tests.reliability import checker
from tests.reliability.system import ON_POSTGRES_ONLY, ROOT, Zygote, query, scalar, until

pytestmark = [pytest.mark.slow, pytest.mark.skipif(**ON_POSTGRES_ONLY)]

KILLS = int(os.environ.get("FANGFAN_REL_CONSUMER_KILLS", "50"))
PLACEMENTS = 600
CONSUMER = "subsidy-placements"
#: The 2020 Linquan employment policy: one-off transport allowance by where the work is (yuan).
ALLOWANCE_FEN = {"out_of_county_in_city": 10_000, "out_of_city_in_province": 30_000, "out_of_province": 50_000}
LOCATIONS = sorted(ALLOWANCE_FEN)
VILLAGE = "341221001001"
EVENTS = 10_000  # scenario 5, by hand


@pytest.fixture(scope="module")
def zygote(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Zygote]:
    z = Zygote(tmp_path_factory.mktemp("forker"))
    asyncio.run(z.ready())
    yield z
    asyncio.run(z.close())


def placement(i: int) -> Event:
    """The event assistance publishes when a job placement is recorded (docs/subsidy.md)."""
    data = {
        "person_ref": f"per-{i}",
        "household_id": f"hh-{i}",
        "region_code": VILLAGE,
        "work_location": LOCATIONS[i % 3],
        "contract_months": 12,
        "social_insurance": True,
        "epidemic_period": False,
        "stable_months": 0,
        "age": 45,
        "placed_on": "2020-05-10",
    }
    return Event("assistance", "placement_recorded", f"hh-{i}", VILLAGE, data, source="assistance")


async def publish(url: str, messages: list[tuple[str, bytes, str]]) -> None:
    """(subject, payload, message id) into the stream, as the assistance relay would."""
    nc = await nats.connect(url)
    try:
        js = nc.jetstream()
        await ensure_stream(js)
        for i in range(0, len(messages), 500):
            acks = [await js.publish_async(s, p, headers={"Nats-Msg-Id": mid}) for s, p, mid in messages[i : i + 500]]
            await asyncio.gather(*acks)
    finally:
        await nc.close()


async def consumer_state(url: str, durable: str) -> tuple[int, int]:
    """(messages not yet delivered, delivered and not acknowledged) for a durable consumer."""
    nc = await nats.connect(url)
    try:
        info = await nc.jetstream().consumer_info("FANGFAN", durable)
        return int(info.num_pending or 0), int(info.num_ack_pending or 0)
    finally:
        await nc.close()


async def migrated(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        await upgrade(engine, "subsidy", ROOT / "services" / "subsidy" / "migrations")
    finally:
        await engine.dispose()


def child_env(database_url: str, nats_url: str, data_dir: Path, ack_wait_s: float = 2.0) -> dict[str, str]:
    env = {f"FANGFAN_{k.upper()}": v for k, v in TEST_SECRETS.items()}
    env.update(
        FANGFAN_ENV="test",
        FANGFAN_DATA_DIR=str(data_dir),
        FANGFAN_SUBSIDY_DATABASE_URL=database_url,
        FANGFAN_NATS_URL=nats_url,
        FANGFAN_MIGRATE_ON_START="false",
        FANGFAN_LOG_LEVEL="WARNING",
        # Messages fetched by a killed consumer come back after this (production: 60 s).
        FANGFAN_CONSUMER_ACK_WAIT_S=str(ack_wait_s),
    )
    return env


async def test_subsidy_consumer_killed_after_recording_before_ack(
    database_url: str, nats_server: NatsServer, zygote: Zygote, tmp_path: Path
) -> None:
    """Scenario 3. 600 placements in the stream; a subsidy process takes a batch of 8, records
    the decisions, commits, and is SIGKILLed before the acks — 50 times; then one runs on.
    Every placement is decided once and the money decided equals the expected total exactly."""
    await migrated(database_url)
    events = [placement(i) for i in range(PLACEMENTS)]
    expected_fen = sum(ALLOWANCE_FEN[e.data["work_location"]] for e in events)
    await publish(nats_server.url, [(*encode_event(e), e.id) for e in events])
    env = child_env(database_url, nats_server.url, tmp_path)
    report: dict[str, Any] = {"placements": PLACEMENTS, "expected_fen": expected_fen}
    t0 = time.monotonic()

    async def decided() -> int:
        return int(await scalar(database_url, "SELECT count(*) FROM decisions"))

    kills, before = 0, 0
    for _ in range(KILLS):
        pid = await zygote.start(role="subsidy", env=env, batch=8, kill_after_decision=True)
        assert await zygote.gone(pid, 60) == "signal 9"
        kills += 1
        after = await decided()
        assert after > before  # it died holding committed, unacknowledged decisions
        before = after
    report["kills"] = kills
    report["decided_by_killed_processes"] = await decided()
    report["kill_loop_s"] = round(time.monotonic() - t0, 1)

    t1 = time.monotonic()
    pid = await zygote.start(role="subsidy", env=env, batch=100, kill_after_decision=False)
    try:

        async def settled() -> bool:
            pending = await consumer_state(nats_server.url, CONSUMER)
            return pending == (0, 0) and await decided() >= PLACEMENTS and not await checker.unpublished(database_url)

        await until(settled, 60, 0.5)
        report["drain_s"] = round(time.monotonic() - t1, 1)
        await asyncio.sleep(1.0)
    finally:
        os.kill(pid, signal.SIGTERM)
        await zygote.gone(pid, 10)

    rows = await query(
        database_url,
        "SELECT count(*) AS n, count(DISTINCT origin_event_id) AS events, count(DISTINCT subject_id) AS people, "
        "sum(amount_fen)::bigint AS fen FROM decisions WHERE origin = 'event'",
    )
    report["decisions"] = dict(rows[0])
    print("\nscenario 3:", json.dumps(report, indent=1))
    assert kills == KILLS
    assert dict(rows[0]) == {"n": PLACEMENTS, "events": PLACEMENTS, "people": PLACEMENTS, "fen": expected_fen}
    assert int(await scalar(database_url, "SELECT count(*) FROM decisions")) == PLACEMENTS
    assert await checker.inbox(database_url, CONSUMER) == {e.id for e in events}
    assert int(await scalar(database_url, "SELECT count(*) FROM dead_letters")) == 0
    assert await consumer_state(nats_server.url, CONSUMER) == (0, 0)
    # One `decision_calculated` event per decision, all published.
    out = await query(database_url, "SELECT payload FROM outbox WHERE subject LIKE 'fangfan.subsidy.%'")
    ids = [json.loads(bytes(r["payload"]))["data"]["decision_id"] for r in out]
    assert len(ids) == len(set(ids)) == PLACEMENTS
    assert await checker.unpublished(database_url) == 0


def poison_messages() -> list[tuple[str, bytes, str]]:
    """Ten events that can never be handled, each differently broken."""
    subject = placement(0).nats_subject
    out: list[tuple[str, bytes, str]] = [
        (subject, b"not json at all", "poison-0"),
        (subject, b'{"specversion": "1.0", "type": "cn.fangfan.assistance.placement_recorded.v1"}', "poison-1"),
        (subject, json.dumps(["a", "list"]).encode(), "poison-2"),
    ]
    broken: list[dict[str, Any]] = [
        {"person_ref": None},  # required
        {"placed_on": "last spring"},  # not a date
        {"work_location": "the moon"},  # not a location
        {"contract_months": "twelve"},  # not a number
        {"age": -3},  # impossible
        {"region_code": "130127001001"},  # no transport-allowance policy there
        {"social_insurance": {"yes": True}},  # not a boolean
    ]
    for k, change in enumerate(broken, start=3):
        ev = placement(900_000 + k)
        ev.data.update(change)
        s, payload = encode_event(ev)
        out.append((s, payload, ev.id))
    return out


@pytest.mark.skipif(
    not os.environ.get("FANGFAN_REL_SUBSIDY_POISON"), reason="by hand (~100 s): FANGFAN_REL_SUBSIDY_POISON=1"
)
async def test_ten_poison_placements_among_ten_thousand(
    database_url: str, nats_server: NatsServer, zygote: Zygote, tmp_path: Path
) -> None:
    """Scenario 5 on the subsidy service's own consumer (by hand; CI runs it on the shared
    consumer in test_poison.py). 10,000 placements published in a burst while the consumer runs,
    10 of them poison (undecodable, not CloudEvents, bad or missing fields, no policy), spread
    evenly. Every poison ends in `dead_letters`, the 9,990 others are decided, the durable
    consumer ends with nothing pending. How long each poison waited is reported, not asserted:
    it is the depth of the queue in front of it (this consumer decides ~100 events/s here)."""
    await migrated(database_url)
    poison = poison_messages()
    poison_ids = {mid for _, _, mid in poison}
    good = [placement(i) for i in range(EVENTS - len(poison))]
    stream: list[tuple[str, bytes, str]] = [(*encode_event(e), e.id) for e in good]
    step = EVENTS // len(poison)
    for k, msg in enumerate(poison):
        stream.insert(k * step + step // 2, msg)
    env = child_env(database_url, nats_server.url, tmp_path, ack_wait_s=60)  # the production default
    report: dict[str, Any] = {"events": len(stream), "poison": len(poison)}
    pid = await zygote.start(role="subsidy", env=env, batch=500, kill_after_decision=False)
    try:
        assert await until(lambda: _has_consumer(nats_server.url, CONSUMER), 30)
        t0 = time.time()
        published_at: dict[str, float] = {}
        for i in range(0, len(stream), 1000):  # as a producer would: a thousand at a time
            part = stream[i : i + 1000]
            await publish(nats_server.url, part)
            now = time.time()
            published_at.update({mid: now for _, _, mid in part if mid in poison_ids})

        async def settled() -> bool:
            n = int(await scalar(database_url, "SELECT count(*) FROM decisions"))
            dead = int(await scalar(database_url, "SELECT count(*) FROM dead_letters"))
            return n >= len(good) and dead >= len(poison) and await consumer_state(nats_server.url, CONSUMER) == (0, 0)

        assert await until(settled, 600, 0.5), await consumer_state(nats_server.url, CONSUMER)
        report["all_handled_s"] = round(time.time() - t0, 1)
    finally:
        os.kill(pid, signal.SIGTERM)
        await zygote.gone(pid, 10)

    dead = await query(database_url, "SELECT event_id, payload, error, deliveries, created_at FROM dead_letters")
    latencies = {}
    for r in dead:
        key = r["event_id"] or _poison_key(bytes(r["payload"]), poison)
        latencies[key] = round(r["created_at"].timestamp() - published_at[key], 2)
    report["dead_letter_after_s"] = sorted(latencies.values())
    report["errors"] = sorted(r["error"][:60] for r in dead)
    rows = await query(
        database_url,
        "SELECT count(*) AS n, count(DISTINCT origin_event_id) AS events, sum(amount_fen)::bigint AS fen "
        "FROM decisions",
    )
    report["decisions"] = dict(rows[0])
    print("\nscenario 5:", json.dumps(report, indent=1))
    assert set(latencies) == poison_ids
    assert len(dead) == len(poison)
    expected_fen = sum(ALLOWANCE_FEN[e.data["work_location"]] for e in good)
    assert dict(rows[0]) == {"n": len(good), "events": len(good), "fen": expected_fen}
    assert await checker.inbox(database_url, CONSUMER) >= {e.id for e in good}


async def _has_consumer(url: str, durable: str) -> bool:
    try:
        await consumer_state(url, durable)
    except Exception:
        return False
    return True


def _poison_key(payload: bytes, poison: list[tuple[str, bytes, str]]) -> str:
    """The message id of an undecodable poison (its dead letter has no event id)."""
    return next(mid for _, p, mid in poison if p == payload)
