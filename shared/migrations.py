"""Each service has its own Alembic history (`services/<name>/migrations`) and its own version
table (`alembic_version_<name>`); migrations are applied when the service starts. On PostgreSQL
an advisory lock makes replicas that start together apply them once."""

from __future__ import annotations

import zlib
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.db import is_postgres

__all__ = ["alembic_config", "run_env", "upgrade"]


def alembic_config(service: str, script_location: Path) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(script_location))
    cfg.attributes["service"] = service
    return cfg


async def upgrade(engine: AsyncEngine, service: str, script_location: Path, revision: str = "head") -> None:
    cfg = alembic_config(service, script_location)

    def _run(sync_conn: sa.Connection) -> None:
        cfg.attributes["connection"] = sync_conn
        command.upgrade(cfg, revision)

    async with engine.begin() as conn:
        if is_postgres(engine):
            await conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": zlib.crc32(service.encode())})
        await conn.run_sync(_run)


def run_env(target_metadata: sa.MetaData | None) -> None:
    """Body of every service's `migrations/env.py` (online mode only: we always have a connection)."""
    from alembic import context

    cfg = context.config
    connection: Any = cfg.attributes.get("connection")
    if connection is None:
        raise RuntimeError("run migrations through shared.migrations.upgrade (fangfan up does)")
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        version_table=f"alembic_version_{cfg.attributes['service']}",
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


def create_infra_tables(bind: sa.Connection) -> None:
    """The infrastructure tables as of migration 0001 of every service (outbox, inbox, dead
    letters, idempotency keys). Later changes to them get their own migrations."""
    from shared.db import infra_tables

    md = sa.MetaData()
    infra_tables(md)
    md.create_all(bind)
