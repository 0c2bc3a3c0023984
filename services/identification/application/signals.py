"""Department risk signals (部门筛查预警, DOMAIN.md §7): a batch is matched to households by the
ID number's blind index (or a household id), recorded once per (department, signal id), raises
or updates the household's warning (`risk.warning_raised`), opens an identification case for
the kinds the rules name when none is open, and turns an unknown person into a lead for the
village to verify — nothing is dropped; a re-sent signal has no second effect. A lead is
resolved by an officer (`resolve_lead`): matched to a household, or dismissed with a reason, and
the department is told (`signal.lead_resolved`).

`SIGNAL_RULES` is the documented mapping (docs/procedure.md)."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal, InvalidOperation
from typing import Any

from services.identification.application.cases import emit_case_events, procedure_policy
from services.identification.application.monitoring_ports import (
    SignalHousehold,
    SignalRowView,
    SignalsRepository,
    SignalsWork,
)
from services.identification.application.policies import policy_in_force
from services.identification.domain.cases import TransitionRefused, open_case
from shared.app import ServiceContext
from shared.auth import Principal
from shared.errors import Conflict, Forbidden, NotFound
from shared.events import Event
from shared.identifiers import region_within
from shared.pii import FieldCipher, mask_id_number

__all__ = [
    "LARGE_SELF_PAID_MEDICAL",
    "LEAD_RESOLVERS",
    "SIGNAL_RULES",
    "Lead",
    "LeadResolution",
    "Leads",
    "ListLeads",
    "ReceiveSignals",
    "ResolveLead",
    "SignalItem",
    "SignalOutcome",
    "SignalRule",
    "SignalsReceived",
    "list_leads",
    "receive_signals",
    "resolve_lead",
]

SOURCE = "identification"
SENDER_ROLES = frozenset({"department", "county", "province", "admin"})
LEAD_READERS = frozenset({"village", "township", "county", "province", "admin"})
#: A hospital stay is "large" when the self-paid cost (payload `self_paid`, yuan) reaches this.
#: fangfan default, not from a seed — counties set their own figure (DOMAIN.md §7 names the
#: signal without a threshold).
LARGE_SELF_PAID_MEDICAL = Decimal("10000")
_COLOURS = {"yellow": 1, "orange": 2, "red": 3}


@dataclass(frozen=True, slots=True)
class SignalRule:
    """What a kind of signal means: the risk type, the warning colour, and whether it opens an
    identification case (green channel for sudden illness and disasters)."""

    risk_type: str
    colour: str
    opens_case: bool
    urgent: bool = False
    source: str = ""


SIGNAL_RULES: Mapping[str, SignalRule] = {
    "hospital_stay": SignalRule(
        "illness",
        "red",
        True,
        True,
        "DOMAIN.md §7 (大额自付住院); 002 篇十四 §(一) red: 因病; 002 篇二 §(一)5 绿色通道",
    ),
    "disability_certificate": SignalRule(
        "disability", "red", True, False, "DOMAIN.md §7 (新办残疾证); 002 篇十四 §(一) red: 因残"
    ),
    "unemployment": SignalRule(
        "unstable_employment", "orange", True, False, "DOMAIN.md §7 (失业登记); 003 人社 comparison"
    ),
    "dangerous_house": SignalRule("housing", "red", True, False, "DOMAIN.md §7 (危房鉴定); 002 篇九 §四(一) 住房安全"),
    "disaster": SignalRule(
        "disaster", "red", True, True, "DOMAIN.md §7 (灾情); 002 篇十四 §(一) red: 因灾; 002 篇二 §(一)5 绿色通道"
    ),
    "dropout": SignalRule("schooling", "yellow", True, False, "DOMAIN.md §7 (辍学); 002 篇九 §四(一) 义务教育保障"),
    "dibao_cancelled": SignalRule(
        "other", "yellow", False, False, "002 篇一 §(二)6 低保被取消; 002 篇十四 §(一) yellow"
    ),
    "income_drop": SignalRule("other", "yellow", False, False, "002 篇一 §(二) 收入下降排查"),
}
#: Kinds not in the table are recorded and raise a yellow warning of risk type `other`.
_OTHER = SignalRule("other", "yellow", False, False, "fangfan: unknown kinds are kept, never dropped")


def rule_for(kind: str, payload: Mapping[str, Any]) -> SignalRule:
    rule = SIGNAL_RULES.get(kind, _OTHER)
    if kind == "hospital_stay":
        try:
            self_paid = Decimal(str(payload.get("self_paid", "0")))
        except InvalidOperation:
            self_paid = Decimal(0)
        if self_paid < LARGE_SELF_PAID_MEDICAL:
            # a small stay is worth a look, not a procedure
            return SignalRule("illness", "yellow", False, False, rule.source)
    return rule


@dataclass(frozen=True, slots=True)
class SignalItem:
    """One validated signal of a batch (the router builds these)."""

    source_dept: str
    signal_id: str  # "" when the department sent none: `content_signal_id` then names it
    kind: str
    region_code: str
    observed_at: dt.datetime
    payload: dict[str, Any]
    id_number: str | None = None
    household_id: str | None = None


@dataclass(frozen=True, slots=True)
class ReceiveSignals:
    """A batch of validated signals, recorded in one transaction."""

    items: Sequence[SignalItem]


@dataclass(frozen=True, slots=True)
class SignalOutcome:
    """What became of one signal; the fields after `outcome` are None where they do not apply."""

    signal_id: str
    source_dept: str
    kind: str
    outcome: str  # warning | case_opened | lead | unknown_household | duplicate | refused
    first_outcome: str | None = None  # duplicate: the outcome it had first
    code: str | None = None  # refused: why
    household_id: str | None = None
    case_id: str | None = None
    open_case_id: str | None = None  # matched to a household with a case open already
    lead_id: str | None = None
    warning: str | None = None


@dataclass(frozen=True, slots=True)
class SignalsReceived:
    received: int
    counts: dict[str, int]
    outcomes: list[SignalOutcome]


def content_signal_id(cipher: FieldCipher, it: SignalItem) -> str:
    """The id of a signal sent without one: a keyed hash of what it says (department, kind, person
    or household, region, time, payload), so the same signal sent again is recognised as a
    duplicate — and the id reveals nothing of the ID number in it."""
    content = json.dumps(
        [
            it.source_dept,
            it.kind,
            it.id_number,
            it.household_id,
            it.region_code,
            _utc(it.observed_at).isoformat(),
            it.payload,
        ],
        ensure_ascii=False,
        sort_keys=True,
        separators=(",", ":"),
        default=str,
    )
    return "content-" + cipher.keyed_hash(content)[:40]


def _max_colour(a: str | None, b: str) -> str:
    if a is None:
        return b
    return a if _COLOURS.get(a, 0) >= _COLOURS.get(b, 0) else b


def _utc(value: dt.datetime) -> dt.datetime:
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone(dt.timedelta(hours=8)))
    return value.astimezone(dt.UTC)


def _outcome(it: SignalItem, outcome: str, **extra: Any) -> SignalOutcome:
    return SignalOutcome(it.signal_id, it.source_dept, it.kind, outcome, **extra)


async def receive_signals(
    ctx: ServiceContext, uow: SignalsWork, principal: Principal, cmd: ReceiveSignals
) -> SignalsReceived:
    """Record a batch in one transaction and return one outcome per signal, in order:
    `warning` (matched, warning raised/updated), `case_opened`, `lead` (unknown person),
    `unknown_household`, `duplicate` (already received: its first outcome is repeated),
    `refused` (another department's name, or outside the caller's region)."""
    if principal.role not in SENDER_ROLES:
        raise Forbidden("only departments, county and province officers may send signals", code="role_not_allowed")
    items = [it if it.signal_id else replace(it, signal_id=content_signal_id(ctx.cipher, it)) for it in cmd.items]
    at = ctx.now()
    repo = uow.signals
    existing = await repo.existing((it.source_dept, it.signal_id) for it in items)
    indexes = {it.id_number: ctx.cipher.blind_index(it.id_number) for it in items if it.id_number}
    by_index = await repo.households_by_member_index(list(indexes.values()))
    household_rows = await repo.households([it.household_id for it in items if it.household_id])
    matched_ids = {hid for hid, _ in by_index.values()} | set(household_rows)
    household_rows.update(await repo.households([h for h in matched_ids if h not in household_rows]))
    open_cases = await repo.open_cases_of_households(list(household_rows))

    outcomes: list[SignalOutcome] = []
    seen: dict[tuple[str, str], SignalOutcome] = {}
    new_rows: list[dict[str, Any]] = []
    touched: dict[str, dict[str, Any]] = {}  # household id → warning aggregate of this batch
    policies: dict[str, Any] = {}
    for it in items:
        key = (it.source_dept, it.signal_id)
        if key in existing:
            row = existing[key]
            outcomes.append(
                _outcome(
                    it,
                    "duplicate",
                    first_outcome=row.outcome,
                    household_id=row.household_id,
                    case_id=row.case_id,
                    lead_id=row.lead_id,
                    warning=row.warning,
                )
            )
            continue
        if key in seen:
            outcomes.append(_outcome(it, "duplicate", first_outcome=seen[key].outcome))
            continue
        if principal.role == "department" and it.source_dept != principal.dept:
            outcomes.append(_outcome(it, "refused", code="department_mismatch"))
            continue
        if not principal.sees(it.region_code):
            outcomes.append(_outcome(it, "refused", code="out_of_scope"))
            continue
        rule = rule_for(it.kind, it.payload)
        household = None
        if it.household_id:
            household = household_rows.get(it.household_id)
        elif it.id_number:
            hit = by_index.get(indexes[it.id_number])
            household = household_rows.get(hit[0]) if hit else None
        if household is not None and not principal.sees(household.region_code):
            household = None
        record: dict[str, Any] = {
            "id": str(uuid.uuid4()),
            "source_dept": it.source_dept,
            "signal_id": it.signal_id,
            "kind": it.kind,
            "region_code": it.region_code,
            "household_id": None,
            "lead_id": None,
            "observed_at": _utc(it.observed_at),
            "payload": json.dumps(it.payload, ensure_ascii=False, default=str),
            "warning": rule.colour,
            "case_id": None,
            "received_by": principal.sub if principal.role != "citizen" else "citizen",
            "received_at": at,
        }
        if household is None and it.household_id:
            record.update(outcome="unknown_household", warning=None)
            result = _outcome(it, "unknown_household")
        elif household is None:
            lead_id = await _upsert_lead(ctx, repo, it, rule, at)
            record.update(outcome="lead", lead_id=lead_id)
            result = _outcome(it, "lead", lead_id=lead_id, warning=rule.colour)
        else:
            hid = household.id
            agg = touched.setdefault(hid, _aggregate(household.region_code))
            case_id = await _apply_matched(ctx, uow, household, it, rule, agg, open_cases, at, policies)
            record.update(outcome="case_opened" if case_id else "warning", household_id=hid, case_id=case_id)
            result = _outcome(
                it,
                "case_opened" if case_id else "warning",
                household_id=hid,
                case_id=case_id,
                open_case_id=open_cases.get(hid) if case_id is None else None,
                warning=rule.colour,
            )
        new_rows.append(record)
        seen[key] = result
        outcomes.append(result)
    if new_rows:
        await repo.add_signals(new_rows)
    for hid, agg in touched.items():
        await _raise_warning(uow, hid, agg, at)
    await uow.commit()
    counts: dict[str, int] = {}
    for o in outcomes:
        counts[o.outcome] = counts.get(o.outcome, 0) + 1
    return SignalsReceived(len(items), counts, outcomes)


def _aggregate(region_code: str) -> dict[str, Any]:
    """What the signals matched to one household add up to (its warning: `_raise_warning`)."""
    return {"region": region_code, "colour": None, "risks": [], "kinds": [], "depts": [], "count": 0}


async def _apply_matched(
    ctx: ServiceContext,
    uow: SignalsWork,
    household: SignalHousehold,
    it: SignalItem,
    rule: SignalRule,
    agg: dict[str, Any],
    open_cases: dict[str, str],
    at: dt.datetime,
    policies: dict[str, Any],
) -> str | None:
    """One signal matched to `household`: counted into its warning, and an identification case
    opened on the county's authority when the kind opens one, the household is registered and it
    has no open case. Returns the case opened, if any."""
    agg["colour"] = _max_colour(agg["colour"], rule.colour)
    agg["risks"].append(rule.risk_type)
    agg["kinds"].append(it.kind)
    agg["depts"].append(it.source_dept)
    agg["count"] += 1
    if not (rule.opens_case and household.id not in open_cases and household.status == "registered"):
        return None
    case_id = await _open_case_from_signal(ctx, uow, household, it, rule, at, policies)
    if case_id is not None:
        open_cases[household.id] = case_id
        agg["case_id"] = case_id
    return case_id


async def _raise_warning(uow: SignalsWork, household_id: str, agg: dict[str, Any], at: dt.datetime) -> None:
    repo = uow.signals
    row = await repo.warning(household_id)
    previous = row.colour if row else None
    colour = _max_colour(previous, agg["colour"])
    risks = sorted(set(json.loads(row.risk_types) if row else []) | set(agg["risks"]))
    kinds = sorted(set(json.loads(row.kinds) if row else []) | set(agg["kinds"]))
    if row is None:
        await repo.add_warning(
            household_id,
            region_code=agg["region"],
            colour=colour,
            risk_types=risks,
            kinds=kinds,
            signals=agg["count"],
            at=at,
        )
    else:
        await repo.update_warning(
            household_id, colour=colour, risk_types=risks, kinds=kinds, more_signals=agg["count"], at=at
        )
    labor = await repo.labor_capacities(household_id)
    uow.add_event(
        Event(
            "risk",
            "warning_raised",
            household_id,
            agg["region"],
            {
                "household_id": household_id,
                "region_code": agg["region"],
                "warning": colour,
                "previous_warning": previous,
                "risk_types": risks,
                "signal_kinds": sorted(set(agg["kinds"])),
                "source_depts": sorted(set(agg["depts"])),
                "signals": agg["count"],
                "case_id": agg.get("case_id"),
                "has_labor_capacity": any(c != "none" for c in labor),
                "at": at.isoformat(),
            },
            source=SOURCE,
        )
    )


async def _open_case_from_signal(
    ctx: ServiceContext,
    uow: SignalsWork,
    household: SignalHousehold,
    it: SignalItem,
    rule: SignalRule,
    at: dt.datetime,
    policies: dict[str, Any],
) -> str | None:
    """Department screening hands the household to the county (县级交办, DOMAIN.md §3): the case
    is opened on the county's authority, recorded as coming from the department."""
    if household.region_code not in policies:
        policies[household.region_code] = procedure_policy(
            await policy_in_force(ctx, uow, household.region_code, at.date())
        )
    case_id = str(uuid.uuid4())
    try:
        result = open_case(
            case_id=case_id,
            household_id=household.id,
            by=f"department:{it.source_dept}",
            role="county",
            at=at,
            policy=policies[household.region_code],
            category=household.category,
            risk_types=[rule.risk_type],
            urgent=rule.urgent,
            note=f"department signal {it.kind}",
        )
    except TransitionRefused:
        return None
    await uow.signals.add_case(result.case, region_code=household.region_code)
    await emit_case_events(ctx, uow, case=result.case, region_code=household.region_code, events=result.events)
    return case_id


