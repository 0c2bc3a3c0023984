"""Who a person is to the notification service: a blind index, never the clear token subject (a
citizen's subject is their resident ID number); and the contexts its ciphertexts are bound to."""

from __future__ import annotations

from shared.auth import Principal
from shared.pii import FieldCipher

__all__ = ["PHONE_CONTEXT", "SECRET_CONTEXT", "person_hash", "subject_hash"]

#: what an SMS number's ciphertext is bound to
PHONE_CONTEXT = b"sms_recipients.phone_enc"
#: what a webhook secret's ciphertext is bound to
SECRET_CONTEXT = b"subscription_secrets.secret_enc"


def subject_hash(cipher: FieldCipher, role: str, sub: str) -> str:
    """The same convention as identification's `submitter_index`: a citizen by their subject
    (ID number), everyone else by `role:subject`."""
    return cipher.blind_index(sub if role == "citizen" else f"{role}:{sub}")


def person_hash(cipher: FieldCipher, principal: Principal) -> str:
    return subject_hash(cipher, principal.role, principal.sub)
