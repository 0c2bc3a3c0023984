"""Free text is stored as typed: ID numbers and mobile numbers written into it are masked first."""

from __future__ import annotations

from shared.pii import mask_numbers_in_text


def test_numbers_in_free_text_are_masked() -> None:
    text = "户主34122119680416369X，电话13812345678；村委 0558-1234567，编号 20240101"
    assert mask_numbers_in_text(text) == "户主341221********369X，电话138****5678；村委 0558-1234567，编号 20240101"
    assert mask_numbers_in_text("单号 1381234567890123456789") == "单号 1381234567890123456789"  # a longer number
    assert mask_numbers_in_text("") == ""
