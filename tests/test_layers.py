"""The layers of every service (api → application → domain, adapters below), checked over the
source: ruff's banned-api rule (pyproject.toml) keeps SQLAlchemy, FastAPI, HTTP clients and the
broker out of `domain/` and `application/`; this keeps SQL and transactions out of the routers —
a router maps schemas to a command, calls the use case, and maps its result back. A router may
name the session's type (`sqlalchemy.ext.asyncio`, for a dependency's signature), nothing else
of SQLAlchemy, and calls neither `execute` nor `commit`."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

pytestmark = pytest.mark.sqlite_only  # reads source files only

ROOT = Path(__file__).resolve().parents[1]
ROUTERS = sorted((ROOT / "services").glob("*/api/*.py"))


def _violations(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            names = [node.module or ""] if isinstance(node, ast.ImportFrom) else [a.name for a in node.names]
            found += [
                f"line {node.lineno}: imports {n}"
                for n in names
                if n.split(".")[0] == "sqlalchemy" and n != "sqlalchemy.ext.asyncio"
            ]
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in ("commit", "execute", "scalar", "scalars")
        ):
            found.append(f"line {node.lineno}: calls {node.func.attr}")
    return found


def test_there_are_routers_to_check() -> None:
    assert len(ROUTERS) > 20


@pytest.mark.parametrize("path", ROUTERS, ids=lambda p: str(p.relative_to(ROOT)))
def test_a_router_neither_runs_sql_nor_commits(path: Path) -> None:
    assert _violations(path) == []


def test_the_check_finds_what_it_looks_for(tmp_path: Path) -> None:
    bad = tmp_path / "router.py"
    bad.write_text(
        "import sqlalchemy as sa\nfrom sqlalchemy.ext.asyncio import AsyncSession\n"
        "async def f(uow):\n    await uow.session.execute(sa.select(1))\n    await uow.commit()\n"
    )
    assert _violations(bad) == ["line 1: imports sqlalchemy", "line 4: calls execute", "line 5: calls commit"]


# A use case answers with a typed result (a domain object, a read-model dataclass, a page of
# them), never a bare `dict[str, Any]` the router passes on: the router owns the wire shape. The
# few public application functions below return a dict or `Any` on purpose, each for its reason.
UNTYPED_ON_PURPOSE: dict[str, str] = {
    "services.assistance.application.employment.record_placement": "the event's payload, which the route echoes",
    "services.assistance.application.employment.record_post_wage": "the event's payload, which the route echoes",
    "services.civil_affairs.application.appeals.history_json": "the history as the JSON column stores it",
    "services.civil_affairs.application.applications.check_request_with_ids": "the county check system's request",
    "services.identification.application.cases.case_event_data": "an event's payload (checked by shared.contracts)",
    "services.identification.application.import_rows.fast_canonical": "an import row before validation",
    "services.identification.application.import_rows.validate_canonical": "an import row before validation",
    "services.subsidy.application.calculation.iter_ndjson": "the JSON values of a streamed request body",
    "services.subsidy.application.calculation.iter_json_array": "the JSON values of a streamed request body",
}

USE_CASE_MODULES = sorted(p for p in (ROOT / "services").glob("*/application/*.py") if p.name not in ("__init__.py",))


def _untyped_returns(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    found = []
    for node in tree.body:
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) or node.name.startswith("_"):
            continue
        returns = ast.unparse(node.returns) if node.returns is not None else ""
        if not returns or "Any" in returns or returns in ("dict", "list", "tuple"):
            found.append(f"{node.name} -> {returns or '(unannotated)'}")
    return found


def test_a_use_case_returns_a_typed_result() -> None:
    found = {
        f"{p.relative_to(ROOT).with_suffix('').as_posix().replace('/', '.')}.{what.split(' ')[0]}": what
        for p in USE_CASE_MODULES
        for what in _untyped_returns(p)
    }
    assert {k: v for k, v in found.items() if k not in UNTYPED_ON_PURPOSE} == {}
    assert sorted(k for k in UNTYPED_ON_PURPOSE if k not in found) == [], "stale entries in UNTYPED_ON_PURPOSE"


def test_the_return_check_finds_what_it_looks_for(tmp_path: Path) -> None:
    bad = tmp_path / "use_case.py"
    bad.write_text(
        "from typing import Any\n"
        "async def read(uow) -> dict[str, Any]: ...\n"
        "def rows(uow) -> list[dict[str, Any]]: ...\n"
        "def bare(uow): ...\n"
        "def _helper(uow) -> dict[str, Any]: ...\n"
        "async def typed(uow) -> 'Plan': ...\n"
    )
    assert _untyped_returns(bad) == ["read -> dict[str, Any]", "rows -> list[dict[str, Any]]", "bare -> (unannotated)"]


# A use case reaches adapters only through the ports its unit of work and context hand it, so an
# application module imports nothing of `adapters/`: the values the repositories exchange with it
# are defined on the application side (identification: `application/stored.py`,
# `monitoring_ports.py`), and what is not a database — the DCI keys and transport, the national
# files, the import's worker processes, the policy store — is a port in the app's extras that the
# service's main.py fills with its adapters.


def _adapter_imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    found = set()
    for node in ast.walk(tree):
        names = (
            [node.module or ""]
            if isinstance(node, ast.ImportFrom)
            else [a.name for a in node.names]
            if isinstance(node, ast.Import)
            else []
        )
        found |= {n for n in names if n.startswith("services.") and ".adapters" in n}
    return found


LAYERS_WITHOUT_ADAPTERS = sorted(
    p for layer in ("application", "domain") for p in (ROOT / "services").glob(f"*/{layer}/*.py")
)


def test_there_are_use_cases_and_rules_to_check() -> None:
    assert len(LAYERS_WITHOUT_ADAPTERS) > 100


@pytest.mark.parametrize("path", LAYERS_WITHOUT_ADAPTERS, ids=lambda p: str(p.relative_to(ROOT)))
def test_application_and_domain_import_no_adapter(path: Path) -> None:
    assert _adapter_imports(path) == set()


def test_the_adapter_check_finds_what_it_looks_for(tmp_path: Path) -> None:
    bad = tmp_path / "use_case.py"
    bad.write_text(
        "from typing import TYPE_CHECKING\n"
        "import services.subsidy.adapters.repository\n"
        "if TYPE_CHECKING:\n    from services.identification.adapters.jobs import Job\n"
        "from services.identification.application.stored import Job as J\n"
    )
    assert _adapter_imports(bad) == {"services.subsidy.adapters.repository", "services.identification.adapters.jobs"}