async def _upsert_lead(
    ctx: ServiceContext, repo: SignalsRepository, it: SignalItem, rule: SignalRule, at: dt.datetime
) -> str:
    assert it.id_number is not None
    index = ctx.cipher.blind_index(it.id_number)
    row = await repo.open_lead(index, it.region_code)
    if row is not None:
        await repo.add_to_lead(
            str(row.id),
            warning=_max_colour(row.warning, rule.colour),
            risk_types=sorted(set(json.loads(row.risk_types)) | {rule.risk_type}),
            at=at,
        )
        return str(row.id)
    lead_id = str(uuid.uuid4())
    await repo.add_lead(
        {
            "id": lead_id,
            "region_code": it.region_code,
            "id_number_enc": ctx.cipher.encrypt(it.id_number, context=b"leads.id_number"),
            "id_number_index": index,
            "id_number_masked": mask_id_number(it.id_number),
            "source_dept": it.source_dept,
            "kind": it.kind,
            "risk_types": json.dumps([rule.risk_type]),
            "warning": rule.colour,
            "signals": 1,
            "status": "open",
            "first_observed_at": _utc(it.observed_at),
            "created_at": at,
            "updated_at": at,
        }
    )
    return lead_id


@dataclass(frozen=True, slots=True)
class ListLeads:
    region: str | None = None
    status: str = "open"
    limit: int = 200


