"""The `tradd scan --execute` options beyond sizing, checked once: what may be entered
(`Policy`), and whether the scan is recent enough to trade on, against an injected clock."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from tradd.errors import UsageError
from tradd.research.scan.candidates import check_fresh
from tradd.research.scan.execute import Policy

DEFAULT_MAX_AGE_DAYS = 7
DEFAULT_MAX_TOTAL_PCT = 100.0


@dataclass(frozen=True)
class Gate:
    min_score: float = 0.0
    max_total_pct: float = DEFAULT_MAX_TOTAL_PCT
    max_age_days: int = DEFAULT_MAX_AGE_DAYS
    allow_stale: bool = False
    any_setup: bool = False
    today: Callable[[], date] = date.today
    """The clock `--max-age-days` measures against (the CLI's is `date.today`)."""

    @classmethod
    def from_options(
        cls,
        min_score: float | None,
        max_total_pct: float | None,
        max_age_days: int | None,
        allow_stale: bool,
        any_setup: bool,
        today: Callable[[], date],
    ) -> Gate:
        """The options as given (None: the default); UsageError naming a bad one."""
        if min_score is not None and not 0 <= min_score <= 100:
            raise UsageError(f"--min-score {min_score:g}: must be from 0 to 100")
        if max_total_pct is not None and not 0 < max_total_pct <= 100:
            raise UsageError(
                f"--max-total-pct {max_total_pct:g}: must be more than 0 and at most 100"
            )
        if max_age_days is not None and max_age_days < 0:
            raise UsageError(f"--max-age-days {max_age_days}: must be 0 or more")
        return cls(
            min_score=min_score or 0.0,
            max_total_pct=DEFAULT_MAX_TOTAL_PCT if max_total_pct is None else max_total_pct,
            max_age_days=DEFAULT_MAX_AGE_DAYS if max_age_days is None else max_age_days,
            allow_stale=allow_stale,
            any_setup=any_setup,
            today=today,
        )

    def check_fresh(self, end: date | None) -> None:
        """UsageError (exit 2) when the scan ended too long before today to trade on."""
        check_fresh(end, self.today(), self.max_age_days, self.allow_stale)

    def policy(self, position_pct: float) -> Policy:
        return Policy(position_pct, self.min_score, self.max_total_pct, self.any_setup)
