"""The calendar names a contract definition may give (`calendar = ...`), and their check.

Apart from `calendars` so that `contracts` checks the names when it reads the definitions
without importing `calendars`, which builds on the definitions (`ContractSpec`).
"""

from __future__ import annotations

from tradd.errors import ConfigError

CONTRACT = "contract"
"""The calendar of the contract definition itself (its days and holidays)."""


def check_known(name: str, symbol: str) -> None:
    """ConfigError naming `<symbol>.calendar` unless exchange_calendars knows `name`."""
    import exchange_calendars

    if name not in exchange_calendars.get_calendar_names(include_aliases=True):
        raise ConfigError(
            f"{symbol}.calendar: unknown calendar {name!r}; use an exchange_calendars name "
            f"such as XNYS, XEUR, 24/5, 24/7, or {CONTRACT!r} for the definition's own days"
        )
