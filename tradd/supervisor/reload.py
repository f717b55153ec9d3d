"""What a reload changes: strategies added, removed, changed and untouched.

A worker's behaviour depends on its own `[[strategies]]` entry, on the shared sections
it reads (broker, database, worker, risk, log, state_dir, commission, the data dir) and
on the contract definitions of its symbols (the data dir's contracts.toml, which is not
part of the settings: the supervisor passes the definitions it read at the last start or
reload and those it reads now), so a strategy counts as changed when any of those differ
for it; the rest keep running untouched.

The same holds for a strategy's `params_file`: its path is in the settings, its content is
not, so a trader who edits the file (or a promotion that writes a new version of it) and
reloads would get nothing if only the path counted. The supervisor keeps the digests of
the files as its workers read them (`params_digests`) and the plan compares those.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from tradd.config.settings import Settings
from tradd.marketdata.contracts import ContractDefinitions


@dataclass(frozen=True)
class ReloadPlan:
    added: tuple[str, ...]
    removed: tuple[str, ...]
    changed: tuple[str, ...]
    unchanged: tuple[str, ...]

    def as_dict(self) -> dict[str, list[str]]:
        return {
            "added": list(self.added),
            "removed": list(self.removed),
            "changed": list(self.changed),
            "unchanged": list(self.unchanged),
        }


def params_digests(settings: Settings) -> dict[str, str]:
    """Each strategy's `params_file` content as a SHA-256 ("" without one, "missing" when it
    cannot be read: the configuration check reports that)."""
    return {s.name: _digest(s.params_file) for s in settings.strategies}


def _digest(path: Path | None) -> str:
    if path is None:
        return ""
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return "missing"


def fingerprint(
    settings: Settings,
    name: str,
    definitions: ContractDefinitions | None = None,
    params: Mapping[str, str] | None = None,
) -> str:
    """Everything one worker reads, as canonical JSON (secrets by value, never logged).
    `params`: the digests of the params files (default: the files as they are now)."""
    strategy = settings.strategy(name)
    defined = definitions or ContractDefinitions({})
    digests = params if params is not None else params_digests(settings)
    parts = {
        "params_file": digests.get(name, ""),
        "contracts": {s: defined.spec(s).model_dump(mode="json") for s in strategy.symbols},
        "data_dir": str(settings.data.dir),
        "strategy": strategy.model_dump(mode="json"),
        "risk": settings.strategy_risk(strategy).model_dump(mode="json"),
        "broker": settings.broker.model_dump(mode="json"),
        "worker": settings.worker.model_dump(mode="json"),
        "log": settings.log.model_dump(mode="json"),
        "commission": settings.backtest.commission.model_dump(mode="json"),
        "state_dir": str(settings.state_dir),
        "database": settings.database_url().get_secret_value(),
    }
    return json.dumps(parts, sort_keys=True, default=str)


def plan_reload(
    old: Settings,
    new: Settings,
    old_definitions: ContractDefinitions | None = None,
    new_definitions: ContractDefinitions | None = None,
    old_params: Mapping[str, str] | None = None,
    new_params: Mapping[str, str] | None = None,
) -> ReloadPlan:
    """`old_params`: the params files' digests when the workers started (default: as the
    files are now, i.e. an edit of a params file alone is not seen)."""
    before = {s.name for s in old.strategies if s.enabled}
    after = {s.name for s in new.strategies if s.enabled}
    kept = sorted(before & after)
    changed = tuple(
        n
        for n in kept
        if fingerprint(old, n, old_definitions, old_params)
        != fingerprint(new, n, new_definitions, new_params)
    )
    return ReloadPlan(
        added=tuple(sorted(after - before)),
        removed=tuple(sorted(before - after)),
        changed=changed,
        unchanged=tuple(n for n in kept if n not in changed),
    )
