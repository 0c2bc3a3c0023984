"""The role × route table: a role that may never use a route is 403 problem+json; a route outside
the public surface is 404; unmasked ID numbers and exports only for county and above."""

from __future__ import annotations

import pytest

from gateway import permissions
from shared.errors import Forbidden, NotFound
from tests.gateway.conftest import assert_problem
from tests.helpers import auth

pytestmark = pytest.mark.sqlite_only

# (role, method, path under /api/v1, query, allowed)
TABLE = [
    ("citizen", "POST", "/applications", "", True),
    ("citizen", "GET", "/applications/a-1", "", True),
    ("citizen", "POST", "/assessments", "", True),
    ("citizen", "POST", "/signals", "", False),
    ("citizen", "POST", "/subscriptions", "", False),
    ("citizen", "GET", "/cases/c-1", "", True),  # their own household's (the service: 404 otherwise)
    ("citizen", "GET", "/cases", "", False),
    ("citizen", "POST", "/cases/c-1/transitions", "", True),  # the service: 409 role_not_allowed or 404
    ("citizen", "POST", "/households/import", "", False),
    ("citizen", "POST", "/admin/policies", "", False),
    ("department", "POST", "/signals", "", True),
    ("department", "POST", "/subscriptions", "", True),
    ("department", "GET", "/subscriptions/s-1/deliveries", "", True),
    ("department", "POST", "/assessments", "", False),
    ("department", "POST", "/cases/c-1/transitions", "", True),  # the service: 404 (cases are not theirs)
    ("department", "PATCH", "/cases/c-1", "", False),
    ("village", "POST", "/cases/c-1/transitions", "", True),
    ("village", "POST", "/households/import", "", False),
    ("township", "POST", "/households/import", "", False),
    ("county", "POST", "/households/import", "", True),
    ("province", "POST", "/households/import", "", True),
    ("admin", "POST", "/households/import", "", True),
    ("village", "GET", "/households/h-1", "reveal=id_number", False),
    ("township", "GET", "/households/h-1", "reveal=id_number", False),
    ("contact", "GET", "/households/h-1", "reveal=id_number", False),
    ("county", "GET", "/households/h-1", "reveal=id_number", True),
    ("province", "GET", "/households/h-1", "reveal=id_number", True),
    ("township", "GET", "/statistics/warnings:export", "", False),
    ("county", "GET", "/statistics/warnings:export", "", True),
    ("township", "GET", "/statistics/warnings", "format=csv", False),
    ("admin", "POST", "/admin/policies", "", True),
    ("province", "POST", "/admin/policies", "", True),
    ("county", "POST", "/admin/policies", "", False),
    ("county", "GET", "/admin/policies", "service=subsidy", True),
    ("province", "POST", "/admin/api-keys", "", False),
    ("admin", "DELETE", "/admin/api-keys/k-1", "", True),
    ("contact", "POST", "/subsidies/calculate", "", True),
    ("contact", "POST", "/subsidies/calculate:batch", "", False),
    ("contact", "GET", "/plans", "household_id=h", True),
    # the household overview (gateway/overview.py): officers and admin only; the rest of
    # /households/** as before
    ("village", "GET", "/households/h-1/overview", "", True),
    ("county", "GET", "/households/h-1/overview", "", True),
    ("admin", "GET", "/households/h-1/overview", "", True),
    ("contact", "GET", "/households/h-1/overview", "", False),
    ("citizen", "GET", "/households/h-1/overview", "", False),
    ("contact", "GET", "/households/h-1", "", True),
    ("village", "POST", "/households/search", "", True),
    ("village", "GET", "/households", "", True),
    ("village", "GET", "/households/h-1/risk", "", True),
    ("contact", "GET", "/households", "", False),
    ("contact", "POST", "/households/search", "", False),
    ("contact", "GET", "/households/h-1/risk", "", False),
    ("department", "GET", "/households", "", False),
    ("county", "GET", "/households/duplicates", "", True),
    ("province", "POST", "/households/duplicates/d-1/resolve", "", True),
    ("township", "GET", "/households/duplicates", "", False),
    ("village", "POST", "/households/duplicates/d-1/resolve", "", False),
    ("contact", "GET", "/households/duplicates", "", False),
    ("township", "GET", "/households/h-1", "", True),
]


@pytest.mark.parametrize(("role", "method", "path", "query", "allowed"), TABLE)
def test_role_route_table(role: str, method: str, path: str, query: str, allowed: bool) -> None:
    rule = permissions.match(method, path)
    if allowed:
        permissions.check(rule, role, path, query)
    else:
        with pytest.raises(Forbidden):
            permissions.check(rule, role, path, query)


@pytest.mark.parametrize(
    ("method", "path", "error"),
    [
        ("GET", "/internal/outbox", NotFound),
        ("GET", "/applicationsX", NotFound),
        ("GET", "/", NotFound),
        ("PUT", "/assessments", permissions.MethodNotAllowed),
        ("DELETE", "/signals", permissions.MethodNotAllowed),
    ],
)
def test_outside_the_public_surface(method: str, path: str, error: type[Exception]) -> None:
    with pytest.raises(error):
        permissions.match(method, path)


async def test_over_http_403_404_405_are_problems_and_never_reach_the_service(gateway, upstream, settings) -> None:
    echo, _ = upstream
    async with gateway() as client:
        citizen = auth(settings, "citizen", "341221001001", sub="341221199001011234")
        assert_problem(await client.post("/api/v1/signals", json=[], headers=citizen), 403, "role_forbidden")
        township = auth(settings, "township", "341221001")
        r = await client.get("/api/v1/households/h-1?reveal=id_number", headers=township)
        assert_problem(r, 403, "unmask_forbidden")
        county = auth(settings, "county", "341221")
        for path in ("/api/v1/internal/outbox", "/internal/metrics-raw", "/api/v2/applications", "/api/v1/"):
            assert_problem(await client.get(path, headers=county), 404, "not_found")
        assert_problem(await client.put("/api/v1/assessments", json={}, headers=county), 405, "method_not_allowed")
        assert not echo.seen
        r = await client.get("/api/v1/households/h-1?reveal=id_number", headers=county)
        assert r.status_code == 200, r.text
        r = await client.post("/api/v1/applications", json={}, headers=citizen)
        assert r.status_code == 200, r.text
    assert [s["path"] for s in echo.seen] == ["/api/v1/households/h-1", "/api/v1/applications"]


def test_simulate_is_in_the_surface_for_officers_only() -> None:
    from gateway.permissions import check, match
    from shared.errors import Forbidden

    rule = match("POST", "/assessments:simulate")
    check(rule, "county", "/assessments:simulate", "")
    with pytest.raises(Forbidden):
        check(rule, "citizen", "/assessments:simulate", "")
