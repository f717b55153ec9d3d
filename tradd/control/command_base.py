"""`Command`: the base of every control command (validate, then execute on the daemon).

Apart from `commands` so that command modules of their own (`proposal_commands`,
`schedule_commands`) build on it and `commands` registers them in `COMMANDS` without an
import cycle.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from tradd.control.protocol import ErrorCode, ProtocolError

if TYPE_CHECKING:
    from tradd.supervisor.daemon import Supervisor


class Command:
    name: ClassVar[str]
    mutating: ClassVar[bool] = True
    arguments: ClassVar[frozenset[str]] = frozenset()

    def validate(self, args: Mapping[str, Any]) -> dict[str, Any]:
        unknown = sorted(set(args) - self.arguments)
        if unknown:
            allowed = ", ".join(sorted(self.arguments)) or "none"
            raise ProtocolError(
                ErrorCode.BAD_ARGUMENT,
                f"{self.name}: unknown argument(s) {unknown} (allowed: {allowed})",
            )
        return dict(args)

    async def execute(self, daemon: Supervisor, args: dict[str, Any]) -> Any:
        raise NotImplementedError
