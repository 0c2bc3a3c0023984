"""The relief policy in force for a region on a date: the shipped
`services/civil_affairs/policy/*relief*.yaml` versions and those added through
`/api/v1/admin/policies`, resolved by the civil-affairs policy store."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.ext.asyncio import AsyncSession

from services.civil_affairs.adapters.policy import resolve
from services.civil_affairs.domain.relief import ReliefPolicy, relief_policy

__all__ = ["relief_policy_for"]


async def relief_policy_for(session: AsyncSession, region_code: str, as_of: dt.date) -> ReliefPolicy:
    """Raises `PolicyNotFound`, `PolicyParameterMissing` or `PolicyError`."""
    return relief_policy(await resolve(session, region_code, as_of))
