"""The civil-affairs app running in-process against a real database and a real NATS server."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.civil_affairs.main import create_app
from shared.nats import NatsServer
from shared.settings import Settings
from tests.helpers import auth, make_settings, running_app

COUNTY = "341221"  # Linquan
VILLAGE = "341221001001"


@pytest.fixture
def settings(tmp_path: Path, nats_server: NatsServer, database_url: str) -> Settings:
    return make_settings(tmp_path, nats_url=nats_server.url, database_url=database_url)


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with running_app(create_app, settings) as c:
        yield c


@pytest.fixture
def as_role(settings: Settings) -> Any:
    def headers(role: str = "county", region: str = COUNTY, **kw: Any) -> dict[str, str]:
        return auth(settings, role, region, **kw)

    return headers
