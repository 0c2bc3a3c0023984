"""The loops between assistance and identification (docs/procedure.md "The loops"): what
identification does with assistance's events — a visit's income update re-assesses the household
(a new or cleared warning, with its explanation), the day measures started and each measure's
status reach the elimination guards — and the county's manual red mark.

Every function here runs inside the caller's unit of work (an inbox consumer's transaction or a
request's), so an event's effect and its inbox row commit together: exactly once."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import replace
from decimal import Decimal, InvalidOperation
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.identification.adapters.audit import audit_chain
from services.identification.adapters.households import StoredHousehold, get_household, record_outcome
from services.identification.adapters.loops_repo import FINAL, loop_facts
from services.identification.adapters.orm import households
from services.identification.adapters.orm_loops import household_loops, household_marks, household_measures
from services.identification.domain.assessment import assess
from services.identification.domain.columnar import profile_of
from services.identification.domain.params import quantize_money
from shared.app import ServiceContext
from shared.audit import record_audit
from shared.db import UnitOfWork, is_postgres
from shared.events import Event
from shared.pii import mask_numbers_in_text

from .cases import resolve_identification

__all__ = [
    "INCOME_KINDS",
    "MEASURE_RANK",
    "apply_income_update",
    "loops_read",
    "record_measure",
    "record_measures_since",
]

SOURCE = "identification"
INCOME_KINDS = ("wage", "business", "property", "transfer", "insurance_claims", "exempt")
#: a measure's status only moves forward; closed and dropped are final
MEASURE_RANK = {"proposed": 0, "accepted": 1, "referred": 2, "in_progress": 3, "closed": 4, "dropped": 4}
_ORDER = {None: 0, "yellow": 1, "orange": 2, "red": 3}


def _insert(session: AsyncSession) -> Any:
    return pg_insert if is_postgres(session.bind) else sqlite_insert


async def _ensure_row(session: AsyncSession, household_id: str, region_code: str, at: dt.datetime) -> Any:
    """The household's loops row, inserted first if there is none (two replicas inserting at
    once: one insert stands, the other does nothing)."""
    query = sa.select(household_loops).where(household_loops.c.household_id == household_id)
    row = (await session.execute(query)).first()
    if row is not None:
        return row
    stmt = _insert(session)(household_loops).values(household_id=household_id, region_code=region_code, updated_at=at)
    await session.execute(stmt.on_conflict_do_nothing(index_elements=["household_id"]))
    return (await session.execute(query)).one()


# --------------------------------------------------------------------------- measures


async def record_measures_since(
    session: AsyncSession, household_id: str, region_code: str, on: dt.date, at: dt.datetime
) -> None:
    """Measures in place since `on` (assistance's `plan_drawn_up.drawn_up_on`, or a measure
    accepted or started): the earliest day heard is kept."""
    await _ensure_row(session, household_id, region_code, at)
    # one statement: two replicas handling two events of the household cannot lose the earlier day
    await session.execute(
        sa.update(household_loops)
        .where(
            household_loops.c.household_id == household_id,
            sa.or_(household_loops.c.measures_since.is_(None), household_loops.c.measures_since > on),
        )
        .values(measures_since=on, updated_at=at)
    )


async def record_measure(
    session: AsyncSession,
    *,
    household_id: str,
    region_code: str,
    measure_id: str,
    status: str,
    plan_id: str | None,
    type_: str | None,
    on: dt.date | None,
    at: dt.datetime,
) -> None:
    """A measure's status as assistance told it; an earlier status arriving late is ignored."""
    await _ensure_row(session, household_id, region_code, at)
    row = (
        await session.execute(sa.select(household_measures).where(household_measures.c.measure_id == measure_id))
    ).first()
    if row is None:
        await session.execute(
            sa.insert(household_measures).values(
                measure_id=measure_id,
                household_id=household_id,
                plan_id=plan_id,
                type=type_,
                status=status,
                changed_on=on,
                updated_at=at,
            )
        )
    elif row.status not in FINAL and MEASURE_RANK.get(status, -1) > MEASURE_RANK.get(row.status, -1):
        await session.execute(
            sa.update(household_measures)
            .where(household_measures.c.measure_id == measure_id)
            .values(status=status, changed_on=on, updated_at=at)
        )
    if status in ("accepted", "in_progress") and on is not None:
        await record_measures_since(session, household_id, region_code, on, at)


# --------------------------------------------------------------------------- income


def _money(value: Any) -> str | None:
    if value is None or value == "":
        return None
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        return None
    if not amount.is_finite() or amount < 0:
        return None
    return str(quantize_money(amount))


