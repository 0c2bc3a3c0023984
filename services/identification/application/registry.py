"""Use cases of the household registry look-up (户档查询), the officer console's entry point: list a
jurisdiction's households (keyset pages, filters), find households by a member's ID number (blind
index, POST body only), and a household's risk picture (outcome, signal warning, explanations).

Masking follows `GET /households/{id}`: ID numbers masked, no names. A head-name search is open
only to the roles that may reveal names (county, province, admin), is exact (no prefixes, so it
cannot spell out names letter by letter) and answers masked items."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import re
from dataclasses import dataclass, replace
from decimal import Decimal

from services.identification.application.context import monitoring_work
from services.identification.application.loops import RED_MARK_SOURCE
from services.identification.application.monitoring_ports import (
    HOUSEHOLD_STATUSES,
    PolicyRef,
    RegistryFilter,
    RegistryItem,
)
from services.identification.application.policies import resolve_or_422
from services.identification.application.signals import SIGNAL_RULES, rule_for
from services.identification.domain.assessment import assess
from services.identification.domain.model import Assessment
from shared.app import ServiceContext
from shared.auth import Principal
from shared.errors import FieldError, Forbidden, NotFound, Unprocessable
from shared.identifiers import REGION_LEVELS, validate_id_number
from shared.policy import PolicyParameterMissing
from shared.policy_store import PolicyStore

__all__ = [
    "MAX_LIMIT",
    "NAME_SEARCHERS",
    "READERS",
    "Explanation",
    "FindByIdNumber",
    "HouseholdPage",
    "HouseholdRisk",
    "ListHouseholds",
    "RedMarkView",
    "SignalWarningView",
    "StoredOutcomeView",
    "household_risk",
    "list_households",
    "search_by_id_number",
]

#: Who uses the registry (contact persons reach their households through their plans).
READERS = frozenset({"province", "county", "township", "village", "admin"})
#: Who may search by a head's name: the roles that may see names (`reveal=id_number`).
NAME_SEARCHERS = frozenset({"province", "county", "admin"})
MAX_LIMIT = 200
#: A name search matches at most this many households (one page is all a console shows).
_NAME_CAP = 1000
_STATES = (*HOUSEHOLD_STATUSES, "open_case")
_WARNINGS = ("red", "orange", "yellow")
_CATEGORIES = ("unstable_escaped", "marginal", "sudden_hardship")
_NUMBER_LIKE = re.compile(r"[0-9A-Za-z_.\-]+")
#: Never answered from a URL: resident ID numbers (use POST /households/search) and mobile numbers.
_ID_LIKE = re.compile(r"\d{15}(?:\d{2}[\dXx])?")
_PHONE_LIKE = re.compile(r"\+?(?:86)?1[3-9]\d{9}")
_CURSOR_REGION = re.compile(r"\d{1,12}")
_CURSOR_ID = re.compile(r"[0-9A-Za-z-]{1,36}")
#: household ids are UUIDs; anything else (too long, control characters) cannot be one: 404
_HOUSEHOLD_ID = re.compile(r"[0-9A-Za-z-]{1,64}")


@dataclass(frozen=True, slots=True)
class ListHouseholds:
    """One page of the caller's households: the filters and the keyset cursor."""

    region: str | None = None
    q: str | None = None
    state: str | None = None
    warning: str | None = None
    category: str | None = None
    cursor: str | None = None
    limit: int = 50


@dataclass(frozen=True, slots=True)
class FindByIdNumber:
    """The households with a member of this resident ID number (never from a URL)."""

    id_number: str


@dataclass(frozen=True, slots=True)
class HouseholdPage:
    items: list[RegistryItem]
    next_cursor: str | None


@dataclass(frozen=True, slots=True)
class Explanation:
    rule: str
    source: str
    detail: str


@dataclass(frozen=True, slots=True)
class StoredOutcomeView:
    """The household's latest stored outcome (from a screening or an assessment)."""

    category: str | None
    low_income_category: str | None
    warning: str | None
    per_capita_income: Decimal | None
    assessed_at: dt.datetime | None
    as_of: dt.date | None
    policy: PolicyRef
    screening_job_id: str | None


@dataclass(frozen=True, slots=True)
class SignalWarningView:
    """The departments' signals' warning of the household, each kind with its rule and source."""

    colour: str
    risk_types: list[str]
    signals: int
    raised_at: dt.datetime | None
    updated_at: dt.datetime | None
    explanations: list[Explanation]