@dataclass(frozen=True, slots=True)
class Lead:
    """An unknown person named by departments (masked ID number only) and, once matched or
    dismissed, how it was resolved."""

    id: str
    region_code: str
    id_number_masked: str
    source_dept: str
    kind: str
    risk_types: list[str]
    warning: str | None  # every lead is written with a colour; the column is nullable
    signals: int
    status: str
    first_observed_at: dt.datetime
    household_id: str | None
    reason: str | None
    resolved_at: dt.datetime | None
    resolved_by_role: str | None


@dataclass(frozen=True, slots=True)
class Leads:
    region: str
    items: list[Lead]


async def list_leads(ctx: ServiceContext, uow: SignalsWork, principal: Principal, query: ListLeads) -> Leads:
    """Leads (unknown persons named by departments) for the village to verify; ID numbers masked."""
    if principal.role not in LEAD_READERS:
        raise Forbidden("leads are for officers", code="role_not_allowed")
    prefix = query.region or principal.region
    if not (prefix == "" or principal.sees(prefix)):
        return Leads(prefix, [])
    items = [
        Lead(
            id=r.id,
            region_code=r.region_code,
            id_number_masked=r.id_number_masked,
            source_dept=r.source_dept,
            kind=r.kind,
            risk_types=json.loads(r.risk_types),
            warning=r.warning,
            signals=r.signals,
            status=r.status,
            first_observed_at=r.first_observed_at,
            # how it was resolved (matched or dismissed leads)
            household_id=r.household_id,
            reason=r.reason,
            resolved_at=r.resolved_at,
            resolved_by_role=r.resolved_role,
        )
        for r in await uow.signals.leads(prefix, status=query.status, limit=max(1, min(query.limit, 1000)))
    ]
    return Leads(prefix, items)


