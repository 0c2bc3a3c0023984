"""The subsidy service's tables (its own database; no other service reads them)."""

from __future__ import annotations

import sqlalchemy as sa

from shared.db import infra_tables

metadata = sa.MetaData()
#: outbox, inbox, dead_letters, idempotency_keys
infra = infra_tables(metadata)
