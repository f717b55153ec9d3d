"""One pool of forked worker processes for the research commands: see `fork.py`."""

from tradd.research.pool.child import Reporter, UnitFunction
from tradd.research.pool.events import Cause, Done, Ending, Event, Failed, Note
from tradd.research.pool.fork import ForkPool, death_reason

__all__ = [
    "Cause",
    "Done",
    "Ending",
    "Event",
    "Failed",
    "ForkPool",
    "Note",
    "Reporter",
    "UnitFunction",
    "death_reason",
]
