"""The DCI Social Registry exchange (数据交换, issue #18) as pure rules: the message envelope's
checks and error codes, the mapping of fangfan households to the DCI `Household` record, search
criteria and subscription filters, consent, paging, the table of notified events, and the SSRF
rule for callback URLs. No I/O: the adapters read, sign and send (docs/registry.md).

Spec: spdci/standards `release/yaml/social_api_v1.0.0.yaml` and `registry_core_api_v1.0.0.yaml`
(copies in tests/contract/data/dci/). Field names below are the spec's, typos included where the
spec requires them (`sunscription_codes`)."""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeGuard
from urllib.parse import urlsplit, urlunsplit

__all__ = [
    "DCI_VERSION",
    "EVENT_MAP",
    "MAX_BATCH",
    "MAX_PAGE_SIZE",
    "REG_TYPE",
    "REVEAL_ROLES",
    "ROLES",
    "DciRefusal",
    "EventMapping",
    "HouseholdView",
    "ItemRejected",
    "MemberView",
    "SearchQuery",
    "SubscriptionFilter",
    "canonical_json",
    "check_callback_address",
    "check_envelope",
    "has_consent",
    "household_record",
    "mapping_for",
    "notify_uri_for",
    "parse_search_criteria",
    "parse_subscribe_criteria",
    "parse_url",
    "plain_text",
    "reg_event_types",
    "subscription_codes",
]

DCI_VERSION = "1.0.0"
#: `reg_type` of fangfan's registry (RegistryType: "ns:org:RegistryType:Social" in the spec's example)
REG_TYPE = "ns:org:RegistryType:Social"
RECORD_TYPE = "Household"
#: Partners reach the registry with these roles (systems of the province, a county, a department).
ROLES = frozenset({"province", "county", "department", "admin"})
#: Who may receive resident ID numbers, names and phones in clear (as `reveal=id_number` elsewhere).
REVEAL_ROLES = frozenset({"province", "county", "admin"})
MAX_BATCH = 20  # search_request / subscribe_request items in one message
MAX_PAGE_SIZE = 100
MAX_PAGE_NUMBER = 100_000
DEFAULT_PAGE_SIZE = 20
#: message_ts of an incoming message may be this far from our clock (replay bound)
TIMESTAMP_TOLERANCE = dt.timedelta(minutes=10)
#: identifier types that mean a resident ID number (公民身份号码)
ID_NUMBER_TYPES = frozenset({"UIN", "NID"})
HOUSEHOLD_ID_TYPES = frozenset({"HOUSEHOLD_ID", "HOUSEHOLD_IDENTIFIER"})
HOUSEHOLD_NUMBER_TYPES = frozenset({"HOUSEHOLD_NUMBER"})
_STATUSES = ("registered", "monitored", "eliminated", "cleared")
_WARNINGS = ("red", "orange", "yellow")
_CATEGORIES = ("unstable_escaped", "marginal", "sudden_hardship")
_SORTABLE = {"registration_date": "created_at", "household_identifier": "id", "region_code": "region_code"}
_REGION_LEVELS = (2, 4, 6, 9, 12)


def plain_text(value: Any, max_length: int = 99) -> TypeGuard[str]:
    """A non-empty string without control characters (PostgreSQL text takes no NUL) that fits."""
    return isinstance(value, str) and 0 < len(value) <= max_length and not any(ord(c) < 32 for c in value)


