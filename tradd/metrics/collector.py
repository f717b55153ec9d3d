"""The supervisor's Prometheus registry: its workers' metrics, built fresh on each scrape.

The collector holds no state of its own: every scrape asks the supervisor for its
current worker views (plain data, see tradd.records.view) and turns them into metric
families, so what Prometheus reads is what `tradctl status` would show at that moment.
The registry is the supervisor's own, never prometheus_client's global default: nothing
else in the process can add to it, and tests can build as many as they like.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

from prometheus_client import CollectorRegistry, PlatformCollector, ProcessCollector
from prometheus_client.core import Metric
from prometheus_client.registry import Collector

from tradd.metrics.families import Families
from tradd.metrics.procfs import ProcReader
from tradd.records.states import ALIVE
from tradd.records.view import WorkerView

Views = Callable[[], Sequence[WorkerView]]


class WorkerCollector(Collector):
    """A custom collector over the supervisor's worker views."""

    def __init__(self, views: Views, proc: ProcReader | None = None) -> None:
        self._views = views
        self._proc = proc or ProcReader()

    def describe(self) -> Iterator[Metric]:
        """The families without samples: the registry learns the names without a scrape."""
        yield from Families().all()

    def collect(self) -> Iterator[Metric]:
        families = Families()
        for view in self._views():
            alive = view.state in ALIVE
            families.add(view, self._proc.read(view.pid) if alive else None)
        yield from families.all()


class SupervisorMetrics:
    """What `/metrics` serves: the workers, plus the supervisor process itself."""

    def __init__(self, views: Views, proc: ProcReader | None = None) -> None:
        self.registry = CollectorRegistry()
        self.workers = WorkerCollector(views, proc)
        self.registry.register(self.workers)
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)
