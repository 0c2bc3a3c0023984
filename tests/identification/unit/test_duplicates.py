"""Duplicate persons (domain.duplicates): who resolves, and what keep / move / split change."""

from __future__ import annotations

from typing import Any

import pytest

from services.identification.domain.duplicates import Resolution, ResolutionRefused, plan_resolution, resolving_region

A, B, C = "341221001201", "341221002201", "341222001001"


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        (A, A, "341221"),  # one village
        (A, B, "341221"),  # two villages of one county
        (A, C, "34"),  # two counties of one province
        ("341221001200", "341202001001", "34"),  # two cities of one province
        (A, "510112001001", ""),  # two provinces: the whole country
    ],
)
def test_resolving_region(a: str, b: str, expected: str) -> None:
    assert resolving_region(a, b) == expected
    assert resolving_region(b, a) == expected


BASE: dict[str, Any] = {
    "household_id": "h1",
    "household_region": A,
    "household_members": 3,
    "other_id": "h2",
    "other_region": B,
    "other_members": 2,
    "person_in_household": True,
    "person_in_other": True,
}


@pytest.mark.parametrize(
    ("action", "changes", "expected"),
    [
        ("keep", {}, Resolution(("h2",))),
        ("keep", {"other_id": None, "other_members": 0, "person_in_other": False}, Resolution(())),
        ("keep", {"person_in_other": False}, Resolution(())),  # already gone from the new record
        ("move", {}, Resolution(("h1",))),
        ("split", {}, Resolution(("h1", "h2"), new_household_region=A)),
        ("split", {"split_region": B}, Resolution(("h1", "h2"), new_household_region=B)),
        ("split", {"other_id": None, "person_in_other": False, "other_region": C}, Resolution(("h1",), A)),
        (
            "split",
            {"other_id": None, "person_in_other": False, "other_region": C, "split_region": C},
            Resolution(("h1",), C),
        ),
    ],
)
def test_plans(action: str, changes: dict[str, Any], expected: Resolution) -> None:
    assert plan_resolution(action, **{**BASE, **changes}) == expected


@pytest.mark.parametrize(
    ("action", "changes", "code"),
    [
        ("merge", {}, "bad_action"),
        ("move", {"other_id": None, "person_in_other": False}, "no_other_household"),
        ("move", {"household_members": 1}, "last_member"),
        ("keep", {"other_members": 1}, "last_member"),
        ("split", {"household_members": 1}, "last_member"),
        ("split", {"split_region": C}, "bad_region"),
        ("split", {"person_in_household": False, "person_in_other": False}, "person_gone"),
    ],
)
def test_refusals(action: str, changes: dict[str, Any], code: str) -> None:
    with pytest.raises(ResolutionRefused) as exc:
        plan_resolution(action, **{**BASE, **changes})
    assert exc.value.code == code