class DciRefusal(Exception):
    """A message refused as a whole: the spec's `Error.code` (err.*) and the HTTP status."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


@dataclass(frozen=True, slots=True)
class ItemRejected:
    """One item of a batch refused: its `status_reason_code` (rjct.*) and message."""

    code: str
    message: str


# --- events notified to subscribers -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EventMapping:
    """A fangfan event (`<domain>.<event>`) and the DCI `reg_event_type` it is notified as."""

    domain: str
    name: str
    reg_event_type: str
    change: str  # enrolment | exit
    source: str

    @property
    def subject_filter(self) -> str:
        return f"fangfan.{self.domain}.{self.name}.>"


#: Enrolment and exit events notified to subscribers (`/registry/notify`). Add a row to notify
#: another event; civil affairs' social assistance rows match once that service publishes them.
EVENT_MAP: tuple[EventMapping, ...] = (
    EventMapping(
        "household", "identified", "fangfan:RegistryEventType:MonitoringEnrolled", "enrolment",
        "002 篇二 §(一)(二): 纳入监测对象 (county approval of an identification case)",
    ),
    EventMapping(
        "risk", "eliminated", "fangfan:RegistryEventType:MonitoringExited", "exit",
        "002 篇九 §四(一)(二): 风险消除 (county approval of an elimination case)",
    ),
    EventMapping(
        "risk", "rolled_back", "fangfan:RegistryEventType:MonitoringRolledBack", "enrolment",
        "002 篇二 §(三)(四): 回退 (an eliminated household back to monitored)",
    ),
    EventMapping(
        "risk", "cleared", "fangfan:RegistryEventType:MonitoringCleared", "exit",
        "002 篇二 §(三)(四): 清退 (a wrongly identified household removed)",
    ),
    EventMapping(
        "social_assistance", "enrolled", "fangfan:RegistryEventType:SocialAssistanceEnrolled", "enrolment",
        "003 §二(三): 低保、特困纳入 (civil affairs)",
    ),
    EventMapping(
        "social_assistance", "exited", "fangfan:RegistryEventType:SocialAssistanceExited", "exit",
        "003 §二(三): 低保、特困退出 (civil affairs)",
    ),
)  # fmt: skip


def mapping_for(domain: str, name: str) -> EventMapping | None:
    for m in EVENT_MAP:
        if m.domain == domain and m.name == name:
            return m
    return None


def reg_event_types() -> tuple[str, ...]:
    return tuple(m.reg_event_type for m in EVENT_MAP)


# --- the envelope -------------------------------------------------------------------------------


def canonical_json(value: Any) -> bytes:
    """The bytes a signature covers: JSON with sorted keys, no spaces, UTF-8 (RFC 8785 for
    messages without floating-point numbers, which DCI messages carry as strings)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _parse_ts(value: Any) -> dt.datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        ts = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return ts if ts.tzinfo is not None else None


def check_envelope(body: Any, *, action: str, receiver_id: str, now: dt.datetime) -> tuple[dict[str, Any], Any]:
    """The envelope's own checks (before the signature): `header` and `message` objects, the
    header's required fields (MsgHeader_V1.0.0), the action of this endpoint, version, receiver,
    no encryption, a timestamp within the tolerance. Returns (header, message)."""
    if not isinstance(body, dict):
        raise DciRefusal("err.request.bad", "the body must be a JSON object with header and message")
    header, message = body.get("header"), body.get("message")
    if not isinstance(header, dict):
        raise DciRefusal("err.request.bad", "header is required (an object)")
    if not isinstance(message, dict):
        raise DciRefusal("err.request.bad", "message is required (an object)")
    for name in ("message_id", "message_ts", "action", "sender_id"):
        if not plain_text(header.get(name), 128):
            raise DciRefusal("err.request.bad", f"header.{name} is required (a string of at most 128 characters)")
    if not isinstance(header.get("total_count"), int) or isinstance(header.get("total_count"), bool):
        raise DciRefusal("err.request.bad", "header.total_count is required (an integer)")
    if header["action"] != action:
        raise DciRefusal("err.request.bad", f"header.action must be {action!r} on this endpoint")
    if header.get("version", DCI_VERSION) != DCI_VERSION:
        raise DciRefusal("err.version.not_supported", f"only DCI message version {DCI_VERSION} is supported")
    if header.get("receiver_id") not in (None, "", receiver_id):
        raise DciRefusal("err.receiver_id.invalid", f"receiver_id must be {receiver_id!r}")
    if header.get("is_msg_encrypted") is True:
        raise DciRefusal(
            "err.encryption.invalid", "encrypted messages (JWE) are not accepted; sign and send in clear over TLS"
        )
    ts = _parse_ts(header["message_ts"])
    if ts is None:
        raise DciRefusal("err.request.bad", "header.message_ts must be an ISO 8601 date-time with a time zone")
    if abs(ts - now) > TIMESTAMP_TOLERANCE:
        raise DciRefusal("err.request.bad", "header.message_ts is more than 10 minutes from the registry's clock")
    return header, message


