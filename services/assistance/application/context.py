"""The assistance service's own state in its context (`ctx.extras`), typed."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["AssistanceExtras"]


@dataclass
class AssistanceExtras:
    #: seconds between two passes of the overdue sweep (tests shorten it)
    sweep_interval_s: float = 300.0
