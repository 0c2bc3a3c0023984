"""Tables of the identification procedure: applications, cases and their history, signals,
leads (owned by the procedure's use cases; created by migration 0003)."""

from __future__ import annotations

from services.identification.adapters.orm import metadata

__all__ = ["metadata"]
