"""The consumer's pull loop against a real NATS server: a pull request that nobody answers (sent to
a JetStream consumer leader that just died) is asked again once it is long expired — before, the
loop counted its messages as still coming and waited for good (a consumer stalled at 1,250 of
3,000 events after the stream leader of a 3-node cluster was killed)."""

from __future__ import annotations

import itertools
import time
from typing import Any

import nats
import pytest

from shared.consumer import _LOST_AFTER_S, _Puller
from shared.nats import NatsServer

pytestmark = pytest.mark.sqlite_only  # no database involved


async def test_a_pull_request_nobody_answers_is_asked_again(nats_server: NatsServer) -> None:
    nc = await nats.connect(nats_server.url)
    asked: list[float] = []

    async def count(msg: Any) -> None:
        asked.append(time.monotonic())

    try:
        await nc.subscribe("$JS.API.CONSUMER.MSG.NEXT.FANGFAN.lost", cb=count)  # swallows every request
        await nc.flush()
        puller = await _Puller.open(nc, "FANGFAN", "lost")
        expiry = 0.2
        start = time.monotonic()
        while time.monotonic() - start < 3 * (expiry + _LOST_AFTER_S + 0.5):
            assert await puller.fetch(10, timeout=expiry) == []
        await nc.flush()
        # one request per (expiry + loss allowance + one wait) at the most, and more than one
        assert 2 <= len(asked) <= 4, asked
        gaps = [b - a for a, b in itertools.pairwise(asked)]
        assert all(g >= expiry + _LOST_AFTER_S for g in gaps), gaps
        await puller.close()
    finally:
        await nc.close()