# --- callback URLs (SSRF) -----------------------------------------------------------------------

_METADATA = {
    ipaddress.ip_address("169.254.169.254"),
    ipaddress.ip_address("fd00:ec2::254"),
    ipaddress.ip_address("100.100.100.200"),
}


@dataclass(frozen=True, slots=True)
class CallbackUrl:
    scheme: str
    host: str
    port: int


def parse_url(url: Any) -> CallbackUrl:
    """A callback URL's syntax: http(s), a host, no user info, no fragment."""
    if not plain_text(url, 2000):
        raise DciRefusal("err.sender_uri.invalid", "header.sender_uri is required for this request (a URL)")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise DciRefusal("err.sender_uri.invalid", "sender_uri is not a valid URL") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        raise DciRefusal("err.sender_uri.invalid", "sender_uri must be an http or https URL with a host")
    if parts.username is not None or parts.password is not None or parts.fragment:
        raise DciRefusal("err.sender_uri.invalid", "sender_uri may not contain user info or a fragment")
    return CallbackUrl(scheme, parts.hostname.rstrip(".").lower(), port or (443 if scheme == "https" else 80))


def _allowed(ip: Any, allowlist: Sequence[Any]) -> bool:
    return any(ip.version == n.version and ip in n for n in allowlist)


def check_callback_address(address: str, allowlist_text: str) -> None:
    """Refuse a loopback, private, link-local, metadata or otherwise non-public address unless
    its CIDR is in FANGFAN_WEBHOOK_ALLOWLIST (as notification's webhooks, DESIGN.md)."""
    nets = [ipaddress.ip_network(p.strip(), strict=False) for p in (allowlist_text or "").split(",") if p.strip()]
    ip = ipaddress.ip_address(address)
    inner = ip.ipv4_mapped if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped else ip
    if _allowed(ip, nets) or _allowed(inner, nets):
        return
    for candidate in {ip, inner}:
        if candidate in _METADATA or not candidate.is_global or candidate.is_multicast:
            raise DciRefusal(
                "err.sender_uri.invalid",
                f"sender_uri resolves to {address}, not a public address (FANGFAN_WEBHOOK_ALLOWLIST may allow it)",
            )


def notify_uri_for(sender_uri: str) -> str:
    """Where notifications go: the subscriber's `/notify` beside the callback it named
    (`…/registry/on-subscribe` → `…/registry/notify`)."""
    parts = urlsplit(sender_uri)
    path = parts.path.rstrip("/")
    head, _, last = path.rpartition("/")
    path = f"{head}/notify" if last.startswith("on-") else f"{path}/notify"
    return urlunsplit((parts.scheme, parts.netloc, path, parts.query, ""))


# --- search -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SearchQuery:
    """A search criteria object mapped to fangfan's registry."""

    id_number: str | None = None
    household_id: str | None = None
    household_number: str | None = None
    region: str | None = None
    statuses: tuple[str, ...] = ()
    warning: str | None = None
    category: str | None = None
    page_size: int = DEFAULT_PAGE_SIZE
    page_number: int = 1
    sort_column: str = "region_code"
    sort_desc: bool = False

    @property
    def personal(self) -> bool:
        """A look-up by a person's identifier is processing of personal data: consent needed."""
        return self.id_number is not None

    @property
    def offset(self) -> int:
        return (self.page_number - 1) * self.page_size


def has_consent(criteria: Mapping[str, Any]) -> bool:
    """`consent` (spec: Consent {ts, purpose {text, code, ref_uri}}) present with a time stamp and
    a purpose (a code or a text): the data subject's consent the requester holds."""
    consent = criteria.get("consent")
    if not isinstance(consent, dict):
        return False
    purpose = consent.get("purpose")
    if not isinstance(purpose, dict) or not (purpose.get("code") or purpose.get("text")):
        return False
    return _parse_ts(consent.get("ts")) is not None


def _region(value: Any) -> str | None:
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) in _REGION_LEVELS:
        return value
    return None


