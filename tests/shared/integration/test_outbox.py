"""The outbox and the idempotent consumer against a real NATS server and a real database:
nothing lost through an outage, a redelivery or a crash; nothing doubled; poison set aside."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

from shared.db import utcnow
from shared.events import Event, encode_event
from shared.nats import NatsLink, NatsServer
from shared.outbox import PublishRefused
from tests.shared.integration import outbox_harness as h

ROOT = Path(__file__).resolve().parents[3]


async def test_outage_then_start_delivers_every_event_exactly_once(database_url: str, tmp_path: Path) -> None:
    """(a) NATS stopped, 1,000 state changes committed, NATS started: every event arrives once."""
    server = NatsServer(tmp_path / "js", log_file=tmp_path / "nats.log")  # not started yet
    engine = await h.setup_engine(database_url)
    link = NatsLink(server.url, name="t-a")
    link.start()
    relay = h.make_relay(engine, link)
    consumer = h.make_consumer(engine, link)
    relay.start()
    consumer.start()
    try:
        await h.commit_changes(engine, 1000, per_tx=10)
        await asyncio.sleep(0.5)
        assert await relay.backlog() == 1000  # nothing can leave while NATS is down
        server.start()
        done = await h.wait_for(lambda: _count_is(engine, 1000), timeout=60)
        assert done, await h.effect_stats(engine)
        await asyncio.sleep(0.5)  # give any double a chance to show
        assert await h.effect_stats(engine) == (1000, 1000)
        assert await relay.backlog() == 0
    finally:
        await consumer.stop()
        await relay.stop()
        await link.close()
        await engine.dispose()
        server.stop()


async def _count_is(engine, n: int) -> bool:  # type: ignore[no-untyped-def]
    total, _ = await h.effect_stats(engine)
    return total >= n


async def test_same_event_delivered_twice_has_one_effect(database_url: str, nats_server: NatsServer) -> None:
    """(b) The same CloudEvent lands in the stream twice (different message ids, so JetStream
    cannot de-duplicate it): the inbox makes the second delivery harmless."""
    engine = await h.setup_engine(database_url)
    link = NatsLink(nats_server.url, name="t-b")
    link.start()
    await link.wait_ready(10)
    consumer = h.make_consumer(engine, link)
    try:
        events = [Event("test", "changed", f"c{i}", h.REGION, {"n": i}) for i in range(20)]
        assert link.js is not None
        for ev in events:
            subject, payload = encode_event(ev)
            for _ in range(2):  # same event, two stream messages
                await link.js.publish(subject, payload, headers={"Nats-Msg-Id": uuid.uuid4().hex})
        # and one more copy arriving later, in a separate batch
        subject, payload = encode_event(events[0])
        consumer.start()
        assert await h.wait_for(lambda: _count_is(engine, 20), timeout=20)
        await link.js.publish(subject, payload, headers={"Nats-Msg-Id": uuid.uuid4().hex})
        await asyncio.sleep(1.5)
        assert await h.effect_stats(engine) == (20, 20)
        async with engine.connect() as conn:
            inbox = (await conn.execute(sa.select(sa.func.count()).select_from(h.tables["inbox"]))).scalar_one()
        assert inbox == 20
    finally:
        await consumer.stop()
        await link.close()
        await engine.dispose()


async def test_relay_killed_mid_batch_loses_and_doubles_nothing(database_url: str, nats_server: NatsServer) -> None:
    """(c) The relay process is SIGKILLed between publishing a batch and marking it, several
    times; restarted each time. Every event is handled exactly once."""
    engine = await h.setup_engine(database_url)
    total = 3000
    await h.commit_changes(engine, total, per_tx=100)
    link = NatsLink(nats_server.url, name="t-c")
    link.start()
    consumer = h.make_consumer(engine, link)
    consumer.start()
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    kills = 0
    try:
        for _ in range(4):
            proc = subprocess.Popen(
                [
                    sys.executable,
                    str(Path(__file__).with_name("relay_proc.py")),
                    database_url,
                    nats_server.url,
                    "200",
                    "0.3",
                ],
                env=env,
                cwd=ROOT,
                stdout=subprocess.PIPE,
            )
            assert proc.stdout is not None
            assert proc.stdout.readline().strip() == b"ready"
            # Let it publish at least one batch, then kill it while it sits between publish and mark.
            await asyncio.sleep(1.0)
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            kills += 1
            total_seen, _ = await h.effect_stats(engine)
            if total_seen >= total:
                break
        # The last start runs to the end.
        proc = subprocess.Popen(
            [sys.executable, str(Path(__file__).with_name("relay_proc.py")), database_url, nats_server.url, "500", "0"],
            env=env,
            cwd=ROOT,
            stdout=subprocess.PIPE,
        )
        try:
            assert await h.wait_for(lambda: _count_is(engine, total), timeout=60)
            await asyncio.sleep(1.0)
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(10)
        assert kills >= 1
        assert await h.effect_stats(engine) == (total, total)
        async with engine.connect() as conn:
            unpublished = (
                await conn.execute(sa.select(sa.func.count()).where(h.tables["outbox"].c.published_at.is_(None)))
            ).scalar_one()
        assert unpublished == 0
    finally:
        await consumer.stop()
        await link.close()
        await engine.dispose()


async def test_poison_event_is_dead_lettered_and_does_not_block(database_url: str, nats_server: NatsServer) -> None:
    """(d) One event always fails, one is marked poison outright: both end in the dead-letter
    table; the 200 events around them are handled."""
    engine = await h.setup_engine(database_url)
    link = NatsLink(nats_server.url, name="t-d")
    link.start()
    await link.wait_ready(10)
    consumer = h.make_consumer(engine, link, max_deliver=3, retry_delays=(0.1, 0.2))
    relay = h.make_relay(engine, link)
    relay.start()
    consumer.start()
    try:
        async with h.uow_factory(engine)() as uow:
            for i in range(200):
                data: dict[str, object] = {"n": i}
                if i == 50:
                    data = {"n": i, "poison": "soft"}  # raises every time: retried, then dead-lettered
                if i == 120:
                    data = {"n": i, "poison": "hard"}  # PoisonEvent: dead-lettered at once
                uow.add_event(Event("test", "changed", f"c{i}", h.REGION, data))
            await uow.commit()
        # an undecodable message too
        assert link.js is not None
        await link.js.publish("fangfan.test.changed.34.3412.341221.341221001.341221001001", b"not json")
        assert await h.wait_for(lambda: _count_is(engine, 198), timeout=30)

        async def dead() -> list[tuple[str | None, str]]:
            async with engine.connect() as conn:
                rows = (
                    await conn.execute(sa.select(h.tables["dead_letters"].c.event_id, h.tables["dead_letters"].c.error))
                ).all()
            return [(r[0], r[1]) for r in rows] if len(rows) >= 3 else []

        rows = await h.wait_for(dead, timeout=30)
        assert len(rows) == 3, rows
        errors = sorted(e.split(":")[0] for _, e in rows)
        assert errors == ["RuntimeError", "poison", "undecodable event"]
        assert await h.effect_stats(engine) == (198, 198)
        payloads = {r[0] for r in rows}
        assert None in payloads  # the undecodable one has no event id
    finally:
        await consumer.stop()
        await relay.stop()
        await link.close()
        await engine.dispose()


def test_event_json_is_cloudevents() -> None:
    ev = Event("risk", "warning_raised", "hh-1", "341221001001", {"warning": "red"}, source="identification")
    subject, payload = encode_event(ev)
    body = json.loads(payload)
    assert subject == "fangfan.risk.warning_raised.34.3412.341221.341221001.341221001001"
    assert body["specversion"] == "1.0"
    assert body["type"] == "cn.fangfan.risk.warning_raised.v1"
    assert body["id"] == ev.id
    assert body["region"] == "341221001001"
    assert body["data"] == {"warning": "red"}


async def test_a_message_jetstream_does_not_store_leaves_the_batch_unmarked(
    database_url: str, nats_server: NatsServer
) -> None:
    """A row whose subject no stream takes (JetStream's 503 "no responders") fails its whole
    batch: nothing of it is marked published, and the rows that can go, go once it is fixed."""
    engine = await h.setup_engine(database_url)
    link = NatsLink(nats_server.url, name="t-refused")
    link.start()
    relay = h.make_relay(engine, link)
    try:
        await link.wait_ready(10)
        await h.commit_changes(engine, 5)
        async with engine.begin() as conn:
            await conn.execute(
                sa.insert(h.tables["outbox"]),
                {"event_id": str(uuid.uuid4()), "subject": "nowhere.at.all", "payload": b"{}", "created_at": utcnow()},
            )
        with pytest.raises(PublishRefused, match="no responders"):
            await relay.publish_batch()
        assert await relay.backlog() == 6
        async with engine.begin() as conn:
            outbox = h.tables["outbox"]
            await conn.execute(sa.delete(outbox).where(outbox.c.subject == "nowhere.at.all"))
        assert await relay.publish_batch() == 5
        assert await relay.backlog() == 0
    finally:
        await link.close()
        await engine.dispose()
