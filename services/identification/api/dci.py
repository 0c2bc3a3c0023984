"""Routes of the DCI Social Registry API (spdci/standards social_api / registry_core v1.0.0)
under `/api/v1/registry`: search (async and sync), subscribe, unsubscribe, transaction status
(async and sync), fangfan's JWKS, and the partners an admin registers. Bodies are the spec's
signed envelopes, read as JSON and checked by the use cases (docs/registry.md)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from services.identification.adapters.unit_of_work import IdentificationUnitOfWork
from services.identification.api.deps import get_work
from services.identification.application import dci as uc
from services.identification.domain.dci import DciRefusal
from shared.app import ServiceContext, get_ctx, get_principal
from shared.auth import Principal

router = APIRouter(prefix="/api/v1/registry", tags=["registry (DCI)"])

_NO_STORE = {"Cache-Control": "no-store"}

#: The envelope every DCI request is (documentation; the spec's schemas are checked in the tests).
_ENVELOPE = {
    "type": "object",
    "required": ["header", "message"],
    "properties": {
        "signature": {
            "type": "string",
            "description": "detached JWS (RFC 7515 app. F, RFC 7797) over {header, message}",
        },
        "header": {
            "type": "object",
            "required": ["message_id", "message_ts", "action", "sender_id", "total_count"],
            "properties": {
                "version": {"type": "string", "default": "1.0.0"},
                "message_id": {"type": "string"},
                "message_ts": {"type": "string", "format": "date-time"},
                "action": {"type": "string"},
                "sender_id": {"type": "string"},
                "sender_uri": {"type": "string", "format": "uri"},
                "receiver_id": {"type": "string"},
                "total_count": {"type": "integer"},
                "is_msg_encrypted": {"type": "boolean", "default": False},
                "meta": {"type": "object"},
            },
        },
        "message": {
            "type": "object",
            "description": "SearchRequest | SubscribeRequest | UnSubscribeRequest | TxnStatusRequest",
        },
    },
}
_BODY = {"requestBody": {"required": True, "content": {"application/json": {"schema": _ENVELOPE}}}}
_ACK = {
    "description": "ACK (the answer follows as a callback to header.sender_uri) or ERR with the spec's error code",
    "content": {"application/json": {"schema": {"type": "object"}}},
}
_REFUSED: dict[int | str, dict[str, Any]] = {
    400: {"description": "ERR: err.request.bad, err.sender_uri.invalid, err.version.not_supported, ..."},
    401: {"description": "ERR: err.signature.missing, err.signature.invalid"},
    403: {"description": "ERR: err.sender_id.invalid, err.request.forbidden"},
}


async def _json(request: Request) -> Any:
    try:
        return json.loads(await request.body())
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise DciRefusal("err.request.bad", "the body is not JSON") from None


def _ts(at: dt.datetime) -> str:
    return at.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def _ack_body(ack: uc.Acknowledged) -> dict[str, Any]:
    """The spec's `Response`: the message was valid and its answer will come as a callback."""
    return {"message": {"ack_status": "ACK", "timestamp": _ts(ack.at), "correlation_id": ack.correlation_id}}


def _signed_body(signed: uc.SignedMessage) -> dict[str, Any]:
    return {"signature": signed.signature, "header": signed.header, "message": signed.message}


def _error_body(refusal: DciRefusal, at: dt.datetime, correlation_id: str = "") -> dict[str, Any]:
    """A refused message: the spec's `Response` with ack_status ERR and `Error` {code, message},
    its `HttpErrorResponse` `errors`, and the problem+json members the rest of the API carries."""
    error = {"code": refusal.code, "message": refusal.message[:999]}
    return {
        "type": "https://fangfan.example/problems/" + refusal.code,
        "title": "DCI message refused",
        "status": refusal.status,
        "code": refusal.code,
        "detail": refusal.message,
        "errors": [error],
        "message": {"ack_status": "ERR", "timestamp": _ts(at), "error": error, "correlation_id": correlation_id},
    }


def _partner_body(p: uc.PartnerView) -> dict[str, Any]:
    return {
        "sender_id": p.sender_id,
        "name": p.name,
        "client_sub": p.client_sub,
        "kids": p.kids,
        "created_at": p.created_at.isoformat(),
        "updated_at": p.updated_at.isoformat(),
    }


async def _answer(
    ctx: ServiceContext,
    request: Request,
    call: Callable[[Any], Awaitable[uc.Acknowledged | uc.SignedMessage]],
    status: int,
) -> JSONResponse:
    try:
        result = await call(await _json(request))
    except DciRefusal as refusal:
        return JSONResponse(_error_body(refusal, ctx.now()), status_code=refusal.status, headers=_NO_STORE)
    body = _ack_body(result) if isinstance(result, uc.Acknowledged) else _signed_body(result)
    return JSONResponse(body, status_code=status, headers=_NO_STORE)


