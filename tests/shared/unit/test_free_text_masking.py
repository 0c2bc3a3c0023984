"""Free text is stored as typed: ID numbers and phone numbers written into it are masked first
(`shared.pii.mask_numbers_in_text`), and nothing else is — amounts, dates, case ids, region codes,
UUIDs and digests, longer or shorter digit runs and ID-shaped numbers whose check digit fails."""

from __future__ import annotations

import uuid

import pytest

from shared.events import PersonalDataInEvent, assert_no_personal_data
from shared.identifiers import id_check_digit
from shared.pii import mask_id_number, mask_numbers_in_text, mask_numbers_in_value


def _id(first17: str) -> str:
    return first17 + id_check_digit(first17)


ID = _id("34122119680416369")  # check digit X
ID2 = _id("34122120010101123")
assert ID.endswith("X")
assert ID2.isdigit()
WRONG = ID[:17] + "0"
OLD15 = "341221680416123"  # 15 digits of before 1999: 1968-04-16, sequence 123
MASKED = mask_id_number(ID)  # 341221********369X
MASKED2 = mask_id_number(ID2)

MASKS = [
    # (name, text, expected)
    ("id in Chinese text", f"户主{ID}，", f"户主{MASKED}，"),
    ("id lower-case x", f"身份证 {ID.lower()}", f"身份证 {MASKED}"),
    ("id grouped 6-8-4 by spaces", f"{ID[:6]} {ID[6:14]} {ID[14:]}", MASKED),
    ("id grouped 6-8-4 by dashes", f"{ID[:6]}-{ID[6:14]}-{ID[14:]}", MASKED),
    ("id grouped 6-4-4-4", f"{ID2[:6]} {ID2[6:10]} {ID2[10:14]} {ID2[14:]}", MASKED2),
    ("id in json string", f'{{"who": "{ID2}"}}', f'{{"who": "{MASKED2}"}}'),
    ("id glued to letters", f"ID{ID2}ok", f"ID{MASKED2}ok"),
    ("old 15-digit id", f"老证 {OLD15}。", "老证 341221******123。"),
    ("mobile", "电话13812345678；", "电话138****5678；"),
    ("mobile +86", "+8613812345678", "+86138****5678"),
    ("mobile +86 space grouped", "+86 138 1234 5678", "+86 138****5678"),
    ("mobile 86-", "86-13912345678", "86-139****5678"),
    ("mobile 0086", "0086 19912345678", "0086 199****5678"),
    ("mobile dashes", "138-1234-5678", "138****5678"),
    ("mobile after a word", "tel:13812345678, call", "tel:138****5678, call"),
    ("mobile glued to a non-hex word", "phone13812345678", "phone138****5678"),
    ("two mobiles", "13812345678/15987654321", "138****5678/159****4321"),
    ("landline", "村委 0558-1234567", "村委 0558-***4567"),
    ("landline 8 digits", "010-62345678", "010-****5678"),
    ("landline parentheses", "（0558）2345678", "（0558）***5678"),
    ("id and mobile", f"{ID} 13812345678", f"{MASKED} 138****5678"),
]

KEPT = [
    # (name, text) — must come back unchanged
    ("empty", ""),
    ("no digits", "家中无人，电话打不通"),
    ("amount", "医疗自付 13812.50 元，合计 1381234567 元"),
    ("amount with decimals that looks like a mobile", "13812345678.50"),
    ("fraction part", "0.13812345678"),
    ("date", "2024-01-01 13:45，20240101"),
    ("12-digit region code", "341221001001 and 130102001001"),
    ("uuid", str(uuid.UUID("01939d5e-1381-2345-6781-381234567890"))),
    ("uuid v4", "550e8400-e29b-41d4-a716-446655440000"),
    ("uuid group all digits", "0193a1b2-c3d4-7e5f-8a6b-138123456780"),
    ("sha256", "a" * 10 + "13812345678" + "b" * 43),
    ("case id", "case RT-VICTIM-1 and 341221-2024-0001"),
    ("17 digits", "3412211968041636"),
    ("17-digit id prefix", ID[:17]),
    ("19 digits", ID + "1"),
    ("longer number", "单号 1381234567890123456789"),
    ("12 digits from 13", "138123456789"),
    ("10 digits", "1381234567"),
    ("mobile 12 prefix", "12812345678"),
    ("wrong check digit", WRONG),
    ("impossible date", "341221209902301234"),
    ("15 digits no province", "991221680416123"),
    ("15 digits no date", "341221681316123"),
    ("masked id", MASKED),
    ("masked mobile", "138****5678"),
    ("masked landline", "0558-***4567"),
    ("grouped mobile continuing", "138 1234 5678 9012"),
    ("grouped id continuing", f"{ID[:6]} {ID[6:14]} {ID[14:]} 1234"),
    ("mixed separators", f"{ID[:6]} {ID[6:14]}-{ID[14:]}"),
    ("landline needs its area code marked", "05581234567"),
    ("counts", "3 人 2 户 1 间"),
]


@pytest.mark.parametrize(("text", "expected"), [(t, e) for _, t, e in MASKS], ids=[n for n, _, _ in MASKS])
def test_numbers_in_free_text_are_masked(text: str, expected: str) -> None:
    assert mask_numbers_in_text(text) == expected
    assert mask_numbers_in_text(expected) == expected  # idempotent: stored rows can be masked again


@pytest.mark.parametrize("text", [t for _, t in KEPT], ids=[n for n, _ in KEPT])
def test_near_misses_are_kept(text: str) -> None:
    assert mask_numbers_in_text(text) == text


def test_json_values_are_masked_recursively() -> None:
    payload = {
        "self_paid": "23000.00",
        "days": 12,
        "cost": 13812345678.0,  # a float is an amount
        "flag": True,
        "note": f"联系人 13812345678，{ID}",
        "contact": 13912345678,  # a JSON number shaped like a mobile
        "old_id": int(OLD15),
        "amount_fen": 12345678901,  # not a mobile (12…)
        "nested": [{"tel": "0558-1234567"}, None, [f"{ID2}"]],
        ID2: "key",
    }
    assert mask_numbers_in_value(payload) == {
        "self_paid": "23000.00",
        "days": 12,
        "cost": 13812345678.0,
        "flag": True,
        "note": f"联系人 138****5678，{MASKED}",
        "contact": "139****5678",
        "old_id": "341221******123",
        "amount_fen": 12345678901,
        "nested": [{"tel": "0558-***4567"}, None, [MASKED2]],
        MASKED2: "key",
    }


@pytest.mark.parametrize(
    ("data", "refused"),
    [
        ({"tel": 13812345678}, True),
        ({"who": [int(ID2)]}, True),  # ID2's check digit is a digit
        ({"amount_fen": 12345678901, "count": 3, "flag": True}, False),
        ({"note": "138****5678"}, False),
    ],
    ids=["phone as a number", "id as a number", "amounts and counts", "masked"],
)
def test_events_refuse_numbers_shaped_like_phones_and_ids(data: dict[str, object], refused: bool) -> None:
    if refused:
        with pytest.raises(PersonalDataInEvent):
            assert_no_personal_data(data)
    else:
        assert_no_personal_data(data)