def _predicates(query: Any) -> list[tuple[str, str, Any]]:
    """ExpPredicateWithConditionList → [(attribute, operator, value)]; only `and` joins."""
    if not isinstance(query, list) or not query:
        raise ItemRejectedError("rjct.search_criteria.invalid", "a predicate query is a non-empty list")
    out: list[tuple[str, str, Any]] = []

    def seq(p: Any) -> float:
        n = p.get("seq_num", 0) if isinstance(p, dict) else 0
        return float(n) if isinstance(n, int | float) and not isinstance(n, bool) and math.isfinite(n) else 0.0

    for item in sorted(query, key=seq):
        if not isinstance(item, dict) or not isinstance(item.get("expression1"), dict):
            raise ItemRejectedError("rjct.search_criteria.invalid", "each predicate needs expression1")
        if item.get("condition") not in (None, "and"):
            raise ItemRejectedError("rjct.search_criteria.invalid", "only the condition 'and' is supported")
        for key in ("expression1", "expression2"):
            e = item.get(key)
            if e is None:
                continue
            if not isinstance(e, dict) or not {"attribute_name", "operator", "attribute_value"} <= e.keys():
                raise ItemRejectedError(
                    "rjct.search_criteria.invalid", f"{key} needs attribute_name, operator, attribute_value"
                )
            out.append((str(e["attribute_name"]), str(e["operator"]), e["attribute_value"]))
    return out


class ItemRejectedError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.rejection = ItemRejected(code, message)


def _apply_predicates(preds: list[tuple[str, str, Any]], base: dict[str, Any]) -> None:
    for name, op, value in preds:
        if name == "region_code" and op == "eq":
            region = _region(value)
            if region is None:
                raise ItemRejectedError(
                    "rjct.search_criteria.invalid", "region_code takes a 2, 4, 6, 9 or 12 digit code"
                )
            base["region"] = region
        elif name in ("household_status", "status") and op in ("eq", "in"):
            values = value if isinstance(value, list) else [value]
            if not values or any(v not in _STATUSES for v in values):
                raise ItemRejectedError(
                    "rjct.search_criteria.invalid", f"household_status is one of {', '.join(_STATUSES)}"
                )
            base["statuses"] = tuple(values)
        elif name == "warning" and op == "eq" and value in _WARNINGS:
            base["warning"] = value
        elif name in ("monitoring_category", "category") and op == "eq" and value in _CATEGORIES:
            base["category"] = value
        elif name in ("household_identifier", "household_id") and op == "eq" and plain_text(value, 64):
            base["household_id"] = value
        else:
            raise ItemRejectedError(
                "rjct.search_criteria.invalid",
                f"unsupported predicate {name} {op}: use region_code eq, household_status eq|in, warning eq, "
                "monitoring_category eq, household_identifier eq",
            )


def parse_search_criteria(criteria: Any) -> SearchQuery | ItemRejected:
    """`search_criteria` → SearchQuery. query_type `idtype-value` ({type, value}: UIN/NID = a
    resident ID number, HOUSEHOLD_ID, HOUSEHOLD_NUMBER) or `predicate` (attribute predicates
    joined by `and`); `expression` (a query language) is not offered."""
    if not isinstance(criteria, dict):
        return ItemRejected("rjct.search_criteria.invalid", "search_criteria must be an object")
    base: dict[str, Any] = {}
    try:
        qtype, query = criteria.get("query_type"), criteria.get("query")
        if qtype == "idtype-value":
            if not isinstance(query, dict) or not isinstance(query.get("type"), str):
                raise ItemRejectedError("rjct.search_criteria.invalid", "an idtype-value query is {type, value}")
            kind, value = query["type"].upper(), query.get("value")
            if not plain_text(value, 64) or not value.strip():
                raise ItemRejectedError("rjct.search_criteria.invalid", "the identifier value is a string")
            if kind in ID_NUMBER_TYPES:
                base["id_number"] = value.strip().upper()
            elif kind in HOUSEHOLD_ID_TYPES:
                base["household_id"] = value.strip()
            elif kind in HOUSEHOLD_NUMBER_TYPES:
                base["household_number"] = value.strip()
            else:
                raise ItemRejectedError(
                    "rjct.search_criteria.invalid", f"identifier type {kind} is not searchable here"
                )
        elif qtype == "predicate":
            _apply_predicates(_predicates(query), base)
        elif qtype == "expression":
            raise ItemRejectedError(
                "rjct.search_criteria.invalid", "query_type expression is not supported; use predicate"
            )
        else:
            raise ItemRejectedError("rjct.search_criteria.invalid", "query_type is idtype-value or predicate")
        _paging(criteria.get("pagination"), base)
        _sorting(criteria.get("sort"), base)
    except ItemRejectedError as exc:
        return exc.rejection
    return SearchQuery(**base)


