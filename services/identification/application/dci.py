"""Use cases of the DCI Social Registry API (issue #18): open and check a signed envelope, search
(sync, and async with the `on-search` callback), subscribe / unsubscribe with their callbacks,
notifications of enrolment and exit events, transaction status, partners and our JWKS.

Every message is checked in this order: the caller's role, the envelope (domain.dci), the
partner (`sender_id` registered, spoken for by this bearer subject), its signature (JWS against
the partner's JWKS). Replies and callbacks are signed with fangfan's key. Jurisdiction is the
bearer's `region`: households outside it are not found. Personal data (members, ID numbers,
names, phones) only with the data subjects' consent in the criteria, in clear only for the
roles that may see it (domain.dci.REVEAL_ROLES); never in events or logs (callbacks wait
encrypted in `dci_outbound`)."""

from __future__ import annotations

import datetime as dt
import json
import logging
import uuid
from dataclasses import dataclass
from typing import Any

from services.identification.application.context import extras
from services.identification.application.ports import DciRepository, Work, open_work
from services.identification.application.stored import Partner, Transaction
from services.identification.domain.dci import (
    DCI_VERSION,
    MAX_BATCH,
    REG_TYPE,
    REVEAL_ROLES,
    ROLES,
    DciRefusal,
    ItemRejected,
    check_envelope,
    has_consent,
    household_record,
    mapping_for,
    notify_uri_for,
    parse_search_criteria,
    parse_subscribe_criteria,
    plain_text,
    subscription_codes,
)
from shared.app import ServiceContext
from shared.auth import Principal
from shared.consumer import PoisonEvent, household_and_village
from shared.errors import FieldError, Forbidden, Unprocessable
from shared.events import Event
from shared.identifiers import region_within, validate_id_number
from shared.pii import mask_numbers_in_value

__all__ = [
    "Acknowledged",
    "DciCall",
    "Jwks",
    "PartnerRegistration",
    "PartnerView",
    "SignedMessage",
    "accept_search",
    "deliver_outbound",
    "jwks",
    "list_partners",
    "notify_subscribers",
    "process_search",
    "register_partner",
    "subscribe",
    "sync_search",
    "txn_status",
    "unsubscribe",
]

log = logging.getLogger("fangfan.identification.dci")
_REQUEST_CONTEXT = b"dci-request"
_OUTBOUND_CONTEXT = b"dci-outbound"
#: notifications: message id = uuid5(this, "<event id>:<subscription code>") — one per pair
_NOTIFY_NS = uuid.UUID("6f1c2a3e-7d41-4b8e-9a51-0d2f3c4b5a69")
_TXN_KINDS = {"search": "search", "subscribe": "subscribe", "subscibe": "subscribe", "unsubscribe": "unsubscribe"}


@dataclass(frozen=True, slots=True)
class DciCall:
    """One DCI message received: the endpoint's action, the raw JSON body and the caller."""

    action: str
    body: Any
    principal: Principal


@dataclass(frozen=True, slots=True)
class PartnerRegistration:
    sender_id: str
    name: str
    client_sub: str
    jwks: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Acknowledged:
    """The message was valid and its answer will come as a callback (the spec's ACK `Response`)."""

    correlation_id: str
    at: dt.datetime


@dataclass(frozen=True, slots=True)
class SignedMessage:
    """A reply signed with fangfan's key: the spec's header and message documents and the
    detached JWS over them (`signature`)."""

    signature: str
    header: dict[str, Any]
    message: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Jwks:
    """fangfan's public signing keys (a JWKS's `keys`)."""

    keys: list[dict[str, Any]]


@dataclass(frozen=True, slots=True)
class PartnerView:
    """A registered partner as an admin sees it: the kids of its keys, not the keys."""

    sender_id: str
    name: str
    client_sub: str
    kids: list[str | None]
    created_at: dt.datetime
    updated_at: dt.datetime


@dataclass(frozen=True, slots=True)
class _Envelope:
    header: dict[str, Any]
    message: dict[str, Any]
    partner: Partner
    principal: Principal

    @property
    def sender_id(self) -> str:
        return self.partner.sender_id


