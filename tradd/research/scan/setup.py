"""Whether a daemon strategy runs the setup a scan tested: the same parameters and bar size.

The scan backtests a strategy with its default parameters (or the scan's, when it set
any) on the scan's bar; a daemon strategy running other parameters, or on other bars, is
another strategy as far as the evidence goes. Parameters are compared in full (defaults
filled in on both sides), so only a key the daemon's config sets to something other than
what the scan used counts; a key set to its default does not. A `params_file` cannot be
compared here (the daemon reads it), so it counts as a difference. A daemon that does not
report `params` and `bar` in `status` (an older tradd) cannot be checked: also a difference.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tradd.errors import UsageError
from tradd.research.scan.candidates import Candidate
from tradd.strategy_loader import full_params, load_strategy

UNSET = "unset"


def setup_difference(runner: Mapping[str, Any], candidate: Candidate) -> str | None:
    """How `runner` (a `status` strategy) differs from the tested setup (None: it does not)."""
    name, path = runner.get("name"), candidate.strategy or "-"
    short = path.rsplit(".", 1)[-1]
    if not isinstance(runner.get("params"), Mapping) or "bar" not in runner:
        return (
            f"{name}: the daemon does not report its params and bar (an older tradd?), so "
            "the tested setup cannot be checked"
        )
    parts = [p for p in (_params(runner, candidate, path), _bar(runner, candidate)) if p]
    if not parts:
        return None
    return f"{name} runs {short} {' and '.join(parts)}: not the tested setup"


def _params(runner: Mapping[str, Any], candidate: Candidate, path: str) -> str:
    try:
        cls = load_strategy(path)
    except UsageError as exc:
        return f"with parameters that cannot be compared ({exc})"
    live = full_params(cls, runner["params"])
    tested = full_params(cls, candidate.params)
    keys = [
        k for k in dict.fromkeys([*live, *tested]) if live.get(k, UNSET) != tested.get(k, UNSET)
    ]
    scanned = "defaults" if not candidate.params else "the scan's"
    pieces = []
    if keys:
        mine = ", ".join(f"{k}={_text(live.get(k, UNSET))}" for k in keys)
        theirs = ", ".join(f"{k}={_text(tested.get(k, UNSET))}" for k in keys)
        pieces.append(f"with {mine} (scanned: {scanned} {theirs})")
    if runner.get("params_file"):
        pieces.append(
            f"with params_file {runner['params_file']} (not compared; scanned: {scanned})"
        )
    return " ".join(pieces)


def _bar(runner: Mapping[str, Any], candidate: Candidate) -> str:
    if runner.get("bar") == candidate.bar:
        return ""
    return f"on {runner.get('bar')} bars (scanned {candidate.bar or 'bar unknown'})"


def _text(value: Any) -> str:
    return repr(value) if isinstance(value, str) and value != UNSET else str(value)
