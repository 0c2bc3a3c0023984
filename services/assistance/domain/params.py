"""The assistance policy: dated parameters per region from `services/assistance/policy/*.yaml`,
resolved with shared.policy, loaded into a typed model (the one place in the domain that reads a
file)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from shared.policy import PolicyVersion, ResolvedPolicy, load_policy_dir, resolve_policy

from .employment import EmploymentStandard
from .schedule import VisitPolicy

__all__ = ["POLICY_DIR", "SERVICE", "AssistancePolicy", "assistance_policy", "shipped_policies"]

SERVICE = "assistance"
POLICY_DIR = Path(__file__).resolve().parent.parent / "policy"


@dataclass(frozen=True, slots=True)
class AssistancePolicy:
    plan_due_days: int
    measure_stall_days: int
    visits: VisitPolicy
    employment: EmploymentStandard
    resolved: ResolvedPolicy

    def source(self, name: str) -> str:
        return self.resolved.source_of(name)


@lru_cache(maxsize=1)
def shipped_policies() -> tuple[PolicyVersion, ...]:
    return tuple(load_policy_dir(POLICY_DIR))


def assistance_policy(
    region_code: str, as_of: dt.date, versions: Iterable[PolicyVersion] | None = None
) -> AssistancePolicy:
    """The parameters in force for the region on the date (PolicyNotFound / PolicyParameterMissing)."""
    r = resolve_policy(
        shipped_policies() if versions is None else versions, service=SERVICE, region_code=region_code, as_of=as_of
    )
    return AssistancePolicy(
        plan_due_days=int(r["plan_due_days"]),
        measure_stall_days=int(r["measure_stall_days"]),
        visits=VisitPolicy(
            monitored_months=int(r["visit_interval_months_monitored"]),
            eliminated_months=int(r["visit_interval_months_eliminated"]),
            stable_months=int(r["visit_interval_months_stable"]),
        ),
        employment=EmploymentStandard(
            min_guidance_or_training=int(r["employment_min_guidance_or_training"]),
            min_job_recommendations=int(r["employment_min_job_recommendations"]),
        ),
        resolved=r,
    )
