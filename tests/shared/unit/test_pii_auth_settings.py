"""Personal-data crypto and masks, tokens and the signed principal, production settings, logs."""

from __future__ import annotations

import base64
import json
import logging
import time
from pathlib import Path

import jwt
import pytest
from cryptography.exceptions import InvalidTag
from pydantic import ValidationError

from shared.auth import Principal, make_token, sign_principal, verify_jwt, verify_principal
from shared.errors import Unauthorized
from shared.events import Event, PersonalDataInEvent, encode_event, event_subject
from shared.logging import JsonFormatter, redact
from shared.pii import FieldCipher, mask_id_number, mask_phone
from shared.settings import DEV_JWT_SECRET, Settings, ensure_dev_secrets

KEY, INDEX = b"k" * 32, b"i" * 32


def test_field_encryption_round_trip_and_binding() -> None:
    c = FieldCipher(KEY, INDEX)
    blob = c.encrypt("341221199001011231", context=b"id_number")
    assert b"341221199001011231" not in blob
    assert c.decrypt(blob, context=b"id_number") == "341221199001011231"
    assert c.encrypt("x") != c.encrypt("x")  # a fresh nonce each time
    with pytest.raises(InvalidTag):  # moved to another column: authentication fails
        c.decrypt(blob, context=b"name")


def test_key_rotation_reads_old_rows_and_writes_with_the_new_key() -> None:
    old = FieldCipher(b"o" * 32, INDEX)
    blob = old.encrypt("341221199001011231", context=b"id_number")
    rotated = FieldCipher(KEY, INDEX, previous_keys=(b"o" * 32,))
    assert rotated.decrypt(blob, context=b"id_number") == "341221199001011231"
    assert rotated.needs_reencryption(blob, context=b"id_number")
    fresh = rotated.encrypt("341221199001011231", context=b"id_number")
    assert not rotated.needs_reencryption(fresh, context=b"id_number")
    with pytest.raises(InvalidTag):
        FieldCipher(KEY, INDEX).decrypt(blob, context=b"id_number")  # the old key dropped


def test_blind_index_is_deterministic_and_keyed() -> None:
    a, b = FieldCipher(KEY, INDEX), FieldCipher(KEY, b"j" * 32)
    assert a.blind_index("34122119900101123x") == a.blind_index("34122119900101123X")
    assert a.blind_index("341221199001011231") != b.blind_index("341221199001011231")
    assert len(a.blind_index("1")) == 64


def test_masks() -> None:
    assert mask_id_number("34122119900101123X") == "341221********123X"
    assert mask_phone("13812345678") == "138****5678"


def settings(tmp_path: Path, **kw: object) -> Settings:
    return Settings(data_dir=tmp_path, jwt_secret="s" * 40, **kw)  # type: ignore[arg-type]


def test_token_round_trip(tmp_path: Path) -> None:
    s = settings(tmp_path)
    t = make_token(sub="u1", role="county", region="341221", settings=s)
    p = verify_jwt(t, s)
    assert (p.sub, p.role, p.region) == ("u1", "county", "341221")
    assert p.sees("341221001200")
    assert not p.sees("341222001001")


@pytest.mark.parametrize(
    ("claims", "alg", "code"),
    [
        ({"exp": -10}, "HS256", "token_expired"),
        ({"nbf": 3600}, "HS256", "invalid_token"),
        ({"role": "superuser"}, "HS256", "invalid_token"),
        ({"region": "3412210012"}, "HS256", "invalid_token"),
        ({}, "none", "invalid_token"),
    ],
)
def test_bad_tokens_are_refused(tmp_path: Path, claims: dict[str, int | str], alg: str, code: str) -> None:
    s = settings(tmp_path)
    now = int(time.time())
    body: dict[str, object] = {"sub": "u", "role": "county", "region": "341221", "exp": now + 60}
    for k, v in claims.items():
        body[k] = now + v if k in ("exp", "nbf") else v
    token = jwt.encode(body, None if alg == "none" else "s" * 40, algorithm=alg)
    with pytest.raises(Unauthorized) as err:
        verify_jwt(token, s)
    assert err.value.code == code