@dataclass(frozen=True, slots=True)
class RedMarkView:
    reason: str
    at: dt.datetime | None
    explanation: Explanation


@dataclass(frozen=True, slots=True)
class HouseholdRisk:
    """Why the household carries its category and warning. `assessment` is the rules re-run on the
    stored facts under the outcome's policy and date (None: no policy in force); the response
    shows what of it explains the outcome (api/assessment_body.py `risk_assessment_body`)."""

    household_id: str
    region_code: str
    status: str
    warning: str | None
    outcome: StoredOutcomeView | None
    assessment: Assessment | None
    #: the date the assessment was re-run for (the outcome's, else today)
    assessed_as_of: dt.date
    signal_warning: SignalWarningView | None
    red_mark: RedMarkView | None


def _check_reader(principal: Principal) -> None:
    if principal.role not in READERS:
        raise Forbidden("the household registry is for officers and administrators", code="role_not_allowed")


def _scope(principal: Principal, region: str | None) -> str | None:
    """The narrower of the caller's region and the requested one; None: they do not meet."""
    if region is None or region == "":
        return principal.region
    if len(region) not in REGION_LEVELS or not (region.isascii() and region.isdigit()):
        raise Unprocessable("bad region", errors=[FieldError("region", "2, 4, 6, 9 or 12 digits")])
    if principal.sees(region):
        return region
    if principal.region.startswith(region):
        return principal.region
    return None


