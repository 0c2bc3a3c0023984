"""Who is calling: JWT verification (algorithm pinned by configuration, never taken from the
token), the principal the gateway signs for the services, and development token minting."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from dataclasses import asdict, dataclass
from typing import Any

import jwt

from shared.errors import Unauthorized
from shared.identifiers import region_within
from shared.settings import Settings

__all__ = [
    "OFFICER_ROLES",
    "PRINCIPAL_HEADER",
    "PRINCIPAL_SIGNATURE_HEADER",
    "ROLES",
    "Principal",
    "make_token",
    "principal_from_claims",
    "sign_principal",
    "verify_jwt",
    "verify_principal",
]

ROLES = ("province", "county", "township", "village", "contact", "department", "citizen", "admin")
OFFICER_ROLES = ("province", "county", "township", "village")
PRINCIPAL_HEADER = "x-fangfan-principal"
PRINCIPAL_SIGNATURE_HEADER = "x-fangfan-principal-signature"
_REGION_LENGTHS = (0, 2, 4, 6, 9, 12)
_PRINCIPAL_MAX_AGE_S = 120


@dataclass(frozen=True, slots=True)
class Principal:
    sub: str
    role: str
    region: str
    dept: str | None = None
    via: str = "jwt"

    def sees(self, region_code: str) -> bool:
        """Jurisdiction: the record's region lies inside the caller's region (by level)."""
        return region_within(region_code, self.region)

    @property
    def is_officer(self) -> bool:
        return self.role in OFFICER_ROLES or self.role == "admin"


def principal_from_claims(claims: dict[str, Any], via: str) -> Principal:
    role, region = claims.get("role"), claims.get("region", "")
    if role not in ROLES:
        raise Unauthorized("token has an unknown role", code="invalid_token")
    if not isinstance(region, str) or (region and not region.isdigit()) or len(region) not in _REGION_LENGTHS:
        raise Unauthorized("token region must be a 2/4/6/9/12-digit code", code="invalid_token")
    if region == "" and role != "admin":
        raise Unauthorized("only admin tokens may have an empty region", code="invalid_token")
    if role == "department" and not claims.get("dept"):
        raise Unauthorized("department tokens need a dept claim", code="invalid_token")
    sub = claims.get("sub")
    if not isinstance(sub, str) or not sub:
        raise Unauthorized("token has no subject", code="invalid_token")
    return Principal(sub=sub, role=role, region=region, dept=claims.get("dept"), via=via)


def _verification_key(settings: Settings) -> Any:
    if settings.jwt_algorithm == "RS256":
        if not settings.jwt_public_key_file:
            raise Unauthorized("RS256 configured without FANGFAN_JWT_PUBLIC_KEY_FILE", code="invalid_token")
        return settings.jwt_public_key_file.read_text()
    return settings.secret("jwt_secret")


def verify_jwt(token: str, settings: Settings) -> Principal:
    try:
        claims = jwt.decode(
            token,
            _verification_key(settings),
            algorithms=[settings.jwt_algorithm],
            issuer=settings.jwt_issuer,
            audience=settings.jwt_audience,
            options={
                "require": ["exp", "sub", "role"],
                "verify_aud": settings.jwt_audience is not None,
            },
            leeway=5,
        )
    except jwt.ExpiredSignatureError:
        raise Unauthorized("token expired", code="token_expired") from None
    except jwt.PyJWTError as exc:
        raise Unauthorized(f"invalid token: {type(exc).__name__}", code="invalid_token") from None
    return principal_from_claims(claims, "jwt")


def make_token(
    *,
    sub: str,
    role: str,
    region: str,
    settings: Settings,
    dept: str | None = None,
    ttl_s: int = 8 * 3600,
) -> str:
    """A development HS256 token with DESIGN.md's claims."""
    now = int(time.time())
    claims: dict[str, Any] = {
        "sub": sub,
        "role": role,
        "region": region,
        "iat": now,
        "nbf": now,
        "exp": now + ttl_s,
    }
    if dept:
        claims["dept"] = dept
    if settings.jwt_issuer:
        claims["iss"] = settings.jwt_issuer
    if settings.jwt_audience:
        claims["aud"] = settings.jwt_audience
    principal_from_claims(claims, "jwt")  # refuse to mint what we would refuse to accept
    return jwt.encode(claims, settings.secret("jwt_secret"), algorithm="HS256")


def sign_principal(p: Principal, secret: str, *, request_id: str = "") -> tuple[str, str]:
    body = dict(asdict(p), iat=int(time.time()), rid=request_id)
    raw = base64.urlsafe_b64encode(json.dumps(body, separators=(",", ":")).encode()).decode()
    sig = hmac.new(secret.encode(), raw.encode(), hashlib.sha256).hexdigest()
    return raw, sig


def verify_principal(raw: str, sig: str, secret: str) -> Principal:
    want = hmac.new(secret.encode(), raw.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(want, sig):
        raise Unauthorized("forged or corrupted principal header", code="invalid_principal")
    try:
        body = json.loads(base64.urlsafe_b64decode(raw.encode()))
    except Exception:
        raise Unauthorized("unreadable principal header", code="invalid_principal") from None
    if abs(time.time() - int(body.get("iat", 0))) > _PRINCIPAL_MAX_AGE_S:
        raise Unauthorized("stale principal header", code="invalid_principal")
    return principal_from_claims(body, "gateway")
