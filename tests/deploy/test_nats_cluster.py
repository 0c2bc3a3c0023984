"""On a real 3-node JetStream cluster (deploy/nats/, on loopback) with an R3 stream: killing the
stream leader in the middle of a run loses no acknowledged event and doubles no effect."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import sqlalchemy as sa

from shared.nats import NatsCluster, NatsLink
from tests.shared.integration import outbox_harness as h

pytestmark = pytest.mark.slow


async def test_killing_the_stream_leader_loses_no_acknowledged_event(database_url: str, tmp_path: Path) -> None:
    cluster = NatsCluster(tmp_path / "nats").start()
    engine = await h.setup_engine(database_url)
    link = NatsLink(cluster.url, name="cluster-test", stream_replicas=3)
    link.start()
    relay = h.make_relay(engine, link, batch_size=200)
    consumer = h.make_consumer(engine, link)
    try:
        await asyncio.wait_for(link.wait_ready(), 30)
        assert link.js is not None
        info = await link.js.stream_info("FANGFAN")
        assert info.config.num_replicas == 3
        relay.start()
        consumer.start()
        total = 3000
        await h.commit_changes(engine, 1500, per_tx=50)
        leader = (await link.js.stream_info("FANGFAN")).cluster.leader
        assert leader in ("n1", "n2", "n3")
        cluster.kill_node(leader)  # the stream leader dies while events are flowing
        await h.commit_changes(engine, 1500, start=1500, per_tx=50)

        async def all_in() -> bool:
            n, _ = await h.effect_stats(engine)
            return n >= total

        assert await h.wait_for(all_in, timeout=90), await h.effect_stats(engine)
        await asyncio.sleep(1.0)
        assert await h.effect_stats(engine) == (total, total)
        async with engine.connect() as conn:
            unpublished = (
                await conn.execute(sa.select(sa.func.count()).where(h.tables["outbox"].c.published_at.is_(None)))
            ).scalar_one()
        assert unpublished == 0
        new_leader = (await link.js.stream_info("FANGFAN")).cluster.leader
        assert new_leader != leader
        state = (await link.js.stream_info("FANGFAN")).state
        assert state.messages == total  # every acknowledged event is in the stream, once
    finally:
        await consumer.stop()
        await relay.stop()
        await link.close()
        await engine.dispose()
        cluster.stop()
