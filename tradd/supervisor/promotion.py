"""Applying parameter proposals to live strategies: approve, reject, roll back, auto-promote.

Applying a proposal writes its parameters as a new numbered version of the strategy's
params file (`<state_dir>/params/<strategy>/v0003.toml`; `v0000` keeps the file as it was
before the first promotion), replaces the live `params_file` with it atomically, and
reloads through the daemon's validated reload (the configuration check in a child process
first, then only the workers whose inputs changed: the params file's digest is one of
them, see `reload.py`). A reload that is refused puts the previous file back, so a bad
proposal never leaves a worker without valid parameters.

Every version is kept. The strategy's applied proposals form a stack (highest version on
top): a rollback marks the top one `rolled_back` and makes the file the next one's
version again, or `v0000` when none is left.

Every decision is audited (`audit_log`, user `tradctl:<unix user>`, `web:<user>` or
`auto`) and raised as an event, so it is alerted like any other.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

import structlog
import tomli_w
from sqlalchemy.orm import Session, sessionmaker

from tradd.config.live import StrategySettings
from tradd.config.settings import Settings
from tradd.errors import ConfigError
from tradd.persistence.audit import write_audit
from tradd.persistence.proposals import Proposals
from tradd.records.events import EventKind, Severity
from tradd.records.proposals import PromotionResult, Proposal

log = structlog.get_logger("tradd.supervisor.promotion")
ORIGINAL = 0
"""The version number of the params file as it was before the first promotion."""


class PromotionError(Exception):
    """Refused: `code` is not_found, conflict (state or gates) or config (reload refused)."""

    def __init__(self, code: str, message: str, details: list[str] | None = None) -> None:
        super().__init__(message)
        self.code, self.details = code, details or []


class Emit(Protocol):
    def __call__(self, kind: EventKind, severity: Severity, message: str, **data: Any) -> Any: ...


@dataclass(frozen=True)
class PromotionHost:
    """What the promoter needs of the daemon (handed in: no import of the supervisor)."""

    settings: Callable[[], Settings]
    reload: Callable[[], Awaitable[dict[str, list[str]]]]
    sessions: Callable[[], sessionmaker[Session]]
    emit: Emit
    clock: Callable[[], datetime]
    cwd: Path
    """The workers' working directory: a relative params_file is read from there."""


