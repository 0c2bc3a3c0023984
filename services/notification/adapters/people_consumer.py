"""People (通知到人): the consumer that turns events into inbox items (and SMS) for citizens,
contact persons and officers, remembers which citizen submitted which application, and
schedules or cancels reminders — the decisions in `application.people`, the SQL in
`adapters/people_repository.py`; here the dated reminder policies and the handler."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from services.notification.adapters.people_repository import SqlPeople
from services.notification.adapters.unit_of_work import NotificationUnitOfWork, SqlNotices
from services.notification.application.people import NotifyPeople, notify_people
from services.notification.domain.routing import ReminderPolicy
from shared.consumer import EventHandler
from shared.db import UnitOfWork
from shared.events import Event
from shared.pii import FieldCipher
from shared.policy import PolicyNotFound, PolicyVersion, load_policy_dir, resolve_policy

__all__ = ["POLICY_DIR", "ReminderPolicies", "people_handler"]

POLICY_DIR = Path(__file__).resolve().parent.parent / "policy"


class ReminderPolicies:
    """Reminder lead times in force for a region at a date (dated policy, shared/policy.py)."""

    def __init__(self, versions: list[PolicyVersion] | None = None) -> None:
        self.versions = versions if versions is not None else load_policy_dir(POLICY_DIR)
        self._resolved: dict[tuple[str, Any], ReminderPolicy] = {}

    def at(self, region: str, as_of: Any) -> ReminderPolicy:
        """Resolved once per (region, day): the versions are loaded at start and never change."""
        key = (region, as_of)
        found = self._resolved.get(key)
        if found is None:
            if len(self._resolved) > 10_000:
                self._resolved.clear()
            found = self._resolved[key] = self._resolve(region, as_of)
        return found

    def _resolve(self, region: str, as_of: Any) -> ReminderPolicy:
        try:
            p = resolve_policy(self.versions, service="notification", region_code=region, as_of=as_of)
        except PolicyNotFound:
            return ReminderPolicy()
        names = ReminderPolicy.__dataclass_fields__
        return ReminderPolicy(**{k: int(p[k]) for k in names if k in p})


class _PeopleWork:
    """`application.ports.PeopleWork` over any unit of work of the consumer (its session)."""

    def __init__(self, uow: UnitOfWork) -> None:
        self.people = SqlPeople(uow.session)
        self.notices = SqlNotices(uow)


def _work(uow: UnitOfWork) -> NotificationUnitOfWork | _PeopleWork:
    return uow if isinstance(uow, NotificationUnitOfWork) else _PeopleWork(uow)


def people_handler(
    cipher: FieldCipher, policies: ReminderPolicies, *, sms: bool, wake_sms: Callable[[], None] | None
) -> EventHandler:
    """The consumer's handler: `application.people.notify_people` in the inbox transaction."""

    async def handle(uow: UnitOfWork, ev: Event) -> None:
        cmd = NotifyPeople(ev, policies.at(ev.region, ev.time.date()), sms)
        await notify_people(cmd, _work(uow), cipher, wake_sms=wake_sms)

    return handle
