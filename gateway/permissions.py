"""Which roles may call which method + route at all (the public surface of /api/v1). A route not
in this table is 404; a role not listed for it is 403. Row-level scope stays in the services (404).

Read the table top to bottom: the first row whose method and path match decides. `{id}` is one
path segment; `**` is the rest of the path. docs/gateway.md shows the same table as a grid.
"""

from __future__ import annotations

import re
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from typing import Any

from shared.errors import DomainError, Forbidden, NotFound

__all__ = [
    "COUNTY_AND_ABOVE",
    "RULES",
    "MethodNotAllowed",
    "Rule",
    "check",
    "is_export",
    "match",
    "wants_unmasked_ids",
]

PROVINCE, COUNTY, TOWNSHIP, VILLAGE = "province", "county", "township", "village"
CONTACT, DEPARTMENT, CITIZEN, ADMIN = "contact", "department", "citizen", "admin"

OFFICERS = frozenset({PROVINCE, COUNTY, TOWNSHIP, VILLAGE})
STAFF = OFFICERS | {ADMIN}
#: Who may read resident ID numbers unmasked, and take bulk exports.
COUNTY_AND_ABOVE = frozenset({PROVINCE, COUNTY, ADMIN})
BULK = frozenset({PROVINCE, COUNTY, ADMIN})
EVERYONE = frozenset({PROVINCE, COUNTY, TOWNSHIP, VILLAGE, CONTACT, DEPARTMENT, CITIZEN, ADMIN})
R, W = ("GET", "HEAD"), ("POST", "PUT", "PATCH", "DELETE")
ANY = R + W


@dataclass(frozen=True)
class Rule:
    methods: tuple[str, ...]
    pattern: str
    roles: frozenset[str]
    #: An extra rate-limit bucket for this route and these roles (see gateway/ratelimit.py).
    bucket: str | None = None
    bucket_roles: frozenset[str] = frozenset()
    regex: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        parts = []
        for seg in self.pattern.strip("/").split("/"):
            if seg == "**":
                parts.append("(?:/.*)?")
                continue
            parts.append("/" + re.sub(r"\\\{[a-z_]+\\\}", "[^/]+", re.escape(seg)))
        object.__setattr__(self, "regex", re.compile("".join(parts) + "$"))


def _r(methods: tuple[str, ...] | str, pattern: str, roles: AbstractSet[str], **kw: Any) -> Rule:
    return Rule((methods,) if isinstance(methods, str) else methods, pattern, frozenset(roles), **kw)


