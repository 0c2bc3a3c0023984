"""Use cases on one stored household and on jobs: read a household (masked, or revealed to
county and above with the read audited), and a job's progress (`GET /jobs/{id}`)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from services.identification.application.loops import HouseholdLoops, household_loops
from services.identification.application.negative_flags import exclusions_of
from services.identification.application.ports import Work
from shared.app import ServiceContext
from shared.auth import Principal
from shared.errors import FieldError, Forbidden, NotFound, Unprocessable
from shared.logging import request_id_var
from shared.pii import mask_numbers_in_text

if TYPE_CHECKING:
    from services.identification.application.stored import Job

__all__ = ["HouseholdRead", "JobStatus", "MemberRead", "ReadHousehold", "job_status", "read_household"]

_READERS = frozenset({"province", "county", "township", "village", "contact", "admin"})
_REVEALERS = frozenset({"county", "province", "admin"})


@dataclass(frozen=True, slots=True)
class MemberRead:
    """A member as `GET /households/{id}` shows it: `id_number` masked (clear when revealed),
    `name` only when revealed."""

    position: int
    relation: str
    sex: str
    birth_date: dt.date
    labor_capacity: str
    disability_grade: int | None
    disability_kind: str | None
    serious_illness: bool
    schooling: str
    id_number: str | None
    name: str | None


@dataclass(frozen=True, slots=True)
class HouseholdRead:
    """One stored household with its latest evaluation, members (masked unless `unmasked`),
    what monitoring's loops know of it (`loops`: measures, re-assessment, red mark), the
    negative-list exclusions its facts show and the flags other services raised on it."""

    id: str
    household_number: str
    region_code: str
    status: str
    category: str | None
    low_income_category: str | None
    warning: str | None
    per_capita_income: Decimal | None
    escaped_poverty: bool
    dibao_status: str
    members: tuple[MemberRead, ...]
    unmasked: bool
    loops: HouseholdLoops
    exclusions: tuple[Mapping[str, str], ...]
    negative_list_flags: tuple[Mapping[str, Any], ...]


@dataclass(frozen=True, slots=True)
class ReadHousehold:
    """`reveal`: `id_number` for clear ID numbers and names; `reason`: why (audited)."""

    household_id: str
    reveal: str | None = None
    reason: str | None = None


async def read_household(
    ctx: ServiceContext, work: Work, principal: Principal, command: ReadHousehold
) -> HouseholdRead:
    """Members' ID numbers come masked and names not at all; revealed, the read is written to
    the hash-chained log of unmasked reads in the same transaction (committed with it)."""
    if principal.role not in _READERS:
        raise Forbidden("households are for officers, contact persons and administrators", code="role_not_allowed")
    wants_clear = command.reveal is not None
    reason = (command.reason or "").strip()
    if wants_clear:
        if command.reveal != "id_number":
            raise Unprocessable("reveal takes id_number", errors=[FieldError("reveal", "must be id_number")])
        if principal.role not in _REVEALERS:
            raise Forbidden("only county, province and admin may read unmasked ID numbers", code="unmask_forbidden")
        if not reason:
            raise Unprocessable("say why", errors=[FieldError("reason", "required with reveal (it is audited)")])
    if not wants_clear:  # the household, its outcome and the re-assessment explaining it agree
        await work.snapshot()
    stored = await work.households.get(command.household_id, cipher=ctx.cipher if wants_clear else None)
    if stored is None or not principal.sees(stored.region_code):
        raise NotFound("no such household in your jurisdiction")
    loops = await household_loops(work, stored.id)  # measures, re-assessment, red mark
    flags = await work.households.flags(stored.id)  # negative-list flags from other services
    if wants_clear:
        await work.audit.unmasked_read(
            actor=principal.sub,
            role=principal.role,
            household_id=stored.id,
            fields="id_number,name",
            reason=mask_numbers_in_text(reason),  # kept in clear: no numbers
            request_id=request_id_var.get(),
        )
        await work.commit()
    members = tuple(
        MemberRead(
            position=m.position,
            relation=m.relation,
            sex=m.sex,
            birth_date=m.birth_date,
            labor_capacity=m.labor_capacity,
            disability_grade=m.disability_grade,
            disability_kind=m.disability_kind,
            serious_illness=m.serious_illness,
            schooling=m.schooling,
            id_number=m.id_number if wants_clear else m.id_number_masked,
            name=m.name if wants_clear else None,
        )
        for m in stored.members
    )
    return HouseholdRead(
        id=stored.id,
        household_number=stored.household_number,
        region_code=stored.region_code,
        status=stored.status,
        category=stored.category,
        low_income_category=stored.low_income_category,
        warning=stored.warning,
        per_capita_income=stored.per_capita_income,
        escaped_poverty=stored.escaped_poverty,
        dibao_status=stored.dibao_status,
        members=members,
        unmasked=wants_clear,
        loops=loops,
        exclusions=tuple(exclusions_of(stored)),  # the negative list from the stored facts
        negative_list_flags=tuple(flags),  # flags raised by other services, with their explanation
    )


@dataclass(frozen=True, slots=True)
class JobStatus:
    """A job and, for a screening, which replica did which of its chunks."""

    job: Job
    chunks: dict[str, Any] | None = None


async def job_status(work: Work, principal: Principal, job_id: str) -> JobStatus:
    """An import's or a screening's progress and error report, for its region or its creator;
    a screening's also says which replica did which chunks."""
    if len(job_id) > 36:
        raise Unprocessable("bad job id", errors=[FieldError("job_id", "not a job id")])
    job = await work.imports.get_job(job_id)
    if job is None or not (principal.sees(job.region) or job.created_by == principal.sub):
        raise NotFound("no such job")
    if job.kind == "screening":
        return JobStatus(job, await work.imports.chunk_summary(job.id))
    return JobStatus(job)
