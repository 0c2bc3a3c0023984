"""The measure catalogue (帮扶措施): every measure type with its lead department (牵头单位) and the
clause naming it (DOMAIN.md §6; 002 篇九 §三(一); 000 industry §二(一)3)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

__all__ = [
    "CATALOGUE",
    "DEVELOPMENT",
    "SELF_FARMING_PACKAGE",
    "SOCIAL_SECURITY",
    "Department",
    "MeasureSpec",
    "MeasureType",
    "lead_department",
]


class Department(StrEnum):
    """Lead departments by code (the `dept` claim of a department token)."""

    AGRICULTURE = "agriculture"  # 农业农村局
    HRSS = "hrss"  # 人社局
    MEDICAL_INSURANCE = "medical_insurance"  # 医保局
    HEALTH = "health"  # 卫健委
    EDUCATION = "education"  # 教育局
    CIVIL_AFFAIRS = "civil_affairs"  # 民政局
    HOUSING = "housing"  # 住建局
    WATER_RESOURCES = "water_resources"  # 水利局
    FINANCE = "finance"  # 金融办
    RURAL_REVITALIZATION = "rural_revitalization"  # 乡村振兴局


class MeasureType(StrEnum):
    INDUSTRY = "industry"  # 产业帮扶
    EMPLOYMENT = "employment"  # 就业帮扶
    MEDICAL = "medical"  # 医疗保障 (健康帮扶)
    HEALTH = "health"  # 健康服务 (家庭医生签约等)
    EDUCATION = "education"  # 教育帮扶
    SOCIAL_SECURITY = "social_security"  # 综合保障 (残疾人两项补贴、养老等)
    DIBAO = "dibao"  # 低保 / 特困供养
    TEMPORARY_RELIEF = "temporary_relief"  # 临时救助
    HOUSING = "housing"  # 住房安全保障
    DRINKING_WATER = "drinking_water"  # 饮水安全保障
    MICROCREDIT = "microcredit"  # 小额信贷
    CONSUMPTION = "consumption"  # 消费帮扶
    INSURANCE = "insurance"  # 防贫保险
    SOCIAL_ASSISTANCE = "social_assistance"  # 社会帮扶
    ASPIRATION_SKILLS = "aspiration_skills"  # 扶志扶智
    TECHNICAL_CONTACT = "technical_contact"  # 包保技术指导
    POLICY_CONTACT = "policy_contact"  # 包保政策落实
    SALES_CONTACT = "sales_contact"  # 包保产品销售
    FARMING_INSURANCE = "farming_insurance"  # 农业特色产业保险全覆盖


@dataclass(frozen=True, slots=True)
class MeasureSpec:
    type: MeasureType
    name: str
    department: Department
    source: str


_S9 = "002 篇九 §三(一)"
_SELF = "000 industry §二(一)3 三包一覆盖 (牵头单位:县农业农村局)"
_DEFAULT = "fangfan default, not from a seed — county may assign another lead"

CATALOGUE: dict[MeasureType, MeasureSpec] = {
    s.type: s
    for s in (
        MeasureSpec(MeasureType.INDUSTRY, "产业帮扶", Department.AGRICULTURE, f"{_S9}1 产业帮扶 (牵头:县农业农村局)"),
        MeasureSpec(MeasureType.EMPLOYMENT, "就业帮扶", Department.HRSS, f"{_S9}2 就业帮扶 (牵头:县人社局)"),
        MeasureSpec(MeasureType.MEDICAL, "医疗保障", Department.MEDICAL_INSURANCE, f"{_S9}3 健康帮扶 (牵头:县医保局)"),
        MeasureSpec(MeasureType.HEALTH, "健康服务", Department.HEALTH, f"{_S9}3 健康帮扶 (责任单位:县卫健局)"),
        MeasureSpec(MeasureType.EDUCATION, "教育帮扶", Department.EDUCATION, f"{_S9}4 教育帮扶 (牵头:县教育局)"),
        MeasureSpec(
            MeasureType.SOCIAL_SECURITY, "综合保障", Department.CIVIL_AFFAIRS, f"{_S9}5 综合保障 (牵头:县民政局)"
        ),
        MeasureSpec(MeasureType.DIBAO, "低保/特困供养", Department.CIVIL_AFFAIRS, f"{_S9}5 综合保障 (牵头:县民政局)"),
        MeasureSpec(
            MeasureType.TEMPORARY_RELIEF, "临时救助", Department.CIVIL_AFFAIRS, f"{_S9}5 临时救助 (牵头:县民政局)"
        ),
        MeasureSpec(MeasureType.HOUSING, "住房安全保障", Department.HOUSING, f"{_S9}6 住房安全保障 (牵头:县住建局)"),
        MeasureSpec(
            MeasureType.DRINKING_WATER,
            "饮水安全保障",
            Department.WATER_RESOURCES,
            f"{_S9}7 饮水安全保障 (牵头:县水利局)",
        ),
        MeasureSpec(
            MeasureType.MICROCREDIT, "小额信贷", Department.FINANCE, f"{_S9}1 扶贫小额信贷 (责任单位:县金融办)"
        ),
        MeasureSpec(
            MeasureType.CONSUMPTION,
            "消费帮扶",
            Department.RURAL_REVITALIZATION,
            "002 篇九 §三(三) 社会帮扶·消费帮扶 (牵头:县乡村振兴局)",
        ),
        MeasureSpec(MeasureType.INSURANCE, "防贫保险", Department.RURAL_REVITALIZATION, _DEFAULT),
        MeasureSpec(
            MeasureType.SOCIAL_ASSISTANCE,
            "社会帮扶",
            Department.RURAL_REVITALIZATION,
            "002 篇九 §三(三) 加强社会帮扶 (牵头:县乡村振兴局)",
        ),
        MeasureSpec(MeasureType.ASPIRATION_SKILLS, "扶志扶智", Department.RURAL_REVITALIZATION, _DEFAULT),
        MeasureSpec(MeasureType.TECHNICAL_CONTACT, "技术包保联系人", Department.AGRICULTURE, _SELF),
        MeasureSpec(MeasureType.POLICY_CONTACT, "政策包保责任人", Department.AGRICULTURE, _SELF),
        MeasureSpec(MeasureType.SALES_CONTACT, "产品销售包保联系人", Department.AGRICULTURE, _SELF),
        MeasureSpec(MeasureType.FARMING_INSURANCE, "农业特色产业保险", Department.AGRICULTURE, _SELF),
    )
}

#: Development measures (开发式帮扶) for labour-capable households.
DEVELOPMENT: tuple[MeasureType, ...] = (MeasureType.INDUSTRY, MeasureType.EMPLOYMENT)
#: Safety-net measures (兜底保障) for households without labour.
SOCIAL_SECURITY: tuple[MeasureType, ...] = (MeasureType.DIBAO, MeasureType.SOCIAL_SECURITY)
#: 三包一覆盖 for self-farming households.
SELF_FARMING_PACKAGE: tuple[MeasureType, ...] = (
    MeasureType.TECHNICAL_CONTACT,
    MeasureType.POLICY_CONTACT,
    MeasureType.SALES_CONTACT,
    MeasureType.FARMING_INSURANCE,
)


def lead_department(measure_type: MeasureType) -> Department:
    return CATALOGUE[measure_type].department
