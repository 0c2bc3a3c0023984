"""Notification (通知): signed webhooks for departments, an in-app inbox, SMS and durable reminders."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from services.notification.adapters.context import NotificationExtras, extras_of
from services.notification.adapters.dispatcher import Dispatcher
from services.notification.adapters.fanout import fanout_handler
from services.notification.adapters.http import OutboundHttp
from services.notification.adapters.orm import metadata
from services.notification.adapters.people_consumer import ReminderPolicies, people_handler
from services.notification.adapters.reminder_scheduler import ReminderScheduler
from services.notification.adapters.sms import HttpSmsProvider
from services.notification.adapters.sms_sender import SmsSender
from services.notification.adapters.unit_of_work import NotificationUnitOfWork, serial_writers
from services.notification.api import inbox, subscriptions
from services.notification.domain.ssrf import parse_allowlist
from services.notification.settings import NotificationSettings
from shared.app import ConsumerSpec, ServiceContext, ServiceSpec, create_service_app
from shared.consumer import EventHandler
from shared.settings import Settings

SERVICE = "notification"


def spec(nsettings: NotificationSettings | None = None) -> ServiceSpec:
    ns = nsettings or NotificationSettings()
    sms_on = ns.sms_enabled and bool(ns.sms_provider_url)

    async def on_startup(ctx: ServiceContext) -> None:
        extras = extras_of(ctx)
        # SQLite: this process's writers take turns on one lock instead of SQLite's busy handler.
        extras.uow = serial_writers(ctx)
        for consumer in ctx.consumers:
            consumer.uow_factory = extras.uow
        http = OutboundHttp(
            parse_allowlist(ctx.settings.webhook_allowlist),
            timeout_s=ns.webhook_timeout_s,
            limit=max(64, ns.webhook_max_in_flight),
        )
        extras.http = http
        extras.dispatcher = Dispatcher(ctx, ns, http)
        if sms_on:
            assert ns.sms_provider_url is not None
            provider = HttpSmsProvider(
                ns.sms_provider_url, ns.sms_body_template, json.loads(ns.sms_headers), timeout_s=ns.sms_timeout_s
            )
            extras.sms_provider = provider
            extras.sms = SmsSender(ctx, ns, provider)
        extras.reminders = ReminderScheduler(ctx, poll_s=ns.reminder_poll_s, sms=sms_on, wake_sms=_waker(ctx, "sms"))

    async def on_shutdown(ctx: ServiceContext) -> None:
        # The frame cancelled our background tasks; wait until they have let go of their
        # database connections before the engine is disposed.
        for task in ctx.tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        extras = extras_of(ctx)
        if extras.http is not None:
            await extras.http.close()
        if extras.sms_provider is not None:
            await extras.sms_provider.close()

    def fanout(ctx: ServiceContext) -> EventHandler:
        # Fresh rows go straight to this replica's dispatcher (leased in the fan-out
        # transaction) when it runs here; the rest wait for its claim loop.
        return fanout_handler(_waker(ctx, "dispatcher"), lambda: extras_of(ctx).dispatcher)

    def people(ctx: ServiceContext) -> EventHandler:
        return people_handler(ctx.cipher, ReminderPolicies(), sms=sms_on, wake_sms=_waker(ctx, "sms"))

    background = []
    if ns.dispatcher_enabled:
        background.append(_worker("dispatcher"))
    if ns.reminders_enabled:
        background.append(_worker("reminders"))
    if sms_on:
        background.append(_worker("sms"))

    return ServiceSpec(
        name=SERVICE,
        metadata=metadata,
        migrations=Path(__file__).parent / "migrations",
        routers=[subscriptions.router, inbox.router],
        consumers=[
            ConsumerSpec("webhooks", ["fangfan.>"], handler=fanout),
            ConsumerSpec("people", ["fangfan.>"], handler=people),
        ],
        on_startup=on_startup,
        on_shutdown=on_shutdown,
        background=background,
        description=__doc__ or "",
        extras=lambda: NotificationExtras(settings=ns),
        unit_of_work=NotificationUnitOfWork,
    )


def _worker(name: str) -> Callable[[ServiceContext], Coroutine[Any, Any, None]]:
    """A background task the frame may cancel at shutdown: the cancel becomes a request to stop
    between two database operations (a cancel inside one would strand its connection)."""

    async def run(ctx: ServiceContext) -> None:
        worker: Any = getattr(extras_of(ctx), name)
        inner = asyncio.create_task(worker.run(), name=f"notification-{name}")
        try:
            await asyncio.shield(inner)
        except asyncio.CancelledError:
            stopped = worker.stop()
            if asyncio.iscoroutine(stopped):
                await stopped
            with contextlib.suppress(Exception):
                await inner
            raise

    return run


def _waker(ctx: ServiceContext, name: str) -> Callable[[], None]:
    def wake() -> None:
        worker = getattr(extras_of(ctx), name)
        if worker is not None:
            worker.wake()

    return wake


def create_app(settings: Settings | None = None, nsettings: NotificationSettings | None = None) -> FastAPI:
    return create_service_app(spec(nsettings), settings)
