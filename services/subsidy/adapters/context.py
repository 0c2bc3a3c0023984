"""What one running subsidy app holds of its own (`ctx.extras`): its policy store (the same one
its unit of work and its routes read; apps in one process may run on different databases)."""

from __future__ import annotations

from dataclasses import dataclass

from shared.app import ServiceContext
from shared.policy_store import PolicyStore

__all__ = ["SubsidyExtras", "extras_of"]


@dataclass
class SubsidyExtras:
    policy_store: PolicyStore


def extras_of(ctx: ServiceContext) -> SubsidyExtras:
    extras = ctx.extras
    assert isinstance(extras, SubsidyExtras), "the subsidy app builds its extras (main.spec)"
    return extras
