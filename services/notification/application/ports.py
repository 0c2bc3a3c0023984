"""What the notification use cases need from the outside, as Protocols: the unit of work with its
repositories (SQL lives in `adapters/`), and the check of a webhook destination. `Work` is what
the request use cases (subscriptions, the inbox, the reminders list) see; `DispatchWork`,
`ReminderWork`, `SmsWork` and `FanoutWork` are what the delivery workers' use cases see of the
same unit of work. Rows are read-only records with the columns as attributes: the `...Row`
Protocols below name the columns the use cases read (a SQLAlchemy `Row` of the table, or a test's
record, satisfies them)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from services.notification.domain.delivery import AttemptDecision, SmsDecision
from services.notification.domain.fanout import Target
from services.notification.domain.routing import Notice
from shared.events import Event

__all__ = [
    "AttemptRow",
    "CheckDestination",
    "DeliveryQueue",
    "DeliveryRow",
    "DeliveryUpdate",
    "DispatchWork",
    "DueDelivery",
    "DueReminderRow",
    "FailingSubscriptionRow",
    "FanoutQueue",
    "FanoutWork",
    "InboxRepository",
    "InboxRow",
    "NewDelivery",
    "Notices",
    "PeopleRepository",
    "PeopleWork",
    "ReminderQueue",
    "ReminderRow",
    "ReminderWork",
    "RemindersQuery",
    "SmsMessageRow",
    "SmsQueue",
    "SmsRecipientRow",
    "SmsWork",
    "SubscriptionRow",
    "SubscriptionsRepository",
    "Work",
]

#: Refuses (`domain.ssrf.DestinationRefused`) a webhook URL outside the allowlist or resolving
#: to a private address.
CheckDestination = Callable[[str], Awaitable[None]]


class SubscriptionRow(Protocol):
    """A row of `subscriptions`."""

    @property
    def id(self) -> str: ...
    @property
    def owner_sub_hash(self) -> str: ...
    @property
    def owner_role(self) -> str: ...
    @property
    def owner_region(self) -> str: ...
    @property
    def owner_dept(self) -> str | None: ...
    @property
    def url(self) -> str: ...
    @property
    def event_types(self) -> list[str]: ...
    @property
    def region(self) -> str: ...
    @property
    def description(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def disabled_reason(self) -> str | None: ...
    @property
    def disabled_at(self) -> dt.datetime | None: ...
    @property
    def failing_since(self) -> dt.datetime | None: ...
    @property
    def missed_since(self) -> dt.datetime | None: ...
    @property
    def created_at(self) -> dt.datetime: ...
    @property
    def updated_at(self) -> dt.datetime: ...


class FailingSubscriptionRow(SubscriptionRow, Protocol):
    """A subscription `failing_before` found: failing, so `failing_since` is set."""

    @property
    def failing_since(self) -> dt.datetime: ...


class DeliveryRow(Protocol):
    """A row of `deliveries`."""

    @property
    def id(self) -> int: ...
    @property
    def subscription_id(self) -> str: ...
    @property
    def event_id(self) -> str: ...
    @property
    def event_type(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def attempts(self) -> int: ...
    @property
    def total_attempts(self) -> int: ...
    @property
    def next_attempt_at(self) -> dt.datetime: ...
    @property
    def last_status_code(self) -> int | None: ...
    @property
    def last_error(self) -> str | None: ...
    @property
    def created_at(self) -> dt.datetime: ...
    @property
    def delivered_at(self) -> dt.datetime | None: ...
    @property
    def dead_at(self) -> dt.datetime | None: ...


class AttemptRow(Protocol):
    """A row of `delivery_attempts`."""

    @property
    def attempt(self) -> int: ...
    @property
    def started_at(self) -> dt.datetime: ...
    @property
    def outcome(self) -> str: ...
    @property
    def status_code(self) -> int | None: ...
    @property
    def latency_ms(self) -> float | None: ...
    @property
    def error(self) -> str | None: ...


class InboxRow(Protocol):
    """A row of `inbox_items` with the reader's `read_at` (None: unread)."""

    @property
    def id(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def title(self) -> str: ...
    @property
    def body(self) -> str: ...
    @property
    def region(self) -> str: ...
    @property
    def data(self) -> dict[str, Any]: ...
    @property
    def created_at(self) -> dt.datetime: ...
    @property
    def read_at(self) -> dt.datetime | None: ...


class SmsRecipientRow(Protocol):
    """A row of `sms_recipients`: a person's SMS number, encrypted (`phone_enc`)."""

    @property
    def phone_enc(self) -> str: ...
    @property
    def phone_hash(self) -> str: ...
    @property
    def enabled(self) -> bool: ...
    @property
    def updated_at(self) -> dt.datetime: ...


class SmsMessageRow(Protocol):
    """A row of `sms_messages`."""

    @property
    def id(self) -> int: ...
    @property
    def recipient_hash(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def text(self) -> str: ...
    @property
    def attempts(self) -> int: ...


class ReminderRow(Protocol):
    """A row of `reminders`, as scheduling a reminder again reads it."""

    @property
    def id(self) -> str: ...
    @property
    def due_date(self) -> dt.date: ...
    @property
    def fired_at(self) -> dt.datetime | None: ...
    @property
    def cancelled_at(self) -> dt.datetime | None: ...


class DueReminderRow(Protocol):
    """A row of `reminders`, as firing it reads it."""

    @property
    def id(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def ref_id(self) -> str: ...
    @property
    def region(self) -> str: ...
    @property
    def household_id(self) -> str | None: ...
    @property
    def due_date(self) -> dt.date: ...
    @property
    def fire_at(self) -> dt.datetime: ...
    @property
    def recipient_hash(self) -> str | None: ...
    @property
    def recipient_roles(self) -> list[str]: ...
    @property
    def data(self) -> dict[str, Any]: ...


class SubscriptionsRepository(Protocol):
    async def get(self, sub_id: str, *, lock: bool = False) -> SubscriptionRow | None: ...
    async def add(self, values: dict[str, Any]) -> None: ...
    async def update(self, sub_id: str, values: dict[str, Any]) -> None: ...
    async def add_secret(self, sub_id: str, secret_enc: str, at: dt.datetime) -> None: ...
    async def expire_secrets(self, sub_id: str, expires: dt.datetime) -> None:
        """Secrets still signing keep signing until `expires` (an earlier expiry is never extended)."""
        ...

    async def page(
        self, *, region: str | None, dept: str | None, limit: int, offset: int
    ) -> tuple[list[SubscriptionRow], int]:
        """`region` None: every subscription (admin); `dept`: only that department's."""
        ...

    async def delivery_stats(self, sub_id: str) -> dict[str, int]: ...
    async def delivery(self, delivery_id: int) -> DeliveryRow | None: ...
    async def deliveries_page(
        self, sub_id: str, *, status: str | None, limit: int, offset: int
    ) -> tuple[list[DeliveryRow], dict[int, list[AttemptRow]], int]: ...
    async def requeue(
        self,
        *,
        sub_id: str | None = None,
        delivery_id: int | None = None,
        statuses: tuple[str, ...] = (),
        dead_since: dt.datetime | None = None,
        created_since: dt.datetime | None = None,
    ) -> int:
        """Put deliveries back to be attempted afresh; how many."""
        ...

    async def failing_before(self, cutoff: dt.datetime) -> list[FailingSubscriptionRow]:
        """Active subscriptions failing since before `cutoff`, held until the transaction ends
        (PostgreSQL: those another replica holds are skipped)."""
        ...


class InboxRepository(Protocol):
    """Items addressed to `me` (a person's blind index) or to `role` within `region`."""

    async def page(
        self, *, me: str, role: str, region: str, unread_only: bool, limit: int, offset: int
    ) -> tuple[list[InboxRow], int]: ...
    async def unread(self, *, me: str, role: str, region: str) -> int: ...
    async def addressed(self, item_id: str, *, me: str, role: str, region: str) -> bool: ...
    async def mark_read(self, item_id: str, me: str, at: dt.datetime) -> None:
        """A second mark keeps the first one's time."""
        ...

    async def read_at(self, item_id: str, me: str) -> dt.datetime: ...
    async def sms_number(self, me: str) -> SmsRecipientRow | None: ...
    async def set_sms_number(self, me: str, values: dict[str, Any]) -> None: ...
    async def delete_sms_number(self, me: str) -> None: ...


class RemindersQuery(Protocol):
    async def page(
        self, *, region: str, pending: bool, limit: int, offset: int
    ) -> tuple[list[dict[str, Any]], int]: ...


class Notices(Protocol):
    async def write(
        self, notices: Sequence[Notice], *, event_id: str | None, sms: bool, wake_sms: Callable[[], None] | None
    ) -> list[str]:
        """Inbox items (one per person, one per role) and an SMS row for each person-addressed
        notice that asks for one (`sms`); `wake_sms` after the commit if any. The item ids."""
        ...


@dataclass(frozen=True, slots=True)
class DueDelivery:
    """A delivery claimed for one attempt (leased to the claiming dispatcher)."""

    id: int
    subscription_id: str
    event_id: str
    attempts: int
    total_attempts: int
    url: str


@dataclass(frozen=True, slots=True)
class DeliveryUpdate:
    """One attempt's outcome as recorded: the delivery's new state and the attempt row."""

    delivery_id: int
    decision: AttemptDecision
    started_at: dt.datetime
    status_code: int | None
    latency_ms: float | None
    error: str | None


class DeliveryQueue(Protocol):
    async def claim(self, *, owner: str, now: dt.datetime, lease_until: dt.datetime, limit: int) -> list[DueDelivery]:
        """Lease to `owner` up to `limit` due deliveries (pending, due, lease free or expired,
        subscription active, no earlier pending delivery of the same subscription and household),
        oldest first; PostgreSQL skips rows another replica is claiming."""
        ...

    async def payloads(self, event_ids: Sequence[str]) -> dict[str, bytes]: ...
    async def signing_secrets(self, sub_ids: Sequence[str], now: dt.datetime) -> dict[str, list[str]]:
        """Each subscription's encrypted secrets still signing at `now`, newest first."""
        ...

    async def record(
        self, *, owner: str, now: dt.datetime, updates: Sequence[DeliveryUpdate], recovered: set[str], failing: set[str]
    ) -> None:
        """Write the outcomes (only where `owner`'s lease still holds; the lease is released),
        the attempts, clear `recovered`'s failing marks and set `failing`'s (if unset) to `now`."""
        ...

    async def release(self, owner: str) -> None:
        """Give back the pending deliveries leased to `owner`."""
        ...


class DispatchWork(Protocol):
    @property
    def deliveries(self) -> DeliveryQueue: ...
    @property
    def subscriptions(self) -> SubscriptionsRepository: ...
    @property
    def notices(self) -> Notices: ...

    async def commit(self) -> None: ...


class ReminderQueue(Protocol):
    async def due(self, now: dt.datetime, limit: int) -> list[DueReminderRow]:
        """Reminders due at `now` (`domain.delivery.reminder_due`), soonest first, held until the
        transaction ends (PostgreSQL: those another replica holds are skipped)."""
        ...

    async def mark_fired(self, ids: Sequence[str], at: dt.datetime) -> None: ...


class ReminderWork(Protocol):
    @property
    def reminder_queue(self) -> ReminderQueue: ...
    @property
    def notices(self) -> Notices: ...

    def add_event(self, event: Event) -> None: ...
    async def commit(self) -> None: ...


class SmsQueue(Protocol):
    async def next_due(self, now: dt.datetime) -> SmsMessageRow | None:
        """The oldest pending message due at `now` whose lease is free (PostgreSQL: skipping
        those another replica holds), held until the transaction ends."""
        ...

    async def recipient(self, recipient_hash: str) -> SmsRecipientRow | None: ...
    async def lock_phone(self, phone_hash: str) -> None:
        """Count one phone's messages one replica at a time (until the transaction ends)."""
        ...

    async def recent(self, phone_hash: str, *, since: dt.datetime, now: dt.datetime) -> int:
        """The phone's messages sent since `since` or leased beyond `now` (being sent)."""
        ...

    async def settle(self, message_id: int, status: str, *, phone_hash: str | None, error: str | None) -> None:
        """Decided without sending: no_phone | rate_limited."""
        ...

    async def lease(self, message_id: int, *, until: dt.datetime, phone_hash: str) -> None: ...
    async def record_send(self, message_id: int, decision: SmsDecision) -> None:
        """A send's outcome; the lease is released."""
        ...


class SmsWork(Protocol):
    @property
    def sms(self) -> SmsQueue: ...

    async def commit(self) -> None: ...


@dataclass(frozen=True, slots=True)
class NewDelivery:
    """A delivery row the fan-out queues; `leased`: handed straight to this replica's dispatcher."""

    subscription_id: str
    event_id: str
    event_type: str
    order_key: str
    leased: bool


class FanoutQueue(Protocol):
    async def subscriptions(self) -> list[Target]:
        """Every subscription, read once per transaction (a consumer batch), not once per event."""
        ...

    def signing_secrets(self) -> dict[str, list[str]]:
        """The encrypted secrets in force of what `subscriptions()` read, newest first."""
        ...

    async def add_payloads(self, payloads: Sequence[tuple[str, str, bytes]], now: dt.datetime) -> None:
        """(event id, event type, CloudEvents JSON); an event already stored is kept."""
        ...

    async def pending_pairs(self, keys: Sequence[str], sub_ids: Sequence[str]) -> set[tuple[str, str]]:
        """(subscription, order key) pairs with a pending delivery, or whose household another
        replica is fanning out right now (PostgreSQL: its rows not yet visible)."""
        ...

    async def add_deliveries(
        self, rows: Sequence[NewDelivery], *, now: dt.datetime, lease_owner: str | None, lease_until: dt.datetime | None
    ) -> list[tuple[int, str, str]]:
        """Insert (a duplicate (subscription, event) is ignored); the leased ones get the lease.
        (id, subscription id, event id) of the leased rows inserted."""
        ...


class FanoutWork(Protocol):
    @property
    def fanout(self) -> FanoutQueue: ...


class PeopleRepository(Protocol):
    """What the people routing keeps: who submitted which case's application, and reminders."""

    async def link_application(self, case_id: str, application_id: str, applicant_hash: str, at: dt.datetime) -> None:
        """The first link of a case is kept."""
        ...

    async def applicant_of(self, case_id: str) -> str | None: ...
    async def reminder(self, kind: str, ref_id: str) -> ReminderRow | None: ...
    async def add_reminder(self, values: dict[str, Any]) -> None:
        """A reminder already there for the same (kind, ref_id) is kept."""
        ...

    async def move_reminder(self, reminder_id: str, values: dict[str, Any]) -> None: ...
    async def cancel_reminders(self, kinds: Sequence[str], ref_id: str, reason: str, at: dt.datetime) -> None:
        """Those neither fired nor cancelled yet."""
        ...

    async def add_cancelled(self, rows: Sequence[dict[str, Any]]) -> None:
        """Cancelled placeholders; one already there for the same (kind, ref_id) is kept."""
        ...


class PeopleWork(Protocol):
    @property
    def people(self) -> PeopleRepository: ...
    @property
    def notices(self) -> Notices: ...


class Work(Protocol):
    """One use case = one transaction."""

    @property
    def subscriptions(self) -> SubscriptionsRepository: ...
    @property
    def inbox(self) -> InboxRepository: ...
    @property
    def reminders(self) -> RemindersQuery: ...

    def add_event(self, event: Event) -> None: ...
    def after_commit(self, key: str, fn: Callable[[], None]) -> None:
        """Call `fn` once after this unit of work commits (e.g. wake the dispatcher)."""
        ...

    async def commit(self) -> None: ...
