"""Routes: `/api/v1/subscriptions` (webhooks for departments, Standard Webhooks signed) and
`/api/v1/deliveries/{id}/replay`."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict

from fastapi import APIRouter, Depends, Path, Query

from services.notification.adapters.context import extras_of
from services.notification.adapters.http import check_destination
from services.notification.api.schemas import (
    DeliveryPage,
    DeliveryRead,
    ReplayResult,
    SecretRotated,
    SubscriptionCreate,
    SubscriptionCreated,
    SubscriptionPage,
    SubscriptionRead,
)
from services.notification.application import subscriptions as uc
from services.notification.application.ports import Work
from services.notification.application.results import Delivery, Subscription
from services.notification.domain.ssrf import parse_allowlist
from shared.app import ServiceContext, get_ctx, get_principal, get_uow
from shared.auth import Principal

router = APIRouter(prefix="/api/v1", tags=["subscriptions"])


def _subscription(result: Subscription) -> SubscriptionRead:
    return SubscriptionRead.model_validate(result, from_attributes=True)


def _delivery(result: Delivery) -> DeliveryRead:
    return DeliveryRead.model_validate(result, from_attributes=True)


def subscription_deps(ctx: ServiceContext = Depends(get_ctx)) -> uc.SubscriptionDeps:
    allowlist = parse_allowlist(ctx.settings.webhook_allowlist)

    async def check(url: str) -> None:
        await check_destination(url, allowlist)

    def wake() -> None:
        dispatcher = extras_of(ctx).dispatcher
        if dispatcher is not None:
            dispatcher.wake()

    return uc.SubscriptionDeps(cipher=ctx.cipher, check_destination=check, wake_dispatcher=wake)


@router.post("/subscriptions", status_code=201, response_model=SubscriptionCreated)
async def create_subscription(
    body: SubscriptionCreate,
    deps: uc.SubscriptionDeps = Depends(subscription_deps),
    uow: Work = Depends(get_uow),
    principal: Principal = Depends(get_principal),
) -> SubscriptionCreated:
    cmd = uc.NewSubscription(body.url, body.event_types, body.region, body.description)
    created = await uc.create_subscription(cmd, uow, principal, deps)
    return SubscriptionCreated.model_validate(dict(asdict(created.subscription), secret=created.secret))


@router.get("/subscriptions", response_model=SubscriptionPage)
async def list_subscriptions(
    limit: int = Query(50, ge=1, le=500),
    offset: int = Query(0, ge=0, le=1_000_000_000),
    uow: Work = Depends(get_uow),
    principal: Principal = Depends(get_principal),
) -> SubscriptionPage:
    page = await uc.list_subscriptions(uc.ListSubscriptions(limit, offset), uow, principal)
    return SubscriptionPage.model_validate(page, from_attributes=True)


@router.get("/subscriptions/{sub_id}", response_model=SubscriptionRead)
async def get_subscription(
    sub_id: str, uow: Work = Depends(get_uow), principal: Principal = Depends(get_principal)
) -> SubscriptionRead:
    return _subscription(await uc.get_subscription(uow, principal, sub_id))


@router.post("/subscriptions/{sub_id}/rotate-secret", response_model=SecretRotated)
async def rotate_secret(
    sub_id: str,
    ctx: ServiceContext = Depends(get_ctx),
    deps: uc.SubscriptionDeps = Depends(subscription_deps),
    uow: Work = Depends(get_uow),
    principal: Principal = Depends(get_principal),
) -> SecretRotated:
    grace = extras_of(ctx).settings.webhook_rotation_grace_s
    rotated = await uc.rotate_secret(uc.RotateSecret(sub_id, grace), uow, principal, deps)
    return SecretRotated.model_validate(rotated, from_attributes=True)


@router.post("/subscriptions/{sub_id}/disable", response_model=SubscriptionRead)
async def disable(
    sub_id: str,
    deps: uc.SubscriptionDeps = Depends(subscription_deps),
    uow: Work = Depends(get_uow),
    principal: Principal = Depends(get_principal),
) -> SubscriptionRead:
    return _subscription(await uc.set_enabled(uc.SetEnabled(sub_id, enabled=False), uow, principal, deps))


@router.post("/subscriptions/{sub_id}/enable", response_model=SubscriptionRead)
async def enable(
    sub_id: str,
    deps: uc.SubscriptionDeps = Depends(subscription_deps),
    uow: Work = Depends(get_uow),
    principal: Principal = Depends(get_principal),
) -> SubscriptionRead:
    return _subscription(await uc.set_enabled(uc.SetEnabled(sub_id, enabled=True), uow, principal, deps))


@router.get("/subscriptions/{sub_id}/deliveries", response_model=DeliveryPage)
async def list_deliveries(
    sub_id: str,
    status: str | None = Query(None, pattern="^(pending|delivered|dead)$"),
    limit: int = Query(50, ge=1, le=500),
    offset: int = Query(0, ge=0, le=1_000_000_000),
    uow: Work = Depends(get_uow),
    principal: Principal = Depends(get_principal),
) -> DeliveryPage:
    page = await uc.list_deliveries(uc.ListDeliveries(sub_id, status, limit, offset), uow, principal)
    return DeliveryPage.model_validate(page, from_attributes=True)


@router.post("/subscriptions/{sub_id}/replay", response_model=ReplayResult)
async def replay_subscription(
    sub_id: str,
    since: dt.datetime = Query(..., description="re-send the dead-lettered deliveries queued since then"),
    include_delivered: bool = Query(False, description="also re-send what was delivered"),
    deps: uc.SubscriptionDeps = Depends(subscription_deps),
    uow: Work = Depends(get_uow),
    principal: Principal = Depends(get_principal),
) -> ReplayResult:
    since_utc = since.replace(tzinfo=dt.UTC) if since.tzinfo is None else since.astimezone(dt.UTC)
    cmd = uc.ReplaySubscription(sub_id, since=since_utc, include_delivered=include_delivered)
    return ReplayResult.model_validate(await uc.replay_subscription(cmd, uow, principal, deps), from_attributes=True)


@router.post("/deliveries/{delivery_id}/replay", response_model=DeliveryRead)
async def replay_delivery(
    delivery_id: int = Path(ge=1, le=2**63 - 1),  # beyond 64 bits reached the database: a 500
    deps: uc.SubscriptionDeps = Depends(subscription_deps),
    uow: Work = Depends(get_uow),
    principal: Principal = Depends(get_principal),
) -> DeliveryRead:
    return _delivery(await uc.replay_delivery(uc.ReplayDelivery(delivery_id), uow, principal, deps))
