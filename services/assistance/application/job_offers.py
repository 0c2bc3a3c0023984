"""Use cases of job-offer outcomes (000 safety-net §三(二)1): record what became of one job-post
recommendation (`accepted`, `refused` with or without a valid reason, `no_answer`) and, when the
person's refusals without a valid reason reach the policy's count in a row, write the sanction
and `employment.offers_refused` to the outbox in the same transaction — once per person.
Persons are opaque `person_ref`s; the event carries no names, ID or phone numbers."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from services.assistance.domain.job_offers import OfferOutcome, refusals_in_a_row, sanction_due
from shared.auth import Principal
from shared.errors import Conflict, FieldError, NotFound, Unprocessable
from shared.events import Event

from .common import SOURCE, Actor, policy_for, require_officer, require_reader
from .ports import JobOffers, Work
from .records import EmploymentRecord, OfferOutcomeRecord, SanctionRecord
from .views import JobOfferView, PersonJobOffers, SanctionView

__all__ = ["RecordOfferOutcome", "job_offers_read", "record_offer_outcome"]

_REFUSALS = "employment_refusals_before_sanction"


@dataclass(frozen=True, slots=True)
class RecordOfferOutcome:
    record_id: str
    recommendation_id: str  # the `employment_services` id, as the API shows it
    outcome: str
    valid_reason: bool | None = None
    note: str | None = None


async def _record(repo: JobOffers, principal: Principal, record_id: str) -> EmploymentRecord:
    rec = await repo.record(record_id)
    if rec is None or not principal.sees(rec.region_code):
        raise NotFound("employment record not found")
    return rec


def _sanction_view(row: SanctionRecord | None) -> SanctionView | None:
    if row is None:
        return None
    return SanctionView(
        refusals=row.refusals,
        recommendation_ids=tuple(str(i) for i in row.recommendation_ids),
        event_id=row.event_id,
        decided_at=row.decided_at,
    )


async def job_offers_read(uow: Work, principal: Principal, record_id: str, *, today: dt.date) -> PersonJobOffers:
    """The person's job recommendations with their outcomes, the refusals in a row and the sanction."""
    require_reader(principal)
    repo = uow.job_offers
    rec = await _record(repo, principal, record_id)
    outcomes = await repo.outcomes_by_service(rec.id)
    recs = await repo.recommendations(rec.id)
    needed = int(policy_for(rec.region_code, today).resolved[_REFUSALS])
    run = refusals_in_a_row(await repo.outcomes(rec.id))
    offers = []
    for s in recs:
        o = outcomes.get(int(s.id))
        offers.append(
            JobOfferView(
                id=str(s.id),
                provided_on=s.provided_on,
                outcome=None if o is None else o.outcome,
                valid_reason=None if o is None else o.valid_reason,
                note=None if o is None else o.note,
            )
        )
    return PersonJobOffers(
        record_id=rec.id,
        person_ref=rec.person_ref,
        household_id=rec.household_id,
        recommendations=tuple(offers),
        refusals_in_a_row=len(run),
        refusals_before_sanction=needed,
        sanction=_sanction_view(await repo.sanction(rec.id)),
    )


async def record_offer_outcome(
    uow: Work, principal: Principal, cmd: RecordOfferOutcome, *, now: dt.datetime, today: dt.date
) -> PersonJobOffers:
    """The outcome (committed) and, on the refusal that reaches the policy's count, the
    sanction with its event; returns the person's job offers as `job_offers_read` does."""
    require_officer(principal)
    repo = uow.job_offers
    await repo.lock_record(cmd.record_id)
    rec = await _record(repo, principal, cmd.record_id)
    rid = cmd.recommendation_id
    svc = await repo.recommendation(rec.id, int(rid)) if rid.isascii() and rid.isdigit() and len(rid) < 19 else None
    if svc is None:
        raise NotFound("job recommendation not found")
    if svc.kind != "job_recommendation":
        raise Conflict("only a job-post recommendation has an outcome", code="not_a_job_recommendation")
    outcome = OfferOutcome(cmd.outcome)
    if outcome is OfferOutcome.REFUSED and cmd.valid_reason is None:
        raise Unprocessable(
            "a refusal says whether the reason was valid",
            errors=[FieldError("valid_reason", "is required when the outcome is refused")],
        )
    if await repo.outcome(svc.id) is not None:
        raise Conflict("the outcome of this recommendation is already recorded", code="outcome_recorded")
    await repo.add_outcome(
        OfferOutcomeRecord(
            service_id=svc.id,
            record_id=rec.id,
            outcome=str(outcome),
            valid_reason=cmd.valid_reason if outcome is OfferOutcome.REFUSED else None,
            note=cmd.note,
            by=Actor.of(principal).by,
            recorded_at=now,
        )
    )
    needed = int(policy_for(rec.region_code, today).resolved[_REFUSALS])
    already = await repo.sanction(rec.id) is not None
    due = sanction_due(await repo.outcomes(rec.id), refusals=needed, already_sanctioned=already)
    if due is not None:
        data = {
            "household_id": rec.household_id,
            "region_code": rec.region_code,
            "person_ref": rec.person_ref,
            "refusals": due.refusals,
            "recommendation_ids": list(due.recommendation_ids),
            "decided_at": now.isoformat(),
            "rule": "three_refused_offers",
            "source": due.source,
        }
        ev = Event("employment", "offers_refused", rec.household_id, rec.region_code, data, source=SOURCE)
        await repo.add_sanction(
            SanctionRecord(
                record_id=rec.id,
                person_ref=rec.person_ref,
                household_id=rec.household_id,
                region_code=rec.region_code,
                refusals=due.refusals,
                recommendation_ids=list(due.recommendation_ids),
                event_id=ev.id,
                decided_at=now,
            )
        )
        uow.add_event(ev)
    await uow.commit()
    return await job_offers_read(uow, principal, rec.id, today=today)
