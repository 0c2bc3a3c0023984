"""Authentication at the gateway: the RFC 8725 negative suite on several protected routes (401
problem+json with a stable code), HS256 and RS256 (public key file and JWKS on loopback)."""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from shared.auth import PRINCIPAL_HEADER, sign_principal
from shared.auth import Principal as P
from tests.gateway.conftest import assert_problem
from tests.helpers import TEST_SECRETS, make_settings

pytestmark = pytest.mark.sqlite_only  # the gateway's own database only stores API keys

ISS, AUD = "https://idp.fangfan.example", "fangfan-api"
ROUTES = [
    ("POST", "/api/v1/assessments", {"region_code": "341221001001"}),
    ("GET", "/api/v1/cases/c-1", None),
    ("POST", "/api/v1/subsidies/calculate", {"kind": "dibao_topup"}),
    ("GET", "/api/v1/plans?household_id=h1", None),
]


def _claims(**over: Any) -> dict[str, Any]:
    now = int(time.time())
    c: dict[str, Any] = {
        "sub": "officer-1",
        "role": "county",
        "region": "341221",
        "iat": now,
        "nbf": now,
        "exp": now + 600,
        "iss": ISS,
        "aud": AUD,
    }
    c.update(over)
    return {k: v for k, v in c.items() if v is not None}


def _b64(d: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(d).encode()).rstrip(b"=").decode()


def _rsa() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _pem_public(key: rsa.RSAPrivateKey) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


SECRET = TEST_SECRETS["jwt_secret"]
OTHER_KEY = _rsa()


def _hs(claims: dict[str, Any], secret: str = SECRET) -> str:
    return jwt.encode(claims, secret, algorithm="HS256")


def _bad_tokens() -> dict[str, tuple[str | None, str]]:
    good = _hs(_claims())
    h, p, s = good.split(".")
    forged_payload = _b64({**_claims(), "role": "province", "region": "34"})
    return {
        "missing": (None, "missing_token"),
        "not bearer": ("Basic dXNlcjpwYXNz", "missing_token"),
        "garbage": ("Bearer not-a-jwt", "invalid_token"),
        "alg none": (f"Bearer {_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(_claims())}.", "invalid_token"),
        "alg none, signature kept": (f"Bearer {_b64({'alg': 'none', 'typ': 'JWT'})}.{p}.{s}", "invalid_token"),
        "RS256 token to an HS256 gateway": (
            f"Bearer {jwt.encode(_claims(), OTHER_KEY, algorithm='RS256')}",
            "invalid_token",
        ),
        "HS384 with the right secret": (f"Bearer {jwt.encode(_claims(), SECRET, algorithm='HS384')}", "invalid_token"),
        "wrong secret": (f"Bearer {_hs(_claims(), 'another-secret-0123456789abcdef0123456789')}", "invalid_token"),
        "expired": (f"Bearer {_hs(_claims(exp=int(time.time()) - 60))}", "token_expired"),
        "nbf in the future": (f"Bearer {_hs(_claims(nbf=int(time.time()) + 600))}", "invalid_token"),
        "iat in the future": (f"Bearer {_hs(_claims(iat=int(time.time()) + 600))}", "invalid_token"),
        "wrong issuer": (f"Bearer {_hs(_claims(iss='https://evil.example'))}", "invalid_token"),
        "no issuer": (f"Bearer {_hs(_claims(iss=None))}", "invalid_token"),
        "wrong audience": (f"Bearer {_hs(_claims(aud='another-api'))}", "invalid_token"),
        "no audience": (f"Bearer {_hs(_claims(aud=None))}", "invalid_token"),
        "no exp": (f"Bearer {_hs(_claims(exp=None))}", "invalid_token"),
        "unknown role": (f"Bearer {_hs(_claims(role='root'))}", "invalid_token"),
        "tampered payload": (f"Bearer {h}.{forged_payload}.{s}", "invalid_token"),
        "tampered signature": (f"Bearer {h}.{p}.{s[:-4]}AAAA", "invalid_token"),
        "signature stripped": (f"Bearer {h}.{p}.", "invalid_token"),
    }


BAD = _bad_tokens()


@pytest.fixture
def strict_settings(tmp_path: Path):  # type: ignore[no-untyped-def]
    return make_settings(
        tmp_path,
        nats_url="nats://127.0.0.1:1",
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'gateway.db'}",
        jwt_issuer=ISS,
        jwt_audience=AUD,
    )


