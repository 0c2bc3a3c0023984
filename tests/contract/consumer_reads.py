"""What the consumers that read `event.data` directly (notification, civil affairs,
identification's DCI exchange) take from each event type, as views (`shared.contracts.reads`):
a field without a default is one the consumer cannot do without. Assistance's, subsidy's and
identification's loop consumers declare theirs beside their code (`services/*/adapters/consumers.py`)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from shared.contracts import reads, wire

__all__ = ["NOT_PRODUCED"]

_view = dataclass(frozen=True, slots=True, kw_only=True)

#: Fields a consumer reads when present although no producer sends them (hand-made events in
#: tests, older payloads). A new entry is a decision: the test fails on any read not listed here.
NOT_PRODUCED = {
    ("assistance.identified", "household.identified", "identified_on"): "falls back to monitored_since",
    ("assistance.identified", "household.identified", "self_farming"): "defaults to false",
    ("assistance.identified", "household.identified", "weak_motivation"): "defaults to false",
    ("assistance.applications", "application.submitted", "has_labor_capacity"): "defaults to true",
    ("notification.people", "case.status_changed", "notice"): "falls back from notice_ends_on",
    ("notification.people", "assistance.plan_created", "contact_person_ref"): "falls back from the sub hash",
}


# --------------------------------------------------------------------------- notification
# `household_id` of every event: the reminder a cancel leaves behind (people.cancel_reminders).


@reads("notification.people", "application.submitted")
@_view
class _ApplicationSubmitted:
    applicant_sub_hash: str | None = None
    application_id: str | None = None
    case_id: str | None = None
    household_id: str | None = None


@reads("notification.people", "case.status_changed")
@_view
class _CaseStatusChanged:
    case_id: str | None = None
    household_id: str | None = None
    from_: str | None = wire("from", default=None)
    to: str | None = None
    state: str | None = None
    deadline: dt.date | None = None
    notice_ends_on: dt.date | None = None
    notice: dict[str, Any] | None = None


@reads("notification.people", "risk.warning_raised")
@_view
class _WarningRaised:
    warning: str | None = None
    household_id: str | None = None


@reads("notification.people", "signal.lead_resolved")
@_view
class _LeadResolved:
    lead_id: str | None = None
    outcome: str | None = None
    signal_ids: list[str] | None = None
    source_sub_hashes: list[str] | None = None
    household_id: str | None = None


@reads("notification.people", "assistance.plan_created")
@_view
class _PlanCreated:
    plan_id: str | None = None
    household_id: str | None = None
    due_date: dt.date | None = None
    contact_person_sub_hash: str | None = None
    contact_person_ref: str | None = None


@reads("notification.people", "assistance.plan_drawn_up", "assistance.plan_completed", "assistance.plan_closed")
@_view
class _PlanDone:
    plan_id: str | None = None
    household_id: str | None = None


@reads("notification.people", "assistance.plan_overdue")
@_view
class _PlanOverdue:
    plan_id: str | None = None
    household_id: str | None = None
    contact_person_sub_hash: str | None = None


@reads("notification.people", "assistance.visit_scheduled", "assistance.visit_overdue")
@_view
class _VisitDue:
    visit_id: str | None = None
    household_id: str | None = None
    due_date: dt.date | None = None
    contact_person_sub_hash: str | None = None


@reads("notification.people", "assistance.visit_recorded", "assistance.visit_cancelled")
@_view
class _VisitDone:
    visit_id: str | None = None
    household_id: str | None = None


@reads(
    "notification.people",
    "appeal.received",
    "appeal.review_started",
    "appeal.withdrawn",
    "appeal.reminder_due",
    "appeal.overdue",
)
@_view
class _Appeal:
    appeal_id: str | None = None
    household_id: str | None = None
    appellant_sub_hash: str | None = None
    review_level: str | None = None
    deadline: dt.date | None = None


@reads("notification.people", "appeal.decided")
@_view
class _AppealDecided(_Appeal):
    outcome: str | None = None
    decided_level: str | None = None


@reads("notification.people", "complaint.received", "complaint.acknowledged", "complaint.replied", "complaint.reopened")
@_view
class _Complaint:
    complaint_id: str | None = None
    household_id: str | None = None
    complainant_sub_hash: str | None = None
    responsible_level: str | None = None


@reads("notification.people", "complaint.routed")
@_view
class _ComplaintRouted(_Complaint):
    reply_due: dt.date | None = None


@reads("notification.people", "complaint.closed")
@_view
class _ComplaintClosed(_Complaint):
    satisfaction: str | None = None


@reads("notification.people", "complaint.reminder_due")
@_view
class _ComplaintReminder(_Complaint):
    due_date: dt.date | None = None


@reads("notification.people", "complaint.overdue")
@_view
class _ComplaintOverdue(_ComplaintReminder):
    stage: str | None = None
    escalated_level: str | None = None


# --------------------------------------------------------------------------- civil affairs


@_view
class _Reference:
    kind: str
    id: str


@reads(
    "civil_affairs.payments-recorded",
    "subsidy.decision_calculated",
    "subsidy.decision_approved",
    "subsidy.decision_paid",
    "subsidy.decision_rejected",
)
@_view
class _DecisionRecorded:
    """Only orders it sent are looked at: those have a `payment_id`; then the amount is a must."""

    payment_id: str | None = None
    amount: Decimal
    decision_id: str
    state: str


@reads("civil_affairs.relief-payments", "subsidy.decision_approved")
@_view
class _ReliefRecorded:
    payment_id: str | None = None
    reference: _Reference | None = None
    amount: Decimal
    decision_id: str


@reads("civil_affairs.relief-payments", "subsidy.decision_refused")
@_view
class _DecisionRefused:
    payment_id: str
    reference: _Reference
    code: str
    reason: str


@reads("civil_affairs.offers-refused", "employment.offers_refused")
@_view
class _OffersRefused:
    household_id: str
    person_ref: str
    refusals: int | None = None
    recommendation_ids: list[str] | None = None


# --------------------------------------------------------------------------- identification's DCI exchange


@reads("identification.dci-notify", "household.identified", "risk.eliminated", "risk.rolled_back", "risk.cleared")
@_view
class _MonitoringChanged:
    household_id: str | None = None
    region_code: str | None = None
    case_id: str | None = None


@reads("identification.dci-notify", "social_assistance.enrolled", "social_assistance.exited")
@_view
class _SocialAssistanceChanged:
    household_id: str | None = None
    region_code: str | None = None