def income_of(data: Mapping[str, Any]) -> dict[str, str]:
    """The income kinds an `income_updated` event gives (`income` {kind: amount}, else the
    top-level copies), as 2-place decimal strings; kinds not given or not amounts are left out."""
    nested = data.get("income") if isinstance(data.get("income"), Mapping) else {}
    out: dict[str, str] = {}
    for kind in INCOME_KINDS:
        raw = nested.get(kind) if kind in nested else data.get(kind)  # type: ignore[union-attr]
        amount = _money(raw)
        if amount is not None:
            out[kind] = amount
    return out


def _profile_source(stored: StoredHousehold, facts: dict[str, Any]) -> dict[str, Any]:
    """The plain-data household `profile_of` reads (members with their stand-in numbers)."""
    domain = stored.to_domain()
    return {
        **facts,
        "escaped_poverty": stored.escaped_poverty,
        "dibao_status": stored.dibao_status,
        "members": [
            {
                "id_number": m.id_number,
                "labor_capacity": str(m.labor_capacity),
                "disability_grade": m.disability_grade,
                "disability_kind": None if m.disability_kind is None else str(m.disability_kind),
                "serious_illness": m.serious_illness,
                "schooling": str(m.schooling),
            }
            for m in domain.members
        ],
    }


def _explained(explanations: Any) -> list[dict[str, str]]:
    """Rule, clause and text of each explanation (numbers looking like ID numbers masked; the
    inputs stay in `POST /assessments`)."""
    return [{"rule": x.rule, "source": x.source, "detail": mask_numbers_in_text(x.detail)} for x in explanations]


async def apply_income_update(
    ctx: ServiceContext,
    uow: UnitOfWork,
    *,
    household_id: str,
    income: Mapping[str, str],
    visited_on: dt.date,
    visit_id: str | None,
    at: dt.datetime,
) -> str | None:
    """Store a visit's income on the household and re-assess it under the policy in force on the
    visit's day. Returns the event written (`warning_raised`, `warning_cleared`) or None.

    A visit older than the one applied last changes nothing (events of two visits may arrive out
    of order); kinds the visit did not give keep their stored amounts."""
    session = uow.session
    # the household row locked (PostgreSQL) until commit: two replicas handling two visits of the
    # household one after the other, not both from the same facts
    if is_postgres(session.bind):
        await session.execute(sa.select(households.c.id).where(households.c.id == household_id).with_for_update())
    stored = await get_household(session, household_id)
    if stored is None:
        return None
    loop = await _ensure_row(session, household_id, stored.region_code, at)
    if loop.income_visited_on is not None and visited_on < loop.income_visited_on:
        return None
    facts = dict(stored.facts)
    facts["income"] = {**(facts.get("income") or {}), **income}
    facts["income"].setdefault("unverified_earners", 0)
    for kind in INCOME_KINDS:
        facts["income"].setdefault(kind, "0")
    await session.execute(
        sa.update(households)
        .where(households.c.id == household_id)
        .values(
            facts=json.dumps(facts, ensure_ascii=False, separators=(",", ":")),
            screening_profile=profile_of(_profile_source(stored, facts), stored.region_code),
            content_hash=None,  # an import of the old record must not count as unchanged
            version=households.c.version + 1,
            updated_at=at,
        )
    )
    updated = replace(stored, facts=facts)
    policy = await resolve_identification(ctx, session, updated.region_code, visited_on)
    result = assess(updated.to_domain(), policy, as_of=visited_on)
    previous = stored.warning
    warning = None if result.warning is None else str(result.warning)
    await record_outcome(
        session,
        household_id,
        category=None if result.category is None else str(result.category),
        low_income_category=None if result.low_income_category is None else str(result.low_income_category),
        warning=warning,
        per_capita_income=result.per_capita_income,
        as_of=visited_on,
        policy_id=policy.id,
        policy_version=policy.version,
    )
    explanations = _explained(result.explanations)
    name = None
    if warning is not None and warning != previous:
        name = "warning_raised"
    elif warning is None and previous is not None:
        name = "warning_cleared"
    reassessment = {
        "trigger": "income_updated",
        "visit_id": visit_id,
        "visited_on": visited_on.isoformat(),
        "income": dict(income),
        "per_capita_income": f"{result.per_capita_income:.2f}",
        "category": None if result.category is None else str(result.category),
        "warning": warning,
        "previous_warning": previous,
        "outcome": name or "unchanged",
        "rules": [x["rule"] for x in explanations],
        "explanations": explanations,
        "policy": {"id": policy.id, "version": policy.version},
        "at": at.isoformat(),
    }
    await session.execute(
        sa.update(household_loops)
        .where(household_loops.c.household_id == household_id)
        .values(
            income_visited_on=visited_on,
            income_visit_id=visit_id,
            reassessment=json.dumps(reassessment, ensure_ascii=False),
            updated_at=at,
        )
    )
    if name is not None:
        labor = [m.labor_capacity for m in stored.members]
        data: dict[str, Any] = {
            "household_id": household_id,
            "region_code": updated.region_code,
            "warning": warning,
            "previous_warning": previous,
            "risk_types": [str(r) for r in result.risk_types],
            "category": reassessment["category"],
            "per_capita_income": reassessment["per_capita_income"],
            "trigger": "income_updated",
            "visit_id": visit_id,
            "rules": reassessment["rules"],
            "explanations": explanations,
            "policy": reassessment["policy"],
            "has_labor_capacity": any(c != "none" for c in labor),
            "manual": False,
            "at": at.isoformat(),
        }
        uow.add_event(Event("risk", name, household_id, updated.region_code, data, source=SOURCE))
    return name


