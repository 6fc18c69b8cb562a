"""How the code is laid out, held by tests: the store alone writes SQL against its tables, typed records
cross the store's boundary, and the package's modules import each other without a loop."""
from __future__ import annotations

import ast
import inspect
import re
from pathlib import Path

from harvester.store import Store
from harvester.store.schema import TABLES

PACKAGE = Path(__file__).resolve().parents[1] / "harvester"
SQL_ON_TABLE = re.compile(r"\b(?:FROM|JOIN|INTO|UPDATE|TABLE)\s+(" + "|".join(TABLES) + r")\b")


def _modules() -> dict[str, Path]:
    return {".".join(p.relative_to(PACKAGE.parent).with_suffix("").parts).removesuffix(".__init__"): p
            for p in PACKAGE.rglob("*.py")}


def test_only_the_store_writes_sql_against_its_tables():
    offenders = []
    for name, path in _modules().items():
        if name.startswith("harvester.store"):
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            found = SQL_ON_TABLE.search(line)
            if found:
                offenders.append(f"{name}:{number}: {found.group(0)}")
    assert offenders == []


def _imports(path: Path, modules: set[str]) -> set[str]:
    """The harvester modules a module imports, at load time or inside a function (not for typing only)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    typing_only = {id(n) for node in ast.walk(tree) if isinstance(node, ast.If)
                   and "TYPE_CHECKING" in ast.unparse(node.test) for n in ast.walk(node)}
    found: set[str] = set()
    for child in ast.walk(tree):
        if id(child) in typing_only:
            continue
        if isinstance(child, ast.Import):
            found |= {a.name for a in child.names if a.name in modules}
        elif isinstance(child, ast.ImportFrom) and child.module and child.level == 0:
            found |= {child.module} & modules
            found |= {f"{child.module}.{a.name}" for a in child.names} & modules
    return found


def test_no_import_loop():
    modules = _modules()
    graph = {name: _imports(path, set(modules)) - {name} for name, path in modules.items()}
    # a package's __init__ importing its own submodules is how a package is put together, not a loop
    for name in graph:
        graph[name] = {m for m in graph[name] if not m.startswith(name + ".")}
    loops = []
    state: dict[str, int] = {}

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                loops.append(" -> ".join(trail[trail.index(nxt):] + [nxt]))
            elif nxt not in state:
                visit(nxt, trail + [nxt])
        state[node] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    assert loops == []


def test_the_store_takes_and_returns_typed_records():
    untyped = []
    for name, member in inspect.getmembers(Store, inspect.isfunction):
        if name.startswith("_") or name == "query":
            continue
        signature = str(inspect.signature(member))
        if "dict[str, Any]" in signature:
            untyped.append(f"Store.{name}{signature}")
    assert untyped == []
