"""The folder tree is the architecture: core, documents, the desks, the assembly, the skins.

Layers, lowest first (docs/architecture.md):

0. ``archive.core``       — errors, validation, config, store, session, calendar, access
1. ``archive.documents``  — rendering, the LibreOffice pool, PDF helpers, text extraction
2. the desks              — ``archive.window``, ``archive.shelf``, ``archive.lending``, ``archive.search``,
                             ``archive.supervision``
3. the assembly           — ``archive``'s own top-level modules (``centre``, ``demo``)
4. the skins              — ``cli.py``, ``commands/`` (and ``web/``)

A module imports only its own layer or lower; desks may use each other, but no two modules
import each other, directly or round a longer circle; nothing below the skins imports click
or a web framework.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.store_independent  # never opens a store: runs once, on SQLite


ROOT = Path(__file__).resolve().parent.parent
DESKS = ("window", "shelf", "lending", "search", "supervision")
SKIN_LIBRARIES = ("click", "fastapi", "starlette", "uvicorn")


def _module_files():
    """(dotted name, path) of every module of ours; migrations are Alembic's, not ours."""
    for path in sorted((ROOT / "archive").rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        if "migrations" in parts:
            continue
        if parts[-1] == "__init__":
            parts = parts[:-1]
        yield ".".join(parts), path
    for path in sorted((ROOT / "commands").glob("*.py")):
        yield "archive.commands" + ("" if path.stem == "__init__" else f".{path.stem}"), path
    web = ROOT / "web"
    if web.exists():
        for path in sorted(web.rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            yield "archive." + ".".join(p for p in parts if p != "__init__"), path
    yield "archive.cli", ROOT / "cli.py"


MODULES = dict(_module_files())


def _package(name: str, path: Path) -> str:
    return name if path.name == "__init__.py" else name.rpartition(".")[0]


def _resolve(name: str, path: Path, node) -> list[str]:
    """The modules of ours that an import statement names."""
    if isinstance(node, ast.Import):
        bases = [alias.name for alias in node.names]
        return [base for base in bases if base in MODULES or base.split(".")[0] in SKIN_LIBRARIES]
    if node.level:
        package = _package(name, path)
        for _ in range(node.level - 1):
            package = package.rpartition(".")[0]
        base = f"{package}.{node.module}" if node.module else package
    else:
        base = node.module or ""
        if base.split(".")[0] in SKIN_LIBRARIES:
            return [base]
        if base.startswith(("commands", "web")):
            base = "archive." + base
    found = []
    for alias in node.names:
        child = f"{base}.{alias.name}"
        if child in MODULES:
            found.append(child)
        elif base in MODULES:
            found.append(base)
    return found


def _imports() -> dict[str, set[str]]:
    graph = {}
    for name, path in MODULES.items():
        targets = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                targets.update(t for t in _resolve(name, path, node) if t != name)
        graph[name] = targets
    return graph


GRAPH = _imports()


def _layer(name: str) -> int:
    parts = name.split(".")
    if name in ("archive.cli",) or parts[1:2] in (["commands"], ["web"]):
        return 4
    if len(parts) >= 2 and parts[1] == "core":
        return 0
    if len(parts) >= 2 and parts[1] == "documents":
        return 1
    if len(parts) >= 2 and parts[1] in DESKS:
        return 2
    return 3


def test_the_walk_sees_every_package():
    names = set(MODULES)
    for package in ("archive.core.session", "archive.documents.office", "archive.window.cases",
                    "archive.shelf.volumes", "archive.lending.loans", "archive.search.index",
                    "archive.commands.window", "archive.cli"):
        assert package in names
    assert "archive.core.session" in GRAPH["archive.window.cases"]
    assert "archive.core.store" in GRAPH["archive.core.session"]


def test_no_module_imports_a_higher_layer():
    wrong = sorted(f"{source} → {target}" for source, targets in GRAPH.items() for target in targets
                   if target in MODULES and _layer(target) > _layer(source))
    assert wrong == []


def test_skin_libraries_stay_in_the_skins():
    wrong = sorted(f"{source} → {target}" for source, targets in GRAPH.items() for target in targets
                   if target.split(".")[0] in SKIN_LIBRARIES and _layer(source) < 4)
    assert wrong == []


def test_no_import_circles():
    """Tarjan's strongly connected components over every import, function-level ones included."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    circles = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in GRAPH.get(node, ()):
            if target not in MODULES:
                continue
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                circles.append(sorted(component))

    for name in sorted(MODULES):
        if name not in index:
            visit(name)
    assert circles == []


def test_importing_the_session_loads_no_desk():
    code = ("import sys, archive.core.session\n"
            "print('\\n'.join(m for m in sys.modules if m.startswith('archive.') "
            "and not m.startswith('archive.core')))")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert result.stdout.split() == []
