"""Payloads subsidy produces: a decision at each step of its life, and the refusal of a
civil-affairs payment order (docs/subsidy.md)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from shared.contracts._registry import contract
from shared.contracts.civil_affairs import PaymentReference

__all__ = ["Decision", "DecisionRefused"]

_frozen = dataclass(frozen=True, slots=True, kw_only=True)


@_frozen
class Decision:
    """`subsidy.decision_{calculated,approved,paid,rejected}`: the decision as it now stands."""

    decision_id: str
    kind: str
    state: str
    amount: Decimal
    subject_ref: str  # the opaque person or household reference the amount is for
    household_id: str | None
    region_code: str
    as_of: dt.date
    policy_id: str
    policy_version: str
    funding_source: str | None
    payment_id: str | None  # the civil-affairs payment order recorded (None for decisions made here)
    reference: PaymentReference | None


for _name in ("decision_calculated", "decision_approved", "decision_paid", "decision_rejected"):
    contract("subsidy", _name)(Decision)


@contract("subsidy", "decision_refused")
@_frozen
class DecisionRefused:
    """A payment order the rules refuse (a relief above its limit, inputs that do not calculate)."""

    payment_id: str
    reference: PaymentReference
    kind: str
    household_id: str | None
    region_code: str
    as_of: dt.date
    code: str
    reason: str
