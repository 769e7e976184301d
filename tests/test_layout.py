"""The package's shape: no module imports one that imports it back, directly or through others.

Every import counts, at module level or inside a function, so the pipeline reads one way:
files → kernel → sinks → run → masu and the command line.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "python" / "ocpagg"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    """Python modules, and the compiled kernel by its stub."""
    return {_module_name(p): p for p in (*PACKAGE.rglob("*.py"), *PACKAGE.rglob("*.pyi"))}


def _resolve(current: str, is_package: bool, level: int, name: str | None) -> str:
    base = current.split(".") if is_package else current.split(".")[:-1]
    if level > 1:
        base = base[: len(base) - (level - 1)]
    return ".".join([*base, name] if name else base)


def import_graph() -> dict[str, set[str]]:
    """Edges module → ocpagg module it imports (an imported name that is a submodule counts as one)."""
    modules = _modules()
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        if path.suffix == ".pyi":
            continue
        is_package = path.name == "__init__.py"
        for node in ast.walk(ast.parse(path.read_text())):
            targets: list[str] = []
            if isinstance(node, ast.ImportFrom):
                origin = (
                    _resolve(name, is_package, node.level, node.module) if node.level else node.module or ""
                )
                for alias in node.names:
                    sub = f"{origin}.{alias.name}"
                    targets.append(sub if sub in modules else origin)
            elif isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            graph[name].update(t for t in targets if t in modules and t != name)
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle, or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt) :] + [nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def test_the_graph_is_read_from_the_sources() -> None:
    graph = import_graph()
    assert "ocpagg.sinks.base" in graph["ocpagg.sinks.postgres"]
    assert "ocpagg.summarize" in graph["ocpagg.run"]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]


def test_no_import_cycles() -> None:
    assert find_cycle(import_graph()) is None


def test_lower_layers_do_not_import_higher_ones() -> None:
    graph = import_graph()
    higher = {"ocpagg.run", "ocpagg.masu", "ocpagg.cli", "ocpagg.demo", "ocpagg"}
    for name, targets in graph.items():
        if name.startswith(("ocpagg.sinks", "ocpagg.reader", "ocpagg.summarize", "ocpagg.params")):
            assert not targets & higher, (name, targets & higher)
