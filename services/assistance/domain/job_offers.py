"""The outcome of each job-post recommendation (就业岗位信息推荐) and the sanction after refused
offers: a person who, without a valid reason, refuses the job offers recommended to them
`refusals` times in a row (3 in the seed) has their own dibao benefit reduced or stopped
(000 safety-net §三(二)1: 无正当理由连续3次拒绝接受介绍与其健康状况相适应工作的,核减或停发其本人低保资金).

"In a row": an accepted offer starts the count again; a refusal with a valid reason (illness,
care duties, an unsuitable post) and an unanswered recommendation neither count nor reset it.
Pure."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

__all__ = ["SANCTION_SOURCE", "OfferOutcome", "RecordedOutcome", "Sanction", "refusals_in_a_row", "sanction_due"]

SANCTION_SOURCE = (
    "000 safety-net §三(二)1: 无正当理由连续3次拒绝接受介绍与其健康状况相适应工作的,核减或停发其本人低保资金"
)


class OfferOutcome(StrEnum):
    ACCEPTED = "accepted"
    REFUSED = "refused"
    NO_ANSWER = "no_answer"


@dataclass(frozen=True, slots=True)
class RecordedOutcome:
    """One recommendation's outcome, in the order the recommendations were given."""

    recommendation_id: str
    outcome: OfferOutcome
    valid_reason: bool = False

    @property
    def counts(self) -> bool:
        return self.outcome is OfferOutcome.REFUSED and not self.valid_reason


@dataclass(frozen=True, slots=True)
class Sanction:
    refusals: int
    recommendation_ids: tuple[str, ...]
    source: str = SANCTION_SOURCE


def refusals_in_a_row(outcomes: Iterable[RecordedOutcome]) -> list[str]:
    """The recommendations refused without a valid reason since the last accepted offer."""
    run: list[str] = []
    for o in outcomes:
        if o.outcome is OfferOutcome.ACCEPTED:
            run = []
        elif o.counts:
            run.append(o.recommendation_id)
    return run


def sanction_due(outcomes: Iterable[RecordedOutcome], *, refusals: int, already_sanctioned: bool) -> Sanction | None:
    """The sanction once the run reaches `refusals` (exactly once per person: None when it was
    already decided)."""
    run = refusals_in_a_row(outcomes)
    if already_sanctioned or len(run) < refusals:
        return None
    return Sanction(refusals, tuple(run[-refusals:]))