@router.post("/search", summary="DCI search, async: ACK now, results POSTed to sender_uri (on-search)",
             openapi_extra=_BODY, status_code=202, responses={202: _ACK, **_REFUSED})  # fmt: skip
async def search(
    request: Request, ctx: ServiceContext = Depends(get_ctx), principal: Principal = Depends(get_principal)
) -> JSONResponse:
    return await _answer(ctx, request, lambda b: uc.accept_search(ctx, uc.DciCall("search", b, principal)), 202)


@router.post("/sync/search", summary="DCI search, sync: the signed on-search envelope with the records",
             openapi_extra=_BODY, responses=_REFUSED)  # fmt: skip
async def sync_search(
    request: Request, ctx: ServiceContext = Depends(get_ctx), principal: Principal = Depends(get_principal)
) -> JSONResponse:
    return await _answer(ctx, request, lambda b: uc.sync_search(ctx, uc.DciCall("search", b, principal)), 200)


@router.post("/subscribe", summary="DCI subscribe to enrolment/exit events: ACK, then on-subscribe; notify later",
             openapi_extra=_BODY, status_code=202, responses={202: _ACK, **_REFUSED})  # fmt: skip
async def subscribe(
    request: Request, ctx: ServiceContext = Depends(get_ctx), principal: Principal = Depends(get_principal)
) -> JSONResponse:
    return await _answer(ctx, request, lambda b: uc.subscribe(ctx, uc.DciCall("subscribe", b, principal)), 202)


@router.post("/unsubscribe", summary="DCI unsubscribe by subscription codes: ACK, then on-unsubscribe",
             openapi_extra=_BODY, status_code=202, responses={202: _ACK, **_REFUSED})  # fmt: skip
async def unsubscribe(
    request: Request, ctx: ServiceContext = Depends(get_ctx), principal: Principal = Depends(get_principal)
) -> JSONResponse:
    return await _answer(ctx, request, lambda b: uc.unsubscribe(ctx, uc.DciCall("unsubscribe", b, principal)), 202)


@router.post("/txn/status", summary="DCI transaction status, async: ACK, then txn-on-status to sender_uri",
             openapi_extra=_BODY, status_code=202, responses={202: _ACK, **_REFUSED})  # fmt: skip
async def txn_status(
    request: Request, ctx: ServiceContext = Depends(get_ctx), principal: Principal = Depends(get_principal)
) -> JSONResponse:
    return await _answer(
        ctx, request, lambda b: uc.txn_status(ctx, uc.DciCall("txn-status", b, principal), sync=False), 202
    )


@router.post("/sync/txn/status", summary="DCI transaction status, sync: the signed txn-on-status envelope",
             openapi_extra=_BODY, responses=_REFUSED)  # fmt: skip
async def sync_txn_status(
    request: Request, ctx: ServiceContext = Depends(get_ctx), principal: Principal = Depends(get_principal)
) -> JSONResponse:
    return await _answer(
        ctx, request, lambda b: uc.txn_status(ctx, uc.DciCall("txn-status", b, principal), sync=True), 200
    )


@router.get("/.well-known/jwks.json", summary="fangfan's public keys for the signatures of its DCI messages")
async def jwks(ctx: ServiceContext = Depends(get_ctx)) -> JSONResponse:
    return JSONResponse({"keys": uc.jwks(ctx).keys}, headers={"Cache-Control": "public, max-age=300"})


class PartnerCreate(BaseModel):
    """A registry partner: its DCI sender_id, the bearer `sub` it calls with, its public JWKS."""

    model_config = ConfigDict(extra="forbid")

    sender_id: str = Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._:@-]+$")
    name: str = Field(min_length=1, max_length=200)
    client_sub: str = Field(min_length=1, max_length=200)
    jwks: dict[str, Any] = Field(
        description="JWKS {keys: [...]}: public EdDSA, ES256/384, RS256 or PS256 keys, each with kid"
    )


@router.post("/partners", summary="Register a DCI partner (or replace its keys); admin", status_code=201)
async def register_partner(
    body: PartnerCreate,
    ctx: ServiceContext = Depends(get_ctx),
    uow: IdentificationUnitOfWork = Depends(get_work),
    principal: Principal = Depends(get_principal),
) -> dict[str, Any]:
    cmd = uc.PartnerRegistration(body.sender_id, body.name, body.client_sub, body.jwks)
    return _partner_body(await uc.register_partner(ctx, uow, principal, cmd))


@router.get("/partners", summary="The registered DCI partners; admin")
async def list_partners(
    ctx: ServiceContext = Depends(get_ctx), principal: Principal = Depends(get_principal)
) -> dict[str, Any]:
    return {"items": [_partner_body(p) for p in await uc.list_partners(ctx, principal)]}
