"""Migration subs_0003: the subsidy audit chain table comes with it and goes on downgrade."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command

import services.subsidy
from shared.db import make_engine
from shared.migrations import alembic_config, upgrade

SCRIPTS = Path(services.subsidy.__file__).parent / "migrations"


async def _tables(engine: sa.ext.asyncio.AsyncEngine) -> set[str]:
    async with engine.connect() as conn:
        return await conn.run_sync(lambda c: set(sa.inspect(c).get_table_names()))


async def test_audit_chain_comes_with_subs_0003_and_goes_on_downgrade(database_url: str) -> None:
    engine = make_engine(database_url)

    def down(sync_conn: sa.Connection) -> None:
        cfg = alembic_config("subsidy", SCRIPTS)
        cfg.attributes["connection"] = sync_conn
        command.downgrade(cfg, "subs_0002")

    try:
        await upgrade(engine, "subsidy", SCRIPTS, "subs_0002")
        assert "audit_chain" not in await _tables(engine)
        await upgrade(engine, "subsidy", SCRIPTS)
        assert "audit_chain" in await _tables(engine)
        async with engine.begin() as conn:
            await conn.run_sync(down)
        assert "audit_chain" not in await _tables(engine)
        assert "decisions" in await _tables(engine)
    finally:
        await engine.dispose()
