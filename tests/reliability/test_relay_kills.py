"""Scenario 2 (issue 10): the outbox relay, a real process, SIGKILLed 50 times between the
commit and the publish (its batch selected and locked, nothing sent) and 50 times between the
publish and the mark (JetStream acknowledged the batch, the rows still unmarked), while a
producer keeps committing events. Then one relay runs to the end. Checked: each of two
consumers' inboxes equals the outbox, one effect per event per consumer, the stream holds
each event once."""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import time
from collections import Counter
from pathlib import Path

import nats
import pytest
import sqlalchemy as sa

from shared.nats import NatsLink, NatsServer
from tests.reliability import checker, pipeline
from tests.reliability.system import ON_POSTGRES_ONLY, Zygote, until

pytestmark = [pytest.mark.slow, pytest.mark.skipif(**ON_POSTGRES_ONLY)]

KILLS_PER_POINT = int(os.environ.get("FANGFAN_REL_RELAY_KILLS", "50"))
CONSUMERS = ("reliability-a", "reliability-b")


async def test_relay_killed_before_publish_and_before_mark(
    database_url: str, nats_server: NatsServer, tmp_path: Path
) -> None:
    engine = await pipeline.setup_engine(database_url)
    link = NatsLink(nats_server.url, name="reliability-consumers")
    link.start()
    consumers = [pipeline.make_consumer(engine, link, name) for name in CONSUMERS]
    for consumer in consumers:
        consumer.start()
    zygote = Zygote(tmp_path)
    report: dict[str, object] = {}
    produced = 0
    stop = asyncio.Event()

    async def produce() -> None:
        nonlocal produced
        while not stop.is_set():
            await pipeline.commit_events(engine, produced, 5)
            produced += 5
            await asyncio.sleep(0.02)

    t0 = time.monotonic()
    try:
        await zygote.ready()
        producer = asyncio.create_task(produce())
        rng = random.Random(2)
        kills: Counter[str] = Counter()
        for i in range(2 * KILLS_PER_POINT):
            point = ("before_publish", "after_publish")[i % 2]
            pid = await zygote.start(
                role="relay",
                db_url=database_url,
                nats_url=nats_server.url,
                batch=rng.choice((5, 10, 20)),
                kill_point=point,
                kill_on_batch=rng.randint(1, 3),
            )
            assert await zygote.gone(pid, 30) == "signal 9"  # died at the seam, by SIGKILL
            kills[point] += 1
        stop.set()
        await producer
        report["kills"] = dict(kills)
        report["events_committed"] = produced
        report["kill_loop_s"] = round(time.monotonic() - t0, 1)
        report["left_unpublished_by_the_kills"] = await checker.unpublished(database_url)

        # One relay runs to the end.
        t1 = time.monotonic()
        pid = await zygote.start(
            role="relay", db_url=database_url, nats_url=nats_server.url, batch=500, kill_point=None, kill_on_batch=0
        )
        consumer_map = {name: (database_url, ["fangfan.test.>"]) for name in CONSUMERS}

        async def settled() -> bool:
            if await checker.unpublished(database_url):
                return False
            verdicts = await checker.check_inboxes([database_url], consumer_map)
            return all(v.ok for v in verdicts.values())

        await until(settled, 60)
        report["drain_s"] = round(time.monotonic() - t1, 1)
        await asyncio.sleep(1.0)  # give a late double the chance to show
        os.kill(pid, signal.SIGTERM)
        await zygote.gone(pid, 10)

        verdicts = await checker.check_inboxes([database_url], consumer_map)
        report["consumers"] = checker.summary(verdicts)
        assert all(v.ok for v in verdicts.values()), report["consumers"]
        assert kills == {"before_publish": KILLS_PER_POINT, "after_publish": KILLS_PER_POINT}
        assert await checker.unpublished(database_url) == 0
        assert len(await checker.outbox(database_url)) == produced
        async with engine.connect() as conn:
            e = pipeline.effects.c
            rows = (
                await conn.execute(
                    sa.select(e.consumer, sa.func.count(), sa.func.count(sa.distinct(e.event_id))).group_by(e.consumer)
                )
            ).all()
        assert {r[0]: (r[1], r[2]) for r in rows} == dict.fromkeys(CONSUMERS, (produced, produced))
        nc = await nats.connect(nats_server.url)
        try:
            in_stream = (await nc.jetstream().stream_info("FANGFAN")).state.messages
        finally:
            await nc.close()
        assert in_stream == produced  # re-sent batches were de-duplicated by Nats-Msg-Id
    finally:
        stop.set()
        report["total_s"] = round(time.monotonic() - t0, 1)
        print("\nscenario 2:", json.dumps(report, indent=1))
        for consumer in consumers:
            await consumer.stop()
        await zygote.close()
        await link.close()
        await engine.dispose()
