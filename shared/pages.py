"""A page of a numbered list (`?page=&page_size=`, with the total): the result type the list use
cases share, whatever they list. Keyset-paged lists carry their own cursor instead."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

__all__ = ["OffsetPage"]

T = TypeVar("T")


@dataclass(frozen=True)  # not slots: on 3.11 a slotted Generic dataclass fails with "super(type, obj)" in use
class OffsetPage(Generic[T]):
    """`items` of page `page` (from 1) of `page_size` items each, out of `total`."""

    items: list[T]
    total: int
    page: int
    page_size: int