def _ts(at: dt.datetime) -> str:
    return at.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def _new_id() -> str:
    return str(uuid.uuid4())


def _callback_header(
    action: str, *, sender_id: str, message_id: str, receiver_id: str, at: dt.datetime, count: int, status: str
) -> dict[str, Any]:
    """A header valid both as MsgCallbackHeader_V1.0.0 (status) and MsgHeader_V1.0.0 (sender_id,
    total_count): on-subscribe / on-unsubscribe are declared with the latter in registry core."""
    return {
        "version": DCI_VERSION,
        "message_id": message_id,
        "message_ts": _ts(at),
        "action": action,
        "status": status,
        "total_count": count,
        "completed_count": count,
        "sender_id": sender_id,
        "receiver_id": receiver_id,
        "is_msg_encrypted": False,
    }


def _signed(ctx: ServiceContext, header: dict[str, Any], message: dict[str, Any]) -> SignedMessage:
    return SignedMessage(extras(ctx).dci_keys.sign(ctx.settings, header, message), header, message)


def _envelope_of(signed: SignedMessage) -> dict[str, Any]:
    """The envelope a signed message is sent as: {signature, header, message}."""
    return {"signature": signed.signature, "header": signed.header, "message": signed.message}


def jwks(ctx: ServiceContext) -> Jwks:
    """fangfan's public signing keys, for partners to verify our replies and callbacks."""
    return Jwks(list(extras(ctx).dci_keys.public_jwks(ctx.settings)["keys"]))


# --- opening a message ----------------------------------------------------------------------------


async def _open(ctx: ServiceContext, call: DciCall) -> _Envelope:
    if call.principal.role not in ROLES:
        raise DciRefusal(
            "err.request.forbidden", "the DCI registry API is for province, county, department and admin systems", 403
        )
    keys = extras(ctx).dci_keys
    header, message = check_envelope(call.body, action=call.action, receiver_id=keys.sender_id(), now=ctx.now())
    async with open_work(ctx) as uow:
        partner = await uow.dci.get_partner(header["sender_id"])
    if partner is None or partner.client_sub != call.principal.sub:
        raise DciRefusal("err.sender_id.invalid", "sender_id is not a partner registered for this client", 403)
    keys.verify(call.body.get("signature"), header, message, partner.jwks)
    return _Envelope(header, message, partner, call.principal)


def _transaction_id(message: dict[str, Any]) -> str:
    tid = message.get("transaction_id")
    if not plain_text(tid):
        raise DciRefusal("err.request.bad", "message.transaction_id is required (a string of at most 99 characters)")
    return tid


def _batch(message: dict[str, Any], name: str, criteria: str) -> list[dict[str, Any]]:
    items = message.get(name)
    if not isinstance(items, list) or not items:
        raise DciRefusal("err.request.bad", f"message.{name} is required (a non-empty list)")
    if len(items) > MAX_BATCH:
        raise DciRefusal("err.request.bad", f"at most {MAX_BATCH} items in message.{name}")
    for i, it in enumerate(items):
        if not isinstance(it, dict) or not plain_text(it.get("reference_id")):
            raise DciRefusal("err.request.bad", f"message.{name}[{i}].reference_id is required")
        if not isinstance(it.get("timestamp"), str) or not isinstance(it.get(criteria), dict):
            raise DciRefusal("err.request.bad", f"message.{name}[{i}] needs timestamp and {criteria}")
    refs = [it["reference_id"] for it in items]
    if len(set(refs)) != len(refs):
        raise DciRefusal("err.request.bad", f"reference_id values repeat in message.{name}")
    return items


async def _callback_url(ctx: ServiceContext, header: dict[str, Any]) -> str:
    url = header.get("sender_uri")
    await extras(ctx).dci_transport.check_destination(url, ctx.settings.webhook_allowlist)  # type: ignore[arg-type]
    return str(url)


