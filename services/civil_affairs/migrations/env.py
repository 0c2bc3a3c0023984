"""Alembic environment of the civil-affairs service (its own history and version table)."""

from services.civil_affairs.adapters.orm import metadata
from shared.migrations import run_env

run_env(metadata)
