"""The code stays readable: short modules and functions, and a docstring on everything public."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("models", "servers", "loadgen", "canary", "images", "bench", "cluster")
MAX_MODULE_LINES, MAX_FUNCTION_LINES = 250, 40


def modules() -> list[Path]:
    return sorted(p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py"))


def _public(node, parents) -> bool:
    # Public: no leading underscore, not nested in a function, and (for methods) in a public class.
    return not node.name.startswith("_") and all(
        isinstance(p, ast.ClassDef) and not p.name.startswith("_") for p in parents)


def problems(path: Path, root: Path = ROOT) -> list[str]:
    """Every breach of the rules in one module, as 'path:line: what'."""
    text = path.read_text()
    tree, rel, out = ast.parse(text), path.relative_to(root), []
    if len(text.splitlines()) > MAX_MODULE_LINES:
        out.append(f"{rel}: {len(text.splitlines())} lines (at most {MAX_MODULE_LINES})")

    def visit(node, parents):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                length = child.end_lineno - child.lineno + 1
                if not isinstance(child, ast.ClassDef) and length > MAX_FUNCTION_LINES:
                    out.append(f"{rel}:{child.lineno}: {child.name} has {length} lines (at most {MAX_FUNCTION_LINES})")
                if _public(child, parents) and not ast.get_docstring(child) and not _exempt(child):
                    out.append(f"{rel}:{child.lineno}: public {child.name} has no docstring")
                visit(child, parents + [child])
    visit(tree, [])
    return out


def _exempt(node) -> bool:
    # Dunder methods, and route handlers and tests are named for what they do; neither is API.
    return node.name.startswith("__") or any(
        isinstance(d, ast.Call) and isinstance(d.func, ast.Attribute) and d.func.attr in ("get", "post", "delete", "route")
        for d in getattr(node, "decorator_list", []))


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_module_shape(path):
    assert problems(path) == []


def test_the_checker_catches_a_long_undocumented_function(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("def visible():\n" + "    x = 1\n" * 45)
    found = problems(bad, tmp_path)
    assert any("46 lines" in p for p in found) and any("no docstring" in p for p in found)