async def _queue(
    ctx: ServiceContext,
    uow: Work,
    *,
    action: str,
    receiver_id: str,
    url: str,
    message: dict[str, Any],
    region: str,
    outbound_id: str | None = None,
    event_id: str | None = None,
    subscription_code: str | None = None,
) -> bool:
    """Queue a message to POST (encrypted at rest) and its relay event, in this transaction."""
    oid = outbound_id or _new_id()
    queued = await uow.dci.queue_outbound(
        id=oid,
        action=action,
        receiver_id=receiver_id,
        url=url,
        message_enc=ctx.cipher.encrypt(json.dumps(message, ensure_ascii=False), context=_OUTBOUND_CONTEXT),
        event_id=event_id,
        subscription_code=subscription_code,
        created_at=ctx.now(),
    )
    if queued:
        uow.add_event(
            Event("dci", "callback_queued", oid, _event_region(region), {"outbound_id": oid, "action": action})
        )
    return queued


def _event_region(region: str) -> str:
    """Events need a region code; an admin's nationwide scope ("") is written `00`."""
    return region or "00"


# --- search ---------------------------------------------------------------------------------------


def _narrower(scope: str, wanted: str | None) -> str | None:
    """The caller's region narrowed to the criteria's region; None when they do not meet."""
    if not wanted:
        return scope
    if region_within(wanted, scope):
        return wanted
    if region_within(scope, wanted):
        return scope
    return None


def _rejected(reference_id: str, at: dt.datetime, rejection: ItemRejected) -> dict[str, Any]:
    return {
        "reference_id": reference_id,
        "timestamp": _ts(at),
        "status": "rjct",
        "status_reason_code": rejection.code,
        "status_reason_message": rejection.message,
    }


async def _search_item(ctx: ServiceContext, uow: Work, principal: Principal, item: dict[str, Any]) -> dict[str, Any]:
    """One `search_request` item → its `search_response` item (SearchResponse)."""
    at = ctx.now()
    ref, criteria = item["reference_id"], item["search_criteria"]
    parsed = parse_search_criteria(criteria)
    if isinstance(parsed, ItemRejected):
        return _rejected(ref, at, parsed)
    consent = has_consent(criteria)
    if parsed.personal and not consent:
        return _rejected(
            ref,
            at,
            ItemRejected(
                "rjct.search_criteria.invalid",
                "a search by a person's identifier needs the data subject's consent "
                "(search_criteria.consent {ts, purpose})",
            ),
        )
    index = None
    if parsed.id_number is not None:
        try:
            index = ctx.cipher.blind_index(validate_id_number(parsed.id_number))
        except ValueError:
            return _rejected(
                ref, at, ItemRejected("rjct.search_criteria.invalid", "the UIN is not a valid resident ID number")
            )
    region = _narrower(principal.region, parsed.region)
    repo = uow.dci
    total, ids = (
        (0, []) if region is None else await repo.search_households(region=region, query=parsed, id_number_index=index)
    )
    reveal = consent and principal.role in REVEAL_ROLES
    views = await repo.household_views(ids, cipher=ctx.cipher if consent else None, reveal=reveal)
    out: dict[str, Any] = {
        "reference_id": ref,
        "timestamp": _ts(at),
        "status": "succ",
        "data": {
            "version": DCI_VERSION,
            "reg_records": [household_record(v, personal=consent, reveal=reveal) for v in views],
        },
        "pagination": {"page_size": parsed.page_size, "page_number": parsed.page_number, "total_count": total},
    }
    if isinstance(item.get("locale"), str):
        out["locale"] = item["locale"]
    return out


def _summary_item(item: dict[str, Any]) -> dict[str, Any]:
    """What a status look-up tells later: no records."""
    return {k: v for k, v in item.items() if k != "data"}


def _overall(items: list[dict[str, Any]]) -> str:
    return "rjct" if all(i["status"] == "rjct" for i in items) else "succ"


