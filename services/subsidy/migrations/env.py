"""Alembic environment of the subsidy service (its own history and version table)."""

from services.subsidy.adapters.orm import metadata
from shared.migrations import run_env

run_env(metadata)
