"""Personal data at rest: AES-256-GCM field encryption, an HMAC-SHA256 blind index for exact
look-ups without decrypting, and the masks shown to roles that may not see the clear value."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

__all__ = ["FieldCipher", "mask_id_number", "mask_numbers_in_text", "mask_phone"]

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
    """`341221199001011234` → `341221********1234`: county code and last four kept."""
    if len(value) != 18:
        return "*" * len(value)
    return value[:6] + "*" * 8 + value[14:]


def mask_phone(value: str) -> str:
    """`13812345678` → `138****5678`."""
    if len(value) < 7:
        return "*" * len(value)
    return value[:3] + "*" * (len(value) - 7) + value[-4:]


_ID_IN_TEXT = re.compile(r"(?<![0-9])[0-9]{17}[0-9Xx](?![0-9])")
_PHONE_IN_TEXT = re.compile(r"(?<![0-9])1[3-9][0-9]{9}(?![0-9])")


def mask_numbers_in_text(text: str) -> str:
    """Free text as it is kept (a reason, a review note): resident ID numbers and mobile numbers
    written into it are masked, since free text is stored and shown without encryption."""
    text = _ID_IN_TEXT.sub(lambda m: mask_id_number(m.group()), text)
    return _PHONE_IN_TEXT.sub(lambda m: mask_phone(m.group()), text)
