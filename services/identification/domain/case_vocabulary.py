"""The words of the monitoring-case procedures (监测对象识别 / 风险消除): procedures, states,
actions, roles, and the rules that refuse an action with their sources (DOMAIN.md §3, §5)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from enum import StrEnum
from typing import Any

__all__ = ["RULE_SOURCES", "STEPS", "Action", "CaseState", "Procedure", "Role", "Rule", "TransitionRefused"]


class Procedure(StrEnum):
    IDENTIFICATION = "identification"  # 识别认定
    ELIMINATION = "elimination"  # 风险消除


class CaseState(StrEnum):
    SUBMITTED = "submitted"  # 提交申请 / 村提出名单
    VERIFICATION = "verification"  # 入户核实
    VILLAGE_REVIEW = "village_review"  # 村民主评议
    PUBLIC_NOTICE = "public_notice"  # 公示
    TOWNSHIP_REVIEW = "township_review"  # 乡镇审核
    COUNTY_REVIEW = "county_review"  # 县级比对审定
    MONITORED = "monitored"  # 纳入监测 (identification done)
    ELIMINATED = "eliminated"  # 风险消除 (elimination done)
    REJECTED = "rejected"
    ROLLED_BACK = "rolled_back"  # 回退
    CLEARED = "cleared"  # 清退


#: The open steps of both procedures, in order (the ends are the other states).
STEPS: tuple[CaseState, ...] = (
    CaseState.SUBMITTED,
    CaseState.VERIFICATION,
    CaseState.VILLAGE_REVIEW,
    CaseState.PUBLIC_NOTICE,
    CaseState.TOWNSHIP_REVIEW,
    CaseState.COUNTY_REVIEW,
)


class Action(StrEnum):
    SUBMIT = "submit"  # history only: the entry that opens an identification case
    ADVANCE = "advance"
    OBJECT = "object"
    RESOLVE_OBJECTION = "resolve_objection"
    REJECT = "reject"
    PROPOSE_ELIMINATION = "propose_elimination"
    ROLLBACK = "rollback"
    CLEAR = "clear"
    OVERRIDE_EXCLUSION = "override_exclusion"  # a recorded village-assembly decision lifts an exclusion


class Role(StrEnum):
    PROVINCE = "province"
    COUNTY = "county"
    TOWNSHIP = "township"
    VILLAGE = "village"
    CONTACT = "contact"
    DEPARTMENT = "department"
    CITIZEN = "citizen"
    ADMIN = "admin"


class Rule(StrEnum):
    """Stable machine codes of the rules that refuse an action (the API's 409 ``code``)."""

    STATE_NOT_ALLOWED = "state_not_allowed"
    ROLE_NOT_ALLOWED = "role_not_allowed"
    INVESTIGATORS_REQUIRED = "investigators_required"
    NOTE_REQUIRED = "note_required"
    REASON_REQUIRED = "reason_required"
    NOTICE_PERIOD_RUNNING = "notice_period_running"
    OBJECTION_OPEN = "objection_open"
    OBJECTION_NOT_FOUND = "objection_not_found"
    GREEN_CHANNEL_NOT_APPLICABLE = "green_channel_not_applicable"
    ELIMINATION_IN_PROGRESS = "elimination_in_progress"
    FACTS_REQUIRED = "facts_required"
    ELIMINATION_MIN_MONTHS = "elimination_min_months"
    NO_LABOR_SOCIAL_SECURITY = "no_labor_social_security"
    ELIMINATION_INCOME_FLOOR = "elimination_income_floor"
    HALF_YEAR_RULE = "half_year_rule"
    STABLE_YEAR = "stable_year"
    EXCLUSION_STANDING = "exclusion_standing"
    EXCLUSION_NOT_FOUND = "exclusion_not_found"
    ASSEMBLY_DECISION_REQUIRED = "assembly_decision_required"
    MEASURES_OPEN = "measures_open"


RULE_SOURCES: Mapping[Rule, str] = {
    Rule.STATE_NOT_ALLOWED: "DOMAIN.md §3 identification procedure; §5 elimination and exit",
    Rule.ROLE_NOT_ALLOWED: "DESIGN.md Authentication and scope; 002 篇九 §二(五), §四(二)",
    Rule.INVESTIGATORS_REQUIRED: "002 篇九 §二(五) 第二步, §四(二) 第二步: 每组不少于2人",
    Rule.NOTE_REQUIRED: "002 篇九 §二(五) 第三—五步: 评议/审核意见 recorded at every review",
    Rule.REASON_REQUIRED: "DESIGN.md Cases: reject, rollback and clear carry a reason",
    Rule.NOTICE_PERIOD_RUNNING: "002 篇九 §二(五) 第三步 (7天), 篇八 (不少于5天), 篇十二 §(四) (5天)",
    Rule.OBJECTION_OPEN: "002 篇九 §二(五) 第三步, §四(二) 第三步: 有异议的组织调查核实",
    Rule.OBJECTION_NOT_FOUND: "002 篇九 §四(二) 第三步: 有异议的组织调查核实",
    Rule.GREEN_CHANNEL_NOT_APPLICABLE: "002 篇二 §(一)5: 因病因灾因意外事故等突发性变故 绿色通道",
    Rule.ELIMINATION_IN_PROGRESS: "002 篇九 §四(二): one elimination procedure at a time",
    Rule.FACTS_REQUIRED: "DOMAIN.md §5: the guards need the household's facts",
    Rule.ELIMINATION_MIN_MONTHS: "002 篇九 §五: 不低于三个月监测时间以后开展",
    Rule.NO_LABOR_SOCIAL_SECURITY: "002 篇九 §四(一): 对无劳动能力的,落实社会保障措施后,暂不标注风险消除",
    Rule.ELIMINATION_INCOME_FLOOR: "002 篇九 §四(一): 年人均纯收入低于5000元的,不得标注风险消除",
    Rule.HALF_YEAR_RULE: "002 篇二 §(二)4 (Liaoning): 落实帮扶措施不满半年…作为跟踪关注对象",
    Rule.STABLE_YEAR: "002 篇十二 §(六) (Hebei): 返贫致贫因素消除且收入持续稳定超过1年",
    Rule.EXCLUSION_STANDING: "DOMAIN.md §3 Negative list; 002 篇八 不予认定情形; 篇十二 §(三) 一般不得识别",
    Rule.EXCLUSION_NOT_FOUND: "DOMAIN.md §3 Negative list: only a recorded exclusion can be overridden",
    Rule.ASSEMBLY_DECISION_REQUIRED: (
        "DOMAIN.md §3 Negative list; 002 篇十二 §(三): 由村民代表会议…评议通过 (decision date and minutes)"
    ),
    Rule.MEASURES_OPEN: "002 篇九 §四(一): 针对性帮扶措施落实到位 (all measures for the household's risks delivered)",
}


class TransitionRefused(Exception):
    """An action the state, the caller's role, the request or a §5 guard does not allow.

    ``rule`` is the first refusing rule in the documented check order; ``violations`` lists
    every failing guard when several §5 guards refuse at once.
    """

    def __init__(
        self,
        rule: Rule | str,
        message: str,
        *,
        source: str | None = None,
        violations: Sequence[Rule] = (),
        details: Mapping[str, Any] | None = None,
    ) -> None:
        self.rule = Rule(rule)
        self.message = message
        self.source = source if source is not None else RULE_SOURCES[self.rule]
        self.violations: tuple[Rule, ...] = tuple(violations) or (self.rule,)
        #: extra members of the 409 problem (e.g. the standing exclusions)
        self.details: Mapping[str, Any] = details or {}
        super().__init__(f"{self.rule}: {message}")
