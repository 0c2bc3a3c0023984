"""The subsidy policy versions the service ships (`services/subsidy/policy/*.yaml`) and their
resolution by (region, date). The only module of the domain that reads a file."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

from shared.policy import PolicyVersion, ResolvedPolicy, load_policy_dir, resolve_policy

__all__ = ["POLICY_DIR", "SERVICE", "load_shipped_policies", "resolve_subsidy_policy"]

SERVICE = "subsidy"
POLICY_DIR = Path(__file__).resolve().parent.parent / "policy"


@lru_cache(maxsize=1)
def _shipped() -> tuple[PolicyVersion, ...]:
    versions = tuple(load_policy_dir(POLICY_DIR))
    for v in versions:
        if v.service != SERVICE:
            raise ValueError(f"policy {v.id} in {POLICY_DIR} is for service {v.service!r}")
    return versions


def load_shipped_policies() -> list[PolicyVersion]:
    """Every version in `services/subsidy/policy/*.yaml` (read once, then cached)."""
    return list(_shipped())


def resolve_subsidy_policy(
    region_code: str, as_of: dt.date, versions: Iterable[PolicyVersion] | None = None
) -> ResolvedPolicy:
    """The subsidy parameters in force for `region_code` on `as_of` (shipped versions unless
    `versions` is given, e.g. shipped + versions added through `/admin/policies`). Raises
    `shared.policy.PolicyNotFound` ("no subsidy policy is in force for region … on …")."""
    return resolve_policy(
        load_shipped_policies() if versions is None else versions,
        service=SERVICE,
        region_code=region_code,
        as_of=as_of,
    )
