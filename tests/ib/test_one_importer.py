"""Exactly one module talks to the IB client library: tradd/ib/client.py."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import ROOT

LIBRARIES = {"ib_async", "ib_insync", "ibapi"}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module.split(".")[0])
        elif isinstance(node, ast.Call):  # importlib.import_module("ib_async") and the like
            names |= {a.value for a in node.args if isinstance(a, ast.Constant)
                      and a.value in LIBRARIES}  # fmt: skip
    return names & LIBRARIES


def test_only_the_client_module_imports_the_ib_library() -> None:
    """client.py loads the library by name from its LIBRARIES tuple; nobody else may."""
    importers = sorted(
        str(path.relative_to(ROOT)) for path in (ROOT / "tradd").rglob("*.py") if _imports(path)
    )
    assert importers == []
    assert 'LIBRARIES = ("ib_async", "ib_insync")' in (ROOT / "tradd/ib/client.py").read_text()
