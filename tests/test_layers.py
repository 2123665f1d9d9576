"""The layer contract (docs/architecture.md), checked on every import in the source, lazy ones
inside functions included:

    wit.app                                   may import everything below
    wit.pipeline | wit.trainer                stages: libs and core, not each other
    wit.queries | wit.filters | wit.shards    libs: core only, not each other
    wit.core (and the bare `wit` package)     imports no other part of wit

plus: no import cycle between any two modules, and no import of the old bare top-level names
(`pipeline`, `filters` ...), which would load a second copy of a module from a source checkout.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
# Install mapping (pyproject.toml's package-dir): import package -> folder.
PACKAGE_DIRS = {
    "wit": "wit",
    "wit.pipeline": "pipeline",
    "wit.queries": "queries",
    "wit.filters": "filters",
    "wit.shards": "shards",
    "wit.trainer": "trainer",
}
# Top to bottom; a layer may import its own package and any layer below. Packages in one layer
# are independent of each other.
LAYERS = (
    ("wit.app",),
    ("wit.pipeline", "wit.trainer"),
    ("wit.queries", "wit.filters", "wit.shards"),
    ("wit.core", "wit"),
)
OLD_TOP_LEVEL = {"pipeline", "queries", "filters", "shards", "trainer"}


def source_modules() -> dict[str, Path]:
    modules = {}
    for package, folder in PACKAGE_DIRS.items():
        for path in (REPO / folder).rglob("*.py"):
            parts = list(path.relative_to(REPO / folder).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            modules[".".join([package, *parts])] = path
    return modules


MODULES = source_modules()


def imported_names(module: str, path: Path) -> list[tuple[str, int]]:
    """Every module name an import statement in the file names (with its line)."""
    is_package = path.name == "__init__.py"
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                package = module.split(".")
                package = package[: len(package) - node.level + (1 if is_package else 0)]
                base = ".".join(package + ([base] if base else []))
            found.append((base, node.lineno))
            found += [(f"{base}.{alias.name}", node.lineno) for alias in node.names]
    return found


def resolve(name: str) -> str | None:
    """The project module an imported name refers to (the longest known prefix)."""
    parts = name.split(".")
    for end in range(len(parts), 0, -1):
        candidate = ".".join(parts[:end])
        if candidate in MODULES:
            return candidate
    return None


# `python -m wit` is the application's entry point, though it lives in the top package.
PART_OF = {"wit.__main__": "wit.app"}


def layer_of(module: str) -> tuple[int, str]:
    module = PART_OF.get(module, module)
    best = None
    for rank, packages in enumerate(LAYERS):
        for package in packages:
            if (module == package or module.startswith(package + ".")) and (best is None or len(package) > len(best[1])):
                best = (rank, package)
    assert best is not None, module
    return best


def import_graph() -> dict[str, dict[str, int]]:
    graph: dict[str, dict[str, int]] = {}
    for module, path in MODULES.items():
        edges = graph.setdefault(module, {})
        for name, line in imported_names(module, path):
            target = resolve(name)
            # importing a package's __init__ that only holds a docstring (or the version) is not a dependency
            if target and target != module and not (MODULES[target].name == "__init__.py" and target in ("wit", *PACKAGE_DIRS)):
                edges.setdefault(target, line)
    return graph


def test_the_contract_sees_every_layer():
    packages = {layer_of(m)[1] for m in MODULES}
    assert packages == {p for layer in LAYERS for p in layer}, "a layer with no modules means the mapping is stale"
    assert len(MODULES) > 60


def test_imports_only_go_down_the_layers():
    broken = []
    for module, edges in import_graph().items():
        rank, package = layer_of(module)
        for target, line in edges.items():
            target_rank, target_package = layer_of(target)
            if target_rank < rank or (target_rank == rank and target_package != package):
                broken.append(f"{MODULES[module].relative_to(REPO)}:{line}: {module} ({package}) imports {target} ({target_package})")
    assert not broken, "imports against the layer contract:\n" + "\n".join(broken)


def strongly_connected(graph: dict[str, dict[str, int]]) -> list[list[str]]:
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph.get(node, {}):
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
                found.append(sorted(component))

    for node in graph:
        if node not in index:
            visit(node)
    return found


def test_no_import_cycles_between_modules():
    assert strongly_connected({"a": {"b": 1}, "b": {"a": 1}, "c": {"a": 1}}) == [["a", "b"]], "the check finds a cycle"
    cycles = strongly_connected(import_graph())
    assert not cycles, "import cycles: " + "; ".join(" <-> ".join(c) for c in cycles)


@pytest.mark.parametrize("folder", ["wit", *sorted(set(PACKAGE_DIRS.values()) - {"wit"}), "tests", "benchmarks"])
def test_nothing_imports_the_old_bare_package_names(folder):
    bare = []
    for path in (REPO / folder).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
                names = [node.module]
            bare += [f"{path.relative_to(REPO)}:{node.lineno}: {n}" for n in names if n.split(".")[0] in OLD_TOP_LEVEL]
    assert not bare, "import wit.<package> instead:\n" + "\n".join(bare)


def test_only_the_wit_namespace_is_installed(tmp_path):
    # From outside the checkout (so the folders are not on sys.path), as a user's project sees it.
    import subprocess
    import sys

    def imports(name: str) -> bool:
        return subprocess.run([sys.executable, "-c", f"import {name}"], cwd=tmp_path, capture_output=True).returncode == 0

    assert imports("wit.pipeline.build") and imports("wit.trainer.config") and imports("wit.core.layout")
    assert not any(imports(name) for name in sorted(OLD_TOP_LEVEL)), "a bare top-level package is installed"