def encode_cursor(region_code: str, household_id: str) -> str:
    return base64.urlsafe_b64encode(json.dumps([region_code, household_id]).encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[str, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        value = json.loads(raw)
        if (
            isinstance(value, list)
            and len(value) == 2
            and all(isinstance(v, str) for v in value)
            and _CURSOR_REGION.fullmatch(value[0])
            and _CURSOR_ID.fullmatch(value[1])
        ):
            return value[0], value[1]
    except (binascii.Error, ValueError, UnicodeDecodeError):
        pass
    raise Unprocessable("bad cursor", errors=[FieldError("cursor", "use next_cursor of the previous page")])


def _choice(name: str, value: str | None, allowed: tuple[str, ...]) -> str | None:
    if value is None or value == "":
        return None
    if value not in allowed:
        raise Unprocessable(f"bad {name}", errors=[FieldError(name, f"one of {', '.join(allowed)}")])
    return value


async def list_households(ctx: ServiceContext, principal: Principal, query: ListHouseholds) -> HouseholdPage:
    """`GET /households`: one keyset page of the caller's households, (region_code, id) order."""
    _check_reader(principal)
    limit = max(1, min(query.limit, MAX_LIMIT))
    scope = _scope(principal, query.region)
    f = RegistryFilter(
        region="" if scope is None else scope,
        state=_choice("state", query.state, _STATES),
        warning=_choice("warning", query.warning, _WARNINGS),
        category=_choice("category", query.category, _CATEGORIES),
        after=_decode_cursor(query.cursor) if query.cursor else None,
    )
    q = (query.q or "").strip()
    if q and (_ID_LIKE.fullmatch(q) or _PHONE_LIKE.fullmatch(q)):
        raise Unprocessable(
            "ID and phone numbers are not searched from a URL",
            code="personal_number_in_url",
            errors=[FieldError("q", "look ID numbers up with POST /api/v1/households/search")],
        )
    if scope is None:
        return HouseholdPage([], None)
    if q and _NUMBER_LIKE.fullmatch(q):
        f = replace(f, number_prefix=q)
    elif q:
        if principal.role not in NAME_SEARCHERS:
            raise Forbidden(
                "only county, province and admin may search by name (names are masked for your role)",
                code="name_search_forbidden",
            )
        # the name index is derived data: refresh what changed in the region since, then look up
        async with monitoring_work(ctx) as uow:
            if await uow.registry.refresh_head_index(ctx.cipher, f.region):
                await uow.commit()
        async with monitoring_work(ctx) as uow:
            ids = await uow.registry.heads_named(ctx.cipher, f.region, q, cap=_NAME_CAP)
        f = replace(f, household_ids=ids)
    async with monitoring_work(ctx) as uow:  # read only: rolled back
        f = await uow.registry.narrow(f)
        rows = await uow.registry.page(f, limit=limit)
        more = len(rows) > limit
        rows = rows[:limit]
        items = await uow.registry.page_items(rows, today=ctx.today())
    last = rows[-1] if rows else None
    return HouseholdPage(items, encode_cursor(last.region_code, last.id) if more and last else None)


async def search_by_id_number(ctx: ServiceContext, principal: Principal, query: FindByIdNumber) -> HouseholdPage:
    """`POST /households/search`: the households (within the caller's region) that have a member
    with this resident ID number — by its blind index; the items are masked like the list's."""
    _check_reader(principal)
    try:
        id_number = validate_id_number(query.id_number.strip().upper())
    except ValueError as exc:
        raise Unprocessable("not a resident ID number", errors=[FieldError("id_number", str(exc))]) from None
    async with monitoring_work(ctx) as uow:
        found = await uow.registry.members_with_id_number(ctx.cipher, id_number)
        ids = sorted({m.household_id for m in found})
        if not ids:
            return HouseholdPage([], None)
        f = RegistryFilter(region=principal.region, household_ids=ids)
        rows = await uow.registry.page(f, limit=MAX_LIMIT)
        items = await uow.registry.page_items(rows[:MAX_LIMIT], today=ctx.today())
    return HouseholdPage(items, None)


async def household_risk(
    ctx: ServiceContext, store: PolicyStore, principal: Principal, household_id: str
) -> HouseholdRisk:
    """`GET /households/{id}/risk`: why the household carries its category and warning — the
    latest outcome (which policy version, as of when, from which screening) with the assessment's
    explanations re-derived from the stored facts under that policy and date, and the department
    signals' warning with the rule and source of each kind."""
    _check_reader(principal)
    if not _HOUSEHOLD_ID.fullmatch(household_id):
        raise NotFound("no such household in your jurisdiction")
    async with monitoring_work(ctx) as uow:
        stored = await uow.loops.household(household_id)
        if stored is None or not principal.sees(stored.region_code):
            raise NotFound("no such household in your jurisdiction")
        outcome = await uow.registry.outcome(stored.id)
        signal = await uow.registry.signal_warning(stored.id)
        marked = await uow.registry.red_mark(stored.id)
        as_of = (outcome.as_of if outcome is not None else None) or ctx.today()
        assessment: Assessment | None = None
        try:
            policy = await resolve_or_422(store, uow, stored.region_code, as_of)
            assessment = assess(stored.to_domain(), policy, as_of=as_of)
        except (Unprocessable, PolicyParameterMissing):
            assessment = None
    stored_outcome = None
    if outcome is not None:
        stored_outcome = StoredOutcomeView(
            category=outcome.category,
            low_income_category=outcome.low_income_category,
            warning=outcome.warning,
            per_capita_income=None if outcome.per_capita_income is None else Decimal(outcome.per_capita_income),
            assessed_at=_aware(outcome.assessed_at),
            as_of=outcome.as_of,
            policy=PolicyRef(outcome.policy_id, outcome.policy_version),
            screening_job_id=outcome.screening_job_id,
        )
    signal_warning = None
    if signal is not None:
        kinds = json.loads(signal.kinds)
        signal_warning = SignalWarningView(
            colour=signal.colour,
            risk_types=json.loads(signal.risk_types),
            signals=signal.signals,
            raised_at=_aware(signal.raised_at),
            updated_at=_aware(signal.updated_at),
            explanations=[_signal_explanation(k) for k in kinds],
        )
    red_mark = None
    if marked is not None:  # a county officer's mark wins over every computed colour
        red_mark = RedMarkView(
            reason=marked.red_mark_reason,
            at=_aware(marked.red_marked_at),
            explanation=Explanation("red_mark", RED_MARK_SOURCE, "marked red by a county officer"),
        )
    warning: str | None
    if red_mark is not None:
        warning = "red"
    elif signal_warning is not None:
        warning = signal_warning.colour
    else:
        warning = None if stored_outcome is None else stored_outcome.warning
    return HouseholdRisk(
        household_id=stored.id,
        region_code=stored.region_code,
        status=stored.status,
        warning=warning,
        outcome=stored_outcome,
        assessment=assessment,
        assessed_as_of=as_of,
        signal_warning=signal_warning,
        red_mark=red_mark,
    )


def _signal_explanation(kind: str) -> Explanation:
    rule = SIGNAL_RULES.get(kind) or rule_for(kind, {})
    detail = f"department signal {kind}: risk type {rule.risk_type}, warning {rule.colour}"
    if kind == "hospital_stay":
        detail += " (a stay below the large self-paid figure is yellow, without a case)"
    return Explanation(f"signal:{kind}", rule.source, detail)


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    """A stored time with its offset (SQLite keeps none: UTC)."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=dt.UTC)
