"""Dated policy parameters per region (the openfisca idea without its global object): versions
loaded from YAML or rows, resolved by (region, date), every value carrying its source clause.

A version names a region prefix, a period and some parameters. Resolving for a region and a date
takes every version whose prefix contains the region (by level) and whose period contains the
date, least specific first, and lets each override only the parameters it names. The result
remembers, per parameter, which version and which source clause supplied it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml

from shared.identifiers import REGION_LEVELS, region_within

__all__ = [
    "ParameterValue",
    "PolicyError",
    "PolicyNotFound",
    "PolicyParameterMissing",
    "PolicyVersion",
    "ResolvedPolicy",
    "load_policy_dir",
    "load_policy_yaml",
    "parse_policy_document",
    "resolve_policy",
]


class PolicyError(ValueError):
    """A policy document that cannot be used (bad shape, bad dates, bad region prefix)."""


class PolicyNotFound(LookupError):
    """No policy version is in force for the region at the date."""

    def __init__(self, service: str, region_code: str, as_of: dt.date) -> None:
        self.service, self.region_code, self.as_of = service, region_code, as_of
        super().__init__(f"no {service} policy is in force for region {region_code} on {as_of.isoformat()}")


class PolicyParameterMissing(LookupError):
    """The versions in force do not define a parameter a rule needs."""

    def __init__(self, name: str, region_code: str, as_of: dt.date) -> None:
        self.name = name
        super().__init__(f"policy parameter {name!r} is not set for region {region_code} on {as_of.isoformat()}")


@dataclass(frozen=True, slots=True)
class ParameterValue:
    """One parameter's value with the clause it comes from and the version that set it."""

    name: str
    value: Any
    source: str
    version_id: str = ""
    version: str = ""


@dataclass(frozen=True, slots=True)
class PolicyVersion:
    id: str
    service: str
    region_prefix: str
    effective_from: dt.date
    parameters: Mapping[str, ParameterValue]
    effective_to: dt.date | None = None  # inclusive last day; None = open-ended
    version: str = "1"
    source: str = ""
    #: Tie-breaker between versions with the same prefix and start date (later wins).
    sequence: int = 0

    def in_force(self, as_of: dt.date) -> bool:
        return self.effective_from <= as_of and (self.effective_to is None or as_of <= self.effective_to)


@dataclass(frozen=True, slots=True)
class ResolvedPolicy:
    service: str
    region_code: str
    as_of: dt.date
    values: Mapping[str, ParameterValue]
    #: Versions that contributed, least specific first.
    versions: tuple[PolicyVersion, ...] = field(default_factory=tuple)

    @property
    def id(self) -> str:
        """The most specific version in force (the one a family's officer would cite)."""
        return self.versions[-1].id

    @property
    def version(self) -> str:
        return self.versions[-1].version

    def __contains__(self, name: object) -> bool:
        return name in self.values

    def param(self, name: str) -> ParameterValue:
        try:
            return self.values[name]
        except KeyError:
            raise PolicyParameterMissing(name, self.region_code, self.as_of) from None

    def __getitem__(self, name: str) -> Any:
        return self.param(name).value

    def get(self, name: str, default: Any = None) -> Any:
        pv = self.values.get(name)
        return default if pv is None else pv.value

    def source_of(self, name: str) -> str:
        return self.param(name).source

    def with_overrides(self, overrides: Mapping[str, Any], *, source: str = "what-if override") -> ResolvedPolicy:
        """A copy with some parameters replaced (what-if analysis); the override is its own
        source, so explanations show the figure did not come from a real policy."""
        vals = dict(self.values)
        for name, value in overrides.items():
            vals[name] = ParameterValue(name, _to_decimal(value), source, "override", "override")
        return ResolvedPolicy(self.service, self.region_code, self.as_of, vals, self.versions)

    def as_dict(self) -> dict[str, Any]:
        return {
            name: {"value": pv.value, "source": pv.source, "version_id": pv.version_id}
            for name, pv in sorted(self.values.items())
        }


