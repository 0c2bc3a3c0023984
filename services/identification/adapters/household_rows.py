"""The CPU side of writing households: canonical households (the JSON form of `HouseholdImport`)
→ rows ready for COPY (PostgreSQL) or executemany (SQLite), encrypted, indexed and profiled.
No database access: the import's worker processes run it; `households.write_prepared` writes.

This `RowEncoder` is the reference encoder; `fast_rows` is the fast one, byte for byte the same
(tests/identification/unit/test_fast_rows.py). Encryption contexts (associated data):
`members.id_number`, `members.name`, `households.phone`."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
from collections.abc import Callable
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from services.identification.application.household_input import EXPENSE_KINDS, FACT_FIELDS, INCOME_FIELDS
from services.identification.application.stored import PreparedBatch
from services.identification.domain.columnar import profile_of
from shared.identifiers import time_ordered_uuids
from shared.pii import FieldCipher, mask_id_number

__all__ = [
    "ID_NUMBER_CONTEXT",
    "MEMBER_COLUMNS",
    "NAME_CONTEXT",
    "PHONE_CONTEXT",
    "PreparedBatch",
    "RowEncoder",
    "copy_escape",
    "facts_json",
    "new_household_ids",
]

ID_NUMBER_CONTEXT = b"members.id_number"
NAME_CONTEXT = b"members.name"
PHONE_CONTEXT = b"households.phone"

MEMBER_COLUMNS = (
    "household_id",
    "position",
    "id_number_enc",
    "id_number_index",
    "id_number_masked",
    "name_enc",
    "relation",
    "sex",
    "birth_date",
    "labor_capacity",
    "disability_grade",
    "disability_kind",
    "serious_illness",
    "schooling",
)


def new_household_ids(n: int) -> list[str]:
    """`n` new household ids, ascending: time-ordered UUIDs (`shared.identifiers.time_ordered_uuids`),
    so that every index holding household ids (primary key, members by household, outcomes,
    region + id) takes an import's new ids at one end."""
    return time_ordered_uuids(n)


def _facts(canon: dict[str, Any]) -> dict[str, Any]:
    return {k: canon[k] for k in FACT_FIELDS}


_FACTS_TEMPLATE = (
    '{{"income":{income},"expenses":{{"compliant_oop_medical":"{compliant_oop_medical}","education":"{education}",'
    '"employment_costs":"{employment_costs}","other_rigid":"{other_rigid}"}},"last_year_income":{last},'
    '"assets":{assets},"declared_risks":{risks}}}'
)
_PLAIN = re.compile(r"[0-9A-Za-z_.\-]*\Z")


def _income_json(d: dict[str, Any]) -> str:
    return (
        f'{{"wage":"{d["wage"]}","business":"{d["business"]}","property":"{d["property"]}",'
        f'"transfer":"{d["transfer"]}","insurance_claims":"{d["insurance_claims"]}","exempt":"{d["exempt"]}",'
        f'"unverified_earners":{d["unverified_earners"]}}}'
    )


def facts_json(canon: dict[str, Any]) -> str:
    """`json.dumps(_facts(canon), ensure_ascii=False, separators=(",", ":"))`, the same text
    (it is part of the content hash), written from a template when every value is a plain
    token (validated money strings, enum values, flags) — json.dumps otherwise."""
    try:
        inc, exp, last, assets, risks = (
            canon["income"],
            canon["expenses"],
            canon["last_year_income"],
            canon["assets"],
            canon["declared_risks"],
        )
        tokens = [*inc.values(), *exp.values(), *(last.values() if last else ()), *risks]
        if (
            list(inc) == _INCOME_ORDER
            and list(exp) == _EXPENSE_ORDER
            and (last is None or list(last) == _INCOME_ORDER)
            and all((type(v) is str and _PLAIN.match(v)) or (type(v) is int) for v in tokens)
            and all(v is True or v is False for v in assets.values())
        ):
            return _FACTS_TEMPLATE.format(
                income=_income_json(inc),
                last="null" if last is None else _income_json(last),
                assets="{" + ",".join(f'"{k}":{"true" if v else "false"}' for k, v in assets.items()) + "}",
                risks="[" + ",".join(f'"{r}"' for r in risks) + "]",
                **exp,
            )
    except (KeyError, AttributeError, TypeError):
        pass
    return json.dumps(_facts(canon), ensure_ascii=False, separators=(",", ":"))


