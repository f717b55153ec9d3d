"""What makes two backtests "the same": a SHA-256 over a canonical JSON of their inputs.

The caller (a scan, later compare) builds the document of everything its backtest's
numbers depend on; this module supplies the parts that are expensive or subtle to get
right, and the hashing:

- `Fingerprints.engine()`: the code that turns inputs into numbers. tradd's version
  string alone would not do (it does not change while tradd is being developed), so it
  is a SHA-256 over every `.py` file of the installed `tradd` package, with tradd's,
  Python's, Backtrader's, NumPy's and pandas' versions. Any change to tradd invalidates
  every entry: conservative, and an upgrade is rare next to the scans between upgrades.
- `Fingerprints.strategy(cls)`: the source of every module the strategy class is built
  from (its own and each base class's, Backtrader's and tradd's aside: the engine covers
  those), read as bytes from disk; for a module in a package, every `.py` file of the
  top-level package (`strategies/`), so a helper module it imports counts too. A strategy
  without a source file (defined in `__main__`, or built at run time) cannot be keyed:
  `Uncacheable`.
- `Fingerprints.file(path)`: a data file's content hash (the bytes, not the name or the
  time stamp). Hashed once per (path, size, mtime_ns) for the life of the object, so a
  scan of 20 symbols x 3 strategies reads each file once, and a console that keeps one
  `Fingerprints` re-reads a file only after it changed.

The document is encoded with sorted keys, no spaces and no NaN; a value with no
deterministic JSON form (an arbitrary object as a parameter) makes it `Uncacheable`
rather than keyed by a `repr` that might hold a memory address. Uncacheable backtests
simply run every time.

A data file rewritten while a scan runs may be read by the backtest after it was hashed;
the result would be stored under the old content's key. Imports rewrite files
atomically and the window is one scan, so this is accepted and documented.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import inspect
import json
import platform
import sys
from dataclasses import asdict, is_dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import backtrader as bt

import tradd

KEY_VERSION = 1
"""Bumped when the shape of the key documents changes."""
ENGINE_PACKAGES = ("backtrader", "numpy", "pandas")
FOREIGN_MODULES = ("backtrader", "tradd", "builtins")
"""Modules whose source the engine fingerprint covers (or that have none)."""
CHUNK = 1 << 20


class Uncacheable(Exception):
    """This backtest's inputs have no stable key: run it, do not look it up or store it."""


def canonical_json(document: Any) -> bytes:
    """`document` as bytes that are equal exactly when the documents are equal."""
    try:
        text = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=True,
                          allow_nan=False, default=_plain)  # fmt: skip
    except (TypeError, ValueError) as exc:
        raise Uncacheable(str(exc)) from None
    return text.encode("ascii")


def cache_key(document: Any) -> str:
    """The hex SHA-256 of the document's canonical JSON (`Uncacheable` if it has none)."""
    return hashlib.sha256(canonical_json(document)).hexdigest()


def _plain(value: Any) -> Any:
    """The JSON form of the few non-JSON types inputs hold; anything else is refused."""
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, (set, frozenset)):
        return sorted(_plain(v) if not isinstance(v, (str, int, float)) else v for v in value)
    if isinstance(value, tuple):
        return list(value)
    if is_dataclass(value) and not isinstance(value, type):
        return asdict(value)
    raise TypeError(f"{type(value).__name__} {value!r} has no stable JSON form")


class Fingerprints:
    """Hashes of the engine, strategy sources and data files, each computed once.

    Holds plain memos (no locks): one object per scan, or per console process used from
    one thread at a time."""

    def __init__(self) -> None:
        self._engine: dict[str, str] | None = None
        self._files: dict[tuple[str, int, int], str] = {}
        self._strategies: dict[type[bt.Strategy], dict[str, str]] = {}

    def engine(self) -> dict[str, str]:
        if self._engine is None:
            root = Path(tradd.__file__).resolve().parent
            digest = hashlib.sha256()
            for path in sorted(root.rglob("*.py")):
                digest.update(path.relative_to(root).as_posix().encode() + b"\0")
                digest.update(path.read_bytes() + b"\0")
            versions = {name: _version(name) for name in ENGINE_PACKAGES}
            self._engine = {"tradd": tradd.__version__, "source": digest.hexdigest(),
                            "python": platform.python_version(), **versions}  # fmt: skip
        return self._engine

    def file(self, path: Path) -> str | None:
        """The SHA-256 of the file's bytes; None when there is no such file."""
        try:
            stat = path.stat()
        except OSError:
            return None
        memo = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
        if memo not in self._files:
            digest = hashlib.sha256()
            try:
                with path.open("rb") as handle:
                    while chunk := handle.read(CHUNK):
                        digest.update(chunk)
            except OSError:
                return None
            self._files[memo] = digest.hexdigest()
        return self._files[memo]

    def strategy(self, cls: type[bt.Strategy]) -> dict[str, str]:
        """Source file -> its SHA-256, for the modules the class is built from outside
        Backtrader and tradd: for a module in a package, every `.py` file of its top-level
        package (a helper module it imports is covered too); for a lone module, its file.
        `Uncacheable` when one has no source file. Once per class for the life of the
        object (a scan's: a module changed during a scan is not re-imported by it either)."""
        if cls in self._strategies:
            return self._strategies[cls]
        found: dict[str, str] = {}
        for klass in cls.__mro__:
            if klass.__module__.partition(".")[0] in FOREIGN_MODULES:
                continue
            for label, path in _source_files(klass.__module__, cls.__name__):
                digest = self.file(path)
                if digest is None:
                    raise Uncacheable(f"cannot read {path} (a source of {cls.__name__})")
                found[label] = digest
        self._strategies[cls] = found
        return found


def _source_files(name: str, owner: str) -> list[tuple[str, Path]]:
    """(label, path) of each source file that module `name` stands for (see `strategy`)."""
    package = name.partition(".")[0]
    top = sys.modules.get(package)
    roots = [Path(p) for p in getattr(top, "__path__", [])] if "." in name else []
    if roots:
        return [(f"{package}/{path.relative_to(root).as_posix()}", path)
                for root in roots for path in sorted(root.rglob("*.py"))]  # fmt: skip
    module = sys.modules.get(name)
    try:
        source = inspect.getsourcefile(module) if module is not None else None
    except TypeError:
        source = None
    if source is None:
        raise Uncacheable(f"the source of module {name} (of {owner}) is not a file")
    return [(name, Path(source))]


def _version(distribution: str) -> str:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return "absent"
