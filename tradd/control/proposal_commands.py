"""The control commands of parameter proposals (docs/promotion.md).

`proposals` reads: `{"action": "list", "strategy"?, "state"?, "limit"?}` or
`{"action": "show", "id": N}`. `promote` decides, one at a time with every other
state-changing command: `{"action": "approve"|"reject", "id": N}` or
`{"action": "rollback", "strategy": NAME}`, each with `requested_by` (`tradctl:<user>`,
`web:<user>`), which the audit and the alert name. Replies are `tradd.records.proposals`
records as JSON.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from tradd.control.command_base import Command
from tradd.control.protocol import ErrorCode, ProtocolError
from tradd.records.base import wire
from tradd.records.proposals import PROPOSAL_STATES, ProposalList
from tradd.supervisor.promotion import PromotionError

if TYPE_CHECKING:
    from tradd.supervisor.daemon import Supervisor

CODES = {
    "not_found": ErrorCode.BAD_ARGUMENT,
    "conflict": ErrorCode.CONFLICT,
    "config": ErrorCode.CONFIG_INVALID,
}


def _bad(message: str) -> ProtocolError:
    return ProtocolError(ErrorCode.BAD_ARGUMENT, message)


def _proposal_id(name: str, args: Mapping[str, Any]) -> int:
    value = args.get("id")
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise _bad(f"{name}: id must be a proposal number, got {value!r}")
    return value


def _name(name: str, args: Mapping[str, Any], key: str) -> str:
    value = args.get(key)
    if not isinstance(value, str) or not value or len(value) > 64 or not value.isprintable():
        raise _bad(f"{name}: {key} must be 1 to 64 printable characters, got {value!r}")
    return value


class Proposals(Command):
    name, mutating = "proposals", False
    arguments = frozenset({"action", "id", "strategy", "state", "limit"})

    def validate(self, args: Mapping[str, Any]) -> dict[str, Any]:
        out = super().validate(args)
        action = out.get("action")
        if action == "show":
            return {"action": action, "id": _proposal_id("proposals show", out)}
        if action != "list":
            raise _bad(f"proposals: action must be list or show, got {action!r}")
        limit = out.setdefault("limit", 50)
        if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= 500:
            raise _bad(f"proposals: limit must be 1..500, got {limit!r}")
        if out.get("strategy") is not None:
            _name("proposals", out, "strategy")
        if out.get("state") is not None and out["state"] not in PROPOSAL_STATES:
            raise _bad(f"proposals: state must be one of {', '.join(PROPOSAL_STATES)}, "
                       f"got {out['state']!r}")  # fmt: skip
        return out

    async def execute(self, daemon: Supervisor, args: dict[str, Any]) -> Any:
        store = daemon.promoter.store
        if args["action"] == "show":
            found = await asyncio.to_thread(store.get, args["id"])
            if found is None:
                raise _bad(f"no proposal {args['id']}")
            return wire(found)
        found_list = await asyncio.to_thread(
            store.recent, args["limit"], args.get("strategy"), args.get("state")
        )
        return wire(ProposalList(proposals=tuple(found_list)))


class Promote(Command):
    name = "promote"
    arguments = frozenset({"action", "id", "strategy", "requested_by"})

    def validate(self, args: Mapping[str, Any]) -> dict[str, Any]:
        out = super().validate(args)
        out.setdefault("requested_by", "tradctl")
        by = _name("promote", out, "requested_by")
        action = out.get("action")
        if action in ("approve", "reject"):
            return {"action": action, "id": _proposal_id(f"promote {action}", out), "by": by}
        if action == "rollback":
            return {"action": action, "strategy": _name("promote", out, "strategy"), "by": by}
        raise _bad(f"promote: action must be approve, reject or rollback, got {action!r}")

    async def execute(self, daemon: Supervisor, args: dict[str, Any]) -> Any:
        promoter, by = daemon.promoter, args["by"]
        try:
            if args["action"] == "approve":
                return wire(await promoter.approve(args["id"], by))
            if args["action"] == "reject":
                return wire(promoter.reject(args["id"], by))
            return wire(await promoter.rollback(args["strategy"], by))
        except PromotionError as exc:
            raise ProtocolError(CODES[exc.code], str(exc), details=exc.details) from None


PROPOSAL_COMMANDS: tuple[Command, ...] = (Proposals(), Promote())
