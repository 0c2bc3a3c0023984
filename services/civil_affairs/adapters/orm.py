"""The civil-affairs service's tables (its own database; no other service reads them).

Each feature keeps its tables in its own module (`orm_<feature>.py`) on this one `metadata`, imported
below so that Alembic and the service see every table."""

from __future__ import annotations

import sqlalchemy as sa

from shared.db import infra_tables

metadata = sa.MetaData()
#: outbox, inbox, dead_letters, idempotency_keys
infra = infra_tables(metadata)

from services.civil_affairs.adapters import orm_appeals as _orm_appeals  # noqa: E402, F401  (appeals, complaints)

# Feature tables (imported last: they add themselves to `metadata`).
from services.civil_affairs.adapters import orm_programmes as _orm_programmes  # noqa: E402, F401
from services.civil_affairs.adapters import orm_relief as _orm_relief  # noqa: E402,F401  (temporary relief)
