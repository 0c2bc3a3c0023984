"""An in-memory unit of work for the notification use cases without a database: `Work`
(subscriptions, secrets and deliveries, inbox items and read marks) and what the workers' use
cases see of it — `DispatchWork` (the delivery queue over the same deliveries), `ReminderWork`,
`SmsWork`, `FanoutWork`, `PeopleWork`; notices written, events added, commits counted and after-commit
callbacks run on commit."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from services.notification.application.ports import (
    AttemptRow,
    DeliveryRow,
    DeliveryUpdate,
    DueDelivery,
    DueReminderRow,
    FailingSubscriptionRow,
    InboxRow,
    NewDelivery,
    ReminderRow,
    SmsMessageRow,
    SmsRecipientRow,
    SubscriptionRow,
)
from services.notification.domain.delivery import SmsDecision, reminder_due
from services.notification.domain.fanout import Target
from services.notification.domain.routing import Notice
from shared import contracts
from shared.events import Event

__all__ = ["FakeWork"]

_SUBSCRIPTION_DEFAULTS = dict.fromkeys(("disabled_reason", "disabled_at", "failing_since", "missed_since"))


class FakeSubscriptions:
    def __init__(self) -> None:
        self.rows: dict[str, dict[str, Any]] = {}
        self.secrets: list[dict[str, Any]] = []
        self.deliveries: dict[int, dict[str, Any]] = {}

    async def get(self, sub_id: str, *, lock: bool = False) -> SubscriptionRow | None:
        row = self.rows.get(sub_id)
        return None if row is None else SimpleNamespace(**row)

    async def add(self, values: dict[str, Any]) -> None:
        self.rows[values["id"]] = {**_SUBSCRIPTION_DEFAULTS, **values}

    async def update(self, sub_id: str, values: dict[str, Any]) -> None:
        self.rows[sub_id].update(values)

    async def add_secret(self, sub_id: str, secret_enc: str, at: dt.datetime) -> None:
        self.secrets.append({"subscription_id": sub_id, "secret_enc": secret_enc, "created_at": at, "expires_at": None})

    async def expire_secrets(self, sub_id: str, expires: dt.datetime) -> None:
        for s in self.secrets:
            if s["subscription_id"] == sub_id and (s["expires_at"] is None or s["expires_at"] > expires):
                s["expires_at"] = expires

    async def page(
        self, *, region: str | None, dept: str | None, limit: int, offset: int
    ) -> tuple[list[SubscriptionRow], int]:
        rows: list[SubscriptionRow] = [
            SimpleNamespace(**r)
            for r in self.rows.values()
            if (region is None or r["region"].startswith(region)) and (dept is None or r["owner_dept"] == dept)
        ]
        return rows[offset : offset + limit], len(rows)

    async def delivery_stats(self, sub_id: str) -> dict[str, int]:
        out = {"pending": 0, "delivered": 0, "dead": 0}
        for d in self.deliveries.values():
            if d["subscription_id"] == sub_id:
                out[d["status"]] += 1
        return out

    async def delivery(self, delivery_id: int) -> DeliveryRow | None:
        row = self.deliveries.get(delivery_id)
        return None if row is None else SimpleNamespace(**row)

    async def deliveries_page(
        self, sub_id: str, **_: Any
    ) -> tuple[list[DeliveryRow], dict[int, list[AttemptRow]], int]:
        rows: list[DeliveryRow] = [
            SimpleNamespace(**d) for d in self.deliveries.values() if d["subscription_id"] == sub_id
        ]
        return rows, {}, len(rows)

    async def requeue(
        self,
        *,
        sub_id: str | None = None,
        delivery_id: int | None = None,
        statuses: tuple[str, ...] = (),
        dead_since: dt.datetime | None = None,
        created_since: dt.datetime | None = None,
    ) -> int:
        n = 0
        for d in self.deliveries.values():
            if (
                (sub_id is None or d["subscription_id"] == sub_id)
                and (delivery_id is None or d["id"] == delivery_id)
                and (not statuses or d["status"] in statuses)
                and (dead_since is None or (d["dead_at"] is not None and d["dead_at"] >= dead_since))
                and (created_since is None or d["created_at"] >= created_since)
            ):
                d.update(status="pending", attempts=0, dead_at=None)
                n += 1
        return n

    async def failing_before(self, cutoff: dt.datetime) -> list[FailingSubscriptionRow]:
        return [
            SimpleNamespace(**r)
            for r in self.rows.values()
            if r["status"] == "active" and r["failing_since"] is not None and r["failing_since"] < cutoff
        ]


def _free(row: dict[str, Any], now: dt.datetime) -> bool:
    return row.get("lease_until") is None or row["lease_until"] < now


class FakeDeliveries:
    """The dispatcher's queue over `FakeSubscriptions`' deliveries; `payloads` by event id,
    `attempts` as recorded."""

    def __init__(self, subs: FakeSubscriptions) -> None:
        self.subs = subs
        self.payloads_by_event: dict[str, bytes] = {}
        self.attempts: list[dict[str, Any]] = []

    async def claim(self, *, owner: str, now: dt.datetime, lease_until: dt.datetime, limit: int) -> list[DueDelivery]:
        rows = self.subs.deliveries
        out = []
        for d in sorted(rows.values(), key=lambda d: d["id"]):
            blocked = any(
                e["subscription_id"] == d["subscription_id"]
                and e["order_key"] == d["order_key"]
                and e["status"] == "pending"
                and e["id"] < d["id"]
                for e in rows.values()
            )
            sub = self.subs.rows[d["subscription_id"]]
            if (
                d["status"] == "pending"
                and d["next_attempt_at"] <= now
                and _free(d, now)
                and sub["status"] == "active"
                and not blocked
            ):
                out.append(d)
        out = out[:limit]
        for d in out:
            d.update(lease_owner=owner, lease_until=lease_until)
        return [
            DueDelivery(
                d["id"],
                d["subscription_id"],
                d["event_id"],
                d["attempts"],
                d["total_attempts"],
                self.subs.rows[d["subscription_id"]]["url"],
            )
            for d in out
        ]

    async def payloads(self, event_ids: Sequence[str]) -> dict[str, bytes]:
        return {e: self.payloads_by_event[e] for e in event_ids if e in self.payloads_by_event}

    async def signing_secrets(self, sub_ids: Sequence[str], now: dt.datetime) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {sid: [] for sid in sub_ids}
        for sec in reversed(self.subs.secrets):
            if sec["subscription_id"] in out and (sec["expires_at"] is None or sec["expires_at"] > now):
                out[sec["subscription_id"]].append(sec["secret_enc"])
        return out

    async def record(
        self, *, owner: str, now: dt.datetime, updates: Sequence[DeliveryUpdate], recovered: set[str], failing: set[str]
    ) -> None:
        for u in updates:
            row = self.subs.deliveries[u.delivery_id]
            if row.get("lease_owner") == owner:
                d = u.decision
                row.update(
                    status=d.status,
                    attempts=d.attempts,
                    total_attempts=d.total_attempts,
                    next_attempt_at=d.next_attempt_at,
                    last_status_code=u.status_code,
                    last_error=u.error,
                    delivered_at=d.delivered_at,
                    dead_at=d.dead_at,
                    lease_owner=None,
                    lease_until=None,
                )
            self.attempts.append(
                {"delivery_id": u.delivery_id, "attempt": u.decision.total_attempts, "outcome": u.decision.outcome}
            )
        for sid in recovered:
            self.subs.rows[sid]["failing_since"] = None
        for sid in failing:
            if self.subs.rows[sid]["failing_since"] is None:
                self.subs.rows[sid]["failing_since"] = now

    async def release(self, owner: str) -> None:
        for d in self.subs.deliveries.values():
            if d.get("lease_owner") == owner and d["status"] == "pending":
                d.update(lease_owner=None, lease_until=None)


class FakeNotices:
    def __init__(self) -> None:
        self.written: list[tuple[Notice, str | None, bool]] = []
        self.wakers: list[Callable[[], None]] = []

    async def write(
        self, notices: Sequence[Notice], *, event_id: str | None, sms: bool, wake_sms: Callable[[], None] | None
    ) -> list[str]:
        ids = []
        for n in notices:
            self.written.append((n, event_id, sms))
            ids.append(f"item-{len(self.written)}")
        if wake_sms is not None and sms and any(n.sms and n.audience.person for n in notices):
            self.wakers.append(wake_sms)
        return ids


class FakeReminderQueue:
    def __init__(self) -> None:
        self.rows: dict[str, dict[str, Any]] = {}

    async def due(self, now: dt.datetime, limit: int) -> list[DueReminderRow]:
        due = [
            r
            for r in self.rows.values()
            if reminder_due(fire_at=r["fire_at"], fired_at=r["fired_at"], cancelled_at=r["cancelled_at"], now=now)
        ]
        return [SimpleNamespace(**r) for r in sorted(due, key=lambda r: r["fire_at"])[:limit]]

    async def mark_fired(self, ids: Sequence[str], at: dt.datetime) -> None:
        for i in ids:
            self.rows[i].update(fired_at=at, updated_at=at)


class FakeRemindersPage:
    """`RemindersQuery` over the same rows as `FakeReminderQueue`."""

    def __init__(self, queue: FakeReminderQueue) -> None:
        self.queue = queue

    async def page(self, *, region: str, pending: bool, limit: int, offset: int) -> tuple[list[dict[str, Any]], int]:
        rows = [
            dict(r)
            for r in sorted(self.queue.rows.values(), key=lambda r: r["fire_at"])
            if r["region"].startswith(region) and (not pending or (r["fired_at"] is None and r["cancelled_at"] is None))
        ]
        return rows[offset : offset + limit], len(rows)


class FakePeople:
    """Application links and reminders (over `FakeReminderQueue`'s rows, by (kind, ref_id))."""

    def __init__(self, queue: FakeReminderQueue) -> None:
        self.links: dict[str, dict[str, Any]] = {}
        self.queue = queue

    async def link_application(self, case_id: str, application_id: str, applicant_hash: str, at: dt.datetime) -> None:
        self.links.setdefault(case_id, {"application_id": application_id, "applicant_hash": applicant_hash})

    async def applicant_of(self, case_id: str) -> str | None:
        link = self.links.get(case_id)
        return None if link is None else str(link["applicant_hash"])

    def _find(self, kind: str, ref_id: str) -> dict[str, Any] | None:
        return next((r for r in self.queue.rows.values() if (r["kind"], r["ref_id"]) == (kind, ref_id)), None)

    async def reminder(self, kind: str, ref_id: str) -> ReminderRow | None:
        row = self._find(kind, ref_id)
        return None if row is None else SimpleNamespace(**row)

    async def add_reminder(self, values: dict[str, Any]) -> None:
        if self._find(values["kind"], values["ref_id"]) is None:
            self.queue.rows[values["id"]] = dict(values)

    async def move_reminder(self, reminder_id: str, values: dict[str, Any]) -> None:
        self.queue.rows[reminder_id].update(values)

    async def cancel_reminders(self, kinds: Sequence[str], ref_id: str, reason: str, at: dt.datetime) -> None:
        for r in self.queue.rows.values():
            if r["kind"] in kinds and r["ref_id"] == ref_id and r["fired_at"] is None and r["cancelled_at"] is None:
                r.update(cancelled_at=at, cancel_reason=reason, updated_at=at)

    async def add_cancelled(self, rows: Sequence[dict[str, Any]]) -> None:
        for row in rows:
            await self.add_reminder(row)


class FakeSmsQueue:
    def __init__(self) -> None:
        self.messages: dict[int, dict[str, Any]] = {}
        self.recipients: dict[str, dict[str, Any]] = {}
        self.locked: list[str] = []

    async def next_due(self, now: dt.datetime) -> SmsMessageRow | None:
        for m in sorted(self.messages.values(), key=lambda m: m["id"]):
            if m["status"] == "pending" and m["next_attempt_at"] <= now and _free(m, now):
                return SimpleNamespace(**m)
        return None

    async def recipient(self, recipient_hash: str) -> SmsRecipientRow | None:
        r = self.recipients.get(recipient_hash)
        return None if r is None else SimpleNamespace(**r)

    async def lock_phone(self, phone_hash: str) -> None:
        self.locked.append(phone_hash)

    async def recent(self, phone_hash: str, *, since: dt.datetime, now: dt.datetime) -> int:
        return sum(
            m.get("phone_hash") == phone_hash
            and (
                (m["status"] == "sent" and m["sent_at"] > since)
                or (m["status"] == "pending" and m.get("lease_until") is not None and m["lease_until"] > now)
            )
            for m in self.messages.values()
        )

    async def settle(self, message_id: int, status: str, *, phone_hash: str | None, error: str | None) -> None:
        m = self.messages[message_id]
        m["status"] = status
        if phone_hash is not None:
            m["phone_hash"] = phone_hash
        if error is not None:
            m["error"] = error

    async def lease(self, message_id: int, *, until: dt.datetime, phone_hash: str) -> None:
        self.messages[message_id].update(lease_until=until, phone_hash=phone_hash)

    async def record_send(self, message_id: int, decision: SmsDecision) -> None:
        m = self.messages[message_id]
        m.update(status=decision.status, attempts=decision.attempts, lease_until=None)
        if decision.status == "sent":
            m["sent_at"] = decision.sent_at
        else:
            m["error"] = decision.error
        if decision.next_attempt_at is not None:
            m["next_attempt_at"] = decision.next_attempt_at


class FakeFanout:
    """Subscriptions as fan-out targets; payloads and delivery rows as written; `pending` the
    (subscription, order key) pairs already pending (or locked by another replica)."""

    def __init__(self) -> None:
        self.targets: list[Target] = []
        self.secrets: dict[str, list[str]] = {}
        self.payloads: dict[str, bytes] = {}
        self.rows: list[dict[str, Any]] = []
        self.pending: set[tuple[str, str]] = set()
        self.lookups: list[tuple[list[str], list[str]]] = []

    async def subscriptions(self) -> list[Target]:
        return list(self.targets)

    def signing_secrets(self) -> dict[str, list[str]]:
        return self.secrets

    async def add_payloads(self, payloads: Sequence[tuple[str, str, bytes]], now: dt.datetime) -> None:
        for event_id, _, payload in payloads:
            self.payloads.setdefault(event_id, payload)

    async def pending_pairs(self, keys: Sequence[str], sub_ids: Sequence[str]) -> set[tuple[str, str]]:
        self.lookups.append((list(keys), list(sub_ids)))
        return {p for p in self.pending if p[1] in keys and p[0] in sub_ids}

    async def add_deliveries(
        self, rows: Sequence[NewDelivery], *, now: dt.datetime, lease_owner: str | None, lease_until: dt.datetime | None
    ) -> list[tuple[int, str, str]]:
        out = []
        for r in rows:
            if any(x["subscription_id"] == r.subscription_id and x["event_id"] == r.event_id for x in self.rows):
                continue  # the unique (subscription, event) pair
            row_id = len(self.rows) + 1
            self.rows.append(
                {
                    "id": row_id,
                    "subscription_id": r.subscription_id,
                    "event_id": r.event_id,
                    "order_key": r.order_key,
                    "lease_owner": lease_owner if r.leased else None,
                    "lease_until": lease_until if r.leased else None,
                }
            )
            if r.leased:
                out.append((row_id, r.subscription_id, r.event_id))
        return out


class FakeInbox:
    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []
        self.reads: dict[tuple[str, str], dt.datetime] = {}
        self.numbers: dict[str, dict[str, Any]] = {}

    def _mine(self, me: str, role: str, region: str) -> list[dict[str, Any]]:
        return [
            i
            for i in self.items
            if i["recipient_hash"] == me or (i["recipient_role"] == role and i["region"].startswith(region))
        ]

    async def page(
        self, *, me: str, role: str, region: str, unread_only: bool, limit: int, offset: int
    ) -> tuple[list[InboxRow], int]:
        rows: list[InboxRow] = [
            SimpleNamespace(**i, read_at=self.reads.get((i["id"], me))) for i in self._mine(me, role, region)
        ]
        if unread_only:
            rows = [r for r in rows if r.read_at is None]
        return rows[offset : offset + limit], len(rows)

    async def unread(self, *, me: str, role: str, region: str) -> int:
        return sum((i["id"], me) not in self.reads for i in self._mine(me, role, region))

    async def addressed(self, item_id: str, *, me: str, role: str, region: str) -> bool:
        return any(i["id"] == item_id for i in self._mine(me, role, region))

    async def mark_read(self, item_id: str, me: str, at: dt.datetime) -> None:
        self.reads.setdefault((item_id, me), at)

    async def read_at(self, item_id: str, me: str) -> dt.datetime:
        return self.reads[(item_id, me)]

    async def sms_number(self, me: str) -> SmsRecipientRow | None:
        row = self.numbers.get(me)
        return None if row is None else SimpleNamespace(**row)

    async def set_sms_number(self, me: str, values: dict[str, Any]) -> None:
        self.numbers[me] = dict(values)

    async def delete_sms_number(self, me: str) -> None:
        self.numbers.pop(me, None)


@dataclass
class FakeWork:
    subscriptions: FakeSubscriptions = field(default_factory=FakeSubscriptions)
    inbox: FakeInbox = field(default_factory=FakeInbox)
    notices: FakeNotices = field(default_factory=FakeNotices)
    reminder_queue: FakeReminderQueue = field(default_factory=FakeReminderQueue)
    sms: FakeSmsQueue = field(default_factory=FakeSmsQueue)
    fanout: FakeFanout = field(default_factory=FakeFanout)
    commits: int = 0
    events: list[Event] = field(default_factory=list)
    _after: dict[str, Callable[[], None]] = field(default_factory=dict)
    _deliveries: FakeDeliveries | None = None
    _people: FakePeople | None = None

    @property
    def people(self) -> FakePeople:
        if self._people is None:
            self._people = FakePeople(self.reminder_queue)
        return self._people

    @property
    def deliveries(self) -> FakeDeliveries:
        if self._deliveries is None:
            self._deliveries = FakeDeliveries(self.subscriptions)
        return self._deliveries

    @property
    def reminders(self) -> FakeRemindersPage:
        return FakeRemindersPage(self.reminder_queue)

    def add_event(self, event: Event) -> None:
        contracts.check(event)  # as the real unit of work does: the payload keeps its contract
        self.events.append(event)

    def after_commit(self, key: str, fn: Callable[[], None]) -> None:
        self._after.setdefault(key, fn)

    async def commit(self) -> None:
        self.commits += 1
        after, self._after = self._after, {}
        for fn in after.values():
            fn()
