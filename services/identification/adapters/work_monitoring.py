"""The repositories and queries of monitoring (screening jobs and chunks, signals, loops,
statistics, the registry lists, scheduled screenings, low-income rosters and comparisons, the
national sync), as properties of the identification unit of work over its one session
(`adapters/unit_of_work.py`)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

__all__ = ["MonitoringRepositories"]


class MonitoringRepositories:
    session: AsyncSession
