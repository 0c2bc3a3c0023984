"""The import's row encoder writes the same bytes as the straightforward code it replaces: the
facts JSON (part of the content hash — a different text would make a re-sent file look changed)
and the HMAC blind indexes (looked up by `FieldCipher.blind_index`)."""

from __future__ import annotations

import datetime as dt
import hmac
import json
import os
from typing import Any

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from services.identification.adapters.households import RowEncoder, _facts, facts_json
from services.identification.api.schemas import HouseholdImport
from services.identification.application.import_rows import fast_canonical
from shared.cli.generate import generate_households
from shared.pii import FieldCipher


def _plain(canon: dict[str, Any]) -> str:
    return json.dumps(_facts(canon), ensure_ascii=False, separators=(",", ":"))


def test_facts_json_is_json_dumps_on_a_generated_county() -> None:
    n = 0
    for item in generate_households(2000, "341221", seed=5):
        fast = fast_canonical(item)
        slow = HouseholdImport.model_validate(item).model_dump(mode="json")
        assert fast is not None
        assert facts_json(fast) == _plain(fast) == facts_json(slow) == _plain(slow)
        n += item.get("last_year_income") is not None
    assert n > 100  # both shapes of last year's income were seen


@pytest.mark.parametrize(
    "change",
    [
        lambda c: c["income"].update(wage='1"2'),  # not a plain token: json.dumps escapes it
        lambda c: c["income"].update(wage="收入"),
        lambda c: c.update(declared_risks=["a\\b"]),
        lambda c: c["assets"].update(car="yes"),
        lambda c: c["expenses"].pop("education"),
        lambda c: c.update(last_year_income={"wage": "1"}),
    ],
)
def test_facts_json_falls_back_to_json_dumps(change: Any) -> None:
    canon = fast_canonical(next(iter(generate_households(1, "341221", seed=9))))
    assert canon is not None
    change(canon)
    assert facts_json(canon) == _plain(canon)
    json.loads(facts_json(canon))


@pytest.mark.parametrize("key_len", [16, 32, 64, 65, 100])
def test_blind_indexes_are_hmac_sha256(key_len: int) -> None:
    key, index_key = os.urandom(32), os.urandom(key_len)
    encoder = RowEncoder(AESGCM(key), index_key, postgres=True, source="import", now=dt.datetime.now(dt.UTC))
    cipher = FieldCipher(key, index_key) if key_len == 32 else None  # the service's keys are 32 bytes
    for value in ("34122119800101001x", " 13800138000 ", "", "户" * 40):
        if cipher is not None:
            assert encoder._blind(value) == cipher.blind_index(value)
        assert encoder._hmac(value.encode()) == hmac.digest(index_key, value.encode(), "sha256").hex()
