"""The repositories and queries of monitoring (screening jobs and chunks, signals, loops,
statistics, the registry lists, scheduled screenings, low-income rosters and comparisons, the
national sync), as properties of the identification unit of work over its one session
(`adapters/unit_of_work.py`); the use cases see them as `application.monitoring_ports`."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from services.identification.adapters.loops_repo import LoopsRepository
from services.identification.adapters.low_income_queries import LowIncomeQueries
from services.identification.adapters.low_income_repo import LowIncomeRepository
from services.identification.adapters.national_sync_repo import NationalSyncRepository
from services.identification.adapters.registry import RegistryQueries
from services.identification.adapters.schedule_repo import ScheduleRepository
from services.identification.adapters.screening_repo import ScreeningRepository
from services.identification.adapters.signals_repo import SignalsRepository
from services.identification.adapters.statistics_queries import StatisticsQueries
from shared.policy import ResolvedPolicy
from shared.policy_store import PolicyStore

__all__ = ["MonitoringRepositories"]


class MonitoringRepositories:
    session: AsyncSession
    _outbox: sa.Table

    async def resolve_policy(self, store: PolicyStore, region_code: str, as_of: dt.date) -> ResolvedPolicy:
        """The policy in force, its run-time versions read in this transaction (registration's
        use cases reach it through the same unit of work)."""
        return await store.resolve(self.session, region_code, as_of)

    @property
    def screening(self) -> ScreeningRepository:
        return ScreeningRepository(self.session, self._outbox)

    @property
    def schedule(self) -> ScheduleRepository:
        return ScheduleRepository(self.session)

    @property
    def loops(self) -> LoopsRepository:
        return LoopsRepository(self.session)

    @property
    def registry(self) -> RegistryQueries:
        return RegistryQueries(self.session)

    @property
    def signals(self) -> SignalsRepository:
        return SignalsRepository(self.session)

    @property
    def statistics(self) -> StatisticsQueries:
        return StatisticsQueries(self.session)

    @property
    def low_income(self) -> LowIncomeRepository:
        return LowIncomeRepository(self.session)

    @property
    def low_income_queries(self) -> LowIncomeQueries:
        return LowIncomeQueries(self.session)

    @property
    def national_sync(self) -> NationalSyncRepository:
        return NationalSyncRepository(self.session)
