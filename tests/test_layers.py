"""Relay's layers, read from the source: each module imports only the layers before its own.

``app/core`` imports no domain; ``push/`` imports only ``app/core``; ``app/web`` (the HTTP
layer every route uses) only ``app/core``; then the domains in their one order, each
importing only earlier domains' services and tables, never another domain's routes. The
modules that wire everything (``app/main.py``, ``app/cli.py``, ``app/wiring.py``, the shell,
the demo…) come last and may import anything. What must run backwards is an event
(``app/core/events.py``). A function-local import of Relay's own modules hides an edge
from a reader: each says why, in a comment on its line or just above its block.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

LAYERS = [
    "app.core",
    "push",
    "app.web",
    "app.mail",
    "app.org",
    "app.accounts",
    "app.content",
    "app.activity",
    "app.sharing",
    "app.candidates",
    "app.points",
    "app.rewards",
    "app.boards",
    "app.notifications",
    "app.voice",
    "app.events",
    "app.insights",
    "app.integrations",
]
TOP = len(LAYERS)  # everything else under app/: main, cli, wiring, shell, demo…

# Edges against the order still to remove. Each must still exist (the test says when one is
# gone, so that it is deleted here and cannot come back); none may be added.
PENDING: set[tuple[str, str]] = set()


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def layer(module: str) -> int:
    for rank, prefix in enumerate(LAYERS):
        if module == prefix or module.startswith(prefix + "."):
            return rank
    return TOP


def package(module: str) -> str:
    return module if module == "push" else ".".join(module.split(".")[:2])


def sources() -> list[Path]:
    return sorted([*ROOT.joinpath("app").rglob("*.py"), *ROOT.joinpath("push").rglob("*.py")])


MODULES = {module_name(path) for path in sources()}


def imports(path: Path) -> Iterator[tuple[int, str, bool]]:
    """(line, imported module, inside a function) for each import of Relay's own modules."""
    tree = ast.parse(path.read_text(), str(path))
    here = module_name(path)

    def walk(node: ast.AST, local: bool) -> Iterator[tuple[int, str, bool]]:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Import):
                for alias in child.names:
                    yield child.lineno, alias.name, local
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:  # relative: from the module's package, one level up per dot
                    parts = here.split(".")
                    keep = len(parts) - child.level + (path.name == "__init__.py")
                    base = ".".join([*parts[:keep], *([base] if base else [])])
                for alias in child.names:
                    name = f"{base}.{alias.name}"
                    yield child.lineno, name if name in MODULES else base, local
            inner = local or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef)
            yield from walk(child, inner)

    for line, module, local in walk(tree, False):
        if module.split(".")[0] in ("app", "push"):
            yield line, module, local


def against_the_order() -> list[str]:
    found = []
    for path in sources():
        here = module_name(path)
        for line, module, _local in imports(path):
            name = str(path.relative_to(ROOT))
            if (name, module) in PENDING:
                continue
            backwards = layer(module) > layer(here)
            into_routes = (
                layer(here) < TOP
                and package(module) != package(here)
                and module.rsplit(".", 1)[-1] == "routes"
            )
            if backwards or into_routes:
                found.append(f"{name}:{line} imports {module}")
    return sorted(set(found), key=found.index)


def pending_still_there() -> set[tuple[str, str]]:
    return {
        (str(path.relative_to(ROOT)), module)
        for path in sources()
        for _line, module, _local in imports(path)
    } & PENDING


def _is_reason(line: str) -> bool:
    """A comment that says something (not only a linter's or a type checker's pragma)."""
    _code, hash_, comment = line.partition("#")
    return bool(hash_) and not comment.strip().startswith(("noqa", "type:", "fmt:"))


def _in_block(line: str) -> bool:
    text = line.strip()
    return not text or text.startswith(("from ", "import "))


def local_imports_without_a_reason() -> list[str]:
    found = []
    for path in sources():
        lines = path.read_text().splitlines()
        name = str(path.relative_to(ROOT))
        for line, module, local in imports(path):
            if not local or (name, module) in PENDING:
                continue
            # The import's block: the imports right above it share its reason.
            first = line
            while first > 1 and _in_block(lines[first - 2]):
                first -= 1
            block = lines[max(first - 2, 0) : line]
            if not any(_is_reason(text) for text in block):
                found.append(f"{name}:{line}")
    return sorted(set(found), key=found.index)


def test_every_import_follows_the_order_of_the_layers() -> None:
    found = against_the_order()
    assert not found, "Imports against the layers (publish an event instead):\n" + "\n".join(found)


def test_the_edges_left_to_other_branches_still_exist() -> None:
    """When one is gone, delete it from PENDING so that it cannot come back."""
    assert pending_still_there() == PENDING


def test_every_function_local_import_of_relays_modules_says_why() -> None:
    found = local_imports_without_a_reason()
    assert not found, "Function-local imports without a comment saying why:\n" + "\n".join(found)
