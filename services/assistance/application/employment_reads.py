"""Read use cases of the employment services: a laborer's record with the services given, the
records of a region, and the 1 + 5 standard per village."""

from __future__ import annotations

import datetime as dt
from typing import Any

from services.assistance.domain.employment import STANDARD_SOURCE, check_standard
from shared.auth import Principal
from shared.errors import NotFound
from shared.pii import mask_numbers_in_value

from .common import policy_for, region_filter, require_reader
from .ports import Reads
from .records import EmploymentRecord

__all__ = ["employment_standard", "get_record", "list_records", "record_read"]


async def record_read(reads: Reads, row: EmploymentRecord) -> dict[str, Any]:
    return {
        "id": row.id,
        "person_ref": row.person_ref,
        "household_id": row.household_id,
        "region_code": row.region_code,
        "survey": mask_numbers_in_value(row.survey),  # masked when written; again for older rows
        "services": [
            {
                "id": str(s.id),  # a job recommendation's outcome is recorded against it
                "kind": s.kind,
                "provided_on": s.provided_on.isoformat(),
                "detail": mask_numbers_in_value(s.detail),
            }
            for s in await reads.services(row.id)
        ],
    }


async def list_records(
    reads: Reads, principal: Principal, *, region: str | None, household_id: str | None
) -> list[dict[str, Any]]:
    require_reader(principal)
    rows = await reads.employment_records(region_filter(principal, region), household_id)
    return [await record_read(reads, r) for r in rows]


async def get_record(reads: Reads, principal: Principal, record_id: str) -> dict[str, Any]:
    require_reader(principal)
    row = await reads.employment_record(record_id)
    if row is None or not principal.sees(row.region_code):
        raise NotFound("employment record not found")
    return await record_read(reads, row)


async def employment_standard(
    reads: Reads, principal: Principal, *, region: str | None, today: dt.date
) -> dict[str, Any]:
    """The 1 + 5 standard per village: laborers, how many meet it, who falls short and by what."""
    require_reader(principal)
    scope = region_filter(principal, region)
    rows = await reads.laborers(scope)
    kinds = await reads.service_kinds([r.id for r in rows])
    villages: dict[str, dict[str, Any]] = {}
    for r in rows:
        policy = policy_for(r.region_code, today).employment
        result = check_standard(kinds.get(r.id, []), policy)
        v = villages.setdefault(
            r.region_code,
            {
                "region_code": r.region_code,
                "laborers": 0,
                "meeting_standard": 0,
                "standard": {
                    "min_guidance_or_training": policy.min_guidance_or_training,
                    "min_job_recommendations": policy.min_job_recommendations,
                },
                "short": [],
            },
        )
        v["laborers"] += 1
        if result.met:
            v["meeting_standard"] += 1
        else:
            v["short"].append(
                {
                    "record_id": r.id,
                    "person_ref": r.person_ref,
                    "guidance_or_training": result.guidance_or_training,
                    "job_recommendations": result.job_recommendations,
                    "missing": list(result.missing),
                }
            )
    return {"region": scope, "as_of": today.isoformat(), "source": STANDARD_SOURCE, "villages": list(villages.values())}
