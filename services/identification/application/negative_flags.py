"""Negative-list flags raised by other services (负面清单): after assistance's
`employment.offers_refused` (a member refused three suitable job offers without a valid reason,
000 safety-net §三(二)1) the household carries `refuses_work` (002 篇八 不予认定情形 第5项) — in its
stored facts, so every assessment and screening shows the exclusion — with the explanation
(rule, clauses, the recommendation ids) kept beside it, and is re-assessed. Runs in the inbox
consumer's transaction: a redelivered event has no second effect."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from services.identification.application.ports import Work
from services.identification.application.stored import StoredHousehold
from services.identification.domain.assessment import assess
from services.identification.domain.columnar import profile_of
from services.identification.domain.model import Assets
from services.identification.domain.negative_list import NEGATIVE_LIST, negative_list
from shared.app import ServiceContext

from .cases import policy_in_force
from .loops import _profile_source

__all__ = ["REFUSES_WORK_SOURCE", "OffersRefused", "apply_offers_refused", "exclusions_of"]

REFUSES_WORK_SOURCE = (
    "000 safety-net §三(二)1: 无正当理由连续3次拒绝接受介绍与其健康状况相适应工作的,核减或停发其本人低保资金; "
    + NEGATIVE_LIST["refuses_work"][1]
)


def exclusions_of(stored: StoredHousehold) -> list[dict[str, str]]:
    """The negative-list exclusions the household's stored facts raise (as an assessment shows them)."""
    exclusions, _ = negative_list(Assets(**(stored.facts.get("assets") or {})))
    return [{"code": e.code, "detail": e.detail, "source": e.source} for e in exclusions]


@dataclass(frozen=True, slots=True)
class OffersRefused:
    """A member (`person_ref`) of the household refused `refusals` suitable job offers in a row
    (assistance's `employment.offers_refused`, event `event_id`)."""

    household_id: str
    person_ref: str
    refusals: int
    recommendation_ids: Sequence[str]
    decided_on: dt.date
    event_id: str
    at: dt.datetime


async def apply_offers_refused(ctx: ServiceContext, uow: Work, cmd: OffersRefused) -> bool:
    """Flag the household `refuses_work` for `person_ref`; False when the household is unknown
    or already flagged for that person."""
    household_id, person_ref, refusals, at = cmd.household_id, cmd.person_ref, cmd.refusals, cmd.at
    recommendation_ids, decided_on, event_id = cmd.recommendation_ids, cmd.decided_on, cmd.event_id
    await uow.flags.lock_household(household_id)
    stored = await uow.households.get(household_id)
    if stored is None or await uow.flags.exists(household_id, "refuses_work", person_ref):
        return False
    facts = dict(stored.facts)
    facts["assets"] = {**(facts.get("assets") or {}), "refuses_work": True}
    await uow.flags.store_facts(household_id, facts, profile_of(_profile_source(stored, facts), stored.region_code), at)
    ids = [str(i) for i in recommendation_ids]
    detail = (
        f"member {person_ref} refused {refusals} suitable job offers in a row without a valid reason "
        f"(recommendations {', '.join(ids)}): the household is on the negative list as refusing work"
    )
    evidence: dict[str, Any] = {"refusals": refusals, "recommendation_ids": ids, "event_id": event_id}
    await uow.flags.add(
        {
            "household_id": household_id,
            "code": "refuses_work",
            "person_ref": person_ref,
            "rule": "three_refused_offers",
            "source": REFUSES_WORK_SOURCE,
            "detail": detail,
            "evidence": json.dumps(evidence, ensure_ascii=False),
            "recorded_at": at,
        },
    )
    updated = replace(stored, facts=facts)
    policy = await policy_in_force(ctx, uow, stored.region_code, decided_on)
    result = assess(updated.to_domain(), policy, as_of=decided_on)
    await uow.households.record_outcome(
        household_id,
        category=None if result.category is None else str(result.category),
        low_income_category=None if result.low_income_category is None else str(result.low_income_category),
        warning=None if result.warning is None else str(result.warning),
        per_capita_income=result.per_capita_income,
        as_of=decided_on,
        policy_id=policy.id,
        policy_version=policy.version,
    )
    await uow.audit.record(
        kind="negative_list_flag",
        subject_type="household",
        subject_id=household_id,
        household_id=household_id,
        region_code=stored.region_code,
        actor="event:assistance",
        role="system",
        at=at,
        detail={"code": "refuses_work", "rule": "three_refused_offers", "source": REFUSES_WORK_SOURCE, **evidence},
    )
    return True
