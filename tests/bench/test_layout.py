"""How the benchmarks are run, so `make bench-NAME` cannot break the way bench-optimize did.

`python bench/x.py` puts bench/ first on sys.path, where bench/strategies.py once hid the
`strategies` package and the bench died on its first import. Two rules close that for good:
every Makefile bench target runs its bench as a module (`python -m bench.NAME`, the way its
tiny test in tests/bench runs it), and no module in bench/ has the name of anything Python
could import at top level (the project's packages, the installed ones, the standard
library), so even a bench run as a script cannot be fooled. And every bench is in
`make bench` and `make bench-tiny`, with a `--tiny` that a test here runs.
"""

from __future__ import annotations

import re
import sys
from importlib.machinery import PathFinder
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BENCH = ROOT / "bench"
MAKEFILE = (ROOT / "Makefile").read_text()
TARGET = re.compile(r"^bench-(?P<name>[\w-]+):.*\n\t(?P<recipe>.+)$", re.M)


def _bench_modules() -> list[str]:
    return sorted(p.name for p in BENCH.glob("*_bench.py"))


def _shadowed(name: str) -> str | None:
    """Where `import name` would land if bench/ were not on the path, or None."""
    if name in sys.stdlib_module_names or name in sys.builtin_module_names:
        return "the standard library"
    path = [str(ROOT), *(p for p in sys.path if p and Path(p).resolve() != BENCH)]
    spec = PathFinder.find_spec(name, path)
    return None if spec is None else str(spec.origin or spec.submodule_search_locations)


def test_no_module_in_bench_shadows_an_importable_one() -> None:
    names = [p.stem for p in BENCH.glob("*.py") if p.stem != "__init__"]
    names += [p.name for p in BENCH.iterdir() if (p / "__init__.py").is_file()]
    assert "optimize_bench" in names
    shadowing = {name: where for name in names if (where := _shadowed(name))}
    assert not shadowing, f"bench/ modules named like importable ones: {shadowing}"


def test_the_check_catches_the_module_that_broke_bench_optimize() -> None:
    assert _shadowed("strategies") == str(ROOT / "strategies" / "__init__.py")
    assert _shadowed("json") == "the standard library"


def test_every_bench_target_runs_its_bench_as_a_module() -> None:
    targets = {m["name"]: m["recipe"] for m in TARGET.finditer(MAKEFILE)}
    benches = {name: recipe for name, recipe in targets.items() if name != "tiny"}
    assert {f"{name}_bench.py" for name in benches} == set(_bench_modules())
    for name, recipe in benches.items():
        assert recipe.startswith(f"$(BIN)/python -m bench.{name}_bench"), (name, recipe)
    assert not re.search(r"python3? +bench/", MAKEFILE)


def test_make_bench_and_bench_tiny_run_every_bench() -> None:
    (listed,) = re.findall(r"^BENCHES := (.+)$", MAKEFILE, re.M)
    assert sorted(f"{name}_bench.py" for name in listed.split()) == _bench_modules()
    assert re.search(r"^bench: \$\(BENCH_TARGETS\)$", MAKEFILE, re.M)
    assert "$(BIN)/python -m bench.$${name}_bench --tiny" in targets_recipe("bench-tiny")


def test_every_bench_has_a_tiny_mode_that_a_test_runs() -> None:
    tests = "".join(p.read_text() for p in (ROOT / "tests" / "bench").glob("test_*.py"))
    for module in _bench_modules():
        assert '"--tiny"' in (BENCH / module).read_text(), module
        assert f'"bench.{module.removesuffix(".py")}"' in tests, f"no tiny test runs {module}"


def targets_recipe(target: str) -> str:
    """The recipe of `target` (its indented lines, continuation lines included)."""
    (block,) = re.findall(rf"^{re.escape(target)}:.*\n((?:\t.*\n)+)", MAKEFILE, re.M)
    return block
