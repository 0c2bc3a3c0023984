"""When a county's twice-yearly joint screening (两次集中排查, 003 §二(二)) is due (pure): one run per
half-year (H1 January–June, H2 July–December), due from the 1st of the half's policy month and
made up later in the same half if missed — never carried into the next half.

Seed 003 says "每年开展两次集中排查" without naming the months: a region sets
`joint_screening_first_month` (1–6) and `joint_screening_second_month` (7–12); where no version
names them the fangfan default applies — April and October (`DEFAULT_MONTHS`), documented as a
default that the county must confirm, and shown as such in every run's explanation."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

__all__ = [
    "DEFAULT_MONTHS",
    "DEFAULT_SOURCE",
    "JOINT_SCREENING_SOURCE",
    "JointScreeningSlot",
    "joint_screening_slot",
]

JOINT_SCREENING_SOURCE = (
    "003 §二(二): 民政部门与乡村振兴部门联合制定…集中排查工作方案,每年开展两次集中排查,排查结果互通、互认、互用"
)
#: (first half, second half): used only where no policy version names the months
DEFAULT_MONTHS = (4, 10)
DEFAULT_SOURCE = (
    "fangfan default, not from a seed — county must confirm (003 §二(二) names no months; April follows "
    "Liaoning's concentrated screening, 002 篇二 §(一)4: 4月25日前; October follows the 30 September income "
    "count, 002 篇一 §(三))"
)


@dataclass(frozen=True, slots=True)
class JointScreeningSlot:
    #: "YYYY-H1" or "YYYY-H2": with the county, the run's idempotency key
    period: str
    due_on: dt.date
    ends_on: dt.date
    month: int
    #: where the month comes from (the policy value's source, or DEFAULT_SOURCE)
    source: str

    def is_due(self, today: dt.date) -> bool:
        return self.due_on <= today <= self.ends_on


def joint_screening_slot(
    today: dt.date,
    first_month: int | None = None,
    second_month: int | None = None,
    *,
    first_source: str = "",
    second_source: str = "",
) -> JointScreeningSlot:
    """The half-year `today` falls in and the day its joint screening is due. A month left None
    takes the default; a first month outside 1–6 or a second outside 7–12 is a ValueError (each
    half-year must hold exactly one run)."""
    first, second = first_month, second_month
    if first is not None and not 1 <= first <= 6:
        raise ValueError("joint_screening_first_month must be 1–6 (January–June)")
    if second is not None and not 7 <= second <= 12:
        raise ValueError("joint_screening_second_month must be 7–12 (July–December)")
    if today.month <= 6:
        month, source = (first, first_source) if first is not None else (DEFAULT_MONTHS[0], DEFAULT_SOURCE)
        half, ends = "H1", dt.date(today.year, 6, 30)
    else:
        month, source = (second, second_source) if second is not None else (DEFAULT_MONTHS[1], DEFAULT_SOURCE)
        half, ends = "H2", dt.date(today.year, 12, 31)
    return JointScreeningSlot(f"{today.year}-{half}", dt.date(today.year, month, 1), ends, month, source)