async def sync_search(ctx: ServiceContext, call: DciCall) -> SignedMessage:
    """`POST /registry/sync/search`: the signed `on-search` envelope with the results."""
    env = await _open(ctx, call)
    tid = _transaction_id(env.message)
    items = _batch(env.message, "search_request", "search_criteria")
    async with open_work(ctx) as uow:
        answers = [await _search_item(ctx, uow, env.principal, it) for it in items]
        repo = uow.dci
        previous = await repo.find_transaction(env.sender_id, "search", tid)
        cid = previous.id if previous else _new_id()
        summary = {"transaction_id": tid, "items": [_summary_item(a) for a in answers]}
        if previous is None:
            await _add_txn(ctx, repo, env, cid, tid, "search", _overall(answers), summary)
        else:
            await repo.finish_transaction(cid, status=_overall(answers), summary=summary, at=ctx.now())
        await uow.commit()
    message = {"transaction_id": tid, "correlation_id": cid, "search_response": answers}
    header = _callback_header(
        "on-search",
        sender_id=extras(ctx).dci_keys.sender_id(),
        message_id=_new_id(),
        receiver_id=env.sender_id,
        at=ctx.now(),
        count=len(answers),
        status=_overall(answers),
    )
    return _signed(ctx, header, message)


async def _add_txn(
    ctx: ServiceContext,
    repo: DciRepository,
    env: _Envelope,
    cid: str,
    tid: str,
    kind: str,
    status: str,
    summary: dict[str, Any],
    *,
    sender_uri: str | None = None,
    request_enc: bytes | None = None,
) -> None:
    await repo.add_transaction(
        id=cid,
        sender_id=env.sender_id,
        transaction_id=tid,
        kind=kind,
        status=status,
        caller_sub=env.principal.sub,
        caller_role=env.principal.role,
        caller_region=env.principal.region,
        sender_uri=sender_uri,
        request_enc=request_enc,
        summary=summary,
        created_at=ctx.now(),
    )


async def accept_search(ctx: ServiceContext, call: DciCall) -> Acknowledged:
    """`POST /registry/search`: ACK now; the results go to the sender's `sender_uri` as an
    `on-search` callback. The same transaction_id again answers the same correlation_id."""
    env = await _open(ctx, call)
    tid = _transaction_id(env.message)
    _batch(env.message, "search_request", "search_criteria")
    url = await _callback_url(ctx, env.header)
    async with open_work(ctx) as uow:
        repo = uow.dci
        previous = await repo.find_transaction(env.sender_id, "search", tid)
        if previous is not None:
            return Acknowledged(previous.id, ctx.now())
        cid = _new_id()
        request = ctx.cipher.encrypt(json.dumps(env.message, ensure_ascii=False), context=_REQUEST_CONTEXT)
        await _add_txn(
            ctx,
            repo,
            env,
            cid,
            tid,
            "search",
            "pdng",
            {"transaction_id": tid, "items": []},
            sender_uri=url,
            request_enc=request,
        )
        uow.add_event(
            Event(
                "dci",
                "search_requested",
                cid,
                _event_region(env.principal.region),
                {"correlation_id": cid, "sender_id": env.sender_id},
            )
        )
        await uow.commit()
    return Acknowledged(cid, ctx.now())


async def process_search(ctx: ServiceContext, uow: Work, ev: Event) -> None:
    """Consumer of `dci.search_requested`: run the stored search with the caller's authority
    and queue the `on-search` callback; the stored request is dropped."""
    repo = uow.dci
    txn = await repo.get_transaction(ev.subject)
    if txn is None:
        raise PoisonEvent(f"{ev.id}: no DCI transaction {ev.subject}")
    if txn.status != "pdng" or txn.request_enc is None or txn.sender_uri is None:
        return
    message = json.loads(ctx.cipher.decrypt(txn.request_enc, context=_REQUEST_CONTEXT))
    principal = Principal(sub=txn.caller_sub, role=txn.caller_role, region=txn.caller_region, via="dci")
    answers = [await _search_item(ctx, uow, principal, it) for it in message["search_request"]]
    summary = {"transaction_id": txn.transaction_id, "items": [_summary_item(a) for a in answers]}
    await repo.finish_transaction(txn.id, status=_overall(answers), summary=summary, at=ctx.now())
    response = {"transaction_id": txn.transaction_id, "correlation_id": txn.id, "search_response": answers}
    await _queue(
        ctx,
        uow,
        action="on-search",
        receiver_id=txn.sender_id,
        url=txn.sender_uri,
        message=response,
        region=txn.caller_region,
    )


