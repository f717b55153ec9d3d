"""The set of worker processes, one per enabled strategy, and what a reload does to it."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable, Mapping
from pathlib import Path

import structlog

from tradd.config.settings import Settings
from tradd.records.events import Event
from tradd.records.states import ALIVE, WorkerState
from tradd.records.view import WorkerView
from tradd.supervisor.process import Emit, SpawnSpec, WorkerProcess
from tradd.supervisor.reload import ReloadPlan

log = structlog.get_logger("tradd.supervisor.fleet")


def worker_spawn_spec(config_file: Path, cwd: Path, env: Mapping[str, str]) -> SpawnSpec:
    """`python -m tradd.worker --config <the supervisor's snapshot of the config>`."""
    argv = (sys.executable, "-m", "tradd.worker", "--config", str(config_file))
    return SpawnSpec(argv, cwd, env)


class Fleet:
    def __init__(
        self,
        *,
        monotonic: Callable[[], float],
        emit: Emit,
        wake: Callable[[], None],
        on_event: Callable[[str, Event], object] = lambda _name, _event: None,
    ) -> None:
        self.workers: dict[str, WorkerProcess] = {}
        self._monotonic, self._emit, self._wake = monotonic, emit, wake
        self._on_event = on_event
        self._tasks: set[asyncio.Task[None]] = set()

    def __getitem__(self, name: str) -> WorkerProcess:
        try:
            return self.workers[name]
        except KeyError:
            known = ", ".join(sorted(self.workers)) or "none"
            raise KeyError(f"no strategy {name!r} (known: {known})") from None

    def build(self, settings: Settings, name: str, spawn: SpawnSpec) -> WorkerProcess:
        worker = WorkerProcess(
            settings.strategy(name),
            settings.supervisor,
            spawn,
            settings.worker_channel(name),
            monotonic=self._monotonic,
            emit=self._emit,
            wake=self._wake,
            on_event=self._on_event,
            log_file=settings.log.dir / f"worker-{name}.log",
        )
        self.workers[name] = worker
        return worker

    def build_all(self, settings: Settings, spawn: SpawnSpec) -> None:
        for strategy in settings.strategies:
            self.build(settings, strategy.name, spawn)

    async def start_enabled(self) -> None:
        for worker in list(self.workers.values()):
            if worker.config.enabled:
                await worker.start("supervisor started")

    async def turn(self) -> None:
        """One loop turn: advance every state machine, then heartbeat the live ones."""
        now = self._monotonic()
        for worker in list(self.workers.values()):
            await worker.step(now)
        for worker in self.workers.values():
            if worker.alive:
                task = asyncio.get_running_loop().create_task(worker.heartbeat())
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)

    def views(self) -> tuple[WorkerView, ...]:
        now = self._monotonic()
        return tuple(w.view(now) for w in self.workers.values())

    def starting(self) -> bool:
        return any(w.state is WorkerState.STARTING for w in self.workers.values())

    async def stop_all(self, timeout: float) -> None:
        """SIGTERM everyone, wait (the workers cancel their orders), SIGKILL stragglers."""
        for worker in self.workers.values():
            worker.stop("supervisor stopping")
        await self._wait_all(timeout)
        for worker in self.workers.values():
            if worker.alive:
                log.warning("worker did not stop in time; killing it", strategy=worker.name)
                worker.kill()
        await self._wait_all(5.0)
        for worker in self.workers.values():
            await worker.step(self._monotonic())

    async def _wait_all(self, timeout: float) -> None:
        live = [w.wait_exit(timeout) for w in self.workers.values() if w.alive]
        if live:
            await asyncio.gather(*live)

    async def apply(
        self, plan: ReloadPlan, settings: Settings, spawn: SpawnSpec, stop_timeout: float
    ) -> None:
        """Stop removed and changed workers, then start added and changed ones."""
        going = [self.workers[n] for n in (*plan.removed, *plan.changed)]
        for worker in going:
            worker.stop("reload")
        if going:
            await asyncio.gather(*(w.wait_exit(stop_timeout) for w in going))
        for worker in going:
            if worker.alive:
                worker.kill()
                await worker.wait_exit(5.0)
            await worker.step(self._monotonic())
        for name in plan.removed:
            del self.workers[name]
        for name in (*plan.added, *plan.changed):
            old = self.workers.get(name)
            if old is not None and old.alive:  # e.g. started by hand while disabled
                old.stop("reload")
                if not await old.wait_exit(stop_timeout):
                    old.kill()
                    await old.wait_exit(5.0)
                await old.settle()
            await self.build(settings, name, spawn).start("reload")
        disabled = {s.name for s in settings.strategies if not s.enabled}
        for name in disabled - set(self.workers):
            self.build(settings, name, spawn)
        for name in set(self.workers) - {s.name for s in settings.strategies}:
            if self.workers[name].state not in ALIVE:
                del self.workers[name]
