"""`POST /admin/policies` refuses, when the version is written, every value the procedure's and the
rules' loaders would refuse later (422 at `parameters.<name>`, nothing stored) — a notice of 0 days
used to be stored, after which every application in the region answered 503 `policy_incomplete`."""

from __future__ import annotations

import pytest

from tests.identification.integration.test_cases_support import COUNTY, Service, application, service

__all__ = ["service"]

POLICIES = "/api/v1/admin/policies"


def _version(**params: object) -> dict[str, object]:
    return {
        "service": "identification",
        "region_prefix": COUNTY,
        "effective_from": "2021-01-01",
        "parameters": params,
        "source": "县政府通知 2021 第1号 §2",
    }


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("public_notice_days", 0),
        ("public_notice_days", "0"),
        ("elimination_public_notice_days", 0),
        ("department_comparison_days", 0),
        ("scale_risk_threshold", "1"),
        ("scale_risk_threshold", 0),
        ("monitoring_line", "1e400"),
        ("monitoring_line", "5000.001"),
        ("dibao_standard_rural", "Infinity"),
        ("elimination_income_floor", -1),
        ("identification_time_limit_days", 0),
    ],
)
async def test_a_value_the_loaders_refuse_is_refused_when_written(service: Service, name: str, value: object) -> None:
    admin = service.headers("admin", "")
    before = (await service.client.get(POLICIES, headers=admin)).json()["versions"]
    r = await service.client.post(POLICIES, json=_version(**{name: value}), headers=admin)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert [e["path"] for e in r.json()["errors"]] == [f"parameters.{name}"]
    assert (await service.client.get(POLICIES, headers=admin)).json()["versions"] == before
    # nothing was stored: the county's applications still open cases
    apply = await service.apply(application(), service.headers("village", COUNTY + "001201"))
    assert apply.status_code == 201, apply.text


async def test_good_values_are_stored_and_used(service: Service) -> None:
    admin = service.headers("admin", "")
    r = await service.client.post(
        POLICIES, json=_version(public_notice_days=1, scale_risk_threshold="0.05"), headers=admin
    )
    assert r.status_code == 201, r.text
    apply = await service.apply(application(), service.headers("village", COUNTY + "001201"))
    assert apply.status_code == 201, apply.text
