"""Use cases of the fan-out (分发), the consumer and batching of which live in
`adapters/fanout.py`: an event becomes one delivery row per matching subscription (in the
consumer's transaction, so a redelivered event — absorbed by the inbox — never queues a second
one), and a batch's rows are queued together, those this replica's dispatcher can send at once
leased to it (direct hand-off), the rest left for its claim loop."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from services.notification.application.ports import FanoutWork, NewDelivery
from services.notification.domain.fanout import Target, matching, plan_leases
from services.notification.domain.patterns import order_key
from shared.db import utcnow
from shared.events import Event, encode_event

__all__ = ["FannedEvent", "LeasedDelivery", "QueueDeliveries", "Queued", "match_event", "queue_deliveries"]


@dataclass(frozen=True, slots=True)
class FannedEvent:
    event_id: str
    event_type: str
    #: deliveries to one subscription keep event order within one household
    order_key: str
    #: the CloudEvents JSON as delivered
    payload: bytes
    targets: list[Target]


async def match_event(ev: Event, uow: FanoutWork) -> FannedEvent | None:
    """The subscriptions `ev` goes to (None: none). Raises `shared.events.PersonalDataInEvent`
    for an event that carries personal data: never forwarded."""
    targets = matching(await uow.fanout.subscriptions(), ev.domain, ev.name, ev.region)
    if not targets:
        return None
    _, payload = encode_event(ev)
    return FannedEvent(ev.id, f"{ev.domain}.{ev.name}", order_key(ev.subject, ev.data)[:64], payload, targets)


@dataclass(frozen=True, slots=True)
class QueueDeliveries:
    events: Sequence[FannedEvent]
    #: how many this replica's dispatcher takes now (0: none goes to it directly)
    room: int
    lease_owner: str | None = None
    lease: dt.timedelta | None = None


@dataclass(frozen=True, slots=True)
class LeasedDelivery:
    id: int
    event: FannedEvent
    target: Target


@dataclass(frozen=True, slots=True)
class Queued:
    #: inserted already leased to the dispatcher: to hand to it once the transaction commits
    leased: list[LeasedDelivery]
    #: rows of active subscriptions left for the claim loop (wake it after the commit)
    left_active: bool


async def queue_deliveries(cmd: QueueDeliveries, uow: FanoutWork) -> Queued:
    """Write the payloads and the delivery rows of a batch of events (not committed: the
    consumer's transaction does)."""
    if not cmd.events:
        return Queued([], False)
    now = utcnow()
    await uow.fanout.add_payloads([(e.event_id, e.event_type, e.payload) for e in cmd.events], now)
    room = cmd.room if cmd.lease_owner is not None and cmd.lease is not None else 0
    blocked: set[tuple[str, str]] = set()
    if room > 0:
        keys = sorted({e.order_key for e in cmd.events if any(t.status == "active" for t in e.targets)})
        subs = sorted({t.id for e in cmd.events for t in e.targets if t.status == "active"})
        if keys:
            blocked = await uow.fanout.pending_pairs(keys, subs)
        else:
            room = 0
    pairs = [(t, e) for e in cmd.events for t in e.targets]
    leases = plan_leases([(t, e.order_key) for t, e in pairs], room=room, blocked=blocked)
    direct: list[NewDelivery] = []
    queued: list[NewDelivery] = []
    left_active = False
    for (t, e), leased in zip(pairs, leases, strict=True):
        row = NewDelivery(t.id, e.event_id, e.event_type, e.order_key, leased)
        if leased:
            direct.append(row)
        else:
            queued.append(row)
            left_active = left_active or t.status == "active"
    out: list[LeasedDelivery] = []
    # Direct rows first: a (subscription, household) pair's direct row is its first in this
    # batch, and the claim loop's order check compares ids, so it must get the smaller one.
    if direct:
        assert cmd.lease is not None
        inserted = await uow.fanout.add_deliveries(
            direct, now=now, lease_owner=cmd.lease_owner, lease_until=now + cmd.lease
        )
        by_event = {e.event_id: e for e in cmd.events}
        for delivery_id, sub_id, event_id in inserted:
            e = by_event[event_id]
            out.append(LeasedDelivery(delivery_id, e, next(t for t in e.targets if t.id == sub_id)))
    if queued:
        await uow.fanout.add_deliveries(queued, now=now, lease_owner=None, lease_until=None)
    return Queued(out, left_active)
