"""Whether a daemon strategy runs the setup a scan tested."""

from __future__ import annotations

from typing import Any

from tradd.research.scan.candidates import Candidate
from tradd.research.scan.setup import setup_difference

SMA = "strategies.sma_cross.SmaCross"


def runner(**setup: Any) -> dict[str, Any]:
    return {"name": "s1", "params": {}, "params_file": None, "bar": "1d", **setup}


def test_only_values_other_than_the_tested_ones_count_defaults_filled_in() -> None:
    defaults = Candidate("GOOG", SMA, 40.0, bar="1d")
    assert setup_difference(runner(params={"fast": 10, "threshold": 0}), defaults) is None
    assert setup_difference(runner(params={"fast": 5, "slow": 40}, bar="1m"), defaults) == (
        "s1 runs SmaCross with fast=5, slow=40 (scanned: defaults fast=10, slow=30) and on 1m "
        "bars (scanned 1d): not the tested setup"
    )
    tuned = Candidate("GOOG", SMA, 40.0, params={"fast": 5}, bar="1d")  # a scan that set params
    assert setup_difference(runner(params={"fast": 5}), tuned) is None
    assert setup_difference(runner(), tuned) == (
        "s1 runs SmaCross with fast=10 (scanned: the scan's fast=5): not the tested setup"
    )
    unknown_bar = Candidate("GOOG", SMA, 40.0)
    assert "on 1d bars (scanned bar unknown)" in str(setup_difference(runner(), unknown_bar))
