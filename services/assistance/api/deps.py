"""What the assistance routers are handed: the service's unit of work (for a use case that
writes) and the read queries over a read-only session (for a list or a detail)."""

from __future__ import annotations

from fastapi import Depends
from sqlalchemy.ext.asyncio import AsyncSession

from services.assistance.adapters.queries import AssistanceReads
from services.assistance.adapters.unit_of_work import AssistanceUnitOfWork, assistance_work
from shared.app import get_session, get_uow
from shared.db import UnitOfWork

__all__ = ["get_reads", "get_work"]


def get_work(uow: UnitOfWork = Depends(get_uow)) -> AssistanceUnitOfWork:
    return assistance_work(uow)


def get_reads(session: AsyncSession = Depends(get_session)) -> AssistanceReads:
    return AssistanceReads(session)