# --------------------------------------------------------------------------- resolving leads

#: Who resolves a lead: the officers who verify it on the ground (and admin).
LEAD_RESOLVERS = frozenset({"village", "township", "county", "admin"})


@dataclass(frozen=True, slots=True)
class ResolveLead:
    lead_id: str
    action: str  # match | dismiss
    household_id: str | None = None  # match: the household
    reason: str | None = None  # dismiss: why (masked)


@dataclass(frozen=True, slots=True)
class LeadResolution:
    lead_id: str
    status: str  # matched | dismissed
    outcome: str
    household_id: str | None
    case_id: str | None
    warning: str | None
    reason: str | None
    resolved_at: dt.datetime


async def resolve_lead(ctx: ServiceContext, uow: SignalsWork, principal: Principal, cmd: ResolveLead) -> LeadResolution:
    """`POST /signals/leads/{id}/resolve`: match the lead to a household (its signals then act as
    if they had matched: warning, and a case where the signal table says so) or dismiss it with a
    reason. One transaction: the lead's status, the resolution, the signals' household, the
    warning and case, `signal.lead_resolved` for the department, and an audit-chain entry."""
    if principal.role not in LEAD_RESOLVERS:
        raise Forbidden("leads are resolved by village, township and county officers", code="role_not_allowed")
    lead_id, action, household_id, reason = cmd.lead_id, cmd.action, cmd.household_id, cmd.reason
    repo = uow.signals
    lead = await repo.lead(lead_id)
    if lead is None or not principal.sees(lead.region_code):
        raise NotFound(f"lead {lead_id} not found")
    if lead.status != "open":
        resolution = await repo.resolution(lead_id)
        raise Conflict(
            f"lead {lead_id} is already {lead.status}",
            code="lead_already_resolved",
            lead_status=lead.status,
            household_id=resolution.household_id if resolution is not None else None,
        )
    at = ctx.now()
    lead_signals = await repo.lead_signals(lead_id)
    case_id: str | None = None
    warning: str | None = None
    if action == "match":
        assert household_id is not None
        household = (await repo.households([household_id])).get(household_id)
        if household is None or not principal.sees(household.region_code):
            raise NotFound(f"household {household_id} not found")
        if not region_within(household.region_code, lead.region_code):
            raise Conflict(
                f"household {household_id} is not in the lead's region {lead.region_code}",
                code="household_outside_lead_region",
            )
        case_id, warning = await _signals_match(ctx, uow, household, lead_signals, at)
        status, outcome = "matched", "matched"
    else:
        status, outcome = "dismissed", "dismissed"
        household_id = None
    await repo.resolve_lead(
        lead_id,
        status=status,
        resolution={
            "outcome": outcome,
            "household_id": household_id,
            "reason": reason,
            "resolved_by": principal.sub,
            "resolved_role": principal.role,
            "resolved_at": at,
        },
        at=at,
    )
    signal_ids = [str(s.signal_id) for s in lead_signals]
    data = {
        "lead_id": lead_id,
        "signal_id": signal_ids[0] if signal_ids else None,
        "signal_ids": signal_ids,
        "source_dept": lead.source_dept,
        "kind": lead.kind,
        "region_code": lead.region_code,
        "outcome": outcome,
        "household_id": household_id,
        "case_id": case_id,
        "warning": warning,
        "resolved_by_role": principal.role,
        # The blind index (keyed HMAC, as `applicant_sub_hash`) of the department accounts that
        # sent the signals, so notification can reach their inbox; a signal sent by a county
        # officer gives a hash that matches no department account.
        "source_sub_hashes": sorted({ctx.cipher.blind_index(f"department:{s.received_by}") for s in lead_signals}),
        "at": at.isoformat(),
    }
    uow.add_event(Event("signal", "lead_resolved", lead_id, lead.region_code, data, source=SOURCE))
    await repo.audit(
        kind="lead_resolved",
        subject_type="lead",
        subject_id=lead_id,
        household_id=household_id,
        region_code=lead.region_code,
        actor=principal.sub,
        role=principal.role,
        at=at,
        detail={
            "outcome": outcome,
            "reason": reason,
            "source_dept": lead.source_dept,
            "signal_ids": signal_ids,
            "case_id": case_id,
            "id_number_masked": lead.id_number_masked,
        },
    )
    await uow.commit()
    return LeadResolution(
        lead_id=lead_id,
        status=status,
        outcome=outcome,
        household_id=household_id,
        case_id=case_id,
        warning=warning,
        reason=reason,
        resolved_at=at,
    )


