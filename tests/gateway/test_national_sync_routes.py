"""The national monitoring system export through the gateway's tables: `/national-sync` goes to
identification, and only province and county callers may use it (its files hold ID numbers)."""

from __future__ import annotations

import pytest

from gateway import permissions
from gateway.routes import service_for
from shared.errors import Forbidden

ROLES = ("province", "county", "township", "village", "contact", "department", "citizen", "admin")
PATHS = [
    ("POST", "/national-sync/runs"),
    ("GET", "/national-sync/runs"),
    ("GET", "/national-sync/runs/r-1"),
    ("GET", "/national-sync/runs/r-1/files/FFNS_341221_20261202_000001.txt"),
]


@pytest.mark.parametrize(("method", "path"), PATHS)
@pytest.mark.parametrize("role", ROLES)
def test_only_province_and_county(role: str, method: str, path: str) -> None:
    assert service_for(path) == "identification"
    rule = permissions.match(method, path)
    if role in ("province", "county"):
        permissions.check(rule, role, path, "")
    else:
        with pytest.raises(Forbidden):
            permissions.check(rule, role, path, "")
