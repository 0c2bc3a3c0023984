"""What the notification use cases answer with: frozen read models of subscriptions, deliveries,
inbox items, SMS settings and reminders (the routers map them onto their response schemas; the
field names are those of the wire contract)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

__all__ = [
    "Attempt",
    "Delivery",
    "DeliveryCounts",
    "DeliveryPage",
    "InboxItem",
    "InboxPage",
    "ItemMarked",
    "Reminder",
    "ReminderPage",
    "Replayed",
    "SecretRotated",
    "SmsSettings",
    "Subscription",
    "SubscriptionCreated",
    "SubscriptionOwner",
    "SubscriptionPage",
]


@dataclass(frozen=True, slots=True)
class SubscriptionOwner:
    role: str
    region: str
    dept: str | None


@dataclass(frozen=True, slots=True)
class DeliveryCounts:
    pending: int
    delivered: int
    dead: int


@dataclass(frozen=True, slots=True)
class Subscription:
    id: str
    url: str
    event_types: list[str]
    region: str
    description: str
    status: str
    disabled_reason: str | None
    disabled_at: dt.datetime | None
    failing_since: dt.datetime | None
    owner: SubscriptionOwner
    created_at: dt.datetime
    updated_at: dt.datetime
    #: counts by status (one subscription read; absent from lists and from registration)
    deliveries: DeliveryCounts | None = None
    #: how many dead deliveries re-enabling put back (enable / disable only)
    replayed: int | None = None


@dataclass(frozen=True, slots=True)
class SubscriptionCreated:
    subscription: Subscription
    #: the signing secret, shown only now
    secret: str


@dataclass(frozen=True, slots=True)
class SubscriptionPage:
    items: list[Subscription]
    total: int
    limit: int
    offset: int


@dataclass(frozen=True, slots=True)
class SecretRotated:
    id: str
    secret: str
    previous_secrets_expire_at: dt.datetime


@dataclass(frozen=True, slots=True)
class Attempt:
    attempt: int
    started_at: dt.datetime
    outcome: str
    status_code: int | None
    latency_ms: float | None
    error: str | None


@dataclass(frozen=True, slots=True)
class Delivery:
    id: int
    subscription_id: str
    event_id: str
    event_type: str
    status: str
    attempts_in_round: int
    total_attempts: int
    next_attempt_at: dt.datetime | None
    last_status_code: int | None
    last_error: str | None
    created_at: dt.datetime
    delivered_at: dt.datetime | None
    dead_at: dt.datetime | None
    attempts: list[Attempt]


@dataclass(frozen=True, slots=True)
class DeliveryPage:
    items: list[Delivery]
    total: int
    limit: int
    offset: int


@dataclass(frozen=True, slots=True)
class Replayed:
    subscription_id: str
    replayed: int
    since: dt.datetime


@dataclass(frozen=True, slots=True)
class InboxItem:
    id: str
    kind: str
    title: str
    body: str
    region: str
    data: dict[str, Any]
    created_at: dt.datetime
    read: bool
    read_at: dt.datetime | None


@dataclass(frozen=True, slots=True)
class InboxPage:
    items: list[InboxItem]
    total: int
    unread: int
    limit: int
    offset: int


@dataclass(frozen=True, slots=True)
class ItemMarked:
    id: str
    read: bool
    read_at: dt.datetime | None


@dataclass(frozen=True, slots=True)
class SmsSettings:
    #: masked
    phone: str | None
    enabled: bool
    updated_at: dt.datetime | None


@dataclass(frozen=True, slots=True)
class Reminder:
    id: str
    kind: str
    ref_id: str
    region: str
    household_id: str | None
    due_date: dt.date
    fire_at: dt.datetime
    recipient_roles: list[str]
    fired_at: dt.datetime | None
    cancelled_at: dt.datetime | None
    cancel_reason: str | None


@dataclass(frozen=True, slots=True)
class ReminderPage:
    items: list[Reminder]
    total: int
    limit: int
    offset: int
