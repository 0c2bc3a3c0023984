"""Payloads civil affairs produces: appeals, complaints (docs/civil-affairs.md) and the dibao /
特困 / temporary-relief procedure (`social_assistance.*`, docs/subsidy.md "Payment orders")."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

from shared.contracts._registry import contract, wire

__all__ = [
    "AppealDecided",
    "AppealEvent",
    "AppealOverdue",
    "AppealReceived",
    "AppealReminderDue",
    "AppealWithdrawn",
    "ApplicationStatusChanged",
    "ComplaintAcknowledged",
    "ComplaintClosed",
    "ComplaintEvent",
    "ComplaintOverdue",
    "ComplaintReminderDue",
    "ComplaintReopened",
    "ComplaintReplied",
    "ComplaintRouted",
    "Enrolled",
    "ExitStarted",
    "Exited",
    "MemberExcluded",
    "PaymentOrdered",
    "PaymentReference",
    "SocialAssistanceApplicationSubmitted",
]

_frozen = dataclass(frozen=True, slots=True, kw_only=True)


@_frozen
class AppealEvent:
    """Every `appeal.*` event: the appeal's place in the procedure, never its grounds."""

    appeal_id: str
    household_id: str
    region_code: str
    subject_kind: str
    subject_id: str
    state: str
    decided_level: str
    review_level: str
    review_region: str
    deadline: dt.date
    appellant_sub_hash: str | None


contract("appeal", "review_started")(AppealEvent)


@contract("appeal", "received")
@_frozen
class AppealReceived(AppealEvent):
    filed_by_role: str


@contract("appeal", "withdrawn")
@_frozen
class AppealWithdrawn(AppealEvent):
    withdrawn_by_role: str


@contract("appeal", "decided")
@_frozen
class AppealDecided(AppealEvent):
    outcome: str
    reason: str | None  # masked: no names, ID or phone numbers
    decided_on: dt.date
    decided_by_role: str
    subject_reopened: bool


@contract("appeal", "reminder_due")
@_frozen
class AppealReminderDue(AppealEvent):
    days_left: int


@contract("appeal", "overdue")
@_frozen
class AppealOverdue(AppealEvent):
    days_overdue: int


@_frozen
class ComplaintEvent:
    """Every `complaint.*` event: channel, topic and who answers — no text, person or phone."""

    complaint_id: str
    channel: str
    topic: str
    household_id: str | None
    region_code: str
    state: str
    responsible_level: str
    responsible_region: str
    responsible_department: str | None
    ack_due: dt.date
    reply_due: dt.date
    complainant_sub_hash: str | None


contract("complaint", "received")(ComplaintEvent)


@contract("complaint", "routed")
@_frozen
class ComplaintRouted(ComplaintEvent):
    reason: Literal["intake", "transfer"]
    routing_rule: str


@contract("complaint", "acknowledged")
@_frozen
class ComplaintAcknowledged(ComplaintEvent):
    acknowledged_on: dt.date


@contract("complaint", "replied")
@_frozen
class ComplaintReplied(ComplaintEvent):
    replied_on: dt.date


@contract("complaint", "closed")
@_frozen
class ComplaintClosed(ComplaintEvent):
    satisfaction: str | None
    closed_on: dt.date


@contract("complaint", "reopened")
@_frozen
class ComplaintReopened(ComplaintEvent):
    reopen_count: int


@contract("complaint", "reminder_due")
@_frozen
class ComplaintReminderDue(ComplaintEvent):
    stage: str
    due_date: dt.date


@contract("complaint", "overdue")
@_frozen
class ComplaintOverdue(ComplaintReminderDue):
    days_overdue: int
    escalated_level: str
    escalated_region: str


@contract("social_assistance", "application_submitted")
@_frozen
class SocialAssistanceApplicationSubmitted:
    application_id: str
    household_id: str
    region_code: str
    programme: str
    state: str
    submitted_role: str
    members: int
    decision_rule: str
    deadline: dt.date | None


@contract("social_assistance", "application_status_changed")
@_frozen
class ApplicationStatusChanged:
    application_id: str
    household_id: str
    region_code: str
    programme: str
    from_: str = wire("from")
    to: str
    action: str
    rule: str | None
    deadline: dt.date | None


@_frozen
class _Enrolment:
    enrolment_id: str
    household_id: str
    region_code: str
    programme: str


@contract("social_assistance", "enrolled")
@_frozen
class Enrolled(_Enrolment):
    application_id: str | None
    members: int
    rule: str
    start_month: str  # YYYY-MM
    per_capita_income_annual: Decimal


@contract("social_assistance", "exit_started")
@_frozen
class ExitStarted(_Enrolment):
    kind: Literal["gradual", "voluntary"]
    last_month: str  # YYYY-MM
    months: int
    source: str  # the policy clause


@contract("social_assistance", "exited")
@_frozen
class Exited(_Enrolment):
    reason: str
    last_month: str | None  # YYYY-MM


@contract("social_assistance", "member_excluded")
@_frozen
class MemberExcluded(_Enrolment):
    person_ref: str
    excluded_members: int
    rule: str
    source: str


@_frozen
class PaymentReference:
    """What a payment order pays for: `enrolment` (a monthly payment) or `relief_request`."""

    kind: str
    id: str


@contract("social_assistance", "payment_ordered")
@_frozen
class PaymentOrdered:
    """An order for subsidy to record (already approved by civil affairs)."""

    payment_id: str
    household_id: str | None  # a relief for a household not on file
    region_code: str
    kind: Literal["dibao_monthly", "tekun_monthly", "temporary_relief"]
    period: str | None  # YYYY-MM of a monthly payment
    inputs: dict[str, Any]  # the subsidy rule's inputs, amounts as decimal strings
    funding_source: str
    reference: PaymentReference
    approved_by: str
    approved_role: str
    approved_at: dt.datetime
    as_of: dt.date
