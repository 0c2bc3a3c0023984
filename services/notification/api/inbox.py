"""Routes: `/api/v1/inbox` (the caller's in-app messages, read marks, unread count, SMS number)
and `/api/v1/reminders` (officers and contact persons: reminders in their region)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Response

from services.notification.api.schemas import (
    InboxItemMarked,
    InboxPage,
    ReminderPage,
    SmsSettingsRead,
    SmsSettingsUpdate,
    UnreadCount,
)
from services.notification.application import inbox as uc
from services.notification.application.ports import Work
from shared.app import ServiceContext, get_ctx, get_principal, get_uow
from shared.auth import Principal

router = APIRouter(prefix="/api/v1", tags=["inbox"])


@router.get("/inbox", response_model=InboxPage)
async def list_inbox(
    unread: bool = Query(False, description="only unread items"),
    limit: int = Query(50, ge=1, le=200),
    offset: int = Query(0, ge=0, le=1_000_000_000),
    ctx: ServiceContext = Depends(get_ctx),
    uow: Work = Depends(get_uow),
    principal: Principal = Depends(get_principal),
) -> InboxPage:
    page = await uc.list_items(uc.ListInbox(unread, limit, offset), uow, ctx.cipher, principal)
    return InboxPage.model_validate(page, from_attributes=True)


@router.get("/inbox/unread-count", response_model=UnreadCount)
async def unread_count(
    ctx: ServiceContext = Depends(get_ctx),
    uow: Work = Depends(get_uow),
    principal: Principal = Depends(get_principal),
) -> UnreadCount:
    return UnreadCount(unread=await uc.unread_count(uow, ctx.cipher, principal))


@router.get("/inbox/sms", response_model=SmsSettingsRead)
async def get_sms(
    ctx: ServiceContext = Depends(get_ctx),
    uow: Work = Depends(get_uow),
    principal: Principal = Depends(get_principal),
) -> SmsSettingsRead:
    return SmsSettingsRead.model_validate(await uc.get_sms(uow, ctx.cipher, principal), from_attributes=True)


@router.put("/inbox/sms", response_model=SmsSettingsRead)
async def put_sms(
    body: SmsSettingsUpdate,
    ctx: ServiceContext = Depends(get_ctx),
    uow: Work = Depends(get_uow),
    principal: Principal = Depends(get_principal),
) -> SmsSettingsRead:
    settings = await uc.set_sms(uc.SetSms(body.phone, body.enabled), uow, ctx.cipher, principal)
    return SmsSettingsRead.model_validate(settings, from_attributes=True)


@router.delete("/inbox/sms", status_code=204)
async def delete_sms(
    ctx: ServiceContext = Depends(get_ctx),
    uow: Work = Depends(get_uow),
    principal: Principal = Depends(get_principal),
) -> Response:
    await uc.delete_sms(uow, ctx.cipher, principal)
    return Response(status_code=204)


@router.post("/inbox/{item_id}/read", response_model=InboxItemMarked)
async def mark_read(
    item_id: str,
    ctx: ServiceContext = Depends(get_ctx),
    uow: Work = Depends(get_uow),
    principal: Principal = Depends(get_principal),
) -> InboxItemMarked:
    return InboxItemMarked.model_validate(await uc.mark_read(uow, ctx.cipher, principal, item_id), from_attributes=True)


@router.get("/reminders", response_model=ReminderPage)
async def list_reminders(
    pending: bool = Query(True, description="only reminders not fired or cancelled yet"),
    limit: int = Query(50, ge=1, le=500),
    offset: int = Query(0, ge=0, le=1_000_000_000),
    uow: Work = Depends(get_uow),
    principal: Principal = Depends(get_principal),
) -> ReminderPage:
    page = await uc.list_reminders(uc.ListReminders(pending, limit, offset), uow, principal)
    return ReminderPage.model_validate(page, from_attributes=True)
