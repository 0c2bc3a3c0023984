"""Rate limits: token buckets per caller and per IP (429 problem+json with Retry-After), stricter
ones for citizens' self-applications and for exports; configured from FANGFAN_RATE_*."""

from __future__ import annotations

import pytest

from gateway.config import BucketSpec, GatewayConfig, parse_bucket
from gateway.ratelimit import RateLimited, TokenBuckets
from tests.gateway.conftest import assert_problem
from tests.helpers import auth

pytestmark = pytest.mark.sqlite_only


def test_bucket_refills_at_its_rate() -> None:
    b = TokenBuckets("t", BucketSpec(rate=2.0, burst=3.0))
    for _ in range(3):
        b.take("k", now=100.0)
    with pytest.raises(RateLimited) as exc:
        b.take("k", now=100.0)
    assert exc.value.extra["retry_after"] == 1
    b.take("k", now=100.5)  # one token back after half a second at 2/s
    b.take("other", now=100.5)  # keys are independent


def test_settings_from_the_environment() -> None:
    assert parse_bucket("200/s,1000") == BucketSpec(200.0, 1000.0)
    assert parse_bucket("10/min") == BucketSpec(10 / 60, 10.0)
    assert parse_bucket("off").rate == float("inf")
    with pytest.raises(ValueError):
        parse_bucket("5/fortnight")
    cfg = GatewayConfig.from_env({"FANGFAN_RATE_PRINCIPAL": "5/s,7", "FANGFAN_RATE_EXPORT": "off"})
    assert cfg.rate_principal == BucketSpec(5.0, 7.0)
    assert cfg.rate_export.rate == float("inf")
    assert GatewayConfig.from_env({}).rate_principal.burst >= 1000  # generous by default


async def test_a_burst_is_429_with_retry_after(gateway, settings) -> None:
    h = auth(settings, "county", "341221")
    async with gateway(rate_principal=BucketSpec(1.0, 5.0)) as client:
        codes = [(await client.get("/api/v1/cases/1", headers=h)).status_code for _ in range(5)]
        assert codes == [200] * 5
        r = await client.get("/api/v1/cases/1", headers=h)
        assert_problem(r, 429, "rate_limited")
        assert int(r.headers["retry-after"]) >= 1
        # another caller has its own bucket
        other = auth(settings, "county", "341222")
        assert (await client.get("/api/v1/cases/1", headers=other)).status_code == 200


async def test_per_ip_bucket_applies_before_authentication(gateway) -> None:
    async with gateway(rate_ip=BucketSpec(0.1, 3.0)) as client:
        for _ in range(3):
            assert_problem(await client.get("/api/v1/cases/1", headers={"X-API-Key": "ffk_guess"}), 401)
        r = await client.get("/api/v1/cases/1", headers={"X-API-Key": "ffk_guess"})
        assert_problem(r, 429, "rate_limited")
        assert int(r.headers["retry-after"]) >= 1


async def test_self_applications_and_exports_have_stricter_buckets(gateway, settings) -> None:
    citizen = auth(settings, "citizen", "341221001001", sub="341221199001011234")
    county = auth(settings, "county", "341221")
    async with gateway(rate_self_application=BucketSpec(1 / 60, 2.0), rate_export=BucketSpec(1 / 60, 1.0)) as client:
        for _ in range(2):
            assert (await client.post("/api/v1/applications", json={}, headers=citizen)).status_code == 200
        r = await client.post("/api/v1/applications", json={}, headers=citizen)
        assert_problem(r, 429, "rate_limited")
        assert int(r.headers["retry-after"]) > 1
        # the citizen can still look at what they submitted; officers are not in this bucket
        assert (await client.get("/api/v1/applications/a-1", headers=citizen)).status_code == 200
        for _ in range(3):
            assert (await client.post("/api/v1/applications", json={}, headers=county)).status_code == 200
        assert (await client.get("/api/v1/statistics/warnings:export", headers=county)).status_code == 200
        assert_problem(await client.get("/api/v1/statistics/warnings?format=csv", headers=county), 429)
        assert (await client.get("/api/v1/statistics/warnings", headers=county)).status_code == 200
