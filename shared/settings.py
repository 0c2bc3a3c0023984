"""Settings every process reads from the environment (prefix `FANGFAN_`), with development
secrets kept in the data directory so that one command runs the whole system on a laptop."""

from __future__ import annotations

import base64
import json
import os
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = [
    "DEV_JWT_SECRET",
    "SERVICES",
    "SERVICE_PORTS",
    "Settings",
    "ensure_dev_secrets",
    "get_settings",
]

#: The well-known secret a developer's first run may use; refused in production.
DEV_JWT_SECRET = "fangfan-development-secret-do-not-use-in-production"

SERVICES = ("identification", "assistance", "subsidy", "notification", "civil_affairs")
SERVICE_PORTS = {
    "identification": 8101,
    "assistance": 8102,
    "subsidy": 8103,
    "notification": 8104,
    "civil_affairs": 8105,
}


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FANGFAN_", extra="ignore")

    env: Literal["development", "test", "production"] = "development"
    data_dir: Path = Path("var")
    #: NATS server URL(s), comma-separated. Unset: the one `fangfan up` started (data_dir/nats.url).
    nats_url: str | None = None
    #: A SQLAlchemy URL template for every service, `{service}` replaced by the service name,
    #: e.g. `postgresql+asyncpg://127.0.0.1/fangfan_{service}`. Unset: SQLite files in data_dir.
    database_url: str | None = None
    jwt_secret: str | None = None
    jwt_algorithm: Literal["HS256", "RS256"] = "HS256"
    jwt_public_key_file: Path | None = None
    jwt_issuer: str | None = None
    jwt_audience: str | None = None
    #: Signs the principal the gateway hands to services (HMAC-SHA256).
    internal_secret: str | None = None
    #: Base64 of 32 bytes: AES-256-GCM key for personal data at rest.
    pii_key: str | None = None
    #: Base64 of 32 bytes: HMAC key of the blind index for exact look-ups.
    pii_index_key: str | None = None
    #: Comma-separated base64 keys that still decrypt during a PII key rotation.
    pii_previous_keys: str = ""
    webhook_allowlist: str = ""
    log_level: str = "INFO"
    gateway_port: int = 8000
    #: How long JetStream waits for a consumer's ack before redelivering (to another replica, if
    #: the one that fetched the message died).
    consumer_ack_wait_s: float = 60.0
    #: Replicas of the FANGFAN stream: 1 on one machine, 3 on a 3-node JetStream cluster (R3).
    stream_replicas: int = 1
    #: Apply the service's migrations when it starts (off when a migration job runs them first).
    migrate_on_start: bool = True

    @field_validator("data_dir")
    @classmethod
    def _absolute(cls, v: Path) -> Path:
        return v.expanduser().resolve()

    @model_validator(mode="after")
    def _production_refuses_dev_secrets(self) -> Settings:
        if self.env == "production":
            if self.jwt_algorithm == "HS256" and (
                not self.jwt_secret or self.jwt_secret == DEV_JWT_SECRET or len(self.jwt_secret) < 32
            ):
                raise ValueError(
                    "FANGFAN_ENV=production refuses the development JWT secret: set "
                    "FANGFAN_JWT_SECRET to at least 32 random characters or use RS256"
                )
            for name in ("internal_secret", "pii_key", "pii_index_key"):
                if not getattr(self, name):
                    raise ValueError(f"FANGFAN_ENV=production needs FANGFAN_{name.upper()}")
        return self

    def database_url_for(self, service: str) -> str:
        """Per-service URL: FANGFAN_<SERVICE>_DATABASE_URL, then the template, then SQLite."""
        explicit = os.environ.get(f"FANGFAN_{service.upper()}_DATABASE_URL")
        if explicit:
            return explicit
        if self.database_url:
            return self.database_url.replace("{service}", service)
        return f"sqlite+aiosqlite:///{self.data_dir / (service + '.db')}"

    def resolved_nats_url(self) -> str:
        if self.nats_url:
            return self.nats_url
        f = self.data_dir / "nats.url"
        if f.exists():
            return f.read_text().strip()
        return "nats://127.0.0.1:4222"

    def secret(self, name: str) -> str:
        """A secret from the environment, else from the data dir's dev secrets file."""
        value = getattr(self, name)
        if value:
            return str(value)
        if self.env == "production":
            raise RuntimeError(f"FANGFAN_{name.upper()} is required in production")
        return ensure_dev_secrets(self.data_dir)[name]

    def pii_key_bytes(self) -> bytes:
        return base64.b64decode(self.secret("pii_key"))

    def pii_previous_key_bytes(self) -> tuple[bytes, ...]:
        return tuple(base64.b64decode(k) for k in self.pii_previous_keys.split(",") if k.strip())

    def pii_index_key_bytes(self) -> bytes:
        return base64.b64decode(self.secret("pii_index_key"))


def ensure_dev_secrets(data_dir: Path) -> dict[str, str]:
    """Create (once) and read the development secrets kept in `data_dir/secrets.json`."""
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / "secrets.json"
    if path.exists():
        return dict(json.loads(path.read_text()))
    values = {
        "jwt_secret": secrets.token_urlsafe(48),
        "internal_secret": secrets.token_urlsafe(48),
        "pii_key": base64.b64encode(secrets.token_bytes(32)).decode(),
        "pii_index_key": base64.b64encode(secrets.token_bytes(32)).decode(),
    }
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(values, indent=2))
    tmp.chmod(0o600)
    try:
        # Another process may have won the race: keep theirs.
        os.link(tmp, path)
    except FileExistsError:
        pass
    finally:
        tmp.unlink(missing_ok=True)
    return dict(json.loads(path.read_text()))


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
