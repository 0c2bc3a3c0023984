"""Database plumbing shared by services: the async engine (SQLite WAL or PostgreSQL), the
infrastructure tables every service has (outbox, inbox, dead letters, idempotency keys), and the
unit of work — the only thing that commits, writing the outbox rows in the same transaction."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy import event as sa_event
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from shared import contracts
from shared.events import Event, encode_event

__all__ = [
    "UnitOfWork",
    "before_commit",
    "infra_tables",
    "insert_ignoring_duplicates",
    "is_postgres",
    "make_engine",
    "one_snapshot",
    "utcnow",
]


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


_BEFORE_COMMIT = "fangfan.before_commit"


_Flush = TypeVar("_Flush", bound=Callable[[], Awaitable[None]])


def before_commit(session: AsyncSession, key: str, flush: _Flush) -> _Flush:
    """Have `flush` run once, in the same transaction, when the unit of work owning `session`
    commits (`UnitOfWork.commit`), before the outbox rows. The first `flush` of a `key` counts
    and is returned; a rollback forgets them."""
    hooks: dict[str, Any] = session.info.setdefault(_BEFORE_COMMIT, {})
    return hooks.setdefault(key, flush)


def is_postgres(engine: AsyncEngine | sa.engine.Connection | Any) -> bool:
    return engine.dialect.name == "postgresql"


async def one_snapshot(session: Any) -> None:
    """Make the reads of the session's transaction see one state of the database: on
    PostgreSQL a read-only REPEATABLE READ transaction (READ COMMITTED, the default, lets a
    commit land between two statements of one answer); SQLite transactions already begin
    IMMEDIATE, one at a time. Call it before the transaction's first statement."""
    if is_postgres(session.bind):
        await session.execute(sa.text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY"))


def make_engine(url: str, *, pool_size: int = 10) -> AsyncEngine:
    """An async engine. SQLite: WAL, synchronous=FULL, busy timeout, BEGIN IMMEDIATE so that two
    writers queue instead of failing on a lock upgrade. PostgreSQL: asyncpg with a pool."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            from pathlib import Path

            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, connect_args={"timeout": 60})

        @sa_event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.isolation_level = None  # we emit BEGIN ourselves
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=FULL")
            cur.execute("PRAGMA busy_timeout=60000")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        @sa_event.listens_for(engine.sync_engine, "begin")
        def _sqlite_begin(conn: Any) -> None:
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    return create_async_engine(url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True)


def insert_ignoring_duplicates(dialect: str, table: sa.Table, rows: list[dict[str, Any]]) -> Any:
    """A multi-row INSERT that skips rows whose key exists (`ON CONFLICT DO NOTHING`), for
    PostgreSQL and SQLite; chain `.returning(...)` to learn which rows went in."""
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(table).values(rows).on_conflict_do_nothing()
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert(table).values(rows).on_conflict_do_nothing()


def infra_tables(metadata: sa.MetaData) -> dict[str, sa.Table]:
    """Add the infrastructure tables to a service's metadata (each service has its own copy in
    its own database; no service reads another's)."""
    outbox = sa.Table(
        "outbox",
        metadata,
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            primary_key=True,
            autoincrement=True,
        ),
        sa.Column("event_id", sa.String(36), nullable=False, unique=True),
        sa.Column("subject", sa.String(255), nullable=False),
        sa.Column("payload", sa.LargeBinary, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Index(
            "ix_outbox_unpublished",
            "id",
            postgresql_where=sa.text("published_at IS NULL"),
            sqlite_where=sa.text("published_at IS NULL"),
        ),
    )
    inbox = sa.Table(
        "inbox",
        metadata,
        sa.Column("consumer", sa.String(100), primary_key=True),
        sa.Column("event_id", sa.String(36), primary_key=True),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=False),
    )
    dead_letters = sa.Table(
        "dead_letters",
        metadata,
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            primary_key=True,
            autoincrement=True,
        ),
        sa.Column("consumer", sa.String(100), nullable=False),
        sa.Column("event_id", sa.String(64), nullable=True),
        sa.Column("subject", sa.String(255), nullable=False),
        sa.Column("payload", sa.LargeBinary, nullable=False),
        sa.Column("error", sa.Text, nullable=False),
        sa.Column("deliveries", sa.Integer, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    idempotency = sa.Table(
        "idempotency_keys",
        metadata,
        sa.Column("scope", sa.String(200), primary_key=True),
        sa.Column("key", sa.String(200), primary_key=True),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("status", sa.Integer, nullable=True),  # null while the first request runs
        sa.Column("response", sa.LargeBinary, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    return {
        "outbox": outbox,
        "inbox": inbox,
        "dead_letters": dead_letters,
        "idempotency_keys": idempotency,
    }


class UnitOfWork:
    """One use case = one transaction. Collect events with `add_event`; `commit()` writes them
    to the outbox in the same transaction, then wakes the relay. Leaving the block without
    `commit()` rolls everything back.

        async with UnitOfWork(sessions, outbox_table, on_commit=relay.wake) as uow:
            uow.session.add(...)
            uow.add_event(Event(...))
            await uow.commit()
    """

    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        outbox: sa.Table,
        *,
        on_commit: Callable[[], None] | None = None,
    ) -> None:
        self._factory = session_factory
        self._outbox = outbox
        self._on_commit = on_commit
        self._events: list[Event] = []
        self.session: AsyncSession

    async def __aenter__(self) -> UnitOfWork:
        self.session = self._factory()
        self._events = []
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            await self.session.rollback()
        finally:
            await self.session.close()

    def add_event(self, event: Event) -> None:
        """Collect an event for the outbox. Refused here, at the producer, when its type has no
        contract or its payload breaks it (`shared.contracts.ContractViolation`): what a consumer
        relies on cannot change unnoticed. (Personal data is refused when the row is encoded.)"""
        contracts.check(event)
        self._events.append(event)

    @property
    def pending_events(self) -> list[Event]:
        return list(self._events)

    async def flush_events(self) -> None:
        if not self._events:
            return
        now = utcnow()
        rows = []
        for ev in self._events:
            subject, payload = encode_event(ev)
            rows.append({"event_id": ev.id, "subject": subject, "payload": payload, "created_at": now})
        await self.session.execute(sa.insert(self._outbox), rows)
        self._events = []

    async def commit(self) -> None:
        hooks = self.session.info.pop(_BEFORE_COMMIT, None)
        for flush in (hooks or {}).values():
            await flush()
        had_events = bool(self._events)
        await self.flush_events()
        await self.session.commit()
        if had_events and self._on_commit is not None:
            self._on_commit()

    async def rollback(self) -> None:
        self._events = []
        self.session.info.pop(_BEFORE_COMMIT, None)
        await self.session.rollback()
