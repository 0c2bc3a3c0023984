"""FastAPI dependencies of identification's routers: what of the running app a route needs."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import cast

from fastapi import Depends

from services.identification.adapters.unit_of_work import IdentificationUnitOfWork
from services.identification.application.context import extras
from shared.app import ServiceContext, get_ctx
from shared.policy_store import PolicyStore

__all__ = ["get_work", "policy_store"]


def policy_store(ctx: ServiceContext = Depends(get_ctx)) -> PolicyStore:
    """The running app's policy store."""
    return extras(ctx).policy_store


async def get_work(ctx: ServiceContext = Depends(get_ctx)) -> AsyncIterator[IdentificationUnitOfWork]:
    """The request's unit of work (`shared.app.get_uow`) with identification's repositories:
    the use case commits it, or everything is rolled back."""
    async with ctx.uow() as uow:
        yield cast(IdentificationUnitOfWork, uow)
