"""Alembic environment of the identification service (its own history and version table)."""

from services.identification.adapters.orm import metadata
from shared.migrations import run_env

run_env(metadata)
