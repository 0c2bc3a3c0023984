"""Request schemas of the assistance API (unknown fields are refused: a client cannot set a
status, a department's progress or an id). Free text is `MaskedText`: ID and phone numbers typed
into it are masked before it is stored."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from services.assistance.domain.catalogue import Department, MeasureType
from services.assistance.domain.employment import ServiceKind, WorkLocation
from services.assistance.domain.lifecycle import MeasureAction
from shared.pii import MaskedText

__all__ = [
    "ContactAssign",
    "ContactCreate",
    "EmploymentRecordCreate",
    "EmploymentServiceCreate",
    "MeasureCreate",
    "MeasureTransition",
    "MeasureUpdate",
    "PlacementCreate",
    "PostWageCreate",
    "VisitCreate",
    "VisitIncome",
]

_Text = Field(min_length=1, max_length=2000)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MeasureCreate(_Strict):
    type: MeasureType
    reason: MaskedText = _Text
    description: MaskedText | None = Field(default=None, max_length=2000)


class MeasureUpdate(_Strict):
    reason: MaskedText = _Text
    description: MaskedText | None = Field(default=None, max_length=2000)
    department: Department | None = None
    version: int | None = None


class MeasureTransition(_Strict):
    action: MeasureAction
    note: MaskedText | None = Field(default=None, max_length=2000)
    outcome: MaskedText | None = Field(default=None, max_length=2000)
    reason: MaskedText | None = Field(default=None, max_length=2000)
    version: int | None = None


class ContactAssign(_Strict):
    contact_id: str = Field(min_length=1, max_length=36)
    reason: MaskedText = _Text


class ContactCreate(_Strict):
    region_code: str = Field(pattern=r"^[0-9]{12}$", description="the village (12-digit code)")
    name: str = Field(min_length=1, max_length=50)
    phone: str | None = Field(default=None, pattern=r"^[0-9+\-]{5,20}$")
    unit: MaskedText | None = Field(default=None, max_length=200)
    sub: str | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        description="the contact person's account (the `sub` of their token); kept only as a blind index",
    )


class ContactAccount(_Strict):
    sub: str | None = Field(
        min_length=1, max_length=200, description="the contact person's token `sub`; null unlinks the account"
    )


_Money = Field(default=None, ge=0, max_digits=14, decimal_places=2)


class VisitIncome(_Strict):
    """Updated income, yuan a year, as decimal strings (the kinds of DOMAIN.md §2)."""

    wage: Decimal | None = _Money
    business: Decimal | None = _Money
    property: Decimal | None = _Money
    transfer: Decimal | None = _Money
    insurance_claims: Decimal | None = _Money
    exempt: Decimal | None = _Money


class VisitCreate(_Strict):
    household_id: str = Field(min_length=1, max_length=64)
    visited_on: dt.date
    contact_id: str | None = Field(default=None, max_length=36)
    mode: Literal["visit", "phone"] = "visit"
    findings: MaskedText = _Text
    income: VisitIncome | None = None
    attachments: list[MaskedText] = Field(default_factory=list, max_length=50)


class EmploymentRecordCreate(_Strict):
    """One laborer's survey (000 employment 附件3 贫困劳动者就业情况统计表). The person is an opaque
    `person_ref` (never a resident ID number); names and phone numbers are not kept here."""

    person_ref: str = Field(min_length=1, max_length=64)
    household_id: str = Field(min_length=1, max_length=64)
    sex: Literal["male", "female"] | None = None
    education: MaskedText | None = Field(default=None, max_length=40)  # 文化程度
    hukou_code: str | None = Field(default=None, pattern=r"^[0-9]{6,12}$")  # 户口所在地区划代码
    residence_code: str | None = Field(default=None, pattern=r"^[0-9]{6,12}$")  # 居住所在地区划代码
    escaped_poverty: bool | None = None  # 是否已脱贫
    living_status: MaskedText | None = Field(default=None, max_length=40)  # 生活状态
    insurance: MaskedText | None = Field(default=None, max_length=80)  # 参保状况
    has_skill_grade: bool | None = None  # 是否有技术等级
    skill_grade: MaskedText | None = Field(default=None, max_length=40)  # 现在技术等级
    last_year_employment: MaskedText | None = Field(default=None, max_length=200)  # 上年度就业状况
    last_year_work_place: MaskedText | None = Field(default=None, max_length=200)  # 上年度就业地
    employed: bool | None = None  # 已就业
    returned_to_work: bool | None = None  # 是否已返岗务工
    work_region: MaskedText | None = Field(default=None, max_length=200)  # 已返岗务工地区
    out_of_province: bool | None = None  # 是否外省就业
    industry: MaskedText | None = Field(default=None, max_length=80)  # 从事行业
    current_job: MaskedText | None = Field(default=None, max_length=80)  # 现从事工种
    monthly_income: Decimal | None = Field(default=None, ge=0, max_digits=12, decimal_places=2)  # 务工月收入
    plans_to_return_home: bool | None = None  # 是否打算返乡
    willing_to_work: bool | None = None  # 未就业贫困人员是否有就业意愿 / 是否打算就业
    not_employed_reason: MaskedText | None = Field(default=None, max_length=200)  # 暂未就业原因
    intended_place: MaskedText | None = Field(default=None, max_length=80)  # 就业地意向
    intended_place_type: MaskedText | None = Field(default=None, max_length=80)  # 就业地类型意向
    intended_job: MaskedText | None = Field(default=None, max_length=80)  # 欲从事工种
    intended_departure: MaskedText | None = Field(default=None, max_length=40)  # 打算外出务工时间
    agricultural_training_wish: bool | None = None  # 参加农业劳动力技能培训意向
    other_training_wishes: MaskedText | None = Field(default=None, max_length=200)  # 其他培训意愿
    unwilling_reason: MaskedText | None = Field(default=None, max_length=200)  # 无就业意愿原因


class EmploymentServiceCreate(_Strict):
    kind: ServiceKind
    provided_on: dt.date
    detail: MaskedText | None = Field(default=None, max_length=500)


class PlacementCreate(_Strict):
    person_ref: str = Field(min_length=1, max_length=64)
    employer: MaskedText = Field(min_length=1, max_length=200)
    contract_months: int = Field(ge=0, le=600)
    social_insurance: bool
    work_location: WorkLocation
    epidemic_period: bool = False
    stable_months: int = Field(ge=0, le=600)
    age: int = Field(ge=14, le=100)
    placed_on: dt.date


class PostWageCreate(_Strict):
    person_ref: str = Field(min_length=1, max_length=64)
    year: int = Field(ge=2015, le=2100)
    annual_wage: Decimal = Field(ge=0, max_digits=12, decimal_places=2)
    post: MaskedText | None = Field(default=None, max_length=200)
