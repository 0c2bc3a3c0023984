"""Runs an outbox relay in its own process so a test can SIGKILL it mid-batch.
Usage: python relay_proc.py DB_URL NATS_URL BATCH PAUSE_AFTER_PUBLISH_S"""

from __future__ import annotations

import asyncio
import sys

from shared.db import make_engine
from shared.nats import NatsLink
from tests.shared.integration.outbox_harness import make_relay


async def main(db_url: str, nats_url: str, batch: int, pause: float) -> None:
    engine = make_engine(db_url)
    link = NatsLink(nats_url, name="relay-proc")
    link.start()

    async def slow() -> None:
        await asyncio.sleep(pause)

    relay = make_relay(engine, link, batch_size=batch, idle_interval=0.05, after_publish=slow)
    print("ready", flush=True)
    await relay.run()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])))
