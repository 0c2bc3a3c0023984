"""Message signatures of the DCI exchange: fangfan's Ed25519 signing key (generated into the
data dir in development, `FANGFAN_DCI_SIGNING_KEY_FILE` in production), its public JWKS, and
JWS sign/verify of an envelope — compact serialization with a detached, unencoded payload
(RFC 7515 appendix F, RFC 7797 `b64: false`) over the canonical JSON of {header, message}."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from jwt.algorithms import OKPAlgorithm

from services.identification.domain.dci import DciRefusal, canonical_json
from shared.settings import Settings

__all__ = [
    "DciKeyring",
    "SigningKey",
    "jwks_problem",
    "load_signing_key",
    "our_sender_id",
    "sign_envelope",
    "verify_envelope",
]

SENDER_ID_ENV = "FANGFAN_DCI_SENDER_ID"
KEY_FILE_ENV = "FANGFAN_DCI_SIGNING_KEY_FILE"
_DEV_KEY_FILE = "dci_signing_key.pem"
#: JWS algorithms a partner's key may use (asymmetric only: a shared secret is no signature)
_ALGORITHMS = ("EdDSA", "ES256", "ES384", "RS256", "PS256")
_lock = threading.Lock()
_cache: dict[str, SigningKey] = {}


def our_sender_id() -> str:
    """fangfan's `sender_id` on the wire (what partners register us as)."""
    return os.environ.get(SENDER_ID_ENV, "fangfan")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@dataclass(frozen=True)
class SigningKey:
    kid: str
    private_key: Ed25519PrivateKey
    public_jwk: dict[str, str]

    def jwks(self) -> dict[str, Any]:
        return {"keys": [self.public_jwk]}


def _from_private(private_key: Ed25519PrivateKey) -> SigningKey:
    jwk = json.loads(OKPAlgorithm.to_jwk(private_key.public_key()))
    # RFC 7638 thumbprint: the required members in lexicographic order, no spaces
    thumb = json.dumps({"crv": jwk["crv"], "kty": jwk["kty"], "x": jwk["x"]}, separators=(",", ":"), sort_keys=True)
    kid = _b64(hashlib.sha256(thumb.encode()).digest())
    public = {"kty": "OKP", "crv": "Ed25519", "x": jwk["x"], "kid": kid, "use": "sig", "alg": "EdDSA"}
    return SigningKey(kid, private_key, public)


def load_signing_key(settings: Settings) -> SigningKey:
    """The key named by FANGFAN_DCI_SIGNING_KEY_FILE (PEM, PKCS#8 Ed25519); outside production
    without it, `<data dir>/dci_signing_key.pem`, generated on first use (mode 0600)."""
    configured = os.environ.get(KEY_FILE_ENV)
    if configured:
        path = Path(configured)
    elif settings.env == "production":
        raise RuntimeError(f"{KEY_FILE_ENV} must name the DCI signing key (PEM) in production")
    else:
        path = settings.data_dir / _DEV_KEY_FILE
    with _lock:
        cached = _cache.get(str(path))
        if cached is not None:
            return cached
        if not path.exists() and not configured:
            path.parent.mkdir(parents=True, exist_ok=True)
            pem = Ed25519PrivateKey.generate().private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(pem)
        loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(loaded, Ed25519PrivateKey):
            raise RuntimeError(f"{path} must hold an Ed25519 private key")
        key = _from_private(loaded)
        _cache[str(path)] = key
        return key


def sign_envelope(key: SigningKey, header: dict[str, Any], message: Any) -> str:
    """The `signature` of an envelope: `<protected header>..<signature>`."""
    payload = canonical_json({"header": header, "message": message})
    return jwt.api_jws.encode(
        payload, key.private_key, algorithm="EdDSA", headers={"kid": key.kid, "typ": "JOSE"}, is_payload_detached=True
    )


def jwks_problem(jwks: Any) -> str | None:
    """Why a partner's JWKS cannot be used (None: it can): public asymmetric keys with a `kid`."""
    if not isinstance(jwks, dict) or not isinstance(jwks.get("keys"), list) or not jwks["keys"]:
        return "a JWKS object {keys: [...]} with at least one key"
    for k in jwks["keys"]:
        if not isinstance(k, dict) or not k.get("kid"):
            return "every key needs a kid"
        if "d" in k or k.get("kty") == "oct":
            return "public keys only (no private or symmetric key material)"
    try:
        keys = jwt.PyJWKSet.from_dict(jwks).keys
    except (jwt.PyJWKError, jwt.PyJWTError, ValueError, TypeError, KeyError) as exc:
        return f"not a usable JWKS: {type(exc).__name__}"
    if any(k.algorithm_name not in _ALGORITHMS for k in keys):
        return f"key algorithms must be among {', '.join(_ALGORITHMS)}"
    return None


def verify_envelope(signature: Any, header: dict[str, Any], message: Any, jwks: dict[str, Any]) -> None:
    """Refuse (err.signature.missing / err.signature.invalid, HTTP 401) unless `signature` is a
    valid detached JWS over {header, message} by a key of the sender's JWKS."""
    if not isinstance(signature, str) or not signature:
        raise DciRefusal("err.signature.missing", "signature is required: a detached JWS over {header, message}", 401)
    invalid = DciRefusal("err.signature.invalid", "the signature does not verify with the sender's keys", 401)
    try:
        protected = jwt.get_unverified_header(signature)
        keys = {k.key_id: k for k in jwt.PyJWKSet.from_dict(jwks).keys}
    except (jwt.PyJWTError, jwt.PyJWKError, ValueError, TypeError, KeyError):
        raise invalid from None
    kid = protected.get("kid")
    key = keys.get(kid) if isinstance(kid, str) else None
    if key is None or protected.get("alg") != key.algorithm_name or key.algorithm_name not in _ALGORITHMS:
        raise invalid
    try:
        jwt.api_jws.decode_complete(
            signature,
            key,
            algorithms=[key.algorithm_name],
            detached_payload=canonical_json({"header": header, "message": message}),
        )
    except (jwt.PyJWTError, ValueError, TypeError):
        raise invalid from None


class DciKeyring:
    """The `DciKeys` port (application/ports.py) over this module."""

    def sender_id(self) -> str:
        return our_sender_id()

    def sign(self, settings: Settings, header: dict[str, Any], message: Any) -> str:
        return sign_envelope(load_signing_key(settings), header, message)

    def public_jwks(self, settings: Settings) -> dict[str, Any]:
        return load_signing_key(settings).jwks()

    def jwks_problem(self, jwks: Any) -> str | None:
        return jwks_problem(jwks)

    def verify(self, signature: Any, header: dict[str, Any], message: Any, jwks: dict[str, Any]) -> None:
        verify_envelope(signature, header, message, jwks)