def _paging(pagination: Any, base: dict[str, Any]) -> None:
    if pagination is None:
        return
    if not isinstance(pagination, dict):
        raise ItemRejectedError("rjct.pagination.invalid", "pagination is {page_size, page_number}")
    whole: list[int] = []
    for v in (pagination.get("page_size"), pagination.get("page_number", 1)):
        if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v) or v != int(v) or v < 1:
            raise ItemRejectedError("rjct.pagination.invalid", "page_size and page_number are whole numbers from 1")
        if v > MAX_PAGE_NUMBER:
            raise ItemRejectedError("rjct.pagination.invalid", f"page_number is at most {MAX_PAGE_NUMBER}")
        whole.append(int(v))
    size, number = whole
    if size > MAX_PAGE_SIZE:
        raise ItemRejectedError("rjct.pagination.invalid", f"page_size is at most {MAX_PAGE_SIZE}")
    base["page_size"], base["page_number"] = size, number


def _sorting(sort: Any, base: dict[str, Any]) -> None:
    if sort is None or sort == []:
        return
    if not isinstance(sort, list) or len(sort) != 1 or not isinstance(sort[0], dict):
        raise ItemRejectedError("rjct.sort.invalid", "sort takes one {attribute_name, sort_order}")
    column = _SORTABLE.get(str(sort[0].get("attribute_name")))
    order = sort[0].get("sort_order", "asc")
    if column is None or order not in ("asc", "desc"):
        raise ItemRejectedError("rjct.sort.invalid", f"sort by one of {', '.join(_SORTABLE)}, asc or desc")
    base["sort_column"], base["sort_desc"] = column, order == "desc"


# --- subscriptions ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SubscriptionFilter:
    reg_event_type: str
    region: str
    notify_record_type: str
    filter: Any = None
    frequency: Any = None


def parse_subscribe_criteria(criteria: Any, *, caller_region: str) -> SubscriptionFilter | ItemRejected:
    """`subscribe_criteria` → the subscription: a `reg_event_type` of EVENT_MAP, the records'
    region from a `region_code eq` predicate filter (within the caller's region; absent: the
    caller's), `notify_record_type` Household."""
    if not isinstance(criteria, dict):
        return ItemRejected("rjct.notify_details.invalid", "subscribe_criteria must be an object")
    event_type = criteria.get("reg_event_type")
    if event_type not in reg_event_types():
        return ItemRejected("rjct.notify_types.invalid", f"reg_event_type is one of {', '.join(reg_event_types())}")
    record_type = criteria.get("notify_record_type")
    if not isinstance(record_type, str) or not record_type.endswith(RECORD_TYPE):
        return ItemRejected("rjct.notify_details.invalid", "notify_record_type must be Household")
    region = caller_region
    flt = criteria.get("filter")
    if flt not in (None, []):
        try:
            preds = _predicates(flt)
        except ItemRejectedError:
            return ItemRejected("rjct.notify_details.invalid", "filter is a predicate list: region_code eq <code>")
        for name, op, value in preds:
            if name != "region_code" or op != "eq" or _region(value) is None:
                return ItemRejected("rjct.notify_details.invalid", "filter supports region_code eq <2-12 digit code>")
            region = str(value)
    if not _within(region, caller_region):
        return ItemRejected("rjct.notify_details.invalid", "the filter's region is outside your jurisdiction")
    return SubscriptionFilter(str(event_type), region, RECORD_TYPE, flt, criteria.get("frequency"))


def _within(code: str, prefix: str) -> bool:
    return prefix == "" or (code.startswith(prefix) and len(code) >= len(prefix))


