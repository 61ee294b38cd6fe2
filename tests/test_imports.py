"""The package's import graph: no cycle among module-level imports, and an import inside a
function only where importing at the top would close a cycle.

Importing ``volunteer.a.b`` runs ``volunteer/__init__.py`` and ``volunteer/a/__init__.py``
first, so those count as edges too; imports under ``if TYPE_CHECKING`` do not.
"""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

PKG = Path(__file__).resolve().parents[1] / "volunteer"


def _name(path: Path) -> str:
    parts = list(path.relative_to(PKG.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_name(p): p for p in PKG.rglob("*.py") if "migrations" not in p.parts}


def _targets(node, module: str, is_pkg: bool) -> list[str]:
    names = []
    if isinstance(node, ast.Import):
        names = [a.name for a in node.names]
    else:
        base = node.module or ""
        if node.level:
            pkg = module.split(".") if is_pkg else module.split(".")[:-1]
            pkg = pkg[:len(pkg) - (node.level - 1)]
            base = ".".join(pkg + ([base] if base else []))
        names = [f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base
                 for a in node.names]
    out = []
    for name in names:
        parts = name.split(".")
        out += [m for m in (".".join(parts[:i]) for i in range(1, len(parts) + 1))
                if m in MODULES]
    return out


def graph() -> tuple[dict[str, set[str]], list[tuple[str, int, list[str]]]]:
    """Module-level edges, and the imports made inside functions (module, line, targets)."""
    top: dict[str, set[str]] = {}
    inner: list[tuple[str, int, list[str]]] = []
    for module, path in MODULES.items():
        is_pkg = path.name == "__init__.py"
        top[module] = set()

        def visit(node, in_function: bool, module=module, is_pkg=is_pkg) -> None:
            for child in ast.iter_child_nodes(node):
                if isinstance(child, (ast.Import, ast.ImportFrom)):
                    targets = [t for t in _targets(child, module, is_pkg) if t != module]
                    if in_function:
                        if targets:
                            inner.append((module, child.lineno, targets))
                    else:
                        top[module].update(targets)
                elif isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                    continue
                else:
                    visit(child, in_function or isinstance(
                        child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)))

        visit(ast.parse(path.read_text(encoding="utf-8")), False)
    return top, inner


def _reaches(graph: dict[str, set[str]], start: str, goal: str) -> bool:
    seen, todo = set(), [start]
    while todo:
        node = todo.pop()
        if node == goal:
            return True
        if node not in seen:
            seen.add(node)
            todo.extend(graph.get(node, ()))
    return False


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = [0]

    def strong(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            strong(v)
    return found


def test_no_import_cycle():
    top, _inner = graph()
    assert cycles(top) == []


def test_imports_inside_functions_only_where_the_top_would_close_a_cycle():
    top, inner = graph()
    needless = [f"{m}:{line} imports {targets[-1]}" for m, line, targets in inner
                if not any(_reaches(top, t, m) for t in targets)]
    assert needless == []


def test_services_import_without_any_routes():
    """A feature package defines only its ``bp``; ``create_app`` imports the routes."""
    code = ("import sys, volunteer.issues.services, volunteer.invitations.services, "
            "volunteer.hours.services, volunteer.services.sessions\n"
            "print([m for m in sys.modules if m.startswith('volunteer.') and "
            "(m.startswith('volunteer.api') or 'routes' in m.rsplit('.', 1)[-1])])")
    out = subprocess.run([sys.executable, "-c", code], cwd=PKG.parent, capture_output=True,
                         text=True, check=True).stdout
    assert out.strip() == "[]"
