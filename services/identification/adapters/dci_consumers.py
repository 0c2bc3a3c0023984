"""Consumers of the DCI exchange: enrolment/exit events → notifications queued per
subscription; async searches → results queued; queued messages → signed POSTs to partners."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import cast

from services.identification.application.dci import deliver_outbound, notify_subscribers, process_search
from services.identification.application.ports import Work
from services.identification.domain.dci import EVENT_MAP
from shared.app import ConsumerSpec, ServiceContext
from shared.consumer import EventHandler
from shared.db import UnitOfWork
from shared.events import Event

__all__ = ["DCI_CONSUMERS"]


#: a DCI consumer's use case sees the inbox transaction's unit of work (the service's, `ctx.uow`) as `Work`
_Handler = Callable[[ServiceContext, Work, Event], Awaitable[None]]


def _bind(fn: _Handler) -> Callable[[ServiceContext], EventHandler]:
    def build(ctx: ServiceContext) -> EventHandler:
        async def handle(uow: UnitOfWork, ev: Event) -> None:
            await fn(ctx, cast(Work, uow), ev)

        return handle

    return build


DCI_CONSUMERS = [
    ConsumerSpec("dci-notify", [m.subject_filter for m in EVENT_MAP], _bind(notify_subscribers)),
    ConsumerSpec("dci-search", ["fangfan.dci.search_requested.>"], _bind(process_search)),
    # a partner down for a while: retried at 1 s, 5 s, 30 s, 2 min, 10 min, then dead-lettered
    ConsumerSpec(
        "dci-callbacks",
        ["fangfan.dci.callback_queued.>"],
        _bind(deliver_outbound),
        max_deliver=6,
        retry_delays=(1.0, 5.0, 30.0, 120.0, 600.0),
    ),
]
