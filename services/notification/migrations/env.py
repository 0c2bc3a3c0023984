"""Alembic environment of the notification service (its own history and version table)."""

from services.notification.adapters.orm import metadata
from shared.migrations import run_env

run_env(metadata)
