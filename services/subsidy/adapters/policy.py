"""The subsidy policy store: the shipped YAML versions plus those added through
`/admin/policies`, resolved by (region, date) — one store per running app."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.ext.asyncio import AsyncSession

from services.subsidy.adapters.orm import policy_versions
from services.subsidy.application.policies import policy_not_found
from services.subsidy.domain import load_shipped_policies, resolve_subsidy_policy
from services.subsidy.domain.parameters import PARAMETERS, check_resolved, check_value
from shared.policy import PolicyNotFound, ResolvedPolicy
from shared.policy_store import PolicyStore

__all__ = ["make_policy_store", "resolve"]


def make_policy_store() -> PolicyStore:
    """Versions are checked when written: each value against its unit (domain.parameters), and
    what the version leaves in force with the others (a floor above its ceiling)."""
    return PolicyStore(
        service="subsidy",
        shipped=load_shipped_policies(),
        table=policy_versions,
        known_parameters=PARAMETERS,
        validate_value=check_value,
        validate_resolved=_check_in_force,
    )


def _check_in_force(resolved: ResolvedPolicy) -> list[tuple[str, str]]:
    return check_resolved({name: pv.value for name, pv in resolved.values.items()})


async def resolve(store: PolicyStore, session: AsyncSession, region_code: str, as_of: dt.date) -> ResolvedPolicy:
    """The policy in force, or 422 `policy_not_found`."""
    try:
        return resolve_subsidy_policy(region_code, as_of, await store.versions(session))
    except PolicyNotFound as exc:
        raise policy_not_found(exc) from None
