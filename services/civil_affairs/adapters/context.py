"""What one running civil-affairs app holds of its own (`ctx.extras`): its policy store, the county
check systems, where identification answers, and the bookkeeping of its background loops."""

from __future__ import annotations

from dataclasses import dataclass, field

import httpx

from services.civil_affairs.adapters.economic_check import CheckSystems
from shared.app import ServiceContext
from shared.policy_store import PolicyStore

__all__ = ["CivilAffairsExtras", "extras_of"]


@dataclass
class CivilAffairsExtras:
    #: the shipped policy versions with those officers add; the app's unit of work reads the same one
    policy_store: PolicyStore
    #: built on first use from the settings' data directory (see `adapters.programmes_runtime.checks`)
    check_systems: CheckSystems | None = None
    #: economic checks being sent right now by this process (the handler and the cycle take turns)
    economic_checks_sending: set[str] = field(default_factory=set)
    #: unsent checks seen once by the cycle: the handler that created one sends it itself
    economic_checks_unsent: set[str] = field(default_factory=set)
    #: identification's base URL (else FANGFAN_IDENTIFICATION_URL, else its default port)
    identification_url: str | None = None
    #: an in-process transport to identification (tests)
    identification_transport: httpx.AsyncBaseTransport | None = None
    grievance_sweep_interval_s: float = 300.0


def extras_of(ctx: ServiceContext) -> CivilAffairsExtras:
    extras = ctx.extras
    assert isinstance(extras, CivilAffairsExtras), "the civil-affairs app builds its extras (main.spec)"
    return extras
