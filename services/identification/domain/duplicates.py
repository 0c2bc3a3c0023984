"""One person in two households (一人多户): the rules of duplicate-person records.

A duplicate is found when an application or an import row names a resident ID number that is
already a member of another household, or when it would match (by member ID number or household
number) a household outside the caller's jurisdiction — that household is never changed: the
request is refused and the duplicate is left to the level that covers both households.

Who resolves it (`resolving_region`): the lowest region covering both households — the county
for two villages of one county, else the province (of two provinces: the whole country, admin).

How (`plan_resolution`), with `household` the household that already held the person and
`other` the new record (the application's or the import row's household, None when the request
was refused and nothing was stored):

- `keep`: `household` keeps the person; `other` (if any) drops them.
- `move`: the person leaves `household` and stays only in `other` (needs `other`).
- `split`: the person leaves both and becomes a household of their own, in the region of one
  of the two (`household`'s by default).

No action changes the region of a household, and a household is never left without members."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

__all__ = [
    "DuplicateAction",
    "DuplicateMatch",
    "DuplicateStatus",
    "Resolution",
    "ResolutionRefused",
    "plan_resolution",
    "resolving_region",
]


class DuplicateAction(StrEnum):
    KEEP = "keep"
    MOVE = "move"
    SPLIT = "split"


class DuplicateStatus(StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"


class DuplicateMatch(StrEnum):
    #: a member's resident ID number (blind index) is already a member of `household`
    ID_NUMBER = "id_number"
    #: the request's household number is `household`'s (outside the caller's jurisdiction)
    HOUSEHOLD_NUMBER = "household_number"


def resolving_region(a: str, b: str) -> str:
    """The region that must resolve a duplicate between households in regions `a` and `b`: the
    county when both lie in one county, else the province when both lie in one, else "" (the
    whole country: an administrator)."""
    if a[:6] == b[:6] and len(a) >= 6 and len(b) >= 6:
        return a[:6]
    if a[:2] == b[:2] and len(a) >= 2 and len(b) >= 2:
        return a[:2]
    return ""


class ResolutionRefused(Exception):
    def __init__(self, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field


@dataclass(frozen=True, slots=True)
class Resolution:
    """What to do: drop the person from these households (by id), and whether a household of
    their own is made, in which region."""

    remove_from: tuple[str, ...]
    new_household_region: str | None = None


def plan_resolution(
    action: str,
    *,
    household_id: str,
    household_region: str,
    household_members: int,
    other_id: str | None,
    other_region: str,
    other_members: int,
    person_in_household: bool,
    person_in_other: bool,
    split_region: str | None = None,
) -> Resolution:
    """The changes an action makes (see the module doc). `*_members`: current member counts;
    `person_in_*`: whether the person is (still) a member there. Raises `ResolutionRefused`."""
    try:
        act = DuplicateAction(action)
    except ValueError:
        raise ResolutionRefused("bad_action", "action must be keep, move or split", "action") from None

    def drop(hid: str, present: bool, count: int) -> tuple[str, ...]:
        if not present:
            return ()
        if count <= 1:
            raise ResolutionRefused(
                "last_member", "the person is the only member of a household that would lose them; use split or keep"
            )
        return (hid,)

    if act is DuplicateAction.KEEP:
        if other_id is None:
            return Resolution(())
        return Resolution(drop(other_id, person_in_other, other_members))
    if act is DuplicateAction.MOVE:
        if other_id is None:
            raise ResolutionRefused(
                "no_other_household", "the request was refused and stored no household to move the person to"
            )
        return Resolution(drop(household_id, person_in_household, household_members))
    region = split_region or household_region
    if region not in (household_region, other_region):
        raise ResolutionRefused(
            "bad_region", "a split household lies in the region of one of the two households", "region_code"
        )
    removed = drop(household_id, person_in_household, household_members)
    if other_id is not None:
        removed += drop(other_id, person_in_other, other_members)
    if not (person_in_household or person_in_other):
        raise ResolutionRefused("person_gone", "the person is no longer a member of either household")
    return Resolution(removed, new_household_region=region)
