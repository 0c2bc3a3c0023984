"""Payloads notification produces: a reminder that fired (docs/notification.md)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from shared.contracts._registry import contract

__all__ = ["ReminderFired"]


@contract("notification", "reminder_fired")
@dataclass(frozen=True, slots=True, kw_only=True)
class ReminderFired:
    reminder_id: str
    kind: str
    ref_id: str
    household_id: str | None
    due_date: dt.date
    fire_at: dt.datetime
    recipient_roles: list[str]
    to_person: bool  # the reminder also went to a person's inbox (who is not said)
