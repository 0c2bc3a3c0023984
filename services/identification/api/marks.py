"""Routes: a county officer's manual red mark of a household (004 §三(二) 红色标注) —
`POST /api/v1/households/{id}/red-mark` {reason} and `DELETE` of it {reason}; county, province
and admin within their region (404 outside), kept in the household's `mark_history`."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field, field_validator

from services.identification.adapters.households import get_household
from services.identification.application.cases import actor_label
from services.identification.application.loops import loops_read, set_red_mark
from shared.app import ServiceContext, get_ctx, get_principal, get_uow
from shared.auth import Principal
from shared.db import UnitOfWork
from shared.errors import Forbidden, NotFound
from shared.pii import mask_numbers_in_text

router = APIRouter(prefix="/api/v1", tags=["households"])

_MARKERS = frozenset({"county", "province", "admin"})


class RedMarkIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=500, description="why (kept in the household's mark history)")

    @field_validator("reason")
    @classmethod
    def _not_blank(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("must not be blank")
        return v.strip()


async def _mark(
    ctx: ServiceContext, uow: UnitOfWork, principal: Principal, household_id: str, reason: str, *, mark: bool
) -> dict[str, Any]:
    if principal.role not in _MARKERS:
        raise Forbidden("only county, province and admin officers mark households red", code="role_not_allowed")
    stored = await get_household(uow.session, household_id)
    if stored is None or not principal.sees(stored.region_code):
        raise NotFound("no such household in your jurisdiction")
    changed = await set_red_mark(
        uow,
        stored,
        mark=mark,
        reason=mask_numbers_in_text(reason),
        by=actor_label(principal),
        role=principal.role,
        at=ctx.now(),
    )
    body = {"household_id": stored.id, "changed": changed, **await loops_read(uow.session, stored.id)}
    await uow.commit()
    return body


@router.post("/households/{household_id}/red-mark", summary="Mark a household red (county and above), with a reason")
async def red_mark(
    household_id: str,
    body: RedMarkIn,
    ctx: ServiceContext = Depends(get_ctx),
    uow: UnitOfWork = Depends(get_uow),
    principal: Principal = Depends(get_principal),
) -> dict[str, Any]:
    """Publishes `risk.warning_raised` with `warning: red`, `manual: true`; marking a marked
    household again changes nothing (`changed: false`, no event)."""
    return await _mark(ctx, uow, principal, household_id, body.reason, mark=True)


@router.delete("/households/{household_id}/red-mark", summary="Remove a household's red mark, with a reason")
async def red_unmark(
    household_id: str,
    body: RedMarkIn,
    ctx: ServiceContext = Depends(get_ctx),
    uow: UnitOfWork = Depends(get_uow),
    principal: Principal = Depends(get_principal),
) -> dict[str, Any]:
    """Publishes `risk.warning_cleared` with `manual: true`."""
    return await _mark(ctx, uow, principal, household_id, body.reason, mark=False)
