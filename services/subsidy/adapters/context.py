"""What one running subsidy app holds of its own (`ctx.extras`): its policy store, the one its
unit of work resolves with and its `/admin/policies` routes add to (apps in one process may run
on different databases, so never a module-level store)."""

from __future__ import annotations

from dataclasses import dataclass

from shared.policy_store import PolicyStore

__all__ = ["SubsidyExtras"]


@dataclass
class SubsidyExtras:
    policy_store: PolicyStore
