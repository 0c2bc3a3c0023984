"""Subsidy's answers to temporary-relief payment orders: `subsidy.decision_approved` (the order
recorded, with the decision id and amount) and `subsidy.decision_refused`. Runs in the inbox
consumer's transaction: a redelivered event has no second effect."""

from __future__ import annotations

import logging

from services.civil_affairs.adapters.programmes_runtime import unit_of_work
from services.civil_affairs.application.relief import record_payment_answer
from shared.app import ConsumerSpec, ServiceContext
from shared.consumer import EventHandler
from shared.db import UnitOfWork
from shared.events import Event

__all__ = ["RELIEF_CONSUMERS"]

log = logging.getLogger("fangfan.civil_affairs.relief")


def _on_subsidy_answer(ctx: ServiceContext) -> EventHandler:
    async def handle(uow: UnitOfWork, ev: Event) -> None:
        status = await record_payment_answer(unit_of_work(uow), ev, at=ctx.now())
        if status is not None:
            log.info("payment %s %s (event %s)", ev.data.get("payment_id"), status, ev.id)

    return handle


RELIEF_CONSUMERS = [
    ConsumerSpec(
        "relief-payments",
        ["fangfan.subsidy.decision_approved.>", "fangfan.subsidy.decision_refused.>"],
        _on_subsidy_answer,
    ),
]
