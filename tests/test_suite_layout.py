"""The test suite's own layout: shared helpers have one home, test modules stand alone."""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parent
SHARED = ["helpers.py", "factories.py", "browser.py", "push_sink.py"]


def top_level_names(tree: ast.Module) -> set[str]:
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
    return names


def test_a_test_module_imports_no_other_test_module_and_copies_no_shared_helper() -> None:
    shared = set().union(
        *(top_level_names(ast.parse((TESTS / name).read_text())) for name in SHARED)
    )
    problems = []
    for path in sorted(TESTS.glob("*.py")):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("tests.test_"):
                problems.append(f"{path.name}:{node.lineno} imports {node.module}")
        if path.name.startswith("test_"):
            copies = top_level_names(tree) & shared
            problems += [f"{path.name} defines {name} again" for name in sorted(copies)]
    assert not problems, "\n".join(problems)