def test_tampered_token_is_refused(tmp_path: Path) -> None:
    s = settings(tmp_path)
    head, body, sig = make_token(sub="u", role="village", region="341221001001", settings=s).split(".")
    claims = json.loads(base64.urlsafe_b64decode(body + "=="))
    claims["region"] = "34"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
    with pytest.raises(Unauthorized):
        verify_jwt(f"{head}.{forged}.{sig}", s)


def test_signed_principal_cannot_be_forged() -> None:
    p = Principal(sub="u", role="county", region="341221")
    raw, sig = sign_principal(p, "secret")
    assert verify_principal(raw, sig, "secret").region == "341221"
    forged_raw = base64.urlsafe_b64encode(
        json.dumps({"sub": "u", "role": "admin", "region": "", "iat": int(time.time())}).encode()
    ).decode()
    with pytest.raises(Unauthorized):
        verify_principal(forged_raw, sig, "secret")
    with pytest.raises(Unauthorized):
        verify_principal(raw, sig, "other-secret")


def test_production_refuses_development_secrets(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="refuses the development JWT secret"):
        Settings(env="production", data_dir=tmp_path, jwt_secret=DEV_JWT_SECRET)
    with pytest.raises(ValidationError, match="refuses the development JWT secret"):
        Settings(env="production", data_dir=tmp_path)
    ok = Settings(
        env="production",
        data_dir=tmp_path,
        jwt_secret="x" * 48,
        internal_secret="y" * 48,
        pii_key=base64.b64encode(KEY).decode(),
        pii_index_key=base64.b64encode(INDEX).decode(),
    )
    assert ok.env == "production"


def test_dev_secrets_are_made_once(tmp_path: Path) -> None:
    a = ensure_dev_secrets(tmp_path)
    b = ensure_dev_secrets(tmp_path)
    assert a == b
    assert len(base64.b64decode(a["pii_key"])) == 32
    assert (tmp_path / "secrets.json").stat().st_mode & 0o077 == 0


def test_logs_never_carry_id_numbers_phones_or_tokens() -> None:
    line = "citizen 341221199001011231 phone 13812345678 Authorization: Bearer eyJhbGciOi.eyJzdWIiOiJ1In0.sig"
    out = redact(line)
    assert "341221199001011231" not in out
    assert "341221********1231" in out
    assert "13812345678" not in out
    assert "138****5678" in out
    assert "eyJhbGciOi" not in out
    record = logging.LogRecord("t", logging.INFO, __file__, 1, "lookup %s", ("341221199001011231",), None)
    assert "341221199001011231" not in JsonFormatter("test").format(record)


def test_events_refuse_personal_data_and_fill_missing_levels() -> None:
    with pytest.raises(PersonalDataInEvent):
        encode_event(Event("risk", "warning_raised", "h1", "341221001001", {"member": "341221199001011231"}))
    with pytest.raises(PersonalDataInEvent):
        encode_event(Event("risk", "warning_raised", "h1", "341221001001", {"contact": {"phone": "13812345678"}}))
    with pytest.raises(PersonalDataInEvent):
        encode_event(Event("risk", "warning_raised", "h1", "341221001001", {"note": "电话13812345678联系"}))
    # hex digests and UUIDs may hold phone-like digit runs: not personal data
    digest = "ab13812345678cd" + "0" * 49
    encode_event(Event("application", "submitted", "h1", "341221001001", {"applicant_sub_hash": digest}))
    encode_event(Event("case", "status_changed", "c1", "341221001001", {"case_id": "e13812345678f-0000"}))
    assert event_subject("risk", "scale_flagged", "341221") == "fangfan.risk.scale_flagged.34.3412.341221._._"
    with pytest.raises(ValueError, match="region"):
        event_subject("risk", "warning_raised", "3412210012")
