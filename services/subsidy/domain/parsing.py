"""Turn a plain mapping (an API body's `inputs`) into the typed inputs of a kind, checking the
domain's invariants; every failure is a `SubsidyInputError` naming the field path from the
request body (`inputs.hires[2].contract_months`; an unknown kind is `kind`).

Money is accepted as `Decimal`, `int` or a decimal string, at most two places (fen); anything
else — a binary floating-point number included — is refused, so no float ever reaches money.
Hostile sizes are refused with the field path before any arithmetic (issue #20): an amount has
at most `MONEY_MAX_DIGITS` digits before the point (`1e400`, NaN, Infinity and 5,000-digit
numbers are refused), and every count is bounded (`MAX_COUNT`; months and years tighter).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any, TypeVar

from .model import (
    CareLevel,
    DibaoMonthlyInputs,
    DibaoPhase,
    DibaoTopupInputs,
    EnterpriseEmploymentRewardInputs,
    EntrepreneurshipSubsidyInputs,
    Hire,
    HousingRenovationInputs,
    HousingType,
    MedicalAssistanceInputs,
    PublicWelfarePostInputs,
    ReliefLevel,
    SubsidyInputError,
    TechnicalSchoolInputs,
    TekunMonthlyInputs,
    TemporaryReliefInputs,
    TieredWageSubsidyInputs,
    Trainee,
    TransportAllowanceInputs,
    WorkForTrainingInputs,
    WorkLocation,
    WorkshopAwardInputs,
)
from .rounding import FEN

__all__ = [
    "MAX_COUNT",
    "MAX_MONTHS",
    "MAX_YEARS",
    "MONEY_MAX",
    "MONEY_MAX_DIGITS",
    "age_on",
    "parse_dibao_monthly",
    "parse_dibao_topup",
    "parse_enterprise_employment_reward",
    "parse_entrepreneurship_subsidy",
    "parse_housing_renovation",
    "parse_medical_assistance",
    "parse_money",
    "parse_public_welfare_post",
    "parse_technical_school",
    "parse_tekun_monthly",
    "parse_temporary_relief",
    "parse_tiered_wage_subsidy",
    "parse_transport_allowance",
    "parse_work_for_training",
    "parse_workshop_award",
]

_E = TypeVar("_E", bound=StrEnum)
_MISSING = object()

#: Digits before the decimal point of any amount: up to 999,999,999,999.99 yuan, far above any
#: subsidy, wage or medical bill, and far inside the 28 digits of Decimal arithmetic.
MONEY_MAX_DIGITS = 12
MONEY_MAX = Decimal(10**MONEY_MAX_DIGITS) - FEN
#: A money string longer than this is refused before it is parsed.
_MONEY_MAX_CHARS = 40
#: Upper bound of any count (persons, laborers, members); months and years are tighter.
MAX_COUNT = 1_000_000
MAX_MONTHS = 1200
MAX_YEARS = 100
_MAX_AGE = 150


def age_on(birth_date: dt.date, as_of: dt.date) -> int:
    """Completed years on `as_of` (周岁): someone born 1955-03-01 is 65 until 2021-02-28."""
    years = as_of.year - birth_date.year
    if (as_of.month, as_of.day) < (birth_date.month, birth_date.day):
        years -= 1
    return years


def parse_money(value: Any, path: str) -> Decimal:
    """A non-negative amount in yuan with at most two decimal places."""
    if isinstance(value, bool) or not isinstance(value, int | str | Decimal):
        raise SubsidyInputError(path, "must be an amount in yuan given as a decimal string or an integer")
    too_big = f"must be at most {MONEY_MAX} yuan ({MONEY_MAX_DIGITS} digits before the point)"
    if isinstance(value, str) and len(value) > _MONEY_MAX_CHARS:
        raise SubsidyInputError(path, f"is longer than {_MONEY_MAX_CHARS} characters; {too_big}")
    if isinstance(value, int) and not -(10**MONEY_MAX_DIGITS) < value < 10**MONEY_MAX_DIGITS:
        raise SubsidyInputError(path, too_big)
    try:
        amount = Decimal(value.strip()) if isinstance(value, str) else Decimal(value)
    except InvalidOperation:
        shown = value if len(str(value)) <= 20 else str(value)[:20] + "…"
        raise SubsidyInputError(path, f"{shown!r} is not a decimal amount") from None
    if not amount.is_finite():
        raise SubsidyInputError(path, "must be a finite amount")
    if amount < 0:
        raise SubsidyInputError(path, "must not be negative")
    if amount.adjusted() >= MONEY_MAX_DIGITS:
        raise SubsidyInputError(path, too_big)
    if amount.as_tuple().exponent < -30:  # type: ignore[operator]
        raise SubsidyInputError(path, "must have at most two decimal places (fen)")
    if amount != amount.quantize(FEN):
        raise SubsidyInputError(path, "must have at most two decimal places (fen)")
    return amount


class _Fields:
    """Reads one mapping, remembering which keys were used so unknown keys can be refused."""

    def __init__(self, raw: Any, path: str) -> None:
        if not isinstance(raw, Mapping):
            raise SubsidyInputError(path, "must be an object")
        self.raw: Mapping[str, Any] = raw
        self.path = path
        self.used: set[str] = set()

    def at(self, name: str) -> str:
        return f"{self.path}.{name}" if self.path else name

    def _get(self, name: str, default: Any) -> Any:
        self.used.add(name)
        value = self.raw.get(name, _MISSING)
        if value is _MISSING or value is None:
            if default is _MISSING:
                raise SubsidyInputError(self.at(name), "is required")
            return default
        return value

    def integer(self, name: str, default: Any = _MISSING, *, minimum: int = 0, maximum: int = MAX_COUNT) -> int:
        value = self._get(name, default)
        if isinstance(value, bool) or not isinstance(value, int):
            raise SubsidyInputError(self.at(name), "must be a whole number")
        if value < minimum:
            raise SubsidyInputError(self.at(name), f"must be at least {minimum}")
        if value > maximum:
            raise SubsidyInputError(self.at(name), f"must be at most {maximum}")
        return value

    def months(self, name: str, default: Any = _MISSING) -> int:
        return self.integer(name, default, maximum=MAX_MONTHS)

    def boolean(self, name: str, default: Any = _MISSING) -> bool:
        value = self._get(name, default)
        if not isinstance(value, bool):
            raise SubsidyInputError(self.at(name), "must be true or false")
        return value

    def money(self, name: str, default: Any = _MISSING) -> Decimal:
        return parse_money(self._get(name, default), self.at(name))

    def text(self, name: str, default: Any = _MISSING) -> Any:
        value = self._get(name, default)
        if value is None:
            return None
        if not isinstance(value, str) or not value.strip():
            raise SubsidyInputError(self.at(name), "must be a non-empty string")
        return value.strip()

    def choice(self, name: str, enum: type[_E]) -> _E:
        value = self._get(name, _MISSING)
        try:
            return enum(value)
        except ValueError:
            allowed = ", ".join(e.value for e in enum)
            raise SubsidyInputError(self.at(name), f"must be one of: {allowed}") from None

    def items(self, name: str, default: Any = _MISSING) -> list[tuple[str, Any]]:
        value = self._get(name, default)
        if not isinstance(value, list | tuple):
            raise SubsidyInputError(self.at(name), "must be a list")
        return [(f"{self.at(name)}[{i}]", item) for i, item in enumerate(value)]

    def age(self, as_of: dt.date) -> int | None:
        """Optional `age` (completed years) or `birth_date` (ISO date, age taken at `as_of`)."""
        self.used.add("age")
        age = self.integer("age", None, maximum=_MAX_AGE) if self.raw.get("age") is not None else None
        born = self.raw.get("birth_date")
        self.used.add("birth_date")
        if born is None:
            return age
        if age is not None:
            raise SubsidyInputError(self.at("birth_date"), "give either age or birth_date")
        if isinstance(born, str):
            try:
                born = dt.date.fromisoformat(born)
            except ValueError:
                raise SubsidyInputError(self.at("birth_date"), "must be an ISO date") from None
        if not isinstance(born, dt.date) or born > as_of:
            raise SubsidyInputError(self.at("birth_date"), "must be a date before the as-of date")
        return age_on(born, as_of)

    def done(self) -> None:
        unknown = sorted(set(self.raw) - self.used)
        if unknown:
            raise SubsidyInputError(self.at(unknown[0]), "is not a field of this kind")


def _unique_ids(ids: list[tuple[str, str]]) -> None:
    seen: set[str] = set()
    for path, pid in ids:
        if pid in seen:
            raise SubsidyInputError(path, f"person {pid} is listed twice")
        seen.add(pid)


def _ages(f: _Fields, as_of: dt.date) -> int | None:
    age = f.age(as_of)
    if age is not None and age < 16:
        # The employment subsidies are for laborers (16 and over); the funding rule has no
        # budget for younger people (000 就业扶贫 §四(三)).
        raise SubsidyInputError(f.at("age"), "a laborer must be at least 16 years old")
    return age


def parse_enterprise_employment_reward(raw: Any, as_of: dt.date) -> EnterpriseEmploymentRewardInputs:
    f = _Fields(raw, "inputs")
    hires: list[Hire] = []
    for path, item in f.items("hires", ()):  # none: a workshop's stable-employment award only
        h = _Fields(item, path)
        hires.append(
            Hire(
                person_id=h.text("person_id"),
                contract_months=h.months("contract_months"),
                poor_laborer=h.boolean("poor_laborer"),
                age=_ages(h, as_of),
            )
        )
        h.done()
    _unique_ids([(f"inputs.hires[{i}].person_id", h.person_id) for i, h in enumerate(hires)])
    workshop = f.boolean("workshop", False)
    raw_stable = f.raw.get("stable_6m_persons")
    ids: tuple[str, ...] = ()
    if isinstance(raw_stable, list | tuple):
        id_list: list[str] = []
        for path, item in f.items("stable_6m_persons"):
            if not isinstance(item, str) or not item.strip():
                raise SubsidyInputError(path, "must be a person id")
            id_list.append(item.strip())
        _unique_ids([(f"inputs.stable_6m_persons[{i}]", p) for i, p in enumerate(id_list)])
        ids, stable = tuple(id_list), len(id_list)
    else:
        stable = f.integer("stable_6m_persons", 0)
    enterprise_id = f.text("enterprise_id", None)
    f.done()
    return EnterpriseEmploymentRewardInputs(tuple(hires), workshop, stable, ids, enterprise_id)


def parse_transport_allowance(raw: Any, as_of: dt.date) -> TransportAllowanceInputs:
    f = _Fields(raw, "inputs")
    out = TransportAllowanceInputs(
        work_location=f.choice("work_location", WorkLocation),
        contract_months=f.months("contract_months"),
        # not given: not paid (the epidemic rule does not need it; the regular rule then explains)
        social_insurance=f.boolean("social_insurance", False),
        epidemic_period=f.boolean("epidemic_period", False),
        stable_months=f.months("stable_months", 0),
        person_id=f.text("person_id", None),
        age=_ages(f, as_of),
    )
    f.done()
    return out


def parse_entrepreneurship_subsidy(raw: Any, as_of: dt.date) -> EntrepreneurshipSubsidyInputs:
    f = _Fields(raw, "inputs")
    out = EntrepreneurshipSubsidyInputs(
        first_business=f.boolean("first_business"),
        months_operating=f.months("months_operating"),
        employees_1y_contract=f.integer("employees_1y_contract"),
        person_id=f.text("person_id", None),
        age=_ages(f, as_of),
    )
    f.done()
    return out


def parse_public_welfare_post(raw: Any, as_of: dt.date) -> PublicWelfarePostInputs:
    f = _Fields(raw, "inputs")
    out = PublicWelfarePostInputs(
        annual_wage=f.money("annual_wage"),
        person_id=f.text("person_id", None),
        age=_ages(f, as_of),
    )
    f.done()
    return out


def parse_work_for_training(raw: Any, as_of: dt.date) -> WorkForTrainingInputs:
    f = _Fields(raw, "inputs")
    trainees: list[Trainee] = []
    for path, item in f.items("trainees"):
        t = _Fields(item, path)
        trainees.append(
            Trainee(
                person_id=t.text("person_id"),
                months=t.months("months"),
                pre_job_training_claimed=t.boolean("pre_job_training_claimed"),
                age=_ages(t, as_of),
            )
        )
        t.done()
    _unique_ids([(f"inputs.trainees[{i}].person_id", t.person_id) for i, t in enumerate(trainees)])
    out = WorkForTrainingInputs(tuple(trainees), f.text("enterprise_id", None))
    f.done()
    return out


def parse_technical_school(raw: Any, as_of: dt.date) -> TechnicalSchoolInputs:
    f = _Fields(raw, "inputs")
    out = TechnicalSchoolInputs(
        years=f.integer("years", maximum=MAX_YEARS),
        yulu_plan=f.boolean("yulu_plan"),
        person_id=f.text("person_id", None),
    )
    f.done()
    return out


def parse_tiered_wage_subsidy(raw: Any, as_of: dt.date) -> TieredWageSubsidyInputs:
    f = _Fields(raw, "inputs")
    out = TieredWageSubsidyInputs(
        poor_laborers=f.integer("poor_laborers"),
        total_wages=f.money("total_wages"),
        enterprise_id=f.text("enterprise_id", None),
    )
    f.done()
    return out


def parse_workshop_award(raw: Any, as_of: dt.date) -> WorkshopAwardInputs:
    f = _Fields(raw, "inputs")
    out = WorkshopAwardInputs(
        stable_6m_count=f.integer("stable_6m_count"),
        stable_12m_count=f.integer("stable_12m_count", 0),
        average_monthly_wage=f.money("average_monthly_wage"),
        enterprise_id=f.text("enterprise_id", None),
    )
    f.done()
    return out


def parse_medical_assistance(raw: Any, as_of: dt.date) -> MedicalAssistanceInputs:
    f = _Fields(raw, "inputs")
    out = MedicalAssistanceInputs(
        compliant_oop=f.money("compliant_oop"),
        in_province=f.boolean("in_province"),
        tiered_referral=f.boolean("tiered_referral"),
        paid_this_year=f.money("paid_this_year", Decimal(0)),
        person_id=f.text("person_id", None),
    )
    f.done()
    return out


def parse_housing_renovation(raw: Any, as_of: dt.date) -> HousingRenovationInputs:
    f = _Fields(raw, "inputs")
    out = HousingRenovationInputs(f.choice("type", HousingType), f.text("household_id", None))
    f.done()
    return out


def parse_dibao_topup(raw: Any, as_of: dt.date) -> DibaoTopupInputs:
    f = _Fields(raw, "inputs")
    out = _dibao_topup_fields(f)
    f.done()
    return out


def _dibao_topup_fields(f: _Fields) -> DibaoTopupInputs:
    members = f.integer("members", minimum=1)
    counts = {}
    for name in ("severely_ill_or_disabled", "aged_70_plus", "minors"):
        counts[name] = f.integer(name, 0)
        if counts[name] > members:
            raise SubsidyInputError(f.at(name), f"cannot exceed members ({members})")
    return DibaoTopupInputs(
        per_capita_income_annual=f.money("per_capita_income_annual"),
        members=members,
        household_id=f.text("household_id", None),
        **counts,
    )


def parse_dibao_monthly(raw: Any, as_of: dt.date) -> DibaoMonthlyInputs:
    f = _Fields(raw, "inputs")
    topup = _dibao_topup_fields(f)
    months = f.integer("months", 1, minimum=1, maximum=MAX_MONTHS)
    excluded = f.integer("excluded_members", 0)
    if excluded > topup.members:
        raise SubsidyInputError(f.at("excluded_members"), f"cannot exceed members ({topup.members})")
    phase = f.choice("phase", DibaoPhase) if f.raw.get("phase") is not None else DibaoPhase.REGULAR
    f.used.add("phase")
    out = DibaoMonthlyInputs(topup, months=months, excluded_members=excluded, phase=phase)
    f.done()
    return out


def parse_tekun_monthly(raw: Any, as_of: dt.date) -> TekunMonthlyInputs:
    f = _Fields(raw, "inputs")
    out = TekunMonthlyInputs(
        persons=f.integer("persons", minimum=1),
        care_level=f.choice("care_level", CareLevel),
        months=f.integer("months", 1, minimum=1, maximum=MAX_MONTHS),
        household_id=f.text("household_id", None),
    )
    f.done()
    return out


def parse_temporary_relief(raw: Any, as_of: dt.date) -> TemporaryReliefInputs:
    f = _Fields(raw, "inputs")
    amount = f.money("amount")
    if amount <= 0:
        raise SubsidyInputError(f.at("amount"), "must be greater than 0")
    out = TemporaryReliefInputs(
        amount=amount,
        reason=f.text("reason"),
        approved_level=f.choice("approved_level", ReliefLevel),
        limit=f.money("limit"),
        household_id=f.text("household_id", None),
    )
    f.done()
    return out
