"""The stateless assessment of one household against the policy in force (POST /assessments):
every rule of DOMAIN.md §2–§4 applied in order, each one that fired or blocked explained.

Eligible (for identification as a monitored household) = in a return-to-poverty category and
not on the negative list, unless a village-assembly override is recorded.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from shared.policy import ResolvedPolicy

from .categories import classify_return_category, sudden_hardship_test
from .early_warning import three_colour_warning
from .income import compute_income
from .income_drop import income_drop
from .low_income import classify_low_income
from .model import Assessment, Exclusion, Explanation, Household, ReturnCategory, VillageOverride
from .negative_list import negative_list, override_explanation
from .params import decimal_param, validate_overrides
from .risk import infer_risk_types

__all__ = ["ELIGIBILITY_SOURCE", "assess"]

ELIGIBILITY_SOURCE = "002 篇九 §二(二); 篇八; 篇十二 §(三): 符合监测对象条件且不在负面清单(或经村民代表会议评议)"


def assess(
    household: Household,
    policy: ResolvedPolicy,
    *,
    as_of: dt.date,
    village_override: VillageOverride | None = None,
    policy_overrides: Mapping[str, Any] | None = None,
) -> Assessment:
    """Assess `household` under `policy` (resolved for its region at `as_of`).

    `policy_overrides` (parameter name → value) is the county's what-if: the figures replace the
    policy's and the explanations cite them as "what-if override". Unknown names raise ValueError;
    a parameter the rules need that no version sets raises shared.policy.PolicyParameterMissing.
    """
    explanations: list[Explanation] = []
    if policy_overrides:
        validate_overrides(policy_overrides)
        policy = policy.with_overrides(policy_overrides)
        explanations.append(_override_note(policy_overrides))
    income = compute_income(household, policy)
    explanations.extend(income.explanations)
    per_capita = income.per_capita

    drop, expl = income_drop(household, policy)
    explanations.extend(expl)
    risks, expl = infer_risk_types(household)
    explanations.extend(expl)
    category, expl = classify_return_category(household, per_capita, risks, policy)
    explanations.extend(expl)
    exclusions, expl = negative_list(household.assets)
    explanations.extend(expl)
    eligible, expl = _eligibility(category, exclusions, village_override)
    explanations.extend(expl)

    low = classify_low_income(household, per_capita, income.counted_income + income.imputed_wage, policy, as_of=as_of)
    explanations.extend(low.explanations)
    warning, expl = three_colour_warning(
        household,
        per_capita=per_capita,
        standard=low.dibao_standard,
        edge_line=low.edge_line,
        category=category,
        low_income_category=low.category,
        risks=risks,
        hardship=sudden_hardship_test(household, policy),
    )
    explanations.extend(expl)
    return Assessment(
        per_capita_income=per_capita,
        monitoring_line=decimal_param(policy, "monitoring_line").value,
        dibao_standard=low.dibao_standard.value,
        category=category,
        low_income_category=low.category,
        warning=warning,
        risk_types=risks,
        exclusions=exclusions,
        eligible=eligible,
        explanations=tuple(explanations),
        policy_id=policy.id,
        policy_version=policy.version,
        income_drop=drop,
        single_person_dibao=low.single_person_dibao,
    )


def _eligibility(
    category: ReturnCategory | None,
    exclusions: tuple[Exclusion, ...],
    override: VillageOverride | None,
) -> tuple[bool, list[Explanation]]:
    if category is None:
        return False, []
    codes = [e.code for e in exclusions]
    inputs = {"category": str(category), "exclusions": codes}
    if not exclusions:
        return True, [Explanation("eligible", ELIGIBILITY_SOURCE, f"{category} and not on the negative list", inputs)]
    if override is not None:
        return True, [override_explanation(override, exclusions)]
    return False, [
        Explanation(
            "negative_list_blocks",
            ELIGIBILITY_SOURCE,
            f"{category}, but on the negative list ({', '.join(codes)}) and no village-assembly "
            "decision is recorded: not eligible",
            inputs,
        )
    ]


def _override_note(overrides: Mapping[str, Any]) -> Explanation:
    shown = ", ".join(f"{k}={v}" for k, v in sorted(overrides.items()))
    return Explanation(
        "policy_override",
        "what-if override",
        f"what-if: policy parameters replaced ({shown}); not a policy in force",
        dict(overrides.items()),
    )
