"""Subsidy's answers to temporary-relief payment orders: `subsidy.decision_approved` (the order
recorded, with the decision id and amount) and `subsidy.decision_refused`. Runs in the inbox
consumer's transaction: a redelivered event has no second effect."""

from __future__ import annotations

import datetime as dt
import logging
from decimal import Decimal

from services.civil_affairs.adapters.programmes_runtime import unit_of_work
from services.civil_affairs.application.relief import RecordReliefAnswer, record_payment_answer
from shared.app import ConsumerSpec, ServiceContext
from shared.consumer import EventHandler
from shared.db import UnitOfWork
from shared.events import Event

__all__ = ["RELIEF_CONSUMERS", "relief_answer"]

log = logging.getLogger("fangfan.civil_affairs.relief")


def relief_answer(ev: Event, at: dt.datetime) -> RecordReliefAnswer | None:
    """Subsidy's answer as a command; None for events without a relief order (other decisions,
    dibao enrolments)."""
    data = ev.data
    payment_id, reference = data.get("payment_id"), data.get("reference")
    if not payment_id or not isinstance(reference, dict) or reference.get("kind") != "relief_request":
        return None
    if ev.name == "decision_approved":
        amount = Decimal(str(data.get("amount") or "0"))
        return RecordReliefAnswer(str(payment_id), at, decision_id=data.get("decision_id"), amount=amount)
    if ev.name == "decision_refused":
        return RecordReliefAnswer(str(payment_id), at, refusal={"code": data.get("code"), "reason": data.get("reason")})
    return None


def _on_subsidy_answer(ctx: ServiceContext) -> EventHandler:
    async def handle(uow: UnitOfWork, ev: Event) -> None:
        cmd = relief_answer(ev, ctx.now())
        if cmd is None:
            return
        status = await record_payment_answer(cmd, unit_of_work(uow))
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