def resolve_policy(
    versions: Iterable[PolicyVersion], *, service: str, region_code: str, as_of: dt.date
) -> ResolvedPolicy:
    """Layer the versions in force for `region_code` at `as_of`, least specific first."""
    applicable = [
        v
        for v in versions
        if v.service == service and region_within(region_code, v.region_prefix) and v.in_force(as_of)
    ]
    if not applicable:
        raise PolicyNotFound(service, region_code, as_of)
    applicable.sort(key=lambda v: (len(v.region_prefix), v.effective_from, v.sequence))
    values: dict[str, ParameterValue] = {}
    for v in applicable:
        values.update(v.parameters)
    return ResolvedPolicy(service, region_code, as_of, values, tuple(applicable))


# --- loading ---------------------------------------------------------------------------------


class _DecimalLoader(yaml.SafeLoader):
    """YAML numbers become Decimal (from their text), never float: 0.6 stays exactly 0.6."""


def _construct_decimal(loader: yaml.SafeLoader, node: yaml.Node) -> Decimal:
    return Decimal(str(loader.construct_scalar(node)).replace("_", ""))  # type: ignore[arg-type]


_DecimalLoader.add_constructor("tag:yaml.org,2002:float", _construct_decimal)


def _to_decimal(value: Any) -> Any:
    if isinstance(value, float):
        return Decimal(str(value))
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return value


def _date(value: Any, what: str) -> dt.date | None:
    if value is None:
        return None
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError as exc:
        raise PolicyError(f"{what} must be an ISO date, got {value!r}") from exc


def parse_policy_document(doc: Mapping[str, Any], *, sequence: int = 0) -> PolicyVersion:
    """Build a version from a mapping (YAML document, admin API body or database row).

    Each parameter is either `{value: ..., source: ...}` or a bare value that takes the
    document's `source`.
    """
    try:
        vid = str(doc["id"])
        service = str(doc["service"])
        prefix = str(doc.get("region_prefix", ""))
        start = _date(doc["effective_from"], "effective_from")
        params_in = doc.get("parameters") or {}
    except KeyError as exc:
        raise PolicyError(f"policy document lacks {exc.args[0]!r}") from exc
    if prefix and (not prefix.isdigit() or len(prefix) not in REGION_LEVELS):
        raise PolicyError("region_prefix must be 2, 4, 6, 9 or 12 digits (or empty for national)")
    end = _date(doc.get("effective_to"), "effective_to")
    assert start is not None
    if end is not None and end < start:
        raise PolicyError("effective_to is before effective_from")
    doc_source = str(doc.get("source", ""))
    version = str(doc.get("version", "1"))
    params: dict[str, ParameterValue] = {}
    for name, raw in params_in.items():
        if isinstance(raw, Mapping) and "value" in raw:
            value, src = raw["value"], str(raw.get("source") or doc_source)
        else:
            value, src = raw, doc_source
        if not src:
            raise PolicyError(f"parameter {name!r} has no source (document and clause)")
        params[name] = ParameterValue(name, _to_decimal(value), src, vid, version)
    return PolicyVersion(
        id=vid,
        service=service,
        region_prefix=prefix,
        effective_from=start,
        effective_to=end,
        parameters=params,
        version=version,
        source=doc_source,
        sequence=sequence,
    )


def load_policy_yaml(text: str) -> list[PolicyVersion]:
    """All versions in a YAML text (one or several `---` documents)."""
    return [parse_policy_document(d) for d in yaml.load_all(text, Loader=_DecimalLoader) if d]


def load_policy_dir(path: Path) -> list[PolicyVersion]:
    """Every `*.yaml` under `path`, sorted by file name."""
    out: list[PolicyVersion] = []
    for f in sorted(Path(path).glob("*.yaml")):
        out.extend(load_policy_yaml(f.read_text(encoding="utf-8")))
    return out