def subscription_codes(message: Mapping[str, Any]) -> list[str] | None:
    """UnSubscribeRequest's codes: `subscription_codes` (declared) or `sunscription_codes` (what
    the published schema requires, sic); None when neither is a list of strings."""
    codes = message.get("subscription_codes", message.get("sunscription_codes"))
    if not isinstance(codes, list) or not codes or len(codes) > 100 or not all(plain_text(c) for c in codes):
        return None
    return list(dict.fromkeys(codes))


# --- the Household record -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MemberView:
    position: int
    relation: str
    sex: str
    birth_date: dt.date
    disability_grade: int | None
    disability_kind: str | None
    id_number_masked: str
    id_number: str | None = None  # clear: only read for a role in REVEAL_ROLES
    name: str | None = None


@dataclass(frozen=True, slots=True)
class HouseholdView:
    id: str
    household_number: str
    region_code: str
    status: str
    category: str | None
    low_income_category: str | None
    warning: str | None
    dibao_status: str
    registered_on: dt.date | None
    updated_at: dt.datetime | None
    members: tuple[MemberView, ...] = ()
    phone_masked: str | None = None
    phone: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


_SEX = {"M": "male", "F": "female", "male": "male", "female": "female"}


def _person(m: MemberView, *, reveal: bool, phone: str | None) -> dict[str, Any]:
    person: dict[str, Any] = {
        "identifier_type": "UIN",
        "identifier_value": m.id_number if reveal and m.id_number else m.id_number_masked,
        "sex": _SEX.get(m.sex, "unknown"),
        "birth_date": m.birth_date.isoformat(),
    }
    if reveal and m.name:
        person["name"] = {"surname": m.name[:1], "given_name": m.name[1:]}
    if phone is not None:
        person["phone_number"] = phone
    return person


def household_record(h: HouseholdView, *, personal: bool, reveal: bool) -> dict[str, Any]:
    """The DCI `Household` record (social/v1/Household.jsonld) of one fangfan household.
    Non-personal fields always; members (identifier, sex, birth date, relation, disability)
    only with `personal` (the requester holds the data subjects' consent); ID numbers, names and
    phone in clear only with `reveal` (roles REVEAL_ROLES), masked otherwise."""
    attrs = [
        {"name": "household_number", "value": h.household_number},
        {"name": "monitoring_status", "value": h.status},
        {"name": "monitoring_category", "value": h.category or ""},
        {"name": "low_income_category", "value": h.low_income_category or ""},
        {"name": "warning", "value": h.warning or ""},
        {"name": "dibao_status", "value": h.dibao_status},
        *({"name": k, "value": v} for k, v in h.extra.items()),
    ]
    record: dict[str, Any] = {
        "@context": {"@vocab": "https://schema.spdci.org/extensions/social/v1"},
        "@type": "Household",
        "household_identifier": h.id,
        "address": {"region_code": h.region_code, "country_code": "CN"},
        "household_size": str(len(h.members)) if h.members else "0",
        "household_status": h.status,
        "additional_attributes": attrs,
        "registration_date": h.registered_on.isoformat() if h.registered_on else "",
        "last_update": h.updated_at.isoformat() if h.updated_at else "",
    }
    if not personal:
        return record
    phone = (h.phone if reveal else h.phone_masked) if (h.phone or h.phone_masked) else None
    members = []
    for m in h.members:
        members.append(
            {
                "household_member": {
                    "member_identifier": f"{h.id}:{m.position}",
                    "demographic_info": {"person": _person(m, reveal=reveal, phone=None)},
                    "relationship_head": "self" if m.relation == "head" else m.relation,
                    "is_disabled": "1" if m.disability_grade else "0",
                    "disability_info": (
                        {"grade": str(m.disability_grade), "kind": m.disability_kind or ""}
                        if m.disability_grade
                        else {}
                    ),
                }
            }
        )
    head = next((m for m in h.members if m.relation == "head"), h.members[0] if h.members else None)
    if head is not None:
        record["household_head_info"] = {"person": _person(head, reveal=reveal, phone=phone)}
    record["member_list"] = members
    return record
