"""What the notification use cases (subscriptions, the inbox, the reminders list) need from the
outside, as Protocols: the unit of work with its repositories (SQL lives in `adapters/`), and the
check of a webhook destination. Rows are read-only records with the columns as attributes."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from shared.events import Event

__all__ = ["CheckDestination", "InboxRepository", "RemindersQuery", "SubscriptionsRepository", "Work"]

#: Refuses (`domain.ssrf.DestinationRefused`) a webhook URL outside the allowlist or resolving
#: to a private address.
CheckDestination = Callable[[str], Awaitable[None]]


class SubscriptionsRepository(Protocol):
    async def get(self, sub_id: str, *, lock: bool = False) -> Any | None: ...
    async def add(self, values: dict[str, Any]) -> None: ...
    async def update(self, sub_id: str, values: dict[str, Any]) -> None: ...
    async def add_secret(self, sub_id: str, secret_enc: str, at: dt.datetime) -> None: ...
    async def expire_secrets(self, sub_id: str, expires: dt.datetime) -> None:
        """Secrets still signing keep signing until `expires` (an earlier expiry is never extended)."""
        ...

    async def page(self, *, region: str | None, dept: str | None, limit: int, offset: int) -> tuple[list[Any], int]:
        """`region` None: every subscription (admin); `dept`: only that department's."""
        ...

    async def delivery_stats(self, sub_id: str) -> dict[str, int]: ...
    async def delivery(self, delivery_id: int) -> Any | None: ...
    async def deliveries_page(
        self, sub_id: str, *, status: str | None, limit: int, offset: int
    ) -> tuple[list[Any], dict[int, list[Any]], int]: ...
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


class InboxRepository(Protocol):
    """Items addressed to `me` (a person's blind index) or to `role` within `region`."""

    async def page(
        self, *, me: str, role: str, region: str, unread_only: bool, limit: int, offset: int
    ) -> tuple[list[Any], int]: ...
    async def unread(self, *, me: str, role: str, region: str) -> int: ...
    async def addressed(self, item_id: str, *, me: str, role: str, region: str) -> bool: ...
    async def mark_read(self, item_id: str, me: str, at: dt.datetime) -> None:
        """A second mark keeps the first one's time."""
        ...

    async def read_at(self, item_id: str, me: str) -> dt.datetime: ...
    async def sms_number(self, me: str) -> Any | None: ...
    async def set_sms_number(self, me: str, values: dict[str, Any]) -> None: ...
    async def delete_sms_number(self, me: str) -> None: ...


class RemindersQuery(Protocol):
    async def page(
        self, *, region: str, pending: bool, limit: int, offset: int
    ) -> tuple[list[dict[str, Any]], int]: ...


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
