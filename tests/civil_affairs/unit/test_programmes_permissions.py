"""The gateway's role × route rows for the dibao / 特困 routes (gateway/permissions.py)."""

from __future__ import annotations

import pytest

from gateway import permissions
from shared.errors import Forbidden

TABLE = [
    ("citizen", "POST", "/social-assistance/applications", True),
    ("citizen", "GET", "/social-assistance/applications/a-1", True),
    ("citizen", "POST", "/social-assistance/applications/a-1/transitions", True),
    ("contact", "POST", "/social-assistance/applications", False),
    ("department", "POST", "/social-assistance/applications", False),
    ("department", "POST", "/social-assistance/economic-checks/c-1/result", True),
    ("county", "POST", "/social-assistance/economic-checks/c-1/result", True),
    ("township", "POST", "/social-assistance/economic-checks/c-1/result", False),
    ("citizen", "POST", "/social-assistance/economic-checks/c-1/result", False),
    ("township", "GET", "/social-assistance/enrolments", True),
    ("township", "POST", "/social-assistance/enrolments/e-1/rechecks", True),
    ("citizen", "GET", "/social-assistance/enrolments", False),
    ("contact", "GET", "/social-assistance/rechecks", False),
    ("county", "POST", "/social-assistance/payments:run", True),
    ("township", "POST", "/social-assistance/payments:run", False),
    ("village", "GET", "/social-assistance/payments", True),
]


@pytest.mark.parametrize(("role", "method", "path", "allowed"), TABLE)
def test_dibao_routes(role: str, method: str, path: str, allowed: bool) -> None:
    rule = permissions.match(method, path)
    if allowed:
        permissions.check(rule, role, path, "")
    else:
        with pytest.raises(Forbidden):
            permissions.check(rule, role, path, "")
