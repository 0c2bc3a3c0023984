"""Personal data at rest: AES-256-GCM field encryption, an HMAC-SHA256 blind index for exact
look-ups without decrypting, and the masks shown to roles that may not see the clear value."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import os
import re
from typing import Annotated, Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from pydantic import AfterValidator

from shared.identifiers import is_valid_id_number

__all__ = [
    "FieldCipher",
    "MaskedText",
    "mask_id_number",
    "mask_numbers_in_text",
    "mask_numbers_in_value",
    "mask_phone",
]

_VERSION = b"\x01"


class FieldCipher:
    def __init__(self, key: bytes, index_key: bytes, *, previous_keys: tuple[bytes, ...] = ()) -> None:
        """`previous_keys` still decrypt (key rotation: new writes use `key`; a re-encryption job
        or ordinary updates move old rows over; then the old key is dropped)."""
        if len(key) != 32 or len(index_key) != 32 or any(len(k) != 32 for k in previous_keys):
            raise ValueError("PII keys must be 32 bytes")
        self._aes = AESGCM(key)
        self._previous = [AESGCM(k) for k in previous_keys]
        self._index_key = index_key

    def encrypt(self, plaintext: str, *, context: bytes = b"") -> bytes:
        """Version byte + 12-byte nonce + ciphertext; `context` (e.g. the column name) is bound as
        associated data so a value cannot be moved to another column unnoticed."""
        nonce = os.urandom(12)
        return _VERSION + nonce + self._aes.encrypt(nonce, plaintext.encode(), context)

    def decrypt(self, blob: bytes, *, context: bytes = b"") -> str:
        if not blob or blob[:1] != _VERSION:
            raise ValueError("unknown ciphertext version")
        try:
            return self._aes.decrypt(blob[1:13], blob[13:], context).decode()
        except InvalidTag:
            for old in self._previous:
                try:
                    return old.decrypt(blob[1:13], blob[13:], context).decode()
                except InvalidTag:
                    continue
            raise

    def needs_reencryption(self, blob: bytes, *, context: bytes = b"") -> bool:
        """True when `blob` was written with a previous key."""
        try:
            self._aes.decrypt(blob[1:13], blob[13:], context)
        except InvalidTag:
            return True
        return False

    def blind_index(self, value: str) -> str:
        return hmac.new(self._index_key, value.strip().upper().encode(), hashlib.sha256).hexdigest()

    def keyed_hash(self, value: str) -> str:
        """HMAC-SHA256 of `value` exactly as given (no normalisation), with the blind-index key:
        an identifier derived from content that may hold personal data, which nobody without the
        key can test guesses against (a plain hash of an ID number can be brute-forced)."""
        return hmac.new(self._index_key, value.encode(), hashlib.sha256).hexdigest()

    def encrypt_text(self, plaintext: str, *, context: bytes = b"") -> str:
        return base64.b64encode(self.encrypt(plaintext, context=context)).decode()

    def decrypt_text(self, token: str, *, context: bytes = b"") -> str:
        return self.decrypt(base64.b64decode(token), context=context)


def mask_id_number(value: str) -> str:
    """`341221199001011234` → `341221********1234`: county code and last four kept (a 15-digit
    number of before 1999: `341221******123`, county code and sequence kept)."""
    if len(value) == 15:
        return value[:6] + "*" * 6 + value[12:]
    if len(value) != 18:
        return "*" * len(value)
    return value[:6] + "*" * 8 + value[14:]


def mask_phone(value: str) -> str:
    """`13812345678` → `138****5678`."""
    if len(value) < 7:
        return "*" * len(value)
    return value[:3] + "*" * (len(value) - 7) + value[-4:]


#: Province-level codes (GB/T 2260): the first two digits of every resident ID number.
_PROVINCES = frozenset(
    {
        *("11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37", "41", "42"),
        *("43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64", "65", "71", "81", "82"),
    }
)
_HEX = "[0-9A-Fa-f]"
# One pass, left to right; the first alternatives are look-alikes kept as they are (a UUID, a
# hex digest), so the digit runs inside them are never taken for numbers.
_FREE_TEXT = re.compile(
    # a cheap first look: only where a digit, a hex letter, "+" or "(" starts (3× faster on prose)
    r"(?=[0-9A-Fa-f+(（])(?:"
    rf"(?P<uuid>{_HEX}{{8}}-{_HEX}{{4}}-{_HEX}{{4}}-{_HEX}{{4}}-{_HEX}{{12}})"
    rf"|(?P<hex>{_HEX}{{32,}})"
    # 18-character ID number, as one run or in groups 6-8-4 / 6-4-4-4 with one kind of separator
    r"|(?<![0-9])(?<![0-9]\.)(?P<id18>[0-9]{17}[0-9Xx]"
    r"|[0-9]{6}(?P<s1>[ \-])[0-9]{8}(?P=s1)[0-9]{3}[0-9Xx]"
    r"|[0-9]{6}(?P<s2>[ \-])[0-9]{4}(?P=s2)[0-9]{4}(?P=s2)[0-9]{3}[0-9Xx])(?![0-9])"
    # 15-digit ID number of before 1999 (region, YYMMDD, sequence)
    r"|(?<![0-9])(?<![0-9]\.)(?P<id15>[0-9]{15})(?![0-9])(?!\.[0-9])"
    # mobile number, optionally +86 / 0086 / 86 first, as one run or 3-4-4 with one separator
    r"|(?<![0-9])(?<![0-9]\.)(?P<cc>(?:\+|00)?86[ \-]?)?"
    r"(?P<mobile>1[3-9][0-9](?P<s3>[ \-]?)[0-9]{4}(?P=s3)[0-9]{4})(?![0-9])(?!\.[0-9])"
    # landline with its area code marked off: 0558-1234567, (0558)1234567, （010）12345678
    r"|(?<![0-9])(?P<area>0[0-9]{2,3}-|[(（]0[0-9]{2,3}[)）] ?)(?P<local>[1-9][0-9]{6,7})(?![0-9])"
    r")"
)


# Every number masked holds three digits, at most one separator, then four more digits.
_MAYBE = re.compile(r"[0-9]{3}[ \-]?[0-9]{4}")


def _id15_valid(v: str) -> bool:
    if v[:2] not in _PROVINCES:
        return False
    try:
        dt.date(1900 + int(v[6:8]), int(v[8:10]), int(v[10:12]))
    except ValueError:
        return False
    return True


def _continues(text: str, start: int, end: int, sep: str) -> bool:
    """A grouped number is one only when no further group is glued on with the same separator."""
    return bool(sep) and (
        (end + 1 < len(text) and text[end] == sep and text[end + 1].isdigit())
        or (start >= 2 and text[start - 1] == sep and text[start - 2].isdigit())
    )


def _replace(m: re.Match[str]) -> str:
    text, whole = m.string, m.group()
    if m.group("id18") is not None:
        sep = m.group("s1") or m.group("s2") or ""
        value = whole.replace(sep, "").upper() if sep else whole.upper()
        if _continues(text, m.start(), m.end(), sep) or not is_valid_id_number(value):
            return whole
        return mask_id_number(value)
    if m.group("id15") is not None:
        return mask_id_number(whole) if _id15_valid(whole) else whole
    if m.group("mobile") is not None:
        sep = m.group("s3") or ""
        if _continues(text, m.start(), m.end(), sep):
            return whole
        return (m.group("cc") or "") + mask_phone(m.group("mobile").replace(sep, "") if sep else m.group("mobile"))
    if m.group("local") is not None:
        local = m.group("local")
        return m.group("area") + "*" * (len(local) - 4) + local[-4:]
    return whole  # a UUID or a hex digest


def mask_numbers_in_text(text: str) -> str:
    """Free text as it is kept and shown (a reason, a review note, a visit's findings): resident
    ID numbers (18 characters passing the GB 11643 date and check digit, lower-case x, grouped
    6-8-4 or 6-4-4-4 by spaces or dashes; 15-digit ones of before 1999), mobile numbers (with
    +86 / 86, grouped 3-4-4) and landlines with a marked-off area code are masked as the
    structured fields are: `341221********369X`, `138****5678`, `0558-***4567`.

    Left alone: numbers inside longer digit runs (17, 19 digits …) or decimals, amounts, dates,
    12-digit region codes, UUIDs and hex digests, 18-digit numbers whose check digit fails.
    Idempotent: a masked text masks to itself."""
    if not text or not _MAYBE.search(text):  # most text holds no run this long: one C-level scan
        return text
    return _FREE_TEXT.sub(_replace, text)


def mask_numbers_in_value(value: Any) -> Any:
    """`mask_numbers_in_text` over JSON: every string (keys too) of nested dicts and lists, and
    integers shaped like a mobile or ID number (`13812345678` → `"138****5678"`, a string). Other
    numbers (amounts, counts, floats), booleans and null are kept."""
    if isinstance(value, str):
        return mask_numbers_in_text(value)
    if isinstance(value, dict):
        return {
            mask_numbers_in_text(k) if isinstance(k, str) else k: mask_numbers_in_value(v) for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [mask_numbers_in_value(v) for v in value]
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        s = str(value)
        masked = mask_numbers_in_text(s)
        return masked if masked != s else value
    return value


#: A free-text field of a request schema: masked as it is validated, so what is stored is masked.
MaskedText = Annotated[str, AfterValidator(mask_numbers_in_text)]
