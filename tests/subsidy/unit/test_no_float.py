"""No binary floating point touches money: an AST check over the subsidy domain (no float
literals, no float() calls, no `float` in annotations or anywhere else), and the domain stays
pure (no web, database or broker imports; only policies.py reads files)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

DOMAIN = Path(__file__).resolve().parents[3] / "services" / "subsidy" / "domain"
MODULES = sorted(DOMAIN.glob("*.py"))
BANNED_IMPORTS = ("fastapi", "sqlalchemy", "nats", "httpx", "starlette", "pydantic", "aiohttp")


def test_the_domain_modules_are_found() -> None:
    names = {m.name for m in MODULES}
    assert {"calculators.py", "rounding.py", "decisions.py", "model.py", "policies.py"} <= names


def _annotations(tree: ast.AST) -> list[ast.expr]:
    out: list[ast.expr] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.arg | ast.AnnAssign) and node.annotation is not None:
            out.append(node.annotation)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.returns is not None:
            out.append(node.returns)
    return out


def _float_uses(tree: ast.AST) -> list[str]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, float | complex):
            found.append(f"line {node.lineno}: float literal {node.value!r}")
        elif isinstance(node, ast.Name) and node.id == "float":
            found.append(f"line {node.lineno}: the name float (call, annotation or isinstance)")
        elif isinstance(node, ast.Attribute) and node.attr in {"from_float", "fromhex"}:
            found.append(f"line {node.lineno}: .{node.attr}")
    for ann in _annotations(tree):
        # `from __future__ import annotations` may leave an annotation as a string: parse it too.
        for sub in ast.walk(ann):
            if isinstance(sub, ast.Constant) and isinstance(sub.value, str):
                inner = ast.parse(sub.value, mode="eval")
                if any(isinstance(n, ast.Name) and n.id == "float" for n in ast.walk(inner)):
                    found.append(f"line {ann.lineno}: float in the annotation {sub.value!r}")
    return found


@pytest.mark.parametrize("module", MODULES, ids=lambda p: p.name)
def test_no_float_in_the_domain(module: Path) -> None:
    assert _float_uses(ast.parse(module.read_text(encoding="utf-8"))) == []


def test_the_check_catches_floats() -> None:
    src = "def f(x: float) -> 'float':\n    return float(x) * 0.5\n"
    assert len(_float_uses(ast.parse(src))) == 4


@pytest.mark.parametrize("module", MODULES, ids=lambda p: p.name)
def test_the_domain_is_pure(module: Path) -> None:
    tree = ast.parse(module.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            assert not any(n.split(".")[0] in BANNED_IMPORTS for n in names), ast.unparse(node)
        if module.name != "policies.py" and isinstance(node, ast.Call):
            func = node.func
            name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
            assert name not in {"open", "read_text", "read_bytes", "load_policy_dir", "glob"}, ast.unparse(node)