_INCOME_ORDER = list(INCOME_FIELDS)
_EXPENSE_ORDER = list(EXPENSE_KINDS)


HOUSEHOLD_WRITE = (
    "id",
    "household_number",
    "region_code",
    "escaped_poverty",
    "dibao_status",
    "phone_enc",
    "phone_index",
    "facts",
    "status",
    "source",
    "version",
    "created_at",
    "updated_at",
    "content_hash",
    "screening_profile",
)
#: what an update of a changed household rewrites (besides version and updated_at)
HOUSEHOLD_UPDATE = (
    "region_code",
    "escaped_poverty",
    "dibao_status",
    "phone_enc",
    "phone_index",
    "facts",
    "content_hash",
    "screening_profile",
)
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


_NULL = "\\N"


def copy_escape(value: str) -> str:
    """A text value for PostgreSQL's COPY text format."""
    if "\\" in value or "\t" in value or "\n" in value or "\r" in value:
        return value.translate(_COPY_ESCAPES)
    return value


class RowEncoder:
    """Canonical households (`HouseholdImport.model_dump(mode="json")`) → `PreparedBatch`:
    ID numbers, names and phones AES-GCM encrypted (the `FieldCipher` format), HMAC blind
    indexes, masked ID numbers, facts JSON, the keyed content hash and the screening profile."""

    def __init__(
        self,
        aes: AESGCM,
        index_key: bytes,
        *,
        postgres: bool,
        source: str,
        now: dt.datetime,
        random: Callable[[int], bytes] = os.urandom,
        ids: Callable[[int], list[str]] | None = None,
    ) -> None:
        #: `random` (nonces) and `ids` (household ids) are replaceable for byte-for-byte tests only
        self._random = random
        self._ids = ids or new_household_ids
        self._aes = aes
        self._index_key = index_key
        key = (hashlib.sha256(index_key).digest() if len(index_key) > 64 else index_key).ljust(64, b"\0")
        self._inner = hashlib.sha256(bytes(b ^ 0x36 for b in key))
        self._outer = hashlib.sha256(bytes(b ^ 0x5C for b in key))
        self.postgres = postgres
        self._source = source
        self._now = now.isoformat() if postgres else now.strftime("%Y-%m-%d %H:%M:%S.%f")

    @classmethod
    def for_cipher(cls, cipher: FieldCipher, *, postgres: bool, source: str, now: dt.datetime) -> RowEncoder:
        return cls(cipher._aes, cipher._index_key, postgres=postgres, source=source, now=now)

    def _blind(self, value: str) -> str:  # = FieldCipher.blind_index
        return self._hmac(value.strip().upper().encode())

    def _hmac(self, message: bytes) -> str:
        """HMAC-SHA256 hex, with the key's inner and outer pads hashed once (= hmac.digest)."""
        inner = self._inner.copy()
        inner.update(message)
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.hexdigest()

    def _encrypt(self, value: str, nonce: bytes, context: bytes) -> bytes:  # = FieldCipher.encrypt
        return b"\x01" + nonce + self._aes.encrypt(nonce, value.encode(), context)

    def encode_many(self, canons: list[dict[str, Any]]) -> PreparedBatch:
        latest: dict[str, dict[str, Any]] = {}
        for c in canons:  # the last record of a number wins
            latest.pop(c["household_number"], None)
            latest[c["household_number"]] = c
        batch = PreparedBatch(self.postgres)
        ids = self._ids(len(latest))
        nonces = self._random(12 * sum(2 * len(c["members"]) + 1 for c in latest.values()))
        at = 0
        for hid, c in zip(ids, latest.values(), strict=True):
            at = self.encode_one(batch, hid, c, nonces, at)
        return batch

    def encode_one(self, batch: PreparedBatch, hid: str, c: dict[str, Any], nonces: bytes, at: int) -> int:
        """Append household `c` (canonical) as `hid` to `batch`, its values encrypted with the
        nonces from `nonces[at:]` (2 per member, then the phone's, 12 bytes each); returns the
        offset after them."""
        pg = self.postgres
        now, source = self._now, self._source
        facts = facts_json(c)
        number, region, phone = c["household_number"], c["region_code"], c["phone"]
        parts = [number, region, phone or "", "1" if c["escaped_poverty"] else "0", c["dibao_status"], facts]
        mrows: list[Any] = []  # COPY text lines (PostgreSQL) or row tuples (SQLite)
        persons = []
        for i, m in enumerate(c["members"]):
            idn, name = m["id_number"], m["name"]
            grade, kind = m["disability_grade"], m["disability_kind"]
            parts.append(
                f"{idn}\x1f{name}\x1f{m['relation']}\x1f{m['labor_capacity']}\x1f{grade}\x1f{kind}"
                f"\x1f{m['serious_illness']}\x1f{m['schooling']}"
            )
            id_enc = self._encrypt(idn, nonces[at : at + 12], ID_NUMBER_CONTEXT)
            name_enc = self._encrypt(name, nonces[at + 12 : at + 24], NAME_CONTEXT)
            at += 24
            born = f"{idn[6:10]}-{idn[10:12]}-{idn[12:14]}"
            sex = "male" if int(idn[16]) % 2 else "female"
            blind, masked = self._blind(idn), mask_id_number(idn)
            persons.append((blind, masked))
            if pg:
                g = _NULL if grade is None else grade
                k = _NULL if kind is None else kind
                ill = "t" if m["serious_illness"] else "f"
                mrows.append(
                    f"{hid}\t{i}\t\\\\x{id_enc.hex()}\t{blind}\t{masked}"
                    f"\t\\\\x{name_enc.hex()}\t{copy_escape(m['relation'])}\t{sex}\t{born}\t{m['labor_capacity']}"
                    f"\t{g}\t{k}\t{ill}\t{m['schooling']}\n"
                )
            else:
                mrows.append(
                    (
                        hid,
                        i,
                        id_enc,
                        blind,
                        masked,
                        name_enc,
                        m["relation"],
                        sex,
                        born,
                        m["labor_capacity"],
                        grade,
                        kind,
                        m["serious_illness"],
                        m["schooling"],
                    )
                )
        digest = self._hmac("\x1e".join(parts).encode())
        phone_enc = self._encrypt(phone, nonces[at : at + 12], PHONE_CONTEXT) if phone else None
        at += 12
        phone_index = self._blind(phone) if phone else None
        profile = profile_of(c, region)
        if pg:
            esc_poverty = "t" if c["escaped_poverty"] else "f"
            p_enc = _NULL if phone_enc is None else "\\\\x" + phone_enc.hex()
            batch.households.append(
                f"{hid}\t{number}\t{region}\t{esc_poverty}\t{c['dibao_status']}\t{p_enc}\t{phone_index or _NULL}"
                f"\t{copy_escape(facts)}\tregistered\t{source}\t1\t{now}\t{now}\t{digest}\t{profile}\n"
            )
            batch.members.append("".join(mrows))
        else:
            batch.households.append(
                (
                    hid,
                    number,
                    region,
                    c["escaped_poverty"],
                    c["dibao_status"],
                    phone_enc,
                    phone_index,
                    facts,
                    "registered",
                    source,
                    1,
                    now,
                    now,
                    digest,
                    profile,
                )
            )
            batch.members.append(mrows)
        batch.persons.append(persons)
        batch.regions.append(region)
        batch.numbers.append(number)
        batch.hashes.append(digest)
        batch.ids.append(hid)
        return at