async def _signals_match(
    ctx: ServiceContext,
    uow: SignalsWork,
    household: SignalHousehold,
    lead_signals: Sequence[SignalRowView],
    at: dt.datetime,
) -> tuple[str | None, str | None]:
    """The lead's signals as if they had matched `household` on arrival (`receive_signals`):
    one warning for the household, and an identification case for the first kind that opens one
    when the household is registered and has none open. Returns (case opened, warning colour)."""
    hid = household.id
    open_cases = await uow.signals.open_cases_of_households([hid])
    agg = _aggregate(household.region_code)
    opened: str | None = None
    policies: dict[str, Any] = {}
    for s in lead_signals:
        payload = json.loads(s.payload)
        item = SignalItem(
            source_dept=s.source_dept,
            signal_id=s.signal_id,
            kind=s.kind,
            region_code=s.region_code,
            observed_at=s.observed_at,
            payload=payload,
            household_id=hid,
        )
        rule = rule_for(s.kind, payload)
        case_id = await _apply_matched(ctx, uow, household, item, rule, agg, open_cases, at, policies)
        opened = case_id or opened
        await uow.signals.set_signal_household(s.id, hid, case_id)
    if agg["count"]:
        await _raise_warning(uow, hid, agg, at)
    return opened, agg["colour"]
