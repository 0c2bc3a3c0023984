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
