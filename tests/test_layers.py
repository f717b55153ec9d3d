"""tradd's layers hold (docs/architecture.md, "Layers") and no module imports itself back.

The layers are an import-linter contract in pyproject.toml (`[tool.importlinter]`), run
here as `make lint` runs it; import-linter has no contract against module cycles, so the
cycle check builds the import graph with grimp (import-linter's own graph library),
`if TYPE_CHECKING:` imports included: a cycle there is still one for mypy and readers.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import grimp
import pytest

from tests.conftest import ROOT

EXPECTED_CYCLE_EDGES: frozenset[tuple[str, str]] = frozenset()
"""Imports left out of the cycle check, each on its way out (the test fails once one no
longer exists, so the set only shrinks)."""


def lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    """`lint-imports` on the package under `root` with `root`'s pyproject.toml."""
    env = {**os.environ, "PYTHONPATH": str(root)}
    code = "import sys; from importlinter.cli import lint_imports_command as c; sys.exit(c())"
    return subprocess.run(
        [sys.executable, "-c", code, "--no-logo", "--no-cache"],
        cwd=root, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def test_the_layer_contracts_are_kept() -> None:
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def import_cycles(
    graph: grimp.ImportGraph, leave_out: frozenset[tuple[str, str]]
) -> list[list[str]]:
    """The strongly connected components of more than one tradd module (Tarjan's, without
    recursion: the graph has hundreds of modules)."""
    modules = sorted(m for m in graph.modules if m.split(".")[0] == "tradd")
    edges = {
        m: sorted(
            n for n in graph.find_modules_directly_imported_by(m)
            if n.split(".")[0] == "tradd" and (m, n) not in leave_out
        )
        for m in modules
    }  # fmt: skip
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for start in modules:
        if start in index:
            continue
        work = [(start, 0)]
        while work:
            node, i = work.pop()
            if i == 0:
                index[node] = low[node] = len(index)
                stack.append(node)
                on_stack.add(node)
            if i < len(edges[node]):
                work.append((node, i + 1))
                nxt = edges[node][i]
                if nxt not in index:
                    work.append((nxt, 0))
                elif nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
                continue
            if work:  # done with node: its parent learns its low link
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
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
    return sorted(found)


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    return grimp.build_graph("tradd", cache_dir=None)


def test_every_package_has_an_init_module() -> None:
    """grimp does not enter namespace packages: one without `__init__.py` would escape
    both the contracts and the cycle check."""
    bare = sorted(
        str(folder.relative_to(ROOT))
        for folder in (ROOT / "tradd").rglob("*")
        if folder.is_dir() and any(folder.glob("*.py")) and not (folder / "__init__.py").exists()
    )
    assert bare == []


def test_the_graph_is_of_this_checkout(graph: grimp.ImportGraph) -> None:
    import tradd

    assert Path(tradd.__file__).resolve().parent == ROOT / "tradd"
    assert "tradd.worker.engine" in graph.modules and "tradd.simgw.gateway" in graph.modules


def test_no_module_imports_itself_back(graph: grimp.ImportGraph) -> None:
    cycles = import_cycles(graph, EXPECTED_CYCLE_EDGES)
    assert cycles == [], "import cycles among tradd modules:\n" + "\n".join(
        " <-> ".join(c) for c in cycles
    )


def test_every_left_out_import_still_exists(graph: grimp.ImportGraph) -> None:
    """An import left out of the cycle check that is gone is taken off the list."""
    gone = [
        e
        for e in EXPECTED_CYCLE_EDGES
        if not graph.direct_import_exists(importer=e[0], imported=e[1])
    ]
    assert gone == [], f"no longer imported, remove from EXPECTED_CYCLE_EDGES: {gone}"


def test_the_cycle_check_finds_a_cycle() -> None:
    graph = grimp.ImportGraph()
    for module in ("tradd.a", "tradd.b", "tradd.c", "tradd.d"):
        graph.add_module(module)
    graph.add_import(importer="tradd.a", imported="tradd.b")
    graph.add_import(importer="tradd.b", imported="tradd.c")
    graph.add_import(importer="tradd.c", imported="tradd.a")
    graph.add_import(importer="tradd.d", imported="tradd.a")
    assert import_cycles(graph, frozenset()) == [["tradd.a", "tradd.b", "tradd.c"]]
    assert import_cycles(graph, frozenset({("tradd.c", "tradd.a")})) == []


def stub_tradd(root: Path) -> Path:
    """A copy of tradd's shape under `root`: every top-level module and package of the real
    one, empty, with this checkout's pyproject.toml (and so the same contracts)."""
    shutil.copy(ROOT / "pyproject.toml", root / "pyproject.toml")
    package = root / "tradd"
    package.mkdir()
    (package / "__init__.py").write_text("")
    for child in (ROOT / "tradd").iterdir():
        if child.suffix == ".py":
            (package / child.name).write_text("")
        elif child.is_dir() and child.name != "__pycache__":
            (package / child.name).mkdir()
            (package / child.name / "__init__.py").write_text("")
    return package


def test_the_stub_alone_keeps_the_contracts(tmp_path: Path) -> None:
    stub_tradd(tmp_path)
    result = lint_imports(tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("importer", "imported"),
    [
        ("marketdata/__init__.py", "tradd.worker"),  # upwards
        ("research/__init__.py", "tradd.control"),  # upwards (scan --execute once did)
        ("worker/__init__.py", "tradd.research"),  # a sibling in its row
        ("records/__init__.py", "tradd.config"),  # records import nothing of tradd
        ("records/__init__.py", "tradd.stdio"),  # ... not even the bottom row
    ],
)
def test_a_forbidden_import_breaks_a_contract(tmp_path: Path, importer: str, imported: str) -> None:
    package = stub_tradd(tmp_path)
    (package / importer).write_text(f"import {imported}\n")
    result = lint_imports(tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"is not allowed to import {imported}" in result.stdout


def test_a_package_left_out_of_the_layers_breaks_the_contract(tmp_path: Path) -> None:
    """The layers name every module of tradd: a new package has to take its place."""
    package = stub_tradd(tmp_path)
    (package / "webconsole").mkdir()
    (package / "webconsole" / "__init__.py").write_text("")
    result = lint_imports(tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "tradd.webconsole" in result.stdout
