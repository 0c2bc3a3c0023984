"""What one running notification app holds of its own (`ctx.extras`): its settings, the unit of
work factory of its consumers and workers, and the workers themselves (built at startup)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from services.notification.settings import NotificationSettings
from shared.app import ServiceContext

if TYPE_CHECKING:
    from services.notification.adapters.dispatcher import Dispatcher
    from services.notification.adapters.http import OutboundHttp
    from services.notification.adapters.reminder_scheduler import ReminderScheduler
    from services.notification.adapters.sms import HttpSmsProvider
    from services.notification.adapters.sms_sender import SmsSender
    from services.notification.adapters.unit_of_work import NotificationUnitOfWork

__all__ = ["NotificationExtras", "extras_of"]


@dataclass
class NotificationExtras:
    settings: NotificationSettings = field(default_factory=NotificationSettings)
    #: batching, and on SQLite taking turns (`adapters.unit_of_work.serial_writers`); None before startup
    uow: Callable[[], NotificationUnitOfWork] | None = None
    http: OutboundHttp | None = None
    dispatcher: Dispatcher | None = None
    sms_provider: HttpSmsProvider | None = None
    sms: SmsSender | None = None
    reminders: ReminderScheduler | None = None


def extras_of(ctx: ServiceContext) -> NotificationExtras:
    extras = ctx.extras
    assert isinstance(extras, NotificationExtras), "the notification app builds its extras (main.spec)"
    return extras
