"""Alembic environment of the assistance service (its own history and version table)."""

from services.assistance.adapters.orm import metadata
from shared.migrations import run_env

run_env(metadata)
