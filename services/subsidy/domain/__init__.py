"""Pure domain of the subsidy service (补贴): dated policy figures, the eleven calculators, the
rules that hold across decisions and the decision state machine. No I/O except reading the
shipped policy YAML in `policies.py`."""

from __future__ import annotations

from .calculators import KINDS, KindSpec, calculate, funding_source_for_age, parse_inputs
from .decisions import (
    PRE_JOB_TRAINING,
    YULU_PLAN,
    Decision,
    DecisionAction,
    DecisionEvent,
    DecisionOutcome,
    DecisionState,
    LedgerLine,
    PriorDecision,
    check_external_benefit,
    decision_subject,
    evaluate_decision,
    next_state,
)
from .eligibility import Eligibility, microcredit_eligibility
from .model import (
    BreakdownLine,
    DomainRefusal,
    Explanation,
    FundingSource,
    HousingType,
    SubsidyError,
    SubsidyInputError,
    SubsidyKind,
    SubsidyResult,
    WorkLocation,
)
from .parsing import age_on, parse_money
from .policies import load_shipped_policies, resolve_subsidy_policy
from .rounding import to_fen

__all__ = [
    "KINDS",
    "PRE_JOB_TRAINING",
    "YULU_PLAN",
    "BreakdownLine",
    "Decision",
    "DecisionAction",
    "DecisionEvent",
    "DecisionOutcome",
    "DecisionState",
    "DomainRefusal",
    "Eligibility",
    "Explanation",
    "FundingSource",
    "HousingType",
    "KindSpec",
    "LedgerLine",
    "PriorDecision",
    "SubsidyError",
    "SubsidyInputError",
    "SubsidyKind",
    "SubsidyResult",
    "WorkLocation",
    "age_on",
    "calculate",
    "check_external_benefit",
    "decision_subject",
    "evaluate_decision",
    "funding_source_for_age",
    "load_shipped_policies",
    "microcredit_eligibility",
    "next_state",
    "parse_inputs",
    "parse_money",
    "resolve_subsidy_policy",
    "to_fen",
]
