"""Request schemas of the subsidy API (unknown fields refused) and the body reader that keeps
JSON numbers with a fraction as `Decimal` — a float never reaches money."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any, TypeVar

from fastapi import Request
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from shared.app import request_body
from shared.errors import FieldError, Unprocessable
from shared.pii import MaskedText

__all__ = [
    "DecisionCreate",
    "DecisionReject",
    "DecisionStep",
    "SubsidyCalculate",
    "body_schema",
    "read_body",
]

REGION_PATTERN = r"^\d{2}(\d{2}(\d{2}(\d{3}(\d{3})?)?)?)?$"
_M = TypeVar("_M", bound=BaseModel)


class SubsidyCalculate(BaseModel):
    """One calculation: the kind, where and when (the policy in force there and then), the inputs."""

    model_config = ConfigDict(extra="forbid")

    kind: str = Field(description="one of the fourteen kinds (docs/subsidy.md)", examples=["public_welfare_post"])
    region_code: str = Field(pattern=REGION_PATTERN, examples=["341221"])
    as_of: dt.date = Field(examples=["2020-06-01"])
    inputs: dict[str, Any] = Field(examples=[{"annual_wage": "6000.00"}])


class DecisionCreate(SubsidyCalculate):
    """A decision to record: a calculation plus the household it is for (optional) and a note."""

    household_id: str | None = Field(default=None, max_length=64, description="opaque household id")
    note: MaskedText | None = Field(default=None, max_length=2000)


class DecisionStep(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: MaskedText | None = Field(default=None, max_length=2000)


class DecisionReject(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: MaskedText = Field(min_length=1, max_length=2000)


def body_schema(model: type[BaseModel]) -> dict[str, Any]:
    """`openapi_extra` for a route that reads its body with `read_body`."""
    return request_body(model.model_json_schema())


def _errors(exc: ValidationError) -> list[FieldError]:
    return [
        FieldError(".".join(str(p) for p in e.get("loc", ())) or "body", e.get("msg", ""), e.get("type", "invalid"))
        for e in exc.errors()
    ]


def parse_model(model: type[_M], data: Any) -> _M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors = _errors(exc)
        detail = "; ".join(f"{e['path']}: {e['message']}" for e in errors[:5])
        raise Unprocessable(detail or "invalid request", errors=errors) from None


async def read_body(request: Request, model: type[_M]) -> tuple[_M, Any]:
    """The validated model and the decoded JSON (numbers with a fraction as Decimal)."""
    raw = await request.body()
    try:
        data = json.loads(raw or b"null", parse_float=Decimal)
    except RecursionError:
        raise Unprocessable(
            "the body nests too deeply", code="json_too_deep", errors=[FieldError("body", "nested too deeply")]
        ) from None
    except ValueError as exc:
        raise Unprocessable(
            f"the body is not JSON: {str(exc)[:200]}", code="invalid_json", errors=[FieldError("body", "not JSON")]
        ) from None
    return parse_model(model, data), data
