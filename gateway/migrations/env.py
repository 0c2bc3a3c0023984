"""Alembic environment of the gateway (its own history and version table: API keys)."""

from gateway.apikeys import metadata
from shared.migrations import run_env

run_env(metadata)