class Promoter:
    def __init__(self, host: PromotionHost) -> None:
        self.host = host

    @property
    def store(self) -> Proposals:
        return Proposals(self.host.sessions(), self.host.clock)

    # -- decisions ----------------------------------------------------------------------------
    async def approve(self, proposal_id: int, by: str) -> PromotionResult:
        """Apply a pending, passing proposal; PromotionError says why not."""
        proposal = self._get(proposal_id)
        request = {"proposal": proposal_id, "strategy": proposal.strategy}
        try:
            self._check_applicable(proposal)
            return await self._apply(proposal, by)
        except PromotionError as exc:
            self._audit(by, "promote", request, {"error": str(exc), "details": exc.details}, False)
            raise

    def reject(self, proposal_id: int, by: str) -> PromotionResult:
        proposal = self._get(proposal_id)
        request = {"proposal": proposal_id, "strategy": proposal.strategy}
        if not self.store.decide(proposal_id, ("pending", "approved"), "rejected", by):
            error = f"proposal {proposal_id} is {proposal.state}: only a pending one is rejected"
            self._audit(by, "reject", request, {"error": error}, False)
            raise PromotionError("conflict", error)
        result = PromotionResult(action="reject", strategy=proposal.strategy,
                                 proposal=proposal_id, version=None, params=proposal.params,
                                 params_file=None, by=by)  # fmt: skip
        self._audit(by, "reject", request, result.model_dump(mode="json"), True)
        self.host.emit(EventKind.PROPOSAL_REJECTED, "info",
                       f"proposal {proposal_id} for {proposal.strategy} rejected by {by}",
                       strategy=proposal.strategy, proposal=proposal_id, by=by)  # fmt: skip
        return result

    async def rollback(self, strategy: str, by: str) -> PromotionResult:
        """Make the version before the live one live again, and reload."""
        request = {"strategy": strategy}
        try:
            target = self._target(strategy)
            stack = self.store.applied(strategy)
            if not stack:
                raise PromotionError("conflict", f"{strategy}: no applied proposal to roll back")
            top, below = stack[0], stack[1] if len(stack) > 1 else None
            version = below.version if below is not None and below.version is not None else 0
            params = await self._make_live(target, self._version_text(strategy, version))
        except PromotionError as exc:
            self._audit(by, "rollback", request, {"error": str(exc), "details": exc.details},
                        False)  # fmt: skip
            raise
        self.store.decide(top.id, ("applied",), "rolled_back", by,
                          note=f"rolled back to version {version}")  # fmt: skip
        result = PromotionResult(action="rollback", strategy=strategy, proposal=top.id,
                                 version=version, params=params, by=by,
                                 params_file=str(target.params_file))  # fmt: skip
        self._audit(by, "rollback", request, result.model_dump(mode="json"), True)
        self.host.emit(EventKind.PARAMS_ROLLED_BACK, "warning",
                       f"{strategy}: proposal {top.id} rolled back by {by} to parameter "
                       f"version {version} {params}", strategy=strategy, proposal=top.id,
                       version=version, by=by, params=params)  # fmt: skip
        return result

    def due(self) -> Proposal | None:
        """The newest pending, passing proposal of a strategy with `auto_promote = true`."""
        for strategy in self.host.settings().strategies:
            if not (strategy.auto_promote and strategy.enabled):
                continue
            for proposal in self.store.recent(limit=1, strategy=strategy.name, state="pending"):
                if proposal.passed:
                    return proposal
        return None

    async def auto_promote(self) -> PromotionResult | None:
        """Apply what `due` finds as user `auto`; a refusal is logged and alerted."""
        proposal = self.due()
        if proposal is None:
            return None
        try:
            return await self.approve(proposal.id, "auto")
        except PromotionError as exc:
            self.store.decide(proposal.id, ("pending",), "rejected", "auto", note=str(exc))
            log.error("auto-promotion refused", proposal=proposal.id, error=str(exc))
            return None

    # -- applying -----------------------------------------------------------------------------
    def _get(self, proposal_id: int) -> Proposal:
        proposal = self.store.get(proposal_id)
        if proposal is None:
            raise PromotionError("not_found", f"no proposal {proposal_id}")
        return proposal

    def _check_applicable(self, proposal: Proposal) -> None:
        if proposal.state not in ("pending", "approved"):
            raise PromotionError("conflict", f"proposal {proposal.id} is {proposal.state}: "
                                 "only a pending one is applied")  # fmt: skip
        if not proposal.passed:
            failed = [f"{g.name}: {_shown(g.value)} against a limit of {g.limit:g}"
                      for g in proposal.failed_gates()]  # fmt: skip
            message = f"proposal {proposal.id} failed its gates ({'; '.join(failed)})"
            raise PromotionError("conflict", f"{message}: it cannot be applied", failed)

    async def _apply(self, proposal: Proposal, by: str) -> PromotionResult:
        target = self._target(proposal.strategy)
        self._keep_original(target)
        version = self._next_version(proposal.strategy)
        text = _document(proposal, version, by)
        path = self._versions(proposal.strategy) / f"v{version:04d}.toml"
        path.write_text(text)
        self.store.decide(proposal.id, ("pending",), "approved", by)
        try:
            await self._make_live(target, text)
        except PromotionError as exc:
            path.unlink(missing_ok=True)  # never applied: the number is free again
            self.store.decide(proposal.id, ("approved",), "pending", by, note=str(exc))
            raise
        self.store.decide(proposal.id, ("approved",), "applied", by, version=version)
        result = PromotionResult(action="apply", strategy=proposal.strategy,
                                 proposal=proposal.id, version=version, params=proposal.params,
                                 params_file=str(target.params_file), by=by)  # fmt: skip
        request = {"proposal": proposal.id, "strategy": proposal.strategy}
        self._audit(by, "promote", request, result.model_dump(mode="json"), True)
        self.host.emit(EventKind.PARAMS_PROMOTED, "warning",
                       f"{proposal.strategy}: proposal {proposal.id} applied by {by} as "
                       f"parameter version {version} {proposal.params}",
                       strategy=proposal.strategy, proposal=proposal.id, version=version,
                       by=by, params=proposal.params)  # fmt: skip
        return result

    async def _make_live(self, target: StrategySettings, text: str) -> dict[str, Any]:
        """Replace the live params file with `text` and reload; put the old one back (and
        raise) if the reload is refused. The parameters now live."""
        live = self._live_path(target)
        before = live.read_bytes() if live.exists() else None
        _replace(live, text.encode())
        try:
            await self.host.reload()
        except ConfigError as exc:
            if before is not None:
                _replace(live, before)
            else:
                live.unlink(missing_ok=True)
            self.host.emit(EventKind.PROMOTION_FAILED, "critical",
                           f"{target.name}: new parameters refused by the reload, the previous "
                           f"ones stay live: {exc}", strategy=target.name,
                           problems=exc.problems)  # fmt: skip
            raise PromotionError("config", f"reload refused: {exc}", exc.problems) from None
        return _params_of(text)

    def _target(self, strategy: str) -> StrategySettings:
        try:
            target = self.host.settings().strategy(strategy)
        except KeyError as exc:
            raise PromotionError("not_found", str(exc.args[0])) from None
        if target.params_file is None:
            raise PromotionError("config", f"strategies.{strategy}.params_file is not set: "
                                 "a promotion writes a new version of it")  # fmt: skip
        return target

    def _live_path(self, target: StrategySettings) -> Path:
        assert target.params_file is not None
        return target.params_file if target.params_file.is_absolute() else (
            self.host.cwd / target.params_file
        )  # fmt: skip

    def _versions(self, strategy: str) -> Path:
        directory = self.host.settings().state_dir / "params" / strategy
        directory.mkdir(parents=True, exist_ok=True)
        return directory

    def _keep_original(self, target: StrategySettings) -> None:
        original = self._versions(target.name) / f"v{ORIGINAL:04d}.toml"
        live = self._live_path(target)
        if not original.exists():
            original.write_bytes(live.read_bytes() if live.exists() else b"[params]\n")

    def _next_version(self, strategy: str) -> int:
        numbers = [int(p.stem[1:]) for p in self._versions(strategy).glob("v*.toml")
                   if p.stem[1:].isdigit()]  # fmt: skip
        return max(numbers, default=ORIGINAL) + 1

    def _version_text(self, strategy: str, version: int) -> str:
        path = self._versions(strategy) / f"v{version:04d}.toml"
        try:
            return path.read_text()
        except OSError as exc:
            raise PromotionError(
                "config", f"{strategy}: version {version} is gone: {exc}"
            ) from None

    def _audit(self, by: str, action: str, request: Mapping[str, Any],
               result: Mapping[str, Any], ok: bool) -> None:  # fmt: skip
        try:
            write_audit(self.host.sessions(), self.host.clock(), by, action, request, result, ok)
        except Exception:  # the decision stands; its audit failing is logged loudly
            log.exception("audit of a promotion failed", action=action, by=by)


def _document(proposal: Proposal, version: int, by: str) -> str:
    period = f"{proposal.evidence.period_from}..{proposal.evidence.period_to}"
    source = {"proposal": proposal.id, "version": version, "kind": proposal.kind,
              "run_id": proposal.run_id or "", "approved_by": by, "period": period}  # fmt: skip
    header = (f"# Parameters of {proposal.strategy}, version {version}: proposal "
              f"{proposal.id}, applied by {by} (tradd.supervisor.promotion)\n")  # fmt: skip
    return header + tomli_w.dumps({"params": proposal.params, "source": source})


def _params_of(text: str) -> dict[str, Any]:
    try:
        params = tomllib.loads(text).get("params", {})
    except tomllib.TOMLDecodeError:
        return {}
    return dict(params) if isinstance(params, dict) else {}


def _replace(path: Path, data: bytes) -> None:
    """Write `data` to `path` atomically: a reader sees the old file or the new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with temporary.open("wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(temporary, path)


def _shown(value: float | None) -> str:
    return "not measured" if value is None else f"{value:.3g}"
