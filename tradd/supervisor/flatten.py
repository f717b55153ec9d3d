"""The kill switch: flatten strategies through their workers, or without them.

A worker that answers a ping within `flatten_ack_timeout` flattens itself (it knows its
orders best). One that does not — hung, dead, crash-looping — is killed and held down
while the supervisor flattens its account through IB itself (`emergency.flatten_strategy`,
on the strategy's own clientId); then it is started again and comes up HALTED. If any
strategy of a `flatten --all` is not confirmed flat, the supervisor finally sweeps the
whole account on its dedicated clientId (`emergency.sweep_account`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

import structlog

from tradd.config.settings import Settings
from tradd.records.states import WorkerState
from tradd.records.worker_protocol import WorkerCommand, WorkerErrorCode, WorkerRequest
from tradd.supervisor.channel import WorkerRefused, WorkerUnreachable, worker_request
from tradd.supervisor.process import WorkerProcess

log = structlog.get_logger("tradd.supervisor.flatten")
PING = WorkerRequest(WorkerCommand.PING)
if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

    Sessions = sessionmaker[Session]


class EmergencyOps(Protocol):
    """The supervisor's own IB connection (tradd.supervisor.emergency); tests may wrap it."""

    def flatten_strategy(
        self,
        settings: Settings,
        name: str,
        sessions: Sessions,
        *,
        requested_by: str,
        timeout: float,
    ) -> dict[str, Any]: ...

    def sweep_account(
        self, settings: Settings, *, client_id: int, requested_by: str, timeout: float
    ) -> dict[str, Any]: ...


class LibraryEmergency:
    """The real thing; imported on first use (it loads the IB client library)."""

    def flatten_strategy(
        self,
        settings: Settings,
        name: str,
        sessions: Sessions,
        *,
        requested_by: str,
        timeout: float,
    ) -> dict[str, Any]:
        from tradd.supervisor import emergency

        return emergency.flatten_strategy(
            settings, name, sessions, requested_by=requested_by, timeout=timeout
        )

    def sweep_account(
        self, settings: Settings, *, client_id: int, requested_by: str, timeout: float
    ) -> dict[str, Any]:
        from tradd.supervisor import emergency

        return emergency.sweep_account(
            settings, client_id=client_id, requested_by=requested_by, timeout=timeout
        )


class Flattener:
    def __init__(self, ops: EmergencyOps, sessions: Callable[[], Sessions]) -> None:
        self._ops, self._sessions = ops, sessions

    async def flatten(
        self, settings: Settings, workers: list[WorkerProcess], requested_by: str, sweep: bool
    ) -> dict[str, Any]:
        held: list[tuple[WorkerProcess, bool]] = []
        try:
            outcomes = await asyncio.gather(
                *(self.flatten_one(settings, w, requested_by, held) for w in workers),
                return_exceptions=True,
            )
            results = [_as_result(w.name, r) for w, r in zip(workers, outcomes, strict=True)]
            by_name = {w.name: r for w, r in zip(workers, results, strict=True)}
            # `--all` with nothing to flatten through is not "all flat": the sweep decides
            ok = all(r.get("ok") for r in results) and bool(results)
            out: dict[str, Any] = {"ok": ok, "strategies": by_name}
            if sweep and not out["ok"]:
                out["sweep"] = await self._sweep(settings, requested_by)
                out["ok"] = bool(out["sweep"].get("ok"))
            return out
        finally:  # restarted (HALTED) only once the sweep, if any, is over
            for worker, restart in held:
                worker.release(restart)

    async def _sweep(self, settings: Settings, requested_by: str) -> dict[str, Any]:
        log.error("flatten --all not confirmed for every strategy: sweeping the account")
        try:
            return await self._sweep_account(settings, requested_by)
        except Exception as exc:
            log.exception("account sweep failed")
            return {
                "ok": False,
                "message": f"account sweep failed: {exc!r}",
                "path": "sweep",
                "symbols": {},
            }

    async def _sweep_account(self, settings: Settings, requested_by: str) -> dict[str, Any]:
        return await asyncio.to_thread(
            self._ops.sweep_account,
            settings,
            client_id=settings.supervisor.emergency_client_id,
            requested_by=requested_by,
            timeout=settings.supervisor.flatten_timeout,
        )

    async def flatten_one(
        self,
        settings: Settings,
        worker: WorkerProcess,
        requested_by: str,
        held: list[tuple[WorkerProcess, bool]],
    ) -> dict[str, Any]:
        s = settings.supervisor
        if worker.alive and worker.state is WorkerState.RUNNING:
            try:
                await worker_request(worker.channel, PING, s.flatten_ack_timeout)
                flatten = WorkerRequest.flatten(requested_by)
                result = await worker_request(worker.channel, flatten, s.flatten_timeout + 5)
                if isinstance(result, dict):
                    return {**result, "path": "worker"}
                log.error("malformed flatten reply", strategy=worker.name, reply=repr(result)[:200])
            except WorkerRefused as exc:
                if exc.code is WorkerErrorCode.CONFLICT:
                    return {"ok": False, "message": str(exc), "path": "worker", "symbols": {}}
                log.error("worker refused the flatten", strategy=worker.name, error=str(exc))
            except WorkerUnreachable as exc:
                log.error(
                    "worker does not answer: flattening without it",
                    strategy=worker.name,
                    error=str(exc),
                )
        held.append((worker, worker.hold()))
        return await self._emergency(settings, worker, requested_by)

    async def _emergency(
        self, settings: Settings, worker: WorkerProcess, requested_by: str
    ) -> dict[str, Any]:
        """Kill the worker (it may wake up and trade), then flatten on its clientId."""
        try:
            if worker.alive:
                worker.kill()
                await worker.wait_exit(10.0)
                await worker.settle()
            return await asyncio.to_thread(
                self._ops.flatten_strategy,
                settings,
                worker.name,
                self._sessions(),
                requested_by=requested_by,
                timeout=settings.supervisor.flatten_timeout,
            )
        except Exception as exc:
            log.exception("emergency flatten failed", strategy=worker.name)
            return {
                "ok": False,
                "message": f"emergency flatten failed: {exc!r}",
                "path": "emergency",
                "symbols": {},
            }


def _as_result(name: str, outcome: object) -> dict[str, Any]:
    """A strategy's flatten outcome; an unexpected exception is a failed flatten, reported."""
    if isinstance(outcome, dict):
        return outcome
    log.error("flatten failed", strategy=name, error=repr(outcome))
    return {"ok": False, "message": f"flatten failed: {outcome!r}", "path": "?", "symbols": {}}
