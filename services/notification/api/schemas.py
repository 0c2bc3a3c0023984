"""Request and response schemas of the notification API (requests forbid unknown fields)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_serializer

from shared.pii import MaskedText


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _utc(v: dt.datetime | None) -> str | None:
    if v is None:
        return None
    if v.tzinfo is None:  # SQLite hands back UTC wall times without the zone
        v = v.replace(tzinfo=dt.UTC)
    return v.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


class _Read(BaseModel):
    @field_serializer("*", when_used="json")
    def _times(self, v: Any) -> Any:
        return _utc(v) if isinstance(v, dt.datetime) else v


class SubscriptionCreate(_Request):
    url: str = Field(min_length=1, max_length=2048, description="http(s) URL receiving the events")
    event_types: list[str] = Field(
        min_length=1,
        max_length=50,
        description="patterns over `<domain>.<event>`: `risk.*`, `case.status_changed`, `*`",
    )
    region: str | None = Field(default=None, description="region prefix within the caller's scope (default: all of it)")
    description: MaskedText = Field(default="", max_length=500)


class SubscriptionOwner(BaseModel):
    role: str
    region: str
    dept: str | None


class DeliveryCounts(BaseModel):
    pending: int
    delivered: int
    dead: int


class SubscriptionRead(_Read):
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
    deliveries: DeliveryCounts | None = None
    replayed: int | None = None


class SubscriptionCreated(SubscriptionRead):
    secret: str = Field(description="the signing secret `whsec_<base64>`; shown only now")


class SubscriptionPage(BaseModel):
    items: list[SubscriptionRead]
    total: int
    limit: int
    offset: int


class SecretRotated(_Read):
    id: str
    secret: str
    previous_secrets_expire_at: dt.datetime


class AttemptRead(_Read):
    attempt: int
    started_at: dt.datetime
    outcome: str
    status_code: int | None
    latency_ms: float | None
    error: str | None


class DeliveryRead(_Read):
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
    attempts: list[AttemptRead]


class DeliveryPage(BaseModel):
    items: list[DeliveryRead]
    total: int
    limit: int
    offset: int


class ReplayResult(_Read):
    subscription_id: str
    replayed: int
    since: dt.datetime


class InboxItemRead(_Read):
    id: str
    kind: str
    title: str
    body: str
    region: str
    data: dict[str, Any]
    created_at: dt.datetime
    read: bool
    read_at: dt.datetime | None


class InboxPage(BaseModel):
    items: list[InboxItemRead]
    total: int
    unread: int
    limit: int
    offset: int


class InboxItemMarked(_Read):
    id: str
    read: bool
    read_at: dt.datetime | None


class UnreadCount(BaseModel):
    unread: int


class SmsSettingsUpdate(_Request):
    phone: str = Field(pattern=r"^1[3-9][0-9]{9}$", description="mainland mobile number; stored encrypted")
    enabled: bool = True


class SmsSettingsRead(_Read):
    phone: str | None = Field(description="masked")
    enabled: bool
    updated_at: dt.datetime | None


class ReminderRead(_Read):
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


class ReminderPage(BaseModel):
    items: list[ReminderRead]
    total: int
    limit: int
    offset: int
