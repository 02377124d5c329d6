"""No import cycle anywhere in the packages ``femsim`` and ``postprocess`` (issue #16).

The import graph is read from the source with :mod:`ast` (nothing is imported). Every ``import``
and ``from … import`` counts, at module level and inside functions alike: an import inside a
function runs when the function does, so a cycle through it is still two modules that need each
other (only imports under ``if TYPE_CHECKING:`` are left out: they never run). An import of
``a.b.c`` is an edge to ``a.b.c`` and to the packages ``a`` and ``a.b`` whose ``__init__`` it
runs (except the importer's own packages, initialised before it runs); ``from a.b import c`` is an
edge to the module ``a.b.c`` when there is one, else to ``a.b`` (a name its ``__init__`` defines:
an edge even from inside the package).
"""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("femsim", "postprocess")


def module_files() -> dict[str, Path]:
    """Dotted module name → source file, for every module of :data:`PACKAGES`."""
    out = {}
    for package in PACKAGES:
        for path in sorted((REPO / package).rglob("*.py")):
            parts = list(path.relative_to(REPO).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            out[".".join(parts)] = path
    return out


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports(tree: ast.AST) -> list[tuple[ast.Import | ast.ImportFrom, int]]:
    """Every import node with its line, skipping the bodies of ``if TYPE_CHECKING:``."""
    found: list[tuple[ast.Import | ast.ImportFrom, int]] = []
    stack = [tree]
    while stack:
        node = stack.pop()
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child):
                stack.extend(child.orelse)
                continue
            if isinstance(child, ast.Import | ast.ImportFrom):
                found.append((child, child.lineno))
            stack.append(child)
    return found


def _edge_adder(name: str, files: dict[str, Path], edges: dict[str, int]):
    """``add(target, line)``: the edges of an import of ``target`` by module ``name``."""

    def add(target: str, line: int) -> None:
        parts = target.split(".")
        for k in range(1, len(parts) + 1):
            prefix = ".".join(parts[:k])
            if prefix != target and name.startswith(prefix + "."):
                continue  # a package of the importer itself: initialised before the importer runs
            if prefix in files and prefix != name:
                edges.setdefault(prefix, line)

    return add


def import_graph() -> dict[str, dict[str, int]]:
    """module → {imported module of the packages: line of the first such import}."""
    files = module_files()
    graph: dict[str, dict[str, int]] = {}
    for name, path in files.items():
        is_package = path.name == "__init__.py"
        edges: dict[str, int] = {}
        add = _edge_adder(name, files, edges)
        for node, line in _imports(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    add(alias.name, line)
                continue
            base = node.module or ""
            if node.level:
                anchor = name.split(".") if is_package else name.split(".")[:-1]
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            for alias in node.names:
                full = f"{base}.{alias.name}" if base else alias.name
                add(full if full in files else base, line)
        graph[name] = edges
    return graph


def cycles(graph: dict[str, dict[str, int]]) -> list[list[str]]:
    """One cycle (a list of modules, first = last) per strongly connected component of more than
    one module (Tarjan), shortest path back to its first module."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    components: list[list[str]] = []

    def connect(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, {}):
            if w not in index:
                connect(w)
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
                components.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            connect(v)
    out = []
    for component in components:
        start, members = component[0], set(component)
        paths = {start: [start]}
        queue = [start]
        while queue:  # breadth first: the shortest way around
            v = queue.pop(0)
            for w in sorted(graph[v]):
                if w == start:
                    out.append(paths[v] + [start])
                    queue = []
                    break
                if w in members and w not in paths:
                    paths[w] = paths[v] + [w]
                    queue.append(w)
    return out


def describe(cycle: list[str], graph: dict[str, dict[str, int]]) -> str:
    return " -> ".join(f"{a} (line {graph[a][b]})" for a, b in zip(cycle, cycle[1:])) + f" -> {cycle[-1]}"


def test_the_graph_sees_imports():
    """The walker finds module-level, function-level and relative imports (not TYPE_CHECKING ones)."""
    graph = import_graph()
    assert "femsim.io.snapshots" in graph["femsim.simulation"]  # inside Simulation.setup
    assert "femsim.errors" in graph["femsim.io.snapshots"]
    assert "postprocess.reader" in graph["postprocess.figures_cycling"]
    assert len(graph) > 100
    tree = ast.parse("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import femsim.simulation\n"
                     "def f():\n    import femsim.errors\n")
    assert [getattr(n, "module", None) or n.names[0].name for n, _ in _imports(tree)] == ["typing", "femsim.errors"]
    assert cycles({"a": {"b": 1}, "b": {"c": 2}, "c": {"a": 3, "d": 4}, "d": {}}) == [["a", "b", "c", "a"]]


def test_no_import_cycle():
    graph = import_graph()
    found = cycles(graph)
    assert not found, "import cycle(s):\n" + "\n".join(describe(c, graph) for c in found)
