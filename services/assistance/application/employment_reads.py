"""Read use cases of the employment services: a laborer's record with the services given, the
records of a region, and the 1 + 5 standard per village (typed read models of `views.py`)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from services.assistance.domain.employment import STANDARD_SOURCE, check_standard
from shared.auth import Principal
from shared.errors import NotFound
from shared.pii import mask_numbers_in_value

from .common import policy_for, region_filter, require_reader
from .ports import Reads
from .records import EmploymentRecord
from .views import EmploymentRecordView, EmploymentStandard, ServiceView, Shortfall, StandardRule, VillageStandard

__all__ = [
    "CheckStandard",
    "ListRecords",
    "employment_standard",
    "get_record",
    "list_records",
    "record_view",
]


@dataclass(frozen=True, slots=True)
class ListRecords:
    region: str | None = None
    household_id: str | None = None


@dataclass(frozen=True, slots=True)
class CheckStandard:
    """The 1 + 5 standard for the villages in `region` (within the caller's; default theirs)."""

    region: str | None = None


async def record_view(reads: Reads, row: EmploymentRecord) -> EmploymentRecordView:
    return EmploymentRecordView(
        id=row.id,
        person_ref=row.person_ref,
        household_id=row.household_id,
        region_code=row.region_code,
        survey=mask_numbers_in_value(row.survey),  # masked when written; again for older rows
        services=tuple(
            ServiceView(
                id=str(s.id),  # a job recommendation's outcome is recorded against it
                kind=s.kind,
                provided_on=s.provided_on,
                detail=mask_numbers_in_value(s.detail),
            )
            for s in await reads.services(row.id)
        ),
    )


async def list_records(reads: Reads, principal: Principal, q: ListRecords) -> list[EmploymentRecordView]:
    require_reader(principal)
    rows = await reads.employment_records(region_filter(principal, q.region), q.household_id)
    return [await record_view(reads, r) for r in rows]


async def get_record(reads: Reads, principal: Principal, record_id: str) -> EmploymentRecordView:
    require_reader(principal)
    row = await reads.employment_record(record_id)
    if row is None or not principal.sees(row.region_code):
        raise NotFound("employment record not found")
    return await record_view(reads, row)


@dataclass(slots=True)
class _Village:
    rule: StandardRule
    laborers: int = 0
    meeting: int = 0
    short: list[Shortfall] = field(default_factory=list)


async def employment_standard(
    reads: Reads, principal: Principal, q: CheckStandard, *, today: dt.date
) -> EmploymentStandard:
    """The 1 + 5 standard per village: laborers, how many meet it, who falls short and by what."""
    require_reader(principal)
    scope = region_filter(principal, q.region)
    rows = await reads.laborers(scope)
    kinds = await reads.service_kinds([r.id for r in rows])
    villages: dict[str, _Village] = {}
    for r in rows:
        policy = policy_for(r.region_code, today).employment
        result = check_standard(kinds.get(r.id, []), policy)
        v = villages.get(r.region_code)
        if v is None:  # the standard of the village's first laborer, as it applies there today
            rule = StandardRule(policy.min_guidance_or_training, policy.min_job_recommendations)
            v = villages[r.region_code] = _Village(rule)
        v.laborers += 1
        if result.met:
            v.meeting += 1
        else:
            v.short.append(
                Shortfall(
                    record_id=r.id,
                    person_ref=r.person_ref,
                    guidance_or_training=result.guidance_or_training,
                    job_recommendations=result.job_recommendations,
                    missing=tuple(result.missing),
                )
            )
    return EmploymentStandard(
        region=scope,
        as_of=today,
        source=STANDARD_SOURCE,
        villages=tuple(
            VillageStandard(code, v.laborers, v.meeting, v.rule, tuple(v.short)) for code, v in villages.items()
        ),
    )
