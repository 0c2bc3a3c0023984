"""The negative list (负面清单): households normally not identified as monitored, unless a recorded
village-assembly decision says otherwise (002 篇八 不予认定情形; 篇十二 §(三)).

Each flag of DESIGN.md's `assets` becomes an Exclusion with its clause. An override must carry
the reference of the recorded decision; it does not erase the exclusions (they stay on record),
it only lets the household be eligible.
"""

from __future__ import annotations

from dataclasses import fields

from .model import Assets, Exclusion, Explanation, VillageOverride

__all__ = ["NEGATIVE_LIST", "OVERRIDE_SOURCE", "negative_list", "override_explanation"]

_P8 = "002 篇八 不予认定情形"
_P12 = "002 篇十二 §(三) 一般不得识别情形"

#: code → (detail, source clause)
NEGATIVE_LIST: dict[str, tuple[str, str]] = {
    "public_employee": (
        "a member works for a state organ or public institution with stable pay",
        f"{_P12} 第1项; {_P8} 第1项",
    ),
    "village_cadre": ("a member is village party secretary or committee director", f"{_P12} 第2项"),
    "commercial_property": (
        "owns a commercial flat or shop in town (not disaster rebuilding/relocation/demolition)",
        f"{_P12} 第3项; {_P8} 第2项",
    ),
    "car": (
        "owns a car (incl. van), engineering machinery or large farm machinery",
        f"{_P12} 第4项; {_P8} 第2项",
    ),
    "company": (
        "a member is a registered company legal person/shareholder with annual filings, "
        "or the household employs others long-term",
        f"{_P12} 第5项; {_P8} 第1项",
    ),
    "large_deposits": (
        "large deposits, funds, stocks or investment insurance",
        f"{_P8} 第2项",
    ),
    "private_school": (
        "children at high-fee private schools or self-funded study abroad",
        f"{_P12} 第6项",
    ),
    "supporters_able": ("legally obliged supporters clearly able to support them", f"{_P8} 第3项"),
    "illegal_conduct": (
        "gambling, drugs, illegal business or medical-fund fraud",
        f"{_P8} 第4项",
    ),
    "refuses_work": ("a member able to work refuses to", f"{_P8} 第5项"),
    "refuses_asset_check": ("refuses the household asset check", f"{_P8} 第6项"),
    "absent_over_year": ("the whole household lived away for more than a year", f"{_P8} 第7项"),
}

OVERRIDE_SOURCE = (
    "002 篇十二 §(三): 对识别中特殊情况,由村民代表会议…评议通过后予以公示; 篇八: 特殊情况由村(社区)民主评议认定"
)

assert {f.name for f in fields(Assets)} == set(NEGATIVE_LIST), "Assets and NEGATIVE_LIST diverged"


def negative_list(assets: Assets) -> tuple[tuple[Exclusion, ...], list[Explanation]]:
    """The exclusions the flags raise, in the list's order, each with an explanation."""
    exclusions = tuple(
        Exclusion(code, detail, source) for code, (detail, source) in NEGATIVE_LIST.items() if getattr(assets, code)
    )
    return exclusions, [
        Explanation("negative_list", e.source, f"excluded: {e.detail} ({e.code})", {e.code: True}) for e in exclusions
    ]


def override_explanation(override: VillageOverride, exclusions: tuple[Exclusion, ...]) -> Explanation:
    codes = [e.code for e in exclusions]
    return Explanation(
        "negative_list_override",
        OVERRIDE_SOURCE,
        f"village assembly decision {override.decision_ref} of {override.decided_on.isoformat()}"
        f" overrides exclusion(s) {', '.join(codes)}",
        {"decision_ref": override.decision_ref, "decided_on": override.decided_on, "codes": codes},
    )
