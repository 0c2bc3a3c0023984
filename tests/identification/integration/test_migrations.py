"""Migration iden_0006: on PostgreSQL the blind indexes (ID numbers of members, phones of
households) become hash indexes, and a database made before it is converted; downgrading turns
them back into B-trees. On SQLite the migration leaves the B-trees alone."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command

import services.identification
from shared.db import is_postgres, make_engine
from shared.migrations import alembic_config, upgrade

SCRIPTS = Path(services.identification.__file__).parent / "migrations"
BLIND = ("ix_members_id_number_index", "ix_households_phone_index")


async def _methods(engine: sa.ext.asyncio.AsyncEngine) -> dict[str, str]:
    async with engine.connect() as conn:
        if not is_postgres(engine):
            rows = await conn.execute(
                sa.text("SELECT name FROM sqlite_master WHERE type = 'index' AND name IN (:a, :b)"),
                {"a": BLIND[0], "b": BLIND[1]},
            )
            return {r[0]: "btree" for r in rows}
        rows = await conn.execute(
            sa.text(
                "SELECT c.relname, am.amname FROM pg_class c JOIN pg_am am ON am.oid = c.relam "
                "WHERE c.relname = ANY(:names)"
            ),
            {"names": list(BLIND)},
        )
        return {r[0]: r[1] for r in rows}


async def test_blind_indexes_become_hash_indexes_and_back(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        await upgrade(engine, "identification", SCRIPTS, "iden_0005")
        if is_postgres(engine):  # what iden_0002 built before hash indexes: B-trees
            async with engine.begin() as conn:
                for index, table, column in zip(
                    BLIND, ("members", "households"), ("id_number_index", "phone_index"), strict=True
                ):
                    await conn.execute(sa.text(f"DROP INDEX {index}"))
                    await conn.execute(sa.text(f"CREATE INDEX {index} ON {table} ({column})"))
            assert await _methods(engine) == dict.fromkeys(BLIND, "btree")
        await upgrade(engine, "identification", SCRIPTS)
        expected = "hash" if is_postgres(engine) else "btree"
        assert await _methods(engine) == dict.fromkeys(BLIND, expected)

        def down(sync_conn: sa.Connection) -> None:
            cfg = alembic_config("identification", SCRIPTS)
            cfg.attributes["connection"] = sync_conn
            command.downgrade(cfg, "iden_0005")

        async with engine.begin() as conn:
            await conn.run_sync(down)
        assert await _methods(engine) == dict.fromkeys(BLIND, "btree")
    finally:
        await engine.dispose()


@pytest.mark.postgres
async def test_a_blind_index_lookup_of_many_numbers_uses_the_hash_index(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        if not is_postgres(engine):
            pytest.skip("PostgreSQL only")
        await upgrade(engine, "identification", SCRIPTS)
        async with engine.connect() as conn:
            await conn.execute(sa.text("SET enable_seqscan = off"))  # an empty table: ask whether it *can*
            plan = "\n".join(
                r[0]
                for r in await conn.execute(
                    sa.text("EXPLAIN SELECT id FROM members WHERE id_number_index = ANY(:v)"),
                    {"v": ["a" * 64, "b" * 64]},
                )
            )
        assert "ix_members_id_number_index" in plan, plan
    finally:
        await engine.dispose()


async def _case_columns(engine: sa.ext.asyncio.AsyncEngine) -> set[str]:
    async with engine.connect() as conn:
        return await conn.run_sync(lambda c: {col["name"] for col in sa.inspect(c).get_columns("cases")})


async def test_comparison_due_is_added_to_an_older_database_and_removed_on_downgrade(database_url: str) -> None:
    """iden_0007: a database made before it (no `cases.comparison_due`) gains the column; a new
    one already has it from iden_0003 and is left alone; downgrading removes it."""
    engine = make_engine(database_url)

    def migrate(sync_conn: sa.Connection, how: str, target: str) -> None:
        cfg = alembic_config("identification", SCRIPTS)
        cfg.attributes["connection"] = sync_conn
        getattr(command, how)(cfg, target)

    try:
        await upgrade(engine, "identification", SCRIPTS, "iden_0006")
        async with engine.begin() as conn:  # as iden_0003 built it before the column existed
            await conn.execute(sa.text("ALTER TABLE cases DROP COLUMN comparison_due"))
        assert "comparison_due" not in await _case_columns(engine)
        await upgrade(engine, "identification", SCRIPTS)
        assert "comparison_due" in await _case_columns(engine)
        async with engine.begin() as conn:
            await conn.run_sync(migrate, "downgrade", "iden_0006")
        assert "comparison_due" not in await _case_columns(engine)
        async with engine.begin() as conn:
            await conn.run_sync(migrate, "upgrade", "head")
        assert "comparison_due" in await _case_columns(engine)
    finally:
        await engine.dispose()


async def _tables(engine: sa.ext.asyncio.AsyncEngine) -> set[str]:
    async with engine.connect() as conn:
        return await conn.run_sync(lambda c: set(sa.inspect(c).get_table_names()))


async def test_exclusions_audit_chain_and_lead_resolutions_come_and_go_with_iden_0009(database_url: str) -> None:
    engine = make_engine(database_url)
    new = {"case_exclusions", "lead_resolutions", "audit_chain"}

    def migrate(sync_conn: sa.Connection, how: str, target: str) -> None:
        cfg = alembic_config("identification", SCRIPTS)
        cfg.attributes["connection"] = sync_conn
        getattr(command, how)(cfg, target)

    try:
        await upgrade(engine, "identification", SCRIPTS, "iden_0007")
        assert not new & await _tables(engine)
        await upgrade(engine, "identification", SCRIPTS)
        assert new <= await _tables(engine)
        async with engine.begin() as conn:
            await conn.run_sync(migrate, "downgrade", "iden_0007")
        assert not new & await _tables(engine)
        assert "cases" in await _tables(engine)
    finally:
        await engine.dispose()