# fmt: off
RULES: list[Rule] = [
    # identification — assessments are stateless what-if evaluations
    _r("POST", "/assessments", EVERYONE - {DEPARTMENT}),
    _r("POST", "/assessments:simulate", STAFF),  # a whole region under what-if overrides
    # self-applications (citizens, with their own bucket) and officer-started cases
    _r("POST", "/applications", STAFF | {CITIZEN}, bucket="self_application", bucket_roles=frozenset({CITIZEN})),
    _r(R, "/applications", STAFF | {CITIZEN, CONTACT}),
    _r(R, "/applications/{id}", STAFF | {CITIZEN, CONTACT}),
    _r(R, "/applications/{id}/**", STAFF | {CITIZEN, CONTACT}),
    # a citizen reads the cases of their own household; anyone may send a transition: the
    # service answers 404 for a case the caller cannot see and 409 `role_not_allowed` (DESIGN.md)
    # for one it can see but whose action its role may not take
    _r(R, "/cases/{id}", STAFF | {CONTACT, CITIZEN}),
    _r("POST", "/cases/{id}/transitions", EVERYONE),
    _r(R, "/cases/**", STAFF | {CONTACT}),
    _r(W, "/cases/**", STAFF),
    _r("POST", "/signals", STAFF - {TOWNSHIP, VILLAGE} | {DEPARTMENT}),
    _r("POST", "/signals/leads/{id}/resolve", {VILLAGE, TOWNSHIP, COUNTY, ADMIN}),
    _r(R, "/signals/**", STAFF | {DEPARTMENT}),
    _r("POST", "/households/import", BULK),
    # duplicate persons (一人多户): resolved by the county or province covering both households
    _r(R, "/households/duplicates", COUNTY_AND_ABOVE),
    _r("POST", "/households/duplicates/{id}/resolve", COUNTY_AND_ABOVE),
    # the registry look-up (officers' console): the list, the look-up by ID number, the risk page;
    # the overview is put together by the gateway itself (gateway/overview.py)
    _r(R, "/households", STAFF),
    _r("POST", "/households/search", STAFF),
    _r(R, "/households/{id}/risk", STAFF),
    _r("GET", "/households/{id}/overview", STAFF),
    _r(ANY, "/households/**", STAFF | {CONTACT}),
    _r(R, "/jobs/{id}", STAFF),
    _r(ANY, "/screenings/**", STAFF),
    _r(R, "/statistics/**", STAFF),
    # low-income side (民政): roster, summary, joint screenings, monthly comparison tasks
    _r(R, "/low-income/**", STAFF),
    _r("POST", "/low-income/**", {PROVINCE, COUNTY, ADMIN}),
    _r(R, "/notices/**", EVERYONE),
    _r(W, "/notices/**", STAFF),
    # the national monitoring system export: its files carry ID numbers (docs/registry.md)
    _r(ANY, "/national-sync/**", {PROVINCE, COUNTY}),
    # subsidy
    _r("POST", "/subsidies/calculate", STAFF | {CONTACT, DEPARTMENT}),
    _r("POST", "/subsidies/calculate:batch", STAFF | {DEPARTMENT}),
    _r(ANY, "/subsidies/**", STAFF | {DEPARTMENT}),
    # assistance
    _r(R, "/plans/**", STAFF | {CONTACT}),
    _r(W, "/plans/**", STAFF | {CONTACT}),
    _r(ANY, "/measures/**", STAFF | {CONTACT, DEPARTMENT}),
    _r(ANY, "/visits/**", STAFF | {CONTACT}),
    _r(ANY, "/contacts/**", STAFF),
    _r(ANY, "/employment/**", STAFF | {CONTACT, DEPARTMENT}),
    # civil affairs — temporary relief: officers and citizens request (a citizen sees only their
    # own requests); the service lets township, county and above decide (docs/civil-affairs.md)
    _r(ANY, "/social-assistance/relief/**", STAFF | {CITIZEN}),
    # notification
    _r(ANY, "/subscriptions/**", {PROVINCE, COUNTY, DEPARTMENT, ADMIN}),
    _r(ANY, "/deliveries/**", {PROVINCE, COUNTY, DEPARTMENT, ADMIN}),
    _r(ANY, "/inbox/**", EVERYONE),
    _r(ANY, "/reminders/**", STAFF | {CONTACT}),
    # civil affairs: appeals (申诉/复核) and complaints (12345): citizens file and read their own
    # (the service answers 404 for anyone else's), officers within region, departments refer
    # complaints and handle those transferred to them
    _r(ANY, "/appeals/**", STAFF | {CITIZEN}),
    _r(ANY, "/complaints/**", STAFF | {CITIZEN, DEPARTMENT}),
    # civil affairs — dibao / 特困 applications, economic checks, enrolments, payments (#18); the
    # service answers 404 outside the caller's region and 409 `role_not_allowed` per step
    _r("POST", "/social-assistance/applications", STAFF | {CITIZEN}),
    _r(R, "/social-assistance/applications", STAFF | {CITIZEN}),
    _r(R, "/social-assistance/applications/{id}", STAFF | {CITIZEN}),
    _r("POST", "/social-assistance/applications/{id}/transitions", STAFF | {CITIZEN}),
    _r("POST", "/social-assistance/economic-checks/{id}/result", {COUNTY, DEPARTMENT, ADMIN}),
    _r(R, "/social-assistance/enrolments", STAFF),
    _r(ANY, "/social-assistance/enrolments/**", STAFF),
    _r(R, "/social-assistance/rechecks", STAFF),
    _r("POST", "/social-assistance/payments:run", {PROVINCE, COUNTY, ADMIN}),
    _r(R, "/social-assistance/payments", STAFF),
    # the audit chains of identification and subsidy, merged by the gateway (gateway/audit.py)
    _r(R, "/audit", COUNTY_AND_ABOVE),
    # administration: policy versions (routed by `service`), API keys (the gateway's own)
    _r("POST", "/admin/policies", {ADMIN, PROVINCE}),
    _r(R, "/admin/policies", STAFF),
    _r(ANY, "/admin/api-keys/**", {ADMIN}),
    # the DCI Social Registry API (docs/registry.md): partner systems; partners registered by admin
    _r(R, "/registry/.well-known/jwks.json", EVERYONE),
    _r(ANY, "/registry/partners", {ADMIN}),
    _r("POST", "/registry/**", frozenset({PROVINCE, COUNTY, DEPARTMENT, ADMIN})),
]
# fmt: on

_BY_HEAD: dict[str, list[Rule]] = {}
for _rule in RULES:
    _head = _rule.pattern.strip("/").split("/")[0].split(":")[0]
    _BY_HEAD.setdefault(_head, []).append(_rule)


class MethodNotAllowed(DomainError):
    status, code, title = 405, "method_not_allowed", "Method not allowed"


def match(method: str, path: str) -> Rule:
    """The rule for `method` `path` (the part after /api/v1): NotFound if the path is not in the
    public surface, MethodNotAllowed if it is but not for this method."""
    head = path[1:].split("/", 1)[0].split(":", 1)[0]
    path_known = False
    for rule in _BY_HEAD.get(head, ()):
        if rule.regex.match(path):
            if method in rule.methods:
                return rule
            path_known = True
    if path_known:
        raise MethodNotAllowed(f"{method} is not allowed on /api/v1{path}")
    raise NotFound(f"no such route: /api/v1{path}")


def is_export(path: str, query: str) -> bool:
    """A bulk export: a `…:export` action, an `/exports` resource or a file `format=`."""
    return path.endswith(":export") or "/exports" in path or bool(_EXPORT_FORMAT.search(query))


def wants_unmasked_ids(query: str) -> bool:
    """Resident ID numbers come back masked unless the caller asks `reveal=id_number`."""
    return bool(_REVEAL.search(query))


_EXPORT_FORMAT = re.compile(r"(?:^|&)format=(?:csv|xlsx|ndjson)(?:&|$)")
_REVEAL = re.compile(r"(?:^|&)reveal=[^&]*id_number")


def check(rule: Rule, role: str, path: str, query: str) -> None:
    """403 for a role that may never use this route (or ask for what it may not see)."""
    if role not in rule.roles:
        raise Forbidden(f"role {role} may not use this route", code="role_forbidden")
    if query and wants_unmasked_ids(query) and role not in COUNTY_AND_ABOVE:
        raise Forbidden("only county, province and admin may read unmasked ID numbers", code="unmask_forbidden")
    if role not in BULK and is_export(path, query):
        raise Forbidden("bulk exports are for province, county and admin", code="export_forbidden")
