"""Fixtures of the notification integration tests: the service in-process against a real
database and a real NATS server, a fast retry schedule, loopback receivers."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.notification.main import create_app
from services.notification.settings import NotificationSettings
from shared.nats import NatsServer
from shared.settings import Settings
from tests.helpers import make_settings, running_app
from tests.notification.integration.support import Receiver


def fast(**overrides: Any) -> NotificationSettings:
    values: dict[str, Any] = {
        "webhook_retry_schedule": "0.2,0.2,0.2",
        "webhook_retry_jitter": 0.0,
        "webhook_timeout_s": 5.0,
        "webhook_poll_s": 0.05,
        "reminder_poll_s": 0.2,
        "sms_poll_s": 0.1,
    }
    values.update(overrides)
    return NotificationSettings(**values)


@pytest.fixture
def settings(tmp_path: Path, nats_server: NatsServer, database_url: str) -> Settings:
    return make_settings(tmp_path, nats_url=nats_server.url, database_url=database_url)


@pytest.fixture
def app_factory() -> Callable[..., Any]:
    def factory(ns: NotificationSettings | None = None) -> Callable[[Settings], Any]:
        return lambda s: create_app(s, ns or fast())

    return factory


@pytest.fixture
async def client(settings: Settings, app_factory: Callable[..., Any]) -> AsyncIterator[httpx.AsyncClient]:
    async with running_app(app_factory(), settings) as c:
        yield c


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    r = await Receiver().start()
    yield r
    await r.stop()