# --- subscriptions --------------------------------------------------------------------------------


def _subscription_info(
    code: str, at: dt.datetime, reg_event_type: str, region: str, criteria: dict[str, Any]
) -> dict[str, Any]:
    return {
        "version": DCI_VERSION,
        "code": code,
        "subscription_code": code,
        "status": "subscribe",
        "timestamp": _ts(at),
        "reg_type": REG_TYPE,
        "reg_event_type": reg_event_type,
        "filter_type": "predicate",
        "filter": [
            {
                "seq_num": 1,
                "expression1": {"attribute_name": "region_code", "operator": "eq", "attribute_value": region},
            }
        ],
        "notify_record_type": "Household",
        "subscribe_criteria": criteria,
    }


async def subscribe(ctx: ServiceContext, call: DciCall) -> Acknowledged:
    """`POST /registry/subscribe`: ACK; each `subscribe_request` item becomes a subscription (or
    is rejected with its reason) and the `on-subscribe` callback carries their codes.
    Notifications go to the `notify` endpoint beside the sender_uri."""
    env = await _open(ctx, call)
    tid = _transaction_id(env.message)
    items = _batch(env.message, "subscribe_request", "subscribe_criteria")
    url = await _callback_url(ctx, env.header)
    notify_uri = notify_uri_for(url)
    await extras(ctx).dci_transport.check_destination(notify_uri, ctx.settings.webhook_allowlist)
    async with open_work(ctx) as uow:
        repo = uow.dci
        previous = await repo.find_transaction(env.sender_id, "subscribe", tid)
        if previous is not None:
            return Acknowledged(previous.id, ctx.now())
        cid, at, answers = _new_id(), ctx.now(), []
        for it in items:
            parsed = parse_subscribe_criteria(it["subscribe_criteria"], caller_region=env.principal.region)
            criteria = mask_numbers_in_value(it["subscribe_criteria"])  # kept and echoed: no clear numbers
            if isinstance(parsed, ItemRejected):
                answers.append(_rejected(it["reference_id"], at, parsed))
                continue
            existing = await repo.active_subscription(env.sender_id, parsed.reg_event_type, parsed.region)
            if existing is not None:
                answer = _rejected(
                    it["reference_id"], at, ItemRejected("rjct.event.already_subscribed", "already subscribed")
                )
                answer["subscriptions"] = [
                    _subscription_info(existing, at, parsed.reg_event_type, parsed.region, criteria)
                ]
                answers.append(answer)
                continue
            code = _new_id()
            await repo.add_subscription(
                code=code,
                sender_id=env.sender_id,
                owner_sub=env.principal.sub,
                owner_role=env.principal.role,
                owner_region=env.principal.region,
                region=parsed.region,
                reg_event_type=parsed.reg_event_type,
                notify_record_type=parsed.notify_record_type,
                notify_uri=notify_uri,
                criteria=criteria,
                status="subscribe",
                transaction_id=tid,
                reference_id=it["reference_id"],
                created_at=at,
            )
            answers.append(
                {
                    "reference_id": it["reference_id"],
                    "timestamp": _ts(at),
                    "status": "succ",
                    "subscriptions": [_subscription_info(code, at, parsed.reg_event_type, parsed.region, criteria)],
                }
            )
        response = {"transaction_id": tid, "correlation_id": cid, "subscribe_response": answers}
        await _add_txn(ctx, repo, env, cid, tid, "subscribe", _overall(answers), response, sender_uri=url)
        await _queue(
            ctx,
            uow,
            action="on-subscribe",
            receiver_id=env.sender_id,
            url=url,
            message=response,
            region=env.principal.region,
        )
        await uow.commit()
    return Acknowledged(cid, ctx.now())