# --------------------------------------------------------------------------- red marks


RED_MARK_SOURCE = (
    "004 §三(二): 发现返贫致贫风险较大的,在系统中通过红色标注进行预警 (manual mark by the county, with its reason)"
)


async def set_red_mark(
    uow: UnitOfWork,
    stored: StoredHousehold,
    *,
    mark: bool,
    reason: str,
    by: str,
    role: str,
    at: dt.datetime,
) -> bool:
    """Mark the household red (`mark`) or remove the mark, with the officer's reason: the mark,
    a history row and a `risk.warning_raised` (`warning: red`, `manual: true`) or
    `risk.warning_cleared` event, in the caller's transaction. False: it already was so."""
    session = uow.session
    await _ensure_row(session, stored.id, stored.region_code, at)
    marked = household_loops.c.red_mark_reason
    changed = await session.execute(
        sa.update(household_loops)
        .where(household_loops.c.household_id == stored.id, marked.is_(None) if mark else marked.is_not(None))
        .values(
            red_mark_reason=reason if mark else None,
            red_marked_by=by if mark else None,
            red_marked_at=at if mark else None,
            updated_at=at,
        )
    )
    if changed.rowcount != 1:  # already so (or another request just did it)
        return False
    await session.execute(
        sa.insert(household_marks).values(
            household_id=stored.id, action="red_mark" if mark else "red_unmark", reason=reason, by=by, role=role, at=at
        )
    )
    await record_audit(
        session,
        audit_chain,
        kind="red_mark" if mark else "red_unmark",
        subject_type="household",
        subject_id=stored.id,
        household_id=stored.id,
        region_code=stored.region_code,
        actor=by,
        role=role,
        at=at,
        detail={"reason": reason, "source": RED_MARK_SOURCE},
    )
    data: dict[str, Any] = {
        "household_id": stored.id,
        "region_code": stored.region_code,
        "warning": "red" if mark else stored.warning,
        "previous_warning": stored.warning if mark else "red",
        "manual": True,
        "rules": ["red_mark" if mark else "red_unmark"],
        "explanations": [
            {
                "rule": "red_mark" if mark else "red_unmark",
                "source": RED_MARK_SOURCE,
                # no free text in events: the reason is in the household's mark history
                "detail": f"{'marked red' if mark else 'red mark removed'} by a {role} officer "
                "(reason in GET /households/{id} mark_history)",
            }
        ],
        "marked_by_role": role,
        "at": at.isoformat(),
    }
    uow.add_event(
        Event(
            "risk", "warning_raised" if mark else "warning_cleared", stored.id, stored.region_code, data, source=SOURCE
        )
    )
    return True


def _json(text: str | None) -> Any:
    return None if text is None else json.loads(text)


async def loops_read(session: AsyncSession, household_id: str) -> dict[str, Any]:
    """The loops' part of `GET /households/{id}`: measures (since, counts), the last re-assessment
    with its explanation, the manual red mark and its history."""
    row = (
        await session.execute(sa.select(household_loops).where(household_loops.c.household_id == household_id))
    ).first()
    facts = await loop_facts(session, household_id)
    marks = (
        await session.execute(
            sa.select(household_marks)
            .where(household_marks.c.household_id == household_id)
            .order_by(household_marks.c.id)
        )
    ).all()
    return {
        "measures": {
            "since": None if facts.measures_since is None else facts.measures_since.isoformat(),
            **facts.counts,
        },
        "reassessment": _json(row.reassessment) if row is not None else None,
        "red_mark": {
            "reason": row.red_mark_reason,
            "by": row.red_marked_by,
            "at": row.red_marked_at.isoformat() if row.red_marked_at else None,
        }
        if row is not None and row.red_mark_reason is not None
        else None,
        "mark_history": [
            {"action": m.action, "reason": m.reason, "by": m.by, "role": m.role, "at": m.at.isoformat()} for m in marks
        ],
    }
