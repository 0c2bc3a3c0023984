"""A zygote for the kill loops: imports the service code once, then forks one child per command
(read as JSON lines on stdin), so a scenario can start and SIGKILL a relay or a consumer 50
times without paying an interpreter start-up each time. Each child is a real process with its
own database and NATS connections; a kill drops them as a crash would. Reports `pid N` when a
child starts and `exit N <signal or code>` when it is gone.

Roles: `relay` — an outbox relay that SIGKILLs itself at a chosen point of its N-th batch;
`subsidy` — the subsidy service's consumers and relay (its real lifespan, no HTTP), which may
SIGKILL itself right after committing a batch that recorded decisions, before the acks;
`identification` — the same for the identification service (its consumers of assistance's
events: test_loops_kills.py)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from typing import Any

import services.identification.main as identification_main
import services.subsidy.main as subsidy_main
from shared.consumer import InboxConsumer
from shared.db import make_engine
from shared.nats import NatsLink
from shared.outbox import OutboxRelay
from shared.process import die_with_parent
from shared.settings import Settings
from tests.reliability import pipeline


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


async def relay(db_url: str, nats_url: str, batch: int, kill_point: str | None, kill_on_batch: int) -> None:
    """`kill_point`: `before_publish` (rows selected and locked, nothing sent), `after_publish`
    (JetStream acknowledged the batch, rows not marked), or None (run until terminated)."""
    engine = make_engine(db_url)
    link = NatsLink(nats_url, name=f"relay-{os.getpid()}")
    link.start()
    await link.wait_ready(30)  # the relay would otherwise idle 0.2 s before its first look
    batches = 0

    class Relay(OutboxRelay):
        async def _publish(self, rows: list[Any]) -> None:
            nonlocal batches
            batches += 1
            if kill_point == "before_publish" and batches == kill_on_batch:
                _die()
            await super()._publish(rows)

    async def after_publish() -> None:
        if kill_point == "after_publish" and batches == kill_on_batch:
            _die()

    r = Relay(
        engine,
        pipeline.tables["outbox"],
        link,
        service="reliability",
        batch_size=batch,
        idle_interval=0.02,
        after_publish=after_publish,
    )
    await r.run()


async def subsidy(env: dict[str, str], batch: int, kill_after_decision: bool, service: Any = subsidy_main) -> None:
    os.environ.update(env)
    run = InboxConsumer.run

    async def run_once_linked(self: InboxConsumer) -> None:
        await self.link.wait_ready()  # not the 0.2 s polls of a cold start: 50 starts add up
        await run(self)

    InboxConsumer.run = run_once_linked  # type: ignore[method-assign]
    app = service.create_app(Settings())
    async with app.router.lifespan_context(app):
        ctx = app.state.ctx
        for consumer in ctx.consumers:
            consumer.batch_size = batch
            if kill_after_decision:
                _arm(consumer)
        await asyncio.Event().wait()  # until killed


def _arm(consumer: Any) -> None:
    """SIGKILL this process right after the commit of a batch in which the handler recorded a
    decision — the decisions are durable, the messages not yet acknowledged."""
    handler, factory = consumer.handler, consumer.uow_factory

    async def handle(uow: Any, ev: Any) -> None:
        await handler(uow, ev)
        uow.rel_recorded = True

    def make_uow() -> Any:
        uow = factory()
        commit = uow.commit

        async def commit_then_die() -> None:
            await commit()
            if getattr(uow, "rel_recorded", False):
                _die()

        uow.commit = commit_then_die
        return uow

    consumer.handler, consumer.uow_factory = handle, make_uow


def _child(cmd: dict[str, Any]) -> None:
    die_with_parent(signal.SIGKILL)
    role = cmd.pop("role")
    if role == "relay":
        coro = relay(**cmd)
    elif role == "identification":
        coro = subsidy(**cmd, service=identification_main)
    else:
        coro = subsidy(**cmd)
    asyncio.run(coro)


def main() -> None:
    die_with_parent(signal.SIGKILL)
    print("ready", flush=True)
    for line in sys.stdin:
        cmd = json.loads(line)
        pid = os.fork()
        if pid == 0:
            code = 0
            try:
                _child(cmd)
            except BaseException:
                import traceback

                traceback.print_exc()
                code = 1
            finally:
                os._exit(code)
        print(f"pid {pid}", flush=True)
        _, status = os.waitpid(pid, 0)
        how = f"signal {os.WTERMSIG(status)}" if os.WIFSIGNALED(status) else f"code {os.WEXITSTATUS(status)}"
        print(f"exit {pid} {how}", flush=True)


if __name__ == "__main__":
    main()