async def unsubscribe(ctx: ServiceContext, call: DciCall) -> Acknowledged:
    """`POST /registry/unsubscribe`: ACK; the codes (all the sender's, else nothing changes)
    stop notifying, and the `on-unsubscribe` callback says so."""
    env = await _open(ctx, call)
    tid = _transaction_id(env.message)
    codes = subscription_codes(env.message)
    if codes is None:
        raise DciRefusal("err.request.bad", "message.subscription_codes is required (a non-empty list of codes)")
    url = await _callback_url(ctx, env.header)
    async with open_work(ctx) as uow:
        repo = uow.dci
        previous = await repo.find_transaction(env.sender_id, "unsubscribe", tid)
        if previous is not None:
            return Acknowledged(previous.id, ctx.now())
        cid, at = _new_id(), ctx.now()
        subs = await repo.subscriptions(codes)
        response: dict[str, Any] = {"transaction_id": tid, "correlation_id": cid, "timestamp": _ts(at)}
        if any(c not in subs or subs[c].sender_id != env.sender_id for c in codes):
            response |= {
                "status": "rjct",
                "status_reason_code": "rjct.subscription_code.invalid",
                "status_reason_message": "a subscription code is not one of this sender's; nothing was changed",
                "subscription_status": [],
            }
        elif all(subs[c].status == "unsubscribe" for c in codes):
            response |= {
                "status": "rjct",
                "status_reason_code": "rjct.event.already_unsubscribed",
                "status_reason_message": "already unsubscribed",
                "subscription_status": [{"code": c, "status": "unsubscribe"} for c in codes],
            }
        else:
            await repo.set_subscription_status(codes, "unsubscribe", at)
            response |= {"status": "succ", "subscription_status": [{"code": c, "status": "unsubscribe"} for c in codes]}
        await _add_txn(ctx, repo, env, cid, tid, "unsubscribe", response["status"], response, sender_uri=url)
        await _queue(
            ctx,
            uow,
            action="on-unsubscribe",
            receiver_id=env.sender_id,
            url=url,
            message=response,
            region=env.principal.region,
        )
        await uow.commit()
    return Acknowledged(cid, ctx.now())


async def notify_subscribers(ctx: ServiceContext, uow: Work, ev: Event) -> None:
    """Consumer of the enrolment and exit events (domain.dci.EVENT_MAP): one `notify` message
    per active subscription whose region (and owner's jurisdiction) holds the household, queued
    once per (event, subscription) whatever the redeliveries. The record is non-personal."""
    mapping = mapping_for(ev.domain, ev.name)
    if mapping is None:
        return
    household_id, village = household_and_village(ev)
    repo = uow.dci
    targets = [
        s
        for s in await repo.subscribers_of(mapping.reg_event_type)
        if region_within(village, s.region) and region_within(village, s.owner_region) and s.created_at <= ev.time
    ]
    if not targets:
        return
    views = await repo.household_views([household_id], cipher=None, reveal=False)
    if views:
        record = household_record(views[0], personal=False, reveal=False)
    else:
        record = {"@type": "Household", "household_identifier": household_id, "address": {"region_code": village}}
    event_attrs = [
        {"name": "change", "value": mapping.change},
        {"name": "fangfan_event", "value": f"{ev.domain}.{ev.name}"},
        {"name": "event_id", "value": ev.id},
        {"name": "occurred_at", "value": _ts(ev.time)},
        {"name": "source", "value": mapping.source},
    ]
    if ev.data.get("case_id"):
        event_attrs.append({"name": "case_id", "value": str(ev.data["case_id"])})
    record = {**record, "additional_attributes": [*record.get("additional_attributes", []), *event_attrs]}
    for s in targets:
        message = {
            "transaction_id": s.transaction_id,
            "notify_event": [
                {
                    "reference_id": ev.id,
                    "timestamp": _ts(ev.time),
                    "data": {
                        "version": DCI_VERSION,
                        "reg_type": REG_TYPE,
                        "reg_event_type": mapping.reg_event_type,
                        "response_entity": "Household",
                        "reg_records": record,
                    },
                }
            ],
        }
        await _queue(
            ctx,
            uow,
            action="notify",
            receiver_id=s.sender_id,
            url=s.notify_uri,
            message=message,
            region=village,
            outbound_id=str(uuid.uuid5(_NOTIFY_NS, f"{ev.id}:{s.code}")),
            event_id=ev.id,
            subscription_code=s.code,
        )


