"""Duplicate persons (domain.duplicates): who resolves, and what keep / move / split change."""

from __future__ import annotations

from typing import Any

import pytest

from services.identification.application.duplicates import import_sightings
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


@pytest.mark.parametrize(
    ("persons", "household_ids", "before", "expected"),
    [
        # nobody else holds anyone: nothing (the usual case of a fresh import)
        ([[("a", "a*")], [("b", "b*")]], ["h1", "h2"], {}, []),
        # two rows of the chunk share a person: one sighting for the pair
        ([[("a", "a*")], [("a", "a*"), ("b", "b*")]], ["h1", "h2"], {}, [("a", "h2", "h1")]),
        # stored before in another household: a sighting for it
        ([[("a", "a*")]], ["h1"], {"a": [("h9", "341221001002")]}, [("a", "h9", "h1")]),
        # stored before only in the chunk's own household (its old version): nothing
        ([[("a", "a*")]], ["h1"], {"a": [("h1", "341221001001")]}, []),
        # a row not written (None) holds nobody
        ([[("a", "a*")], [("a", "a*")]], [None, "h2"], {}, []),
    ],
)
def test_import_sightings(
    persons: list[list[tuple[str, str]]],
    household_ids: list[str | None],
    before: dict[str, list[tuple[str, str]]],
    expected: list[tuple[str, str, str]],
) -> None:
    regions = ["341221001001"] * len(persons)
    got = import_sightings(persons, household_ids, regions, before)
    assert [(s.person_index, s.household_id, s.other_household_id) for s in got] == expected
