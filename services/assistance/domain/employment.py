"""Employment services (就业帮扶): the laborer's survey record (000 employment 附件3 贫困劳动者就业
情况统计表), the services logged for them, and the 1 + 5 standard — at least one career
guidance or training and five job-post recommendations per laborer (000 employment §二(三))."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

__all__ = ["EmploymentStandard", "ServiceKind", "StandardResult", "WorkLocation", "check_standard"]

STANDARD_SOURCE = "000 employment §二(三): 至少都能得到1次职业指导和培训、5次就业岗位信息推荐"


class ServiceKind(StrEnum):
    GUIDANCE = "guidance"  # 职业指导
    TRAINING = "training"  # 培训
    JOB_RECOMMENDATION = "job_recommendation"  # 就业岗位信息推荐


class WorkLocation(StrEnum):
    IN_COUNTY = "in_county"
    OUT_OF_COUNTY_IN_CITY = "out_of_county_in_city"
    OUT_OF_CITY_IN_PROVINCE = "out_of_city_in_province"
    OUT_OF_PROVINCE = "out_of_province"


@dataclass(frozen=True, slots=True)
class EmploymentStandard:
    min_guidance_or_training: int
    min_job_recommendations: int


@dataclass(frozen=True, slots=True)
class StandardResult:
    guidance_or_training: int
    job_recommendations: int
    met: bool
    missing: tuple[str, ...]


def check_standard(services: Iterable[ServiceKind | str], standard: EmploymentStandard) -> StandardResult:
    kinds = [ServiceKind(s) for s in services]
    gt = sum(1 for k in kinds if k in (ServiceKind.GUIDANCE, ServiceKind.TRAINING))
    jobs = sum(1 for k in kinds if k is ServiceKind.JOB_RECOMMENDATION)
    missing: list[str] = []
    if gt < standard.min_guidance_or_training:
        missing.append(f"guidance_or_training: {gt}/{standard.min_guidance_or_training}")
    if jobs < standard.min_job_recommendations:
        missing.append(f"job_recommendations: {jobs}/{standard.min_job_recommendations}")
    return StandardResult(gt, jobs, not missing, tuple(missing))
