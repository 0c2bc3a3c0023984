"""Routes: `POST /subsidies/calculate` (one) and `POST /subsidies/calculate:batch` (up to 100,000,
JSON array or NDJSON, read and answered as streams)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Depends, Request
from starlette.requests import ClientDisconnect
from starlette.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from services.subsidy.application.calculation import (
    BatchCalculator,
    CalculateSubsidy,
    calculate_subsidy,
    iter_json_array,
    iter_ndjson,
)
from services.subsidy.application.decisions import RECORDER_ROLES
from services.subsidy.application.ports import Work
from shared.app import get_principal, get_uow, request_body
from shared.auth import Principal
from shared.errors import Forbidden

from .schemas import SubsidyCalculate, body_schema, read_body

__all__ = ["make_router", "require_officer"]

NDJSON = "application/x-ndjson"


def require_officer(principal: Principal) -> Principal:
    if principal.role not in RECORDER_ROLES:
        raise Forbidden("subsidies are for officers, departments and administrators")
    return principal


def _batch_body() -> dict[str, Any]:
    one = SubsidyCalculate.model_json_schema()
    items = {k: v for k, v in one.items() if k != "$defs"}
    extra = request_body({"type": "array", "items": items, "$defs": one.get("$defs", {})})
    extra["requestBody"]["content"][NDJSON] = {
        "schema": {"type": "string", "description": "one calculation object per line"}
    }
    return extra


_BATCH_BODY = _batch_body()

#: who may work out one subsidy: the recorders, and a household's contact person (帮扶联系人), who
#: tells the family what it may claim (a calculation records nothing; their region still applies)
CALCULATOR_ROLES = RECORDER_ROLES | {"contact"}


class _BodyStreamingResponse(StreamingResponse):
    """A streaming response whose generator reads the request body while it answers. Starlette's
    own one listens for a disconnect on `receive` at the same time, which would swallow body
    chunks; a disconnect surfaces here as `ClientDisconnect` from `request.stream()` instead."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.stream_response(send)


async def _spooled(source: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    """Run `source` (which reads the request body) in its own task, spooling its output to a
    temporary file that is sent as it grows. Most HTTP clients send the whole body before they
    read the response: if writing the response could block reading the body, a large batch would
    deadlock once the socket buffers fill. The spool keeps memory flat whatever the client does."""
    with tempfile.TemporaryFile() as spool:
        fd = spool.fileno()
        state = {"written": 0, "done": False}
        grown = asyncio.Event()
        failure: list[BaseException] = []

        async def produce() -> None:
            try:
                async for chunk in source:
                    os.write(fd, chunk)
                    state["written"] += len(chunk)
                    grown.set()
            except BaseException as exc:  # the sender re-raises it
                failure.append(exc)
            finally:
                state["done"] = True
                grown.set()

        task = asyncio.create_task(produce())
        offset = 0
        try:
            while True:
                grown.clear()
                if offset < state["written"]:
                    data = os.pread(fd, min(state["written"] - offset, 1 << 20), offset)
                    offset += len(data)
                    yield data
                elif state["done"]:
                    break
                else:
                    await grown.wait()
            if failure and not isinstance(failure[0], ClientDisconnect):
                raise failure[0]
        finally:
            task.cancel()
            with contextlib.suppress(BaseException):
                await task


def make_router() -> APIRouter:
    router = APIRouter(prefix="/api/v1/subsidies", tags=["subsidies"])

    @router.post(
        "/calculate",
        summary="Calculate one subsidy under the policy in force (stateless)",
        openapi_extra=body_schema(SubsidyCalculate),
    )
    async def calculate_one(
        request: Request,
        principal: Principal = Depends(get_principal),
        uow: Work = Depends(get_uow),
    ) -> dict[str, Any]:
        if principal.role not in CALCULATOR_ROLES:
            raise Forbidden("subsidy calculations are for officers, contact persons, departments and administrators")
        body, _ = await read_body(request, SubsidyCalculate)
        cmd = CalculateSubsidy(kind=body.kind, region_code=body.region_code, as_of=body.as_of, inputs=body.inputs)
        return (await calculate_subsidy(cmd, uow, principal)).as_dict()

    @router.post(
        "/calculate:batch",
        summary="Calculate many (JSON array or NDJSON; streamed in and out, results in order)",
        response_class=StreamingResponse,
        openapi_extra=_BATCH_BODY,
    )
    async def calculate_batch(
        request: Request,
        principal: Principal = Depends(get_principal),
        uow: Work = Depends(get_uow),
    ) -> StreamingResponse:
        require_officer(principal)
        versions = await uow.policy_versions()
        await uow.rollback()  # release the connection before the long stream
        ndjson = request.headers.get("content-type", "").split(";")[0].strip().lower() == NDJSON
        calc = BatchCalculator(versions, principal.sees)
        chunks: AsyncIterator[bytes] = request.stream()
        items = iter_ndjson(chunks) if ndjson else iter_json_array(chunks)
        return _BodyStreamingResponse(
            _spooled(calc.stream(items, ndjson=ndjson)),
            media_type=NDJSON if ndjson else "application/json",
        )

    return router
