"""Who acted, as the civil-affairs histories record it: never a citizen's resident ID number."""

from __future__ import annotations

from shared.auth import Principal
from shared.pii import mask_id_number

__all__ = ["actor_label"]


def actor_label(p: Principal) -> str:
    """As recorded in history: a citizen's `sub` is their ID number, so it is masked."""
    return "citizen:" + mask_id_number(p.sub) if p.role == "citizen" else p.sub
