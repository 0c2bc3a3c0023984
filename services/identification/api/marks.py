"""Routes: a county officer's manual red mark of a household (004 §三(二) 红色标注) —
`POST /api/v1/households/{id}/red-mark` {reason} and `DELETE` of it {reason}; county, province
and admin within their region (404 outside), kept in the household's `mark_history`."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field, field_validator

from services.identification.adapters.unit_of_work import IdentificationUnitOfWork
from services.identification.api.deps import get_work
from services.identification.api.monitoring_schemas import loops_body
from services.identification.application.loops import MarkRed, RedMarkChanged, mark_red
from shared.app import ServiceContext, get_ctx, get_principal
from shared.auth import Principal

router = APIRouter(prefix="/api/v1", tags=["households"])


def _changed_body(result: RedMarkChanged) -> dict[str, Any]:
    return {"household_id": result.household_id, "changed": result.changed, **loops_body(result.loops)}


class RedMarkIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=500, description="why (kept in the household's mark history)")

    @field_validator("reason")
    @classmethod
    def _not_blank(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("must not be blank")
        return v.strip()


@router.post("/households/{household_id}/red-mark", summary="Mark a household red (county and above), with a reason")
async def red_mark(
    household_id: str,
    body: RedMarkIn,
    ctx: ServiceContext = Depends(get_ctx),
    uow: IdentificationUnitOfWork = Depends(get_work),
    principal: Principal = Depends(get_principal),
) -> dict[str, Any]:
    """Publishes `risk.warning_raised` with `warning: red`, `manual: true`; marking a marked
    household again changes nothing (`changed: false`, no event)."""
    return _changed_body(await mark_red(ctx, uow, principal, MarkRed(household_id, body.reason, mark=True)))


@router.delete("/households/{household_id}/red-mark", summary="Remove a household's red mark, with a reason")
async def red_unmark(
    household_id: str,
    body: RedMarkIn,
    ctx: ServiceContext = Depends(get_ctx),
    uow: IdentificationUnitOfWork = Depends(get_work),
    principal: Principal = Depends(get_principal),
) -> dict[str, Any]:
    """Publishes `risk.warning_cleared` with `manual: true`."""
    return _changed_body(await mark_red(ctx, uow, principal, MarkRed(household_id, body.reason, mark=False)))
