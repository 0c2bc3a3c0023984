"""How a missing subsidy policy is answered: 422 `policy_not_found` naming the field that chose
the region (the store itself is `adapters.policy`)."""

from __future__ import annotations

from shared.errors import FieldError, Unprocessable
from shared.policy import PolicyNotFound

__all__ = ["policy_not_found"]


def policy_not_found(exc: PolicyNotFound, path: str = "region_code") -> Unprocessable:
    return Unprocessable(str(exc), code="policy_not_found", errors=[FieldError(path, str(exc), "policy_not_found")])