class DeliveryFailed(Exception):
    """The partner did not answer 2xx: the consumer retries with backoff, then dead-letters."""


def _count(action: str, message: dict[str, Any]) -> int:
    for key in ("search_response", "subscribe_response", "notify_event"):
        if isinstance(message.get(key), list):
            return len(message[key])
    return 1


async def deliver_outbound(ctx: ServiceContext, uow: Work, ev: Event) -> None:
    """Consumer of `dci.callback_queued`: sign and POST the queued message; marked delivered in
    the consumer's transaction (with its inbox row), so it is sent until answered and then
    never again (`header.message_id` is the same on every attempt, for the receiver's dedup)."""
    repo = uow.dci
    row = await repo.get_outbound(ev.subject)
    if row is None:
        raise PoisonEvent(f"{ev.id}: no DCI outbound message {ev.subject}")
    if row.status == "delivered":
        return
    message = json.loads(ctx.cipher.decrypt(row.message_enc, context=_OUTBOUND_CONTEXT))
    status = "rjct" if message.get("status") == "rjct" else "succ"
    header = _callback_header(
        row.action,
        sender_id=extras(ctx).dci_keys.sender_id(),
        message_id=row.id,
        receiver_id=row.receiver_id,
        at=ctx.now(),
        count=_count(row.action, message),
        status=status,
    )
    try:
        answered = await extras(ctx).dci_transport.post_message(
            row.url, _envelope_of(_signed(ctx, header, message)), ctx.settings.webhook_allowlist
        )
    except DciRefusal as exc:
        raise PoisonEvent(f"{row.action} {row.id}: destination refused: {exc.message}") from None
    if not 200 <= answered < 300:
        raise DeliveryFailed(f"{row.action} {row.id}: the receiver answered {answered}")
    await repo.mark_delivered(row.id, ctx.now())
    log.info("dci %s %s delivered to %s", row.action, row.id, row.receiver_id)


# --- transaction status ---------------------------------------------------------------------------


