"""Routes: `/api/v1/inbox` (the caller's in-app messages, read marks, unread count, SMS number)
and `/api/v1/reminders` (officers and contact persons: reminders in their region)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Query, Response
from sqlalchemy.ext.asyncio import AsyncSession

from services.notification.adapters.orm import reminders
from services.notification.api.schemas import (
    InboxItemMarked,
    InboxPage,
    ReminderPage,
    SmsSettingsRead,
    SmsSettingsUpdate,
    UnreadCount,
)
from services.notification.application import inbox as uc
from shared.app import ServiceContext, get_ctx, get_principal, get_session, get_uow
from shared.auth import Principal
from shared.db import UnitOfWork
from shared.errors import Forbidden

router = APIRouter(prefix="/api/v1", tags=["inbox"])


@router.get("/inbox", response_model=InboxPage)
async def list_inbox(
    unread: bool = Query(False, description="only unread items"),
    limit: int = Query(50, ge=1, le=200),
    offset: int = Query(0, ge=0, le=1_000_000_000),
    ctx: ServiceContext = Depends(get_ctx),
    session: AsyncSession = Depends(get_session),
    principal: Principal = Depends(get_principal),
) -> dict[str, Any]:
    return await uc.list_items(session, ctx.cipher, principal, unread_only=unread, limit=limit, offset=offset)


@router.get("/inbox/unread-count", response_model=UnreadCount)
async def unread_count(
    ctx: ServiceContext = Depends(get_ctx),
    session: AsyncSession = Depends(get_session),
    principal: Principal = Depends(get_principal),
) -> dict[str, int]:
    return {"unread": await uc.unread_count(session, ctx.cipher, principal)}


@router.get("/inbox/sms", response_model=SmsSettingsRead)
async def get_sms(
    ctx: ServiceContext = Depends(get_ctx),
    session: AsyncSession = Depends(get_session),
    principal: Principal = Depends(get_principal),
) -> dict[str, Any]:
    return await uc.get_sms(session, ctx.cipher, principal)


@router.put("/inbox/sms", response_model=SmsSettingsRead)
async def put_sms(
    body: SmsSettingsUpdate,
    ctx: ServiceContext = Depends(get_ctx),
    uow: UnitOfWork = Depends(get_uow),
    principal: Principal = Depends(get_principal),
) -> dict[str, Any]:
    return await uc.set_sms(uow, ctx.cipher, principal, phone=body.phone, enabled=body.enabled)


@router.delete("/inbox/sms", status_code=204)
async def delete_sms(
    ctx: ServiceContext = Depends(get_ctx),
    uow: UnitOfWork = Depends(get_uow),
    principal: Principal = Depends(get_principal),
) -> Response:
    await uc.delete_sms(uow, ctx.cipher, principal)
    return Response(status_code=204)


@router.post("/inbox/{item_id}/read", response_model=InboxItemMarked)
async def mark_read(
    item_id: str,
    ctx: ServiceContext = Depends(get_ctx),
    uow: UnitOfWork = Depends(get_uow),
    principal: Principal = Depends(get_principal),
) -> dict[str, Any]:
    return await uc.mark_read(uow, ctx.cipher, principal, item_id)


@router.get("/reminders", response_model=ReminderPage)
async def list_reminders(
    pending: bool = Query(True, description="only reminders not fired or cancelled yet"),
    limit: int = Query(50, ge=1, le=500),
    offset: int = Query(0, ge=0, le=1_000_000_000),
    session: AsyncSession = Depends(get_session),
    principal: Principal = Depends(get_principal),
) -> dict[str, Any]:
    if principal.role not in ("province", "county", "township", "village", "admin"):
        raise Forbidden("reminders are listed for officers")
    r = reminders.c
    where: Any = sa.true()
    if principal.region:
        where = sa.and_(
            sa.func.length(r.region) >= len(principal.region),
            sa.func.substr(r.region, 1, len(principal.region)) == principal.region,
        )
    if pending:
        where = sa.and_(where, r.fired_at.is_(None), r.cancelled_at.is_(None))
    total = (await session.execute(sa.select(sa.func.count()).select_from(reminders).where(where))).scalar_one()
    rows = (
        await session.execute(sa.select(reminders).where(where).order_by(r.fire_at).limit(limit).offset(offset))
    ).all()
    return {
        "items": [dict(row._mapping, recipient_roles=list(row.recipient_roles or [])) for row in rows],
        "total": int(total),
        "limit": limit,
        "offset": offset,
    }
