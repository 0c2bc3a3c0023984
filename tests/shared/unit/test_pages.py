"""The numbered page the list use cases answer with."""

from __future__ import annotations

import dataclasses

import pytest

from shared.pages import OffsetPage


def test_a_page_of_any_item_type_keeps_its_figures() -> None:
    page = OffsetPage[str](items=["a", "b"], total=7, page=2, page_size=2)
    assert (page.items, page.total, page.page, page.page_size) == (["a", "b"], 7, 2, 2)
    assert dataclasses.asdict(page) == {"items": ["a", "b"], "total": 7, "page": 2, "page_size": 2}
    with pytest.raises(dataclasses.FrozenInstanceError):
        page.total = 8  # type: ignore[misc]
