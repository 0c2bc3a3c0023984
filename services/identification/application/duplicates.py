"""Use cases of duplicate persons (一人多户) and of matching inside the caller's jurisdiction.

- `match_household`: the household an application is about — by household number, else by a
  member's ID number (blind index) — found only inside the caller's jurisdiction. A match outside
  it is a refusal (`HouseholdConflict`, 409 `household_conflict`, neutral) recorded as a refused
  duplicate for the region covering both; members also found in other households of the
  jurisdiction are flagged as open duplicates.
- `record_sightings`: store duplicates (an open record for the same person and households is
  seen again, not stored twice), `fangfan.household.duplicate_found` to the outbox.
- `import_sightings`: the duplicates of an import chunk (members already in other households,
  read before the chunk is written: `HouseholdRepository.member_holders`).
- `list_duplicates`, `resolve_duplicate` (keep | move | split, domain.duplicates)."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from services.identification.application.household_input import MEMBER_FIELDS, HouseholdIn
from services.identification.application.ports import DuplicateRow, Work, open_work
from services.identification.application.stored import HouseholdRecord, StoredHousehold
from services.identification.domain.duplicates import (
    DuplicateMatch,
    DuplicateStatus,
    ResolutionRefused,
    plan_resolution,
    resolving_region,
)
from shared.app import ServiceContext
from shared.auth import Principal
from shared.errors import Conflict, FieldError, Forbidden, NotFound, Unprocessable
from shared.events import Event
from shared.identifiers import region_within, time_ordered_uuids
from shared.pii import mask_id_number, mask_numbers_in_text

__all__ = [
    "CONFLICT_CODE",
    "CONFLICT_MESSAGE",
    "DuplicatePage",
    "DuplicateRecord",
    "HouseholdConflict",
    "HouseholdMatch",
    "ListDuplicates",
    "ResolveDuplicate",
    "Sighting",
    "import_sightings",
    "list_duplicates",
    "match_household",
    "record_sightings",
    "resolve_duplicate",
]

SOURCE = "identification"
CONFLICT_CODE = "household_conflict"
#: Says nothing about the other household (not its region, id, members or even whether the match
#: was by number or by person): only that the request cannot be taken here.
CONFLICT_MESSAGE = (
    "this household cannot be registered or changed here; it was referred to the level above for checking"
)
RESOLVER_ROLES = ("county", "province", "admin")
_HISTORY_MAX = 100


@dataclass(frozen=True, slots=True)
class Sighting:
    """A duplicate seen: `household_id` (in `region_code`) already held the person or number;
    `other_*` is the new record (None: the request was refused and stored nothing)."""

    match: str
    person_index: str | None
    person_masked: str | None
    household_id: str
    region_code: str
    other_household_id: str | None
    other_region_code: str
    refused: bool


class HouseholdConflict(Conflict):
    def __init__(self) -> None:
        super().__init__(CONFLICT_MESSAGE, code=CONFLICT_CODE)


@dataclass
class HouseholdMatch:
    """`household_id`: the caller's household the request is about (None: a new one);
    `refused`: matches outside the jurisdiction (the request must be refused); `flags`: members
    found in other households of the jurisdiction (their `other_household_id` is filled in once
    the request's household is stored)."""

    household_id: str | None = None
    refused: list[Sighting] = field(default_factory=list)
    flags: list[Sighting] = field(default_factory=list)


async def match_household(
    ctx: ServiceContext,
    work: Work,
    principal: Principal,
    body: HouseholdIn,
    household_number: str | None,
    region_code: str,
) -> HouseholdMatch:
    """Match an application to a household inside `principal`'s jurisdiction (module doc)."""
    result = HouseholdMatch()
    if household_number:
        found = await work.households.by_number(household_number)
        if found is not None:
            found_id, found_region = found
            if principal.sees(found_region):
                result.household_id = found_id
            else:
                result.refused.append(
                    Sighting(
                        str(DuplicateMatch.HOUSEHOLD_NUMBER),
                        None,
                        None,
                        found_id,
                        found_region,
                        None,
                        region_code,
                        True,
                    )
                )
    persons = [(ctx.cipher.blind_index(m.id_number), mask_id_number(m.id_number)) for m in body.members]
    hits = await work.households.member_households([p[0] for p in persons])
    for index, masked in persons:
        for hid, region in hits.get(index, []):
            if not principal.sees(region):
                result.refused.append(
                    Sighting(str(DuplicateMatch.ID_NUMBER), index, masked, hid, region, None, region_code, True)
                )
            elif result.household_id is None:
                result.household_id = hid
    if result.refused:
        return result
    for index, masked in persons:
        for hid, region in hits.get(index, []):
            if hid != result.household_id:
                result.flags.append(
                    Sighting(str(DuplicateMatch.ID_NUMBER), index, masked, hid, region, None, region_code, False)
                )
    return result


def _key(match: str, person: str | None, a: str, b: str | None, b_region: str) -> tuple[Any, ...]:
    return (match, person, a, b, b_region if b is None else "")


async def record_sightings(
    uow: Work,
    sightings: Sequence[Sighting],
    *,
    origin: str,
    by: str,
    role: str,
    at: dt.datetime,
) -> int:
    """Store the duplicates; one already open for the same person (or number) and the same two
    households is seen again (`seen` + 1, a history entry). Returns how many are new."""
    if not sightings:
        return 0
    ids = {s.household_id for s in sightings} | {s.other_household_id for s in sightings if s.other_household_id}
    open_rows: dict[tuple[Any, ...], DuplicateRow] = {}
    for r in await uow.duplicates.open_touching(sorted(ids)):
        open_rows[_key(r.match, r.person_index, r.household_id, r.other_household_id, r.other_region_code)] = r
        if r.other_household_id:
            open_rows[_key(r.match, r.person_index, r.other_household_id, r.household_id, "")] = r
    new = 0
    entry = {"by": by, "role": role, "at": at.isoformat(), "origin": origin}
    for s in sightings:
        key = _key(s.match, s.person_index, s.household_id, s.other_household_id, s.other_region_code)
        row = open_rows.get(key)
        if row is not None:
            history = json.loads(row.history)
            if len(history) < _HISTORY_MAX:
                history.append({"event": "seen", **entry})
            text = json.dumps(history, ensure_ascii=False)
            await uow.duplicates.seen_again(row.id, history=text, at=at)
            if isinstance(row, _Row):
                row.history = text
            continue
        did = time_ordered_uuids(1)[0]
        resolve = resolving_region(s.region_code, s.other_region_code)
        values = {
            "id": did,
            "match": s.match,
            "person_index": s.person_index,
            "person_masked": s.person_masked,
            "household_id": s.household_id,
            "region_code": s.region_code,
            "other_household_id": s.other_household_id,
            "other_region_code": s.other_region_code,
            "resolve_region": resolve,
            "origin": origin,
            "refused": s.refused,
            "found_by": by,
            "found_at": at,
            "seen": 1,
            "status": str(DuplicateStatus.OPEN),
            "history": json.dumps([{"event": "found", **entry}], ensure_ascii=False),
            "updated_at": at,
        }
        await uow.duplicates.add(values)
        open_rows[key] = _Row(values)
        uow.add_event(_event("duplicate_found", values, at))
        new += 1
    return new


class _Row:
    """A just-inserted (or just-resolved) record, read like a result row (`DuplicateRow`)."""

    id: str
    match: str
    person_index: str | None
    person_masked: str | None
    household_id: str
    region_code: str
    other_household_id: str | None
    other_region_code: str
    resolve_region: str
    origin: str
    refused: bool
    found_by: str
    found_at: dt.datetime
    seen: int
    status: str
    resolution: str | None
    resolution_note: str | None
    resolved_by: str | None
    resolved_at: dt.datetime | None
    split_household_id: str | None
    history: str

    def __init__(self, values: dict[str, Any]) -> None:
        self.__dict__.update(values)


def _event(name: str, v: Mapping[str, Any], at: dt.datetime) -> Event:
    region = v["resolve_region"] or v["region_code"][:2]
    data = {
        "duplicate_id": v["id"],
        "match": v["match"],
        "household_id": v["household_id"],
        "region_code": v["region_code"],
        "other_household_id": v["other_household_id"],
        "other_region_code": v["other_region_code"],
        "resolve_region": v["resolve_region"],
        "origin": v["origin"],
        "refused": bool(v["refused"]),
        "status": v["status"],
        "at": at.isoformat(),
    }
    if name == "duplicate_resolved":
        data.update(
            resolution=v["resolution"],
            split_household_id=v["split_household_id"],
            changed_household_ids=v.get("changed_household_ids", []),
        )
    return Event("household", name, v["household_id"], region, data, source=SOURCE)


def import_sightings(
    persons: Sequence[Sequence[tuple[str, str]]],
    household_ids: Sequence[str | None],
    regions: Sequence[str],
    before: dict[str, list[tuple[str, str]]],
) -> list[Sighting]:
    """The duplicates of an import chunk: per written household (its id — None: not written —,
    region and members' (blind index, masked ID)), every other household holding one of its
    members: one stored before (`before`: `HouseholdRepository.member_holders` read before the chunk was written;
    the chunk's own households there are their old versions and are left out) or another row of
    the chunk. A pair of households is reported once per person."""
    counts = Counter(idx for ps, hid in zip(persons, household_ids, strict=True) if hid is not None for idx, _ in ps)
    # the persons another household may hold: twice in the chunk, or stored before
    shared = {idx for idx, n in counts.items() if n > 1}
    shared.update(idx for idx in before if idx in counts)
    if not shared:
        return []  # the usual case: nobody else holds any of these persons
    own = {hid for hid in household_ids if hid}
    in_chunk: dict[str, list[tuple[str, str]]] = {}
    for ps, hid, region in zip(persons, household_ids, regions, strict=True):
        if hid is not None:
            for idx, _ in ps:
                if idx in shared:
                    in_chunk.setdefault(idx, []).append((hid, region))
    out: list[Sighting] = []
    seen: set[tuple[str, frozenset[str]]] = set()
    for ps, hid, region in zip(persons, household_ids, regions, strict=True):
        if hid is None:
            continue
        for index, masked in ps:
            if index not in shared:
                continue  # nobody else holds this person (its own row only)
            holders = in_chunk[index]
            stored = [h for h in before.get(index, ()) if h[0] not in own]
            for other, other_region in [*stored, *holders]:
                if other == hid:
                    continue
                pair = (index, frozenset((hid, other)))
                if pair in seen:
                    continue
                seen.add(pair)
                out.append(
                    Sighting(str(DuplicateMatch.ID_NUMBER), index, masked, other, other_region, hid, region, False)
                )
    return out


# --------------------------------------------------------------------------- read


@dataclass(frozen=True, slots=True)
class DuplicateRecord:
    """A duplicate-person record as its resolvers see it (the person's ID number masked)."""

    id: str
    match: str
    person_masked: str | None
    household_id: str
    region_code: str
    other_household_id: str | None
    other_region_code: str
    resolve_region: str
    origin: str
    refused: bool
    status: str
    found_by: str
    found_at: dt.datetime | None
    seen: int
    resolution: str | None
    resolution_note: str | None
    resolved_by: str | None
    resolved_at: dt.datetime | None
    split_household_id: str | None
    history: tuple[Mapping[str, Any], ...]


@dataclass(frozen=True, slots=True)
class DuplicatePage:
    """One page of `list_duplicates`: `next` is the cursor of the next page (None: the last)."""

    region: str
    status: str
    items: tuple[DuplicateRecord, ...]
    next: str | None


def _read(row: DuplicateRow) -> DuplicateRecord:
    return DuplicateRecord(
        id=row.id,
        match=row.match,
        person_masked=row.person_masked,
        household_id=row.household_id,
        region_code=row.region_code,
        other_household_id=row.other_household_id,
        other_region_code=row.other_region_code,
        resolve_region=row.resolve_region,
        origin=row.origin,
        refused=bool(row.refused),
        status=row.status,
        found_by=row.found_by,
        found_at=row.found_at or None,
        seen=row.seen,
        resolution=row.resolution,
        resolution_note=row.resolution_note,
        resolved_by=row.resolved_by,
        resolved_at=row.resolved_at or None,
        split_household_id=row.split_household_id,
        history=tuple(json.loads(row.history)),
    )


def _require_resolver(principal: Principal) -> None:
    if principal.role not in RESOLVER_ROLES:
        raise Forbidden("duplicates are for county and province officers", code="role_not_allowed")


def _resolver_sees(principal: Principal, resolve_region: str) -> bool:
    return principal.region == "" or (resolve_region != "" and region_within(resolve_region, principal.region))


@dataclass(frozen=True, slots=True)
class ListDuplicates:
    """Duplicates in `status` whose resolving region is inside `region` (the caller's when
    None), `limit` a page, after the cursor `after`."""

    status: str = "open"
    region: str | None = None
    limit: int = 100
    after: str | None = None


async def list_duplicates(work: Work, principal: Principal, command: ListDuplicates) -> DuplicatePage:
    """Duplicates the caller resolves (their `resolve_region` inside the caller's region and
    `region`), oldest first, `limit` a page; `next`: the cursor of the next page."""
    _require_resolver(principal)
    status, limit = command.status, command.limit
    prefix = principal.region if command.region is None else command.region
    if not (principal.region == "" or (prefix and region_within(prefix, principal.region))):
        return DuplicatePage(region=prefix, status=status, items=(), next=None)
    rows = await work.duplicates.page(status=status, prefix=prefix, after=command.after, limit=limit + 1)
    items = tuple(_read(r) for r in rows[:limit])
    return DuplicatePage(region=prefix, status=status, items=items, next=items[-1].id if len(rows) > limit else None)


# --------------------------------------------------------------------------- resolve


def _household_in(stored: StoredHousehold, keep: Sequence[Any]) -> HouseholdIn:
    f = stored.facts
    return HouseholdIn.model_validate(
        {
            "members": [{name: getattr(m, name) for name in MEMBER_FIELDS} for m in keep],
            "escaped_poverty": stored.escaped_poverty,
            "income": f.get("income") or {},
            "expenses": f.get("expenses") or {},
            "last_year_income": f.get("last_year_income"),
            "assets": f.get("assets") or {},
            "dibao_status": stored.dibao_status,
            "declared_risks": f.get("declared_risks") or [],
        }
    )


@dataclass(frozen=True, slots=True)
class ResolveDuplicate:
    """Resolve duplicate `duplicate_id`: `keep`, `move` or `split` (into village `region_code`,
    the first household's by default), and why (`note`, kept with numbers masked)."""

    duplicate_id: str
    action: str
    note: str
    region_code: str | None = None


async def resolve_duplicate(ctx: ServiceContext, principal: Principal, command: ResolveDuplicate) -> DuplicateRecord:
    """Resolve an open duplicate (domain.duplicates.plan_resolution): the households lose or
    keep the person (stored again through the household repository, their region unchanged), a
    split makes the person's own household; the record is closed with who, when, why, and
    `fangfan.household.duplicate_resolved` goes to the outbox. 404 outside the caller's region."""
    _require_resolver(principal)
    duplicate_id, action, note, region_code = command.duplicate_id, command.action, command.note, command.region_code
    at = ctx.now()
    by = principal.sub
    async with open_work(ctx) as uow:
        row = await uow.duplicates.get(duplicate_id)
        if row is None or not _resolver_sees(principal, row.resolve_region):
            raise NotFound("no such duplicate")
        if row.status != str(DuplicateStatus.OPEN):
            raise Conflict("this duplicate is already resolved", code="duplicate_resolved")
        if row.match == DuplicateMatch.HOUSEHOLD_NUMBER and action != "keep":
            raise Conflict(
                "a household-number conflict has no person to move: the existing household keeps its number",
                code="not_a_person",
            )
        first = await uow.households.get(row.household_id, cipher=ctx.cipher)
        if first is None:
            raise Conflict("the household no longer exists", code="household_gone")
        other = None
        if row.other_household_id:
            other = await uow.households.get(row.other_household_id, cipher=ctx.cipher)

        def is_person(m: Any) -> bool:
            return bool(m.id_number) and ctx.cipher.blind_index(m.id_number) == row.person_index

        def holds(h: StoredHousehold | None) -> list[Any]:
            return [] if h is None or row.person_index is None else [m for m in h.members if is_person(m)]

        in_first, in_other = holds(first), holds(other)
        try:
            plan = plan_resolution(
                action,
                household_id=first.id,
                household_region=first.region_code,
                household_members=len(first.members),
                other_id=other.id if other else None,
                other_region=other.region_code if other else row.other_region_code,
                other_members=len(other.members) if other else 0,
                person_in_household=bool(in_first),
                person_in_other=bool(in_other),
                split_region=region_code,
            )
        except ResolutionRefused as exc:
            if exc.field:
                raise Unprocessable(exc.message, code=exc.code, errors=[FieldError(exc.field, exc.message)]) from None
            raise Conflict(exc.message, code=exc.code) from None
        changed: list[str] = []
        for h in (first, other):
            if h is None or h.id not in plan.remove_from:
                continue
            keep = [m for m in h.members if not is_person(m)]
            record = HouseholdRecord(h.household_number, h.region_code, _household_in(h, keep), h.phone)
            await uow.households.upsert(ctx.cipher, record, source="duplicate")
            changed.append(h.id)
        split_id = None
        if plan.new_household_region is not None:
            person = (in_first or in_other)[0]
            source_household = first if in_first else other
            assert source_household is not None
            alone = _household_in(source_household, [person])
            alone = alone.model_copy(
                update={"members": [alone.members[0].model_copy(update={"relation": "head"})], "declared_risks": []}
            )
            number = f"SPLIT-{uuid.uuid4().hex[:20]}"
            outcome = await uow.households.upsert(
                ctx.cipher, HouseholdRecord(number, plan.new_household_region, alone), source="duplicate"
            )
            split_id = outcome.household_id
        history = json.loads(row.history)
        history.append(
            {
                "event": "resolved",
                "by": by,
                "role": principal.role,
                "at": at.isoformat(),
                "action": action,
                "note": mask_numbers_in_text(note),
                "changed_household_ids": changed,
                "split_household_id": split_id,
            }
        )
        after = await uow.duplicates.resolve(
            row.id,
            {
                "resolution": action,
                "resolution_note": mask_numbers_in_text(note),
                "resolved_by": by,
                "resolved_at": at,
                "split_household_id": split_id,
                "history": json.dumps(history, ensure_ascii=False),
                "updated_at": at,
            },
        )
        if after is None:
            raise Conflict("this duplicate is already resolved", code="duplicate_resolved")
        values = dict(after, changed_household_ids=changed)
        uow.add_event(_event("duplicate_resolved", values, at))
        response = _read(_Row(after))
        await uow.commit()
    return response