def _status_request(message: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    tid = _transaction_id(message)
    req = message.get("txnstatus_request")
    if not isinstance(req, dict) or not plain_text(req.get("reference_id")):
        raise DciRefusal(
            "err.request.bad",
            "message.txnstatus_request {reference_id, txn_type, attribute_type, attribute_value} is required",
        )
    if not isinstance(req.get("txn_type"), str) or req["txn_type"] not in _TXN_KINDS:
        raise DciRefusal("err.request.bad", "txnstatus_request.txn_type is search, subscribe or unsubscribe")
    if req.get("attribute_type") not in ("transaction_id", "correlation_id", "reference_id_list"):
        raise DciRefusal("err.request.bad", "attribute_type is transaction_id, correlation_id or reference_id_list")
    return tid, req


async def _find(repo: DciRepository, sender_id: str, kind: str, req: dict[str, Any]) -> Transaction | None:
    value = req.get("attribute_value")
    if req["attribute_type"] == "transaction_id" and plain_text(value):
        return await repo.find_transaction(sender_id, kind, value)
    if req["attribute_type"] == "correlation_id" and plain_text(value):
        txn = await repo.get_transaction(value)
        return txn if txn is not None and txn.sender_id == sender_id and txn.kind == kind else None
    if req["attribute_type"] == "reference_id_list" and isinstance(value, list):
        wanted = {v for v in value if plain_text(v)}
        for txn in await repo.recent_transactions(sender_id, kind):
            items = txn.summary.get("items") or txn.summary.get("subscribe_response") or []
            if wanted & {i.get("reference_id") for i in items}:
                return txn
    return None


def _txn_status(kind: str, txn: Transaction | None, req: dict[str, Any], at: dt.datetime) -> dict[str, Any]:
    missing = ItemRejected("rjct.reference_id.invalid", "no such transaction of this sender")
    if kind == "search":
        if txn is None:
            return {
                "transaction_id": str(req.get("attribute_value"))[:99],
                "correlation_id": "",
                "search_response": [_rejected(req["reference_id"], at, missing)],
            }
        items = txn.summary.get("items") or [
            {"reference_id": req["reference_id"], "timestamp": _ts(txn.created_at), "status": txn.status}
        ]
        return {"transaction_id": txn.transaction_id, "correlation_id": txn.id, "search_response": items}
    if txn is not None:
        return txn.summary
    if kind == "subscribe":
        return {
            "transaction_id": "",
            "correlation_id": "",
            "subscribe_response": [_rejected(req["reference_id"], at, missing)],
        }
    return {
        "transaction_id": "",
        "correlation_id": "",
        "timestamp": _ts(at),
        "status": "rjct",
        "status_reason_code": "rjct.reference_id.invalid",
        "status_reason_message": missing.message,
    }


async def txn_status(ctx: ServiceContext, call: DciCall, *, sync: bool) -> Acknowledged | SignedMessage:
    """`/registry/sync/txn/status` (the signed `txn-on-status` envelope) and `/registry/txn/status`
    (ACK, the same answer as a callback to sender_uri): the status of one of the sender's own
    transactions, found by transaction_id, correlation_id or reference ids. Search statuses
    carry no records (search again for them)."""
    env = await _open(ctx, call)
    tid, req = _status_request(env.message)
    kind = _TXN_KINDS[req["txn_type"]]
    url = None if sync else await _callback_url(ctx, env.header)
    cid, at = _new_id(), ctx.now()
    async with open_work(ctx) as uow:
        txn = await _find(uow.dci, env.sender_id, kind, req)
        status = _txn_status(kind, txn, req, at)
        # social registry: txn_type search (its TxnStatusResponse); registry core: on-subscribe / on-unsubscribe
        txn_type = {"search": "search", "subscribe": "on-subscribe", "unsubscribe": "on-unsubscribe"}[kind]
        message = {
            "transaction_id": tid,
            "correlation_id": cid,
            "txnstatus_response": {"txn_type": txn_type, "txn_status": status},
        }
        if not sync:
            assert url is not None
            await _queue(
                ctx,
                uow,
                action="txn-on-status",
                receiver_id=env.sender_id,
                url=url,
                message=message,
                region=env.principal.region,
            )
            await uow.commit()
            return Acknowledged(cid, at)
    header = _callback_header(
        "txn-on-status",
        sender_id=extras(ctx).dci_keys.sender_id(),
        message_id=_new_id(),
        receiver_id=env.sender_id,
        at=at,
        count=1,
        status="succ",
    )
    return _signed(ctx, header, message)


# --- partners -------------------------------------------------------------------------------------


def _partner_read(p: Partner) -> PartnerView:
    return PartnerView(
        sender_id=p.sender_id,
        name=p.name,
        client_sub=p.client_sub,
        kids=[k.get("kid") for k in p.jwks.get("keys", [])],
        created_at=p.created_at,
        updated_at=p.updated_at,
    )


async def register_partner(
    ctx: ServiceContext, uow: Work, principal: Principal, cmd: PartnerRegistration
) -> PartnerView:
    """Register (or replace the keys of) a partner: its sender_id, the bearer subject that speaks
    for it, and its public JWKS. Admin only."""
    if principal.role != "admin":
        raise Forbidden("registry partners are registered by an admin", code="role_not_allowed")
    problem = extras(ctx).dci_keys.jwks_problem(cmd.jwks)
    if problem is not None:
        raise Unprocessable("unusable JWKS", errors=[FieldError("jwks", problem)])
    repo = uow.dci
    await repo.put_partner(
        sender_id=cmd.sender_id, name=cmd.name, client_sub=cmd.client_sub, jwks=cmd.jwks, by=principal.sub, at=ctx.now()
    )
    await uow.commit()
    partner = await repo.get_partner(cmd.sender_id)
    assert partner is not None
    return _partner_read(partner)


async def list_partners(ctx: ServiceContext, principal: Principal) -> list[PartnerView]:
    if principal.role != "admin":
        raise Forbidden("registry partners are listed for an admin", code="role_not_allowed")
    async with open_work(ctx) as uow:
        return [_partner_read(p) for p in await uow.dci.list_partners()]
