"""Workers read a frozen copy of the configuration the supervisor validated.

An edited tradd.toml takes effect only on `tradctl reload` (or SIGHUP): a worker that
crashes and is restarted before that runs with the configuration the supervisor checked,
not with a half-edited file. Each load writes a new copy; the workers it applies to get
its path. Relative paths in the file are relative to the working directory, so the copy
means the same as the original.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path


class ConfigSnapshots:
    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def write(self, source: Path) -> Path:
        text = source.read_bytes()
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o750)
        path = self.directory / f"tradd-{hashlib.sha256(text).hexdigest()[:16]}.toml"
        if not path.exists():
            temporary = path.with_suffix(".tmp")
            temporary.write_bytes(text)
            os.chmod(temporary, 0o640)
            temporary.replace(path)
        return path

    def clear(self) -> None:
        for path in self.directory.glob("tradd-*.toml"):
            path.unlink(missing_ok=True)
