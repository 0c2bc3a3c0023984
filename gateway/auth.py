"""Who is calling: a bearer JWT (HS256 in development, RS256 with a public key file or a JWKS in
production; the algorithm comes from configuration, never from the token) or an `X-API-Key`
issued by an admin. Every failure is 401 problem+json with a stable code (RFC 8725 checks)."""

from __future__ import annotations

import asyncio
import ipaddress
import json
import logging
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import jwt
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from gateway.apikeys import ApiKeyStore
from shared.auth import Principal, principal_from_claims
from shared.errors import Unauthorized
from shared.settings import Settings

__all__ = ["Authenticator", "JwtVerifier", "load_jwks"]

log = logging.getLogger("fangfan.gateway.auth")
_JWKS_REFRESH_MIN_S = 30.0


class JwtVerifier:
    """Verifies tokens with the one algorithm configured. Keys are loaded once (not per request)."""

    def __init__(self, settings: Settings, *, jwks: str | None = None) -> None:
        self.settings = settings
        self.algorithm = settings.jwt_algorithm
        self.jwks_source = jwks
        self._hmac_key: str | None = None
        self._rsa_key: RSAPublicKey | None = None
        self._jwks: dict[str | None, RSAPublicKey] = {}
        self._jwks_fetched = 0.0
        if self.algorithm == "HS256":
            self._hmac_key = settings.secret("jwt_secret")
        elif jwks is None:
            if not settings.jwt_public_key_file:
                raise RuntimeError("RS256 needs FANGFAN_JWT_PUBLIC_KEY_FILE or FANGFAN_JWT_JWKS")
            key = load_pem_public_key(Path(settings.jwt_public_key_file).read_bytes())
            if not isinstance(key, RSAPublicKey):
                raise RuntimeError("FANGFAN_JWT_PUBLIC_KEY_FILE must hold an RSA public key")
            self._rsa_key = key
        self._options: dict[str, Any] = {
            "require": ["exp", "sub", "role"],
            "verify_aud": settings.jwt_audience is not None,
        }

    async def load(self, http: aiohttp.ClientSession | None) -> None:
        if self.algorithm == "RS256" and self.jwks_source:
            self._jwks = await load_jwks(self.jwks_source, http)
            self._jwks_fetched = time.monotonic()

    async def _refresh_jwks(self, http: aiohttp.ClientSession | None) -> None:
        """An unknown `kid` may be a rotated key: re-read the JWKS, at most every 30 s."""
        if self.jwks_source and time.monotonic() - self._jwks_fetched > _JWKS_REFRESH_MIN_S:
            self._jwks_fetched = time.monotonic()
            try:
                self._jwks = await load_jwks(self.jwks_source, http)
            except Exception as exc:
                log.warning("JWKS refresh failed: %s", type(exc).__name__)

    def _key_for(self, token: str) -> Any:
        if self._hmac_key is not None:
            return self._hmac_key
        if self._rsa_key is not None:
            return self._rsa_key
        try:
            kid = jwt.get_unverified_header(token).get("kid")
        except jwt.PyJWTError:
            raise Unauthorized("invalid token: malformed header", code="invalid_token") from None
        key = self._jwks.get(kid)
        if key is None and kid is None and len(self._jwks) == 1:
            key = next(iter(self._jwks.values()))
        return key

    async def verify(self, token: str, http: aiohttp.ClientSession | None = None) -> Principal:
        key = self._key_for(token)
        if key is None:
            await self._refresh_jwks(http)
            key = self._key_for(token)
            if key is None:
                raise Unauthorized("invalid token: unknown signing key", code="invalid_token")
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=[self.algorithm],
                issuer=self.settings.jwt_issuer,
                audience=self.settings.jwt_audience,
                options=self._options,  # type: ignore[arg-type]
                leeway=5,
            )
        except jwt.ExpiredSignatureError:
            raise Unauthorized("token expired", code="token_expired") from None
        except jwt.ImmatureSignatureError:
            raise Unauthorized("token not valid yet (nbf/iat in the future)", code="invalid_token") from None
        except jwt.PyJWTError as exc:
            raise Unauthorized(f"invalid token: {type(exc).__name__}", code="invalid_token") from None
        return principal_from_claims(claims, "jwt")


async def load_jwks(source: str, http: aiohttp.ClientSession | None) -> dict[str | None, RSAPublicKey]:
    """RSA keys of a JWKS by `kid`, from a file, an https URL, or an http URL on loopback only
    (plain http to anywhere else could be answered by someone else)."""
    if source.startswith(("http://", "https://")):
        parts = urlsplit(source)
        if parts.scheme == "http" and not _is_loopback(parts.hostname or ""):
            raise RuntimeError("FANGFAN_JWT_JWKS over plain http must be on loopback; use https")
        own = http is None
        session = http or aiohttp.ClientSession()
        try:
            async with session.get(source, timeout=aiohttp.ClientTimeout(total=5)) as r:
                r.raise_for_status()
                doc = await r.json(content_type=None)
        finally:
            if own:
                await session.close()
    else:
        doc = json.loads(await asyncio.to_thread(Path(source).read_text))
    keys: dict[str | None, RSAPublicKey] = {}
    for jwk in doc.get("keys", []):
        if jwk.get("kty") != "RSA" or jwk.get("use", "sig") != "sig" or jwk.get("alg", "RS256") != "RS256":
            continue
        key = jwt.algorithms.RSAAlgorithm.from_jwk(jwk)
        if isinstance(key, RSAPublicKey):
            keys[jwk.get("kid")] = key
    if not keys:
        raise RuntimeError(f"no RS256 signing keys in the JWKS at {source}")
    return keys


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class Authenticator:
    """JWT or API key → Principal. Both present is refused (ambiguous); neither is 401."""

    def __init__(self, jwt_verifier: JwtVerifier, api_keys: ApiKeyStore | None) -> None:
        self.jwt = jwt_verifier
        self.api_keys = api_keys

    async def authenticate(
        self, authorization: str | None, api_key: str | None, http: aiohttp.ClientSession | None = None
    ) -> Principal:
        if authorization is not None and api_key is not None:
            raise Unauthorized("send either a bearer token or an API key, not both", code="ambiguous_credentials")
        if api_key is not None:
            if self.api_keys is None:
                raise Unauthorized("API keys are not available", code="invalid_api_key")
            return await self.api_keys.authenticate(api_key)
        if not authorization:
            raise Unauthorized("missing bearer token or X-API-Key", code="missing_token")
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized("Authorization must be 'Bearer <JWT>'", code="missing_token")
        return await self.jwt.verify(token.strip(), http)
