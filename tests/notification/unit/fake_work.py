"""An in-memory `application.ports.Work` for the subscription and inbox use cases without a
database: subscriptions, secrets and deliveries in lists, inbox items and read marks, commits
counted and after-commit callbacks run on commit."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from shared import contracts
from shared.events import Event

__all__ = ["FakeWork"]

_SUBSCRIPTION_DEFAULTS = dict.fromkeys(("disabled_reason", "disabled_at", "failing_since", "missed_since"))


class FakeSubscriptions:
    def __init__(self) -> None:
        self.rows: dict[str, dict[str, Any]] = {}
        self.secrets: list[dict[str, Any]] = []
        self.deliveries: dict[int, dict[str, Any]] = {}

    async def get(self, sub_id: str, *, lock: bool = False) -> Any | None:
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

    async def page(self, *, region: str | None, dept: str | None, limit: int, offset: int) -> tuple[list[Any], int]:
        rows = [
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

    async def delivery(self, delivery_id: int) -> Any | None:
        row = self.deliveries.get(delivery_id)
        return None if row is None else SimpleNamespace(**row)

    async def deliveries_page(self, sub_id: str, **_: Any) -> tuple[list[Any], dict[int, list[Any]], int]:
        rows = [SimpleNamespace(**d) for d in self.deliveries.values() if d["subscription_id"] == sub_id]
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
    ) -> tuple[list[Any], int]:
        rows = [SimpleNamespace(**i, read_at=self.reads.get((i["id"], me))) for i in self._mine(me, role, region)]
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

    async def sms_number(self, me: str) -> Any | None:
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
    commits: int = 0
    events: list[Event] = field(default_factory=list)
    _after: dict[str, Callable[[], None]] = field(default_factory=dict)

    @property
    def reminders(self) -> Any:
        raise AssertionError("no reminders in these tests")

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