async def test_jwt_negative_suite_is_401_on_every_protected_route(gateway, upstream, strict_settings) -> None:
    echo, _ = upstream
    async with gateway(strict_settings) as client:
        for method, path, body in ROUTES:
            for name, (authz, code) in BAD.items():
                headers = {"Authorization": authz} if authz else {}
                r = await client.request(method, path, json=body, headers=headers)
                problem = assert_problem(r, 401, code)
                assert problem["detail"], name
        # and the control: the same routes with a good token reach the service
        good = {"Authorization": f"Bearer {_hs(_claims())}"}
        for method, path, body in ROUTES:
            r = await client.request(method, path, json=body, headers=good)
            assert r.status_code == 200, (path, r.text)
    assert len(echo.seen) == len(ROUTES)  # nothing refused ever reached the service


async def test_the_service_gets_a_signed_principal_and_never_the_token(gateway, upstream, settings) -> None:
    _echo, _ = upstream
    async with gateway() as client:
        token = _hs(_claims(iss=None, aud=None))
        forged, _ = sign_principal(P(sub="x", role="admin", region=""), "not-the-secret")
        r = await client.post(
            "/api/v1/assessments",
            json={"a": 1},
            headers={"Authorization": f"Bearer {token}", PRINCIPAL_HEADER: forged, "x-api-key": ""},
        )
        assert_problem(r, 401, "ambiguous_credentials")
        r = await client.post(
            "/api/v1/assessments",
            json={"a": 1},
            headers={"Authorization": f"Bearer {token}", PRINCIPAL_HEADER: forged},
        )
    assert r.status_code == 200, r.text
    seen = r.json()
    assert seen["principal"] == {"sub": "officer-1", "role": "county", "region": "341221"}
    assert "authorization" not in seen["headers"]


@pytest.fixture
def rsa_key() -> rsa.RSAPrivateKey:
    return _rsa()


async def test_rs256_with_a_public_key_file_refuses_key_confusion(gateway, tmp_path, rsa_key) -> None:
    pub = tmp_path / "jwt.pub.pem"
    pub.write_bytes(_pem_public(rsa_key))
    settings = make_settings(
        tmp_path,
        nats_url="nats://127.0.0.1:1",
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'gateway.db'}",
        jwt_algorithm="RS256",
        jwt_public_key_file=pub,
    )
    claims = _claims(iss=None, aud=None)
    header_only = _b64({"alg": "HS256", "typ": "JWT"}) + "." + _b64(claims)
    import hashlib
    import hmac as hmac_

    # The classic confusion attack: HMAC over the token with the public key as the secret.
    confused_sig = hmac_.new(_pem_public(rsa_key), header_only.encode(), hashlib.sha256).digest()
    confused = header_only + "." + base64.urlsafe_b64encode(confused_sig).rstrip(b"=").decode()
    async with gateway(settings) as client:
        good = jwt.encode(claims, rsa_key, algorithm="RS256")
        ok = await client.get("/api/v1/cases/1", headers={"Authorization": f"Bearer {good}"})
        assert ok.status_code == 200, ok.text
        for bad in (
            confused,
            _hs(claims),  # the development secret no longer opens the door
            jwt.encode(claims, OTHER_KEY, algorithm="RS256"),
            jwt.encode(claims, rsa_key, algorithm="PS256"),
            f"{_b64({'alg': 'none'})}.{_b64(claims)}.",
        ):
            assert_problem(await client.get("/api/v1/cases/1", headers={"Authorization": f"Bearer {bad}"}), 401)


async def test_rs256_with_a_jwks_on_loopback(gateway, upstream, tmp_path, rsa_key) -> None:
    echo, url = upstream
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(rsa_key.public_key()))
    echo.jwks = {"keys": [{**jwk, "kid": "k1", "use": "sig", "alg": "RS256"}]}
    settings = make_settings(
        tmp_path,
        nats_url="nats://127.0.0.1:1",
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'gateway.db'}",
        jwt_algorithm="RS256",
    )
    claims = _claims(iss=None, aud=None)
    async with gateway(settings, jwks=url + "/jwks.json") as client:
        good = jwt.encode(claims, rsa_key, algorithm="RS256", headers={"kid": "k1"})
        r = await client.get("/api/v1/cases/1", headers={"Authorization": f"Bearer {good}"})
        assert r.status_code == 200, r.text
        unknown_kid = jwt.encode(claims, OTHER_KEY, algorithm="RS256", headers={"kid": "k2"})
        assert_problem(await client.get("/api/v1/cases/1", headers={"Authorization": f"Bearer {unknown_kid}"}), 401)
        wrong_key = jwt.encode(claims, OTHER_KEY, algorithm="RS256", headers={"kid": "k1"})
        assert_problem(await client.get("/api/v1/cases/1", headers={"Authorization": f"Bearer {wrong_key}"}), 401)
