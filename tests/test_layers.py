"""The package's imports run one way: settings and records at the bottom, then the cleaners and
dedup, then the reader and the run's services, then the stages, the run, and the flows on top.
An import upward or across (cleaners ↔ dedup), or any cycle of modules, fails here."""

from __future__ import annotations

import ast
import os
from pathlib import Path

import pytest

import newsclean

# Layers, bottom first: a module may import modules of its own layer or lower ones only. A
# module belongs to the longest prefix that names it.
LAYERS: tuple[tuple[str, ...], ...] = (
    (
        "newsclean.settings",
        "newsclean.records",
        "newsclean.output",
        "newsclean.listing",
        "newsclean.cleaners.types",
        "newsclean.dedup.types",
    ),
    ("newsclean.cleaners", "newsclean.dedup"),
    (
        "newsclean.decode",
        "newsclean.walk",
        "newsclean.objectstore",
        "newsclean.sources",
        "newsclean.corpus",
        "newsclean.state",
        "newsclean.lock",
        "newsclean.report",
        "newsclean.fingerprint",
    ),
    # The dask engine's distributed stages stand beside the local ones they partition.
    ("newsclean.stages", "newsclean.why", "newsclean.distributed"),
    ("newsclean.run",),
    ("newsclean.flows",),
)
# Siblings that must not know each other: text cleaning and grouping are separate libraries.
APART = (("newsclean.cleaners", "newsclean.dedup"),)


def package_modules(root: Path) -> dict[str, Path]:
    """Every module of the installed package by dotted name (symlinked subpackages followed)."""
    modules: dict[str, Path] = {}
    for folder, _dirs, files in os.walk(root, followlinks=True):
        for name in files:
            if name.endswith(".py"):
                rel = (Path(folder) / name).relative_to(root).with_suffix("")
                parts = ["newsclean", *rel.parts]
                if parts[-1] == "__init__":
                    parts.pop()
                modules[".".join(parts)] = Path(folder) / name
    return modules


def imports_of(path: Path, modules: set[str]) -> set[str]:
    """The package's modules that a module imports (at any depth in the file)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [
                f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in modules else node.module
                for a in node.names
            ]
        else:
            continue
        found.update(name for name in names if name in modules)
    return found


def layer_of(module: str) -> int:
    best, layer = -1, -1
    for i, prefixes in enumerate(LAYERS):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > best:
                best, layer = len(prefix), i
    return layer


def violations(graph: dict[str, set[str]]) -> list[str]:
    """Upward or cross imports, and cycles, of an import graph (module -> modules it imports)."""
    found: list[str] = []
    for module, targets in sorted(graph.items()):
        for target in sorted(targets):
            if module == "newsclean" or target == "newsclean":
                continue
            if layer_of(target) > layer_of(module):
                found.append(f"upward: {module} imports {target}")
            for a, b in APART:
                for x, y in ((a, b), (b, a)):
                    if module.startswith(x) and target.startswith(y):
                        found.append(f"across: {module} imports {target}")
    state: dict[str, int] = {}  # 1 on the path, 2 done

    def visit(module: str, path: list[str]) -> None:
        state[module] = 1
        for target in sorted(graph.get(module, ())):
            if state.get(target) == 1:
                found.append("cycle: " + " -> ".join([*path[path.index(target) :], target]))
            elif target not in state:
                visit(target, [*path, target])
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    return found


def test_every_module_has_a_layer() -> None:
    modules = package_modules(Path(newsclean.__file__).parent)
    assert "newsclean.cleaners.lines" in modules and "newsclean.flows.cli" in modules
    assert [m for m in modules if m != "newsclean" and layer_of(m) < 0] == []


def test_imports_run_one_way_without_cycles() -> None:
    modules = package_modules(Path(newsclean.__file__).parent)
    graph = {name: imports_of(path, set(modules)) - {name} for name, path in modules.items()}
    assert graph["newsclean.stages.clean"] >= {"newsclean.cleaners", "newsclean.dedup.signing"}
    assert violations(graph) == []


@pytest.mark.parametrize(
    ("graph", "expected"),
    [
        (
            {"newsclean.cleaners.lines": {"newsclean.run"}},
            "upward: newsclean.cleaners.lines imports newsclean.run",
        ),
        ({"newsclean.dedup.lsh": {"newsclean.cleaners.blocks"}}, "across: newsclean.dedup.lsh imports"),
        (
            {
                "newsclean.stages.plan": {"newsclean.stages.clean"},
                "newsclean.stages.clean": {"newsclean.stages.plan"},
            },
            "cycle:",
        ),
    ],
)
def test_the_check_finds_each_kind_of_violation(graph: dict[str, set[str]], expected: str) -> None:
    assert any(v.startswith(expected) for v in violations(graph))
