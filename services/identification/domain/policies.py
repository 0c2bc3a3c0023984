"""The policy versions shipped with the service (services/identification/policy/*.yaml) — the
one place in the domain package that reads a file."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from pathlib import Path

from shared.policy import PolicyVersion, ResolvedPolicy, load_policy_dir, resolve_policy

from .params import SERVICE

__all__ = ["POLICY_DIR", "load_shipped_policies", "resolve_identification_policy"]

POLICY_DIR = Path(__file__).resolve().parent.parent / "policy"


def load_shipped_policies() -> list[PolicyVersion]:
    """Every version in the shipped YAML files, sorted by file name."""
    return load_policy_dir(POLICY_DIR)


def resolve_identification_policy(
    versions: Iterable[PolicyVersion], *, region_code: str, as_of: dt.date
) -> ResolvedPolicy:
    """The identification policy in force; raises shared.policy.PolicyNotFound."""
    return resolve_policy(versions, service=SERVICE, region_code=region_code, as_of=as_of)
